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

from tryon.cloth.colliders import NORMAL_PUSH_MIN
from tryon.jit import compiled, compiled_or_none


def _substeps(
    x, v, t0, dt_target, n_sub, h, k_spring, c_damp, drag, extra, max_speed,
    free, e0, e1, rest, edge_w, alpha, scale0, scale1,
    radius, gap, halfspace, normals, use_normals,
    collides, ca0, cb0, ca1, cb1, cr, use_caps, margin,
    cref0, cref1, cprofiled, cprofile, cmax, slack, passes, final_passes,
):  # fmt: skip
    """Advance ``x``, ``v`` (modified in place) over ``n_sub`` substeps of ``h`` seconds;
    see ClothSim.step for the meaning of each input. scale0, scale1 : (E,) the Jacobi weight
    of each edge's correction on its first and second particle. cref0, cref1 : (C, 3) the
    capsules' profile reference at the frame's start and end; cprofiled : (C,) bool;
    cprofile : (C, A, R) their radius tables; cmax : (C,) each table's largest radius
    (see :mod:`tryon.cloth.colliders`); slack : (N,) each particle's allowed depth in the
    capsules (ClothModel.capsule_slack_m); passes, final_passes : Jacobi passes over the
    distance constraints a substep before the tethers and after the collisions
    (ClothModel.constraint_passes, final_passes)."""
    n = x.shape[0]
    n_caps = cr.shape[0]
    n_along = cprofile.shape[1]
    n_around = cprofile.shape[2]
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
        # Distance constraints: ``passes`` Jacobi passes.
        for _ in range(passes):
            _constraint_pass(x, corr, e0, e1, rest, edge_w, alpha, scale0, scale1)
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
                    t_raw = (ap0 * ab0 + ap1 * ab1 + ap2 * ab2) / denom
                    t = min(max(t_raw, 0.0), 1.0)
                    d0, d1, d2 = ap0 - t * ab0, ap1 - t * ab1, ap2 - t * ab2
                    dist = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
                    cap_r = cr[c]
                    if cprofiled[c]:
                        if t_raw < 0.0 or t_raw > 1.0 or dist >= cmax[c] + margin - slack[i]:
                            continue
                        cap_r = _profile_radius(cprofile, c, n_along, n_around, t, d0, d1, d2, ab0, ab1, ab2,
                                                 cref0[c, 0] + s * (cref1[c, 0] - cref0[c, 0]),
                                                 cref0[c, 1] + s * (cref1[c, 1] - cref0[c, 1]),
                                                 cref0[c, 2] + s * (cref1[c, 2] - cref0[c, 2]))  # fmt: skip
                    depth = cap_r + margin - dist - slack[i]
                    if depth > 0:
                        f = depth / max(dist, 1e-9)
                        if cprofiled[c] and use_normals:
                            f, s0, s1, s2 = _along_normal(d0, d1, d2, ab0, ab1, ab2, normals[i, 0], normals[i, 1],
                                                          normals[i, 2], dist + depth)  # fmt: skip
                            if f > 0.0:
                                # then radially, by what the profile is thicker at the new angle
                                e0_, e1_, e2_ = d0 + f * s0, d1 + f * s1, d2 + f * s2
                                dist2 = math.sqrt(e0_ * e0_ + e1_ * e1_ + e2_ * e2_)
                                r2 = _profile_radius(cprofile, c, n_along, n_around, t, e0_, e1_, e2_, ab0, ab1, ab2,
                                                     cref0[c, 0] + s * (cref1[c, 0] - cref0[c, 0]),
                                                     cref0[c, 1] + s * (cref1[c, 1] - cref0[c, 1]),
                                                     cref0[c, 2] + s * (cref1[c, 2] - cref0[c, 2]))  # fmt: skip
                                g = max(r2 + margin - slack[i] - dist2, 0.0) / max(dist2, 1e-9)
                                push0 += e0_ * (1.0 + g) - d0
                                push1 += e1_ * (1.0 + g) - d1
                                push2 += e2_ * (1.0 + g) - d2
                                continue
                            f = depth / max(dist, 1e-9)
                        push0 += f * d0
                        push1 += f * d1
                        push2 += f * d2
                x[i, 0] = p0 + push0
                x[i, 1] = p1 + push1
                x[i, 2] = p2 + push2
        # A chain's links close up last (they win over tethers and collisions by a little).
        for it in range(final_passes):
            _gauss_seidel_pass(x, e0, e1, rest, free, alpha, it % 2 == 1)
        for i in range(n):
            for a in range(3):
                v[i, a] = (x[i, a] - xp[i, a]) / h


