"""The tracking stage's inner loops, compiled with numba: the robust per-region similarity fit
of :func:`tryon.track.flow.fit_region_motion` and its carrying of unmeasured regions, the
features' regions (:func:`tryon.track.regions.assign_regions`), each point's image motion and
the per-point filters (:mod:`tryon.track.fusion`). In numpy these are a hundred-odd array
calls (or numpy scalar operations) on a hundred features, and the calls' overhead was most of
the stage's own cost; here each is one pass. The same Python functions run uncompiled where numba is missing (slow,
same results). Compiled on first use and cached beside this file (numba's ``cache=True``).

Units: image px. Region indices are ints in [0, R).
"""

from __future__ import annotations

import math

import numpy as np

from tryon.jit import compiled


def _fit_similarities(p0, p1, r, n_regions, lam, iterations):
    """Per region, the Tukey-weighted least-squares similarity ``z1 = m z0 + t`` (complex image
    px, m = a + ib) of features at p0 -> p1 (N, 2) px in region ``r`` (N,; -1: none, left
    out), started from the region's median shift; ``lam`` (px^2) draws m toward 1 as if the
    features spread that much further. Returns (R, 9) float64 columns: a, b, tx, ty, the
    weighted centre cx, cy of the features' previous positions, the spread's weighted sum
    (prior included), the weights' sum, and the residual RMS (px)."""
    # the features in a region, in their order
    keep = np.empty(r.shape[0], np.int64)
    n = 0
    for i in range(r.shape[0]):
        if r[i] >= 0:
            keep[n] = i
            n += 1
    x0, y0, x1, y1 = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    rk = np.empty(n, np.int64)
    for k in range(n):
        i = keep[k]
        x0[k], y0[k], x1[k], y1[k], rk[k] = p0[i, 0], p0[i, 1], p1[i, 0], p1[i, 1], r[i]
    r = rk
    R = n_regions
    counts = np.zeros(R, np.int64)
    for i in range(n):
        counts[r[i]] += 1
    # start: each region's median shift; features far from it weigh little from the outset
    mx = np.zeros(R)
    my = np.zeros(R)
    for g in range(R):
        c = counts[g]
        if c == 0:
            continue
        vx = np.empty(c)
        vy = np.empty(c)
        k = 0
        for i in range(n):
            if r[i] == g:
                vx[k] = x1[i] - x0[i]
                vy[k] = y1[i] - y0[i]
                k += 1
        mx[g] = np.median(vx)
        my[g] = np.median(vy)
    w = np.empty(n)
    for i in range(n):
        g = r[i]
        cutoff = 2.0 + 0.5 * math.sqrt(mx[g] * mx[g] + my[g] * my[g])  # px
        ex = x1[i] - x0[i] - mx[g]
        ey = y1[i] - y0[i] - my[g]
        u = 1.0 - (ex * ex + ey * ey) / (cutoff * cutoff)
        w[i] = u * u if u > 0.0 else 0.0
    out = np.zeros((R, 9))
    for g in range(R):
        out[g, 0] = 1.0
        out[g, 2] = mx[g]
        out[g, 3] = my[g]
        out[g, 6] = 1.0
        out[g, 8] = 1.0
    e2 = np.empty(n)
    for _ in range(iterations):
        s = np.zeros((R, 8))
        for i in range(n):
            g = r[i]
            wi = w[i]
            s[g, 0] += wi
            s[g, 1] += wi * x0[i]
            s[g, 2] += wi * y0[i]
            s[g, 3] += wi * x1[i]
            s[g, 4] += wi * y1[i]
            s[g, 5] += wi * (x0[i] * x0[i] + y0[i] * y0[i])
            s[g, 6] += wi * (x0[i] * x1[i] + y0[i] * y1[i])
            s[g, 7] += wi * (x0[i] * y1[i] - y0[i] * x1[i])
        for g in range(R):
            sw = s[g, 0]
            sws = max(sw, 1e-9)
            c0x, c0y, c1x, c1y = s[g, 1] / sws, s[g, 2] / sws, s[g, 3] / sws, s[g, 4] / sws
            # centred sums from raw ones: sum w|z0 - c0|^2 = sum w|z0|^2 - sw|c0|^2, and so on
            den = s[g, 5] - sw * (c0x * c0x + c0y * c0y) + lam * sw
            dens = max(den, 1e-9)
            a = (s[g, 6] - sw * (c0x * c1x + c0y * c1y) + lam * sw) / dens
            b = (s[g, 7] - sw * (c0x * c1y - c0y * c1x)) / dens
            out[g, 0] = a
            out[g, 1] = b
            out[g, 2] = c1x - (a * c0x - b * c0y)
            out[g, 3] = c1y - (b * c0x + a * c0y)
            out[g, 4] = c0x
            out[g, 5] = c0y
            out[g, 6] = den
            out[g, 7] = sw
        acc = np.zeros(R)
        for i in range(n):
            g = r[i]
            a, b = out[g, 0], out[g, 1]
            ex = x1[i] - (a * x0[i] - b * y0[i] + out[g, 2])
            ey = y1[i] - (b * x0[i] + a * y0[i] + out[g, 3])
            e2[i] = ex * ex + ey * ey
            acc[g] += w[i] * e2[i]
        for g in range(R):
            out[g, 8] = math.sqrt(acc[g] / max(out[g, 7], 1e-9))
        for i in range(n):
            sd = 3.0 * max(out[r[i], 8], 0.05)
            u = 1.0 - e2[i] / (sd * sd)
            w[i] = u * u if u > 0.0 else 0.0
    return out


