"""The limbs' solve (:func:`tryon.body.limbs.solve_limbs`) compiled: the four arms and legs in
one call of :func:`solve_limbs_kernel` (:mod:`tryon.jit`: numba, ``nogil``, cached; plain
Python, slow, the same results, where numba is missing).

The limb solve is a few hundred small steps on single 3-vectors and 3x3 rotations a frame
(swings, twists, points on rays), where numpy's per-call overhead was most of the rig solve's
time. Here they are written out on scalars and tiny arrays. The rotation helpers are the
compiled twins of :mod:`tryon.body.rotations` (``swing``, ``twist_angle``, ``axis_angle``,
the twist) and :func:`tryon.body.targets.point_on_ray`: the same formulas, the same results to
rounding (``tests/body/test_solver_golden.py`` pins the solver's outputs on stored frames).

The limbs' tables come packed as arrays (:class:`tryon.body.limbs.LimbTables`); the column
constants below name their entries. The bones' arrays (:class:`~tryon.body.context.PoseBuffer`)
are written in place, each bone carried by its parent as placed so far.
"""

from __future__ import annotations

import math

import numpy as np

from tryon.body.targets import TRUST_USABLE
from tryon.jit import compiled

EPS = 1e-9

# -- the packed tables' columns -------------------------------------------------------------
#: ints (limb, 14): bones, landmarks and flags.
I_UP1, I_UP2, I_LO1, I_LO2, I_END_BONE, I_PARENT, I_REST_FRAME = range(7)
I_ROOT, I_MID, I_END, I_A, I_B, I_IS_HAND, I_NEEDS_END_JOINT = range(7, 14)
N_INTS = 14
#: vecs (limb, 7, 3): bind vectors (model metres) and rest directions (model axes).
V_REST_UPPER, V_REST_LOWER, V_UPPER_B, V_LOWER_B, V_MID_FROM_LOWER, V_BEND, V_END_LINE = range(7)
N_VECS = 7
#: outers (limb, 2, 3, 3): the upper and lower segments' ``a a^T``.
#: scalars (limb, 11).
S_UPPER_NORM, S_LOWER_NORM, S_HINGE_LO, S_HINGE_HI, S_UP_SHARE1, S_UP_SHARE2 = range(6)
S_UP_FROM_END, S_LO_SHARE1, S_LO_SHARE2, S_LO_LIMIT, S_ROLL_LIMIT = range(6, 11)
N_SCALARS = 11
#: An out-of-frame keypoint's direction trusts BlazePose's world landmarks at most this much
#: (against the limb's rest direction) ...
GUESS_MAX_WEIGHT = 0.5
#: ... ramping from nothing at this presence, over this much more presence.
GUESS_PRESENCE_FROM, GUESS_PRESENCE_RAMP = 0.2, 0.6


@compiled
def _norm(v):
    return math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)


@compiled
def _normalize(v):
    return v / max(_norm(v), EPS)


@compiled
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@compiled
def _cross(a, b):
    out = np.empty(3)
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]
    return out


@compiled
def _mv(M, v):
    """(3,) ``M @ v``."""
    out = np.empty(3)
    for i in range(3):
        out[i] = M[i, 0] * v[0] + M[i, 1] * v[1] + M[i, 2] * v[2]
    return out


@compiled
def _mm(A, B):
    """(3, 3) ``A @ B``."""
    out = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            out[i, j] = A[i, 0] * B[0, j] + A[i, 1] * B[1, j] + A[i, 2] * B[2, j]
    return out


@compiled
def _clamp(x, lo, hi):
    return min(max(x, lo), hi)


@compiled
def _rodrigues(a, angle):
    """Rotation by ``angle`` radians about the unit axis ``a``."""
    x, y, z = a[0], a[1], a[2]
    c, s = math.cos(angle), math.sin(angle)
    C = 1.0 - c
    R = np.empty((3, 3))
    R[0, 0], R[0, 1], R[0, 2] = c + x * x * C, x * y * C - z * s, x * z * C + y * s
    R[1, 0], R[1, 1], R[1, 2] = y * x * C + z * s, c + y * y * C, y * z * C - x * s
    R[2, 0], R[2, 1], R[2, 2] = z * x * C - y * s, z * y * C + x * s, c + z * z * C
    return R


