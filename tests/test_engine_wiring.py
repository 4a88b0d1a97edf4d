"""The engine's wiring: the analysis record, the outfit changed from another thread while a
stream runs, and the runtime tuning a stream turns on and puts back. Real MediaPipe, real EGL."""

import dataclasses
import logging
import sys
import threading

import numpy as np
import pytest
from helpers import ROOT, TOP, load_photo

from tryon import EngineOptions, TryOnEngine
from tryon.engine import STAGES, FrameAnalysis, WornItem
from tryon.video import VideoFile

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip():
    return [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4", max_frames=12)]


def test_a_frame_is_drawn_with_the_outfit_it_was_analysed_with(engine):
    """The pose thread's snapshot of the outfit travels with the frame: taking the items off
    between the two halves of a frame does not change what that frame draws."""
    engine.set_items([TOP])
    photo = load_photo("pixabay_suit")
    analysis = engine._analyze(photo, None)
    assert isinstance(analysis, FrameAnalysis)
    assert [w.garment.id for w in analysis.items] == [TOP] and analysis.raw_pose is not None
    assert (analysis.intrinsics.width, analysis.intrinsics.height) == (photo.shape[1], photo.shape[0])
    engine.set_items([])
    result = engine._finish(analysis)
    assert result.garment_alpha.max() > 0.9 and result.opacity == 1.0
    assert set(result.timings_ms) == {*STAGES, "total"}
    assert engine.process(photo).garment_alpha.max() == 0.0  # the next frame has no items
    engine.set_items([TOP])


def test_outfit_changes_from_other_threads_during_a_stream(clip):
    """Two threads change the outfit as fast as they can while a pipelined stream runs: every
    frame comes back, each drawn with one whole outfit, and no change is lost."""
    with TryOnEngine(items=[TOP]) as eng:
        stop = threading.Event()
        errors = []

        def churn(spec: str) -> None:
            try:
                while not stop.is_set():
                    eng.wear(spec)
                    eng.toggle(spec)  # off again
                    eng.toggle(spec)  # on
                    eng.take_off(spec)
            except Exception as exc:  # pragma: no cover - the failure the test looks for
                errors.append(exc)

        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
        threads = [threading.Thread(target=churn, args=(s,)) for s in ("red-glasses", "white-tee")]
        try:
            for t in threads:
                t.start()
            results = list(eng.process_stream(clip, fps=20))
        finally:
            stop.set()
            for t in threads:
                t.join()
            sys.setswitchinterval(switch)
        assert not errors
        assert len(results) == len(clip)
        assert all(r.image.shape == clip[0].shape for r in results)
        # every churn cycle ends with the item off: only the first outfit is left, whole
        assert eng.worn == (WornItem(eng.catalog.get(TOP), None),)
        assert results[-1].pose is not None


def test_a_stream_tunes_the_runtime_and_puts_it_back(clip):
    switch = sys.getswitchinterval()
    seen = []
    with TryOnEngine(items=[TOP]) as eng:
        for _ in eng.process_stream(clip[:3], fps=20):
            seen.append(sys.getswitchinterval())
        assert sys.getswitchinterval() == switch
        assert seen and all(s == pytest.approx(min(switch, 0.0002)) for s in seen)
        stream = eng.process_stream(clip[:3], fps=20)
        next(stream)
        stream.close()  # a stream closed halfway puts it back too
        assert sys.getswitchinterval() == switch
    with TryOnEngine(items=[TOP], options=EngineOptions(tune_runtime=False)) as eng:
        seen = [sys.getswitchinterval() for _ in eng.process_stream(clip[:2], fps=20)]
    assert seen == [switch, switch]


def test_results_are_unchanged_by_the_outfit_snapshot_on_a_still(engine):
    """``process`` = ``_finish(_analyze(...))``: same image as the two halves by hand."""
    photo = load_photo("pixabay_suit")
    whole = engine.process(photo)
    halves = engine._finish(engine._analyze(photo, None))
    assert np.array_equal(whole.image, halves.image)


def test_a_pipelined_stream_gives_what_one_thread_gives():
    """The two threads split each frame between them (the models on the pose thread, the
    filters, the details' smoothing and everything drawn on the GL thread): a pipelined
    stream comes out as the same stream run on one thread, frame for frame, with glasses
    (the face mesh, carried between its runs) and the watch (a hand)."""
    clip = [f for f, _ in VideoFile(ROOT / "samples" / "upper_body.mp4", max_frames=12)]
    outfit = [TOP, "red-glasses", "steel-watch"]
    with TryOnEngine(items=outfit) as eng:
        piped = list(eng.process_stream(clip, fps=20))
        alone = list(eng.process_stream(clip, fps=20, pipelined=False))
    assert len(piped) == len(alone) == len(clip)
    faces = 0
    for p, a in zip(piped, alone):
        assert (p.pose is None) == (a.pose is None)
        if p.pose is None:
            continue
        assert np.array_equal(p.pose.keypoints_px, a.pose.keypoints_px)
        assert (p.details.head_pose is None) == (a.details.head_pose is None)
        if p.details.head_pose is not None:
            faces += 1
            assert np.array_equal(p.details.face.landmarks_px, a.details.face.landmarks_px)
        assert np.abs(p.image.astype(int) - a.image.astype(int)).mean() < 0.5
    assert faces >= len(clip) // 2  # the face was found and carried


def _broken_copy(garment, item_id, how):
    """A copy of ``garment`` broken as a bad import could break it: a NaN vertex in its first
    part, or its first part's skin weights lost (deforming it raises)."""
    parts = [dataclasses.replace(p, positions=p.positions.copy()) for p in garment.parts]
    broken = dataclasses.replace(garment, id=item_id, parts=parts)
    if how == "nan":
        parts[0].positions[len(parts[0].positions) // 2] = np.nan
    else:
        parts[0].skin = None  # after the item's own checks, which would refuse it
    return broken


@pytest.mark.parametrize("how, words", [("nan", "non-finite"), ("no-skin", "Error")])
def test_a_broken_item_is_skipped_and_the_others_still_drawn(engine, caplog, how, words):
    """An item with non-finite geometry (or one whose deformation fails), worn with another
    item: the other is drawn exactly as it is alone, and the broken one is named in one
    warning."""
    photo = load_photo("pixabay_suit")
    broken = _broken_copy(engine.catalog.get("blue-jeans"), f"broken-jeans-{how}", how)
    engine.set_items([TOP])
    alone = engine.process(photo)
    engine.set_items([broken, TOP])
    with caplog.at_level(logging.WARNING, logger="tryon.engine"):
        both = engine.process(photo)
        engine.process(photo)
    engine.set_items([TOP])
    assert alone.garment_alpha.max() > 0.9
    assert np.array_equal(both.image, alone.image)
    warned = [r.getMessage() for r in caplog.records if f"broken-jeans-{how}" in r.getMessage()]
    assert len(warned) == 1 and words in warned[0]


ABSURD = [0, 50, 2**62, 100, -5, float("nan"), 150, 120, "200", 250, float("inf"), -(2**62), 300]
KEPT = [0, 50, 100, -5, 150, 120, 250, 300]  # the caller's stamps of the frames not refused


@pytest.mark.parametrize("pipelined", [True, False])
def test_a_stream_survives_any_timestamp(clip, caplog, pipelined):
    """Real MediaPipe: absurd, negative, non-monotonic and NaN timestamps. The ones that are
    not a time are refused for their frame with a warning; the stream goes on and tracks."""
    pairs = [(clip[i % len(clip)], t) for i, t in enumerate(ABSURD)]
    with TryOnEngine(items=[TOP]) as eng, caplog.at_level(logging.WARNING):
        results = list(eng.process_stream(pairs, pipelined=pipelined))
    assert [r.timestamp_ms for r in results] == KEPT
    assert all(r.pose is not None for r in results[1:])
    assert results[-1].garment_alpha.max() > 0.9 and results[-1].opacity == 1.0
    skipped = [r.getMessage() for r in caplog.records if "skipping frame" in r.getMessage()]
    assert len(skipped) == 5 and any("out of range" in m for m in skipped) and any("finite" in m for m in skipped)


def test_one_frame_at_a_time_an_absurd_timestamp_is_refused_and_the_next_frame_works(clip):
    with TryOnEngine(items=[TOP]) as eng:
        assert eng.process(clip[0], timestamp_ms=0).pose is not None
        with pytest.raises(ValueError, match="out of range"):
            eng.process(clip[1], timestamp_ms=2**62)
        with pytest.raises(ValueError, match="finite"):
            eng.process(clip[1], timestamp_ms=float("nan"))
        later = [eng.process(clip[i], timestamp_ms=50 * i) for i in range(1, 6)]
        assert all(r.pose is not None for r in later) and later[-1].opacity == 1.0
        with pytest.raises(ValueError, match="out of range"):
            eng.estimator.detect_for_video(clip[6], 2**62)  # the pose model alone too
        assert eng.estimator.detect_for_video(clip[6], 400) is not None
