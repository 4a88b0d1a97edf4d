import numpy as np
import pytest

from tryon.frames import (
    MODEL_TO_CAMERA,
    CameraIntrinsics,
    backproject,
    gl_projection,
    linearize_depth,
    project,
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
