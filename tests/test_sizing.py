"""Size advice: synthetic mannequins of known size, the height formula, charts, the real clip."""

import numpy as np
import pytest
from helpers import ROOT

from tryon.body.proportions import ProportionTracker
from tryon.body.synthetic import forward_kinematics, place_in_camera, random_pose, synthetic_person
from tryon.frames import CameraIntrinsics
from tryon.pose.landmarks import L
from tryon.sizing import (
    DEFAULT_CHARTS,
    HEIGHT_FACTOR,
    Shopper,
    SizeChart,
    SizeEstimator,
    chart_for,
    height_from_world,
    metric_scale_sample,
    recommend,
)

K = CameraIntrinsics.from_fov(1280, 720, 60.0)
LEGS = [L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL]
LEGS += [L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX]
#: Body scales of the mannequin (1.0 = the MakeHuman base body, 166.6 cm) and the size each wears.
SIZED = {0.98: "S", 1.06: "M", 1.14: "L"}


def scaled_poses(mannequin, s, n=30, seed=0, legs=True, depth_m=3.2, world_scale=1.0):
    """Poses of the mannequin s times bigger (about the model origin), mildly posed and
    turned, as a perfect landmarker reports them. ``world_scale`` mimics the model's error
    on the world landmarks' metric scale (the keypoints stay exact)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        palette = forward_kinematics(mannequin, random_pose(rng, 0.3)) * s  # linear part and translation
        cam = place_in_camera(palette, yaw_deg=rng.uniform(-15, 15), position_cam_m=(0.0, 0.05, depth_m))
        pose = synthetic_person(mannequin, cam, K, timestamp_ms=i * 33).pose
        if world_scale != 1.0:
            pose = pose.with_arrays(world_m=pose.world_m * np.float32(world_scale))
        if not legs:
            vis = pose.visibility.copy()
            vis[LEGS] = 0.0
            pose = pose.with_arrays(visibility=vis)
        yield pose


def advise(mannequin, s, chart="top", **kw):
    est = SizeEstimator(**{k: kw.pop(k) for k in ("intrinsics", "standing_distance_m") if k in kw})
    for pose in scaled_poses(mannequin, s, **kw):
        est.update(pose)
    return est, est.advise(DEFAULT_CHARTS[chart])


@pytest.mark.parametrize("chart", ["top", "bottom"])
def test_scaled_mannequins_get_s_m_l(mannequin, chart):
    for s, size in SIZED.items():
        est, advice = advise(mannequin, s, chart)
        assert advice.size == size, (s, advice)
        assert advice.confidence >= 0.3, advice
        assert est.height_cm() == pytest.approx(s * mannequin.height_m * 100, rel=0.02)
    smallest = advise(mannequin, 0.88, chart)[1]
    assert smallest.size == "XS"


def test_hidden_legs_lower_the_confidence_and_say_why(mannequin):
    for s, size in SIZED.items():
        _, whole = advise(mannequin, s)
        est, partial = advise(mannequin, s, legs=False)
        assert est.height_cm() is None
        assert partial.size == size  # the chest still says it
        assert partial.confidence < whole.confidence - 0.05
        assert "height" in partial.missing and "feet" in partial.message


def test_too_few_frames_give_no_size(mannequin):
    est = SizeEstimator(min_frames=15)
    for pose in scaled_poses(mannequin, 1.0, n=5):
        est.update(pose)
    advice = est.advise(DEFAULT_CHARTS["top"])
    assert advice.size is None and advice.confidence == 0.0 and "moment" in advice.message
    assert advice.headline == "?"
    est.update(None)  # nobody: ignored
    assert est.frames == 5


def test_height_formula_on_the_mannequin(mannequin):
    lm = mannequin.landmarks.bind_m
    assert height_from_world(lm, np.ones(33)) == pytest.approx(mannequin.height_m, rel=0.005)
    assert height_from_world(lm * 1.1, np.ones(33)) == pytest.approx(1.1 * mannequin.height_m, rel=0.005)
    vis = np.ones(33)
    vis[[L.LEFT_ANKLE, L.RIGHT_ANKLE]] = 0.2
    assert height_from_world(lm, vis) is None  # ankles not seen: no height
    vis = np.ones(33)
    vis[L.LEFT_ANKLE] = 0.0
    assert height_from_world(lm, vis) == pytest.approx(mannequin.height_m, rel=0.01)  # one leg is enough
    assert 1.05 < HEIGHT_FACTOR < 1.2


def test_height_holds_with_bent_knees(mannequin):
    from tryon.body.rotations import axis_angle

    bend = {
        "upperleg01.L": axis_angle([1, 0, 0], np.radians(-30)),
        "upperleg01.R": axis_angle([1, 0, 0], np.radians(-30)),
        "lowerleg01.L": axis_angle([1, 0, 0], np.radians(50)),
        "lowerleg01.R": axis_angle([1, 0, 0], np.radians(50)),
    }
    cam = place_in_camera(forward_kinematics(mannequin, bend), position_cam_m=(0, 0, 3))
    pose = synthetic_person(mannequin, cam, K).pose
    feet_to_nose = float(pose.world_m[L.LEFT_ANKLE, 1] - pose.world_m[L.NOSE, 1])
    assert feet_to_nose * 1.163 < 0.95 * mannequin.height_m  # a vertical extent would shrink
    assert height_from_world(pose.world_m, pose.visibility) == pytest.approx(mannequin.height_m, rel=0.03)


def test_the_engine_measurement_path_gives_the_same_advice(mannequin):
    """FrameResult.measurements (the engine's ProportionTracker) plus a height: same sizes."""
    for s, size in SIZED.items():
        tracker = ProportionTracker(mannequin)
        heights = []
        for pose in scaled_poses(mannequin, s):
            tracker.update(pose.world_m, pose.visibility)
            heights.append(height_from_world(pose.world_m, pose.visibility))
        shopper = Shopper.from_measurements(tracker.measurements(), 100 * float(np.median(heights)))
        assert shopper.values_cm["chest"] == pytest.approx(2.82 * shopper.values_cm["shoulder_width"])
        assert recommend(shopper, DEFAULT_CHARTS["top"]).size == size


def test_calibration_gives_the_true_scale_and_more_confidence(mannequin):
    """The model reports the M-size body 8% too small (its scale prior); the calibrated
    standing distance recovers the true size."""
    s, depth = 1.06, 3.2
    _, model = advise(mannequin, s, world_scale=0.92)
    est, calibrated = advise(mannequin, s, world_scale=0.92, intrinsics=K, standing_distance_m=depth)
    assert model.size == "S" and not model.calibrated
    assert calibrated.size == "M" and calibrated.calibrated
    assert est.scale()[0] == pytest.approx(1 / 0.92, rel=0.03)
    _, exact = advise(mannequin, s)
    _, exact_cal = advise(mannequin, s, intrinsics=K, standing_distance_m=depth)
    assert exact_cal.confidence > exact.confidence + 0.05  # a calibrated scale is surer
    # Standing far from the spot: the calibrated scale is implausible and is not used.
    est, off_spot = advise(mannequin, s, intrinsics=K, standing_distance_m=depth * 1.6)
    assert not off_spot.calibrated and "spot" in off_spot.message and off_spot.size == "M"
    pose = next(scaled_poses(mannequin, 1.0, n=1))
    assert metric_scale_sample(pose, K, 3.2) == pytest.approx(1.0, rel=0.03)


def test_size_chart_format():
    chart = SizeChart.from_dict(
        {
            "unit": "mm",
            "sizes": {"S": {"chest": [860, 940], "height": [1600, 1720]}, "M": {"chest": [940, 1020]}},
            "weights": {"height": 0.25},
        }
    )
    assert chart.sizes == ("S", "M")
    assert chart.ranges["S"]["chest"] == (86.0, 94.0) and chart.weights == {"chest": 1.0, "height": 0.25}
    for bad, msg in [
        ({"sizes": {}}, "non-empty"),
        ({"unit": "furlong", "sizes": {"S": {"chest": [1, 2]}}}, "unit"),
        ({"sizes": {"S": {"biceps": [1, 2]}}}, "unknown quantity"),
        ({"sizes": {"S": {"chest": [94, 86]}}}, "low < high"),
    ]:
        with pytest.raises(ValueError, match=msg):
            SizeChart.from_dict(bad)
    own = chart_for({"id": "x", "category": "top", "size_chart": {"sizes": {"One": {"height": [100, 220]}}}})
    assert own.sizes == ("One",)
    assert chart_for({"category": "outerwear"}) is DEFAULT_CHARTS["top"]
    assert chart_for({"category": "bottom"}) is DEFAULT_CHARTS["bottom"]
    assert chart_for({"category": "watch"}) is None  # one size


def test_a_body_off_the_chart_is_flagged():
    shopper = Shopper({"chest": 150.0, "height": 185.0}, {"shoulder_width": 90, "height": 90}, 90)
    advice = recommend(shopper, DEFAULT_CHARTS["top"])
    assert advice.size == "XXL" and advice.outside_chart and advice.confidence <= 0.2
    assert "larger" in advice.message


def test_the_sample_clip_gives_a_plausible_adult_size(engine):
    """The real dance clip through the engine's stream: an adult size, with a confidence."""
    from tryon.video import VideoFile

    src = VideoFile(ROOT / "samples" / "dance.mp4")
    est = SizeEstimator()
    last = None
    try:
        for result in engine.process_stream(src, fps=src.fps):
            est.update(result.pose)
            last = result.measurements or last
    finally:
        src.close()
    assert est.frames >= 60
    height = est.height_cm()
    assert height is not None and 150 <= height <= 200
    top = est.advise(DEFAULT_CHARTS["top"])
    bottom = est.advise(DEFAULT_CHARTS["bottom"])
    for advice in (top, bottom):
        assert advice.size in ("XS", "S", "M", "L", "XL"), advice
        assert 0.05 <= advice.confidence <= 0.9 and not advice.calibrated
        assert sum(advice.probabilities.values()) == pytest.approx(1.0, abs=0.01)
    # The engine's own held measurements (FrameResult.measurements) lead to an adult size too.
    shopper = Shopper.from_measurements(last, height)
    assert 75 <= shopper.values_cm["chest"] <= 125
    assert recommend(shopper, DEFAULT_CHARTS["top"]).size in ("XS", "S", "M", "L", "XL")
