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


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors."""
    a0, a1, a2 = float(a[0]), float(a[1]), float(a[2])
    b0, b1, b2 = float(b[0]), float(b[1]), float(b[2])
    return np.array((a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0))


def norm3(v: np.ndarray) -> float:
    return math.sqrt(float(v[0]) ** 2 + float(v[1]) ** 2 + float(v[2]) ** 2)


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vector(s) along the last axis; a single 3-vector takes the fast path."""
    v = np.asarray(v, dtype=np.float64)
    if v.shape == (3,):
        return v / max(norm3(v), EPS)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, EPS)


def frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frame (3, 3) whose columns are (e1, e2, e3): e1 along ``primary``,
    e2 the part of ``secondary`` orthogonal to e1, e3 = e1 x e2 (right-handed)."""
    e1 = normalize(np.asarray(primary, dtype=np.float64))
    s = np.asarray(secondary, dtype=np.float64)
    e2 = s - e1 * float(np.dot(s, e1))
    if norm3(e2) < EPS:  # degenerate: pick any perpendicular
        e2 = cross3(e1, np.array([1.0, 0.0, 0.0] if abs(e1[0]) < 0.9 else [0.0, 1.0, 0.0]))
    e2 = normalize(e2)
    return np.stack([e1, e2, cross3(e1, e2)], axis=1)


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: rotation by ``angle`` radians about unit ``axis``."""
    a = normalize(np.asarray(axis, dtype=np.float64))
    x, y, z = float(a[0]), float(a[1]), float(a[2])
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
    a, b = normalize(np.asarray(a, dtype=np.float64)), normalize(np.asarray(b, dtype=np.float64))
    v = cross3(a, b)
    c = float(np.dot(a, b))
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
    a = normalize(np.asarray(axis, dtype=np.float64))
    c = current - a * float(np.dot(current, a))
    w = wanted - a * float(np.dot(wanted, a))
    if norm3(c) < 1e-6 or norm3(w) < 1e-6:
        return 0.0
    return math.atan2(float(np.dot(cross3(c, w), a)), float(np.dot(c, w)))


def to_quaternion(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> unit quaternion (w, x, y, z)."""
    m = R
    t = np.trace(m)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.asarray(q)
    return q / np.linalg.norm(q)


def from_quaternion(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def slerp(R0: np.ndarray, R1: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two rotations, t in [0, 1]."""
    q0, q1 = to_quaternion(R0), to_quaternion(R1)
    d = float(np.dot(q0, q1))
    if d < 0:
        q1, d = -q1, -d
    if d > 0.9995:
        q = q0 + t * (q1 - q0)
    else:
        th = np.arccos(np.clip(d, -1, 1))
        q = (np.sin((1 - t) * th) * q0 + np.sin(t * th) * q1) / np.sin(th)
    return from_quaternion(q)


def angle_between(R0: np.ndarray, R1: np.ndarray) -> float:
    """Geodesic distance in radians between two rotations."""
    c = (np.trace(R0.T @ R1) - 1.0) / 2.0
    return float(np.arccos(np.clip(c, -1.0, 1.0)))
