"""The rig solve's targets, as pure functions of one frame's Pose and camera.

Placement: BlazePose's world landmarks are metric but hip-centred; the translation that puts
them in front of the camera is solved by linear least squares so their projections match the
2D keypoints (:func:`solve_translation`). Depth comes from this placement, not from BlazePose's
per-point z, which is too coarse. Each usable keypoint is then back-projected along its pixel
ray to the depth of its placed world landmark (:func:`keypoint_targets`): 2D-exact,
3D-plausible targets in camera metres. :func:`point_on_ray` places a limb joint on such a ray at
a held bone length; :func:`segment_image_support` says how well the person mask shows a limb
that runs out of the frame. Nothing here keeps state.
"""

from __future__ import annotations

import math

import numpy as np

from tryon.body.rotations import clamp, norm3
from tryon.frames import CameraIntrinsics, pixel_rays
from tryon.jit import compiled
from tryon.pose.landmarks import L
from tryon.pose.types import Pose

#: Landmarks used to place the body in camera space.
PLACEMENT_LANDMARKS = np.array(
    [
        L.LEFT_SHOULDER,
        L.RIGHT_SHOULDER,
        L.LEFT_HIP,
        L.RIGHT_HIP,
        L.LEFT_ELBOW,
        L.RIGHT_ELBOW,
        L.LEFT_KNEE,
        L.RIGHT_KNEE,
        L.NOSE,
        L.LEFT_EAR,
        L.RIGHT_EAR,
        L.LEFT_WRIST,
        L.RIGHT_WRIST,
        L.LEFT_ANKLE,
        L.RIGHT_ANKLE,
    ],
    dtype=np.int64,
)
#: Placement weights when fewer than :data:`MIN_WEIGHTED_PLACEMENT_POINTS` are reliable: a
#: usable keypoint's and any other's (BlazePose's guess still says roughly where the body is).
FALLBACK_PLACEMENT_WEIGHTS = (0.5, 0.05)
MIN_WEIGHTED_PLACEMENT_POINTS = 3

#: Presence a keypoint needs to be *reliable* (also visible and clear of the border), and to
#: be *usable* (inside the frame: its ray is a target).
RELIABLE_MIN_PRESENCE = 0.8
USABLE_MIN_PRESENCE = 0.5
#: Trust per keypoint class (reliable, usable but not reliable); other keypoints get 0.
TRUST_RELIABLE, TRUST_USABLE = 1.0, 0.5
#: The solve itself reads the classes as ramps, not steps, so a keypoint fading in or out
#: (presence, visibility or the border crossing a threshold) changes the solve gradually
#: (:func:`keypoint_grades`): smoothstep over these spans about each threshold.
RELIABLE_PRESENCE_RAMP = (0.5, 0.9)
USABLE_PRESENCE_RAMP = (0.3, 0.7)
#: visibility: ``min_visibility`` -+ this
VISIBILITY_RAMP_HALF = 0.15
#: the border band: reliability from this share of the band to that (times the band's width);
#: usability from ``edge_margin_px`` over one band's width
BORDER_RAMP = (0.5, 2.0)

#: Limb segments whose 2D/world length ratio sets the limb scale; also the segments whose
#: image support is measured for an out-of-frame end.
LIMB_SEGMENTS = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
)
_SEGMENT_A = np.array([a for a, _ in LIMB_SEGMENTS])
_SEGMENT_B = np.array([b for _, b in LIMB_SEGMENTS])
#: The limb scale (placed length / world length) is clamped to this range.
LIMB_SCALE_RANGE = (0.85, 1.3)
#: World segments shorter than this (metres) do not vote on the limb scale.
MIN_WORLD_SEGMENT_M = 0.05

#: Share of a limb segment that must lie inside the frame (and on the person) for an
#: out-of-frame keypoint's direction to be taken from the image; full support takes
#: ``MIN_SEEN_SHARE + SEEN_SHARE_RAMP``.
MIN_SEEN_SHARE = 0.25
SEEN_SHARE_RAMP = 0.2
#: Where along the 2D segment (from its seen end) the mask is sampled, and how many samples.
SUPPORT_SAMPLES_FROM, SUPPORT_SAMPLES = 0.2, 17
#: Mean mask value over the inside samples: no support at ``ON_PERSON_FROM``, full at
#: ``ON_PERSON_FROM + ON_PERSON_RAMP``; the same for the least mask value over the last third.
ON_PERSON_FROM, ON_PERSON_RAMP = 0.5, 0.3
TAIL_ON_PERSON_FROM, TAIL_ON_PERSON_RAMP = 0.2, 0.3
#: Presence (and in-frame) the segment's seen end needs before the image is asked at all.
SUPPORT_MIN_PRESENCE = 0.5


