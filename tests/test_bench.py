"""A fast smoke run of `tryon bench`, so the benchmark cannot rot (no speed is asserted)."""

import json
import subprocess
import sys

import pytest
from helpers import ROOT

pytestmark = pytest.mark.slow  # a bench run in a subprocess


def test_bench_smoke_run_writes_a_complete_report(tmp_path):
    out = tmp_path / "bench.json"
    plot = tmp_path / "stages.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tryon",
            "bench",
            "--frames",
            "6",
            "--resolution",
            "320x240",
            "--resolution",
            "240x320",
            "--accuracy-random",
            "1",
            "--jitter-frames",
            "8",
            "--json",
            str(out),
            "--plot",
            str(plot),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| resolution |" in proc.stdout and "ratio" in proc.stdout
    report = json.loads(out.read_text())
    assert [r["resolution"] for r in report["resolutions"]] == ["320x240", "240x320"]
    for r in report["resolutions"]:
        for key in ("pose_fps", "engine_fps", "ratio", "latency_ms", "stages_ms", "peak_rss_mb"):
            assert key in r
        assert r["engine_fps"] > 0 and r["pose_fps"] > 0
        assert set(r["stages_ms"]) >= {"pose", "rig_solve", "skinning", "render", "readback", "composite"}
    acc = report["accuracy"]["summary"]
    assert acc["scenes"] >= 15 and acc["detected"] >= 12 and 0 < acc["iou_median"] <= 1
    assert report["accuracy"]["photo_mask_share"]
    clips = report["jitter"]["clips"]
    assert set(clips) == {"upper_body", "dance"} and all(c["frames"] == 8 for c in clips.values())
    known = report["jitter"]["known_truth"]
    assert set(known) == {"still", "sweep"} and all(c["frames"] == 8 for c in known.values())
    assert plot.stat().st_size > 1000


def test_bench_rejects_bad_options():
    proc = subprocess.run(
        [sys.executable, "-m", "tryon", "bench", "--resolution", "big"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "640x480" in proc.stderr
