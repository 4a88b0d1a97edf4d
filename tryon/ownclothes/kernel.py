"""The own-clothes stage's per-pixel passes, compiled with numba (``nogil``, cached beside this
file by ``cache=True``): each replaces a run of numpy and OpenCV calls whose per-call overhead,
not their arithmetic, was the stage's cost on the engine's GL thread.

- :func:`fill_regions`: the posed proxy's triangles rasterized per body region. OpenCV's
  ``fillPoly`` spends about 2 microseconds converting each of the proxy's ~740 camera-facing
  triangles before drawing a pixel; here one loop draws them all. Coordinates are working px
  with pixel centres on the integers (OpenCV's drawing convention); a pixel is drawn when its
  centre lies inside the triangle or within half a pixel of an edge (as OpenCV's 8-connected
  edges draw the pixels an edge passes through).
- :func:`removal`: the removal mask, one pass over the person's box.
- :func:`blend_fill`: the removed pixels replaced in the frame, one pass over the region.
- :func:`masked_sums`: the clean plate's exposure against the frame's.
- :func:`premultiply`, :func:`pull`, :func:`steady_fill`: the push-pull inpainting's levels.

Without numba :func:`fill_regions` and :func:`blend_fill` are None (the callers take the
OpenCV path); the others run as plain Python, slowly.
"""

from __future__ import annotations

import math

import numpy as np

from tryon.jit import compiled, compiled_or_none


def _fill_regions(pos, nrm, flesh_m, cam, faces, face_region, out):
    """Draw into ``out`` (R, h, w) uint8 the value 255 for each triangle ``faces[f]`` (F, 3)
    that faces the camera, in region ``face_region[f]``, of the body at ``pos`` (V, 3) camera
    metres (OpenCV frame, the camera at the origin) grown ``flesh_m`` along its normals ``nrm``
    (V, 3). cam = (fx, fy, cx, cy, x0, y0): the camera in working px, and the working px of
    ``out``'s (0, 0). Returns False (nothing drawn) when a vertex is not in front of the
    camera (z <= 5 cm) or not finite.

    Only the faces turned toward the camera are drawn (the back faces cover the same pixels):
    (b - a) x (c - a) . a = a . (b x c) < 0."""
    V = pos.shape[0]
    p = np.empty((V, 3), np.float64)
    px = np.empty((V, 2), np.float64)
    for i in range(V):
        for c in range(3):
            p[i, c] = pos[i, c] + nrm[i, c] * flesh_m
        z = p[i, 2]
        if not z > 0.05:
            return False
        px[i, 0] = cam[0] * p[i, 0] / z + cam[2] - cam[4]
        px[i, 1] = cam[1] * p[i, 1] / z + cam[3] - cam[5]
        if not (math.isfinite(px[i, 0]) and math.isfinite(px[i, 1])):
            return False
    pos = p
    h, w = out.shape[1], out.shape[2]
    for f in range(faces.shape[0]):
        i, j, k = faces[f, 0], faces[f, 1], faces[f, 2]
        bcx = pos[j, 1] * pos[k, 2] - pos[j, 2] * pos[k, 1]
        bcy = pos[j, 2] * pos[k, 0] - pos[j, 0] * pos[k, 2]
        bcz = pos[j, 0] * pos[k, 1] - pos[j, 1] * pos[k, 0]
        if pos[i, 0] * bcx + pos[i, 1] * bcy + pos[i, 2] * bcz >= 0.0:
            continue
        r = face_region[f]
        ax, ay = px[faces[f, 0], 0], px[faces[f, 0], 1]
        bx, by = px[faces[f, 1], 0], px[faces[f, 1], 1]
        cx, cy = px[faces[f, 2], 0], px[faces[f, 2], 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0.0:
            continue
        sign = 1.0 if area > 0 else -1.0
        # Half a pixel of slack along each edge, in edge-function units (|edge| px).
        t0 = 0.5 * math.hypot(bx - ax, by - ay)
        t1 = 0.5 * math.hypot(cx - bx, cy - by)
        t2 = 0.5 * math.hypot(ax - cx, ay - cy)
        x0 = max(int(math.ceil(min(ax, bx, cx) - 0.5)), 0)
        x1 = min(int(math.floor(max(ax, bx, cx) + 0.5)), w - 1)
        y0 = max(int(math.ceil(min(ay, by, cy) - 0.5)), 0)
        y1 = min(int(math.floor(max(ay, by, cy) + 0.5)), h - 1)
        for y in range(y0, y1 + 1):
            row = out[r, y]
            for x in range(x0, x1 + 1):
                # The three edge tests without branches (their outcome changes from px to px).
                inside = (
                    (sign * ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) >= -t0)
                    & (sign * ((cx - bx) * (y - by) - (cy - by) * (x - bx)) >= -t1)
                    & (sign * ((ax - cx) * (y - cy) - (ay - cy) * (x - cx)) >= -t2)
                )
                row[x] |= np.uint8(255) * np.uint8(inside)
    return True


