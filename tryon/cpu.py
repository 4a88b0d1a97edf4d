"""CPU threads: numpy's BLAS kept to one thread.

The engine's numpy work is many small arrays (bone matrices, a few thousand vertices), where
a BLAS thread pool buys nothing; OpenBLAS's worker threads spin between calls and take CPU
time from the pose model on a two-core machine (measured: an idle-spinning BLAS thread used
1.5 s of CPU over a 150-frame stream, and the bare pose model ran ~10% slower beside it).
``TRYON_BLAS_THREADS`` overrides the limit (0 leaves BLAS alone).
"""

from __future__ import annotations

import ctypes
import os
import sys

#: OpenBLAS's thread-count setters, as numpy's own and plain builds name them.
_SETTERS = ("openblas_set_num_threads64_", "openblas_set_num_threads", "scipy_openblas_set_num_threads64_")


def limit_blas_threads() -> int | None:
    """Limit BLAS to ``TRYON_BLAS_THREADS`` (default 1) threads; returns the limit, or None
    when left alone. Before numpy is imported the environment does it; after, OpenBLAS is
    told directly (numpy's wheels bundle it)."""
    n = int(os.environ.get("TRYON_BLAS_THREADS", "1") or 0)
    if n <= 0:
        return None
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
        return n
    for path in _loaded_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(n)
                return n
    return None


def _loaded_libraries(fragment: str) -> list[str]:
    """Paths of the shared libraries mapped into this process whose name contains ``fragment``."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if fragment in line and line.rstrip().endswith(".so")}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.isabs(p))
