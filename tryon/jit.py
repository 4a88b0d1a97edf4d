"""numba, optional, in one place: the frame path's compiled inner loops.

The stages whose work is many small steps over a few hundred items (the cloth's substeps,
the tracking's per-point filters, the own-clothes masks, the contact shadows' march) write
their loops as plain Python on scalars and arrays and compile them here. numba is pinned in
``requirements.lock``; where it is missing the same functions run uncompiled (slow, the same
results) or, with :func:`compiled_or_none`, the caller takes its own non-numba path.

Every compiled loop releases the GIL (``nogil``: the pose thread's Python runs beside it) and
is cached beside its own module (numba's ``cache=True``: compiled on the first use after an
install, then loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

try:  # numba is pinned in requirements.lock
    from numba import njit as _njit
except ImportError:  # pragma: no cover - exercised only where numba is missing
    _njit = None

F = TypeVar("F", bound=Callable)

def compiled(fn: F, *, inline: bool = False) -> F:
    """``fn`` compiled (nogil, cached), or ``fn`` itself where numba is missing. ``inline``:
    a helper inlined into the compiled loops that call it (numba's ``inline="always"``)."""
    if _njit is None:
        return fn
    if inline:
        return _njit(cache=True, nogil=True, inline="always")(fn)
    return _njit(cache=True, nogil=True)(fn)


def compiled_or_none(fn: Callable) -> Callable | None:
    """``fn`` compiled, or None where numba is missing: for a loop whose caller has a faster
    way than plain Python without it (OpenCV, numpy)."""
    return None if _njit is None else compiled(fn)
