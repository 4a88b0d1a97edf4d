"""The stabilize stage's parts on their own: region motion from features, the fused filter, the
stage's bookkeeping, and the flow on a real photo moved by a known amount (no pose model)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import load_photo

from tryon import stability
from tryon.frames import px_to_scaled_cv, scaled_cv_to_px, scaled_size
from tryon.pose.landmarks import NUM_LANDMARKS, L
from tryon.pose.types import Pose
from tryon.track import StabilizeOptions, Stabilizer
from tryon.track.flow import RegionFlow, fit_region_motion
from tryon.track.fusion import KeypointFusion
from tryon.track.regions import MEMBERSHIP, NUM_REGIONS, REGIONS, assign_regions

TRUNK, FOREARM_L, UPPER_ARM_L = (REGIONS.index(n) for n in ("trunk", "forearm_left", "upper_arm_left"))


def standing_keypoints(cx: float = 200.0) -> np.ndarray:
    """(33, 2) px: a person standing, arms down, about 400 px tall, centred on x = cx."""
    kp = np.zeros((NUM_LANDMARKS, 2))
    kp[: L.LEFT_SHOULDER] = (cx, 60.0)  # face
    kp[L.LEFT_EAR], kp[L.RIGHT_EAR] = (cx + 15, 60), (cx - 15, 60)
    for side, s in (("LEFT", 1), ("RIGHT", -1)):
        kp[L[f"{side}_SHOULDER"]] = (cx + 40 * s, 110)
        kp[L[f"{side}_ELBOW"]] = (cx + 50 * s, 180)
        kp[L[f"{side}_WRIST"]] = (cx + 55 * s, 240)
        for part in ("PINKY", "INDEX", "THUMB"):
            kp[L[f"{side}_{part}"]] = (cx + 57 * s, 255)
        kp[L[f"{side}_HIP"]] = (cx + 25 * s, 230)
        kp[L[f"{side}_KNEE"]] = (cx + 27 * s, 320)
        kp[L[f"{side}_ANKLE"]] = (cx + 28 * s, 400)
        kp[L[f"{side}_HEEL"]] = (cx + 28 * s, 410)
        kp[L[f"{side}_FOOT_INDEX"]] = (cx + 35 * s, 412)
    return kp


def test_conversions_to_a_resampled_image_and_back():
    size, scale = scaled_size(640, 399, 320)
    assert size == (320, 200) and scale[0] == 0.5 and scale[1] == pytest.approx(200 / 399)
    pts = np.array([[0.0, 0.0], [639.5, 398.25], [12.3, 45.6]])
    assert np.allclose(scaled_cv_to_px(px_to_scaled_cv(pts, scale), scale), pts, atol=1e-4)
    # the top-left pixel's centre (0.5, 0.5) image px is OpenCV's (0, 0) at full size
    assert np.allclose(px_to_scaled_cv(np.array([0.5, 0.5]), np.ones(2)), 0.0)


def test_features_fall_into_the_right_regions():
    kp = standing_keypoints()
    points = np.array([[200.0, 170.0], [200.0, 60.0], [245.0, 145.0], [253.0, 215.0], [172.0, 280.0], [500.0, 50.0]])
    region = assign_regions(points, kp)
    names = [REGIONS[r] if r >= 0 else None for r in region]
    assert names == ["trunk", "head", "upper_arm_left", "forearm_left", "thigh_right", None]


def test_region_motion_recovers_each_regions_own_motion_despite_outliers():
    """Trunk shifted by (3, -1) px, the left forearm turned 10 degrees about its elbow; a
    fifth of the trunk's features are on something else moving 20 px (a hand in front)."""
    rng = np.random.default_rng(1)
    trunk = rng.uniform([170, 120], [230, 220], (60, 2))
    forearm = np.linspace([250, 185], [256, 250], 20) + rng.normal(0, 1, (20, 2))
    before = np.vstack([trunk, forearm])
    region = np.r_[np.full(60, TRUNK), np.full(20, FOREARM_L)]
    after = before.copy()
    after[:60] += (3.0, -1.0)
    after[48:60] += (20.0, 5.0)  # outliers
    elbow = np.array([250.0, 180.0])
    c, s = np.cos(np.radians(10)), np.sin(np.radians(10))
    after[60:] = (before[60:] - elbow) @ np.array([[c, s], [-s, c]]) + elbow
    after += rng.normal(0, 0.05, after.shape)
    motion = fit_region_motion(before, after, region, prior_px=1.0, min_features=6, articulation_px=1.0)
    assert motion.ok[TRUNK] and motion.ok[FOREARM_L]
    kp = standing_keypoints()
    d, sigma, support = motion.displacement_px(kp, MEMBERSHIP)
    assert np.allclose(d[L.LEFT_SHOULDER], (3.0, -1.0), atol=0.1)  # the outliers did not pull
    wrist = kp[L.LEFT_WRIST]
    turned = (wrist - elbow) @ np.array([[c, s], [-s, c]]) + elbow
    assert np.allclose(d[L.LEFT_WRIST], turned - wrist, atol=0.3)
    # the upper arm had no features: carried by the trunk (borrowed), less surely
    assert motion.borrowed[UPPER_ARM_L] and not motion.ok[UPPER_ARM_L]
    assert support[L.LEFT_SHOULDER] == 1.0 and 0.0 < support[L.LEFT_ELBOW] < 1.0
    assert sigma[L.LEFT_ELBOW] > sigma[L.LEFT_SHOULDER]


