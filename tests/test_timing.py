"""The stage timer: laps, marks, recorded and skipped stages, the total."""

import logging
import time

import numpy as np
import pytest

from tryon.timing import MAX_TIMESTAMP_MS, StageTimer, StreamClock, check_timestamp_ms


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


def test_check_timestamp_refuses_what_is_not_a_time():
    assert check_timestamp_ms(33) == 33 and check_timestamp_ms(33.9) == 33 and check_timestamp_ms(np.int64(7)) == 7
    assert check_timestamp_ms(1_800_000_000_000) == 1_800_000_000_000  # epoch milliseconds fit
    for bad, words in [
        (2**62, "out of range"),
        (-(2**62), "out of range"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("12", "number"),
        (None, "number"),
        (True, "number"),
    ]:
        with pytest.raises(ValueError, match=words):
            check_timestamp_ms(bad)


def test_stream_clock_never_goes_back_and_keeps_the_spacing(caplog):
    clock = StreamClock()
    with caplog.at_level(logging.WARNING, logger="tryon.timing"):
        assert [clock(t) for t in (0, 33, 66)] == [0, 33, 66]
        assert clock(66) == 67  # a repeated stamp: just after
        assert clock(10) == 68  # the camera restarted: the clock goes on from there ...
        assert clock(43) == 101  # ... keeping the caller's spacing
        assert clock(-500) == 102
    assert len([r for r in caplog.records if "not after the last one" in r.getMessage()]) == 1
    with pytest.raises(ValueError):
        clock(float("nan"))
    assert clock(-400) == 202  # a refused stamp changed nothing
    clock.reset()
    assert clock(-100) == 0 and clock(-67) == 33  # a negative start is moved to 0


def test_stream_clock_refuses_an_offset_out_of_range():
    clock = StreamClock()
    clock(MAX_TIMESTAMP_MS)
    with pytest.raises(ValueError, match="out of range"):
        clock(0)
