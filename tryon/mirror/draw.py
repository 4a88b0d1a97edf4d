"""Drawing the mirror's interface onto display frames (in place, BGR uint8).

Text is rendered once per (string, size) with a TrueType font (DejaVu Sans when installed,
Pillow's bundled font otherwise) and cached as an alpha mask; panels are cached rounded-corner
masks. Drawing a frame is then a handful of small alpha blends: no per-pixel Python.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tryon.mirror.ui import Button, Hand, Layout

WHITE = (255, 255, 255)
INK = (24, 22, 20)
ACCENT = (176, 150, 18)  # BGR teal
ACCENT_LIGHT = (214, 200, 110)
MUTED = (170, 170, 170)
WARN = (40, 170, 250)
GOOD = (110, 200, 90)

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF")


@functools.lru_cache(maxsize=64)
def _font(size: int, bold: bool) -> ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for d in _FONT_DIRS:
        p = Path(d) / name
        if p.is_file():
            return ImageFont.truetype(str(p), size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


@functools.lru_cache(maxsize=512)
def text_mask(text: str, size: int, bold: bool = True) -> np.ndarray:
    """(h, w) float32 alpha of ``text`` at ``size`` px (cached)."""
    font = _font(max(6, int(size)), bold)
    x0, y0, x1, y1 = font.getbbox(text or " ")
    img = Image.new("L", (max(1, x1 - min(0, x0) + 2), max(1, y1 + 2)), 0)
    ImageDraw.Draw(img).text((-min(0, x0) + 1, 0), text, fill=255, font=font)
    a = np.asarray(img, dtype=np.float32) / 255.0
    rows = np.flatnonzero(a.max(axis=1) > 0)
    if len(rows):  # trim to the ink, keeping the baseline's room below
        a = a[max(0, rows[0] - 1) :]
    return np.ascontiguousarray(a) if a.base is None else a.copy()


def text_size(text: str, size: int, bold: bool = True) -> tuple[int, int]:
    h, w = text_mask(text, size, bold).shape
    return w, h


def fit_size(text: str, max_w: int, size: int, bold: bool = True, min_size: int = 9) -> int:
    """The largest font size <= ``size`` at which ``text`` fits in ``max_w`` px."""
    while size > min_size and text_size(text, size, bold)[0] > max_w:
        size = int(size * 0.9)
    return size


@functools.lru_cache(maxsize=128)
def rounded_mask(w: int, h: int, radius: int) -> np.ndarray:
    """(h, w) float32 antialiased rounded-rectangle alpha (cached)."""
    ss = 4
    img = Image.new("L", (w * ss, h * ss), 0)
    ImageDraw.Draw(img).rounded_rectangle((0, 0, w * ss - 1, h * ss - 1), radius=radius * ss, fill=255)
    return np.asarray(img.resize((w, h), Image.LANCZOS), dtype=np.float32) / np.float32(255.0)


_WEIGHTS: dict[tuple[int, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _weights(alpha: np.ndarray, opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """(1 - a, a) for ``a = alpha * opacity``, cached per mask (masks are cached themselves)."""
    if alpha.base is not None:  # a view (a partial fill): not one of the cached masks
        a = alpha * np.float32(opacity)
        return 1.0 - a, a
    key = (id(alpha), float(opacity))
    hit = _WEIGHTS.get(key)
    if hit is None or hit[0] is not alpha:
        if len(_WEIGHTS) > 4096:
            _WEIGHTS.clear()
        a = alpha * np.float32(opacity) if opacity != 1.0 else alpha
        hit = _WEIGHTS[key] = (alpha, 1.0 - a, a)
    return hit[1], hit[2]


def blend(image: np.ndarray, alpha: np.ndarray, color, x: int, y: int, opacity: float = 1.0) -> None:
    """Paint ``color`` through ``alpha`` (h, w) at (x, y), clipped to the image (in place)."""
    h, w = alpha.shape
    H, W = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    inv, a = _weights(alpha, opacity)
    win = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    roi = image[y0:y1, x0:x1]
    solid = np.empty_like(roi)
    solid[:] = color
    roi[:] = cv2.blendLinear(roi, solid, inv[win], a[win])


def panel(image: np.ndarray, rect, color=INK, opacity: float = 0.62, radius: int | None = None) -> None:
    x, y, w, h = (int(v) for v in rect)
    if w <= 0 or h <= 0:
        return
    r = radius if radius is not None else max(4, min(w, h) // 6)
    blend(image, rounded_mask(w, h, min(r, w // 2, h // 2)), color, x, y, opacity)


def text(
    image: np.ndarray, s: str, x: int, y: int, size: int, color=WHITE, bold=True, anchor="lt", opacity=1.0, shadow=True
):
    """Draw ``s`` with its ``anchor`` ("l"/"c"/"r" + "t"/"m"/"b") at (x, y), over a soft
    dark shadow that keeps it readable on bright rooms. Returns (w, h)."""
    a = text_mask(s, int(size), bold)
    h, w = a.shape
    x0 = int(x) + {"l": 0, "c": -w // 2, "r": -w}[anchor[0]]
    y0 = int(y) + {"t": 0, "m": -h // 2, "b": -h}[anchor[1]]
    if shadow:
        off = max(1, int(size) // 18)
        blend(image, a, (0, 0, 0), x0 + off, y0 + off, 0.55 * opacity)
    blend(image, a, color, x0, y0, opacity)
    return w, h


def ring(image: np.ndarray, center, radius: int, progress: float, color=ACCENT_LIGHT, thickness: int = 6) -> None:
    """A dwell ring: a faint full circle, filled clockwise from 12 o'clock to ``progress``."""
    c = (int(center[0]), int(center[1]))
    cv2.circle(image, c, radius, (60, 60, 60), thickness, cv2.LINE_AA)
    if progress > 0:
        cv2.ellipse(image, c, (radius, radius), -90, 0, 360 * min(1.0, progress), color, thickness, cv2.LINE_AA)


