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

Arrow's buffers (the columns read, the output arrays built, every `take` and `cast`) come from
the same tuned allocator (`arrow_on_system_allocator`), not from the one pyarrow bundles and
uses by default (mimalloc in the wheels): that one stalls for tens of milliseconds on some
first allocations of a process (measured: 48 ms for a 30 000-row `take` of texts that takes
0.2 ms once warm) and gives pages back to the system between chunks, so a `compare` of 30 000
physicians spent 1.3-1.8 s of its 5-6 s in the kernel, against 0.3-0.4 s with the system
allocator (bench/RESULTS.md). A user's own choice (`ARROW_DEFAULT_MEMORY_POOL`) stands.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20   # glibc's maximum on 64-bit: columns up to 4 M int64 rows are reused
TRIM_THRESHOLD = 512 << 20  # free memory kept at the top of the heap before it is given back

_active: bool | None = None  # None: not tried yet
_arrow: bool | None = None
_trim = None  # glibc's malloc_trim, once found; False where there is none


def _glibc(name: str, argtypes: list):
    """glibc's function `name` (returning an int), or None on another C library."""
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc
        return None
    function.argtypes, function.restype = argtypes, ctypes.c_int
    return function


def keep_freed_columns() -> bool:
    """Ask glibc to reuse freed columns (once); True when the setting is in place."""
    global _active
    if _active is None:
        mallopt = _glibc("mallopt", [ctypes.c_int, ctypes.c_int])
        _active = mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _active


def arrow_on_system_allocator() -> bool:
    """Arrow's default memory pool set to the system allocator (once), unless the user chose one
    (`ARROW_DEFAULT_MEMORY_POOL`) or pyarrow is not installed; True when it was set here."""
    global _arrow
    if _arrow is None:
        _arrow = False
        if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
            return False
        try:
            import pyarrow as pa
        except ImportError:
            return False
        pa.set_memory_pool(pa.system_memory_pool())
        _arrow = True
    return _arrow


def give_back() -> bool:
    """Free pages of the heap given back to the system (glibc's `malloc_trim`), between two chunks
    of a batch: with the thresholds above, what one chunk freed is kept for the next, and as the
    chunks go by, fragmentation makes that kept part grow (a 1 000 000-row `batch` peaked ≈ 45 MiB
    higher without it, bench/RESULTS.md). Once per chunk, not per operation: the pages faulted in
    again cost ≈ 0.06 s of system time per chunk of 25 600 rows. True when done."""
    global _trim
    if _trim is None:
        _trim = _glibc("malloc_trim", [ctypes.c_size_t]) or False
    if _trim is False:
        return False
    _trim(0)
    return True


def tune() -> None:
    """Both settings, for a process about to read, evaluate and write columns."""
    keep_freed_columns()
    arrow_on_system_allocator()
