"""Skinning: pure functions over a bone palette.

A palette is (J, 3, 4) float32: bone j's affine map from bind model metres to the posed
frame (camera metres in the engine). ``palette[j] @ [x, y, z, 1]``.

Linear blend skinning, run on every garment and the occluder each frame, is one compiled pass
over the vertices (:func:`_lbs`: blend each vertex's bones' maps, move its position and normal,
renormalise), float32 throughout as the vectorised form it replaced (the same values, bit for
bit), without its (V, k, 12) gather and (V, 3, 4) temporaries.
"""

from __future__ import annotations

import numpy as np

from tryon.body.mannequin import SkinWeights
from tryon.jit import compiled


@compiled
def _lbs(positions, normals, bones, weights, flat, out_p, out_n):
    """Per vertex v: ``m = sum_k weights[v, k] * flat[bones[v, k]]`` (12,), then ``out_p[v] =
    m[:, :3] @ positions[v] + m[:, 3]`` and, where ``normals`` has rows, ``out_n[v] = m[:, :3]
    @ normals[v]`` renormalised (float32 throughout)."""
    V, K = bones.shape
    do_normals = normals.shape[0] == V
    tiny = np.float32(1e-12)
    m = np.empty(12, np.float32)
    for v in range(V):
        for c in range(12):
            m[c] = 0
        for k in range(K):
            w = weights[v, k]
            b = bones[v, k]
            for c in range(12):
                m[c] += w * flat[b, c]
        x, y, z = positions[v, 0], positions[v, 1], positions[v, 2]
        for i in range(3):
            out_p[v, i] = (m[4 * i] * x + m[4 * i + 1] * y + m[4 * i + 2] * z) + m[4 * i + 3]
        if do_normals:
            a, b_, c_ = normals[v, 0], normals[v, 1], normals[v, 2]
            n0 = m[0] * a + m[1] * b_ + m[2] * c_
            n1 = m[4] * a + m[5] * b_ + m[6] * c_
            n2 = m[8] * a + m[9] * b_ + m[10] * c_
            d = max(np.sqrt(n0 * n0 + n1 * n1 + n2 * n2), tiny)
            out_n[v, 0], out_n[v, 1], out_n[v, 2] = n0 / d, n1 / d, n2 / d


_NO_NORMALS = np.zeros((0, 3), np.float32)


