"""How much of the shopper's own clothes still shows on real photos and clips (no truth).

:func:`photo_leak` is the issue's measure: the shopper's pixels within 15% of the shoulder
width beside the items, in the rows they cover, away from the hands and the face, that the
engine left unchanged, over the items' area. Synthetic truth has its own, exact measures
(:mod:`tryon.ownclothes.truth`).
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.pose.landmarks import L
from tryon.pose.types import Pose

HAND_POINTS = (L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_INDEX, L.RIGHT_INDEX, L.LEFT_PINKY, L.RIGHT_PINKY)


def beside_items(items_alpha: np.ndarray, pose: Pose, reach: float = 0.15) -> np.ndarray:
    """(H, W) bool: the person's pixels within ``reach`` shoulder widths beside the items
    (horizontally, so only in rows they cover), away from the hands and the face.
    items_alpha : (H, W) float32 in [0, 1], unmirrored."""
    H, W = items_alpha.shape
    items = (items_alpha > 0.5).astype(np.uint8)
    kp = pose.keypoints_px.astype(np.float64) * np.array([W / pose.width, H / pose.height])
    sw = max(float(np.linalg.norm(kp[L.LEFT_SHOULDER] - kp[L.RIGHT_SHOULDER])), 8.0)
    r = max(1, int(round(reach * sw)))
    near = cv2.dilate(items, np.ones((1, 2 * r + 1), np.uint8)) > 0
    person = cv2.resize(pose.segmentation, (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
    out = near & (items == 0) & person
    away = np.zeros((H, W), np.uint8)
    for i in HAND_POINTS:
        if pose.visibility[i] > 0.5:
            cv2.circle(away, (int(kp[i, 0]), int(kp[i, 1])), int(0.3 * sw), 1, -1)
    if pose.visibility[L.NOSE] > 0.5:
        cv2.circle(away, (int(kp[L.NOSE, 0]), int(kp[L.NOSE, 1])), int(0.45 * sw), 1, -1)
    return out & (away == 0)


def photo_leak(frame_bgr: np.ndarray, out_bgr: np.ndarray, items_alpha: np.ndarray, pose: Pose) -> float:
    """The share (of the items' area) of the person's pixels beside the items that the engine
    left unchanged (within 12 grey levels): their own clothes still showing. ``out_bgr`` and
    ``items_alpha`` unmirrored."""
    leak = _leak_mask(frame_bgr, out_bgr, items_alpha, pose)
    return 0.0 if leak is None else float(leak.sum()) / float((items_alpha > 0.5).sum())


def _leak_mask(frame_bgr: np.ndarray, out_bgr: np.ndarray, items_alpha: np.ndarray, pose: Pose) -> np.ndarray | None:
    """(H, W) bool: :func:`photo_leak`'s pixels (the person's beside the items, unchanged
    within 12 grey levels), or None when there is nothing to measure (no person mask, no items)."""
    if pose is None or pose.segmentation is None or not (items_alpha > 0.5).any():
        return None
    unchanged = cv2.absdiff(out_bgr, frame_bgr).max(axis=2) <= 12
    return beside_items(items_alpha, pose) & unchanged


def upper_torso(pose: Pose, size: tuple[int, int], inset: float = 0.1, neck: float = 0.15) -> np.ndarray:
    """(H, W) bool: the upper torso below a top's neckline: the quadrilateral from ``neck`` of
    the way from the shoulders down to the hips to halfway, ``inset`` of its width in from each
    side (the arms hang beside the torso's edge), away from the hands; at ``size`` = (W, H).
    Without the hips in view the torso is taken as long as the shoulders are wide. Empty when
    the shoulders are not seen."""
    W, H = size
    out = np.zeros((H, W), np.uint8)
    if (pose.visibility[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] < 0.5).any():
        return out > 0
    kp = pose.keypoints_px.astype(np.float64) * np.array([W / pose.width, H / pose.height])
    ls, rs = kp[L.LEFT_SHOULDER], kp[L.RIGHT_SHOULDER]
    if (pose.visibility[[L.LEFT_HIP, L.RIGHT_HIP]] >= 0.5).all():
        ld, rd = kp[L.LEFT_HIP] - ls, kp[L.RIGHT_HIP] - rs
    else:
        ld = rd = np.array([0.0, float(np.linalg.norm(ls - rs))])
    lt, rt, lw, rw = ls + neck * ld, rs + neck * rd, ls + 0.5 * ld, rs + 0.5 * rd
    quad = np.array([lt + inset * (rt - lt), rt + inset * (lt - rt), rw + inset * (lw - rw), lw + inset * (rw - lw)])
    cv2.fillConvexPoly(out, np.round(quad).astype(np.int32), 1)
    sw = max(float(np.linalg.norm(ls - rs)), 8.0)
    for i in HAND_POINTS:
        if pose.visibility[i] > 0.5:
            cv2.circle(out, (int(kp[i, 0]), int(kp[i, 1])), int(0.3 * sw), 0, -1)
    return out > 0


def torso_hole(items_alpha: np.ndarray, pose: Pose) -> float | None:
    """The share of the upper torso (:func:`upper_torso`) the tried-on top is missing from
    (``items_alpha`` (H, W) below 0.5, unmirrored): holes the keep-out cut (dark hair or a
    dark cap taken for hair over dark clothes), or None when the torso is not seen."""
    H, W = items_alpha.shape
    torso = upper_torso(pose, (W, H))
    n = int(torso.sum())
    if n < 200:
        return None
    return float((torso & (items_alpha < 0.5)).sum()) / n


def leak_parts(
    frame_bgr: np.ndarray, out_bgr: np.ndarray, items_alpha: np.ndarray, pose: Pose, regions: np.ndarray
) -> dict[str, float]:
    """:func:`photo_leak` split by where its pixels lie against the posed body proxy: ``legs``
    nearer to the proxy's legs than to its torso and arms (what is worn on the legs, which a top
    does not replace: the seated shopper's leggings beside the top, a long coat over the hips);
    ``in_body`` inside the bare body's outline (own clothes there stay: skin is not invented);
    ``beside_torso`` the rest, own clothes beside the torso and arms a top should have removed.
    An additional figure, not the issue's measure (which is their sum, ``leak``).
    regions : (R, H, W) bool, the proxy per region (:class:`tryon.ownclothes.mask.BodyRaster`)
    at the frame's size, unmirrored."""
    from tryon.ownclothes.mask import ARMS, LEGS, TORSO

    leak = _leak_mask(frame_bgr, out_bgr, items_alpha, pose)
    if leak is None:
        return {"leak": 0.0, "legs": 0.0, "in_body": 0.0, "beside_torso": 0.0}

    def distance(part: np.ndarray) -> np.ndarray:
        return cv2.distanceTransform((~part).view(np.uint8), cv2.DIST_L2, 3)

    upper = regions[list(TORSO + ARMS)].any(axis=0)
    legs = leak & (distance(regions[list(LEGS)].any(axis=0)) < distance(upper))
    in_body = leak & ~legs & regions.any(axis=0)
    n = float((items_alpha > 0.5).sum())
    return {
        "leak": float(leak.sum()) / n,
        "legs": float(legs.sum()) / n,
        "in_body": float(in_body.sum()) / n,
        "beside_torso": float((leak & ~legs & ~in_body).sum()) / n,
    }
