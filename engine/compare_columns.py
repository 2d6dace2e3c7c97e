"""The figures of `compare_rows`, computed on whole columns: the arithmetic of `engine.compare.Figure`
(sums of payments by row and year, totals, differences, signs) in numpy, without a Python object
per row, year and side.

    figures = Figures.established(cents)         # n figures, each established
    sum_by(items, groups, count)                  # the figures of each group, added in item order
    minus(a, b)                                   # a − b, figure by figure
    signs(figures), money_columns(figures, …)     # the outcome, and the five typed Arrow columns

A figure is held as int64 **cents** (the scale of the output's decimal128(24, 2)): exact, never a
float. `low` and `high` are its bounds, both equal to its value when it is established; a flag
says a side has no bound; `reason` is a code (-1: established) into the reasons of the
comparison (`Vocabulary`), so that the first reason of a sum is the one of its first item not
established, as `Figure.__add__` keeps its first operand's; the names of the unknowns that would
decide a figure are (figure, name) pairs, united by group.

Whatever these columns cannot hold exactly raises `Unsupported` — a type other than decimal128, a
value with more decimals than cents or beyond int64, sums that could overflow, an empty reason
(which `self.reason or other.reason` would pass over) — and `compare_rows` then computes its
columns row by row (the reference these functions are tested against, tests/test_compare_columns.py).
"""
from __future__ import annotations

import dataclasses
import sys

import numpy as np

from .compare import ELIGIBLE, PAYMENTS, SIDES, Period, _error

SCALE = 2  # cents: the scale of the output columns, decimal128(24, 2)
LIMIT = 2 ** 62  # the sum of the magnitudes of every amount read stays below: no int64 sum overflows
OUTCOMES = ("winner", "loser", "unchanged", "undetermined")
CHANGES = ("newly_eligible", "no_longer_eligible")


class Unsupported(Exception):
    """Values the columns cannot hold exactly: the caller computes the row-by-row reference instead."""


# ---------------------------------------------------------------- reading Arrow columns

