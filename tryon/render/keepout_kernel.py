"""The keep-out's per-pixel passes over the hair's box, compiled with numba (``nogil``, cached
beside this file): each replaces a run of numpy calls over the box whose per-call overhead,
not their arithmetic, was the cost on the engine's GL thread. The arithmetic is numpy's, in the
same float32 steps, so the masks are the same pixel for pixel.

- :func:`crown_seed`: the hair's colour sample, the top rows of the person over the head.
- :func:`hair_candidates`: pixels of the person closer to the hair's colour than to the skin's
  and near the hair's colour, off the face and the throat.

Where numba is missing the same functions run as plain Python (slowly, the same results).
"""

from __future__ import annotations

import numpy as np

from tryon.jit import compiled


def _crown_seed(person, c0, c1, eye_row, depth, seed):
    """Write into ``seed`` (bh, bw) uint8 {0, 1} the crown of the person mask ``person``
    (bh, bw) uint8 {0, 1}: in each column of [c0, c1), from the column's first person px above
    row ``eye_row`` (exclusive; at least the first row is looked at) down ``depth`` rows, not
    past ``eye_row``, where it is the person. Returns how many px that is, or -1 when no column
    has a person px above ``eye_row`` (nothing to sample)."""
    seed[:] = 0
    above = max(1, eye_row)
    found = False
    n = 0
    for x in range(c0, c1):
        top = -1
        for y in range(min(above, person.shape[0])):
            if person[y, x]:
                top = y
                break
        if top < 0:
            continue
        found = True
        for y in range(top, min(top + depth, eye_row)):
            if person[y, x]:
                seed[y, x] = 1
                n += 1
    return n if found else -1


crown_seed = compiled(_crown_seed)


def _hair_candidates(lab, person, face, centre, spread, skin, tol2, throat, out):
    """Write into ``out`` (bh, bw) uint8 {0, 1}: the px of ``lab`` (bh, bw, 3) uint8 (OpenCV's
    8-bit Lab) on the person (``person`` uint8 {0, 1}) and off the face (``face`` uint8 {0, 1})
    whose colour is within ``tol2`` (float32, a squared distance in units of ``spread``) of the
    hair's ``centre`` and closer to it than to the ``skin`` (centre, spread, skin: (3,) float32),
    outside the ``throat`` box (y0, y1, x0, x1)."""
    bh, bw = lab.shape[0], lab.shape[1]
    c0, c1, c2 = centre[0], centre[1], centre[2]
    s0, s1, s2 = spread[0], spread[1], spread[2]
    k0, k1, k2 = skin[0], skin[1], skin[2]
    for y in range(bh):
        for x in range(bw):
            out[y, x] = 0
            if not person[y, x] or face[y, x]:
                continue
            if throat[0] <= y < throat[1] and throat[2] <= x < throat[3]:
                continue
            l0, l1, l2 = np.float32(lab[y, x, 0]), np.float32(lab[y, x, 1]), np.float32(lab[y, x, 2])
            h0, h1, h2 = l0 - c0, l1 - c1, l2 - c2
            q0, q1, q2 = h0 / s0, h1 / s1, h2 / s2
            if not q0 * q0 + q1 * q1 + q2 * q2 < tol2:
                continue
            d0, d1, d2 = l0 - k0, l1 - k1, l2 - k2
            if h0 * h0 + h1 * h1 + h2 * h2 < d0 * d0 + d1 * d1 + d2 * d2:
                out[y, x] = 1


hair_candidates = compiled(_hair_candidates)
