"""``tryon bench --soak``: memory over a long session, as a mirror sees it for days.

Shoppers come and go: each cycle makes an engine, runs a stream of frames through it
(pipelined, as the mirror does) and closes it. Resident memory is read after every cycle;
the figure is its slope in MB per 1,000 frames after a warm-up (models, shaders and caches
loaded, allocator pools grown), by least squares over the cycles that follow. A leak of a
few kilobytes a frame shows as a slope of a few MB per 1,000 frames; flat is below 1.

The process runs as the ``tryon`` command configures it (:func:`tryon.runtime.configure_process`:
bounded malloc arenas) and the engine trims freed memory when a stream ends and when it
closes (see :mod:`tryon.runtime` for why).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tryon.engine import TryOnEngine


def rss_mb() -> float:
    """The process's resident memory now, MB (Linux ``/proc``; peak RSS elsewhere)."""
    from tryon.bench import PeakMemory

    return PeakMemory.rss_mb()


@dataclass
class SoakResult:
    """frames, cycles : what ran (``frames`` in all, over ``cycles`` engines each running one
    stream of ``frames // cycles`` frames). rss_mb : resident memory after each cycle's
    close, MB; frames_done : frames run by then. warmup_cycles : cycles left out of the slope.
    slope_mb_per_1000_frames : the least-squares slope of rss_mb over frames_done after the
    warm-up. growth_mb : the last cycle's memory over the first after the warm-up."""

    frames: int
    cycles: int
    resolution: str
    items: list[str]
    warmup_cycles: int
    seconds: float
    slope_mb_per_1000_frames: float
    growth_mb: float
    peak_mb: float
    rss_mb: list[float] = field(default_factory=list)
    frames_done: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"soak: {self.frames} frames in {self.cycles} create/close cycles ({self.resolution}, "
            f"{'+'.join(self.items)}), {self.seconds:.0f} s: memory slope "
            f"{self.slope_mb_per_1000_frames:+.2f} MB per 1,000 frames after {self.warmup_cycles} warm-up "
            f"cycles ({self.growth_mb:+.0f} MB from then to the last cycle; {self.rss_mb[0]:.0f} MB after "
            f"the first cycle, peak {self.peak_mb:.0f} MB while streaming)"
        )

    def markdown(self) -> str:
        return (
            "| soak | frames | create/close cycles | memory slope after warm-up | growth after warm-up | peak |\n"
            "|---|---|---|---|---|---|\n"
            f"| {self.resolution}, {'+'.join(self.items)} | {self.frames} | {self.cycles} | "
            f"{self.slope_mb_per_1000_frames:+.2f} MB / 1,000 frames | {self.growth_mb:+.0f} MB | "
            f"{self.peak_mb:.0f} MB |"
        )


def slope_per_1000(frames_done: list[int], rss: list[float]) -> float:
    """Least-squares slope of ``rss`` (MB) over ``frames_done``, in MB per 1,000 frames."""
    if len(frames_done) < 2 or frames_done[-1] == frames_done[0]:
        return 0.0
    return float(np.polyfit(np.asarray(frames_done, float), np.asarray(rss, float), 1)[0] * 1000.0)


def run(
    clip: list[np.ndarray],
    fps: float,
    items: list[str],
    frames: int = 10_000,
    cycles: int = 100,
    catalog=None,
    warmup: float = 0.2,
    log=print,
) -> SoakResult:
    """Run ``frames`` frames (``clip`` looped) through ``cycles`` engines made and closed in
    turn. ``warmup``: share of the cycles (at least 2) left out of the slope."""
    if cycles < 4 or frames < cycles:
        raise ValueError(f"a soak needs at least 4 cycles and a frame per cycle, got {frames} frames, {cycles} cycles")
    per_cycle = frames // cycles
    warm = max(2, int(round(cycles * warmup)))
    rss, done = [], []
    peak = 0.0
    t0 = time.perf_counter()
    n = 0
    for c in range(cycles):
        stream = [(clip[(n + i) % len(clip)], round((n + i) * 1000.0 / fps)) for i in range(per_cycle)]
        with TryOnEngine(items=items, catalog=catalog) as engine:
            for _ in engine.process_stream(stream, fps=fps):
                pass
            peak = max(peak, rss_mb())
        n += per_cycle
        gc.collect()
        rss.append(round(rss_mb(), 1))
        done.append(n)
        if log and (c + 1) % max(1, cycles // 10) == 0:
            log(f"soak: cycle {c + 1}/{cycles}, {n} frames, {rss[-1]:.0f} MB")
    after = slice(warm, None)
    return SoakResult(
        frames=n,
        cycles=cycles,
        resolution=f"{clip[0].shape[1]}x{clip[0].shape[0]}",
        items=list(items),
        warmup_cycles=warm,
        seconds=round(time.perf_counter() - t0, 1),
        slope_mb_per_1000_frames=round(slope_per_1000(done[after], rss[after]), 3),
        growth_mb=round(rss[-1] - rss[warm], 1),
        peak_mb=round(max(peak, max(rss)), 1),
        rss_mb=rss,
        frames_done=done,
    )


def run_file(
    input_path: Path, size: tuple[int, int], items: list[str], frames: int, cycles: int, catalog=None, log=print
) -> SoakResult:
    """The soak on a video file's frames at ``size``."""
    from tryon.bench import load_frames

    clip, fps = load_frames(input_path, size, None)
    return run(clip, fps, items, frames, cycles, catalog, log=log)
