import zipfile

import numpy as np
import pytest
from helpers import load_photo

from tryon.pose.bundle import hand_landmarker_task, wheel_model
from tryon.pose.hands import FINGERS, H, Hand, HandEstimator, HandLandmark, HandOptions, hand_roi_px
from tryon.pose.landmarker import PoseEstimator, PoseOptions
from tryon.pose.landmarks import L

#: Photos where both hands are in view, apart: the sitting woman (hands on her knees) and the
#: rendered woman (arms down).
TWO_HANDS = ["mediapipe_sitting", "pixabay_render"]

POSE_KEYPOINTS = {
    "left": (L.LEFT_WRIST, L.LEFT_INDEX, L.RIGHT_WRIST),
    "right": (L.RIGHT_WRIST, L.RIGHT_INDEX, L.LEFT_WRIST),
}


@pytest.fixture(scope="module")
def hands():
    est = HandEstimator()
    yield est
    est.close()


def _hand_length_px(hand: Hand) -> float:
    """Wrist to middle fingertip along the finger, image px."""
    chain = hand.landmarks_px[[H.WRIST, *FINGERS["middle"]]]
    return float(np.linalg.norm(np.diff(chain, axis=0), axis=1).sum())


def _check_against_pose(hand: Hand, pose) -> None:
    """The hand lies at the pose's wrist and index keypoints of its side, not the other side's."""
    wrist, index, other_wrist = (pose.keypoints_px[k] for k in POSE_KEYPOINTS[hand.handedness])
    size = _hand_length_px(hand)
    d_wrist = np.linalg.norm(hand.point_px(H.WRIST) - wrist)
    d_other = np.linalg.norm(hand.point_px(H.WRIST) - other_wrist)
    d_index = np.linalg.norm(hand.landmarks_px[[H.INDEX_FINGER_MCP, H.INDEX_FINGER_PIP]].mean(0) - index)
    assert d_wrist < 0.4 * size and d_index < 0.4 * size, (hand.handedness, d_wrist, d_index, size)
    assert d_other > 3 * d_wrist, (hand.handedness, d_wrist, d_other)
    # every landmark is within a hand's length of the pose's wrist
    assert np.linalg.norm(hand.landmarks_px - wrist, axis=1).max() < 1.5 * size


