import numpy as np
import pytest

from tryon.pose.filters import GroupParams, OneEuroFilter, PoseSmoother, SmoothingOptions, TrackFader
from tryon.pose.types import Pose


def test_one_euro_removes_jitter_at_rest_and_follows_motion():
    """In the engine's units (image heights): 1 px of noise at 480 px, then a fast move."""
    rng = np.random.default_rng(1)
    torso = SmoothingOptions().image_params["torso"]
    f = OneEuroFilter(np.full(1, torso.min_cutoff), np.full(1, torso.beta))
    t = np.arange(300) / 30.0
    still = 0.5 + rng.normal(0, 1 / 480, 300)
    out = np.array([f(np.array([[x]]), ti)[0, 0] for x, ti in zip(still, t)])
    assert np.std(np.diff(out[30:])) < 0.35 * np.std(np.diff(still[30:]))

    f.reset()
    ramp = 1.0 * t  # one image height per second
    out = np.array([f(np.array([[x]]), ti)[0, 0] for x, ti in zip(ramp, t)])
    lag_frames = (ramp[100:] - out[100:]).mean() / (1.0 / 30.0)
    assert lag_frames < 2.0


def _pose(kp, t, vis=1.0):
    return Pose(
        keypoints_px=kp.astype(np.float32),
        depth_px=np.zeros(33, np.float32),
        visibility=np.full(33, vis, np.float32),
        presence=np.ones(33, np.float32),
        world_m=np.zeros((33, 3), np.float32),
        segmentation=None,
        image_size=(640, 480),
        timestamp_ms=t,
    )


def test_smoother_resets_on_loss_and_gaps():
    s = PoseSmoother()
    base = np.full((33, 2), 100.0)
    s(_pose(base, 0), 0)
    moved = s(_pose(base + 50, 33), 33)
    assert (moved.keypoints_px < 150).all()  # smoothed: not all the way yet
    assert s(None) is None  # lost: reset
    fresh = s(_pose(base + 50, 66), 66)
    assert np.allclose(fresh.keypoints_px, 150)  # no gliding from the old track
    s(_pose(base, 100), 100)
    after_gap = s(_pose(base + 80, 2000), 2000)
    assert np.allclose(after_gap.keypoints_px, 180)


def test_still_images_are_not_smoothed():
    s = PoseSmoother()
    p = _pose(np.full((33, 2), 10.0), None)
    assert s(p) is p


def test_smoothing_options_validated():
    params = dict(SmoothingOptions().image_params)
    params["torso"] = GroupParams(0.0, 1.0)
    with pytest.raises(ValueError):
        SmoothingOptions(image_params=params)
    del params["torso"]
    with pytest.raises(ValueError):
        SmoothingOptions(image_params=params)


def test_fader_fades_instead_of_popping():
    f = TrackFader(fade_in_ms=100, fade_out_ms=100)
    assert f.update(True, 0) == 1.0  # first frame of a stream: at once
    assert f.update(False, 50) == pytest.approx(0.5)
    assert f.update(False, 100) == 0.0
    assert f.update(True, 150) == pytest.approx(0.5)
    assert f.update(True, 200) == 1.0
