"""Keep freed column memory in the process, for the vector back-end.

glibc serves every allocation above its mmap threshold (128 KiB, i.e. a column of 16 384
int64 rows) with a fresh `mmap` and gives it back to the system on `free`. The vector
back-end allocates and frees such columns for every operation, so each new column is
page-faulted in again, page by page: on a 200 000-row batch that costs two to three times the
operation itself. Raising the mmap and trim thresholds makes glibc reuse the freed columns
instead (the process keeps the memory of its largest batch chunk until it exits, which
`millesime batch` bounds by streaming in chunks).

A process-wide setting, applied once, on the first vectorised run; nothing happens on other C
libraries (musl, macOS, Windows), where the back-end simply runs at their allocator's speed.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20   # glibc's maximum on 64-bit: columns up to 4 M int64 rows are reused
TRIM_THRESHOLD = 512 << 20  # free memory kept at the top of the heap before it is given back

_active: bool | None = None  # None: not tried yet


def keep_freed_columns() -> bool:
    """Ask glibc to reuse freed columns (once); True when the setting is in place."""
    global _active
    if _active is None:
        _active = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # not glibc
            return False
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        _active = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _active
