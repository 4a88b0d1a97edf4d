"""Drawing on output frames: the skeleton and a heads-up display of speed (demo, mirror)."""

from __future__ import annotations

import cv2
import numpy as np

from tryon.pose.landmarks import CONNECTIONS
from tryon.pose.types import Pose


def draw_skeleton(image: np.ndarray, pose: Pose, mirrored: bool = False, color=(80, 220, 120)) -> None:
    """Draw the keypoints that are visible (in place). ``mirrored``: the image was flipped."""
    w = image.shape[1]
    kp = pose.keypoints_px.copy()
    if mirrored:
        kp[:, 0] = w - kp[:, 0]
    ok = pose.visibility >= 0.5
    for a, b in CONNECTIONS:
        if ok[a] and ok[b]:
            cv2.line(
                image, tuple(np.round(kp[a]).astype(int)), tuple(np.round(kp[b]).astype(int)), color, 1, cv2.LINE_AA
            )
    for i in np.flatnonzero(ok):
        cv2.circle(image, tuple(np.round(kp[i]).astype(int)), 2, color, -1, cv2.LINE_AA)


def draw_hud(image: np.ndarray, lines: list[str], origin=(8, 8)) -> None:
    """Text lines on a dark translucent panel in the top-left corner (in place); the text
    shrinks to fit a narrow image."""
    if not lines:
        return
    scale = max(0.4, min(image.shape[1] / 1400.0, 0.8))
    widest = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for t in lines)
    room = image.shape[1] - 2 * origin[0] - 12
    if widest > room > 0:
        scale *= room / widest
    th = int(22 * scale / 0.5)
    width = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for t in lines) + 12
    x0, y0 = origin
    y1 = min(image.shape[0], y0 + th * len(lines) + 8)
    x1 = min(image.shape[1], x0 + width)
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi * 0.45).astype(np.uint8)
    for i, t in enumerate(lines):
        cv2.putText(
            image, t, (x0 + 6, y0 + th * (i + 1) - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