def test_a_region_whose_features_disagree_is_not_measured():
    rng = np.random.default_rng(2)
    before = rng.uniform([170, 120], [230, 220], (40, 2))
    after = before + rng.normal(0, 15, before.shape)  # no one motion
    motion = fit_region_motion(
        before, after, np.full(40, TRUNK), prior_px=1.0, min_features=6, articulation_px=1.0, max_noise_px=3.0
    )
    assert not motion.ok[TRUNK]


def test_a_limb_carried_by_a_still_parent_is_held_and_by_a_moving_one_may_move():
    """The forearm has no features of its own: carried by its upper arm, itself by the trunk.
    With the trunk still its own motion allowance is nil (held); with the trunk moving 3 px a
    frame it may move on its own by the articulation allowance (per level)."""
    rng = np.random.default_rng(4)
    before = rng.uniform([170, 120], [230, 220], (40, 2))
    region = np.full(40, TRUNK)
    for shift, held in (((0.02, 0.0), True), ((3.0, 0.0), False)):
        after = before + shift + rng.normal(0, 0.05, before.shape)
        motion = fit_region_motion(
            before, after, region, prior_px=1.0, min_features=6, articulation_px=1.0, held_below_px=0.5
        )
        assert motion.borrowed[FOREARM_L] and motion.borrowed[UPPER_ARM_L]
        if held:
            assert motion.extra_var_px2[FOREARM_L] < 0.01, motion.extra_var_px2
        else:
            assert motion.extra_var_px2[UPPER_ARM_L] == pytest.approx(1.0)
            assert motion.extra_var_px2[FOREARM_L] == pytest.approx(2.0)


def test_a_region_whose_features_do_not_move_as_one_is_trusted_less_and_so_are_its_limbs():
    """The trunk moves 6 px a frame; its features follow it exactly (a rigid pan) or scattered
    by 1.5 px (a loose shirt on a dancer, still one motion by the noise gate). The loose one's
    prediction is uncertain by about its excess scatter, and the unmeasured forearm it carries
    may move by half the trunk's motion on its own; the rigid one adds nothing."""
    rng = np.random.default_rng(6)
    before = rng.uniform([170, 120], [230, 220], (60, 2))
    region = np.full(60, TRUNK)
    extra = {}
    for name, scatter in (("rigid", 0.02), ("loose", 1.5)):
        after = before + (6.0, 0.0) + rng.normal(0, scatter, before.shape)
        motion = fit_region_motion(
            before, after, region, prior_px=1.0, min_features=6, articulation_px=0.0, max_noise_px=5.0,
            held_below_px=0.5, rigid_noise_px=0.3, unrigid_gain=5.0, articulation_per_motion=0.5,
        )  # fmt: skip
        assert motion.ok[TRUNK] and motion.borrowed[FOREARM_L]
        extra[name] = motion.extra_var_px2
    assert extra["rigid"][TRUNK] == 0.0 and extra["rigid"][FOREARM_L] == 0.0
    assert extra["loose"][TRUNK] > 5.0**2, extra["loose"]
    assert extra["loose"][FOREARM_L] > extra["loose"][TRUNK] + 2 * (0.5 * 6.0) ** 2 * 0.9, extra["loose"]


