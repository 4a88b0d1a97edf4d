"""The detail stage: the face mesh and the hands, for the items that need more than BlazePose.

BlazePose's face (11 points) and hand (3 points a hand) keypoints are coarse. Eyewear, hats
and earrings ride a head pose fitted to MediaPipe's 478-point face mesh; rings ride the ring
finger of MediaPipe's 21-point hand. Both models come from the installed mediapipe wheel
(:mod:`tryon.pose.face`, :mod:`tryon.pose.hands`) and run on a region of interest the pose
gives (the head; the hand wearing the ring), so a small face or hand in a full-body frame is
still found, and only while such an item is worn (they cost about 4 and 10 ms a frame on one
core). Their landmarks are smoothed like the pose's (One Euro, in image heights) before the
head pose is solved; a frame where a model finds nothing falls back to the pose keypoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from tryon.catalog.categories import CATEGORIES
from tryon.frames import CameraIntrinsics
from tryon.pose.face import Face, FaceEstimator, FaceOptions, HeadPose, face_roi_px, solve_head_pose
from tryon.pose.filters import GroupParams, OneEuroFilter
from tryon.pose.hands import Hand, HandEstimator, HandOptions, hand_roi_px
from tryon.pose.types import Pose


@dataclass(frozen=True)
class DetailOptions:
    """face, hands : run the face mesh / hand landmarks: None (default) while an item that
    needs them is worn, or always (True) / never (False).
    face_smoothing, hand_smoothing : One Euro parameters (image heights per second).
    max_gap_ms : a longer gap restarts the filters.
    model_every : in a stream, the face and hand models run on one frame in this many; in
        between, their last landmarks are carried along by the pose keypoints' motion (the
        eyes for the face, the wrist and knuckles for a hand) and the head pose solved again.
        2 halves their cost; 1 runs them on every frame.
    """

    face: bool | None = None
    hands: bool | None = None
    model_every: int = 2
    face_smoothing: GroupParams = GroupParams(1.5, 4.0)
    hand_smoothing: GroupParams = GroupParams(1.0, 4.0)
    max_gap_ms: float = 500.0


@dataclass(frozen=True)
class Details:
    """What the detail stage found in one frame.

    face : the face mesh (smoothed landmarks, image px), or None.
    head_pose : the canonical face in camera metres (:class:`~tryon.pose.face.HeadPose`),
        solved for the engine's camera, or None.
    hands : the person's ``"left"`` / ``"right"`` hands found (smoothed), by side.
    """

    face: Face | None = None
    head_pose: HeadPose | None = None
    hands: dict[str, Hand] = field(default_factory=dict)


NO_DETAILS = Details()


@dataclass(frozen=True)
class DetailObservation:
    """What the face and hand models saw in one frame, before any smoothing: the half of the
    detail stage a stream's pose thread runs (:meth:`DetailTracker.observe`), handed to the
    other half on the GL thread (:meth:`DetailTracker.resolve`).

    face_asked, hands_asked : what the worn items needed (the face; the hands by side).
    ran : the models ran on this frame (in a stream they run on one frame in
        ``DetailOptions.model_every``; in between, the last landmarks are carried along).
    face : the face mesh the model found (landmarks in image px, unsmoothed), or None.
    hands : the hands found, by side (unsmoothed); a side asked for but not found is absent.
    """

    face_asked: bool = False
    hands_asked: tuple[str, ...] = ()
    ran: bool = False
    face: Face | None = None
    hands: dict[str, Hand] = field(default_factory=dict)


NOTHING_OBSERVED = DetailObservation()


def needed(categories: Iterable[str], options: DetailOptions) -> tuple[bool, tuple[str, ...]]:
    """(run the face mesh, the hands to track) for items of these categories: what their
    records' ``detail`` asks (a ring: the hand it is fitted to, :mod:`tryon.catalog.fit`)."""
    kinds = [CATEGORIES[c] for c in set(categories)]
    face = options.face if options.face is not None else any(k.detail == "face" for k in kinds)
    sides = sorted({k.hand_side for k in kinds if k.hand_side is not None})
    hands: tuple[str, ...] = ()
    if options.hands is True:
        hands = tuple(sides) or ("left",)
    elif options.hands is None:
        hands = tuple(sides)
    return face, hands


