"""Table headings on columns: where each row's key falls among a table's headings (`Axis`).

One lookup per key column, whatever the number of headings: an array indexed by symbol code
for enum and text keys, a binary search among the bands' boundaries for numbers."""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from dsl import ast

from .calendar import on_span
from .columns import LIMIT, Vec, sym

# ---------------------------------------------------------------- table headings

def symbol_lookup(values: dict, default):
    """An array indexed by symbol code: `values[code]`, and `default` for every other code — at
    its last slot too, where codes interned later are clipped (`lookup[min(code, len - 1)]`)."""
    lookup = np.full(max(values, default=-1) + 2, default, np.asarray(default).dtype)
    for code, value in values.items():
        lookup[code] = value
    return lookup


def _ceil_scaled(value, scale: int):
    """(the least integer ≥ value · 10**scale, whether it is exactly value · 10**scale), in
    integer arithmetic (a Decimal product would round past 28 digits)."""
    sign, digits, exponent = Decimal(value).as_tuple()
    coefficient = int("".join(map(str, digits))) if digits else 0
    coefficient = -coefficient if sign else coefficient
    shift = exponent + scale
    if shift >= 0:
        return coefficient * 10 ** shift, True
    unit = 10 ** -shift
    return -(-coefficient // unit), coefficient % unit == 0


class Axis:
    """Where each row's key falls among a table's row (or column) headings: the index of the
    first heading that matches it, as the row engine looks them up, or len(headings) when none
    does. One lookup per key column, whatever the number of headings: an array indexed by symbol
    code for enum and text keys, a binary search among the bands' boundaries for numbers."""

    def __init__(self, headings: list[ast.TableKey]):
        self.headings = headings
        self.missing = len(headings)
        self._symbols = None
        self._numbers: dict = {}  # key scale → (boundaries, heading of each segment between them)

    def locate(self, key: Vec, n):
        """(heading index of each row, rows to defer)."""
        if key.kind == "sym":
            lookup = self._symbol_lookup()
            return lookup[np.minimum(key.data, len(lookup) - 1)], None
        if key.kind == "num":
            boundaries, segments = self._number_lookup(key.scale)
            return on_span(lambda k: segments[np.searchsorted(boundaries, k, side="right")], key.data), None
        if key.kind == "bool":
            if any(h.kind == "exact" and not isinstance(h.value, bool) and isinstance(h.value, (int, Decimal))
                   and h.value in (0, 1) for h in self.headings):
                return self.missing, np.ones(n, bool)  # True == 1 in Python: left to the row engine
            lookup = np.array([self._first(lambda h, b=b: h.kind == "exact" and h.value is b)
                               for b in (False, True)], np.int64)
            return lookup[np.asarray(key.data, np.int64)], None
        if key.kind == "any":  # no row has a key: nothing to look up
            return self.missing, None
        return self.missing, np.ones(n, bool)

    def _first(self, matches) -> int:
        return next((i for i, h in enumerate(self.headings) if matches(h)), self.missing)

    def _symbol_lookup(self):
        if self._symbols is None:
            first: dict = {}
            for i, h in enumerate(self.headings):
                if h.kind == "exact" and isinstance(h.value, str):
                    first.setdefault(sym(h.value), i)
            self._symbols = symbol_lookup(first, self.missing)
        return self._symbols

    def _number_lookup(self, scale: int):
        found = self._numbers.get(scale)
        if found is None:
            found = self._numbers[scale] = self._segments(scale)
        return found

    def _segments(self, scale: int):
        """Each heading as an interval [low, high) of integers at the key's scale (exactly: a key
        k stands for k / 10**scale), the boundaries of all of them sorted, and for each segment
        between two boundaries the first heading that contains it."""
        edge = LIMIT + 1  # beyond every key

        def at_scale(bound) -> int:  # the least integer ≥ bound · 10**scale, clamped
            return max(-edge, min(edge, _ceil_scaled(bound, scale)[0]))

        intervals = []
        for h in self.headings:
            if h.kind == "exact":
                value = h.value
                if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not Decimal(value).is_finite():
                    intervals.append(None)  # a text or boolean heading: no number equals it
                    continue
                k, exact = _ceil_scaled(value, scale)
                intervals.append((k, k + 1) if exact and abs(k) < edge else None)
            elif h.kind == "at_least":
                intervals.append((at_scale(h.low), edge))
            elif h.kind == "below":
                intervals.append((-edge, at_scale(h.high)))
            else:
                intervals.append((at_scale(h.low), at_scale(h.high)))
        boundaries = sorted({b for iv in intervals if iv is not None for b in iv})
        starts = [-edge - 1] + boundaries  # segment k is [starts[k], boundaries[k])
        segments = [next((i for i, iv in enumerate(intervals) if iv is not None and iv[0] <= start < iv[1]),
                         self.missing) for start in starts]
        return np.array(boundaries, np.int64), np.array(segments, np.int64)


