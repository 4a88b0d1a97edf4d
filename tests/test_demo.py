"""demo.py run as a user would: a subprocess, real files."""

import subprocess
import sys

import cv2
from helpers import PHOTOS, ROOT


def run_demo(*args, cwd):
    return subprocess.run(
        [sys.executable, str(ROOT / "demo.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_demo_on_the_bundled_clip_writes_a_video(tmp_path):
    out = tmp_path / "out.mp4"
    proc = run_demo("--max-frames", "8", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "frames: 8" in proc.stdout and "fps" in proc.stdout and "render" in proc.stdout
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 8


def test_demo_on_an_image(tmp_path):
    out = tmp_path / "tryon.png"
    proc = run_demo("--input", str(PHOTOS / "pixabay_image2.jpeg"), "--output", str(out), "--no-overlay", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    img = cv2.imread(str(out))
    assert img is not None and img.shape == (640, 399, 3)


def test_missing_or_unreadable_input_is_one_clear_line(tmp_path):
    proc = run_demo("--input", str(tmp_path / "nope.mp4"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    proc = run_demo("--input", str(junk), cwd=tmp_path)
    assert proc.returncode == 2 and "cannot open" in proc.stderr and proc.stderr.strip().count("\n") == 0
    proc = run_demo("--items", "no-such-item", cwd=tmp_path)
    assert proc.returncode == 2 and "no-such-item" in proc.stderr