class _Smoother:
    """One Euro over an (n, d) array of image px, in image heights; restarts after a gap."""

    def __init__(self, params: GroupParams, max_gap_ms: float) -> None:
        self.params, self.max_gap_ms = params, max_gap_ms
        self._filter: OneEuroFilter | None = None
        self._last_ms: float | None = None

    def reset(self) -> None:
        self._filter, self._last_ms = None, None

    def __call__(self, points: np.ndarray, height: int, timestamp_ms: int | None) -> np.ndarray:
        if timestamp_ms is None:
            return points
        n = len(points)
        gap = self._last_ms is None or timestamp_ms - self._last_ms > self.max_gap_ms
        if self._filter is None or gap or self._filter.min_cutoff.shape != (n,):
            self._filter = OneEuroFilter(np.full(n, self.params.min_cutoff), np.full(n, self.params.beta))
        self._last_ms = timestamp_ms
        out = self._filter(points.astype(np.float64) / height, timestamp_ms / 1000.0) * height
        return out.astype(np.float32)


def _face_anchor(pose: Pose) -> np.ndarray:
    """(3, 2) image px: the pose's eyes and nose, which carry the face mesh between its runs."""
    from tryon.pose.landmarks import L

    return pose.keypoints_px[[L.LEFT_EYE, L.RIGHT_EYE, L.NOSE]].astype(np.float64)


def _hand_anchor(pose: Pose, side: str) -> np.ndarray:
    """(3, 2) image px: the pose's wrist, index and pinky of one hand."""
    from tryon.pose.landmarks import L

    if side == "left":
        idx = [L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY]
    else:
        idx = [L.RIGHT_WRIST, L.RIGHT_INDEX, L.RIGHT_PINKY]
    return pose.keypoints_px[idx].astype(np.float64)