@compiled
def _axis_angle(axis, angle):
    return _rodrigues(_normalize(axis), angle)


@compiled
def _twisted(unit_axis, angle, R):
    """``axis_angle(unit_axis, angle) @ R`` (``R`` itself, copied, for no twist)."""
    if angle == 0.0:
        return R.copy()
    return _mm(_rodrigues(unit_axis, angle), R)


@compiled
def _swing(a, b):
    """The smallest rotation taking direction ``a`` to direction ``b``."""
    a, b = _normalize(a), _normalize(b)
    v = _cross(a, b)
    c = _dot(a, b)
    s = _norm(v)
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        other = np.zeros(3)
        if abs(a[0]) < 0.9:
            other[0] = 1.0
        else:
            other[1] = 1.0
        return _axis_angle(_cross(a, other), math.pi)
    return _axis_angle(v / s, math.atan2(s, c))


@compiled
def _twist_angle(axis, current, wanted):
    """Signed angle about ``axis`` taking ``current``'s perpendicular part to ``wanted``'s
    (0 when either is nearly parallel to it)."""
    a = _normalize(axis)
    c = current - a * _dot(current, a)
    w = wanted - a * _dot(wanted, a)
    if _norm(c) < 1e-6 or _norm(w) < 1e-6:
        return 0.0
    return math.atan2(_dot(_cross(c, w), a), _dot(c, w))


@compiled
def _smoothstep(x, lo, hi):
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3 - 2 * t)


@compiled
def _point_on_ray(parent, ray, length, z_hint, max_stretch):
    """:func:`tryon.body.targets.point_on_ray`, compiled."""
    d = ray / _norm(ray)
    b = _dot(d, parent)
    c = _dot(parent, parent) - length * length
    disc = b * b - c
    if disc >= 0:
        root = math.sqrt(disc)
        near, far = b - root, b + root
        dz = d[2]
        if far > 1e-3:
            s = near if near > 1e-3 and abs(near * dz - z_hint) <= abs(far * dz - z_hint) else far
            return s * d
    closest = max(b, 1e-3) * d
    gap = closest - parent
    dist = _norm(gap)
    if dist <= length * max_stretch or dist < 1e-9:
        return closest
    return parent + gap / dist * length * max_stretch


@compiled
def _end_point(start, idx, from_idx, length, rest_dir, has_rest, seen, hint, rays, usability, presence, max_stretch):
    """:func:`tryon.body.limbs.end_point` on arrays: ``has_rest`` says whether ``rest_dir``
    counts; ``seen`` is the image's support for the segment ``from_idx -> idx``."""
    u = usability[idx]
    if u >= 1.0:
        return _point_on_ray(start, rays[idx], length, hint[idx, 2], max_stretch)
    guess = _normalize(hint[idx] - hint[from_idx])
    have_ray = False
    on_ray = np.zeros(3)
    if has_rest:
        w = GUESS_MAX_WEIGHT * _clamp((presence[idx] - GUESS_PRESENCE_FROM) / GUESS_PRESENCE_RAMP, 0.0, 1.0)
        guess = _normalize(w * guess + (1.0 - w) * _normalize(rest_dir))
        if seen > 0:
            on_ray = _point_on_ray(start, rays[idx], length, hint[idx, 2], max_stretch) - start
            have_ray = True
            guess = _normalize((1.0 - seen) * guess + seen * _normalize(on_ray))
    if u > 0:
        if not have_ray:
            on_ray = _point_on_ray(start, rays[idx], length, hint[idx, 2], max_stretch) - start
        return start + (1.0 - u) * guess * length + u * on_ray
    return start + guess * length