#: The compiled loop, or None where numba is not installed.
fill_regions = compiled_or_none(_fill_regions)


def _blend_fill(
    out, frame, roi, mask, seg, seg_scale, seg_r, seg_edge, acc, gain, known, use_plate, inp, inp_origin, use_inp,
    strength,
):
    """Write into ``out`` (H, W, 3) uint8 over frame ``roi`` = (x0, y0, x1, y1): ``frame`` with
    the removed pixels replaced, in one pass (what the OpenCV path does in eight).

    mask : (h, w) uint8 {0, 255}, what is removed at the working size (bilinear up to the frame).
    seg : the person mask (sh, sw) float32, ``seg_scale`` = (qx, qy) its px per frame px
    (nearest): the shopper changes only where it is above ``seg_edge`` and within ``seg_r`` of
    its px (a square) of one above 0.5 (its soft edge, where their clothes' outline lies,
    changes too; the scene beyond it never). acc : (H, W, 3) float32, the clean plate, times
    ``gain`` (3,) float64; known : (h, w) uint8 {0, 1}, where it is known (bilinear: the weight
    of the plate against the inpainted fill). inp : (ih, iw, 3) uint8, the inpainted fill at
    the working size, its px (0, 0) at working px ``inp_origin`` (bilinear). use_plate /
    use_inp : which fills there are (with only one, it fills everything). strength : the
    items' opacity."""
    H, W = frame.shape[0], frame.shape[1]
    h, w = mask.shape[0], mask.shape[1]
    sx, sy = w / W, h / H
    gh, gw = seg.shape[0], seg.shape[1]
    ih, iw = inp.shape[0], inp.shape[1]
    qx, qy = seg_scale[0], seg_scale[1]
    x0, y0, x1, y1 = roi[0], roi[1], roi[2], roi[3]
    s = strength / 255.0
    # Per column, once: the working px either side, the weight of the right one, the gate's px.
    n = x1 - x0
    ca = np.empty(n, np.int64)
    cb = np.empty(n, np.int64)
    cf = np.empty(n, np.float64)
    cg = np.empty(n, np.int64)
    co = np.empty(n, np.int64)
    for i in range(n):
        co[i] = (x0 + i) * w // W  # the working px the frame px lies in (its plate was learnt with it)
        u = (x0 + i + 0.5) * sx - 0.5
        j = int(math.floor(u))
        cf[i] = u - j
        ca[i], cb[i] = min(max(j, 0), w - 1), min(max(j + 1, 0), w - 1)
        cg[i] = min(max(int(math.floor((x0 + i + 0.5) * qx)), 0), gw - 1)
    # Per working px x, the columns whose left tap is x: group[x] to group[x + 1].
    group = np.searchsorted(ca, np.arange(w + 1))
    # Per working row, the span of columns with anything removed (a frame row samples two).
    lo = np.full(h, w, np.int64)
    hi = np.zeros(h, np.int64)
    for y in range(h):
        for x in range(w):
            if mask[y, x]:
                lo[y] = min(lo[y], x)
                hi[y] = x + 1
    g0, g1, g2 = np.float32(gain[0]), np.float32(gain[1]), np.float32(gain[2])
    half, one = np.float32(0.5), np.float32(1.0)
    for Y in range(y0, y1):
        v = (Y + 0.5) * sy - 0.5
        j = int(math.floor(v))
        fy = v - j
        ya, yb = min(max(j, 0), h - 1), min(max(j + 1, 0), h - 1)
        left, right = min(lo[ya], lo[yb]), max(hi[ya], hi[yb])
        if right == 0:
            continue
        gy = min(max(int(math.floor((Y + 0.5) * qy)), 0), gh - 1)
        seg_row, mask_a, mask_b = seg[gy], mask[ya], mask[yb]
        o, fr, pl = out[Y], frame[Y], acc[Y]
        ky = Y * h // H  # the working row the frame row lies in (its plate was learnt with it)
        # The columns whose taps reach [left, right) (ca and cb grow with i), a working px's
        # columns at a time (those with ca = x): skipped together where neither of their
        # working px in either row is removed (a coat's two sides leave the torso between).
        for x in range(max(left - 1, 0), right):
            xn = min(x + 1, w - 1)
            if mask_a[x] == 0 and mask_b[x] == 0 and mask_a[xn] == 0 and mask_b[xn] == 0:
                continue
            for i in range(group[x], group[x + 1]):
                xa, xb = ca[i], cb[i]
                m00, m01, m10, m11 = mask_a[xa], mask_a[xb], mask_b[xa], mask_b[xb]
                if m00 == 0 and m01 == 0 and m10 == 0 and m11 == 0:
                    continue
                gx = cg[i]
                sv = seg_row[gx]
                if not sv > seg_edge:
                    continue
                if not sv > 0.5 and not _near_person(seg, gx, gy, seg_r):
                    continue
                X = x0 + i
                fx = cf[i]
                if m00 == m01 and m00 == m10 and m00 == m11:
                    m = np.float32(m00)
                else:
                    m = np.float32((m00 * (1.0 - fx) + m01 * fx) * (1.0 - fy) + (m10 * (1.0 - fx) + m11 * fx) * fy)
                a = m * s
                b = one - a
                if use_plate and not use_inp:
                    if known[ky, co[i]] == 0:
                        continue  # the plate never learnt this frame px, and there is nothing else
                    o[X, 0] = np.uint8(min(a * pl[X, 0] * g0 + b * fr[X, 0] + half, np.float32(255.0)))
                    o[X, 1] = np.uint8(min(a * pl[X, 1] * g1 + b * fr[X, 1] + half, np.float32(255.0)))
                    o[X, 2] = np.uint8(min(a * pl[X, 2] * g2 + b * fr[X, 2] + half, np.float32(255.0)))
                    continue
                k = np.float32(1.0) if use_plate else np.float32(0.0)
                if use_plate and known[ky, co[i]] == 0:
                    k = np.float32(0.0)  # the plate never learnt this frame px (its neighbour it did)
                elif use_plate:
                    k00, k01, k10, k11 = known[ya, xa], known[ya, xb], known[yb, xa], known[yb, xb]
                    if not (k00 == k01 and k00 == k10 and k00 == k11):
                        k = np.float32((k00 * (1.0 - fx) + k01 * fx) * (1.0 - fy) + (k10 * (1.0 - fx) + k11 * fx) * fy)
                    else:
                        k = np.float32(k00)
                pa = pb = qa = qb = 0
                wx = wz = np.float32(0.0)
                if k < 1.0:
                    iu, iv = (X + 0.5) * sx - 0.5 - inp_origin[0], (Y + 0.5) * sy - 0.5 - inp_origin[1]
                    ix, iy = int(math.floor(iu)), int(math.floor(iv))
                    wx, wz = np.float32(iu - ix), np.float32(iv - iy)
                    pa, pb = min(max(ix, 0), iw - 1), min(max(ix + 1, 0), iw - 1)
                    qa, qb = min(max(iy, 0), ih - 1), min(max(iy + 1, 0), ih - 1)
                for c in range(3):
                    f = np.float32(0.0)
                    if use_plate and k > 0.0:
                        f += k * pl[X, c] * gain[c]
                    if k < 1.0:
                        top = inp[qa, pa, c] * (one - wx) + inp[qa, pb, c] * wx
                        bot = inp[qb, pa, c] * (one - wx) + inp[qb, pb, c] * wx
                        f += (one - k) * (top * (one - wz) + bot * wz)
                    o[X, c] = np.uint8(min(max(a * f + b * fr[X, c] + half, np.float32(0.0)), np.float32(255.0)))


