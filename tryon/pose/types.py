"""The ``Pose`` value: what the pose stage hands to every later stage."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import cv2
import numpy as np

from tryon.pose.landmarks import NUM_LANDMARKS

#: Longest side of the working-resolution segmentation kept in a Pose.
SEGMENTATION_MAX_SIDE = 512


def segmentation_size(width: int, height: int) -> tuple[int, int]:
    """(w, h) of the working-resolution segmentation for a frame of ``width`` x ``height``."""
    scale = min(1.0, SEGMENTATION_MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class Pose:
    """One person's BlazePose result for one frame.

    keypoints_px : (33, 2) float32, image px (see :mod:`tryon.frames`).
    depth_px : (33,) float32, BlazePose's per-point depth relative to the hip midpoint,
        on the same scale as ``u`` (px); smaller is nearer the camera. Coarse: use
        ``world_m`` for 3D.
    visibility : (33,) float32 in [0, 1], likelihood the point is visible (not occluded).
    presence : (33,) float32 in [0, 1], likelihood the point is in the frame at all.
    world_m : (33, 3) float32, world metres (hip-centred, camera-aligned axes).
    segmentation : (h, w) float32 in [0, 1] or None, the person segmentation (1 = person)
        at working resolution: the frame's aspect ratio, longest side at most
        ``SEGMENTATION_MAX_SIDE`` (BlazePose computes it at 256 x 256 anyway). ``mask``
        gives it at the frame's size.
    image_size : (width, height) of the frame in px.
    timestamp_ms : the stream timestamp, or None for a still image.
    """

    keypoints_px: np.ndarray
    depth_px: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_m: np.ndarray
    segmentation: np.ndarray | None
    image_size: tuple[int, int]
    timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        shapes = {
            "keypoints_px": (NUM_LANDMARKS, 2),
            "depth_px": (NUM_LANDMARKS,),
            "visibility": (NUM_LANDMARKS,),
            "presence": (NUM_LANDMARKS,),
            "world_m": (NUM_LANDMARKS, 3),
        }
        for name, shape in shapes.items():
            value = getattr(self, name)
            if value.shape != shape:
                raise ValueError(f"Pose.{name} must have shape {shape}, got {value.shape}")
        w, h = self.image_size
        seg = self.segmentation
        if seg is not None:
            if seg.ndim != 2 or seg.dtype != np.float32:
                raise ValueError(f"Pose.segmentation must be (h, w) float32, got {seg.shape} {seg.dtype}")
            if abs(seg.shape[1] / seg.shape[0] - w / h) > 0.02 * (w / h) + 1.0 / seg.shape[0]:
                raise ValueError(f"Pose.segmentation {seg.shape} does not have the frame's aspect ratio ({w}x{h})")

    @functools.cached_property
    def mask(self) -> np.ndarray | None:
        """(H, W) float32 in [0, 1]: the person segmentation at the frame's size (or None)."""
        seg = self.segmentation
        if seg is None:
            return None
        w, h = self.image_size
        if seg.shape == (h, w):
            return seg
        return cv2.resize(seg, (w, h), interpolation=cv2.INTER_LINEAR)

    @property
    def width(self) -> int:
        return self.image_size[0]

    @property
    def height(self) -> int:
        return self.image_size[1]

    def in_frame(self, margin_px: float = 0.0) -> np.ndarray:
        """(33,) bool: keypoint lies inside the image, shrunk by ``margin_px`` on each side."""
        u, v = self.keypoints_px[:, 0], self.keypoints_px[:, 1]
        w, h = self.image_size
        return (u >= margin_px) & (u <= w - margin_px) & (v >= margin_px) & (v <= h - margin_px)

    def reliable(self, min_visibility: float = 0.5, margin_px: float = 0.0) -> np.ndarray:
        """(33,) bool: visible enough, present, and inside the frame."""
        return (self.visibility >= min_visibility) & (self.presence >= 0.5) & self.in_frame(margin_px)

    def bbox_px(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the keypoints that are present, clipped to the image."""
        pts = self.keypoints_px[self.presence >= 0.5]
        if len(pts) == 0:
            pts = self.keypoints_px
        w, h = self.image_size
        x0, y0 = np.clip(pts.min(0), 0, [w, h])
        x1, y1 = np.clip(pts.max(0), 0, [w, h])
        return float(x0), float(y0), float(x1), float(y1)

    def with_arrays(self, **changes) -> Pose:
        """A copy with some fields replaced (used by the filters); derived views are recomputed."""
        return replace(self, **changes)
