"""The files of `millesime batch`: reading rows (readers.py) and writing results (writers.py).

Nothing here evaluates a case: these modules import neither the engine nor the vector
back-end, so that file I/O and computation stay apart (engine/batch.py joins them).
"""
from dsl.errors import MillesimeError


class BatchError(MillesimeError):
    """The file as a whole cannot be processed (unknown column, unreadable file…)."""
