"""The fingers: a ring finger's rigid frame from the hand model, for rings.

The reduced skeleton has no finger bones (the hand is one bone), so a ring rides a separate
(3, 4) bind model -> camera map of the ring finger's first phalanx, found from the hand
model's landmarks where the engine ran it (:class:`~tryon.pose.hands.Hand`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tryon.body.mannequin import FingerFrame, ring_finger
from tryon.body.rotations import cross3, norm3, normalize
from tryon.frames import CameraIntrinsics, Side, pixel_rays
from tryon.pose.hands import Hand, HandLandmark

#: The hand-model landmarks a ring finger's frame is built from, in this order.
RING_FRAME_LANDMARKS = (
    HandLandmark.WRIST,
    HandLandmark.INDEX_FINGER_MCP,
    HandLandmark.RING_FINGER_MCP,
    HandLandmark.RING_FINGER_PIP,
    HandLandmark.PINKY_MCP,
)
#: Nearest a hand landmark is placed to the camera, metres.
MIN_HAND_DEPTH_M = 0.05


def ring_finger_frame(hand: Hand, wrist_depth_m: float, K: CameraIntrinsics, bind: FingerFrame) -> np.ndarray | None:
    """(3, 4) bind model -> camera metres map of a ring finger's first phalanx (rigid), from
    the hand model's landmarks: their pixels back-projected to the wrist's depth plus the hand's
    own relative depths (its metric world landmarks). None for a degenerate hand."""
    idx = [int(i) for i in RING_FRAME_LANDMARKS]
    world = hand.world_m.astype(np.float64)
    z = np.maximum(wrist_depth_m + (world[idx, 2] - world[HandLandmark.WRIST, 2]), MIN_HAND_DEPTH_M)
    wrist, index, knuckle, middle, little = pixel_rays(hand.landmarks_px[idx], K) * z[:, None]
    axis = middle - knuckle
    dorsal = bind.palm_sign * cross3(index - wrist, little - wrist)
    if norm3(axis) < 1e-4:
        return None
    axis = normalize(axis)
    dorsal = dorsal - axis * np.dot(dorsal, axis)
    if norm3(dorsal) < 1e-6:
        return None
    dorsal = normalize(dorsal)
    cam = np.stack([axis, dorsal, cross3(axis, dorsal)], axis=1)
    b = np.stack([bind.axis, bind.dorsal, cross3(bind.axis, bind.dorsal)], axis=1)
    R = cam @ b.T
    centre = 0.5 * (knuckle + middle)
    return np.concatenate([R, (centre - R @ bind.centre)[:, None]], axis=1)


def finger_frames(
    hands: Mapping[str, Hand], wrist_depth_m: Mapping[str, float], K: CameraIntrinsics
) -> dict[str, np.ndarray]:
    """``"ring_finger.L"`` / ``".R"`` -> (3, 4) float64 map, for each hand (by the person's side,
    ``"left"`` / ``"right"``) whose frame is not degenerate. ``wrist_depth_m`` : the solved
    hand bone's depth by skeleton side (``"L"`` / ``"R"``)."""
    fingers = {}
    for side, hand in hands.items():
        if side not in (Side.LEFT, Side.RIGHT):
            raise ValueError(f"hands are keyed by the person's side, 'left' or 'right'; got {side!r}")
        s = Side(side).letter
        frame_map = ring_finger_frame(hand, wrist_depth_m[s], K, ring_finger(s))
        if frame_map is not None:
            fingers[f"ring_finger.{s}"] = frame_map
    return fingers