def _near_person_py(seg, gx, gy, r):
    """Whether the person mask ``seg`` is above 0.5 within ``r`` px (a square) of (gx, gy)."""
    gh, gw = seg.shape[0], seg.shape[1]
    for b in range(max(gy - r, 0), min(gy + r + 1, gh)):
        for a in range(max(gx - r, 0), min(gx + r + 1, gw)):
            if seg[b, a] > 0.5:
                return True
    return False


_near_person = compiled(_near_person_py)


#: The one-pass blend, or None where numba is not installed.
blend_fill = compiled_or_none(_blend_fill)


def _removal(
    regions, kept, covered, element, d_clothes, reach_clothes, rows_clothes, d_feet, reach_feet, rows_feet,
    d_other, unsure, in_box, head, held, held_reach2, d_hands, extra, keepout, keepout_scale, lab, skin, skin_tol2,
    out,
):
    """What is removed, one pass over the person's box (bh, bw) at the working size; writes
    ``out`` (bh, bw) uint8 {0, 255} and returns its bounding box (x0, y0, x1, y1), x1 == 0 when
    empty. Mirrors, pixel for pixel, the steps :func:`tryon.ownclothes.mask.removal_mask`
    describes:

    zone : within ``reach_clothes`` of the dressed parts (distance ``d_clothes``, (bh, bw)
    float32) in the rows ``rows_clothes`` (bh,) uint8 the clothes cover, or within
    ``reach_feet`` of the feet (``d_feet``) in ``rows_feet``; nearer to those than to the other
    limbs (``d_other``); not ``unsure`` (uint8, near a guessed limb); on the person (``in_box``).
    keep : the regions (``regions`` (R, bh, bw) uint8) flagged ``kept``; those flagged
    ``covered`` eroded by ``element`` (uint8 (k, k), centred); the head's ellipse ``head`` =
    (cx, cy, ax, ay_above, ay_below) (upper half to ay_above, lower to ay_below); what the hands
    hold, each row of ``held`` (n, 7) = (cx, cy, radius, wrist x, wrist y, ux, uy) a disc cut at
    the wrist, kept on the side the unit vector (ux, uy) points to (columns 7-8: the knuckles),
    and out to sqrt(``held_reach2``) radii, ahead of the knuckles (within 60 degrees of
    (ux, uy)), what is nearer to the hands (``d_hands`` (bh, bw) float32; (1, 1): unused) than
    to the dressed parts (a hat hanging from the fingers); ``extra`` (uint8,
    (bh, bw) or (1, 1) unused); ``keepout`` (the part of it over the box, any size) above 0.25,
    sampled bilinear, ``keepout_scale`` = its px per box px (x, y) (a (1, 1) keepout: unused).
    skin : pixels within sqrt(``skin_tol2``) of ``skin`` (3,) in Lab (``lab`` (bh, bw, 3) uint8;
    (1, 1, 3): unused) are kept."""
    bh, bw = out.shape[0], out.shape[1]
    R = regions.shape[0]
    e = element.shape[0] // 2
    use_extra = extra.shape[0] == bh and extra.shape[1] == bw
    use_keepout = keepout.shape[0] > 1
    kh, kw = keepout.shape[0], keepout.shape[1]
    use_skin = lab.shape[0] == bh and lab.shape[1] == bw
    use_feet = d_feet.shape[0] == bh
    use_clothes = d_clothes.shape[0] == bh
    use_other = d_other.shape[0] == bh
    use_hands = d_hands.shape[0] == bh and d_hands.shape[1] == bw
    # The covered parts' union, once (eroded per pixel below).
    cov = np.zeros((bh, bw), np.uint8)
    any_cov = False
    for r in range(R):
        if covered[r]:
            any_cov = True
            for y in range(bh):
                for x in range(bw):
                    if regions[r, y, x]:
                        cov[y, x] = 1
    bx0, by0, bx1, by1 = bw, bh, 0, 0
    for y in range(bh):
        for x in range(bw):
            out[y, x] = 0
            if not in_box[y, x] or unsure[y, x]:
                continue
            d = 1e30
            z = False
            if use_clothes:
                d = d_clothes[y, x]
                z = rows_clothes[y] != 0 and d <= reach_clothes
            if use_feet:
                df = d_feet[y, x]
                z = z or (rows_feet[y] != 0 and df <= reach_feet)
                d = min(d, df)
            if not z:
                continue
            if use_other and not d < d_other[y, x]:
                continue
            keep = False
            for r in range(R):
                if kept[r] and regions[r, y, x]:
                    keep = True
                    break
            if keep:
                continue
            if any_cov and cov[y, x]:
                inner = True
                for j in range(-e, e + 1):
                    for i in range(-e, e + 1):
                        if element[j + e, i + e] == 0:
                            continue
                        yy, xx = y + j, x + i
                        if 0 <= yy < bh and 0 <= xx < bw and cov[yy, xx] == 0:
                            inner = False
                if inner:
                    continue
            # (OpenCV's filled ellipse takes the pixels its outline passes through: half a pixel
            # more all round; the wrist's cut, likewise, half a pixel past the wrist.)
            dx = (x - head[0]) / (head[2] + 0.5)
            dy = y - head[1]
            dy = dy / (head[3] + 0.5) if dy <= 0 else dy / (head[4] + 0.5)
            if dx * dx + dy * dy <= 1.0:
                continue
            hold = False
            by_hand = use_hands and d_hands[y, x] < d
            for n in range(held.shape[0]):
                px, py = x - held[n, 0], y - held[n, 1]
                r2 = px * px + py * py
                if r2 <= held[n, 2] * held[n, 2]:
                    if (x - held[n, 3]) * held[n, 5] + (y - held[n, 4]) * held[n, 6] > 0.5:
                        hold = True
                elif by_hand and r2 <= held_reach2 * held[n, 2] * held[n, 2]:
                    kx, ky = x - held[n, 7], y - held[n, 8]
                    if kx * held[n, 5] + ky * held[n, 6] > 0.5 * math.sqrt(kx * kx + ky * ky):
                        hold = True
            if hold:
                continue
            if use_extra and extra[y, x]:
                continue
            if use_keepout:
                u = (x + 0.5) * keepout_scale[0] - 0.5
                v = (y + 0.5) * keepout_scale[1] - 0.5
                i0, j0 = int(math.floor(u)), int(math.floor(v))
                fx, fy = u - i0, v - j0
                xa, xb = min(max(i0, 0), kw - 1), min(max(i0 + 1, 0), kw - 1)
                ya, yb = min(max(j0, 0), kh - 1), min(max(j0 + 1, 0), kh - 1)
                k = (keepout[ya, xa] * (1.0 - fx) + keepout[ya, xb] * fx) * (1.0 - fy) + (
                    keepout[yb, xa] * (1.0 - fx) + keepout[yb, xb] * fx
                ) * fy
                if k > 0.25:
                    continue
            if use_skin:
                s = 0.0
                for c in range(3):
                    t = float(lab[y, x, c]) - skin[c]
                    s += t * t
                if s < skin_tol2:
                    continue
            out[y, x] = 255
            bx0, by0, bx1, by1 = min(bx0, x), min(by0, y), max(bx1, x + 1), max(by1, y + 1)
    if bx1 == 0:
        return 0, 0, 0, 0
    return bx0, by0, bx1, by1