@compiled
def _carry(j, parents, parent_offsets, rotations, stretch, heads):
    """(3,) where bone ``j``'s parent, as placed, takes ``j``'s bind head."""
    p = parents[j]
    return heads[p] + _mv(_mm(rotations[p], stretch[p]), parent_offsets[j])


@compiled
def _stretch_outer(outer, along, across):
    S = (along - across) * outer
    for i in range(3):
        S[i, i] = across + S[i, i]
    return S


@compiled
def _place(j, R, S, head, conf, rotations, stretch, heads, confidence):
    rotations[j] = R
    stretch[j] = S
    heads[j] = head
    confidence[j] = conf


@compiled
def _solve_limb(
    li, ints, vecs, outers, scalars, support, frame_f, T, hint, rays, usability, trust, reliability, presence,
    bone_scale, anchors, bone_heads, parent_offsets, anchor_bones, parents, rotations, stretch, heads, confidence,
):  # fmt: skip
    """One limb (row ``li`` of the tables); see :func:`tryon.body.limbs.solve_limbs`."""
    g, limb_scale, max_stretch = frame_f[0], frame_f[1], frame_f[2]
    iv, vv, sv = ints[li], vecs[li], scalars[li]
    up1, up2, lo1, lo2 = iv[I_UP1], iv[I_UP2], iv[I_LO1], iv[I_LO2]
    root, mid, end, a, b = iv[I_ROOT], iv[I_MID], iv[I_END], iv[I_A], iv[I_B]
    upper_b, lower_b = vv[V_UPPER_B], vv[V_LOWER_B]
    upper_norm, lower_norm = sv[S_UPPER_NORM], sv[S_LOWER_NORM]
    upper_len = upper_norm * bone_scale[up1] * limb_scale
    lower_len = lower_norm * bone_scale[lo1] * limb_scale
    R_rest = rotations[iv[I_REST_FRAME]]
    rest_upper = _mv(R_rest, vv[V_REST_UPPER])
    rest_lower = _mv(R_rest, vv[V_REST_LOWER])
    end_w = usability[a] * usability[b]
    if iv[I_NEEDS_END_JOINT]:
        end_w *= min(1.0, trust[end] / TRUST_USABLE)
    end_ok = end_w > 0
    end_line_b, end_line_t = vv[V_END_LINE], T[a] - T[b]
    seen_upper, seen_lower = support[li, 0], support[li, 1]

    # Upper segment: swing onto the mid joint; a first guess of the lower segment sets the hinge.
    head = _carry(up1, parents, parent_offsets, rotations, stretch, heads)
    mid_point = _end_point(
        head, mid, root, upper_len, rest_upper, True, seen_upper, hint, rays, usability, presence, max_stretch
    )
    upper_t = mid_point - head
    R_parent = rotations[iv[I_PARENT]]
    R_sw = _mm(_swing(_mv(R_parent, upper_b), upper_t), R_parent)
    joint = mid_point - _mv(R_sw, vv[V_MID_FROM_LOWER])
    lower_first = (
        _end_point(
            joint, end, mid, lower_len, rest_lower, True, seen_lower, hint, rays, usability, presence, max_stretch
        )
        - joint
    )
    axis = _normalize(upper_t)
    w_hinge = _smoothstep(_norm(_cross(axis, _normalize(lower_first))), sv[S_HINGE_LO], sv[S_HINGE_HI])
    theta = 0.0
    if w_hinge > 0:
        theta = _twist_angle(upper_t, _mv(R_sw, vv[V_BEND]), lower_first) * w_hinge
    if sv[S_UP_FROM_END] > 0 and end_ok and w_hinge < 1:
        theta += (
            _twist_angle(upper_t, _mv(R_sw, end_line_b), end_line_t) * (1 - w_hinge) * sv[S_UP_FROM_END] * end_w
        )
    st_upper = _stretch_outer(outers[li, 0], _norm(upper_t) / upper_norm, g)
    c_mid = min(trust[root], trust[mid])
    twist_axis = _normalize(axis)
    R_upper = _twisted(twist_axis, sv[S_UP_SHARE2] * theta, R_sw)
    _place(up1, _twisted(twist_axis, sv[S_UP_SHARE1] * theta, R_sw), st_upper, head, c_mid,
           rotations, stretch, heads, confidence)  # fmt: skip
    head2 = _carry(up2, parents, parent_offsets, rotations, stretch, heads)
    _place(up2, R_upper, st_upper, head2, c_mid, rotations, stretch, heads, confidence)

    # Lower segment: swing onto the end joint, twist from the end's landmark line.
    lower_head = _carry(lo1, parents, parent_offsets, rotations, stretch, heads)
    lower_t = (
        _end_point(
            lower_head, end, mid, lower_len, rest_lower, True, seen_lower, hint, rays, usability, presence, max_stretch
        )
        - lower_head
    )
    R_lsw = _mm(_swing(_mv(R_upper, lower_b), lower_t), R_upper)
    theta_l = 0.0
    if end_ok:
        theta_l = _twist_angle(lower_t, _mv(R_lsw, end_line_b), end_line_t)
        lim = sv[S_LO_LIMIT]
        if lim < math.inf:
            theta_l = _clamp(theta_l, -lim, lim)
        theta_l *= end_w
    laxis = _normalize(lower_t)
    st_lower = _stretch_outer(outers[li, 1], _norm(lower_t) / lower_norm, g)
    c_end = min(c_mid, trust[end])
    ltwist_axis = _normalize(laxis)
    _place(lo1, _twisted(ltwist_axis, sv[S_LO_SHARE1] * theta_l, R_lsw), st_lower, lower_head, c_end,
           rotations, stretch, heads, confidence)  # fmt: skip
    head_lo2 = _carry(lo2, parents, parent_offsets, rotations, stretch, heads)
    _place(lo2, _twisted(ltwist_axis, sv[S_LO_SHARE2] * theta_l, R_lsw), st_lower, head_lo2, c_end,
           rotations, stretch, heads, confidence)  # fmt: skip
    R_twisted = _twisted(ltwist_axis, theta_l, R_lsw)
    end_bone = iv[I_END_BONE]
    end_head = _carry(end_bone, parents, parent_offsets, rotations, stretch, heads)
    if iv[I_IS_HAND]:
        # The hand: the forearm's twist, swung toward the knuckles' midpoint as far as seen.
        R_hand = R_twisted
        if end_w > 0:
            hb = _mv(R_twisted, 0.5 * (anchors[a] + anchors[b]) - bone_heads[end_bone])
            ht = 0.5 * (T[a] + T[b]) - end_head
            if end_w < 1:
                ht = (1.0 - end_w) * _normalize(hb) + end_w * _normalize(ht)
            R_hand = _mm(_swing(hb, ht), R_twisted)
        S_hand = np.eye(3) * bone_scale[end_bone]
        conf = min(c_end, min(trust[a], trust[b]))
        _place(end_bone, R_hand, S_hand, end_head, conf, rotations, stretch, heads, confidence)
        return

    # The foot: swing onto the toes, roll from the heel; a seen ankle places it on its keypoint.
    ankle, toe, heel = end, a, b
    bind_head = bone_heads[end_bone]
    held = bone_scale[end_bone]
    foot_head = end_head
    if reliability[ankle] > 0:
        k = anchor_bones[ankle]
        anchor = heads[k] + _mv(_mm(rotations[k], stretch[k]), anchors[ankle] - bone_heads[k])
        foot_head = foot_head + reliability[ankle] * (T[ankle] - anchor)
    R_foot = R_twisted
    foot_scale = 1.0
    if end_w > 0:
        fb = anchors[toe] - bind_head
        L_foot = _norm(fb) * held
        ft = (
            _end_point(
                foot_head, toe, ankle, L_foot, fb, False, 0.0, hint, rays, usability, presence, max_stretch
            )
            - foot_head
        )
        foot_scale = 1.0 + end_w * (_clamp(_norm(ft) / max(L_foot, 1e-6), 1.0, max_stretch) - 1.0)
        fb_c = _mv(R_twisted, fb)
        if end_w < 1:
            ft = (1.0 - end_w) * _normalize(fb_c) + end_w * _normalize(ft)
        R_foot = _mm(_swing(fb_c, ft), R_twisted)
        roll = _twist_angle(ft, _mv(R_foot, anchors[heel] - bind_head), T[heel] - foot_head)
        lim = sv[S_ROLL_LIMIT]
        R_foot = _mm(_axis_angle(ft, end_w * _clamp(roll, -lim, lim)), R_foot)
        # The foot as a whole onto its three keypoints on average, across the line of sight.
        s_f = held * foot_scale
        res = np.zeros(3)
        w_sum, w_max = 0.0, 0.0
        for kp in (ankle, heel, toe):
            w_k = reliability[kp]
            if w_k > 0:
                res = res + w_k * (T[kp] - (foot_head + _mv(R_foot, s_f * (anchors[kp] - bind_head))))
                w_sum += w_k
                w_max = max(w_max, w_k)
        if w_sum > 0:
            res = res * (w_max / w_sum)
            view = _normalize(foot_head)
            foot_head = foot_head + (res - view * _dot(res, view))
    S_foot = np.eye(3) * held * foot_scale
    conf = min(c_end, min(trust[heel], trust[toe]))
    _place(end_bone, R_foot, S_foot, foot_head, conf, rotations, stretch, heads, confidence)


