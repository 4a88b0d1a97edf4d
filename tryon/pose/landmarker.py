"""BlazePose (Full, 33 keypoints) through the MediaPipe Tasks API, fully offline.

``PoseEstimator.detect(frame_bgr)`` for still images, ``detect_for_video(frame_bgr,
timestamp_ms)`` for streams (tracking between frames). Either returns the main
shopper's :class:`~tryon.pose.types.Pose`, or ``None`` when nobody is there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.frames import normalized_to_px
from tryon.pose.bundle import pose_landmarker_task
from tryon.pose.tasks import TaskRunner, mp_image
from tryon.pose.types import Pose, segmentation_size

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoseOptions:
    """Options of the pose stage.

    num_poses : how many people the stream's tracker looks for each frame. BlazePose is a
        one-person model; 1 is fastest (a second person costs about half a frame more). Stills
        always look for up to ``STILL_NUM_POSES`` and keep the main shopper.
    shopper_check_ms : in a stream, how often (and on every new track) a still-image pass
        looks for everybody in view; when there are several, the tracker is kept on the main
        shopper by hiding the rest of the frame from it. 0 turns this off.
    min_detection_confidence, min_presence_confidence, min_tracking_confidence :
        MediaPipe's thresholds in [0, 1].
    segmentation : also produce the person mask (needed for occlusion).
    """

    num_poses: int = 1
    shopper_check_ms: float = 2000.0
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    segmentation: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.num_poses <= 5:
            raise ValueError(f"num_poses must be between 1 and 5, got {self.num_poses}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


#: People a still image (and a stream's shopper check) looks for.
STILL_NUM_POSES = 3


def select_main_shopper(poses: list[Pose], previous: Pose | None = None) -> Pose | None:
    """The person the mirror follows: the largest, most central one, held across frames.

    Score = bounding-box area (share of the frame) x centrality, with a strong bonus for
    overlapping the previous frame's shopper so a passer-by does not steal the track.
    """
    if not poses:
        return None
    if len(poses) == 1:
        return poses[0]

    def score(p: Pose) -> float:
        w, h = p.image_size
        x0, y0, x1, y1 = p.bbox_px()
        area = max(x1 - x0, 1.0) * max(y1 - y0, 1.0) / (w * h)
        cx = 0.5 * (x0 + x1) / w
        centrality = 1.0 - min(abs(cx - 0.5) * 2.0, 1.0) * 0.5
        s = area * centrality
        if previous is not None:
            s += 2.0 * _bbox_iou(p.bbox_px(), previous.bbox_px())
        return s

    return max(poses, key=score)


def _bbox_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class PoseEstimator:
    """BlazePose Full from the installed wheel. Not thread-safe per mode; ``close()`` is idempotent."""

    def __init__(self, options: PoseOptions | None = None) -> None:
        self.options = options or PoseOptions()
        self._runner = TaskRunner("PoseEstimator", self._create, warm_when=lambda r: bool(r.pose_landmarks))
        self._previous: Pose | None = None
        self._focus: tuple[float, float, float, float] | None = None  # the shopper's region (others in view)
        self._last_check_ms: float | None = None

    def _create(self, video: bool):
        from mediapipe.tasks.python import BaseOptions, vision

        o = self.options
        opts = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(pose_landmarker_task())),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=o.num_poses if video else max(o.num_poses, STILL_NUM_POSES),
            min_pose_detection_confidence=o.min_detection_confidence,
            min_pose_presence_confidence=o.min_presence_confidence,
            min_tracking_confidence=o.min_tracking_confidence,
            output_segmentation_masks=o.segmentation,
        )
        return vision.PoseLandmarker.create_from_options(opts)

    def detect_all(self, frame_bgr: np.ndarray, timestamp_ms: int | None = None) -> list[Pose]:
        """Every person found (at most ``num_poses``), image mode when ``timestamp_ms`` is None."""
        h, w = frame_bgr.shape[:2]
        result = self._runner.run(mp_image(frame_bgr), timestamp_ms)
        return [_to_pose(result, i, w, h, timestamp_ms) for i in range(len(result.pose_landmarks))]

    def detect(self, frame_bgr: np.ndarray) -> Pose | None:
        """A still image: the main shopper, or None."""
        return select_main_shopper(self.detect_all(frame_bgr))

    def detect_for_video(self, frame_bgr: np.ndarray, timestamp_ms: int) -> Pose | None:
        """One frame of a stream (timestamps in ms, increasing): the main shopper, or None.

        When a shopper check (see ``PoseOptions.shopper_check_ms``) finds several people, the
        tracker sees only the main shopper's region (the rest filled grey), so it neither
        starts on nor drifts to a passer-by; the region follows the shopper."""
        o = self.options
        due = self._last_check_ms is None or timestamp_ms - self._last_check_ms >= o.shopper_check_ms
        if o.shopper_check_ms > 0 and (self._previous is None or due):
            self._last_check_ms = float(timestamp_ms)
            people = self.detect_all(frame_bgr)
            main = select_main_shopper(people, self._previous)
            self._focus = _focus_region(main) if len(people) > 1 and main is not None else None
        shown = frame_bgr if self._focus is None else _only_region(frame_bgr, self._focus)
        pose = select_main_shopper(self.detect_all(shown, timestamp_ms), self._previous)
        if pose is not None and self._focus is not None:
            self._focus = _focus_region(pose)
        self._previous = pose
        return pose

    def reset_stream(self) -> None:
        """Forget the stream (a new clip or camera): the next video frame starts afresh."""
        self._runner.reset_stream()
        self._previous = None
        self._focus = None
        self._last_check_ms = None

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _focus_region(pose: Pose, grow: float = 0.35) -> tuple[float, float, float, float]:
    """The shopper's keypoint box grown by ``grow`` of its size each way (image px): room to
    move between frames, and for the hands and hair the keypoints do not reach."""
    x0, y0, x1, y1 = pose.bbox_px()
    gx, gy = grow * (x1 - x0) + 20.0, grow * (y1 - y0) + 20.0
    return x0 - gx, y0 - gy, x1 + gx, y1 + gy


def _only_region(frame_bgr: np.ndarray, region: tuple[float, float, float, float]) -> np.ndarray:
    """The frame with everything outside ``region`` filled with mid-grey (a copy)."""
    h, w = frame_bgr.shape[:2]
    x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
    x1, y1 = min(w, int(np.ceil(region[2]))), min(h, int(np.ceil(region[3])))
    out = np.full_like(frame_bgr, 128)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = frame_bgr[y0:y1, x0:x1]
    return out


def _to_pose(result, i: int, w: int, h: int, timestamp_ms: int | None) -> Pose:
    lms = result.pose_landmarks[i]
    norm = np.array([[p.x, p.y, p.z] for p in lms], dtype=np.float32)
    vis = np.array([p.visibility if p.visibility is not None else 0.0 for p in lms], dtype=np.float32)
    pres = np.array([p.presence if p.presence is not None else 0.0 for p in lms], dtype=np.float32)
    world = np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks[i]], dtype=np.float32)
    seg = None
    if result.segmentation_masks:
        # Resample out of MediaPipe's buffer (its view dies with the result) straight to the
        # working resolution: the model computes the mask at 256 x 256 anyway.
        view = result.segmentation_masks[i].numpy_view()
        if view.ndim == 3:
            view = view[..., 0]
        sw, sh = segmentation_size(w, h)
        seg = cv2.resize(np.asarray(view, dtype=np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    return Pose(
        keypoints_px=normalized_to_px(norm, w, h),
        depth_px=norm[:, 2] * np.float32(w),
        visibility=np.clip(vis, 0.0, 1.0),
        presence=np.clip(pres, 0.0, 1.0),
        world_m=world,
        segmentation=seg,
        image_size=(w, h),
        timestamp_ms=None if timestamp_ms is None else int(timestamp_ms),
    )
