"""Process-wide runtime tuning: the one place that touches threads, BLAS and CPU affinity.

Nothing here happens on ``import tryon``: a host application keeps its own settings unless it
(or the engine, for the duration of a stream) turns tuning on explicitly.

* :func:`configure_process` — for programs that own their process (the ``tryon`` CLI, the demo,
  the mirror): numpy's BLAS kept to ``TRYON_BLAS_THREADS`` (default 1) threads, glibc's
  malloc to ``TRYON_MALLOC_ARENAS`` (default 2) arenas, and on two CPUs llvmpipe drawing on
  the GL thread itself (``LP_NUM_THREADS=0``, unless the environment says), for good.
* :func:`trim_malloc` — hands freed memory back to the system; the engine calls it when a
  stream ends and when it closes (unless ``EngineOptions.tune_runtime`` is False).
* :func:`tuned` — a context manager a stream runs inside (``TryOnEngine.process_stream`` does,
  unless ``EngineOptions.tune_runtime`` is False): the BLAS limit, Python's thread switch
  interval, OpenCV's thread count and this thread's CPU affinity, each put back as it was
  when the block ends. :func:`pin_current_thread` pins the pose thread inside it.

Why each knob (measured on the two-core reference machine):

* BLAS threads: the engine's numpy work is many small arrays (bone matrices, a few thousand
  vertices), where a BLAS thread pool buys nothing; OpenBLAS's worker threads spin between
  calls and take CPU time from the pose model (an idle-spinning BLAS thread used 1.5 s of CPU
  over a 150-frame stream, and the bare pose model ran ~10% slower beside it).
* Switch interval: the pose thread needs the GIL for a moment after each inference; with
  Python's default 5 ms switch interval it waits behind the GL thread's Python work (the pose
  model 22 -> 40 ms a frame against a busy Python thread; 23 ms at 0.2 ms).
* CPU affinity and OpenCV threads: on two cores llvmpipe's rasterizer threads preempt the
  pose model unless the two stages keep to their own core (engine/pose ratio ~0.83 -> ~0.94);
  OpenCV's own worker threads would float onto the pose model's core, so each stage's small
  images are worked on the thread that asks.
* llvmpipe's threads: Mesa's software GL rasterizes on one worker thread per CPU by default.
  Where a stream keeps its GL work to one CPU (two CPUs, pinned), those workers share that
  CPU with the thread that waits for them: handing each draw over costs CPU and buys no
  parallelism. ``LP_NUM_THREADS=0`` (draw on the GL thread) took about 3 ms of CPU less per
  frame (one top, 640x480, the GL steps replayed pinned to one CPU: 49 against 52 ms, under
  load). It must be set before the first GL context: :func:`configure_process` does.
* Malloc arenas and trimming: every thread that allocates gets a glibc arena of its own (up
  to 8 per core), and each stream starts threads (the pose thread, MediaPipe's graph
  threads); what they free stays mapped, so engines created and closed over a long session
  grew without end (1.4 GB over 30 create/close cycles with streams). Bounding the arenas
  and trimming them when a stream or engine ends keeps the process flat (see the bench's
  ``--soak``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

#: Python's thread switch interval while a pipelined stream runs, seconds.
PIPELINE_SWITCH_INTERVAL_S = 0.0002

#: OpenBLAS's thread-count setters and getters, as numpy's own and plain builds name them.
_SETTERS = ("openblas_set_num_threads64_", "openblas_set_num_threads", "scipy_openblas_set_num_threads64_")
_GETTERS = ("openblas_get_num_threads64_", "openblas_get_num_threads", "scipy_openblas_get_num_threads64_")


def blas_threads_wanted() -> int | None:
    """``TRYON_BLAS_THREADS`` (default 1); None when it is 0 (leave BLAS alone)."""
    n = int(os.environ.get("TRYON_BLAS_THREADS", "1") or 0)
    return n if n > 0 else None


def _openblas() -> tuple | None:
    """(setter, getter) of the OpenBLAS mapped into this process, or None."""
    for path in _loaded_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            setter.argtypes = [ctypes.c_int]
            getter.restype = ctypes.c_int
            return setter, getter
    return None


def blas_threads() -> int | None:
    """The BLAS thread count now in force, or None when no OpenBLAS is loaded."""
    lib = _openblas()
    return None if lib is None else int(lib[1]())


def set_blas_threads(n: int) -> int | None:
    """Tell numpy's OpenBLAS to use ``n`` threads; returns the count it had, or None when no
    OpenBLAS is loaded yet (then ``OPENBLAS_NUM_THREADS`` is set for when numpy loads it,
    unless the environment already says)."""
    lib = _openblas()
    if lib is None:
        if "numpy" not in sys.modules:
            os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
        return None
    setter, getter = lib
    before = int(getter())
    setter(int(n))
    return before


def llvmpipe_threads_wanted() -> int | None:
    """Rasterizer threads for Mesa's llvmpipe (``LP_NUM_THREADS``): 0 (draw on the GL thread)
    where streams keep the GL work to one CPU (the process has exactly two, see
    :func:`split_cpus`); None (llvmpipe's default) otherwise, or when the environment sets
    ``LP_NUM_THREADS`` already."""
    if "LP_NUM_THREADS" in os.environ:
        return None
    _, render_cpus = split_cpus(None)
    return 0 if render_cpus is not None and len(render_cpus) == 1 else None


def configure_process() -> None:
    """For a program that owns its process (CLI, demo, mirror), from now on: BLAS kept to
    ``TRYON_BLAS_THREADS`` threads (default 1, 0 leaves it), glibc's malloc to
    ``TRYON_MALLOC_ARENAS`` arenas (default 2, 0 leaves it; see :func:`bound_malloc_arenas`),
    and llvmpipe's rasterizer threads as :func:`llvmpipe_threads_wanted` says. Call early,
    before streams start threads and before the first GL context; nothing is restored."""
    n = blas_threads_wanted()
    if n is not None:
        set_blas_threads(n)
    arenas = int(os.environ.get("TRYON_MALLOC_ARENAS", "2") or 0)
    if arenas > 0:
        bound_malloc_arenas(arenas)
    lp = llvmpipe_threads_wanted()
    if lp is not None:
        os.environ["LP_NUM_THREADS"] = str(lp)


def split_cpus(choice: bool | None) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """CPU sets for a stream's pose thread and its render thread, or (None, None) to leave
    affinity alone. ``choice``: True pins whenever there are two CPUs or more; None only when
    the process has exactly two (where it was measured to help); False never."""
    if choice is False or not hasattr(os, "sched_setaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or (choice is None and len(cpus) != 2):
        return None, None
    return frozenset(cpus[:1]), frozenset(cpus[1:])


def pin_current_thread(cpus: frozenset[int] | None) -> None:
    """Keep the calling thread (and the threads it starts later, e.g. MediaPipe's graph
    threads) on ``cpus``; None leaves it alone. Linux sets affinity per thread."""
    if cpus:
        os.sched_setaffinity(0, cpus)


@dataclass(frozen=True)
class StreamTuning:
    """What :func:`tuned` changes for a stream's duration.

    blas_threads : BLAS thread count (None: leave).
    switch_interval_s : Python's thread switch interval at most this (None: leave).
    render_cpus : the calling (render) thread's CPUs (None: leave); also sets OpenCV to one
        thread, since its workers would otherwise float onto the pose thread's CPU.
    pose_cpus : the pose thread's CPUs, for it to pin itself with :func:`pin_current_thread`.
    """

    blas_threads: int | None = None
    switch_interval_s: float | None = None
    render_cpus: frozenset[int] | None = None
    pose_cpus: frozenset[int] | None = None

    @classmethod
    def for_stream(cls, pipelined: bool, pin_threads: bool | None) -> StreamTuning:
        """The engine's tuning for a stream (see the module docstring for why)."""
        if not pipelined:
            return cls(blas_threads=blas_threads_wanted())
        pose_cpus, render_cpus = split_cpus(pin_threads)
        return cls(blas_threads_wanted(), PIPELINE_SWITCH_INTERVAL_S, render_cpus, pose_cpus)


@contextlib.contextmanager
def tuned(tuning: StreamTuning) -> Iterator[StreamTuning]:
    """Apply ``tuning`` for the block; every process-wide setting (BLAS threads, switch
    interval, OpenCV threads) and this thread's affinity are put back when it ends."""
    import cv2

    restore: list = []
    try:
        if tuning.blas_threads is not None:
            before = set_blas_threads(tuning.blas_threads)
            if before is not None:
                restore.append(lambda: set_blas_threads(before))
        if tuning.switch_interval_s is not None:
            switch = sys.getswitchinterval()
            sys.setswitchinterval(min(switch, tuning.switch_interval_s))
            restore.append(lambda: sys.setswitchinterval(switch))
        if tuning.render_cpus:
            affinity = os.sched_getaffinity(0)
            cv_threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
            restore.append(lambda: cv2.setNumThreads(cv_threads))
            os.sched_setaffinity(0, tuning.render_cpus)
            restore.append(lambda: os.sched_setaffinity(0, affinity))
        yield tuning
    finally:
        for undo in reversed(restore):
            undo()


def _loaded_libraries(fragment: str) -> list[str]:
    """Paths of the shared libraries mapped into this process whose name contains ``fragment``."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if fragment in line and line.rstrip().endswith(".so")}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.isabs(p))


# -- memory (glibc malloc) ------------------------------------------------------------------

#: ``mallopt``'s parameter number for the arena limit (glibc's malloc.h).
_M_ARENA_MAX = -8


def _libc():
    """glibc, or None on another C library (musl, macOS): the malloc knobs then do nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def bound_malloc_arenas(n: int = 2) -> bool:
    """Process-wide: let glibc's malloc use at most ``n`` arenas (``mallopt(M_ARENA_MAX)``,
    as ``MALLOC_ARENA_MAX=n`` in the environment would). Returns whether glibc took it.

    Each thread that allocates gets an arena of its own, up to 8 per core; a thread's freed
    memory stays in its arena, so the many short-lived threads of streams and MediaPipe graphs
    leave memory behind that RSS never gives back. Arenas made before the call stay; call it
    early (``configure_process`` does). Not undone: it is for programs that own their process."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, int(n)) == 1)


def trim_malloc() -> bool:
    """Process-wide: hand the free memory of every malloc arena back to the system
    (``malloc_trim(0)``). Cheap enough to call when a stream or an engine ends; returns
    whether any memory was released (False on a C library without it)."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))