#: The one-pass removal mask (plain Python, slow, where numba is not installed).
removal = compiled(_removal)


def _hole_counts(mask, known, box, out):
    """Over ``box`` = (x0, y0, x1, y1) of ``mask`` (h, w) uint8 (what is removed) and ``known``
    ((h, w) uint8 {0, 1}, what the plate knows; (1, 1): nothing): ``out`` (3,) int64 = (px the
    plate knows, px removed, px removed that the plate knows)."""
    use_known = known.shape[0] == mask.shape[0] and known.shape[1] == mask.shape[1]
    out[0] = out[1] = out[2] = 0
    for y in range(box[1], box[3]):
        for x in range(box[0], box[2]):
            k = use_known and known[y, x] != 0
            if k:
                out[0] += 1
            if mask[y, x]:
                out[1] += 1
                if k:
                    out[2] += 1


#: The removed and known px counted in one pass (plain Python, slow, where numba is not installed).
hole_counts = compiled(_hole_counts)


def _masked_sums(now, then, count, known_after, hidden, out):
    """Sums per channel of ``now`` and ``then`` ((h, w, 3) uint8) over the pixels the plate
    knows (``count`` (h, w) uint8 at least ``known_after``) that ``hidden`` ((h, w) uint8, or
    (1, 1): none) does not hide: ``out`` (7,) float64 = (pixels, now's three, then's three)."""
    h, w = count.shape[0], count.shape[1]
    use_hidden = hidden.shape[0] == h and hidden.shape[1] == w
    # Whole numbers, summed in local integers (exact, in any order; the array is written once).
    n = a0 = a1 = a2 = b0 = b1 = b2 = 0
    for y in range(h):
        for x in range(w):
            if count[y, x] < known_after or (use_hidden and hidden[y, x]):
                continue
            n += 1
            a0 += now[y, x, 0]
            a1 += now[y, x, 1]
            a2 += now[y, x, 2]
            b0 += then[y, x, 0]
            b1 += then[y, x, 1]
            b2 += then[y, x, 2]
    out[0], out[1], out[2], out[3], out[4], out[5], out[6] = n, a0, a1, a2, b0, b1, b2