def test_bundle_is_the_wheels_models_uncompressed_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path))
    path = hand_landmarker_task()
    assert path.parent == tmp_path
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert (
            zf.read("hand_detector.tflite")
            == wheel_model("modules/palm_detection/palm_detection_full.tflite").read_bytes()
        )
        assert (
            zf.read("hand_landmarks_detector.tflite")
            == wheel_model("modules/hand_landmark/hand_landmark_full.tflite").read_bytes()
        )
    assert set(infos) == {"hand_detector.tflite", "hand_landmarks_detector.tflite"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
    mtime = path.stat().st_mtime_ns
    assert hand_landmarker_task() == path and path.stat().st_mtime_ns == mtime  # cached, not rebuilt


@pytest.mark.parametrize("name", TWO_HANDS)
def test_both_hands_found_on_their_own_side(hands, poses, name):
    img = load_photo(name)
    found = hands.detect(img)
    pose = poses.detect(img)
    assert sorted(h.handedness for h in found) == ["left", "right"]
    for hand in found:
        _check_against_pose(hand, pose)
        assert 0.5 <= hand.score <= 1.0
    # an unmirrored photo facing the camera: the person's right hand is on the image's left
    by_side = {h.handedness: h for h in found}
    assert by_side["right"].point_px(H.WRIST)[0] < by_side["left"].point_px(H.WRIST)[0]


def test_hand_values_shapes_and_units(hands):
    img = load_photo("mediapipe_sitting")
    hand = hands.detect(img)[0]
    h, w = img.shape[:2]
    assert hand.landmarks_px.shape == (21, 2) and hand.landmarks_px.dtype == np.float32
    assert hand.world_m.shape == (21, 3) and hand.depth_px.shape == (21,)
    assert hand.image_size == (w, h) and hand.timestamp_ms is None
    # world landmarks are metric and hand-centred: an adult hand is 15-22 cm long, wrist to
    # middle fingertip along the finger
    chain = hand.world_m[[H.WRIST, *FINGERS["middle"]]]
    length = np.linalg.norm(np.diff(chain, axis=0), axis=1).sum()
    assert 0.12 < length < 0.25, length
    assert np.linalg.norm(hand.world_m.mean(axis=0)) < 0.05
    assert abs(hand.depth_px[H.WRIST]) < 1e-3  # depth is relative to the wrist
    assert hand.finger_px("ring").shape == (4, 2)
    assert len(HandLandmark) == 21 and HandLandmark.PINKY_TIP == 20 and HandLandmark.THUMB_CMC == 1


@pytest.mark.parametrize("name", TWO_HANDS)
def test_roi_around_the_pose_wrist_gives_the_same_hand(hands, poses, name):
    img = load_photo(name)
    pose = poses.detect(img)
    full = {h.handedness: h for h in hands.detect(img)}
    for side in ("left", "right"):
        roi = hand_roi_px(pose, side)
        found = hands.detect(img, roi=roi)
        assert [h.handedness for h in found] == [side]
        hand = found[0]
        _check_against_pose(hand, pose)
        size = _hand_length_px(full[side])
        err = np.linalg.norm(hand.landmarks_px - full[side].landmarks_px, axis=1)
        assert np.median(err) < 0.15 * size, (side, np.median(err), size)
        x0, y0, x1, y1 = roi
        assert ((hand.landmarks_px >= [x0, y0]) & (hand.landmarks_px <= [x1, y1])).all()


def test_roi_finds_a_hand_the_full_frame_misses(hands, poses):
    """The man in a suit: his hands are small in the whole-body photo."""
    img = load_photo("pixabay_suit")
    assert hands.detect(img) == []
    pose = poses.detect(img)
    found = hands.detect(img, roi=hand_roi_px(pose, "right"))
    assert [h.handedness for h in found] == ["right"]
    assert np.linalg.norm(found[0].point_px(H.WRIST) - pose.keypoints_px[L.RIGHT_WRIST]) < 40


def test_no_hands_gives_an_empty_list(hands):
    assert hands.detect(np.full((480, 640, 3), 127, np.uint8)) == []
    street = np.ascontiguousarray(load_photo("mediapipe_sitting")[:, :200])
    assert hands.detect(street) == []
    assert hands.detect(load_photo("mediapipe_sitting"), roi=(2000, 0, 2100, 100)) == []


def test_video_mode_tracks_and_survives_repeated_timestamps():
    img = load_photo("mediapipe_sitting")
    with HandEstimator(HandOptions(max_hands=2)) as est:
        still = {h.handedness: h for h in est.detect(img)}
        for ts in (0, 33, 33, 10):  # repeated and decreasing: bumped, not an error
            found = {h.handedness: h for h in est.detect_for_video(img, ts)}
            assert set(found) == {"left", "right"}
            for side, hand in found.items():
                assert np.linalg.norm(hand.landmarks_px - still[side].landmarks_px, axis=1).max() < 15
        assert found["left"].timestamp_ms == 10
        est.reset_stream()
        assert len(est.detect_for_video(img, 0)) == 2
        est.close()
        est.close()  # idempotent
        with pytest.raises(RuntimeError):
            est.detect(img)


def test_options_and_roi_helper_validate():
    with pytest.raises(ValueError):
        HandOptions(max_hands=0)
    with pytest.raises(ValueError):
        HandOptions(min_tracking_confidence=-0.1)
    with PoseEstimator(PoseOptions(segmentation=False)) as pe:
        pose = pe.detect(load_photo("mediapipe_sitting"))
    with pytest.raises(ValueError):
        hand_roi_px(pose, "middle")
    x0, y0, x1, y1 = hand_roi_px(pose, "left")
    assert x1 - x0 == pytest.approx(y1 - y0) and x1 - x0 > 40
    assert x0 < pose.keypoints_px[L.LEFT_WRIST][0] < x1 and y0 < pose.keypoints_px[L.LEFT_WRIST][1] < y1
