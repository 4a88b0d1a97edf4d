"""The XPBD substep loop compiled with numba: the same steps, in the same order and with the
same Jacobi averaging, as the numpy reference in :meth:`tryon.cloth.xpbd.ClothSim._substeps_numpy`
(the tests hold the two to 1e-9 m), at a fraction of the cost: a few hundred particles in
numpy spend their time in call overhead (about 40 array calls a substep), here a pass is one
loop. Compiled on first use and cached beside this file (numba's ``cache=True``).

Units: metres, seconds. Arrays are float64 (N, 3) unless said.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is pinned in requirements.lock; without it the numpy reference runs
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is missing
    njit = None


def _substeps(
    x, v, t0, dt_target, n_sub, h, k_spring, c_damp, drag, extra, max_speed,
    free, e0, e1, rest, edge_w, alpha, scale0, scale1,
    radius, gap, halfspace, normals, use_normals,
    collides, ca0, cb0, ca1, cb1, cr, use_caps, margin,
):  # fmt: skip
    """Advance ``x``, ``v`` (modified in place) over ``n_sub`` substeps of ``h`` seconds;
    see ClothSim.step for the meaning of each input. scale0, scale1 : (E,) the Jacobi weight
    of each edge's correction on its first and second particle."""
    n = x.shape[0]
    n_caps = cr.shape[0]
    xp = np.empty_like(x)
    corr = np.empty_like(x)
    target = np.empty(3)
    for k in range(1, n_sub + 1):
        # The pull toward the target, damped relative to it; air drag; move.
        for i in range(n):
            for a in range(3):
                xp[i, a] = x[i, a]
            if not free[i]:
                for a in range(3):
                    x[i, a] = t0[i, a] + k * dt_target[i, a]
                continue
            speed2 = 0.0
            for a in range(3):
                prev_t = t0[i, a] + (k - 1) * dt_target[i, a]
                vt = dt_target[i, a] / h
                rel = v[i, a] - vt
                v[i, a] += h * (-k_spring * (x[i, a] - prev_t) - c_damp * rel - drag * v[i, a] + extra[a])
                speed2 += (v[i, a] - vt) ** 2
            if speed2 > max_speed * max_speed:
                f = max_speed / math.sqrt(speed2)
                for a in range(3):
                    vt = dt_target[i, a] / h
                    v[i, a] = vt + (v[i, a] - vt) * f
            for a in range(3):
                x[i, a] += h * v[i, a]
        # Distance constraints: one Jacobi pass.
        corr[:] = 0.0
        for j in range(e0.shape[0]):
            p, q = e0[j], e1[j]
            d0 = x[p, 0] - x[q, 0]
            d1 = x[p, 1] - x[q, 1]
            d2 = x[p, 2] - x[q, 2]
            length = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
            dlam = -(length - rest[j]) / (edge_w[j] + alpha)
            g = dlam / max(length, 1e-12)
            corr[p, 0] += scale0[j] * g * d0
            corr[p, 1] += scale0[j] * g * d1
            corr[p, 2] += scale0[j] * g * d2
            corr[q, 0] -= scale1[j] * g * d0
            corr[q, 1] -= scale1[j] * g * d1
            corr[q, 2] -= scale1[j] * g * d2
        for i in range(n):
            for a in range(3):
                x[i, a] += corr[i, a]
        # Tethers, then the half-spaces (collisions win over tethers).
        for i in range(n):
            for a in range(3):
                target[a] = t0[i, a] + k * dt_target[i, a]
            o0 = x[i, 0] - target[0]
            o1 = x[i, 1] - target[1]
            o2 = x[i, 2] - target[2]
            dist = math.sqrt(o0 * o0 + o1 * o1 + o2 * o2)
            if dist > radius[i]:
                f = radius[i] / max(dist, 1e-12)
                o0 *= f
                o1 *= f
                o2 *= f
            if use_normals and halfspace[i]:
                depth = -(o0 * normals[i, 0] + o1 * normals[i, 1] + o2 * normals[i, 2]) - gap[i]
                if depth > 0:
                    o0 += normals[i, 0] * depth
                    o1 += normals[i, 1] * depth
                    o2 += normals[i, 2] * depth
            x[i, 0] = target[0] + o0
            x[i, 1] = target[1] + o1
            x[i, 2] = target[2] + o2
        # Capsules (interpolated across the frame): every push from the same point, summed.
        if use_caps:
            s = k / n_sub
            for ii in range(collides.shape[0]):
                i = collides[ii]
                p0, p1, p2 = x[i, 0], x[i, 1], x[i, 2]
                push0 = 0.0
                push1 = 0.0
                push2 = 0.0
                for c in range(n_caps):
                    a0 = ca0[c, 0] + s * (ca1[c, 0] - ca0[c, 0])
                    a1 = ca0[c, 1] + s * (ca1[c, 1] - ca0[c, 1])
                    a2 = ca0[c, 2] + s * (ca1[c, 2] - ca0[c, 2])
                    ab0 = cb0[c, 0] + s * (cb1[c, 0] - cb0[c, 0]) - a0
                    ab1 = cb0[c, 1] + s * (cb1[c, 1] - cb0[c, 1]) - a1
                    ab2 = cb0[c, 2] + s * (cb1[c, 2] - cb0[c, 2]) - a2
                    denom = max(ab0 * ab0 + ab1 * ab1 + ab2 * ab2, 1e-12)
                    ap0, ap1, ap2 = p0 - a0, p1 - a1, p2 - a2
                    t = min(max((ap0 * ab0 + ap1 * ab1 + ap2 * ab2) / denom, 0.0), 1.0)
                    d0, d1, d2 = ap0 - t * ab0, ap1 - t * ab1, ap2 - t * ab2
                    dist = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
                    depth = cr[c] + margin - dist
                    if depth > 0:
                        f = depth / max(dist, 1e-9)
                        push0 += f * d0
                        push1 += f * d1
                        push2 += f * d2
                x[i, 0] = p0 + push0
                x[i, 1] = p1 + push1
                x[i, 2] = p2 + push2
        for i in range(n):
            for a in range(3):
                v[i, a] = (x[i, a] - xp[i, a]) / h


#: The compiled loop, or None where numba is not installed.
substeps = njit(cache=True, nogil=True)(_substeps) if njit is not None else None