#: The compiled fit (the plain function where numba is not installed).
fit_similarities = compiled(_fit_similarities)


def _carry_regions(
    a, b, t, c0, spread, noise, sw, ok, borrowed, extra, parent, trunk,
    articulation_px, held_below_px, rigid_noise_px, articulation_per_motion,
):  # fmt: skip
    """The regions not measured whose parent moved, carried by it (in place; see
    :func:`tryon.track.flow.fit_region_motion`): each takes its parent's motion, is flagged
    ``borrowed``, and its prediction's variance ``extra`` (px^2) grows by how far it may move on
    its own. ``parent`` (R,): each region's parent index (-1: none; parents come first)."""
    R = a.shape[0]
    # how much the measured limbs move on their own (relative to the trunk's motion where they
    # are): an unmeasured limb of a dancing body may do as much, of a swaying one hardly any
    own2 = 0.0
    if ok[trunk]:
        k = 0
        for g in range(R):
            if g == trunk or not ok[g]:
                continue
            cx, cy = c0[g, 0], c0[g, 1]
            ex = (a[g] - a[trunk]) * cx - (b[g] - b[trunk]) * cy + t[g, 0] - t[trunk, 0]
            ey = (b[g] - b[trunk]) * cx + (a[g] - a[trunk]) * cy + t[g, 1] - t[trunk, 1]
            own2 += ex * ex + ey * ey
            k += 1
        if k > 0:
            own2 /= k
    rigid = math.isfinite(rigid_noise_px)
    for i in range(R):  # parents come first
        q = parent[i]
        if ok[i] or q < 0 or not (ok[q] or borrowed[q]):
            continue
        borrowed[i] = True
        a[i], b[i], t[i, 0], t[i, 1], c0[i, 0], c0[i, 1] = a[q], b[q], t[q, 0], t[q, 1], c0[q, 0], c0[q, 1]
        spread[i], noise[i], sw[i] = spread[q], noise[q], sw[q]
        # a limb carried by a parent that did not move is held (its own motion, if any, shows
        # as the keypoints' persistent disagreement); by a moving one it may move on its own
        sx = (a[q] - 1.0) * c0[q, 0] - b[q] * c0[q, 1] + t[q, 0]
        sy = b[q] * c0[q, 0] + (a[q] - 1.0) * c0[q, 1] + t[q, 1]
        moved2 = sx * sx + sy * sy
        held = min(1.0, moved2 / held_below_px**2) if held_below_px > 0.0 else 1.0
        # a parent whose own features do not move as one (a dancer's loose shirt) is no rigid
        # carrier: its limbs may move as fast as it does
        loose = 0.0
        if rigid:
            loose = min(1.0, max(noise[q] - rigid_noise_px, 0.0) / rigid_noise_px)
        extra[i] = extra[q] + held * (articulation_px**2 + articulation_per_motion**2 * (own2 + loose * moved2))