def _solve_limbs(
    ints, vecs, outers, scalars, support, frame_f, T, hint, rays, usability, trust, reliability, presence,
    bone_scale, anchors, bone_heads, parent_offsets, anchor_bones, parents, rotations, stretch, heads, confidence,
):  # fmt: skip
    for li in range(ints.shape[0]):
        _solve_limb(
            li, ints, vecs, outers, scalars, support, frame_f, T, hint, rays, usability, trust, reliability,
            presence, bone_scale, anchors, bone_heads, parent_offsets, anchor_bones, parents, rotations, stretch,
            heads, confidence,
        )  # fmt: skip



#: The four limbs' solve, compiled: writes ``rotations``, ``stretch``, ``heads``, ``confidence``
#: of each limb's bones in place (see :func:`tryon.body.limbs.solve_limbs` for the arguments).
solve_limbs_kernel = compiled(_solve_limbs)


# -- the torso (tryon.body.torso) ----------------------------------------------------------
@compiled
def _frame(primary, secondary):
    """:func:`tryon.body.rotations.frame`: columns e1 along ``primary``, e2 the part of
    ``secondary`` orthogonal to it, e3 = e1 x e2."""
    e1 = _normalize(primary)
    e2 = secondary - e1 * _dot(secondary, e1)
    if _norm(e2) < EPS:
        other = np.zeros(3)
        if abs(e1[0]) < 0.9:
            other[0] = 1.0
        else:
            other[1] = 1.0
        e2 = _cross(e1, other)
    e2 = _normalize(e2)
    e3 = _cross(e1, e2)
    F = np.empty((3, 3))
    F[:, 0], F[:, 1], F[:, 2] = e1, e2, e3
    return F


