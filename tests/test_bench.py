"""A short run of `tryon bench`, so the benchmark cannot rot: its figures must be plausible and
agree with each other (no speed is asserted: this machine is shared and slow)."""

import json
import subprocess
import sys

import pytest
from helpers import ROOT

from tryon import stability

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
    assert_plausible(json.loads(out.read_text()))
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


def assert_plausible(report: dict) -> None:
    """The figures of a bench report are in range and consistent with each other."""
    assert [r["resolution"] for r in report["resolutions"]] == ["320x240", "240x320"]
    for r in report["resolutions"]:
        for c in r["configurations"]:
            where = (c["resolution"], c["items"])
            assert 0 < c["engine_fps"] and 0 < c["pose_fps"], where
            # the headline ratio is engine over pose alone (medians of paired runs: near the plain quotient)
            assert 0 < c["ratio"] <= 1.3, where
            assert 0.67 < c["ratio"] / (c["engine_fps"] / c["pose_fps"]) < 1.5, where
            # a frame's latency includes the pose model's
            assert c["latency_ms"] > 0.8 * c["pose_latency_ms"] > 0, where
            # the sequential run: its stages add up to (at most) its wall-clock total, which gives its fps
            stages = c["stages_ms"]
            assert set(stages) >= {"pose", "rig_solve", "skinning", "render", "readback", "composite", "total"}
            timed = sum(v for k, v in stages.items() if k != "total")
            assert 0.8 * stages["total"] <= timed <= stages["total"] + 0.1 * len(stages), (where, timed, stages)
            assert all(v >= 0 for v in stages.values()) and stages["pose"] > 0 and stages["render"] > 0, where
            assert 0.75 < c["sequential_fps"] * stages["total"] / 1000 < 1.33, (where, c["sequential_fps"])
            assert 0 <= c["engine_mb"] < c["peak_rss_mb"] < 6000, where
        one, outfit = r["configurations"][0], r["configurations"][-1]
        assert one["items"] == ["navy-longsleeve"] and "red-glasses" in outfit["items"]
        # the face mesh runs for the glasses only
        assert outfit["stages_ms"]["details"] > 5 * max(one["stages_ms"]["details"], 0.5)
    acc = report["accuracy"]["summary"]
    assert acc["scenes"] >= 15 and acc["detected"] >= acc["scenes"] - 2
    assert 0.7 < acc["iou_median"] <= 1 and acc["iou_mean"] <= 1
    assert 0 < acc["vertex_error_rel_median"] < 0.05
    shares = report["accuracy"]["photo_mask_share"]
    assert len(shares) >= 7 and all(0.9 < v <= 1 for v in shares.values()), shares
    own = report["own_clothes"]["synthetic"]
    assert max(own["leak_plate"]) <= 0.02 < min(own["leak_off"]) and max(own["error_plate"]) <= 6.0
    holes = report["own_clothes"]["holes"]
    assert len(holes) == 2 and all(h["frames"] >= 20 and 0 <= h["mean"] <= 1 for h in holes.values()), holes
    clips = report["jitter"]["clips"]
    assert set(clips) == {"upper_body", "dance"} and all(c["frames"] == 8 for c in clips.values())
    known = report["jitter"]["known_truth"]
    # both known-truth clips from every photo, each figure raw, filtered and anchored
    assert set(known) == {p.stem for p in stability.project_photos()}
    assert all(c[kind]["frames"] == 8 for c in known.values() for kind in ("still", "sweep"))
    assert all(c["still"]["height_px"] > 100 for c in known.values())
    # smoothing steadies: less jitter than the raw keypoints give, where nothing moves on purpose
    for name in ("upper_body", "dance"):
        assert 0 < clips[name]["jitter_px_filtered"] < clips[name]["jitter_px_raw"], name
        assert clips[name]["jitter_px_anchored"] > 0 and clips[name]["stabilize_ms"] > 0, name
    still = known["skimage_astronaut"]["still"]
    assert 0 < still["error_px_filtered"] < still["error_px_raw"], still
    assert 0 < still["error_px_anchored"] < still["error_px_raw"], still
    assert "| anchored |" in report["jitter"]["markdown"]


def test_the_stage_plot_gives_every_stage_its_own_colour_and_writes_a_png(tmp_path):
    import cv2

    from tryon.bench import STAGES, stage_colors, stage_plot

    colours = stage_colors(len(STAGES))
    assert len(set(colours)) == len(STAGES)  # tab10 gave every stage after the tenth one colour
    stages_ms = {s: 1.0 + k for k, s in enumerate(STAGES)}
    row = {"resolution": "640x480", "items": ["navy-longsleeve"], "stages_ms": stages_ms}
    outfit = dict(row, items=["navy-longsleeve", "blue-jeans", "red-glasses"])
    path = tmp_path / "stages.png"
    stage_plot({"speed": [row, outfit]}, path)
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 600