def linear_blend_skinning(
    positions: np.ndarray, skin: SkinWeights, palette: np.ndarray, normals: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Linear blend skinning.

    positions : (V, 3) bind model metres. palette : (J, 3, 4). normals : (V, 3) or None.
    Returns posed positions (V, 3) float32 and, if given, posed normals (V, 3) float32
    (transformed by the blended linear part and renormalised).
    """
    f32 = np.float32
    p = np.ascontiguousarray(positions, dtype=f32)
    flat = np.ascontiguousarray(np.asarray(palette).reshape(len(palette), 12), dtype=f32)
    bones = np.ascontiguousarray(skin.bones)
    weights = np.ascontiguousarray(skin.weights, dtype=f32)
    if p.shape != (len(bones), 3) or (normals is not None and np.shape(normals) != p.shape):
        raise ValueError(f"positions {p.shape}, normals {np.shape(normals)} and skin ({len(bones)}) must match")
    if len(bones) and not 0 <= bones.min() <= bones.max() < len(flat):
        raise ValueError(f"skin bones must index the palette's {len(flat)} bones")
    out = np.empty((len(p), 3), f32)
    if normals is None:
        _lbs(p, _NO_NORMALS, bones, weights, flat, out, _NO_NORMALS)
        return out, None
    n = np.empty((len(p), 3), f32)
    _lbs(p, np.ascontiguousarray(normals, dtype=f32), bones, weights, flat, out, n)
    return out, n


@compiled
def _fma32(a, b, c):
    """float32 ``a * b + c`` rounded once (a float32 product is exact in float64), as the
    BLAS matrix product's fused multiply-adds give it (OpenBLAS on FMA CPUs: the rigid items'
    vertices bit-identical to ``points @ M.T`` there, within an ulp elsewhere)."""
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


@compiled
def _affine_rows(points, M, t, out, unit):
    """``out[v] = M @ points[v] + t`` (float32, the products' sums as numpy's ``points @ M.T``
    forms them: fused multiply-adds in order), renormalised where ``unit``."""
    tiny = np.float32(1e-12)
    for v in range(points.shape[0]):
        x, y, z = points[v, 0], points[v, 1], points[v, 2]
        a = _fma32(z, M[0, 2], _fma32(y, M[0, 1], x * M[0, 0])) + t[0]
        b = _fma32(z, M[1, 2], _fma32(y, M[1, 1], x * M[1, 0])) + t[1]
        c = _fma32(z, M[2, 2], _fma32(y, M[2, 1], x * M[2, 0])) + t[2]
        if unit:
            d = max(np.sqrt(a * a + b * b + c * c), tiny)
            a, b, c = a / d, b / d, c / d
        out[v, 0], out[v, 1], out[v, 2] = a, b, c


def rigid_transform(positions: np.ndarray, transform: np.ndarray, normals: np.ndarray | None = None):
    """Apply one (3, 4) transform to (V, 3) points (and normals, by the inverse transpose,
    renormalised); for rigidly attached items. float32, one compiled pass each."""
    f32 = np.float32
    A = np.asarray(transform[:, :3], dtype=f32)
    p = np.ascontiguousarray(positions, dtype=f32)
    out = np.empty((len(p), 3), f32)
    _affine_rows(p, np.ascontiguousarray(A), np.ascontiguousarray(transform[:, 3], dtype=f32), out, False)
    if normals is None:
        return out, None
    nrm = np.ascontiguousarray(normals, dtype=f32)
    n = np.empty((len(nrm), 3), f32)
    _affine_rows(nrm, np.ascontiguousarray(np.linalg.inv(A).astype(f32)), np.zeros(3, f32), n, True)
    return out, n


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) quaternions (w, x, y, z)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def _rotation_to_quaternions(R: np.ndarray) -> np.ndarray:
    """(J, 3, 3) rotations -> (J, 4) unit quaternions (w, x, y, z)."""
    from tryon.body.rotations import to_quaternion

    return np.stack([to_quaternion(r) for r in R])


def dual_quaternion_skinning(
    positions: np.ndarray,
    skin: SkinWeights,
    rotations: np.ndarray,
    translations: np.ndarray,
    scales: np.ndarray | None = None,
    normals: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Dual quaternion skinning: blends rigid bone motions without the volume loss
    ("candy wrapper") linear blending shows at twisted joints.

    rotations : (J, 3, 3), translations : (J, 3): the rigid part of each bone's motion.
    scales : optional (J, 3, 4) affine maps applied in the bind frame before the rigid
    motion (a bone's stretch about its head), blended linearly: DQS itself only blends
    rigid motions.
    """
    q = _rotation_to_quaternions(np.asarray(rotations, dtype=np.float64))  # (J, 4)
    t = np.concatenate([np.zeros((len(q), 1)), np.asarray(translations, dtype=np.float64)], axis=1)
    qd = 0.5 * _quat_mul(t, q)  # dual part
    w = skin.weights.astype(np.float64)
    qv = q[skin.bones]  # (V, k, 4)
    # Keep every quaternion in the hemisphere of the vertex's main influence.
    sign = np.sign(np.einsum("vkc,vc->vk", qv, qv[:, 0]))
    sign[sign == 0] = 1.0
    ws = w * sign
    b0 = np.einsum("vk,vkc->vc", ws, qv)
    be = np.einsum("vk,vkc->vc", ws, qd[skin.bones])
    norm = np.linalg.norm(b0, axis=1, keepdims=True)
    b0 /= norm
    be /= norm
    p = np.asarray(positions, dtype=np.float64)
    if scales is not None:
        S = np.einsum("vk,vkij->vij", w, np.asarray(scales, dtype=np.float64)[skin.bones])
        p = np.einsum("vij,vj->vi", S[:, :, :3], p) + S[:, :, 3]
    w0, v0 = b0[:, :1], b0[:, 1:]
    we, ve = be[:, :1], be[:, 1:]
    rotated = p + 2.0 * np.cross(v0, np.cross(v0, p) + w0 * p)
    trans = 2.0 * (w0 * ve - we * v0 + np.cross(v0, ve))
    out = (rotated + trans).astype(np.float32)
    if normals is None:
        return out, None
    n = np.asarray(normals, dtype=np.float64)
    n = n + 2.0 * np.cross(v0, np.cross(v0, n) + w0 * n)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return out, n.astype(np.float32)