@compiled
def _points_frame(P, a, b, c, d, e, f):
    """The frame of points ``P``: x along ``P[a] - P[b]``, secondary from mid(c, d) to mid(e, f)."""
    return _frame(P[a] - P[b], 0.5 * (P[e] + P[f]) - 0.5 * (P[c] + P[d]))


@compiled
def frame_pair(T, B, a, b, c, d, e, f):
    """(3, 3) rotation taking the bind anchors' frame ``B`` onto the targets' ``T``
    (:func:`tryon.body.torso.frame_pair`)."""
    return _mm(_points_frame(T, a, b, c, d, e, f), _points_frame(B, a, b, c, d, e, f).T)


@compiled
def _quaternion(R):
    """(3, 3) rotation -> unit quaternion (4,) (w, x, y, z) (:mod:`tryon.body.rotations`)."""
    m00, m01, m02 = R[0, 0], R[0, 1], R[0, 2]
    m10, m11, m12 = R[1, 0], R[1, 1], R[1, 2]
    m20, m21, m22 = R[2, 0], R[2, 1], R[2, 2]
    t = m00 + m11 + m22
    q = np.empty(4)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q[0], q[1], q[2], q[3] = 0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s
    elif m00 > m11 and m00 > m22:
        s = math.sqrt(1.0 + m00 - m11 - m22) * 2
        q[0], q[1], q[2], q[3] = (m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s
    elif m11 > m22:
        s = math.sqrt(1.0 + m11 - m00 - m22) * 2
        q[0], q[1], q[2], q[3] = (m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s
    else:
        s = math.sqrt(1.0 + m22 - m00 - m11) * 2
        q[0], q[1], q[2], q[3] = (m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    return q / n


@compiled
def _rotation(q):
    """Quaternion (4,) (w, x, y, z), normalized here -> (3, 3) rotation."""
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    w, x, y, z = q[0] / n, q[1] / n, q[2] / n, q[3] / n
    R = np.empty((3, 3))
    R[0, 0], R[0, 1], R[0, 2] = 1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)
    R[1, 0], R[1, 1], R[1, 2] = 2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)
    R[2, 0], R[2, 1], R[2, 2] = 2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)
    return R