def draw_button(image: np.ndarray, b: Button, progress: float, hovered: bool) -> None:
    """A button: translucent panel (accent when active), its fill rising with the dwell,
    a dwell ring at its inner side, label and sublabel."""
    x, y, w, h = b.rect
    base = ACCENT if b.active else INK
    panel(image, b.rect, base, 0.85 if b.active else 0.72)
    if progress > 0:
        fill_w = max(1, int(w * progress))
        mask = rounded_mask(w, h, max(4, min(w, h) // 6))[:, :fill_w]
        blend(image, mask, ACCENT_LIGHT, x, y, 0.45)
    if hovered and b.enabled:
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), ACCENT_LIGHT, 2, cv2.LINE_AA)
    color = WHITE if b.enabled else MUTED
    opacity = 1.0 if b.enabled else 0.55
    main = fit_size(b.label, w - 16, max(12, int(h * (0.3 if b.sublabel else 0.36))))
    if b.sublabel:
        sub = fit_size(b.sublabel, w - 16, max(10, int(h * 0.24)), bold=False)
        text(image, b.label, x + w // 2, y + int(h * 0.42), main, color, anchor="cb", opacity=opacity)
        text(image, b.sublabel, x + w // 2, y + int(h * 0.56), sub, MUTED if not b.active else WHITE, False, "ct")
    else:
        text(image, b.label, x + w // 2, y + h // 2, main, color, anchor="cm", opacity=opacity)


def draw_hand(image: np.ndarray, hand: Hand, progress: float = 0.0) -> None:
    """The hand's pointer: a soft dot, with the dwell ring around it while it dwells."""
    size = max(10, image.shape[0] // 40)
    c = (int(hand.x), int(hand.y))
    cv2.circle(image, c, size, WHITE, 2, cv2.LINE_AA)
    cv2.circle(image, c, max(3, size // 3), ACCENT_LIGHT, -1, cv2.LINE_AA)
    if progress > 0:
        ring(image, c, int(size * 2.0), progress, WHITE, max(3, size // 3))


def darken(image: np.ndarray, factor: float) -> None:
    cv2.convertScaleAbs(image, dst=image, alpha=factor)


def draw_idle(image: np.ndarray, t: float) -> None:
    """The invitation when nobody is there: the room dimmed, a pulsing ring, big words."""
    H, W = image.shape[:2]
    darken(image, 0.35)
    s = min(W, H)
    r = int(s * (0.16 + 0.015 * math.sin(t * 2.5)))
    cv2.circle(image, (W // 2, int(H * 0.38)), r, ACCENT_LIGHT, max(2, s // 160), cv2.LINE_AA)
    title = "Step in front of the mirror"
    size = fit_size(title, int(W * 0.86), int(s * 0.075))
    text(image, title, W // 2, int(H * 0.62), size, WHITE, anchor="cm")
    sub = "Raise a hand over a button to try things on"
    note = "Your picture stays on this mirror"
    text(
        image,
        sub,
        W // 2,
        int(H * 0.62) + size,
        fit_size(sub, int(W * 0.8), int(size * 0.5), False),
        MUTED,
        False,
        "ct",
    )
    small = fit_size(note, int(W * 0.8), int(size * 0.36), False)
    text(image, note, W // 2, H - max(12, small), small, MUTED, False, "cb")


def draw_unavailable(image: np.ndarray, t: float, detail: str = "") -> None:
    """The camera is gone: a dark screen, a spinner and the message."""
    H, W = image.shape[:2]
    darken(image, 0.3)
    s = min(W, H)
    c = (W // 2, int(H * 0.4))
    r = int(s * 0.07)
    start = (t * 360.0) % 360.0
    cv2.circle(image, c, r, (70, 70, 70), max(3, s // 90), cv2.LINE_AA)
    cv2.ellipse(image, c, (r, r), start, 0, 90, ACCENT_LIGHT, max(3, s // 90), cv2.LINE_AA)
    msg = "Camera unavailable, retrying..."
    size = fit_size(msg, int(W * 0.86), int(s * 0.06))
    text(image, msg, W // 2, int(H * 0.58), size, WHITE, anchor="cm")
    if detail:
        text(
            image,
            detail,
            W // 2,
            int(H * 0.58) + size,
            fit_size(detail, int(W * 0.8), size // 2, False),
            MUTED,
            False,
            "ct",
        )


def draw_toast(image: np.ndarray, message: str, opacity: float = 1.0, color=GOOD) -> None:
    """A pill at the top centre ("Saved")."""
    H, W = image.shape[:2]
    size = max(14, int(min(W, H) * 0.045))
    w, h = text_size(message, size)
    pw, ph = w + size * 2, h + size
    x, y = (W - pw) // 2, max(6, int(H * 0.025))
    panel(image, (x, y, pw, ph), color, 0.85 * opacity, radius=ph // 2)
    text(image, message, W // 2, y + ph // 2, size, WHITE, anchor="cm", opacity=opacity)


def draw_countdown(image: np.ndarray, seconds_left: float) -> None:
    """The photo countdown: a big number in a ring, centred."""
    H, W = image.shape[:2]
    n = max(1, math.ceil(seconds_left))
    s = min(W, H)
    c = (W // 2, H // 2)
    r = int(s * 0.12)
    panel(image, (c[0] - r - 8, c[1] - r - 8, 2 * r + 16, 2 * r + 16), INK, 0.45, radius=r + 8)
    ring(image, c, r, 1.0 - (seconds_left - math.floor(seconds_left)), WHITE, max(4, s // 100))
    text(image, str(n), c[0], c[1], int(r * 1.1), WHITE, anchor="cm")


def draw_hint(image: np.ndarray, message: str, lay: Layout) -> None:
    """A line of help at the bottom centre, between the columns."""
    H, W = image.shape[:2]
    max_w = W - 2 * (lay.column_w + 2 * lay.margin)
    size = fit_size(message, max_w - 20, max(12, int(min(W, H) * 0.032)), bold=False)
    w, h = text_size(message, size, False)
    x, y = (W - w) // 2, H - lay.margin - h - 12
    panel(image, (x - 12, y - 8, w + 24, h + 16), INK, 0.6)
    text(image, message, W // 2, y, size, WHITE, False, "ct")


def draw_size_card(image: np.ndarray, rect, rows: list[tuple[str, str, float, bool]], note: str) -> None:
    """The size advice card. rows : (label, size text, confidence in [0, 1], unsure).
    note : one line of plain words under them ("" for none)."""
    x, y, w, h = (int(v) for v in rect)
    if not rows:
        return
    panel(image, rect, INK, 0.66)
    pad = max(6, w // 16)
    head = max(10, int(h * 0.1))
    text(image, "YOUR SIZE", x + pad, y + pad, head, MUTED, True)
    if all(r[1] == "?" for r in rows):  # nothing yet: just say why, large
        size = max(10, int(h * 0.11))
        for j, line in enumerate(_wrap(note or "Measuring...", w - 2 * pad, size, 4)):
            text(image, line, x + pad, y + pad + int(head * 1.8) + j * int(size * 1.3), size, WHITE, False)
        return
    n = len(rows)
    note_size = max(9, int(h * 0.075))
    note_lines = _wrap(note, w - 2 * pad, note_size, 3) if note else []
    note_h = len(note_lines) * int(note_size * 1.25) + (pad // 2 if note_lines else 0)
    row_top = y + pad + int(head * 1.5)
    row_h = max(10, (y + h - pad - note_h - row_top) // n)
    for i, (label, size_text, conf, unsure) in enumerate(rows):
        ry = row_top + i * row_h
        small = max(10, int(row_h * 0.24))
        pct = f"{round(100 * conf)}%" if size_text != "?" else ""
        # label and confidence on one line at the right ("Top 26%"), the size in what is left
        pct_w = text_size(pct, small, True)[0] if pct else 0
        gap = small // 2 if pct else 0
        label_size = fit_size(label, max(10, int(w * 0.4) - pct_w - gap), small, False)
        right_w = pct_w + gap + text_size(label, label_size, False)[0]
        big = fit_size(size_text, max(10, w - 2 * pad - right_w - small), int(row_h * 0.62))
        text(image, size_text, x + pad, ry, big, WARN if unsure else WHITE)
        text(image, label, x + w - pad - pct_w - gap, ry + 2, label_size, MUTED, False, "rt")
        if pct:
            text(image, pct, x + w - pad, ry + 2, small, WHITE, True, "rt")
            bar_y = ry + int(row_h * 0.74)
            bw = w - 2 * pad
            cv2.rectangle(image, (x + pad, bar_y), (x + pad + bw, bar_y + 3), (80, 80, 80), -1)
            color = GOOD if conf >= 0.6 else ACCENT_LIGHT if conf >= 0.35 else WARN
            cv2.rectangle(image, (x + pad, bar_y), (x + pad + int(bw * conf), bar_y + 3), color, -1)
    ny = y + h - pad - len(note_lines) * int(note_size * 1.25)
    for j, line in enumerate(note_lines):
        text(image, line, x + pad, ny + j * int(note_size * 1.25), note_size, MUTED, False)


def _wrap(s: str, max_w: int, size: int, max_lines: int = 2) -> list[str]:
    words, lines, cur = s.split(), [], ""
    for word in words:
        trial = f"{cur} {word}".strip()
        if cur and text_size(trial, size, False)[0] > max_w:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines[:max_lines]


def panel_lines_size(lines: list[str], size: int) -> tuple[int, int]:
    """(w, h) px of :func:`draw_panel_lines`' panel."""
    if not lines:
        return 0, 0
    return max(text_size(s, size, False)[0] for s in lines) + 2 * size, int(size * 1.35) * len(lines) + size


def draw_panel_lines(image: np.ndarray, lines: list[str], x: int, y: int, size: int) -> tuple[int, int]:
    """Left-aligned lines on a dark panel (stats overlay, key help); returns its (w, h) px."""
    if not lines:
        return 0, 0
    lh = int(size * 1.35)
    w, h = panel_lines_size(lines, size)
    panel(image, (x, y, w, h), INK, 0.7, radius=size // 2)
    for i, s in enumerate(lines):
        text(image, s, x + size, y + size // 2 + i * lh, size, WHITE, False)
    return w, h