def _carried(points: np.ndarray, then: np.ndarray, now: np.ndarray) -> np.ndarray:
    """``points`` moved as the anchor points moved from ``then`` to ``now``: the similarity
    (shift, turn in the image plane, scale) that best maps one onto the other."""
    m, _ = cv2.estimateAffinePartial2D(then.astype(np.float32), now.astype(np.float32))
    if m is None or not np.isfinite(m).all():
        return (points + (now.mean(axis=0) - then.mean(axis=0))).astype(np.float32)
    return (points.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def _nearest_to_wrist(candidates: list[Hand], pose: Pose, side: str) -> Hand | None:
    """The hand whose wrist lies nearest the pose's ``side`` wrist, within a forearm's half
    length (the model's own left/right label is the less reliable of the two)."""
    from tryon.pose.landmarks import L

    wrist, elbow = (L.LEFT_WRIST, L.LEFT_ELBOW) if side == "left" else (L.RIGHT_WRIST, L.RIGHT_ELBOW)
    kp = pose.keypoints_px.astype(np.float64)
    reach = max(0.5 * float(np.linalg.norm(kp[wrist] - kp[elbow])), 10.0)
    best, best_d = None, reach
    for c in candidates:
        d = float(np.linalg.norm(c.landmarks_px[0] - kp[wrist]))
        if d < best_d:
            best, best_d = c, d
    return best


class DetailTracker:
    """Runs the face mesh and the hand model on the pose's regions of interest; one per
    stream (``reset`` between streams). Owns MediaPipe graphs: ``close()`` when done.

    Two halves with their own state, so a stream's two threads can each run one:
    :meth:`observe` (the models, on the pose thread) and :meth:`resolve` (smoothing, carrying
    between model runs, the head pose; on the GL thread, after smoothing and stabilizing);
    :meth:`update` runs both in turn."""

    def __init__(self, options: DetailOptions | None = None) -> None:
        self.options = options or DetailOptions()
        # observe's state: the models and the frame count that picks their frames
        self._face: FaceEstimator | None = None
        self._hands: dict[str, HandEstimator] = {}
        self._frame = 0
        # resolve's state: the smoothers, the last model output and where the pose's anchor points were then
        self._face_smoother = _Smoother(self.options.face_smoothing, self.options.max_gap_ms)
        self._hand_smoothers: dict[str, _Smoother] = {}
        self._last_face: tuple[Face, np.ndarray] | None = None
        self._last_hands: dict[str, tuple[Hand, np.ndarray]] = {}

    def reset(self) -> None:
        if self._face is not None:
            self._face.reset_stream()
        for est in self._hands.values():
            est.reset_stream()
        self._face_smoother.reset()
        for s in self._hand_smoothers.values():
            s.reset()
        self._frame = 0
        self._last_face = None
        self._last_hands = {}

    def update(
        self,
        frame_bgr: np.ndarray,
        pose: Pose | None,
        K: CameraIntrinsics,
        timestamp_ms: int | None,
        face: bool,
        hands: tuple[str, ...],
    ) -> Details:
        """The face (if ``face``) and the ``hands`` sides of the person in ``pose``: both
        halves in turn, :meth:`observe` and :meth:`resolve` (a stream's two threads run them
        apart)."""
        seen = self.observe(frame_bgr, pose, timestamp_ms, face, hands)
        return self.resolve(seen, pose, K, timestamp_ms, frame_bgr.shape[0])

    def observe(
        self,
        frame_bgr: np.ndarray,
        pose: Pose | None,
        timestamp_ms: int | None,
        face: bool,
        hands: tuple[str, ...],
    ) -> DetailObservation:
        """The models' half (the pose thread's): the face mesh and the hands found in the
        regions of interest of ``pose`` (the raw pose will do: it only places the regions),
        on the frames the models run; nothing smoothed yet. Calls come in frame order."""
        if pose is None or (not face and not hands):
            return NOTHING_OBSERVED
        self._frame += 1
        if timestamp_ms is not None and self._frame % max(1, self.options.model_every) != 0:
            return DetailObservation(face_asked=face, hands_asked=hands, ran=False)
        found_face = None
        if face:
            roi = face_roi_px(pose)
            if roi is not None:
                if self._face is None:
                    self._face = FaceEstimator(FaceOptions(max_faces=1))
                found_face = (
                    self._face.detect(frame_bgr, roi)
                    if timestamp_ms is None
                    else self._face.detect_for_video(frame_bgr, timestamp_ms, roi)
                )
        found_hands: dict[str, Hand] = {}
        for side in hands:
            roi = hand_roi_px(pose, side)
            est = self._hands.get(side)
            if est is None:
                est = self._hands[side] = HandEstimator(HandOptions(max_hands=1))
            candidates = []
            if roi is not None:
                candidates = (
                    est.detect(frame_bgr, roi)
                    if timestamp_ms is None
                    else est.detect_for_video(frame_bgr, timestamp_ms, roi)
                )
            hand = _nearest_to_wrist(candidates, pose, side)
            if hand is not None:
                found_hands[side] = hand
        return DetailObservation(face_asked=face, hands_asked=hands, ran=True, face=found_face, hands=found_hands)

    def resolve(
        self,
        seen: DetailObservation,
        pose: Pose | None,
        K: CameraIntrinsics,
        timestamp_ms: int | None,
        frame_height_px: int,
    ) -> Details:
        """The tracking half (the GL thread's): the models' landmarks smoothed and the head
        pose solved on the frames they ran; in between, their last landmarks carried along by
        ``pose`` (the smoothed, stabilized pose: its anchors are the steady ones). Calls come
        in frame order, after the matching :meth:`observe`."""
        if pose is None or (not seen.face_asked and not seen.hands_asked):
            return NO_DETAILS
        h = frame_height_px
        found_face, head_pose = None, None
        if seen.face_asked and not seen.ran:  # between model runs: carried, or the pose decides
            if self._last_face is not None:
                last, then = self._last_face
                found_face = replace(last, landmarks_px=_carried(last.landmarks_px, then, _face_anchor(pose)))
                head_pose = solve_head_pose(found_face.landmarks_px, K)
        elif seen.face_asked:
            if seen.face is None:
                self._face_smoother.reset()
                self._last_face = None
            else:
                smoothed = self._face_smoother(seen.face.landmarks_px, h, timestamp_ms)
                found_face = replace(seen.face, landmarks_px=smoothed)
                head_pose = solve_head_pose(smoothed, K)
                self._last_face = (found_face, _face_anchor(pose))
        found_hands: dict[str, Hand] = {}
        for side in seen.hands_asked:
            if not seen.ran:
                if side in self._last_hands:
                    last, then = self._last_hands[side]
                    found_hands[side] = replace(
                        last, landmarks_px=_carried(last.landmarks_px, then, _hand_anchor(pose, side))
                    )
                continue
            smoother = self._hand_smoothers.get(side)
            if smoother is None:
                smoother = self._hand_smoothers[side] = _Smoother(self.options.hand_smoothing, self.options.max_gap_ms)
            hand = seen.hands.get(side)
            if hand is None:
                smoother.reset()
                self._last_hands.pop(side, None)
                continue
            found_hands[side] = replace(hand, landmarks_px=smoother(hand.landmarks_px, h, timestamp_ms))
            self._last_hands[side] = (found_hands[side], _hand_anchor(pose, side))
        return Details(face=found_face, head_pose=head_pose, hands=found_hands)

    def close(self) -> None:
        if self._face is not None:
            self._face.close()
        for est in self._hands.values():
            est.close()
        self._hands.clear()
        self._face = None
