import json
import zipfile

import cv2
import numpy as np
import pytest
from helpers import load_photo

from tryon.frames import MODEL_TO_CAMERA, CameraIntrinsics, project
from tryon.pose.bundle import face_landmarker_task, wheel_model
from tryon.pose.face import (
    HEAD_POSE_POINTS,
    Face,
    FaceEstimator,
    FaceOptions,
    FacePoint,
    canonical_face_model_cm,
    crop_roi,
    face_roi_px,
    solve_head_pose,
)
from tryon.pose.landmarker import PoseEstimator
from tryon.pose.landmarks import L

FLIP = np.diag([-1.0, 1.0, 1.0])  # mirrors x, in camera axes and in the canonical model's


@pytest.fixture(scope="module")
def faces():
    est = FaceEstimator()
    yield est
    est.close()


@pytest.fixture(scope="module")
def astronaut():
    return load_photo("astronaut_upper_body")


def _flipped(img):
    return np.ascontiguousarray(img[:, ::-1])


def _rotation_angle_deg(a, b):
    return float(np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1.0) / 2.0, -1.0, 1.0))))


def test_bundles_are_built_from_the_wheel_uncompressed_and_cached(tmp_path, monkeypatch):
    from mediapipe.tasks.metadata import schema_py_generated as fb
    from mediapipe.tasks.python.metadata import metadata

    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path))
    path = face_landmarker_task()
    assert path.parent == tmp_path
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        detector = zf.read("face_detector.tflite")
        mesh = zf.read("face_landmarks_detector.tflite")
    assert set(infos) == {"face_detector.tflite", "face_landmarks_detector.tflite"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
    assert detector == wheel_model("modules/face_detection/face_detection_short_range.tflite").read_bytes()
    # the rewritten mesh: two outputs, 478 x (x, y, z) then the face flag, with pixel metadata
    graph = fb.Model.GetRootAsModel(mesh, 0).Subgraphs(0)
    shapes = [graph.Tensors(graph.Outputs(i)).ShapeAsNumpy().tolist() for i in range(graph.OutputsLength())]
    assert shapes == [[1, 1434], [1, 1, 1, 1]]
    meta = json.loads(metadata.MetadataDisplayer.with_model_buffer(mesh).get_metadata_json())
    sub = meta["subgraph_metadata"][0]
    assert sub["input_tensor_metadata"][0]["process_units"][0]["options"] == {"mean": [0.0], "std": [255.0]}
    assert [t["name"] for t in sub["output_tensor_metadata"]] == ["landmarks", "face_flag"]
    mtime = path.stat().st_mtime_ns
    assert face_landmarker_task() == path and path.stat().st_mtime_ns == mtime  # cached, not rebuilt
    plain = face_landmarker_task(irises=False)
    assert plain != path and plain.parent == tmp_path


@pytest.mark.parametrize("irises", [True, False])
def test_landmarks_match_mediapipes_legacy_face_mesh(astronaut, irises):
    """The rewritten model in the Tasks graph gives what MediaPipe's own face mesh gives."""
    import mediapipe as mp

    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=irises) as legacy:
        ref = legacy.process(rgb).multi_face_landmarks[0].landmark
    h, w = astronaut.shape[:2]
    expected = np.array([[p.x * w, p.y * h] for p in ref])
    with FaceEstimator(FaceOptions(irises=irises)) as est:
        face = est.detect(astronaut)
    assert face.landmarks_px.shape == expected.shape == ((478, 2) if irises else (468, 2))
    assert face.has_irises == irises
    assert np.abs(face.landmarks_px - expected).max() < 0.05


