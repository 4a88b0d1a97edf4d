"""The posed proxy's triangles rasterized per body region, compiled with numba.

OpenCV's ``fillPoly`` spends about 2 microseconds converting each of the proxy's ~740
camera-facing triangles before drawing a pixel (1.5 ms a frame, whatever the size); here one
loop draws them all, at a few tens of microseconds. Compiled on first use and cached beside
this file (numba's ``cache=True``); without numba :func:`fill_regions` is None and the
caller draws with OpenCV.

Coordinates are working px with pixel centres on the integers (OpenCV's drawing convention).
A pixel is drawn when its centre lies inside the triangle or within half a pixel of an edge
(as OpenCV's 8-connected edges draw the pixels an edge passes through).
"""

from __future__ import annotations

import math

try:  # numba is pinned in requirements.lock; without it OpenCV draws the triangles
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is missing
    njit = None


def _fill_regions(pos, px, faces, face_region, out):
    """Draw into ``out`` (R, h, w) uint8 the value 255 for each triangle ``faces[f]`` (F, 3)
    that faces the camera, in region ``face_region[f]``. pos : (V, 3) float64 camera metres
    (OpenCV frame, the camera at the origin); px : (V, 2) float64 their working px.

    Only the faces turned toward the camera are drawn (the back faces cover the same pixels):
    (b - a) x (c - a) . a = a . (b x c) < 0."""
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
            for x in range(x0, x1 + 1):
                if sign * ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) < -t0:
                    continue
                if sign * ((cx - bx) * (y - by) - (cy - by) * (x - bx)) < -t1:
                    continue
                if sign * ((ax - cx) * (y - cy) - (ay - cy) * (x - cx)) < -t2:
                    continue
                out[r, y, x] = 255


#: The compiled loop, or None where numba is not installed.
fill_regions = njit(cache=True, nogil=True)(_fill_regions) if njit is not None else None