def row_norms(v: np.ndarray) -> np.ndarray:
    """(n,) the lengths of (n, 3) vectors, in their dtype: each the same value, bit for bit, as
    ``np.linalg.norm`` of that row alone (a dot product per row; a sum of squares rounds
    differently), in one call."""
    return np.sqrt(np.matmul(v[:, None, :], v[:, :, None])[:, 0, 0])


def solve_translation(
    world_m: np.ndarray, keypoints_px: np.ndarray, weights: np.ndarray, K: CameraIntrinsics
) -> np.ndarray:
    """Translation t (3,) in camera metres so that ``project(world_m + t) ~ keypoints_px``.

    Linear least squares on ``(u - cx) (Z + tz) = fx (X + tx)`` and the same for v,
    weighted per point. Needs at least two points with weight > 0.
    """
    w = np.sqrt(np.clip(np.asarray(weights, dtype=np.float64), 0, None))
    X, Y, Z = (np.asarray(world_m, dtype=np.float64)[:, k] for k in range(3))
    du = keypoints_px[:, 0] - K.cx
    dv = keypoints_px[:, 1] - K.cy
    n = len(X)
    A = np.zeros((2 * n, 3))
    b = np.zeros(2 * n)
    A[:n, 0] = K.fx
    A[:n, 2] = -du
    b[:n] = du * Z - K.fx * X
    A[n:, 1] = K.fy
    A[n:, 2] = -dv
    b[n:] = dv * Z - K.fy * Y
    ww = np.concatenate([w, w])
    t, *_ = np.linalg.lstsq(A * ww[:, None], b * ww, rcond=None)
    return t


def point_on_ray(parent: np.ndarray, ray: np.ndarray, length: float, z_hint: float, max_stretch: float) -> np.ndarray:
    """The point on the camera ray ``s * ray`` (s > 0) at ``length`` from ``parent``.

    Of the two solutions, the one whose depth is nearest ``z_hint``. If the ray passes
    farther than ``length`` from the parent, the nearest ray point, as long as that needs
    no more than ``max_stretch`` times the length; beyond that, the point at that
    stretched length toward the ray (short of it).
    """
    d = ray / norm3(ray)
    b = float(d.dot(parent))
    c = float(parent.dot(parent)) - length * length
    disc = b * b - c
    if disc >= 0:
        root = math.sqrt(disc)
        near, far = b - root, b + root
        dz = float(d[2])
        if far > 1e-3:  # the nearer root only where it is in front of the camera and nearer z_hint
            s = near if near > 1e-3 and abs(near * dz - z_hint) <= abs(far * dz - z_hint) else far
            return s * d
    closest = max(b, 1e-3) * d
    gap = closest - parent
    dist = float(norm3(gap))
    if dist <= length * max_stretch or dist < 1e-9:
        return closest
    return parent + gap / dist * length * max_stretch


