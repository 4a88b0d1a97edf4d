"""The compositor: rendered items over the camera frame, on the CPU with OpenCV (the edge
smoothing's per-px means compiled).

Premultiplied "over" (no dark fringe at soft edges), pixel for pixel, only inside the
region the items cover; optionally mirrored for the kiosk view. No GL: the renderer hands
over an :class:`~tryon.render.renderer.ItemLayer`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.jit import compiled
from tryon.render.types import ItemLayer


@dataclass(frozen=True)
class Coverage:
    """Where the items cover the frame, kept compactly: ``a8`` (h, w) uint8 over ``roi``
    (x0, y0, x1, y1) of a frame ``size`` (width, height), ``mirrored`` with the image."""

    a8: np.ndarray | None
    roi: tuple[int, int, int, int]
    size: tuple[int, int]
    mirrored: bool = False

    def to_float(self) -> np.ndarray:
        """(H, W) float32 in [0, 1] over the whole frame."""
        w, h = self.size
        alpha = np.zeros((h, w), np.float32)
        if self.a8 is not None:
            x0, y0, x1, y1 = self.roi
            np.multiply(self.a8, np.float32(1.0 / 255.0), out=alpha[y0:y1, x0:x1])
        return cv2.flip(alpha, 1) if self.mirrored else alpha


@dataclass(frozen=True)
class Composite:
    """image : (H, W, 3) uint8 BGR. coverage : the items' coverage; ``alpha`` gives it as
    (H, W) float32 in [0, 1] (mirrored along with the image), built on first access."""

    image: np.ndarray
    coverage: Coverage

    @functools.cached_property
    def alpha(self) -> np.ndarray:
        return self.coverage.to_float()


def _reflect(i: int, n: int) -> int:
    """Index ``i`` (one past either end at most) reflected into [0, n) as OpenCV's default
    border (BORDER_REFLECT_101: ``gfedcb|abcdefgh|gfedcba``)."""
    if n == 1:
        return 0
    if i < 0:
        return -i
    if i >= n:
        return 2 * n - 2 - i
    return i


_reflect_c = compiled(_reflect, inline=True)


def _mean9(bgra, y, x, c):
    """The 3x3 mean of channel ``c`` of ``bgra`` (h, w, 4) uint8 around (y, x), as OpenCV's
    ``blur`` (reflected border, rounded; never a half: 9 is odd)."""
    h, w = bgra.shape[0], bgra.shape[1]
    t = 0
    if 0 < y < h - 1 and 0 < x < w - 1:
        for j in range(y - 1, y + 2):
            t += bgra[j, x - 1, c] + bgra[j, x, c] + bgra[j, x + 1, c]
    else:
        for j in range(y - 1, y + 2):
            for i in range(x - 1, x + 2):
                t += bgra[_reflect_c(j, h), _reflect_c(i, w), c]
    return (2 * t + 9) // 18


_mean9_c = compiled(_mean9, inline=True)


def _blur_steps(bgra, step, level, out):
    """Where ``step`` (h, w) uint8 is above ``level``, ``out`` (h, w, 4) uint8 (a copy of
    ``bgra``) takes the 3x3 mean of ``bgra``. Returns whether any px did."""
    h, w = bgra.shape[0], bgra.shape[1]
    found = False
    for y in range(h):
        for x in range(w):
            if step[y, x] > level:
                found = True
                for c in range(4):
                    out[y, x, c] = _mean9_c(bgra, y, x, c)
    return found


#: The steps' blur in one pass over the layer (plain Python, slowly, where numba is missing).
blur_steps = compiled(_blur_steps)


#: Coverage steps (a 3x3 morphological gradient) above this are smoothed.
EDGE_STEP = 96
_SQUARE3 = np.ones((3, 3), np.uint8)


def coverage_steps(bgra: np.ndarray) -> np.ndarray:
    """(h, w) uint8: how sharply the coverage of ``bgra`` (h, w, 4) steps at each px (its 3x3
    morphological gradient)."""
    return cv2.morphologyEx(cv2.extractChannel(bgra, 3), cv2.MORPH_GRADIENT, _SQUARE3)


def smooth_edges(bgra: np.ndarray) -> np.ndarray:
    """Edge-aware anti-aliasing of a premultiplied layer (an alternative to MSAA, which
    costs a software rasterizer several times more): where coverage steps sharply, replace
    the pixel by the 3x3 mean of the premultiplied layer, which is exactly the area average
    of colour and coverage. Smooth areas and interiors are left untouched (and the layer
    itself comes back when nothing steps). The mean is taken only at those px, in one
    compiled pass (a whole-layer blur and a masked copy were most of the cost)."""
    out = bgra.copy()
    return out if blur_steps(np.ascontiguousarray(bgra), coverage_steps(bgra), EDGE_STEP, out) else bgra


class Compositor:
    """Lays item layers over camera frames: ``out = frame * (1 - a) + item`` (premultiplied).

    antialias : smooth the items' hard edges (see :func:`smooth_edges`).
    """

    def __init__(self, antialias: bool = True) -> None:
        self.antialias = antialias

    def composite(self, frame_bgr: np.ndarray, layer: ItemLayer, mirror: bool = False) -> Composite:
        h, w = frame_bgr.shape[:2]
        if layer.size != (w, h):
            raise ValueError(f"the items were rendered for {layer.size}, the frame is {(w, h)}")
        image = frame_bgr.copy()
        a8 = None
        if not layer.empty:
            x0, y0, x1, y1 = layer.roi
            fg = smooth_edges(layer.bgra) if self.antialias else layer.bgra
            a8 = cv2.extractChannel(fg, 3)
            inv = cv2.merge([255 - a8] * 3)
            roi = image[y0:y1, x0:x1]
            under = cv2.multiply(roi, inv, scale=1.0 / 255.0)
            cv2.add(under, cv2.cvtColor(fg, cv2.COLOR_BGRA2BGR), dst=roi)
        if mirror:
            image = cv2.flip(image, 1)
        return Composite(image, Coverage(a8, layer.roi, (w, h), mirror))

    def passthrough(self, frame_bgr: np.ndarray, mirror: bool = False) -> Composite:
        """No items: the frame (mirrored if asked) and zero coverage."""
        h, w = frame_bgr.shape[:2]
        image = cv2.flip(frame_bgr, 1) if mirror else frame_bgr.copy()
        return Composite(image, Coverage(None, (0, 0, 0, 0), (w, h), mirror))