def test_frontal_face_landmarks_sides_and_depth(faces, astronaut):
    face = faces.detect(astronaut)
    assert isinstance(face, Face)
    assert face.landmarks_px.dtype == np.float32 and face.depth_px.shape == (478,)
    assert face.image_size == (512, 512) and face.timestamp_ms is None
    p = face.named_points_px()
    # an unmirrored photo: the person's right eye appears on the image's left
    assert p["right_ear"][0] < p["right_eye"][0] < p["nose_bridge"][0] < p["left_eye"][0] < p["left_ear"][0]
    assert p["forehead"][1] < p["nose_bridge"][1] < p["nose_tip"][1] < p["chin"][1]
    assert max(p["left_eye"][1], p["right_eye"][1]) < p["nose_tip"][1]
    # iris centres sit inside their eye's corners
    for side, outer, inner in (("right", 33, 133), ("left", 263, 362)):
        xs = sorted([face.landmarks_px[outer][0], face.landmarks_px[inner][0]])
        assert xs[0] < face.eye_centre_px(side)[0] < xs[1], side
    # the nose tip is nearer the camera than the face's edges
    d = face.depth_px
    assert d[FacePoint.NOSE_TIP] < d[FacePoint.LEFT_FACE_EDGE] and d[FacePoint.NOSE_TIP] < d[FacePoint.RIGHT_FACE_EDGE]
    # the face lies where BlazePose puts its nose
    with PoseEstimator() as pe:
        nose = pe.detect(astronaut).keypoints_px[L.NOSE]
    assert np.linalg.norm(face.point_px(FacePoint.NOSE_TIP) - nose) < 10


def test_head_pose_of_a_frontal_face(faces, astronaut):
    face = faces.detect(astronaut)
    pose = face.head_pose
    assert pose is not None
    assert face.intrinsics == CameraIntrinsics.from_fov(512, 512, 60.0)
    assert abs(pose.yaw_deg) < 20 and abs(pose.roll_deg) < 15
    assert 0.3 < pose.translation_m[2] < 5.0
    # the face looks back along its viewing ray (within 30 degrees)
    ray = pose.translation_m / np.linalg.norm(pose.translation_m)
    assert float(pose.forward @ -ray) > np.cos(np.radians(30))
    assert np.allclose(pose.rotation @ pose.rotation.T, np.eye(3), atol=1e-9) and np.linalg.det(pose.rotation) > 0
    # the fitted canonical points project onto the detected ones
    reproj = project(pose.landmarks_cam_m(HEAD_POSE_POINTS), pose.intrinsics)
    err = np.linalg.norm(reproj - face.landmarks_px[list(HEAD_POSE_POINTS)], axis=1)
    assert np.median(err) < 6 and pose.rms_error_px < 8
    # the matrix form agrees with to_camera_m (centimetres in, metres out)
    pts = canonical_face_model_cm()[:5]
    homog = np.c_[pts, np.ones(5)] @ pose.matrix.T
    assert np.allclose(homog[:, :3], pose.to_camera_m(pts))


def test_head_pose_mirrors_with_the_photo(faces, astronaut):
    a = faces.detect(astronaut).head_pose
    b = faces.detect(_flipped(astronaut)).head_pose
    assert a.yaw_deg * b.yaw_deg < 0 and abs(a.yaw_deg + b.yaw_deg) < 4
    assert a.roll_deg * b.roll_deg < 0 and abs(a.roll_deg + b.roll_deg) < 4
    # as a whole: the flipped photo's head is the mirror image of the original's
    assert _rotation_angle_deg(b.rotation, FLIP @ a.rotation @ FLIP) < 6
    assert np.allclose(b.translation_m, FLIP @ a.translation_m, atol=0.05)


def test_turned_head_has_a_large_yaw_of_the_right_sign(faces, poses):
    """The cameraman looks into his camera, nose toward the image's right."""
    img = load_photo("cameraman")
    yaws = []
    for im in (img, _flipped(img)):
        face = faces.detect(im, roi=face_roi_px(poses.detect(im)))
        assert face is not None
        yaws.append(face.head_pose.yaw_deg)
    assert yaws[0] > 35 and yaws[1] < -35, yaws


def test_head_pose_of_a_synthetic_projection():
    """Project the canonical face with a known pose; the solver returns that pose."""
    K = CameraIntrinsics.from_fov(640, 480, 60.0)
    yaw = np.radians(25.0)
    turn = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    R = turn @ MODEL_TO_CAMERA.astype(np.float64)
    t = np.array([0.05, -0.02, 0.8])
    px = project(canonical_face_model_cm() * 0.01 @ R.T + t, K)
    pose = solve_head_pose(px, K)
    assert _rotation_angle_deg(pose.rotation, R) < 0.1 and np.allclose(pose.translation_m, t, atol=1e-4)
    assert pose.yaw_deg == pytest.approx(-25.0, abs=0.1)  # turn about camera y by +25: nose to -x
    assert pose.rms_error_px < 1e-3


