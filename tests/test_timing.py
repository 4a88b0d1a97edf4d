"""The stage timer: laps, marks, recorded and skipped stages, the total."""

import time

import pytest

from tryon.timing import StageTimer


def test_laps_marks_and_total():
    timer = StageTimer()
    time.sleep(0.02)
    timer.mark()  # the 20 ms before are no stage's
    time.sleep(0.01)
    ms = timer.lap("pose")
    time.sleep(0.005)
    timer.lap("smoothing")
    out = timer.finish()
    assert out["pose"] == ms and out["pose"] >= 9
    assert out["smoothing"] >= 4
    assert out["total"] >= 35 and out["total"] > out["pose"] + out["smoothing"] + 15


def test_record_splits_a_lap_and_skip_fills_missing_stages():
    timer = StageTimer()
    time.sleep(0.01)
    elapsed = timer.lap("readback")
    timer.record("render", 4.0)
    timer.record("readback", elapsed - 4.0)
    timer.skip(["render", "composite"])
    out = timer.finish()
    assert out["render"] == 4.0 and out["composite"] == 0.0
    assert out["readback"] == pytest.approx(elapsed - 4.0)


def test_a_stage_lapped_twice_adds_up():
    timer = StageTimer()
    a = timer.lap("details")
    b = timer.lap("details")
    assert timer.ms["details"] == pytest.approx(a + b)