@compiled
def slerp_many(R0, R1, ts):
    """(n, 3, 3): :func:`tryon.body.rotations.slerp_many` at each of ``ts`` (n,)."""
    q0, q1 = _quaternion(R0), _quaternion(R1)
    d = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3]
    if d < 0:
        q1, d = -q1, -d
    out = np.empty((len(ts), 3, 3))
    if d > 0.9995:
        for i in range(len(ts)):
            out[i] = _rotation(q0 + ts[i] * (q1 - q0))
        return out
    th = math.acos(min(max(d, -1.0), 1.0))
    sin_th = math.sin(th)
    for i in range(len(ts)):
        s0, s1 = math.sin((1 - ts[i]) * th), math.sin(ts[i] * th)
        out[i] = _rotation((s0 * q0 + s1 * q1) / sin_th)
    return out


@compiled
def chain_scale(points_b, rotations, base, target, g, lo, hi):
    """Length factor for a chain whose bones run between ``points_b`` (n + 1, 3) bind points
    (the bones' heads, then the end) with ``rotations`` (n, 3, 3), from ``base`` (camera), so
    its end reaches ``target``: each bone scaled (g, s, g) in model axes, the end affine in s,
    solved in closed form and clamped to [lo, hi] (:func:`tryon.body.torso.chain_scale`)."""
    e0 = base.copy()
    e1 = np.zeros(3)
    side = np.zeros(3)
    along = np.zeros(3)
    for k in range(len(rotations)):
        off = points_b[k + 1] - points_b[k]
        side[0], side[2] = g * off[0], g * off[2]
        along[1] = off[1]
        e0 += _mv(rotations[k], side)
        e1 += _mv(rotations[k], along)
    s = _dot(e1, target - e0) / max(_dot(e1, e1), 1e-12)
    return _clamp(s, lo, hi)


@compiled
def _stretch_to(j, lm, head, R_parent, T, anchors, bone_heads, g):
    """(rotation, stretch) of bone ``j`` with its head at ``head``, swung from ``R_parent`` and
    stretched along itself so landmark ``lm``'s anchor lands on its target."""
    v = anchors[lm] - bone_heads[j]
    bind_len = max(_norm(v), 1e-9)
    a = _normalize(v)
    outer = np.empty((3, 3))
    for r in range(3):
        for c in range(3):
            outer[r, c] = a[r] * a[c]
    target_vec = T[lm] - head
    rot = _mm(_swing(_mv(R_parent, v), target_vec), R_parent)
    return rot, _stretch_outer(outer, _norm(target_vec) / bind_len, g)