#: The compiled carrying of unmeasured regions (the plain function where numba is missing).
carry_regions = compiled(_carry_regions)


def _assign_regions(p, start, end, radius_px, trunk, trunk_preference):
    """(N,) int64: the region of each point (N, 2) px whose capsule (start (R, 2), end (R, 2)
    px, radius (R,) px) it lies deepest in, the trunk's depth counting ``trunk_preference``
    times; -1 where it lies in none (see :func:`tryon.track.regions.assign_regions`)."""
    n = p.shape[0]
    R = start.shape[0]
    out = np.empty(n, np.int64)
    for i in range(n):
        best, best_rank, best_depth = -1, np.inf, np.inf
        for g in range(R):
            abx, aby = end[g, 0] - start[g, 0], end[g, 1] - start[g, 1]
            denom = max(abx * abx + aby * aby, 1e-9)
            ux, uy = p[i, 0] - start[g, 0], p[i, 1] - start[g, 1]
            s = min(max((ux * abx + uy * aby) / denom, 0.0), 1.0)
            ex, ey = p[i, 0] - (start[g, 0] + s * abx), p[i, 1] - (start[g, 1] + s * aby)
            depth = math.sqrt(ex * ex + ey * ey) / radius_px[g]
            rank = depth * trunk_preference if g == trunk else depth
            if rank < best_rank:
                best, best_rank, best_depth = g, rank, depth
        out[i] = best if best_depth <= 1.0 else -1
    return out


#: The compiled region assignment (the plain function where numba is missing).
assign_capsules = compiled(_assign_regions)


def _displacement(x, y, shift_only, membership, a, b, tx, ty, cx, cy, spread, noise, features, ok, borrowed, extra):
    """The image motion of one point at (x, y) px moving with the regions weighted by its
    ``membership`` row (R,); see :meth:`tryon.track.flow.RegionMotion.displacement_px`.
    Returns (dx, dy, standard error, support)."""
    R = membership.shape[0]
    wsum = 0.0
    support = 0.0
    for g in range(R):
        m = membership[g]
        if m == 0.0:
            continue
        if ok[g]:
            wsum += m
            support += m
        elif borrowed[g]:
            wsum += m
            support += 0.5 * m
    dx = 0.0
    dy = 0.0
    var = 0.0
    if wsum <= 0.0:
        return dx, dy, var, support
    for g in range(R):
        m = membership[g]
        if m == 0.0 or not (ok[g] or borrowed[g]):
            continue
        wn = m / max(wsum, 1e-9)
        if shift_only:
            # the region's shift where its features are: its turn is not carried out to a point
            # the picture does not show
            px, py, lever2 = cx[g], cy[g], 0.0
        else:
            px, py = x, y
            lever2 = (x - cx[g]) ** 2 + (y - cy[g]) ** 2
        dx += wn * ((a[g] - 1.0) * px - b[g] * py + tx[g])
        dy += wn * (b[g] * px + (a[g] - 1.0) * py + ty[g])
        v = noise[g] ** 2 * (1.0 + lever2 / max(spread[g], 1e-6)) / max(features[g], 1.0) + extra[g]
        var += wn * wn * v
    return dx, dy, math.sqrt(var), support


def _displacements(points, shift_only, membership, a, b, t, c, spread, noise, features, ok, borrowed, extra):
    """(N, 4) columns dx, dy (px), standard error (px) and support for points (N, 2) px."""
    n = points.shape[0]
    out = np.empty((n, 4))
    for i in range(n):
        dx, dy, sd, sup = _displacement(
            points[i, 0], points[i, 1], shift_only[i], membership[i],
            a, b, t[:, 0], t[:, 1], c[:, 0], c[:, 1], spread, noise, features, ok, borrowed, extra,
        )  # fmt: skip
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = dx, dy, sd, sup
    return out