def _along_normal(d0, d1, d2, ab0, ab1, ab2, n0, n1, n2, out_r):
    """A leg's push on cloth along the cloth's own normal (its side of the leg kept: a hem in
    front of a knee goes forward, not round it): ``d`` the point's offset from the axis
    ``ab``, ``n`` its unit normal; returns (s, dir) with ``d + s * dir`` at ``out_r`` from the
    axis, dir the normal square to the axis; s = 0 when the normal runs along the axis or the
    point is on the far side of the axis from where its normal faces (then the push is
    radial)."""
    inv = 1.0 / max(ab0 * ab0 + ab1 * ab1 + ab2 * ab2, 1e-12)
    nu = (n0 * ab0 + n1 * ab1 + n2 * ab2) * inv
    s0, s1, s2 = n0 - nu * ab0, n1 - nu * ab1, n2 - nu * ab2
    nn = s0 * s0 + s1 * s1 + s2 * s2
    if nn < NORMAL_PUSH_MIN:
        return 0.0, 0.0, 0.0, 0.0
    dn = d0 * s0 + d1 * s1 + d2 * s2
    if dn < 0.0:
        return 0.0, 0.0, 0.0, 0.0
    disc = dn * dn - nn * (d0 * d0 + d1 * d1 + d2 * d2 - out_r * out_r)
    return (-dn + math.sqrt(max(disc, 0.0))) / nn, s0, s1, s2


def _constraint_pass(x, corr, e0, e1, rest, edge_w, alpha, scale0, scale1):
    """One Jacobi pass over the distance constraints (``x`` moved in place; ``corr`` scratch)."""
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
    for i in range(x.shape[0]):
        for a in range(3):
            x[i, a] += corr[i, a]


def _gauss_seidel_pass(x, e0, e1, rest, free, alpha, backward):
    """One Gauss-Seidel pass over the distance constraints (``x`` in place), in edge order or
    ``backward``: each edge's correction seen by the next, so a chain closes up in a few
    passes (alternate directions carry a correction both ways along it)."""
    m = e0.shape[0]
    for jj in range(m):
        j = m - 1 - jj if backward else jj
        p, q = e0[j], e1[j]
        wp = 1.0 if free[p] else 0.0
        wq = 1.0 if free[q] else 0.0
        if wp + wq == 0.0:
            continue
        d0 = x[p, 0] - x[q, 0]
        d1 = x[p, 1] - x[q, 1]
        d2 = x[p, 2] - x[q, 2]
        length = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        g = -(length - rest[j]) / (wp + wq + alpha) / max(length, 1e-12)
        x[p, 0] += wp * g * d0
        x[p, 1] += wp * g * d1
        x[p, 2] += wp * g * d2
        x[q, 0] -= wq * g * d0
        x[q, 1] -= wq * g * d1
        x[q, 2] -= wq * g * d2