def test_roi_crop_gives_the_same_landmarks(faces, astronaut):
    full = faces.detect(astronaut)
    x0, y0, x1, y1 = full.bbox_px()
    cx, cy, s = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
    for roi in (
        (cx - s, cy - s, cx + s, cy + s),  # inside the frame
        (cx - 1.5 * s, -150.0, cx + 1.5 * s, cy + s),  # hanging off the top: padded
    ):
        face = faces.detect(astronaut, roi=roi)
        assert face is not None and face.image_size == full.image_size
        err = np.linalg.norm(face.landmarks_px - full.landmarks_px, axis=1)
        assert np.median(err) < 1.5 and err.max() < 5, (roi, np.median(err), err.max())
        assert abs(face.head_pose.yaw_deg - full.head_pose.yaw_deg) < 3


def test_roi_from_the_pose_finds_small_faces(faces, poses):
    """In a whole-body photo the face is small; a ROI around the pose's head finds it."""
    img = load_photo("mediapipe_sitting")
    pose = poses.detect(img)
    face = faces.detect(img, roi=face_roi_px(pose))
    assert face is not None
    # BlazePose's face keypoints are coarse at this size: the mesh is near them, sides agreeing
    assert np.linalg.norm(face.point_px(FacePoint.NOSE_TIP) - pose.keypoints_px[L.NOSE]) < 15
    for side, same, other in (("left", L.LEFT_EYE, L.RIGHT_EYE), ("right", L.RIGHT_EYE, L.LEFT_EYE)):
        eye = face.eye_centre_px(side)
        near, far = (np.linalg.norm(eye - pose.keypoints_px[k]) for k in (same, other))
        assert near < 15 and near < far, side
    assert 0.3 < face.head_pose.translation_m[2] < 5.0


def test_no_face_gives_none(faces, astronaut):
    assert faces.detect(np.full((480, 640, 3), 127, np.uint8)) is None
    street = np.ascontiguousarray(load_photo("mediapipe_sitting")[:, :200])
    assert faces.detect(street) is None
    # ROIs that cannot hold a face: outside the frame, degenerate, not finite
    assert faces.detect(astronaut, roi=(600, 600, 700, 700)) is None
    assert faces.detect(astronaut, roi=(100, 100, 105, 300)) is None
    assert faces.detect(astronaut, roi=(np.nan, 0, 100, 100)) is None
    assert faces.detect(astronaut, roi=(300, 300, 512, 512)) is None  # the astronaut's suit


def test_bad_frames_and_options_are_refused(faces):
    with pytest.raises(ValueError):
        faces.detect(np.zeros((480, 640), np.float32))
    with pytest.raises(ValueError):
        faces.detect(np.zeros((480, 640, 3), np.uint8), roi=(0, 0, 10))
    with pytest.raises(ValueError):
        FaceOptions(max_faces=0)
    with pytest.raises(ValueError):
        FaceOptions(min_detection_confidence=1.5)


def test_crop_roi_pads_and_offsets():
    frame = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    crop, offset = crop_roi(frame, (-5.5, 2.2, 25.0, 40.0))
    assert offset == (-6, 2) and crop.shape == (38, 31, 3)
    assert np.array_equal(crop[0:18, 6:31], frame[2:20, 0:25]) and not crop[:, :6].any()
    assert crop_roi(frame, None)[1] == (0, 0)


def test_video_mode_tracks_and_survives_repeated_timestamps(astronaut):
    with FaceEstimator() as est:
        still = est.detect(astronaut)
        a = est.detect_for_video(astronaut, 1000)
        b = est.detect_for_video(astronaut, 1000)  # not increasing: bumped, not an error
        c = est.detect_for_video(astronaut, 500)
        assert a is not None and b is not None and c is not None and a.timestamp_ms == 1000
        assert np.abs(c.landmarks_px - still.landmarks_px).max() < 5
        est.reset_stream()
        assert est.detect_for_video(astronaut, 0) is not None
        est.close()
        est.close()  # idempotent
        with pytest.raises(RuntimeError):
            est.detect(astronaut)


def test_estimator_intrinsics_follow_the_frame_size(astronaut):
    K = CameraIntrinsics.from_fov(1024, 1024, 40.0)
    with FaceEstimator(intrinsics=K) as est:
        face = est.detect(astronaut)
    assert face.intrinsics == K.scaled_to(512, 512)
    assert face.intrinsics.hfov_deg == pytest.approx(40.0)
