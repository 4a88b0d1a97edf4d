"""demo.py run as a user would: a subprocess, real files."""

import subprocess
import sys

import cv2
import pytest
from helpers import PHOTOS, ROOT

pytestmark = pytest.mark.slow  # demo.py in subprocesses


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


def test_a_folder_of_photos_is_each_photo_on_its_own(tmp_path):
    """Unrelated photos of different sizes: each comes out as if given alone, under its own name."""
    import numpy as np

    folder = tmp_path / "shop photos"
    folder.mkdir()
    names = ["pixabay_image2.jpeg", "skimage_astronaut.png", "pixabay_image1.png"]
    for name in names:
        (folder / name).write_bytes((PHOTOS / name).read_bytes())
    proc = run_demo("--input", str(folder), "--no-overlay", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out_dir = tmp_path / "shop photos_tryon"
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f"{n.split('.')[0]}_tryon.png" for n in names)
    alone = tmp_path / "alone.png"
    proc = run_demo("--input", str(folder / names[1]), "--output", str(alone), "--no-overlay", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    a = cv2.imread(str(alone)).astype(np.int16)
    b = cv2.imread(str(out_dir / "skimage_astronaut_tryon.png")).astype(np.int16)
    assert np.abs(a - b).mean() < 1.0


def test_a_folder_as_a_sequence_keeps_every_frame(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, name in enumerate(["pixabay_image2.jpeg", "pixabay_image1.png", "pixabay_image2.jpeg"]):
        (folder / f"{i:03d}{name[name.index('.') :]}").write_bytes((PHOTOS / name).read_bytes())
    out = tmp_path / "seq.mp4"
    proc = run_demo("--input", str(folder), "--sequence", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 3  # the frame of another size is letterboxed, not dropped


def test_an_output_of_the_wrong_kind_is_one_clear_line(tmp_path):
    proc = run_demo("--input", str(PHOTOS / "pixabay_image1.png"), "--output", str(tmp_path / "x.mp4"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and ".png" in proc.stderr
    proc = run_demo("--max-frames", "2", "--output", str(tmp_path / "v.png"), cwd=tmp_path)
    assert proc.returncode == 2 and ".mp4" in proc.stderr and not (tmp_path / "v.png").exists()