def test_a_held_point_does_not_follow_keypoint_spikes_but_corrects_a_lasting_drift():
    """Still image; keypoints shaken 1 px with 6 px spikes on one frame in six: the held output
    wanders under 0.3 px (with each frame's disagreement unclipped it is about 0.6: the spikes
    read as drift); a wrist keypoint that then stays 3 sigma off is followed within 18 frames
    (0.6 s: a held point's disagreement is averaged over about ten frames)."""
    rng = np.random.default_rng(5)
    truth = standing_keypoints()
    world = np.zeros((NUM_LANDMARKS, 3))
    vis = np.ones(NUM_LANDMARKS)
    fusion = KeypointFusion()
    out = []
    for t in range(90):
        z = truth + rng.normal(0, 1.0, truth.shape)
        if t % 6 == 3:
            z[:, 0] += rng.choice([-1.0, 1.0], NUM_LANDMARKS) * 6.0
        kp, *_ = fusion.update(z, world, z, world, vis, _motion() if t else None, 1 / 30)
        out.append(kp)
    held = np.array(out[30:])
    wander = np.sqrt(np.mean(np.sum((held - held.mean(axis=0)) ** 2, axis=2)))
    assert wander < 0.3, wander
    sigma = 0.03 * 80.0  # the arms' noise at this body's scale (shoulders 80 px apart)
    moved = truth.copy()
    moved[L.LEFT_WRIST] += (3.0 * sigma, 0.0)
    for _ in range(18):
        kp, *_ = fusion.update(moved, world, moved, world, vis, _motion(), 1 / 30)
    assert abs(kp[L.LEFT_WRIST, 0] - moved[L.LEFT_WRIST, 0]) < sigma, kp[L.LEFT_WRIST]


def test_a_held_point_does_not_follow_the_pose_models_wandering_for_a_few_frames():
    """Still image, keypoints shaken 1 px; the shoulder keypoint then sits 3 sigma off for 7
    frames (as BlazePose's reading of a still shopper wanders) and comes back: the held output
    moves under 0.5 px (it went 2.6 px when a held point's disagreement was averaged as a moving
    one's, over about three frames)."""
    rng = np.random.default_rng(7)
    truth = standing_keypoints()
    world = np.zeros((NUM_LANDMARKS, 3))
    vis = np.ones(NUM_LANDMARKS)
    sigma = 0.02 * 80.0  # the torso's noise at this body's scale
    fusion = KeypointFusion()
    out = []
    for t in range(150):
        z = truth + rng.normal(0, 1.0, truth.shape)
        if 120 <= t < 127:
            z[L.LEFT_SHOULDER] += (3.0 * sigma, 0.0)
        kp, *_ = fusion.update(z, world, z, world, vis, _motion() if t else None, 1 / 30)
        out.append(kp[L.LEFT_SHOULDER])
    excursion = np.abs(np.array(out[100:]) - truth[L.LEFT_SHOULDER]).max()
    assert excursion < 0.5, excursion


