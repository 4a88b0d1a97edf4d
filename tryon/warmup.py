"""Compile the frame path's kernels once, at set-up, so a shopper's first frame is not a wait.

The stages' inner loops are compiled by numba (:mod:`tryon.jit`) on their first call after an
install and cached beside their modules. Measured on the two-core development machine, a
fresh install's first frame took about 115 s (every kernel compiled in turn), the next one
0.1 s. ``./run.sh`` runs this module once after it installs the packages (``python -m
tryon.warmup``), so ``./run.sh demo``, ``tryon mirror`` and the tests start warm.

What it runs: the bundled clip's first frames through the engine, sequentially and as a
stream (smoothing, stabilizing, own-clothes removal with its clean plate), with a whole
outfit (a top, jeans, sneakers, glasses, a watch, a chain necklace: rigid items, the chain's
particles, the hand and face models' paths) and then a skirt (the loose-garment cloth). Items
missing from the catalog are left out; a failure is reported, never raised: the cache then
fills on first use, as without this.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: The bundled clip the kernels are compiled on.
SAMPLE_CLIP = Path(__file__).resolve().parents[1] / "samples" / "dance.mp4"
#: The item sets run, each touching a different group of kernels.
OUTFITS = (
    ("navy-longsleeve", "blue-jeans", "worn-sneakers", "red-glasses", "steel-watch", "chain-necklace"),
    ("charcoal-skirt",),
)
FRAMES = 4


def _frames(path: Path, count: int) -> list:
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while len(out) < count:
            ok, frame = cap.read()
            if not ok:
                break
            out.append(cv2.resize(frame, (640, 480)))
    finally:
        cap.release()
    return out


def warm_up(frames: int = FRAMES, clip: Path = SAMPLE_CLIP) -> float:
    """Run the engine on ``frames`` frames of ``clip`` with each of ``OUTFITS`` (sequentially,
    then as a stream). Returns the seconds it took. Raises nothing: a missing clip or item, or
    a failing stage, is logged (the kernels then compile on first use instead)."""
    t0 = time.perf_counter()
    try:
        from tryon.catalog.catalog import Catalog
        from tryon.engine import TryOnEngine

        images = _frames(clip, frames)
        if not images:
            log.warning("warm-up: no frames in %s; the kernels compile on first use", clip)
            return time.perf_counter() - t0
        available = set(Catalog().ids())
        for outfit in OUTFITS:
            items = [i for i in outfit if i in available]
            if not items:
                continue
            with TryOnEngine(items=items) as engine:
                for _ in engine.process_stream(images, fps=30, pipelined=False):
                    pass
                for _ in engine.process_stream(images, fps=30, pipelined=True):
                    pass
    except Exception as exc:  # set-up must not fail for this: the cache fills on first use
        log.warning("warm-up stopped (%s: %s); the kernels compile on first use", type(exc).__name__, exc)
    return time.perf_counter() - t0


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print("[tryon] compiling the engine's kernels once (a minute or two on a small machine)...", file=sys.stderr)
    seconds = warm_up()
    print(f"[tryon] kernels ready ({seconds:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
