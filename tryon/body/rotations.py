"""Small rotation helpers for the rig solver: frames, swing, twist, slerp. Matrices are
(3, 3) float64 rotation matrices acting on column vectors.

These run a few hundred times per frame on single 3-vectors, where numpy's general
``cross`` and ``linalg.norm`` cost more in overhead than in arithmetic; the 3-vector
versions below are written out by hand.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-9


def clamp(x: float, lo: float, hi: float) -> float:
    """``x`` held within [lo, hi] (a scalar ``np.clip`` without its overhead; NaN stays NaN)."""
    return min(max(x, lo), hi)


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors."""
    a0, a1, a2 = a.tolist() if type(a) is np.ndarray else map(float, a)
    b0, b1, b2 = b.tolist() if type(b) is np.ndarray else map(float, b)
    return np.array((a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0))


def norm3(v: np.ndarray) -> float:
    """Length of a 3-vector (``x**2``, not ``x * x``: the solver's stored results were made so)."""
    x, y, z = v.tolist() if type(v) is np.ndarray else map(float, v)
    return math.sqrt(x**2 + y**2 + z**2)


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vector(s) along the last axis; a single 3-vector takes the fast path."""
    if type(v) is not np.ndarray or v.dtype != np.float64:
        v = np.asarray(v, dtype=np.float64)
    if v.shape == (3,):
        x, y, z = v.tolist()
        return v / max(math.sqrt(x**2 + y**2 + z**2), EPS)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, EPS)


def frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frame (3, 3) whose columns are (e1, e2, e3): e1 along ``primary``,
    e2 the part of ``secondary`` orthogonal to e1, e3 = e1 x e2 (right-handed)."""
    e1 = normalize(primary)
    s = np.asarray(secondary, dtype=np.float64)
    e2 = s - e1 * float(s.dot(e1))
    if norm3(e2) < EPS:  # degenerate: pick any perpendicular
        e2 = cross3(e1, np.array([1.0, 0.0, 0.0] if abs(e1[0]) < 0.9 else [0.0, 1.0, 0.0]))
    e2 = normalize(e2)
    return np.array((e1, e2, cross3(e1, e2))).T.copy()


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: rotation by ``angle`` radians about unit ``axis``."""
    return _rodrigues(normalize(axis), angle)


def twisted(unit_axis: np.ndarray, angle: float, R: np.ndarray) -> np.ndarray:
    """``axis_angle(axis, angle) @ R`` where ``unit_axis`` is ``normalize(axis)``, found once
    for several twists about the same axis; no twist gives ``R`` itself."""
    if angle == 0.0:
        return R
    return _rodrigues(unit_axis, angle) @ R


def _rodrigues(a: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = a.tolist()
    c, s = math.cos(angle), math.sin(angle)
    C = 1.0 - c
    return np.array(
        [
            [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
            [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
            [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
        ]
    )


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``a`` to direction ``b``."""
    a, b = normalize(a), normalize(b)
    v = cross3(a, b)
    c = float(a.dot(b))
    s = norm3(v)
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = cross3(a, np.array([1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0]))
        return axis_angle(perp, math.pi)
    return axis_angle(v / s, math.atan2(s, c))


def twist_angle(axis: np.ndarray, current: np.ndarray, wanted: np.ndarray) -> float:
    """Signed angle about ``axis`` taking ``current``'s perpendicular part to ``wanted``'s.
    Returns 0 when either is (nearly) parallel to the axis."""
    a = normalize(axis)
    c = current - a * float(np.dot(current, a))
    w = wanted - a * float(np.dot(wanted, a))
    if norm3(c) < 1e-6 or norm3(w) < 1e-6:
        return 0.0
    return math.atan2(float(cross3(c, w).dot(a)), float(c.dot(w)))


def _quaternion(R: np.ndarray) -> tuple[float, float, float, float]:
    """(3, 3) rotation -> unit quaternion (w, x, y, z) as Python floats."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = R.tolist()
    t = m00 + m11 + m22
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = (0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s)
    elif m00 > m11 and m00 > m22:
        s = math.sqrt(1.0 + m00 - m11 - m22) * 2
        q = ((m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s)
    elif m11 > m22:
        s = math.sqrt(1.0 + m11 - m00 - m22) * 2
        q = ((m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s)
    else:
        s = math.sqrt(1.0 + m22 - m00 - m11) * 2
        q = ((m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s)
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def _rotation(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Unit quaternion (Python floats; normalized here) -> (3, 3) rotation."""
    n = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def to_quaternion(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> unit quaternion (w, x, y, z)."""
    return np.array(_quaternion(np.asarray(R, dtype=np.float64)))


def from_quaternion(q: np.ndarray) -> np.ndarray:
    """Quaternion (w, x, y, z), normalized here -> (3, 3) rotation."""
    return _rotation(*np.asarray(q, dtype=np.float64).tolist())


def slerp(R0: np.ndarray, R1: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two rotations, t in [0, 1]."""
    return slerp_many(R0, R1, (t,))[0]


def slerp_many(R0: np.ndarray, R1: np.ndarray, ts) -> list[np.ndarray]:
    """:func:`slerp` at each of ``ts`` (the two rotations' quaternions found once). Scalar
    Python arithmetic: a few calls a frame on single quaternions, where numpy's overhead
    would dominate."""
    q0, q1 = _quaternion(R0), _quaternion(R1)
    d = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3]
    if d < 0:
        q1, d = tuple(-c for c in q1), -d
    if d > 0.9995:
        return [_rotation(*(a + t * (b - a) for a, b in zip(q0, q1))) for t in ts]
    th = math.acos(min(max(d, -1.0), 1.0))
    sin_th = math.sin(th)
    out = []
    for t in ts:
        s0, s1 = math.sin((1 - t) * th), math.sin(t * th)
        out.append(_rotation(*((s0 * a + s1 * b) / sin_th for a, b in zip(q0, q1))))
    return out


def angle_between(R0: np.ndarray, R1: np.ndarray) -> float:
    """Geodesic distance in radians between two rotations."""
    c = (np.trace(R0.T @ R1) - 1.0) / 2.0
    return float(np.arccos(np.clip(c, -1.0, 1.0)))
