"""Per-stage timing of one frame (``FrameResult.timings_ms``)."""

from __future__ import annotations

import time
from collections.abc import Iterable


class StageTimer:
    """Milliseconds per stage of one frame, measured as laps of one clock.

    >>> timer = StageTimer()          # the frame's clock starts (for "total")
    >>> ...; timer.lap("pose")        # doctest: +SKIP   (time since the last lap or mark)
    >>> timer.mark()                  # start the next lap here (time between is not a stage)
    >>> timer.finish()["total"]       # doctest: +SKIP

    A frame's timer travels with it from the pose thread to the GL thread; ``total`` counts
    from its creation (so it includes the wait between the threads). Not thread-safe: one
    thread at a time works on a frame.
    """

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self._mark = self.start
        self.ms: dict[str, float] = {}

    def mark(self) -> None:
        """The next lap starts now."""
        self._mark = time.perf_counter()

    def lap(self, stage: str) -> float:
        """Record the time since the last lap (or mark) as ``stage`` (added to what it has);
        returns the lap's milliseconds."""
        now = time.perf_counter()
        ms = (now - self._mark) * 1e3
        self._mark = now
        self.ms[stage] = self.ms.get(stage, 0.0) + ms
        return ms

    def record(self, stage: str, ms: float) -> None:
        """Set a stage's time measured elsewhere (e.g. the GPU's draw time)."""
        self.ms[stage] = float(ms)

    def skip(self, stages: Iterable[str]) -> None:
        """Stages that did not run this frame (0 ms), so every result has every key."""
        for stage in stages:
            self.ms.setdefault(stage, 0.0)

    def finish(self) -> dict[str, float]:
        """The timings with ``total`` (ms since the timer was made)."""
        self.ms["total"] = (time.perf_counter() - self.start) * 1e3
        return self.ms