def test_a_still_trunk_does_not_follow_the_pose_models_plateaus():
    """Still image, keypoints shaken 1 px; after 90 frames both shoulders' keypoints wander in
    plateaus of 25 frames, 3 sigma off and back (as BlazePose's reading of the cameraman's trunk
    does under camera noise): the image shows the trunk still on the body, so the plateaus are
    the keypoints' and the output stays within 3 px of the truth (1.99 px; 4.67 px when a lasting
    disagreement of a held trunk point was taken for drift and followed after about ten frames)."""
    rng = np.random.default_rng(11)
    truth = standing_keypoints()
    world = np.zeros((NUM_LANDMARKS, 3))
    vis = np.ones(NUM_LANDMARKS)
    sigma = 0.02 * 80.0  # the torso's noise at this body's scale (shoulders 80 px apart)
    shoulders = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER]
    fusion = KeypointFusion()
    worst = 0.0
    for t in range(190):
        z = truth + rng.normal(0, 1.0, truth.shape)
        if t >= 90 and ((t - 90) // 25) % 2 == 0:
            z[shoulders] += (0.0, -3.0 * sigma)
        kp, *_ = fusion.update(z, world, z, world, vis, _motion() if t else None, 1 / 30)
        if t >= 90:
            worst = max(worst, float(np.abs(kp[shoulders] - truth[shoulders]).max()))
    assert worst < 3.0, worst

def _motion(shift=(0.0, 0.0)):
    """A measured RegionMotion moving every region by ``shift`` px, precisely."""
    n = 40
    rng = np.random.default_rng(0)
    before = rng.uniform(0, 400, (n * NUM_REGIONS, 2))
    after = before + np.asarray(shift)
    region = np.repeat(np.arange(NUM_REGIONS), n)
    return fit_region_motion(before, after, region, prior_px=10.0, min_features=6, articulation_px=1.0)


def test_fusion_holds_a_still_body_whatever_the_keypoints_do_and_follows_the_image():
    rng = np.random.default_rng(3)
    truth = standing_keypoints()
    world = np.zeros((NUM_LANDMARKS, 3))
    vis = np.ones(NUM_LANDMARKS)
    fusion = KeypointFusion()
    out = []
    for t in range(60):
        z = truth + rng.normal(0, 2.0, truth.shape)  # the pose model's shake, 2 px
        w = world + rng.normal(0, 0.01, world.shape)
        kp, world_out, support = fusion.update(z, w, z, w, vis, _motion() if t else None, 1 / 30)
        out.append((kp, world_out))
    kps = np.array([k for k, _ in out[20:]])
    worlds = np.array([w for _, w in out[20:]])
    shake = np.sqrt(np.mean(np.sum((kps - kps.mean(axis=0)) ** 2, axis=2)))
    assert shake < 0.3 * np.sqrt(2) * 2.0, shake  # 2.8 px in (2 px an axis), under a third of it out
    assert np.sqrt(np.mean((worlds - worlds.mean(axis=0)) ** 2)) < 0.002  # world held still too
    assert support.min() == 1.0
    # the image moves 10 px a frame: the keypoints trail it by a frame; the output does not
    moved = truth.copy()
    for _ in range(10):
        moved = moved + (10.0, 0.0)
        lagging = moved - (10.0, 0.0) + rng.normal(0, 2.0, truth.shape)
        kp, *_ = fusion.update(lagging, world, lagging, world, vis, _motion((10.0, 0.0)), 1 / 30)
    assert np.abs(kp[L.LEFT_SHOULDER] - moved[L.LEFT_SHOULDER]).max() < 3.0


def test_fusion_rejects_a_jump_the_image_does_not_show_and_relocks_if_it_stays():
    truth = standing_keypoints()
    world = np.zeros((NUM_LANDMARKS, 3))
    vis = np.ones(NUM_LANDMARKS)
    fusion = KeypointFusion()
    for t in range(30):
        fusion.update(truth, world, truth, world, vis, _motion() if t else None, 1 / 30)
    jumped = truth.copy()
    jumped[L.LEFT_WRIST] += (40.0, 0.0)  # the model puts the wrist on the other hand
    kp, *_ = fusion.update(jumped, world, jumped, world, vis, _motion(), 1 / 30)
    assert fusion.last_rejected[L.LEFT_WRIST]
    assert np.allclose(kp[L.LEFT_WRIST], truth[L.LEFT_WRIST], atol=0.5)
    for _ in range(fusion.options.max_rejected_frames + 3):  # it stays there: believed at last
        kp, *_ = fusion.update(jumped, world, jumped, world, vis, _motion(), 1 / 30)
    assert np.abs(kp[L.LEFT_WRIST] - jumped[L.LEFT_WRIST]).max() < 10.0


def test_fusion_falls_back_to_the_smoothed_pose_where_nothing_was_measured():
    truth = standing_keypoints()
    world = np.zeros((NUM_LANDMARKS, 3))
    vis = np.ones(NUM_LANDMARKS)
    fusion = KeypointFusion()
    fusion.update(truth, world, truth, world, vis, None, 1 / 30)
    smoothed = truth + (5.0, 0.0)  # the smoothing stage moved the body 5 px
    kp, _, support = fusion.update(smoothed + (1.0, 0.0), world, smoothed, world, vis, None, 1 / 30)
    assert support.max() == 0.0
    assert np.allclose(kp[:, 0] - truth[:, 0], 5.0 + np.clip(kp[:, 0] - smoothed[:, 0], 0, 1.0), atol=1e-6)
    assert np.all((kp[:, 0] >= smoothed[:, 0]) & (kp[:, 0] <= smoothed[:, 0] + 1.0))


def _pose(kp: np.ndarray, size=(400, 440), t_ms: int | None = 0) -> Pose:
    n = NUM_LANDMARKS
    return Pose(
        keypoints_px=kp.astype(np.float32),
        depth_px=np.zeros(n, np.float32),
        visibility=np.ones(n, np.float32),
        presence=np.ones(n, np.float32),
        world_m=np.zeros((n, 3), np.float32),
        segmentation=None,
        image_size=size,
        timestamp_ms=t_ms,
    )


def test_the_stage_passes_stills_through_restarts_when_nobody_is_there_and_refuses_a_wrong_frame():
    frame = np.zeros((440, 400, 3), np.uint8)
    pose = _pose(standing_keypoints())
    st = Stabilizer()
    still = _pose(standing_keypoints(), t_ms=None)
    assert st(frame, still) is still  # a still image: nothing to anchor to
    assert st(frame, pose, timestamp_ms=0) is not None
    assert st(frame, None, timestamp_ms=33) is None
    assert st.fusion.keypoints_px is None  # restarted: nothing glides in from before
    assert Stabilizer(StabilizeOptions(enabled=False))(frame, pose, timestamp_ms=0) is pose
    with pytest.raises(ValueError, match="pose is for 400x440"):
        st(np.zeros((100, 100, 3), np.uint8), pose, timestamp_ms=66)


def test_flow_measures_a_real_photos_known_motion_under_camera_noise():
    """The astronaut photo moved 2.5 px right and 1.25 px down, with camera noise and JPEG on
    both frames: the trunk's and head's measured motion is right to a tenth of a pixel."""
    photo = load_photo("astronaut_upper_body")
    frames = stability.camera_clip(photo, 1) + stability.camera_clip(photo, 1, seed=5)
    import cv2

    moved = cv2.warpAffine(photo, np.float32([[1, 0, 2.5], [0, 1, 1.25]]), photo.shape[1::-1], flags=cv2.INTER_LINEAR)
    frames[1] = stability.camera_clip(moved, 1, seed=5)[0]
    # the astronaut's body, as the pose model finds it (measured once, rounded)
    kp = standing_keypoints(cx=270.0)
    kp[:11] = (262, 170)
    kp[L.LEFT_EAR], kp[L.RIGHT_EAR] = (300, 160), (222, 160)
    kp[L.LEFT_SHOULDER], kp[L.RIGHT_SHOULDER] = (385, 330), (150, 340)
    kp[L.LEFT_HIP], kp[L.RIGHT_HIP] = (340, 600), (190, 600)
    mask = np.zeros((512, 512), np.float32)
    mask[40:, 90:440] = 1.0
    flow = RegionFlow()
    assert flow(frames[0], mask, kp) is None
    motion = flow(frames[1], mask, kp)
    assert motion is not None and motion.ok[TRUNK] and motion.ok[REGIONS.index("head")]
    d, _, _ = motion.displacement_px(kp, MEMBERSHIP)
    for i in (L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER):
        assert np.allclose(d[i], (2.5, 1.25), atol=0.1), (i, d[i])