def keypoint_grades(
    pose: Pose, min_visibility: float, edge_margin_px: float, reliable_margin: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(reliable, usable, reliability, usability), each (33,).

    reliable, usable : bool classes. Reliable: visible (``min_visibility``), present
        (:data:`RELIABLE_MIN_PRESENCE`) and clear of a border band (``reliable_margin`` of the
        image size, at least ``edge_margin_px``: BlazePose pins out-of-frame joints to the
        edge). Usable: present (:data:`USABLE_MIN_PRESENCE`) and inside the frame by
        ``edge_margin_px``.
    reliability, usability : float in [0, 1], the same classes as ramps instead of steps
        (smoothstep over :data:`RELIABLE_PRESENCE_RAMP`, :data:`USABLE_PRESENCE_RAMP`,
        ``min_visibility`` +- :data:`VISIBILITY_RAMP_HALF`, :data:`BORDER_RAMP` of the border
        band, and for usability from ``edge_margin_px`` over one band's width); reliability <=
        usability. What the solve reads, so a keypoint fading in or out changes it gradually.
    """
    margin = max(edge_margin_px, reliable_margin * max(pose.width, pose.height))
    w, h = pose.image_size
    (p_lo, p_hi), (q_lo, q_hi), (b_lo, b_hi) = USABLE_PRESENCE_RAMP, RELIABLE_PRESENCE_RAMP, BORDER_RAMP
    v_lo, v_hi = min_visibility - VISIBILITY_RAMP_HALF, min_visibility + VISIBILITY_RAMP_HALF
    # the five ramps: usable presence, usable edge, reliable presence, visibility, border
    lo = np.array((p_lo, edge_margin_px, q_lo, v_lo, b_lo * margin))
    span = np.array((p_hi - p_lo, margin, q_hi - q_lo, v_hi - v_lo, (b_hi - b_lo) * margin))
    # the classes compare float32 keypoints with float32 thresholds (numpy's rule for a float
    # array against a Python float)
    f32 = np.float32
    limits = np.array((USABLE_MIN_PRESENCE, edge_margin_px, min_visibility, RELIABLE_MIN_PRESENCE, margin), f32)
    n = len(pose.presence)
    reliable, usable = np.empty(n, np.bool_), np.empty(n, np.bool_)
    reliability, usability = np.empty(n), np.empty(n)
    _grades(
        np.ascontiguousarray(pose.keypoints_px, f32), np.ascontiguousarray(pose.presence, f32),
        np.ascontiguousarray(pose.visibility, f32), f32(w), f32(h), limits, lo, span,
        reliable, usable, reliability, usability,
    )  # fmt: skip
    return reliable, usable, reliability, usability


@compiled
def _grades(kp, pres, vis, w, h, limits, lo, span, reliable, usable, reliability, usability):
    """:func:`keypoint_grades` per keypoint: the edge distance (float32), the classes against
    ``limits`` (float32: usable presence, edge margin, visibility, reliable presence, border
    margin), the five smoothstep ramps (float64) over ``lo`` + ``span``."""
    x = np.empty(5)
    r = np.empty(5)
    for i in range(len(pres)):
        edge = min(min(kp[i, 0], w - kp[i, 0]), min(kp[i, 1], h - kp[i, 1]))
        usable[i] = pres[i] >= limits[0] and edge >= limits[1]
        reliable[i] = vis[i] >= limits[2] and pres[i] >= limits[3] and edge >= limits[4]
        x[0], x[1], x[2], x[3], x[4] = pres[i], edge, pres[i], vis[i], edge
        for k in range(5):
            t = (x[k] - lo[k]) / span[k]
            if t < 0.0:
                t = 0.0
            elif t > 1.0:
                t = 1.0
            r[k] = t * t * (3.0 - 2.0 * t)
        usability[i] = r[0] * r[1]
        reliability[i] = usability[i] * r[2] * r[3] * r[4]


def keypoint_trust(reliable: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(33,) float per keypoint: :data:`TRUST_RELIABLE` reliable, :data:`TRUST_USABLE` usable,
    0 otherwise; with :func:`keypoint_grades`' ramps, the same blend of them (continuous)."""
    return TRUST_USABLE * usable + (TRUST_RELIABLE - TRUST_USABLE) * reliable


def placement_weights(pose: Pose, reliability: np.ndarray, usability: np.ndarray) -> np.ndarray:
    """(33,) least-squares weights for :func:`solve_translation`: the placement landmarks by
    visibility times reliability (:func:`keypoint_grades`); while fewer than
    :data:`MIN_WEIGHTED_PLACEMENT_POINTS` are reliable (the sum of reliabilities), blended
    toward the fallback weights (every placement landmark, more where usable)."""
    weights = np.zeros(33)
    idx = PLACEMENT_LANDMARKS
    r = reliability[idx]
    weights[idx] = pose.visibility[idx] * r
    short = min(max(MIN_WEIGHTED_PLACEMENT_POINTS - float(r.sum()), 0.0), 1.0)
    if short > 0:
        hi, lo = FALLBACK_PLACEMENT_WEIGHTS
        weights[idx] += short * (lo + (hi - lo) * usability[idx])
    return weights


def keypoint_targets(
    pose: Pose, K: CameraIntrinsics, translation_m: np.ndarray, usability: np.ndarray, min_depth_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hint_cam_m, rays, targets_cam_m), each (33, 3).

    hint_cam_m : the world landmarks placed by ``translation_m`` (depth at least ``min_depth_m``).
    rays : each keypoint's pixel ray (z = 1).
    targets_cam_m : a usable keypoint's ray at its hint's depth, the hint itself for an unusable
        one, blended by ``usability`` (33,) in [0, 1] between.
    """
    hint = pose.world_m.astype(np.float64) + translation_m
    hint[:, 2] = np.maximum(hint[:, 2], min_depth_m)
    rays = pixel_rays(pose.keypoints_px, K)
    u = np.asarray(usability, dtype=np.float64)[:, None]
    targets = hint + u * (rays * hint[:, 2:3] - hint)
    return hint, rays, targets


def limb_scale(targets_cam_m: np.ndarray, world_m: np.ndarray, reliability: np.ndarray) -> float:
    """How much longer limbs are at the placed depth than BlazePose's world landmarks say.

    The placement fits the whole skeleton; BlazePose's world limbs tend to come out
    shorter than the keypoints imply. Held limb lengths are scaled by the segments' median
    ratio (clamped to :data:`LIMB_SCALE_RANGE`) so a limb reaching toward the camera keeps its
    depth instead of being flattened into the image plane to reach its keypoint. The median is
    weighted, each segment by the product of its ends' reliabilities (:func:`keypoint_grades`),
    and interpolated (each ratio at the middle of its weight's span of the cumulative weight),
    so a segment fading in or out moves it gradually; with 0/1 weights it is the plain median.
    While the weights sum to less than 1 it leans toward 1 (no segment: 1).
    """
    T = targets_cam_m
    pairs = []
    world_lengths = row_norms(world_m[_SEGMENT_A] - world_m[_SEGMENT_B]).tolist()
    for (a, b), w in zip(LIMB_SEGMENTS, world_lengths):
        w_ab = float(reliability[a] * reliability[b])
        if w_ab > 0:
            if w > MIN_WORLD_SEGMENT_M:
                x, y, z = (T[a] - T[b]).tolist()  # float64: as np.linalg.norm, bit for bit
                pairs.append((math.sqrt(x * x + y * y + z * z) / w, w_ab))
    if not pairs:
        return 1.0
    pairs.sort()
    total = sum(w for _, w in pairs)
    half, acc = 0.5 * total, 0.0
    prev_c, prev_r = None, pairs[0][0]
    median = pairs[-1][0]
    for r, w in pairs:
        c = acc + 0.5 * w  # the middle of this ratio's span of the cumulative weight
        if c >= half:
            median = r if prev_c is None or c <= prev_c else prev_r + (r - prev_r) * (half - prev_c) / (c - prev_c)
            break
        acc += w
        prev_c, prev_r = c, r
    share = min(total, 1.0)
    return clamp(share * median + (1.0 - share), *LIMB_SCALE_RANGE)


#: Where along the segment :func:`segment_image_support` samples the mask (shares of its length).
_SUPPORT_S = np.linspace(SUPPORT_SAMPLES_FROM, 1.0, SUPPORT_SAMPLES)
_SUPPORT_S.flags.writeable = False


def _ramp1(x: float, start: float, width: float) -> float:
    """0 at ``start``, 1 at ``start + width``, linear between (clamped)."""
    return min(max((x - start) / width, 0.0), 1.0)


def segment_image_support(pose: Pose, from_idx: int, idx: int) -> float:
    """How well the image shows the limb running from keypoint ``from_idx`` (seen) toward
    ``idx`` (out of frame or barely present), in [0, 1]: the share of the 2D segment inside
    the frame (from :data:`MIN_SEEN_SHARE`) times how much of that part lies on the person
    mask. Then the keypoint's direction is the image's, not a guess (an upper-body shot's arms
    running out of the bottom of the frame); a guess pointing off the person gets none.
    Continuous, so a limb does not flip between the two. 0 without a segmentation."""
    seg = pose.segmentation
    if seg is None or not pose.presence[from_idx] >= SUPPORT_MIN_PRESENCE:
        return 0.0
    w, h = pose.image_size
    kp = pose.keypoints_px
    ax, ay = float(kp[from_idx, 0]), float(kp[from_idx, 1])
    if not (0 <= ax <= w and 0 <= ay <= h):  # the seen end must be in the frame
        return 0.0
    dx, dy = float(kp[idx, 0]) - ax, float(kp[idx, 1]) - ay
    xs = ax + _SUPPORT_S * dx
    ys = ay + _SUPPORT_S * dy
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    if not inside[0]:
        return 0.0
    n_in = int(np.count_nonzero(inside))
    if n_in < len(inside):
        xs, ys = xs[inside], ys[inside]
    rows_n, cols_n = seg.shape
    cols = np.clip((xs * (cols_n / w)).astype(int), 0, cols_n - 1)
    rows = np.clip((ys * (rows_n / h)).astype(int), 0, rows_n - 1)
    on_person = seg[rows, cols]
    tail = float(on_person[-max(1, n_in // 3) :].min())
    share = _ramp1(n_in / len(inside), MIN_SEEN_SHARE, SEEN_SHARE_RAMP)
    return share * _ramp1(float(on_person.mean()), ON_PERSON_FROM, ON_PERSON_RAMP) * _ramp1(
        tail, TAIL_ON_PERSON_FROM, TAIL_ON_PERSON_RAMP
    )
