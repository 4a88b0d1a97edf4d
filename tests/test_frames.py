import numpy as np
import pytest

from tryon.frames import (
    CM_TO_M,
    GL_FAR_M,
    GL_NEAR_M,
    MODEL_TO_CAMERA,
    CameraIntrinsics,
    Side,
    backproject,
    gl_projection,
    linearize_depth,
    normalized_to_px,
    project,
    px_scale,
    px_to_index,
)


def test_project_backproject_roundtrip():
    K = CameraIntrinsics.from_fov(640, 480, 60)
    pts = np.array([[0.1, -0.2, 2.0], [-0.5, 0.3, 4.0], [0.0, 0.0, 1.0]])
    px = project(pts, K)
    assert np.allclose(px[2], [320, 240])
    assert np.allclose(backproject(px, pts[:, 2], K), pts)


def test_fov_and_scaling():
    K = CameraIntrinsics.from_fov(640, 480, 60)
    assert K.hfov_deg == pytest.approx(60)
    K2 = K.scaled_to(1280, 960)
    assert K2.fx == pytest.approx(2 * K.fx) and K2.cx == pytest.approx(640)
    with pytest.raises(ValueError):
        CameraIntrinsics.from_fov(640, 480, 0.5)
    with pytest.raises(ValueError):
        CameraIntrinsics(0, 1, 0, 0, 10, 10)


def test_gl_projection_keeps_image_rows_top_first():
    """A point projecting to image row v lands at NDC y = 2 v / H - 1: framebuffer row v."""
    K = CameraIntrinsics(500, 500, 300, 200, 640, 480)
    P = gl_projection(K, 0.1, 10)
    pts = np.array([[0.3, -0.4, 2.0], [-0.2, 0.25, 3.5]])
    clip = np.c_[pts, np.ones(2)] @ P.T
    ndc = clip[:, :3] / clip[:, 3:]
    px = project(pts, K)
    assert np.allclose((ndc[:, 0] + 1) / 2 * 640, px[:, 0], atol=1e-3)
    assert np.allclose((ndc[:, 1] + 1) / 2 * 480, px[:, 1], atol=1e-3)
    depth01 = (ndc[:, 2] + 1) / 2
    assert np.allclose(linearize_depth(depth01, 0.1, 10), pts[:, 2], rtol=1e-4)


def test_model_to_camera_is_a_rotation():
    assert np.isclose(np.linalg.det(MODEL_TO_CAMERA), 1.0)
    # model up (+y) is camera up (-y); model front (+z) faces the camera (-z)
    assert np.allclose(MODEL_TO_CAMERA @ [0, 1, 0], [0, -1, 0])
    assert np.allclose(MODEL_TO_CAMERA @ [0, 0, 1], [0, 0, -1])


def test_normalized_to_px_with_a_crop_offset():
    norm = np.array([[0.0, 0.0, 0.3], [1.0, 1.0, -0.1], [0.25, 0.5, 0.0]], np.float32)
    px = normalized_to_px(norm, 200, 100)
    assert px.dtype == np.float32 and px.shape == (3, 2)
    assert np.allclose(px, [[0, 0], [200, 100], [50, 50]])
    # a model run on a 200 x 100 crop whose corner is at (30, 40) in the frame
    assert np.allclose(normalized_to_px(norm, 200, 100, (30, 40)), px + [30, 40])


def test_px_rescaling_between_resolutions():
    assert px_scale((640, 480), (256, 192)) == (0.4, 0.4)
    pts = np.array([[0.0, 0.0], [639.9, 479.9], [320.0, 240.0], [-5.0, 900.0]])
    rows, cols = px_to_index(pts, (640, 480), (192, 256))
    assert rows.tolist() == [0, 191, 96, 191] and cols.tolist() == [0, 255, 128, 0]
    # a 3-channel image's shape works too: only (height, width) count
    rows3, cols3 = px_to_index(pts, (640, 480), (192, 256, 3))
    assert np.array_equal(rows3, rows) and np.array_equal(cols3, cols)


def test_gl_near_and_far_planes_are_one_pair():
    K = CameraIntrinsics.from_fov(64, 48)
    P = gl_projection(K)
    for z in (GL_NEAR_M, 1.0, GL_FAR_M):
        clip = P @ np.array([0.0, 0.0, z, 1.0])
        depth01 = 0.5 * (clip[2] / clip[3]) + 0.5
        assert linearize_depth(np.array([depth01]))[0] == pytest.approx(z, rel=1e-3)
    assert CM_TO_M * 250 == pytest.approx(2.5)


def test_side_reads_both_spellings():
    assert Side.of("left") is Side.LEFT and Side.of("L") is Side.LEFT and Side.of("wrist.L") is Side.LEFT
    assert Side.of("Right") is Side.RIGHT and Side.of("r") is Side.RIGHT and Side.of(Side.RIGHT) is Side.RIGHT
    assert Side.LEFT.letter == "L" and Side.RIGHT.letter == "R" and Side.LEFT.other is Side.RIGHT
    assert Side.LEFT == "left" and {"left": 1}[Side.LEFT] == 1 and {Side.RIGHT: 2}["right"] == 2
    assert f"upperarm01.{Side.RIGHT.letter}" == "upperarm01.R" and str(Side.LEFT) == "left"
    with pytest.raises(ValueError, match="not a side"):
        Side.of("middle")


def test_vertex_normals_one_implementation():
    from tryon.body import mannequin
    from tryon.geometry import vertex_normals

    assert mannequin.vertex_normals is vertex_normals
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]], np.float64)  # vertex 3 on no face
    faces = np.array([[0, 1, 2]])
    n = vertex_normals(pos, faces)
    assert n.dtype == np.float32 and np.allclose(n[:3], [0, 0, 1]) and np.allclose(n[3], [0, 0, 1])
    assert vertex_normals(pos, faces, np.float64).dtype == np.float64
    tilted = vertex_normals(pos[[0, 2, 1]], faces)  # the other winding points the other way
    assert np.allclose(tilted[:3], [0, 0, -1])