class Vocabulary:
    """The reasons and the names of unknowns of one comparison, as codes shared by all its figures;
    and the magnitude of the amounts read (the guard against an int64 overflow)."""

    def __init__(self):
        self.reasons: list[str] = []
        self.names: list[str] = []
        self._codes: dict[str, int] = {}
        self._name_codes: dict[str, int] = {}
        self.magnitude = 0.0

    def reason_codes(self, column) -> np.ndarray:
        """A string column → int32 codes of its reasons, -1 where null (established)."""
        return self._encode(column, self.reasons, self._codes, reasons=True)

    def name_codes(self, column) -> np.ndarray:
        return self._encode(column, self.names, self._name_codes, reasons=False)

    def _encode(self, column, known: list, codes: dict, reasons: bool) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc
        array = _array(column)
        if array.null_count == len(array):
            if reasons:
                return np.full(len(array), -1, np.int32)
            raise Unsupported("a name of an unknown is null")
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            raise Unsupported(f"text expected, not {array.type}")
        if not reasons and array.null_count:
            raise Unsupported("a name of an unknown is null")
        encoded = pc.dictionary_encode(array)
        mapping = []
        for text in encoded.dictionary.to_pylist():
            if text == "":
                raise Unsupported("an empty text")  # `reason or …` would pass an empty reason over
            if text not in codes:
                codes[text] = len(known)
                known.append(text)
            mapping.append(codes[text])
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return np.where(indices >= 0, np.asarray(mapping, np.int32)[indices], -1).astype(np.int32)

    def name_pairs(self, column, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A list<string> column → (row, name code) of the names in the rows `selected`."""
        import pyarrow as pa
        import pyarrow.compute as pc
        array = _array(column)
        if array.null_count == len(array) or not selected.any():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
            raise Unsupported(f"a list of names expected, not {array.type}")
        flat = pc.list_flatten(array)
        if not len(flat):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False).astype(np.int64)
        keep = selected[parents]
        codes = self.name_codes(flat)
        return parents[keep], codes[keep].astype(np.int64)

    def name_ranks(self) -> tuple[list[str], np.ndarray]:
        """The names sorted (as `sorted(figure.deciders)` sorts them), and the rank of each code."""
        ordered = sorted(self.names)
        rank = np.zeros(len(self.names), np.int64)
        rank[[self._name_codes[name] for name in ordered]] = np.arange(len(ordered))
        return ordered, rank

    def cents(self, column) -> tuple[np.ndarray, np.ndarray]:
        """A decimal column → (int64 cents, valid): exactly, or Unsupported."""
        import pyarrow as pa
        array = _array(column)
        n = len(array)
        if array.null_count == n:
            return np.zeros(n, np.int64), np.zeros(n, bool)
        if not pa.types.is_decimal128(array.type) or sys.byteorder != "little":
            raise Unsupported(f"decimal128 expected, not {array.type}")
        valid = _valid(array)
        words = np.frombuffer(array.buffers()[1], dtype=np.int64, count=2 * (array.offset + n))
        words = words[2 * array.offset:].reshape(n, 2)
        low, high = words[:, 0], words[:, 1]
        if not np.array_equal(high[valid], low[valid] >> 63):  # the 128-bit value beyond int64
            raise Unsupported("a value beyond int64")
        values = np.where(valid, low, 0)
        scale = array.type.scale
        if scale < SCALE:
            factor = 10 ** (SCALE - scale)
            if n and float(np.abs(values.astype(np.float64)).max()) * factor >= LIMIT:
                raise Unsupported("a value beyond int64 in cents")
            values = values * factor
        elif scale > SCALE:
            factor = 10 ** (scale - SCALE)
            if (values % factor).any():
                raise Unsupported("a value with more decimals than cents")
            values = values // factor
        self.magnitude += float(np.abs(values.astype(np.float64)).sum())
        if self.magnitude >= LIMIT:
            raise Unsupported("sums that could overflow int64")
        return values, valid


def _array(column):
    """A ChunkedArray or Array → one Array."""
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _valid(array) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), bool)
    return array.is_valid().to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------- figures in columns

@dataclasses.dataclass
class Figures:
    """n figures: `low` and `high` in int64 cents (both the value when established; 0 on a side
    without bound), `low_none`/`high_none` (no bound on that side), `reason` (-1: established), and
    the (figure, name code) pairs of their deciders, sorted and unique."""
    low: np.ndarray
    high: np.ndarray
    low_none: np.ndarray
    high_none: np.ndarray
    reason: np.ndarray
    who: np.ndarray
    name: np.ndarray

    def __len__(self) -> int:
        return len(self.low)

    @classmethod
    def established(cls, cents: np.ndarray) -> "Figures":
        n = len(cents)
        return cls(cents, cents.copy(), np.zeros(n, bool), np.zeros(n, bool), np.full(n, -1, np.int32),
                   np.zeros(0, np.int64), np.zeros(0, np.int64))

    def slice(self, start: int, stop: int) -> "Figures":
        """Figures start..stop (their deciders renumbered from 0)."""
        a, b = np.searchsorted(self.who, [start, stop])
        return Figures(self.low[start:stop], self.high[start:stop], self.low_none[start:stop],
                       self.high_none[start:stop], self.reason[start:stop], self.who[a:b] - start, self.name[a:b])


def concat(parts: list[Figures]) -> Figures:
    """The figures of `parts`, one after the other (their order is the order of a later `sum_by`)."""
    offsets = np.cumsum([0] + [len(p) for p in parts])
    who = np.concatenate([np.zeros(0, np.int64)] + [p.who + o for p, o in zip(parts, offsets)])
    return Figures(*(np.concatenate([getattr(p, f) for p in parts]) if parts else np.zeros(0, t)
                     for f, t in (("low", np.int64), ("high", np.int64), ("low_none", bool), ("high_none", bool),
                                  ("reason", np.int32))),
                   who, np.concatenate([np.zeros(0, np.int64)] + [p.name for p in parts]))


def _pairs(who: np.ndarray, name: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(figure, name) pairs sorted by figure then name, each once."""
    if not len(who):
        return who.astype(np.int64), name.astype(np.int64)
    width = int(name.max()) + 1
    if int(who.max()) >= (2 ** 62) // width:
        raise Unsupported("too many pairs to number")
    keys = np.unique(who * width + name)
    return keys // width, keys % width


def sum_by(items: Figures, groups: np.ndarray, count: int) -> Figures:
    """The sum of the items of each group (0..count-1): `Figure.__add__` over the items in their
    order — established when all are; bounds the sums of the bounds, none as soon as an item has
    none on that side; the reason of the first item not established; the deciders united. A group
    without item is an established 0."""
    low, high = np.zeros(count, np.int64), np.zeros(count, np.int64)
    np.add.at(low, groups, items.low)
    np.add.at(high, groups, items.high)
    low_none, high_none = np.zeros(count, bool), np.zeros(count, bool)
    low_none[groups[items.low_none]] = True
    high_none[groups[items.high_none]] = True
    reason = np.full(count, -1, np.int32)
    opened = np.flatnonzero(items.reason >= 0)
    if len(opened):
        found, first = np.unique(groups[opened], return_index=True)  # the first occurrence of each group
        reason[found] = items.reason[opened[first]]
    who, name = _pairs(groups[items.who], items.name)
    return Figures(low, high, low_none, high_none, reason, who, name)


def minus(a: Figures, b: Figures) -> Figures:
    """a − b figure by figure (`Figure.minus`): low = a.low − b.high, high = a.high − b.low; the
    reason of `a` if it has one, else of `b`."""
    who, name = _pairs(np.concatenate([a.who, b.who]), np.concatenate([a.name, b.name]))
    return Figures(a.low - b.high, a.high - b.low, a.low_none | b.high_none, a.high_none | b.low_none,
                   np.where(a.reason >= 0, a.reason, b.reason).astype(np.int32), who, name)


def signs(f: Figures) -> np.ndarray:
    """Codes into OUTCOMES (`Figure.sign`): winner when the low bound is positive, loser when the
    high one is negative, unchanged when both are 0, undetermined otherwise."""
    low_known, high_known = ~f.low_none, ~f.high_none
    winner = low_known & (f.low > 0)
    loser = ~winner & high_known & (f.high < 0)
    unchanged = ~winner & ~loser & low_known & high_known & (f.low == 0) & (f.high == 0)
    return np.select([winner, loser, unchanged], [0, 1, 2], 3).astype(np.int64)


# ---------------------------------------------------------------- Arrow columns in, figures out

def payment_items(evaluated, period: Period, segment, vocabulary: Vocabulary):
    """The payments of one segment's evaluation (`year_figures`): (items, groups, without) — the
    figures to add, in the order `year_figures` adds them (for a row whose whole list is not
    established, an open figure for each year of the segment first, then its payments in list
    order); the group of each, year index × rows + row; the number of payments without amount of
    each row."""
    import pyarrow as pa
    import pyarrow.compute as pc
    n = evaluated.num_rows
    first, last = period.first, period.last
    whole = vocabulary.reason_codes(evaluated.column(PAYMENTS + "__not_established"))
    parts, groups = [], []
    rows = np.flatnonzero(whole >= 0)
    span = np.arange(max(segment[0].year, first), min(segment[1].year, last) + 1)
    if len(rows) and len(span):
        k, m = len(rows), len(rows) * len(span)
        selected = np.zeros(n, bool)
        selected[rows] = True
        row_of, names = vocabulary.name_pairs(evaluated.column(PAYMENTS + "__decided_by"), selected)
        position = np.zeros(n, np.int64)
        position[rows] = np.arange(k)
        who = (np.arange(len(span))[:, None] * k + position[row_of][None, :]).ravel()
        who, names = _pairs(who, np.tile(names, len(span)))
        parts.append(Figures(np.zeros(m, np.int64), np.zeros(m, np.int64), np.ones(m, bool), np.ones(m, bool),
                             np.tile(whole[rows], len(span)), who, names))
        groups.append(((span - first)[:, None] * n + rows[None, :]).ravel())
    without = np.zeros(n, np.int64)
    payments = _array(evaluated.column(PAYMENTS))
    flat = pc.list_flatten(payments)
    if len(flat):
        dates = pc.struct_field(flat, "date")  # (StructArray.field ignores the slice offset)
        years = pc.year(dates)
        keep = pc.and_(pc.greater_equal(dates, pa.scalar(segment[0], pa.date32())),
                       pc.less_equal(dates, pa.scalar(segment[1], pa.date32())))
        keep = pc.and_(keep, pc.and_(pc.greater_equal(years, first), pc.less_equal(years, last)))
        index = pc.indices_nonzero(pc.fill_null(keep, False))
        parents = pc.list_parent_indices(payments).to_numpy(zero_copy_only=False).astype(np.int64)
        parents = parents[index.to_numpy(zero_copy_only=False)]
        chosen = flat.take(index)
        year = years.take(index).to_numpy(zero_copy_only=False).astype(np.int64)

        def field(name):
            return pc.struct_field(chosen, name)
        reason = vocabulary.reason_codes(field("amount__not_established"))
        opened = reason >= 0
        amount, has_amount = vocabulary.cents(field("amount"))
        counted = opened | has_amount  # an established payment without amount counts for nothing
        without = np.bincount(parents[~counted], minlength=n).astype(np.int64)
        low, has_low = vocabulary.cents(field("amount__between_low"))
        high, has_high = vocabulary.cents(field("amount__between_high"))
        who, names = vocabulary.name_pairs(field("amount__decided_by"), opened)
        items = Figures(np.where(opened, np.where(has_low, low, 0), amount),
                        np.where(opened, np.where(has_high, high, 0), amount),
                        opened & ~has_low, opened & ~has_high, reason, *_pairs(who, names))
        keep = np.flatnonzero(counted)
        if len(keep) < len(items):
            items = _take(items, keep)
        parts.append(items)
        groups.append((year[keep] - first) * n + parents[keep])
    if not parts:
        return concat([]), np.zeros(0, np.int64), without
    return concat(parts), np.concatenate(groups), without


def _take(f: Figures, index: np.ndarray) -> Figures:
    """The figures at `index` (increasing), their deciders renumbered."""
    renumber = np.full(len(f), -1, np.int64)
    renumber[index] = np.arange(len(index))
    kept = renumber[f.who] >= 0
    return Figures(f.low[index], f.high[index], f.low_none[index], f.high_none[index], f.reason[index],
                   renumber[f.who[kept]], f.name[kept])


def output_figures(table, name: str, vocabulary: Vocabulary) -> Figures:
    """A money output's typed columns → its figures (`_figures`): an absent amount counts 0."""
    n = table.num_rows

    def column(suffix):
        full = name + suffix
        return table.column(full) if full in table.column_names else None
    reason = vocabulary.reason_codes(column("__not_established")) if column("__not_established") is not None \
        else np.full(n, -1, np.int32)
    value = vocabulary.cents(column(""))[0] if column("") is not None else np.zeros(n, np.int64)
    opened = reason >= 0
    if not opened.any():
        return Figures.established(value)
    bounds = []
    for suffix in ("__between_low", "__between_high"):
        if column(suffix) is None:
            bounds.append((np.zeros(n, np.int64), np.zeros(n, bool)))
        else:
            bounds.append(vocabulary.cents(column(suffix)))
    (low, has_low), (high, has_high) = bounds
    deciders = column("__decided_by")
    who, names = vocabulary.name_pairs(deciders, opened) if deciders is not None else (np.zeros(0, np.int64),) * 2
    return Figures(np.where(opened, np.where(has_low, low, 0), value),
                   np.where(opened, np.where(has_high, high, 0), value),
                   opened & ~has_low, opened & ~has_high, reason, *_pairs(who, names))


def money_columns(columns: dict, base: str, f: Figures, vocabulary: Vocabulary) -> None:
    """The five columns of figures `f` (`_money_columns`' order): the reason, the value where
    established, the bounds and the sorted deciders where not."""
    import pyarrow as pa
    opened = f.reason >= 0
    columns[base + "__not_established"] = texts(vocabulary.reasons, f.reason)
    columns[base] = decimals(f.low, ~opened)
    columns[base + "__between_low"] = decimals(f.low, opened & ~f.low_none)
    columns[base + "__between_high"] = decimals(f.high, opened & ~f.high_none)
    if not opened.any():
        columns[base + "__decided_by"] = pa.nulls(len(f), pa.list_(pa.string()))
        return
    ordered, rank = vocabulary.name_ranks()
    order = np.lexsort((rank[f.name], f.who)) if len(f.who) else np.zeros(0, np.int64)
    offsets = np.zeros(len(f) + 1, np.int32)
    np.cumsum(np.bincount(f.who, minlength=len(f)), out=offsets[1:])
    values = pa.array(ordered, pa.string()).take(pa.array(rank[f.name[order]], pa.int64()))
    columns[base + "__decided_by"] = pa.ListArray.from_arrays(pa.array(offsets), values, pa.list_(pa.string()),
                                                              mask=pa.array(~opened))


def decimals(cents: np.ndarray, valid: np.ndarray):
    """int64 cents → decimal128(24, 2), null where not `valid` (typed_columns' exact conversion; every
    int64 fits 24 digits)."""
    from .vector.typed_columns import decimal_array
    return decimal_array(cents, SCALE, (24, SCALE), valid)


def texts(known: list[str] | tuple, codes: np.ndarray):
    """Codes → strings of `known`, null where a code is -1."""
    import pyarrow as pa
    if not (codes >= 0).any():
        return pa.nulls(len(codes), pa.string())
    return pa.array(list(known), pa.string()).take(pa.array(codes.astype(np.int64), mask=codes < 0))


# ---------------------------------------------------------------- the comparison's columns

def comparison_columns(n: int, period: Period, money: list[str], segments: dict, finals: dict) -> dict:
    """The columns `compare_rows` appends (name → pyarrow.Array, in its order), from the
    evaluations of each side: `segments[side]` lists (segment, evaluated table), `finals[side]` the
    evaluation on the last day. Raises Unsupported where only the row-by-row path is exact."""
    import pyarrow as pa
    import pyarrow.compute as pc
    vocabulary = Vocabulary()
    years = period.year_list
    count = len(years)
    by_year, totals, without = {}, {}, {}
    for side in SIDES:
        items, groups, without[side] = [], [], np.zeros(n, np.int64)
        for segment, evaluated in segments[side]:
            found, where, none = payment_items(evaluated, period, segment, vocabulary)
            items.append(found)
            groups.append(where)
            without[side] += none
        by_year[side] = sum_by(concat(items), np.concatenate(groups), count * n)  # year index × n + row
        totals[side] = sum_by(by_year[side], np.tile(np.arange(n), count), n)  # years ascending, as _total
    outputs = {(side, name): output_figures(finals[side], name, vocabulary) for side in SIDES for name in money}
    columns: dict = {}

    def figures(name, per_side):
        per_side = dict(per_side)
        per_side["difference"] = minus(per_side["reform"], per_side["baseline"])
        for side, f in per_side.items():
            money_columns(columns, f"{name}__{side}", f, vocabulary)
        return per_side["difference"]
    for i, year in enumerate(years):
        figures(f"payments_{year}", {side: by_year[side].slice(i * n, (i + 1) * n) for side in SIDES})
    difference = figures("payments_total", totals)
    for side in SIDES:
        columns[f"payments_without_amount__{side}"] = pa.array(without[side], pa.int64())
    for name in money:
        figures(name, {side: outputs[(side, name)] for side in SIDES})
    eligible = {}
    for side in SIDES:
        column = _array(finals[side].column(ELIGIBLE))
        eligible[side] = column if column.type == pa.bool_() else pa.array(column.to_pylist(), pa.bool_())
    columns["eligible__baseline"], columns["eligible__reform"] = eligible["baseline"], eligible["reform"]
    before, after = eligible["baseline"], eligible["reform"]

    def flag(array):
        return pc.fill_null(array, False).to_numpy(zero_copy_only=False)
    newly = flag(pc.invert(before)) & flag(after)
    no_longer = flag(before) & flag(pc.invert(after))
    columns["eligibility_change"] = texts(CHANGES, np.select([newly, no_longer], [0, 1], -1))
    errors = _errors(finals["baseline"].column("error"), finals["reform"].column("error"))
    columns["outcome"] = texts(OUTCOMES, np.where(_valid(errors), -1, signs(difference)))
    columns["error"] = errors
    return columns


def _errors(baseline, reform):
    """`_error` of the rows in error on either side (they are few), null elsewhere."""
    import pyarrow.compute as pc
    either = pc.or_(pc.is_valid(baseline), pc.is_valid(reform))
    rows = np.flatnonzero(_array(either).to_numpy(zero_copy_only=False))
    codes = np.full(len(either), -1, np.int64)
    codes[rows] = np.arange(len(rows))
    found = [_error(a, b) for a, b in zip(baseline.take(rows).to_pylist(), reform.take(rows).to_pylist())]
    return texts(found, codes)
