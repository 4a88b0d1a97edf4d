"""Coordinate frames and camera intrinsics: the one place that defines and converts them.

Every array in tryon lives in one of these frames; names carry the frame suffix.

``image px`` (``*_px``)
    Continuous pixel coordinates of the camera frame. Origin at the top-left corner of
    the top-left pixel, ``u`` to the right, ``v`` down; the centre of pixel ``(row i,
    col j)`` is ``(j + 0.5, i + 0.5)``. MediaPipe's normalized ``(x, y)`` map to
    ``(x * width, y * height)``.

``normalized``
    MediaPipe's image coordinates divided by the image size, in [0, 1].

``camera m`` (``*_cam_m``)
    The OpenCV pinhole camera, metres: ``x`` right, ``y`` down, ``z`` forward (away
    from the camera, into the scene). A point projects to
    ``u = fx * x / z + cx``, ``v = fy * y / z + cy``.

``world m`` (``*_world_m``)
    MediaPipe's world landmarks: metres, origin midway between the hips, axes aligned
    with the camera's (x right, y down, z away from the camera). World differs from
    camera by a translation the pose model does not know; the rig solver finds it.

``model m`` (``*_model_m``)
    The mannequin's and every catalog item's bind frame: metres, ``y`` up, ``+z`` the
    direction the mannequin faces, ``+x`` the mannequin's own left (glTF's convention).
    A mannequin facing the camera maps to camera axes by :data:`MODEL_TO_CAMERA`.

``GL clip``
    :func:`gl_projection` maps camera metres straight to clip space so that image row
    ``v = 0`` lands on framebuffer row 0. A framebuffer read back with ``glReadPixels``
    is therefore already top-row-first, like a camera image: the vertical flip happens
    once, in the projection matrix, and nowhere else. Triangles that face the camera
    wind clockwise in window space, so the renderer sets ``front_face = "cw"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

#: Rotation taking model axes (y up, z toward the viewer) to camera axes (y down,
#: z away) for a mannequin that faces the camera: x stays, y and z flip.
MODEL_TO_CAMERA = np.diag([1.0, -1.0, -1.0]).astype(np.float32)

#: MakeHuman assets are in decimetres.
MAKEHUMAN_UNIT_M = 0.1

#: Centimetres to metres (MediaPipe's canonical face model, size charts).
CM_TO_M = 0.01

#: The GL depth range every render uses, camera z in metres: nearer than ``GL_NEAR_M`` is
#: clipped (the renderer refuses such geometry), farther than ``GL_FAR_M`` too.
GL_NEAR_M = 0.05
GL_FAR_M = 50.0

#: Horizontal field of view assumed when the camera's own is unknown (a typical webcam).
DEFAULT_HFOV_DEG = 60.0


@dataclass(frozen=True)
class CameraIntrinsics:
    """A pinhole camera without distortion, in image px.

    ``fx, fy`` focal lengths and ``cx, cy`` principal point, in pixels of an image
    ``width`` x ``height``.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, horizontal FOV in degrees."""
        if not 1.0 < hfov_deg < 179.0:
            raise ValueError(f"horizontal field of view must be in (1, 179) degrees, got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0, int(width), int(height))

    @property
    def matrix(self) -> np.ndarray:
        """K : (3, 3) float64, the OpenCV camera matrix."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))

    def scaled_to(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera for a resized image (the whole frame, resampled)."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, int(width), int(height))


def project(points_cam_m: np.ndarray, K: CameraIntrinsics) -> np.ndarray:
    """Camera metres (..., 3) -> image px (..., 2). Points at or behind z = 0 give inf/nan."""
    p = np.asarray(points_cam_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K.fx * p[..., 0] / p[..., 2] + K.cx
        v = K.fy * p[..., 1] / p[..., 2] + K.cy
    return np.stack([u, v], axis=-1)


def pixel_rays(points_px: np.ndarray, K: CameraIntrinsics) -> np.ndarray:
    """Image px (..., 2) -> rays (..., 3) in camera space with z = 1 (not unit length)."""
    p = np.asarray(points_px, dtype=np.float64)
    x = (p[..., 0] - K.cx) / K.fx
    y = (p[..., 1] - K.cy) / K.fy
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def backproject(points_px: np.ndarray, depth_m: np.ndarray, K: CameraIntrinsics) -> np.ndarray:
    """Image px (..., 2) and camera z in metres (...) -> camera metres (..., 3)."""
    return pixel_rays(points_px, K) * np.asarray(depth_m, dtype=np.float64)[..., None]


def normalized_to_px(
    points_norm: np.ndarray, width: int, height: int, offset_px: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """MediaPipe normalized (..., 2) of a ``width`` x ``height`` image -> image px (..., 2) float32.

    ``offset_px``: where that image's top-left corner lies in the frame, px (a model run on a
    crop of the frame at ``(x0, y0)``); the result is then in the frame's px.
    """
    p = np.asarray(points_norm, dtype=np.float32)[..., :2]
    return p * np.array([width, height], dtype=np.float32) + np.array(offset_px, dtype=np.float32)


def px_scale(from_size: tuple[int, int], to_size: tuple[int, int]) -> tuple[float, float]:
    """``(sx, sy)`` taking px of an image ``from_size = (width, height)`` to px of the same view
    resampled to ``to_size`` (the frame to a mask, a mask to the frame): ``u_to = u_from * sx``."""
    return to_size[0] / from_size[0], to_size[1] / from_size[1]


def px_to_index(points_px: np.ndarray, from_size: tuple[int, int], to_shape: tuple[int, ...]) -> tuple:
    """Image px (N, 2) of an image ``from_size = (width, height)`` -> ``(rows, cols)`` int
    indices into an array of ``to_shape = (height, width, ...)`` showing the same view at
    another resolution (a mask, a smaller copy), truncated and clipped to the array."""
    th, tw = to_shape[0], to_shape[1]
    sx, sy = px_scale(from_size, (tw, th))
    p = np.asarray(points_px)
    cols = np.clip((p[:, 0] * sx).astype(int), 0, tw - 1)
    rows = np.clip((p[:, 1] * sy).astype(int), 0, th - 1)
    return rows, cols


class Side(str, Enum):
    """A side of the person (the person's own left or right, not the image's). Its value is the
    spelling MediaPipe, the details and the categories use (``"left"``); :attr:`letter` is the
    rig's bone suffix (``"L"``, as in ``upperarm01.L``). :meth:`of` reads either spelling."""

    LEFT = "left"
    RIGHT = "right"

    __hash__ = str.__hash__  # a dict keyed by "left" finds Side.LEFT and the other way round
    __str__ = str.__str__

    @property
    def letter(self) -> str:
        return "L" if self is Side.LEFT else "R"

    @property
    def other(self) -> Side:
        return Side.RIGHT if self is Side.LEFT else Side.LEFT

    @property
    def sign(self) -> float:
        """+1 for the left (the model frame's +x), -1 for the right."""
        return 1.0 if self is Side.LEFT else -1.0

    @classmethod
    def of(cls, name: str | Side) -> Side:
        """``"left"``/``"L"``/``"l"`` (any case) -> LEFT, likewise RIGHT; a bone name such as
        ``"wrist.L"`` reads its suffix. Anything else raises ValueError."""
        if isinstance(name, Side):
            return name
        key = str(name).rsplit(".", 1)[-1].strip().lower()
        if key in ("left", "l"):
            return cls.LEFT
        if key in ("right", "r"):
            return cls.RIGHT
        raise ValueError(f"not a side: {name!r} (use 'left'/'right' or 'L'/'R')")


def gl_projection(K: CameraIntrinsics, near_m: float = GL_NEAR_M, far_m: float = GL_FAR_M) -> np.ndarray:
    """(4, 4) float32 projection from camera metres to GL clip space, row-major maths.

    Keeps OpenCV's y-down so that framebuffer row 0 is image row 0 (see the module
    docstring). Depth: camera z = near_m maps to NDC -1, far_m to +1.
    Upload to GLSL with ``.T`` (GLSL matrices are column-major).
    """
    w, h, n, f = K.width, K.height, near_m, far_m
    return np.array(
        [
            [2 * K.fx / w, 0.0, 2 * K.cx / w - 1.0, 0.0],
            [0.0, 2 * K.fy / h, 2 * K.cy / h - 1.0, 0.0],
            [0.0, 0.0, (f + n) / (f - n), -2 * f * n / (f - n)],
            [0.0, 0.0, 1.0, 0.0],
        ],
        dtype=np.float32,
    )


def linearize_depth(depth01: np.ndarray, near_m: float = GL_NEAR_M, far_m: float = GL_FAR_M) -> np.ndarray:
    """GL depth-buffer values in [0, 1] (from :func:`gl_projection`) -> camera z in metres.

    Cleared pixels (depth 1.0) come back as ``far_m``.
    """
    d = np.asarray(depth01, dtype=np.float64)
    n, f = near_m, far_m
    z_ndc = 2.0 * d - 1.0
    return (2.0 * f * n / ((f + n) - z_ndc * (f - n))).astype(np.float32)


# -- Resampled images (the tracking stage's working images) ---------------------------------
# An image resized by ``scale`` (cv2.resize, whole frame) keeps the corner-origin convention:
# image px ``u`` lands at ``u * scale``. OpenCV's point functions (feature detection, optical
# flow) index pixels by their centres instead, so their coordinates are half a pixel less.


def px_to_scaled_cv(points_px: np.ndarray, scale_xy: np.ndarray) -> np.ndarray:
    """Image px (..., 2) -> OpenCV point coordinates (pixel centres at integers) in the image
    resized by ``scale_xy`` ((2,): resized px per frame px along u and v); float32 for OpenCV."""
    return (np.asarray(points_px, dtype=np.float64) * scale_xy - 0.5).astype(np.float32)


def scaled_cv_to_px(points_cv: np.ndarray, scale_xy: np.ndarray) -> np.ndarray:
    """OpenCV point coordinates (..., 2) in an image resized by ``scale_xy`` -> image px of the
    full frame (float64)."""
    return (np.asarray(points_cv, dtype=np.float64) + 0.5) / scale_xy


def scaled_size(width: int, height: int, max_side: int) -> tuple[tuple[int, int], np.ndarray]:
    """((w, h), scale_xy): the size of a frame resized so that its longest side is at most
    ``max_side`` px (never enlarged), and the exact scale along u and v ((2,), resized px per
    frame px; rounding the size makes them differ slightly)."""
    s = min(1.0, max_side / max(width, height))
    w, h = max(1, round(width * s)), max(1, round(height * s))
    return (w, h), np.array([w / width, h / height])
