"""Hand landmarks (MediaPipe hands, 21 points a hand), fully offline.

``HandEstimator.detect(frame_bgr, roi=None)`` for stills, ``detect_for_video(frame_bgr,
timestamp_ms, roi=None)`` for streams (hands are tracked between frames; the palm detector runs
while fewer than ``max_hands`` are tracked). Either returns a list of :class:`Hand`, empty when
there is none. Used to place rings and watches.

The model is the Tasks ``HandLandmarker`` on a bundle of the wheel's palm detector and hand
landmark model, both "full" (:func:`tryon.pose.bundle.hand_landmarker_task`), the same two models
as Google's ``hand_landmarker.task``.

**Handedness.** :attr:`Hand.handedness` is the person's own side, like BlazePose's ``left`` /
``right``, for an unmirrored camera frame (the engine's input; ``EngineOptions.mirror`` flips
only the display). MediaPipe documents its hand label as assuming a mirrored selfie image, and
the legacy ``mp.solutions.hands`` of 0.10.21 behaves so: on an unmirrored photo it calls the
person's right hand "Left". The Tasks ``HandLandmarker`` of 0.10.21, which we use, already
reports the opposite label, which *is* the person's side on an unmirrored frame: checked on the
test photos against BlazePose's wrists (``tests/pose/test_hands.py`` holds it). So "Left" ->
``"left"``, "Right" -> ``"right"`` (:data:`PERSON_SIDE_OF_LABEL`); for a mirrored (selfie)
frame, swap the sides.

**ROI.** ``roi=(x0, y0, x1, y1)`` in image px: the estimator runs on that crop (padded with
black outside the frame) and maps the hands back to full-frame px. A hand that is small in the
frame then fills the palm detector's 192 x 192 input, so it is found; :func:`hand_roi_px` makes
one from a BlazePose :class:`~tryon.pose.types.Pose`. In video mode the tracker works in the
crop's coordinates: use one estimator per ROI stream (e.g. one per hand, ``max_hands=1``) and
move the ROI smoothly.

**Speed** (2-core AMD EPYC shared with other jobs, 640 x 480 frame, median ms per call):
``detect`` with no hand 12 (the palm detector), one hand 25, two hands 31 (the landmark model,
about 10 a hand, on top of the detector). ``detect_for_video`` skips the detector while
``max_hands`` hands are tracked: one hand 10 (``max_hands=1``), two hands 22; but with
``max_hands=2`` and one hand in view the detector runs every frame (about 31). The legacy
``mp.solutions.hands`` measured the same (21.5 / 10.1), and the wheel's "lite" palm detector is
no faster here (11.7) and misses hands, so the bundle holds the two "full" models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from tryon.frames import normalized_to_px
from tryon.pose.bundle import hand_landmarker_task
from tryon.pose.face import check_frame, crop_roi
from tryon.pose.landmarks import L
from tryon.pose.tasks import TaskRunner, mp_image
from tryon.pose.types import Pose

NUM_HAND_LANDMARKS = 21


class HandLandmark(IntEnum):
    """The 21 hand landmark indices (MediaPipe's order and names)."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_FINGER_MCP = 5
    INDEX_FINGER_PIP = 6
    INDEX_FINGER_DIP = 7
    INDEX_FINGER_TIP = 8
    MIDDLE_FINGER_MCP = 9
    MIDDLE_FINGER_PIP = 10
    MIDDLE_FINGER_DIP = 11
    MIDDLE_FINGER_TIP = 12
    RING_FINGER_MCP = 13
    RING_FINGER_PIP = 14
    RING_FINGER_DIP = 15
    RING_FINGER_TIP = 16
    PINKY_MCP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


H = HandLandmark

#: Each finger's 4 landmarks, base (knuckle) to tip.
FINGERS: dict[str, tuple[HandLandmark, ...]] = {
    "thumb": (H.THUMB_CMC, H.THUMB_MCP, H.THUMB_IP, H.THUMB_TIP),
    "index": (H.INDEX_FINGER_MCP, H.INDEX_FINGER_PIP, H.INDEX_FINGER_DIP, H.INDEX_FINGER_TIP),
    "middle": (H.MIDDLE_FINGER_MCP, H.MIDDLE_FINGER_PIP, H.MIDDLE_FINGER_DIP, H.MIDDLE_FINGER_TIP),
    "ring": (H.RING_FINGER_MCP, H.RING_FINGER_PIP, H.RING_FINGER_DIP, H.RING_FINGER_TIP),
    "pinky": (H.PINKY_MCP, H.PINKY_PIP, H.PINKY_DIP, H.PINKY_TIP),
}

#: MediaPipe Tasks' hand label -> the person's side, for an unmirrored frame (module docstring).
PERSON_SIDE_OF_LABEL = {"Left": "left", "Right": "right"}


@dataclass(frozen=True)
class HandOptions:
    """Options of the hand stage.

    max_hands : how many hands the model looks for.
    min_detection_confidence, min_presence_confidence, min_tracking_confidence : MediaPipe's
        thresholds in [0, 1] (palm detector score; landmark model's hand flag; and the flag
        below which a tracked hand is re-detected in video mode).
    """

    max_hands: int = 2
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.max_hands <= 10:
            raise ValueError(f"max_hands must be between 1 and 10, got {self.max_hands}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class Hand:
    """One hand in one frame.

    landmarks_px : (21, 2) float32, image px of the whole frame (:mod:`tryon.frames`), in
        :class:`HandLandmark` order.
    depth_px : (21,) float32, MediaPipe's depth relative to the wrist, on roughly the scale of
        ``u`` (px); smaller is nearer the camera. Coarse; ``world_m`` is the 3D shape.
    world_m : (21, 3) float32, metres, origin at the hand's approximate geometric centre, axes
        aligned with the camera's (x right, y down, z away): the hand's metric shape.
    handedness : ``"left"`` or ``"right"``, the person's own hand (module docstring).
    score : confidence of ``handedness``, in [0.5, 1].
    image_size : (width, height) of the frame in px.
    timestamp_ms : the stream timestamp, or None for a still image.
    """

    landmarks_px: np.ndarray
    depth_px: np.ndarray
    world_m: np.ndarray
    handedness: str
    score: float
    image_size: tuple[int, int]
    timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        shapes = {
            "landmarks_px": (NUM_HAND_LANDMARKS, 2),
            "depth_px": (NUM_HAND_LANDMARKS,),
            "world_m": (NUM_HAND_LANDMARKS, 3),
        }
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"Hand.{name} must have shape {shape}, got {getattr(self, name).shape}")
        if self.handedness not in ("left", "right"):
            raise ValueError(f"Hand.handedness must be 'left' or 'right', got {self.handedness!r}")

    def point_px(self, point: HandLandmark | int) -> np.ndarray:
        """(2,) float32 image px of one landmark."""
        return self.landmarks_px[int(point)]

    def finger_px(self, finger: str) -> np.ndarray:
        """(4, 2) float32 image px of a finger (``FINGERS`` key), knuckle to tip."""
        return self.landmarks_px[list(FINGERS[finger])]

    def bbox_px(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the landmarks (not clipped to the frame)."""
        x0, y0 = self.landmarks_px.min(axis=0)
        x1, y1 = self.landmarks_px.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def hand_roi_px(
    pose: Pose, side: str, scale: float = 2.2, min_visibility: float = 0.3
) -> tuple[float, float, float, float] | None:
    """A square ROI (x0, y0, x1, y1) in image px around the person's ``side`` hand, from the
    pose's wrist, index, pinky and thumb keypoints; None when the wrist is not usable.

    Side = ``scale`` x the hand's length, estimated as the larger of 0.75 x the forearm (elbow
    to wrist) and 2 x the spread of the hand keypoints. Centre: midway between the hand
    keypoints' mean and the point half a hand beyond the wrist along the forearm, so that the
    fingers are inside whichever way the hand bends.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if side == "left":
        wrist, elbow, hand = L.LEFT_WRIST, L.LEFT_ELBOW, (L.LEFT_INDEX, L.LEFT_PINKY, L.LEFT_THUMB)
    else:
        wrist, elbow, hand = L.RIGHT_WRIST, L.RIGHT_ELBOW, (L.RIGHT_INDEX, L.RIGHT_PINKY, L.RIGHT_THUMB)
    if pose.visibility[wrist] < min_visibility or pose.presence[wrist] < 0.5:
        return None
    kp = pose.keypoints_px.astype(np.float64)
    pts = kp[[wrist, *hand]]
    forearm = kp[wrist] - kp[elbow]
    forearm_len = float(np.linalg.norm(forearm))
    spread = float(np.max(np.ptp(pts, axis=0)))
    length = max(0.75 * forearm_len, 2.0 * spread, 8.0)
    centre = pts.mean(axis=0)
    if forearm_len > 1e-6:
        centre = kp[wrist] + forearm / forearm_len * 0.5 * length
        centre = 0.5 * (centre + pts.mean(axis=0))
    half = 0.5 * scale * length
    return float(centre[0] - half), float(centre[1] - half), float(centre[0] + half), float(centre[1] + half)


class HandEstimator:
    """MediaPipe hands from the installed wheel. Not thread-safe per mode; ``close()`` is
    idempotent; use as a context manager."""

    def __init__(self, options: HandOptions | None = None) -> None:
        self.options = options or HandOptions()
        self._runner = TaskRunner("HandEstimator", self._create)

    def _create(self, video: bool):
        from mediapipe.tasks.python import BaseOptions, vision

        o = self.options
        return vision.HandLandmarker.create_from_options(
            vision.HandLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(hand_landmarker_task())),
                running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
                num_hands=o.max_hands,
                min_hand_detection_confidence=o.min_detection_confidence,
                min_hand_presence_confidence=o.min_presence_confidence,
                min_tracking_confidence=o.min_tracking_confidence,
            )
        )

    def _detect(self, frame_bgr: np.ndarray, roi: Sequence[float] | None, timestamp_ms: int | None) -> list[Hand]:
        frame = check_frame(frame_bgr)
        h, w = frame.shape[:2]
        cropped = crop_roi(frame, roi)
        if cropped is None:
            return []
        crop, (ox, oy) = cropped
        ch, cw = crop.shape[:2]
        result = self._runner.run(mp_image(crop), timestamp_ms)
        hands = []
        for lms, world, cats in zip(result.hand_landmarks, result.hand_world_landmarks, result.handedness):
            norm = np.array([[p.x, p.y, p.z] for p in lms], dtype=np.float32)
            best = max(cats, key=lambda c: c.score)
            hands.append(
                Hand(
                    landmarks_px=normalized_to_px(norm, cw, ch, (ox, oy)),
                    depth_px=norm[:, 2] * np.float32(cw),
                    world_m=np.array([[p.x, p.y, p.z] for p in world], dtype=np.float32),
                    handedness=PERSON_SIDE_OF_LABEL[best.category_name],
                    score=float(best.score),
                    image_size=(w, h),
                    timestamp_ms=None if timestamp_ms is None else int(timestamp_ms),
                )
            )
        return hands

    def detect(self, frame_bgr: np.ndarray, roi: Sequence[float] | None = None) -> list[Hand]:
        """A still image (or the ``roi`` crop of it): every hand found, at most ``max_hands``."""
        return self._detect(frame_bgr, roi, None)

    def detect_for_video(
        self, frame_bgr: np.ndarray, timestamp_ms: int, roi: Sequence[float] | None = None
    ) -> list[Hand]:
        """One frame of a stream (timestamps in ms, increasing; repeats are bumped)."""
        return self._detect(frame_bgr, roi, int(timestamp_ms))

    def reset_stream(self) -> None:
        """Forget the stream (a new clip or camera): the next video frame starts afresh."""
        self._runner.reset_stream()

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> HandEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
