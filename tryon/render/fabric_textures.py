"""The fabric relief textures, generated: one small tileable height map per fabric kind.

    python -m tryon.render.fabric_textures        # writes tryon/data/fabrics/<kind>.png

Deterministic (fixed seeds, no platform maths beyond numpy's FFT and trigonometry, rounded to
8 bits), so the shipped PNGs can be checked against a fresh run. Each map is SIZE x SIZE
uint8, mid-grey 128 = the cloth's mean surface, tileable in both directions; what one tile
spans on the garment (metres) is the kind's ``tile_m`` in :mod:`tryon.render.fabric`. The
weave is the fine part (sub-pixel at a shopper's distance, so it mostly shows through the
mipmaps as a slightly rougher, livelier surface); the slubs, heathering and grain are the
coarse part that shows up close.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = 128
DATA = Path(__file__).resolve().parent.parent / "data" / "fabrics"


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """(y, x) in [0, 1) over one tile."""
    t = np.arange(SIZE, dtype=np.float64) / SIZE
    return np.meshgrid(t, t, indexing="ij")


def _noise(seed: int, lo: float, hi: float, stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Tileable band-limited noise (white noise filtered in the Fourier domain to the
    frequencies lo..hi cycles per tile), unit standard deviation. stretch (sy, sx) squeezes
    the band along an axis (streaks)."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((SIZE, SIZE))
    f = np.fft.fftfreq(SIZE) * SIZE
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fy * stretch[0], fx * stretch[1])
    band = ((r >= lo) & (r <= hi)).astype(np.float64)
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * band))
    return out / max(float(out.std()), 1e-9)


def _knit(y, x) -> np.ndarray:
    """Jersey: columns of V-shaped loops (wales), 12 per tile, 16 courses."""
    wale = (x * 12) % 1.0
    v = np.abs(wale - 0.5) * 2.0  # 0 in the column's middle, 1 at its sides
    loops = np.cos(2 * np.pi * (y * 16 + 0.5 * v))
    return 0.8 * loops * (1 - 0.4 * v) + 0.25 * _noise(1, 2, 6)


def _plain_weave(y, x, n=24, seed=2) -> np.ndarray:
    """Woven cotton: threads over and under in a checker."""
    warp = np.cos(np.pi * (x * n % 1.0 - 0.5)) ** 2
    weft = np.cos(np.pi * (y * n % 1.0 - 0.5)) ** 2
    checker = ((np.floor(x * n) + np.floor(y * n)) % 2) * 2 - 1
    return 0.6 * np.where(checker > 0, warp, weft) + 0.2 * _noise(seed, 1, 4)


def _twill(y, x) -> np.ndarray:
    """Denim: 3/1 twill diagonals, and the slub streaks along the warp."""
    diag = np.sin(2 * np.pi * (x * 16 + y * 16 * 0.5))
    slub = _noise(3, 1, 6, stretch=(0.15, 1.0))  # long along y (the warp)
    return 0.7 * diag + 0.45 * slub


def _wool(y, x) -> np.ndarray:
    """Wool: a soft fuzz over a chunky knit."""
    rib = np.cos(2 * np.pi * x * 6) * 0.5
    return rib + 0.7 * _noise(4, 3, 20) + 0.3 * _noise(5, 20, 50)


def _leather(y, x) -> np.ndarray:
    """Leather: pebbled grain (cells from a thresholded noise) and fine creases."""
    cells = _noise(6, 6, 12)
    grain = -np.abs(cells) * 1.2 + 0.6
    crease = -np.abs(_noise(7, 14, 24)) * 0.5
    return grain + crease


def _satin(y, x) -> np.ndarray:
    """Satin / silk: long floats, barely there."""
    return 0.25 * np.sin(2 * np.pi * y * 40) + 0.3 * _noise(8, 1, 5, stretch=(1.0, 0.2))


def _technical(y, x) -> np.ndarray:
    """Technical (ripstop nylon): a fine weave crossed by a reinforcing grid."""
    fine = _plain_weave(y, x, n=32, seed=9) * 0.5
    gx = np.exp(-(((x * 4) % 1.0 - 0.5) ** 2) / 0.002)
    gy = np.exp(-(((y * 4) % 1.0 - 0.5) ** 2) / 0.002)
    return fine + 0.9 * np.maximum(gx, gy)


def _metal(y, x) -> np.ndarray:
    """Brushed metal: fine streaks along one direction."""
    return 0.6 * _noise(10, 4, 60, stretch=(1.0, 0.05))


def _plastic(y, x) -> np.ndarray:
    """Moulded plastic: an almost flat, faint orange-peel."""
    return 0.3 * _noise(11, 8, 20)


GENERATORS = {
    "jersey": _knit,
    "cotton": _plain_weave,
    "denim": _twill,
    "wool": _wool,
    "leather": _leather,
    "satin": _satin,
    "technical": _technical,
    "metal": _metal,
    "plastic": _plastic,
}


def height_map(kind: str) -> np.ndarray:
    """(SIZE, SIZE) uint8, 128 = mean surface, the kind's relief at full 8-bit swing."""
    y, x = _grid()
    h = GENERATORS[kind](y, x)
    h = h - h.mean()
    h = h / max(float(np.abs(h).max()), 1e-9)
    return np.clip(np.rint(128 + 127 * h), 0, 255).astype(np.uint8)


def write_all(folder: Path = DATA) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in GENERATORS:
        path = folder / f"{kind}.png"
        cv2.imwrite(str(path), height_map(kind), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_all():
        print(p)
