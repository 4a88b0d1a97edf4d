import json
import zipfile

import numpy as np
import pytest
from helpers import PHOTOS, load_photo

from tryon.pose.bundle import pose_landmarker_task
from tryon.pose.landmarker import PoseEstimator, PoseOptions, select_main_shopper
from tryon.pose.landmarks import MIRROR, NAMES, L


@pytest.fixture(scope="module")
def estimator():
    est = PoseEstimator()
    yield est
    est.close()


def test_bundle_is_built_from_the_wheel_uncompressed(tmp_path, monkeypatch):
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path))
    path = pose_landmarker_task()
    assert path.parent == tmp_path
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert set(infos) == {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
    assert pose_landmarker_task() == path  # cached, not rebuilt


def test_matches_mediapipes_own_expected_landmarks(estimator):
    """MediaPipe's iOS test expects these outputs of the Full model on its sample photo."""
    img = load_photo("mediapipe_sitting")
    pose = estimator.detect(img)
    assert pose is not None
    expected = json.loads((PHOTOS / "mediapipe_samples_pose_test_image.expected_landmarks33.json").read_text())
    exp = np.array(expected["results"]["poseLandmarkerFullResults"])[:, :2]
    got = pose.keypoints_px / np.array([pose.width, pose.height])
    err = np.linalg.norm(got - exp, axis=1)
    assert np.median(err) < 0.01 and err.max() < 0.05, err


def test_pose_value_shapes_and_units(estimator):
    img = load_photo("pixabay_suit")
    pose = estimator.detect(img)
    h, w = img.shape[:2]
    assert pose.keypoints_px.shape == (33, 2) and pose.world_m.shape == (33, 3)
    assert pose.mask.shape == (h, w) and pose.mask.dtype == np.float32
    assert 0 <= pose.mask.min() and pose.mask.max() <= 1
    # world landmarks are metric and hip-centred: a standing adult's shoulders are ~30-60 cm apart
    sw = np.linalg.norm(pose.world_m[L.LEFT_SHOULDER] - pose.world_m[L.RIGHT_SHOULDER])
    assert 0.25 < sw < 0.6
    assert np.linalg.norm(pose.world_m[[L.LEFT_HIP, L.RIGHT_HIP]].mean(0)) < 0.05
    # the mask lines up with the keypoints: the nose and hips are inside the person
    for i in (L.NOSE, L.LEFT_HIP, L.RIGHT_HIP):
        u, v = pose.keypoints_px[i].astype(int)
        assert pose.mask[v, u] > 0.5, NAMES[i]


def test_no_person_gives_none(estimator):
    rng = np.random.default_rng(0)
    assert estimator.detect(np.full((480, 640, 3), 127, np.uint8)) is None
    # a real photo's background with nobody in it: the sitting woman's photo, left strip
    street = np.ascontiguousarray(load_photo("mediapipe_sitting")[:, :200])
    assert estimator.detect(street) is None
    assert estimator.detect(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) is None


def test_video_mode_survives_repeated_timestamps(estimator):
    img = load_photo("pixabay_suit")
    a = estimator.detect_for_video(img, 1000)
    b = estimator.detect_for_video(img, 1000)  # not increasing: bumped, not an error
    c = estimator.detect_for_video(img, 500)
    assert a is not None and b is not None and c is not None
    estimator.reset_stream()
    assert estimator.detect_for_video(img, 0) is not None


def test_mirror_table_pairs_sides():
    assert MIRROR[L.LEFT_WRIST] == L.RIGHT_WRIST and MIRROR[L.NOSE] == L.NOSE
    assert np.array_equal(MIRROR[MIRROR], np.arange(33))


def test_main_shopper_is_largest_and_most_central(estimator):
    img = load_photo("pixabay_suit")
    pose = estimator.detect(img)
    w = pose.width
    small = pose.with_arrays(keypoints_px=(pose.keypoints_px * 0.4).astype(np.float32))
    assert select_main_shopper([small, pose]) is pose
    # once followed, a bigger passer-by far from the shopper does not steal the track
    shifted = pose.with_arrays(keypoints_px=(pose.keypoints_px * 0.4 + [w * 0.55, 0]).astype(np.float32))
    assert select_main_shopper([pose, shifted], previous=shifted) is shifted


def test_options_refused_early():
    with pytest.raises(ValueError):
        PoseOptions(num_poses=0)
    with pytest.raises(ValueError):
        PoseOptions(min_detection_confidence=1.5)
