"""The body regions whose image motion is measured: trunk, head, upper arms, forearms, thighs,
shins. One table: each region is a capsule between two points built from keypoints, with a
radius as a share of the body's scale, and each keypoint moves with one or two regions.

"left" and "right" are the person's own sides, as in :mod:`tryon.pose.landmarks`.
"""

from __future__ import annotations

import math

import numpy as np

from tryon.pose.landmarks import GROUPS, NUM_LANDMARKS, L
from tryon.track.kernels import assign_capsules

#: Region names, in the order of every per-region array.
REGIONS: tuple[str, ...] = (
    "trunk",
    "head",
    "upper_arm_left",
    "upper_arm_right",
    "forearm_left",
    "forearm_right",
    "thigh_left",
    "thigh_right",
    "shin_left",
    "shin_right",
)
NUM_REGIONS = len(REGIONS)

#: Each region's capsule: (start keypoints averaged, end keypoints averaged, radius as a share
#: of :func:`body_scale_px`). A feature belongs to the region whose capsule it lies deepest in.
CAPSULES: dict[str, tuple[tuple[int, ...], tuple[int, ...], float]] = {
    "trunk": ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP), 0.6),
    "head": ((L.NOSE,), (L.LEFT_EAR, L.RIGHT_EAR), 0.45),
    "upper_arm_left": ((L.LEFT_SHOULDER,), (L.LEFT_ELBOW,), 0.22),
    "upper_arm_right": ((L.RIGHT_SHOULDER,), (L.RIGHT_ELBOW,), 0.22),
    "forearm_left": ((L.LEFT_ELBOW,), (L.LEFT_INDEX,), 0.2),
    "forearm_right": ((L.RIGHT_ELBOW,), (L.RIGHT_INDEX,), 0.2),
    "thigh_left": ((L.LEFT_HIP,), (L.LEFT_KNEE,), 0.3),
    "thigh_right": ((L.RIGHT_HIP,), (L.RIGHT_KNEE,), 0.3),
    "shin_left": ((L.LEFT_KNEE,), (L.LEFT_FOOT_INDEX,), 0.25),
    "shin_right": ((L.RIGHT_KNEE,), (L.RIGHT_FOOT_INDEX,), 0.25),
}

#: The region a limb part moves with when its own motion is not measured (too few features):
#: a bare forearm is carried by its upper arm, that by the trunk. Parents come first in REGIONS.
PARENT: dict[str, str | None] = {
    "trunk": None,
    "head": "trunk",
    "upper_arm_left": "trunk",
    "upper_arm_right": "trunk",
    "forearm_left": "upper_arm_left",
    "forearm_right": "upper_arm_right",
    "thigh_left": "trunk",
    "thigh_right": "trunk",
    "shin_left": "thigh_left",
    "shin_right": "thigh_right",
}
#: PARENT as indices into REGIONS (-1: none).
PARENT_INDEX = np.array([-1 if PARENT[n] is None else REGIONS.index(PARENT[n]) for n in REGIONS])
assert all(p < i for i, p in enumerate(PARENT_INDEX))

#: A feature that lies in a limb's capsule and in the trunk's counts for the limb unless it is
#: this much deeper (relative) in the trunk's: an arm in front of the chest moves as the arm.
TRUNK_PREFERENCE = 1.6


def _membership() -> np.ndarray:
    """(33, R) float64: how much each keypoint moves with each region (rows sum to 1)."""
    w = np.zeros((NUM_LANDMARKS, NUM_REGIONS))
    r = {name: i for i, name in enumerate(REGIONS)}
    w[list(GROUPS["face"]), r["head"]] = 1.0
    w[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP], r["trunk"]] = 1.0
    for side, S in (("left", "LEFT"), ("right", "RIGHT")):
        # a joint between two regions moves as both do there
        w[L[f"{S}_ELBOW"], [r[f"upper_arm_{side}"], r[f"forearm_{side}"]]] = 0.5
        w[[L[f"{S}_WRIST"], L[f"{S}_PINKY"], L[f"{S}_INDEX"], L[f"{S}_THUMB"]], r[f"forearm_{side}"]] = 1.0
        w[L[f"{S}_KNEE"], [r[f"thigh_{side}"], r[f"shin_{side}"]]] = 0.5
        w[[L[f"{S}_ANKLE"], L[f"{S}_HEEL"], L[f"{S}_FOOT_INDEX"]], r[f"shin_{side}"]] = 1.0
    assert np.allclose(w.sum(axis=1), 1.0)
    return w


#: (33, R): each keypoint's share of each region's motion.
MEMBERSHIP = _membership()


def _ends() -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros((NUM_REGIONS, NUM_LANDMARKS))
    b = np.zeros((NUM_REGIONS, NUM_LANDMARKS))
    for i, name in enumerate(REGIONS):
        start, end, _ = CAPSULES[name]
        a[i, list(start)] = 1.0 / len(start)
        b[i, list(end)] = 1.0 / len(end)
    return a, b


_START, _END = _ends()
_RADIUS = np.array([CAPSULES[name][2] for name in REGIONS])
_TRUNK = REGIONS.index("trunk")


def body_scale_px(keypoints_px: np.ndarray) -> float:
    """The body's size in image px for tolerances: the wider of the shoulder and hip lines,
    or half the trunk's length for a shopper turned sideways."""
    ls, rs, lh, rh = (keypoints_px[i].tolist() for i in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP))
    shoulders = math.hypot(ls[0] - rs[0], ls[1] - rs[1])
    hips = math.hypot(lh[0] - rh[0], lh[1] - rh[1])
    trunk = 0.5 * math.hypot(ls[0] + rs[0] - lh[0] - rh[0], ls[1] + rs[1] - lh[1] - rh[1])
    return max(shoulders, hips, 0.5 * trunk, 1.0)


def assign_regions(points_px: np.ndarray, keypoints_px: np.ndarray, scale_px: float | None = None) -> np.ndarray:
    """(N,) int: the region each image point (image px, (N, 2)) lies in, -1 for none, from the
    body's keypoints (image px, (33, 2)) of the same frame (``scale_px``: their
    :func:`body_scale_px`, if known)."""
    p = np.ascontiguousarray(points_px, dtype=np.float64)
    kp = np.asarray(keypoints_px, dtype=np.float64)
    if len(p) == 0:
        return np.zeros(0, dtype=np.int64)
    a, b = _START @ kp, _END @ kp  # (R, 2)
    radius_px = _RADIUS * (scale_px or body_scale_px(kp))
    # the capsules' depths per point and region, compiled (:mod:`tryon.track.kernels`)
    return assign_capsules(p, a, b, radius_px, _TRUNK, TRUNK_PREFERENCE)