#: The masked sums, compiled (plain Python, slow, where numba is not installed).
masked_sums = compiled(_masked_sums)


def _premultiply(img, valid, out):
    """``out`` (h, w, 4) float32 = (``img`` (h, w, 3) uint8 times ``valid`` (h, w) uint8 {0, 1},
    ``valid``): the push-pull fill's finest level, its weight in the fourth channel."""
    h, w = valid.shape[0], valid.shape[1]
    for y in range(h):
        for x in range(w):
            v = 1.0 if valid[y, x] else 0.0
            for c in range(3):
                out[y, x, c] = img[y, x, c] * v
            out[y, x, 3] = v


def _pull(level, up, out):
    """One level of the push-pull fill on the way up: ``out`` (h, w, 3) float32 = ``up`` (the
    coarser level brought up) moved toward the level's own mean (``level`` (h, w, 4): weighted
    colours, weight) as far as the level's weight says (all the way from a weight of 0.5)."""
    h, w = up.shape[0], up.shape[1]
    for y in range(h):
        for x in range(w):
            m = level[y, x, 3]
            a = min(m * 2.0, 1.0)
            d = max(m, 1e-6)
            for c in range(3):
                out[y, x, c] = up[y, x, c] + a * (level[y, x, c] / d - up[y, x, c])


def _steady_fill(new, last, last_hole, steady, hole, frame, out):
    """The inpainted frame: ``out`` (h, w, 3) uint8 = ``frame`` outside ``hole`` ((h, w) uint8),
    the fill ``new`` (h, w, 3) float32 in it. Where the last frame's hole (``last_hole``; (1, 1):
    none) covered it too, ``new`` first keeps ``steady`` of the last fill ``last`` (in place)."""
    h, w = hole.shape[0], hole.shape[1]
    use_last = last_hole.shape[0] == h and last_hole.shape[1] == w
    for y in range(h):
        for x in range(w):
            if not hole[y, x]:
                for c in range(3):
                    out[y, x, c] = frame[y, x, c]
                continue
            blend = use_last and last_hole[y, x] != 0
            for c in range(3):
                v = new[y, x, c]
                if blend:
                    v = steady * last[y, x, c] + (1.0 - steady) * v
                    new[y, x, c] = v
                out[y, x, c] = min(max(int(abs(v) + 0.5), 0), 255)


premultiply = compiled(_premultiply)
pull = compiled(_pull)
steady_fill = compiled(_steady_fill)