_displacement = compiled(_displacement, inline=True)
#: The compiled per-point image motion (the plain function where numba is not installed).
displacements = compiled(_displacements)


def _correct_point(x, p, z, r, rejected, seen, gate, max_rejected):
    """The gated Kalman update of one point (isotropic): x, z (D,) modified in place (x).
    Returns (p, rejected count, rejected this frame)."""
    D = x.shape[0]
    e2 = 0.0
    for k in range(D):
        e2 += (z[k] - x[k]) ** 2
    reject = seen and e2 / (p + r) > gate * gate
    rejected = rejected + 1 if reject else 0
    relock = rejected > max_rejected
    if relock:
        # re-lock: the point's uncertainty grows to its miss, so the gain takes it over
        p = p + e2
        rejected = 0
    if reject and not relock:
        return p, rejected, True
    gain = p / (p + r)
    for k in range(D):
        x[k] += gain * (z[k] - x[k])
    return (1.0 - gain) * p, rejected, False


def _fuse(
    x, p, xw, pw, rejected, rejected_w, nis_run, s_last, d_last, z_last, has_z_last, fb_last, has_fb_last,
    z, zw, fb, fbw, r, rw, motion_d, scale, frames, torso_edges, hips,
    still_sigma, motion_sigma, measurement_lag, consistency, consistency_alpha, consistency_clip, held_below,
    held_alpha, held_consistency, with_body_below, with_body_points, held_flow_share, unmeasured_sigma, gate,
    max_rejected,
    world_still_sigma, world_motion_sigma, suspect, rejected_now, with_body,
):  # fmt: skip
    """One frame of :class:`tryon.track.fusion.KeypointFusion` for all points; the state (x, p,
    xw, pw, rejected, rejected_w, nis_run, s_last, d_last, z_last, fb_last) is updated in place,
    and the flags ``suspect``, ``rejected_now`` and ``with_body`` (N,) written. motion_d (N, 4): each point's
    image motion dx, dy, its standard error and support (:func:`displacements`)."""
    n = x.shape[0]
    x_prev = x.copy()
    # the body's own image motion: the hips' (the world landmarks' origin), where measured
    hx, hy = 0.0, 0.0
    body_seen = motion_d[hips[0], 3] > 0.0 and motion_d[hips[1], 3] > 0.0
    if body_seen:
        hx = 0.5 * (motion_d[hips[0], 0] + motion_d[hips[1], 0])
        hy = 0.5 * (motion_d[hips[0], 1] + motion_d[hips[1], 1])
    for i in range(n):
        dx, dy, sd, sup = motion_d[i, 0], motion_d[i, 1], motion_d[i, 2], motion_d[i, 3]
        seen = sup > 0.0
        speed = math.sqrt(dx * dx + dy * dy)
        # moving with the body (still on it: not articulating) as the image shows
        rel = math.sqrt((dx - hx) ** 2 + (dy - hy) ** 2)
        with_body[i] = with_body_points[i] and seen and body_seen and rel < with_body_below * scale
        r_still = r[i]
        ri = r[i] + (measurement_lag * speed) ** 2
        if seen:
            # predict by the image's motion. Where the keypoints disagree with it more than the
            # two noises allow (cloth sliding over a dancing body, features on a passing arm),
            # the image's motion is not the body's: its uncertainty grows until that is explained
            # a held point's image motion is mostly the features' own noise, which does not add up
            # from frame to frame as a moving point's errors do (the features are followed, not
            # found afresh): only held_flow_share of its variance is added
            share = held_flow_share if speed < held_below * scale else 1.0
            q = share * sd * sd + (motion_sigma * speed) ** 2 + frames * (still_sigma * scale) ** 2
            # a point the image shows still on the body (held, or carried by the body's own
            # motion): a lasting disagreement is the keypoint's (the pose model's reading wanders
            # in plateaus of up to a second), followed only beyond held_consistency
            limit = held_consistency if with_body[i] else consistency
            q += max(nis_run[i] - limit, 0.0) * s_last[i]
            xi0, xi1, pi = x[i, 0] + dx, x[i, 1] + dy, p[i] + q
        else:
            # unmeasured: the point moves as the smoothed pose does, and the keypoints weigh more
            xi0, xi1 = x[i, 0], x[i, 1]
            if has_fb_last:
                xi0 += fb[i, 0] - fb_last[i, 0]
                xi1 += fb[i, 1] - fb_last[i, 1]
            pi = p[i] + (unmeasured_sigma * scale) ** 2
        y0, y1 = z[i, 0] - xi0, z[i, 1] - xi1
        # A sudden image motion the keypoint does not share (a hand passing in front of the chest
        # carried the trunk's features along): far more than the keypoint's own step and than the
        # image's motion a frame before, and leaving the keypoint beyond the gate. This frame's
        # motion is not believed; the point stays, uncertain by that motion.
        if has_z_last:
            step = math.sqrt((z[i, 0] - z_last[i, 0]) ** 2 + (z[i, 1] - z_last[i, 1]) ** 2)
        else:
            step = speed
        before = math.sqrt(d_last[i, 0] ** 2 + d_last[i, 1] ** 2)
        margin = gate * math.sqrt(pi + r_still)
        sus = seen and (y0 * y0 + y1 * y1 > margin * margin) and speed > 2.0 * max(step, before) + margin
        suspect[i] = sus
        if sus:
            d_last[i, 0], d_last[i, 1] = 0.0, 0.0
            xi0, xi1 = x_prev[i, 0], x_prev[i, 1]
            pi += speed * speed
            y0, y1 = z[i, 0] - xi0, z[i, 1] - xi1
        else:
            d_last[i, 0], d_last[i, 1] = dx, dy
        nis = 0.5 * (y0 * y0 + y1 * y1) / (pi + ri)
        alpha = consistency_alpha
        if speed < held_below * scale:
            # held (the image shows it still): one frame's disagreement counts at most
            # consistency_clip, so a lone spike is not taken for persistent drift, and the
            # disagreement is averaged longer (held_alpha), so the pose model's wandering for
            # a few frames is not either
            nis = min(nis, consistency_clip)
            alpha = held_alpha
        nis_run[i] = (1.0 - alpha) * nis_run[i] + alpha * nis if seen else 1.0
        s_last[i] = pi + ri
        x[i, 0], x[i, 1] = xi0, xi1
        p[i], rejected[i], rejected_now[i] = _correct_point(x[i], pi, z[i], ri, rejected[i], seen, gate, max_rejected)
    for i in range(n):
        z_last[i, 0], z_last[i, 1] = z[i, 0], z[i, 1]
        fb_last[i, 0], fb_last[i, 1] = fb[i, 0], fb[i, 1]

    # world landmarks: held unless the image shows the point moving on the body (relative to the
    # hips); metres per image px from the trunk's four edges
    sw2 = 0.0
    si2 = 0.0
    for e in range(torso_edges.shape[0]):
        i0, i1 = torso_edges[e, 0], torso_edges[e, 1]
        sw2 += (xw[i0, 0] - xw[i1, 0]) ** 2 + (xw[i0, 1] - xw[i1, 1]) ** 2
        si2 += (x[i0, 0] - x[i1, 0]) ** 2 + (x[i0, 1] - x[i1, 1]) ** 2
    m_per_px = math.sqrt(sw2 / max(si2, 1e-6))
    for i in range(n):
        seen = motion_d[i, 3] > 0.0
        if seen:
            rel_m = math.sqrt((motion_d[i, 0] - hx) ** 2 + (motion_d[i, 1] - hy) ** 2) * m_per_px
            pwi = pw[i] + (world_motion_sigma * rel_m) ** 2 + frames * world_still_sigma**2
        else:
            for k in range(3):
                xw[i, k] = fbw[i, k]
            pwi = rw[i]
        pw[i], rejected_w[i], _ = _correct_point(xw[i], pwi, zw[i], rw[i], rejected_w[i], seen, gate, max_rejected)


_correct_point = compiled(_correct_point, inline=True)
#: The compiled fusion step (the plain function where numba is not installed).
fuse = compiled(_fuse)