def _profile_radius(profile, c, n_along, n_around, t, d0, d1, d2, ab0, ab1, ab2, r0, r1, r2):
    """Capsule ``c``'s profiled radius at share ``t`` of its segment ``ab`` in the direction
    ``d`` across it; ``r`` its zero angle (made square to the segment here): as
    :func:`tryon.cloth.colliders.profile_radius_m`."""
    inv = 1.0 / max(math.sqrt(ab0 * ab0 + ab1 * ab1 + ab2 * ab2), 1e-12)
    u0, u1, u2 = ab0 * inv, ab1 * inv, ab2 * inv
    ru = r0 * u0 + r1 * u1 + r2 * u2
    e0, e1, e2 = r0 - ru * u0, r1 - ru * u1, r2 - ru * u2
    inv = 1.0 / max(math.sqrt(e0 * e0 + e1 * e1 + e2 * e2), 1e-12)
    e0, e1, e2 = e0 * inv, e1 * inv, e2 * inv
    f0, f1, f2 = u1 * e2 - u2 * e1, u2 * e0 - u0 * e2, u0 * e1 - u1 * e0
    angle = math.atan2(d0 * f0 + d1 * f1 + d2 * f2, d0 * e0 + d1 * e1 + d2 * e2)
    if angle < 0.0:
        angle += 2.0 * math.pi
    fa = angle * (n_around / (2.0 * math.pi))
    j0 = min(int(math.floor(fa)), n_around - 1)
    wa = fa - j0
    j1 = (j0 + 1) % n_around
    fl = t * (n_along - 1)
    i0 = min(int(math.floor(fl)), n_along - 2)
    wl = fl - i0
    i1 = i0 + 1
    return (1.0 - wl) * ((1.0 - wa) * profile[c, i0, j0] + wa * profile[c, i0, j1]) + wl * (
        (1.0 - wa) * profile[c, i1, j0] + wa * profile[c, i1, j1]
    )


def _leg_push(x, normals, idx, ca, cb, cref, cprofile, margin, slack, max_push, forward, min_facing, push):
    """Each particle ``idx`` (K,) at ``x`` (N, 3) whose normal's line (square to a capsule's
    axis) meets a capsule in front of it (inside it, or a leg come out through the cloth)
    moved along that line to the capsule's far side, grown by ``margin``, then out radially
    by what the profile is thicker there, less its ``slack`` (N,) (the move it has at bind):
    ``push`` (N, 3) the largest such move of each (at most ``max_push`` metres; zero where
    none). Capsules
    (C,): ends ``ca``, ``cb`` (C, 3), profile reference ``cref`` (C, 3), radius tables
    ``cprofile`` (C, A, R) (see :mod:`tryon.cloth.drape`). Only cloth facing the body's
    ``forward`` (3,) or its back, ``|normal . forward| >= min_facing``, is pushed."""
    n_caps = ca.shape[0]
    n_along = cprofile.shape[1]
    n_around = cprofile.shape[2]
    for ii in range(idx.shape[0]):
        i = idx[ii]
        best = 0.0
        if abs(normals[i, 0] * forward[0] + normals[i, 1] * forward[1] + normals[i, 2] * forward[2]) < min_facing:
            continue
        for c in range(n_caps):
            ab0, ab1, ab2 = cb[c, 0] - ca[c, 0], cb[c, 1] - ca[c, 1], cb[c, 2] - ca[c, 2]
            denom = max(ab0 * ab0 + ab1 * ab1 + ab2 * ab2, 1e-12)
            ap0, ap1, ap2 = x[i, 0] - ca[c, 0], x[i, 1] - ca[c, 1], x[i, 2] - ca[c, 2]
            t = (ap0 * ab0 + ap1 * ab1 + ap2 * ab2) / denom
            if t < 0.0 or t > 1.0:
                continue
            d0, d1, d2 = ap0 - t * ab0, ap1 - t * ab1, ap2 - t * ab2
            nu = (normals[i, 0] * ab0 + normals[i, 1] * ab1 + normals[i, 2] * ab2) / denom
            s0, s1, s2 = normals[i, 0] - nu * ab0, normals[i, 1] - nu * ab1, normals[i, 2] - nu * ab2
            nn = s0 * s0 + s1 * s1 + s2 * s2
            if nn < NORMAL_PUSH_MIN:
                continue
            inv = 1.0 / math.sqrt(nn)
            s0, s1, s2 = s0 * inv, s1 * inv, s2 * inv
            r = _profile_radius(cprofile, c, n_along, n_around, t, s0, s1, s2, ab0, ab1, ab2,
                                cref[c, 0], cref[c, 1], cref[c, 2]) + margin  # fmt: skip
            if r <= 0.0:
                continue
            dn = d0 * s0 + d1 * s1 + d2 * s2
            perp2 = d0 * d0 + d1 * d1 + d2 * d2 - dn * dn
            if perp2 >= r * r:
                continue
            lam = -dn + math.sqrt(r * r - perp2)
            if lam <= 0.0:
                continue
            e0_, e1_, e2_ = d0 + lam * s0, d1 + lam * s1, d2 + lam * s2
            dist2 = math.sqrt(e0_ * e0_ + e1_ * e1_ + e2_ * e2_)
            r2 = _profile_radius(cprofile, c, n_along, n_around, t, e0_, e1_, e2_, ab0, ab1, ab2,
                                 cref[c, 0], cref[c, 1], cref[c, 2])  # fmt: skip
            g = 1.0 + max(r2 + margin - dist2, 0.0) / max(dist2, 1e-9)
            m0, m1, m2 = e0_ * g - d0, e1_ * g - d1, e2_ * g - d2
            mag = math.sqrt(m0 * m0 + m1 * m1 + m2 * m2)
            if mag - slack[i] > best:
                best = mag - slack[i]
                f = min(best, max_push) / max(mag, 1e-12)
                push[i, 0], push[i, 1], push[i, 2] = m0 * f, m1 * f, m2 * f