@compiled
def _diag(x, y, z):
    S = np.zeros((3, 3))
    S[0, 0], S[1, 1], S[2, 2] = x, y, z
    return S


@compiled
def place_chain(idx, rots, length, g, conf, parents, parent_offsets, rotations, stretch, heads, confidence):
    """Place bones ``idx`` (a chain: spine, neck) with ``rots`` (n, 3, 3), each carried by its
    parent and scaled by (g, length, g) in model axes (:func:`tryon.body.torso.place_chain`)."""
    for k in range(len(idx)):
        head = _carry(idx[k], parents, parent_offsets, rotations, stretch, heads)
        _place(idx[k], rots[k], _diag(g, length, g), head, conf, rotations, stretch, heads, confidence)


@compiled
def _solve_torso(
    idx, lm, spine_blend, chain_range, g, T, trust, bone_scale, anchors, bone_heads, parent_offsets, parents,
    rotations, stretch, heads, confidence,
):  # fmt: skip
    """The pelvis, spine and clavicles (:mod:`tryon.body.torso`); returns the root's and the
    chest's rotations. idx : bones (root, pelvis L/R, spine05..spine01, clavicle L/R,
    shoulder01 L/R); lm : landmarks (left/right hip, left/right shoulder)."""
    root = idx[0]
    lh, rh, ls, rs = lm[0], lm[1], lm[2], lm[3]
    R_root = frame_pair(T, anchors, lh, rh, lh, rh, ls, rs)
    s_root = _diag(g, bone_scale[root], g)
    mid_hip_b = 0.5 * (anchors[lh] + anchors[rh])
    mid_hip_t = 0.5 * (T[lh] + T[rh])
    root_head = mid_hip_t - _mv(_mm(R_root, s_root), mid_hip_b - bone_heads[root])
    _place(root, R_root, s_root, root_head, min(trust[lh], trust[rh]), rotations, stretch, heads, confidence)
    for side in range(2):
        j, hip = idx[1 + side], lm[side]
        head = _carry(j, parents, parent_offsets, rotations, stretch, heads)
        rot, st = _stretch_to(j, hip, head, R_root, T, anchors, bone_heads, g)
        _place(j, rot, st, head, trust[hip], rotations, stretch, heads, confidence)

    # The spine shares the rotation from the pelvis to the chest, stretched to the shoulders.
    R_chest = frame_pair(T, anchors, ls, rs, lh, rh, ls, rs)
    spine = idx[3:8]
    rots = slerp_many(R_root, R_chest, spine_blend)
    points = np.empty((6, 3))
    for k in range(5):
        points[k] = bone_heads[spine[k]]
    points[5] = 0.5 * (anchors[ls] + anchors[rs])
    held = bone_scale[spine[2]]
    base = _carry(spine[0], parents, parent_offsets, rotations, stretch, heads)
    s_spine = chain_scale(
        points, rots, base, 0.5 * (T[ls] + T[rs]), g, chain_range[0] * held, chain_range[1] * held
    )
    conf = min(trust[ls], trust[rs])
    place_chain(spine, rots, s_spine, g, conf, parents, parent_offsets, rotations, stretch, heads, confidence)

    # The clavicles and shoulder01 (one transform each side), landing the shoulders.
    for side in range(2):
        clav, sh01, sh = idx[8 + side], idx[10 + side], lm[2 + side]
        head = _carry(clav, parents, parent_offsets, rotations, stretch, heads)
        rot, st = _stretch_to(clav, sh, head, R_chest, T, anchors, bone_heads, g)
        _place(clav, rot, st, head, trust[sh], rotations, stretch, heads, confidence)
        head = _carry(sh01, parents, parent_offsets, rotations, stretch, heads)
        _place(sh01, rot, st, head, trust[sh], rotations, stretch, heads, confidence)
    return R_root, R_chest


#: The torso's solve, compiled (see :func:`tryon.body.torso.solve_torso` for the arguments).
solve_torso_kernel = _solve_torso
