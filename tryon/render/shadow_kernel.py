"""The contact shadows' per-sample loop, compiled with numba: each sample of the scene's depth
marched toward the key light, then weighted by how much its surface faces that light (see
:mod:`tryon.render.shadows`). In numpy this was about a hundred array calls on a few thousand
samples (8 march steps, the normals' two slopes), and the calls' overhead was most of the
stage (0.9 ms for one top, 1.6 for a full outfit); here it is one pass. The same Python
function runs uncompiled where numba is missing (slow, same results). Compiled on first use
and cached beside this file (numba's ``cache=True``).

Units: camera metres; the scene's samples on a grid of (h, w); float32 throughout, as the
numpy version computed it.
"""

from __future__ import annotations

import math

import numpy as np

from tryon.jit import compiled


def _side_step(c0, c1, c2, i, j, di, dj, h, w):
    """The step (3 floats) from sample (i, j) to its neighbour along one axis ((di, dj) is
    (1, 0) down a column or (0, 1) along a row), taken on the side whose depth is nearer this
    one's; nan where neither side was drawn. c0, c1, c2 : (h, w) camera x, y, z (nan: nothing
    drawn)."""
    nan = np.float32(np.nan)
    if i - di >= 0 and j - dj >= 0:  # to the one before
        b0 = c0[i, j] - c0[i - di, j - dj]
        b1 = c1[i, j] - c1[i - di, j - dj]
        b2 = c2[i, j] - c2[i - di, j - dj]
    else:
        b0, b1, b2 = nan, nan, nan
    if i + di < h and j + dj < w:  # to the one after
        a0 = c0[i + di, j + dj] - c0[i, j]
        a1 = c1[i + di, j + dj] - c1[i, j]
        a2 = c2[i + di, j + dj] - c2[i, j]
    else:
        a0, a1, a2 = nan, nan, nan
    lo_z, hi_z = abs(b2), abs(a2)
    if not (lo_z >= hi_z) and not math.isnan(lo_z):  # (nan compares false: the other side)
        return b0, b1, b2
    return a0, a1, a2


def _shade_samples(zf, zc, u, v, du, dv, ray_dz, weight, bias, thickness, light, facing_full, out):
    """Fill ``out`` (h, w) float32 with each sample's shadow in [0, 1].

    zf : (h, w) float32 camera z of what was drawn, -inf where nothing was (never shadowed).
    zc : (h, w) float32 camera z of the items (the casters), +inf elsewhere.
    u, v : (w,), (h,) float32 the samples' (x - cx) / fx and (y - cy) / fy.
    du, dv, ray_dz, weight : (S,) the march's steps: the samples' offset to the point the ray
    has reached (int), its depth's change (float32) and the step's weight (float32).
    bias, thickness : float32, the caster's nearness to the ray that counts as a hit.
    light : (3,) float32 unit direction toward the key light. facing_full : float32, the N.L
    from which all of a sample's shadow stays.

    A sample is shadowed by the heaviest step whose ray passes behind an item (nearer than the
    ray by more than ``bias`` and less than ``thickness``); that is then scaled by
    clip(N.L / facing_full, 0, 1), N its surface's normal rebuilt from the depth (each axis'
    slope on the side of the nearer depth; ``facing_full`` itself where it has none)."""
    h, w = zf.shape
    any_shade = False
    for i in range(h):
        for j in range(w):
            s = np.float32(0.0)
            for k in range(du.shape[0]):
                ii, jj = i + dv[k], j + du[k]
                if ii < 0 or ii >= h or jj < 0 or jj >= w:
                    continue  # outside the scene there is no caster
                ray_z = zf[i, j] + ray_dz[k]
                other = zc[ii, jj]
                if other < ray_z - bias and other > ray_z - thickness and weight[k] > s:
                    s = weight[k]
            out[i, j] = s
            if s > 0:
                any_shade = True
    if not any_shade:
        return
    nan = np.float32(np.nan)
    c0 = np.empty((h, w), np.float32)
    c1 = np.empty((h, w), np.float32)
    c2 = np.empty((h, w), np.float32)
    for i in range(h):
        for j in range(w):
            z = zf[i, j] if zf[i, j] > -np.inf else nan
            c0[i, j] = u[j] * z
            c1[i, j] = v[i] * z
            c2[i, j] = z
    for i in range(h):
        for j in range(w):
            if out[i, j] == 0:
                continue
            ay0, ay1, ay2 = _side_step(c0, c1, c2, i, j, 1, 0, h, w)  # down a column
            by0, by1, by2 = _side_step(c0, c1, c2, i, j, 0, 1, h, w)  # along a row
            # (a x b): toward the camera (-z) on a plane facing it
            n0 = ay1 * by2 - ay2 * by1
            n1 = ay2 * by0 - ay0 * by2
            n2 = ay0 * by1 - ay1 * by0
            norm = np.float32(math.sqrt(n0 * n0 + n1 * n1 + n2 * n2))
            if norm > 1e-12:
                nl = (n0 * light[0] + n1 * light[1] + n2 * light[2]) / norm
            else:
                nl = facing_full  # no normal (a lone sample): as before
            f = nl / facing_full
            out[i, j] *= min(max(f, np.float32(0.0)), np.float32(1.0))


def _prepare(z, caster, zf, zc):
    """The march's inputs from the scene's depth ``z`` (h, w) float32 (inf where nothing was
    drawn) and ``caster`` (h, w) bool (an item drawn there): ``zf`` = z, -inf where nothing was
    drawn (never shadowed); ``zc`` = z where an item was drawn, +inf elsewhere. Returns the
    number of drawn samples, of casters among them, the drawn samples' mean row and column, and
    their median depth (0 when none is drawn). One pass (in numpy: some ten calls)."""
    h, w = z.shape
    inf = np.float32(np.inf)
    n = 0
    n_cast = 0
    si = 0.0
    sj = 0.0
    drawn = np.empty(h * w, np.float32)
    for i in range(h):
        for j in range(w):
            d = z[i, j]
            if np.isfinite(d):
                zf[i, j] = d
                zc[i, j] = d if caster[i, j] else inf
                drawn[n] = d
                n += 1
                si += i
                sj += j
                if caster[i, j]:
                    n_cast += 1
            else:
                zf[i, j] = -inf
                zc[i, j] = inf
    if n == 0:
        return 0, 0, 0.0, 0.0, 0.0
    return n, n_cast, si / n, sj / n, float(np.median(drawn[:n]))


_side_step = compiled(_side_step, inline=True)
prepare = compiled(_prepare)
shade_samples = compiled(_shade_samples)
