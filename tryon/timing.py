"""Time in the frame path: per-stage timing of one frame (``FrameResult.timings_ms``) and a
stream's clock (timestamps every stage can use, whatever the caller sends)."""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Iterable

log = logging.getLogger(__name__)

#: The largest stream timestamp accepted either side of 0, ms: MediaPipe counts microseconds
#: in an int64 (2**62 ms overflows it), and float64 holds integers exactly up to 2**53. About
#: 285 years: epoch milliseconds (``time.time() * 1000``) fit.
MAX_TIMESTAMP_MS = 2**53 // 1000


def check_timestamp_ms(value) -> int:
    """A stream timestamp as int milliseconds; ValueError (naming what arrived) for what is
    not a finite real number within +-``MAX_TIMESTAMP_MS``. Fractions are truncated."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"a timestamp must be a number of milliseconds, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"a timestamp must be finite, got {value!r}")
    ms = int(value)
    if abs(ms) > MAX_TIMESTAMP_MS:
        raise ValueError(f"timestamp {ms} ms is out of range (at most {MAX_TIMESTAMP_MS} ms either side of 0)")
    return ms


class StreamClock:
    """A stream's clock: the caller's timestamps made into ones every stage can use.

    * What is not a time (not a number, NaN, infinite, out of range) is refused with a
      ValueError: that frame is skipped, the stream goes on.
    * The clock never goes back and starts at 0 or later: a timestamp at or before the last
      one (a camera restarting, a repeated stamp) or a negative first one is moved to just
      after the last one (0 at first), and later frames keep their spacing from there (the
      offset stays). One warning per stream says so.

    ``__call__`` returns the stage clock in ms (int, strictly increasing).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._last: int | None = None
        self._offset = 0
        self._warned = False

    def __call__(self, timestamp_ms) -> int:
        ms = check_timestamp_ms(timestamp_ms)
        t = ms + self._offset
        floor = 0 if self._last is None else self._last + 1
        if t < floor:
            if not self._warned and self._last is not None:
                self._warned = True
                log.warning(
                    "stream timestamp %d ms is not after the last one; the stream's clock goes on from %d ms", ms, floor
                )
            self._offset += floor - t
            t = floor
        if t > MAX_TIMESTAMP_MS:  # the offset carried it out of range
            raise ValueError(f"timestamp {ms} ms is out of range once the stream's clock is kept increasing")
        self._last = t
        return t


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
