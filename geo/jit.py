"""Numba where it imports: functions compiled to machine code, else left as plain Python.

One place decides how the compiled kernels (:mod:`~livingcircle.geo.kernels`,
:mod:`~livingcircle.geo.snapping`) are built. Machine code is cached on disk beside the
module, or in the user's cache folder (``NUMBA_CACHE_DIR`` chooses another). Where no folder
is writable (a read-only install for a user without a home) Numba refuses to cache; the
function is then compiled once per process instead of failing the import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)

numba: Any
try:
    import numba
except ImportError:  # pragma: no cover - the NumPy paths are tested by calling them directly
    numba = None

#: Whether compiled kernels can run here (else the NumPy/SciPy passes are used).
AVAILABLE = numba is not None

F = TypeVar("F", bound=Callable[..., Any])


def compiled(fn: F, **options: Any) -> F:
    """``fn`` compiled by Numba (``nogil``, cached on disk where it can be), or ``fn`` itself."""
    if numba is None:  # pragma: no cover
        return fn
    try:
        return cast(F, numba.njit(cache=True, nogil=True, **options)(fn))
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        log.info("compiling %s without a disk cache: %s", fn.__name__, exc)
        return cast(F, numba.njit(nogil=True, **options)(fn))


def inlined(fn: F) -> F:
    """As :func:`compiled`, inlined where called (no call, no reference counting per step)."""
    return compiled(fn, inline="always")
