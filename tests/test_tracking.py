"""The shopper comes and goes, shares the frame, and shows only part of themselves: items fade
out and back in on the right person, and odd frames never break the loop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import ROOT, TOP, load_photo

from tryon import EngineOptions, TryOnEngine
from tryon.pose.landmarks import TORSO
from tryon.video import VideoFile

pytestmark = pytest.mark.slow  # the engine on real clips and photos


def torso_coverage(result) -> float:
    quad = result.pose.keypoints_px[TORSO].astype(np.float64)
    quad = quad.mean(axis=0) + 0.8 * (quad - quad.mean(axis=0))
    mask = np.zeros(result.image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
    inside = mask.astype(bool)
    return float((result.garment_alpha[inside] > 0.5).mean())


def empty_like(frame: np.ndarray) -> np.ndarray:
    """A real street scene with nobody in it, at the frame's size."""
    street = np.ascontiguousarray(load_photo("mediapipe_sitting")[:, :200])
    return cv2.resize(street, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)


def test_the_shopper_leaves_and_comes_back():
    """20 frames of the dancer, 10 of an empty street, 20 of the dancer again (20 fps): the top
    fades out when she leaves (not popping), nothing is drawn while she is away, and it fades
    back in on her (not gliding over from where she was) when she returns."""
    frames = [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4", max_frames=40)]
    empty = empty_like(frames[0])
    stream = frames[:20] + [empty] * 10 + frames[20:40]
    options = EngineOptions(fade_in_ms=200.0, fade_out_ms=150.0)
    with TryOnEngine(items=[TOP], options=options) as eng:
        results = list(eng.process_stream(stream, fps=20, pipelined=False))
    assert len(results) == 50
    present, away, back = results[:20], results[20:30], results[30:]
    assert all(r.opacity == 1.0 for r in present[5:20])
    assert all(torso_coverage(r) > 0.7 for r in present[5:20])  # (her hands pass in front)
    # leaving: the first empty frames still fade the top out where she was last seen
    assert all(r.pose is None for r in away)
    assert 0.0 < away[0].opacity < 1.0 and away[0].garment_alpha.max() > 0
    assert away[0].garment_alpha.max() < 1.0  # drawn translucent: fading, not popping
    assert all(r.opacity == 0.0 and r.garment_alpha.max() == 0 for r in away[4:])
    assert all(np.array_equal(r.image, empty) for r in away[4:])  # the frame comes back untouched
    # coming back: fades in from nothing, and is on her from the first frame it shows
    assert back[0].pose is not None and back[0].opacity < 0.5
    assert all(r.opacity == 1.0 for r in back[5:])
    shown = [r for r in back if r.opacity >= 0.5]  # (coverage counts alpha > 0.5)
    assert torso_coverage(shown[0]) > 0.7 and all(torso_coverage(r) > 0.7 for r in back[5:])


def _side_by_side(big: np.ndarray, small: np.ndarray, small_scale: float, small_left: bool) -> tuple:
    """Two real people in one frame, bottom-aligned: one full size, one smaller (farther back).
    Returns the frame and the x range of the big one."""
    s = cv2.resize(small, None, fx=small_scale, fy=small_scale, interpolation=cv2.INTER_AREA)
    h = big.shape[0]
    pad = np.full((h - s.shape[0], s.shape[1], 3), 0, np.uint8)
    s = np.vstack([pad, s])
    frame = np.hstack([s, big] if small_left else [big, s])
    x0 = s.shape[1] if small_left else 0
    return np.ascontiguousarray(frame), (x0, x0 + big.shape[1])


@pytest.mark.parametrize("small_left", [True, False])
def test_with_two_people_the_main_shopper_wears_it(small_left):
    """The larger, nearer person is the shopper, on either side; the other is left alone."""
    frame, (x0, x1) = _side_by_side(load_photo("pixabay_suit"), load_photo("pixabay_render"), 0.6, small_left)
    with TryOnEngine(items=[TOP]) as eng:
        still = eng.process(frame)
        stream = list(eng.process_stream([frame] * 8, fps=20, pipelined=False))
    for result in [still] + stream[2:]:
        assert result.pose is not None
        cols = np.nonzero(result.garment_alpha > 0.5)[1]
        assert len(cols) > 2000
        assert ((cols >= x0) & (cols < x1)).mean() > 0.98
        assert torso_coverage(result) > 0.6  # his arms are crossed over his chest


ODD_FRAMES = {
    "lying (turned 90 degrees)": lambda img: cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE),
    "upside down": lambda img: cv2.rotate(img, cv2.ROTATE_180),
    "legs only": lambda img: img[img.shape[0] // 2 :],
    "left third": lambda img: img[:, : img.shape[1] // 3],
    "tiny in a big frame": lambda img: cv2.copyMakeBorder(
        cv2.resize(img, None, fx=0.15, fy=0.15), 400, 400, 600, 600, cv2.BORDER_REPLICATE
    ),
    "nearly black": lambda img: (img * 0.04).astype(np.uint8),
    "blown out": lambda img: cv2.convertScaleAbs(img, alpha=4.0, beta=60),
    "one pixel high": lambda img: img[:1],
    "too small": lambda img: img[:12, :12],
}


@pytest.mark.parametrize("name", sorted(ODD_FRAMES))
def test_odd_frames_give_a_frame_back_and_never_break_the_stream(name):
    """Partial, rotated, tiny, dark and degenerate frames: a result comes back for each (the
    items drawn only where a person was found, with finite geometry), and a stream of them
    mixed with good frames goes on to the end."""
    good = load_photo("pixabay_render")
    odd = np.ascontiguousarray(ODD_FRAMES[name](good))
    with TryOnEngine(items=[TOP, "worn-sneakers", "red-glasses"]) as eng:
        if min(odd.shape[:2]) < 16:  # not an image the engine can use: a clear error, and the stream skips it
            with pytest.raises(ValueError, match="outside 16"):
                eng.process(odd)
            results = list(eng.process_stream([good, odd, good, odd, good], fps=10))
            assert len(results) == 3
            return
        result = eng.process(odd)
        assert result.image.shape == odd.shape
        if result.body is None:
            assert result.garment_alpha.max() == 0
        else:
            assert np.isfinite(result.body.palette).all()
        results = list(eng.process_stream([good, odd, good, odd, good], fps=10))
    assert len(results) == 5
    assert results[-1].pose is not None and results[-1].garment_alpha.max() > 0


def test_smoothing_steadies_a_still_shopper_and_keeps_up_with_a_sway():
    """Known-truth clips from a real photo with fresh camera noise on every frame: held still,
    smoothing removes most of the shake; panned sideways, it trails by under two frames."""
    from tryon import stability
    from tryon.catalog.catalog import Catalog

    garment = Catalog().get(TOP)
    still = stability.camera_clip(load_photo("astronaut_upper_body"), 30)
    size = (still[0].shape[1], still[0].shape[0])
    tracks, _ = stability.anchor_tracks(still, stability.pose_stream(still, 30.0), garment)
    raw, smooth = tracks["raw"], tracks["filtered"]
    shake_raw = stability.error_about_truth(raw, np.zeros(30), size)
    shake_smooth = stability.error_about_truth(smooth, np.zeros(30), size)
    assert shake_raw > 1.0  # the noise really shakes BlazePose
    assert shake_smooth < 0.5 * shake_raw, (shake_raw, shake_smooth)

    shift = stability.sweep_shift(45)
    sweep = stability.camera_clip(load_photo("pixabay_render"), 45, shift)
    tracks, _ = stability.anchor_tracks(sweep, stability.pose_stream(sweep, 30.0), garment)
    raw, smooth = tracks["raw"], tracks["filtered"]
    assert np.isfinite(smooth).all()
    # the smoothed anchors follow the known motion (correlation of x with the pan)
    x = np.nanmean(smooth[10:, :, 0], axis=1)
    assert np.corrcoef(x, shift[10:])[0, 1] > 0.8
    assert stability.lag_frames(raw, smooth) < 2.0
    # the body's centre follows quickly (its offsets are what is smoothed hard): the anchors
    # stay close to the known pan, not a frame behind it
    size = (sweep[0].shape[1], sweep[0].shape[0])
    err_raw, err_smooth = (stability.error_about_truth(t, shift, size) for t in (raw, smooth))
    assert err_smooth < 2.0 * err_raw, (err_raw, err_smooth)