def _hang_push(push, movable, e0, e1, factor, cost, passes):
    """Carry each particle's push ``push`` (N, 3, modified in place) along the directed
    edges e0 -> e1 (E,) to the ``movable`` (N,) bool particles: scaled by ``factor`` (E,) less
    ``cost`` (E,) metres (its direction kept), where that is longer than the push they have;
    up to ``passes`` passes, until nothing changes (see :func:`tryon.cloth.drape.hang_edges`)."""
    n = push.shape[0]
    mag = np.empty(n)
    for i in range(n):
        mag[i] = math.sqrt(push[i, 0] ** 2 + push[i, 1] ** 2 + push[i, 2] ** 2)
    for _ in range(passes):
        changed = False
        for j in range(e0.shape[0]):
            p, q = e0[j], e1[j]
            if not movable[q] or mag[p] <= 0.0:
                continue
            m = mag[p] * factor[j] - cost[j]
            if m > mag[q] + 1e-9:
                f = m / mag[p]
                for a in range(3):
                    push[q, a] = push[p, a] * f
                mag[q] = m
                changed = True
        if not changed:
            break


def _pieces_moved(pos, labels, rot, origin, dest, out):
    """Each vertex of ``pos`` (V, 3) moved with its piece ``labels`` (V,): ``out`` (V, 3) =
    dest[k] + rot[k] @ (pos - origin[k]); rot (K, 3, 3), origin and dest (K, 3)."""
    for v in range(pos.shape[0]):
        k = labels[v]
        d0 = pos[v, 0] - origin[k, 0]
        d1 = pos[v, 1] - origin[k, 1]
        d2 = pos[v, 2] - origin[k, 2]
        for a in range(3):
            out[v, a] = dest[k, a] + rot[k, a, 0] * d0 + rot[k, a, 1] * d1 + rot[k, a, 2] * d2


_profile_radius = compiled(_profile_radius)
_constraint_pass = compiled(_constraint_pass)
_along_normal = compiled(_along_normal)
_gauss_seidel_pass = compiled(_gauss_seidel_pass)
#: The compiled loop, or None where numba is not installed.
substeps = compiled_or_none(_substeps)
#: A leg's push on a loose garment's targets (runs as Python where numba is missing).
leg_push = compiled(_leg_push)
#: A push hung down a loose garment's cloth and tapered up to its hips (the loop runs as
#: Python where numba is missing).
hang_push = compiled(_hang_push)
#: Rigid pieces moved (a chain's links and pendants), or None where numba is not installed.
pieces_moved = compiled_or_none(_pieces_moved)
