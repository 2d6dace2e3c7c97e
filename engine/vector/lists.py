"""Lists, records and maps in columns: payment calendars, options, ineligibility reasons and the
patientèle observed each contract year, without a Python object per row.

- A list column (`Vec` of kind "list", data a `VList`) is a length per row and, for each
  position k below the longest list, the column of the k-th elements (meaningful on the rows
  whose length exceeds k). Lists are short in this scheme (five contract years, two payments
  a year): a row whose list would be longer than MAX_LENGTH is handed back to the row engine.
- A record column (kind "record", data a dict) is a column per field.
- A map column (kind "map", data a `VMap`: the `contract.observed` input) is, for each key met
  in the batch, whether a row holds it and the column of its value.

A list or record column's `defer` covers the rows where one of its elements or fields defers:
a row is handed back as a whole. Comprehensions evaluate their element once per position for
every row at once, then keep each row's elements in order (`over_positions`); `flatten`
concatenates per row; `failed(c)` lists the requirements a row fails. The compiled forms of
these expressions (`CollectionExprs`) mirror engine/expressions.py's, case by case.
"""
from __future__ import annotations

import numpy as np

from dsl import ast
from dsl.names import bare_member_enum, resolve

from .columns import (AND, ANDNOT, LIMIT, NOT, OR, Unsupported, Vec, _pick, const, deferred, first_why, is_true, merge,
                      scatter, wide)
from . import open as open_

MAX_LENGTH = 64  # longer lists are left to the row engine


class VList:
    __slots__ = ("length", "items")

    def __init__(self, length, items: list):
        self.length, self.items = length, items


class VMap:
    __slots__ = ("keys", "present", "values")

    def __init__(self, keys: list, present: list, values: list):
        self.keys, self.present, self.values = keys, present, values


def lengths(v: Vec, n: int):
    return wide(np.asarray(v.data.length, np.int64), n)


def as_list(v: Vec) -> Vec:
    """A constant list (`[]`, a parameter's list of members) as a list column; other values unchanged."""
    if v.kind != "const" or not isinstance(v.data, (tuple, list)):
        return v
    items = [const(x) for x in v.data]
    if any(i is None for i in items):
        return Vec("opaque", none=v.none, ne=v.ne, defer=v.defer, why=v.why, dby=v.dby)
    return Vec("list", VList(np.int64(len(items)), items), none=v.none, ne=v.ne, defer=v.defer, why=v.why, dby=v.dby)


def element(v: Vec, n: int) -> Vec:
    """A value about to become an element or a field: constant lists as columns, and the rows
    holding a value this back-end cannot write handed back."""
    v = as_list(v)
    if v.kind in ("opaque", "const"):
        return Vec("any", none=v.none, ne=v.ne, why=v.why, dby=v.dby, defer=OR(v.defer, NOT(v.bad(), n)))
    return v


def take(v: Vec, idx):
    """A list, record or map column on a subset of its rows."""
    d = v.data
    if v.kind == "list":
        length = d.length[idx] if np.ndim(d.length) == 1 else d.length
        return VList(length, [item.take(idx) for item in d.items])
    if v.kind == "record":
        return {k: f.take(idx) for k, f in d.items()}
    return VMap(d.keys, [p[idx] for p in d.present], [x.take(idx) for x in d.values])


def merge_nested(n, kind, parts):
    """`columns.merge` of list or record columns: (data, rows to hand back), data None when the
    parts cannot be merged (records of different fields, maps)."""
    if kind == "list":
        length = np.zeros(n, np.int64)
        longest = 0
        for m, v in parts:
            length = np.where(m, lengths(v, n), length)
            longest = max(longest, len(v.data.items))
        items = []
        for k in range(longest):
            sub = [(m & (lengths(v, n) > k), v.data.items[k]) for m, v in parts if len(v.data.items) > k]
            items.append(merge(n, sub))
        return VList(length, items), None
    if kind == "record":
        names = list(parts[0][1].data)
        if any(list(v.data) != names for _, v in parts):
            return None, None
        return {name: merge(n, [(m, v.data[name]) for m, v in parts]) for name in names}, None
    return None, None


def scatter_nested(n, kind, parts):
    """`columns.scatter` of list or record columns computed on subsets of rows (None: cannot)."""
    if kind == "list":
        length = np.zeros(n, np.int64)
        longest = max(len(v.data.items) for _, v in parts)
        for idx, v in parts:
            length[idx] = lengths(v, len(idx))
        items = []
        for k in range(longest):
            sub = [(idx, v.data.items[k]) for idx, v in parts if len(v.data.items) > k]
            items.append(scatter(n, sub))
        return VList(length, items)
    if kind == "record":
        names = list(parts[0][1].data)
        if any(list(v.data) != names for _, v in parts):
            return None
        return {name: scatter(n, [(idx, v.data[name]) for idx, v in parts]) for name in names}
    return None


# ---------------------------------------------------------------- building lists

def over_positions(n, length, elements, keep=None):
    """A list from one element column per position (the k-th valid where length > k), keeping,
    where `keep` masks are given, only the kept elements of each row, in order: (VList, rows to
    hand back — an element that defers where it counts)."""
    length = wide(np.asarray(length, np.int64), n)
    defer = None
    for k, e in enumerate(elements):
        counts = length > k if keep is None else (length > k) & keep[k]
        defer = OR(defer, AND(counts, e.defer))
    if keep is None:
        return VList(length, list(elements)), defer
    rank = np.zeros(n, np.int64)
    ranks = []
    for k in range(len(elements)):
        valid = (length > k) & keep[k]
        ranks.append((valid, rank.copy()))
        rank = rank + valid
    items = []
    longest = int(rank.max()) if n else 0
    for p in range(longest):
        sub = [(valid & (r == p), e) for (valid, r), e in zip(ranks, elements)]
        items.append(merge(n, [(m, e) for m, e in sub if m.any()]))
    return VList(rank, items), defer


def flatten(n, outer: Vec) -> Vec:
    """`flatten` of a list of lists: each row's inner lists one after the other. An inner list not
    established makes the result not established (expressions._flatten: the first's reason, the
    deciders of all); a missing inner list is the row engine's error."""
    if outer.kind != "list":
        if outer.kind == "const" and outer.data == ():
            return Vec("list", VList(np.int64(0), []), none=outer.none, ne=outer.ne, defer=outer.defer,
                       why=outer.why, dby=outer.dby)
        return Vec("any", none=outer.none, ne=outer.ne, why=outer.why, dby=outer.dby,
                   defer=OR(outer.defer, NOT(outer.bad(), n)))
    olen = lengths(outer, n)
    inners = [element(i, n) for i in outer.data.items]
    counted = [ANDNOT(olen > i, outer.bad()) for i in range(len(inners))]
    defer = OR(outer.defer, outer.none)
    reasons, deciders = [(outer.ne, outer.why)], [(outer.ne, outer.dby)]
    ne = outer.ne
    for i, inner in enumerate(inners):
        defer = OR(defer, AND(counted[i], OR(inner.defer, inner.none)))
        if inner.kind not in ("list", "any"):
            defer = OR(defer, ANDNOT(counted[i], inner.bad()))
        x = AND(counted[i], inner.ne)
        if x is not None:
            reasons.append((ANDNOT(x, ne), inner.why))
            deciders.append((x, inner.dby))
            ne = OR(ne, x)
    why = first_why(n, *reasons) if ne is not None else None
    dby = open_.union_where(n, *deciders) if ne is not None else None
    prefix = np.zeros(n, np.int64)
    starts = []
    for i, inner in enumerate(inners):
        starts.append(prefix)
        if inner.kind == "list":
            prefix = prefix + np.where(counted[i] & ~open_._full(inner.ne, n), lengths(inner, n), 0)
    total = prefix
    too_long = total > MAX_LENGTH
    if too_long.any():
        defer = OR(defer, too_long)
        total = np.minimum(total, MAX_LENGTH)
    items = []
    for p in range(int(total.max()) if n else 0):
        sub = []
        for i, inner in enumerate(inners):
            if inner.kind != "list":
                continue
            il = lengths(inner, n)
            for j, item in enumerate(inner.data.items):
                m = counted[i] & (il > j) & (starts[i] + j == p)
                if m.any():
                    sub.append((m, item))
        items.append(merge(n, sub))
    return Vec("list", VList(total, items), ne=ne, defer=defer, why=why, dby=dby)


def int_range(n, low: Vec, high: Vec) -> Vec:
    """`low..high`: the whole numbers from low to high inclusive, per row (expressions._Compiler._Range)."""
    scan = open_.Scan([low, high], n)
    if low.kind != "num" or high.kind != "num" or low.scale or high.scale or not (low.isint and high.isint):
        return Vec("any", ne=scan.ne, why=scan.why, dby=scan.dby, defer=OR(scan.defer, NOT(OR(scan.defer, scan.ne), n)))
    lo = wide(low.data, n)
    hi = wide(high.data, n)
    live = NOT(OR(scan.defer, scan.ne), n)
    length = np.where(live, np.maximum(0, np.minimum(hi - lo + 1, MAX_LENGTH + 1)), 0)
    too_long = live & (length > MAX_LENGTH)
    length = np.minimum(length, MAX_LENGTH)
    items = [Vec("num", lo + k, 0, True) for k in range(int(length.max()) if n else 0)]
    return Vec("list", VList(length, items), ne=scan.ne, why=scan.why, dby=scan.dby,
               defer=OR(scan.defer, too_long if too_long.any() else None))


def failed_list(n, reasons: list, false_masks, condition: Vec) -> Vec:
    """`failed(c)`: the records of the requirements each row fails, in order (interpreter.failed)."""
    if false_masks is None:
        return deferred(n)
    elements, keep = [], []
    for record, false in zip(reasons, false_masks):
        elements.append(Vec("record", {k: const(v) for k, v in record.items()}))
        keep.append(wide(false if false is not None else np.zeros(n, bool), n))
    vlist, defer = over_positions(n, np.int64(len(elements)), elements, keep)
    return Vec("list", vlist, defer=OR(condition.defer, defer))


def field_of(n, record: Vec, name: str) -> Vec:
    """`record.name`: strict in its record (expressions._Compiler._reference of a record field)."""
    if record.kind != "record" or name not in record.data:
        return Vec("any", ne=record.ne, why=record.why, dby=record.dby,
                   defer=OR(record.defer, record.none, NOT(record.bad(), n)))
    return merge(n, [(NOT(record.bad(), n), record.data[name])], ne=record.ne, why=record.why, dby=record.dby,
                 defer=OR(record.defer, record.none))


# ---------------------------------------------------------------- maps

def map_member(n, item: Vec, m: Vec, negated: bool) -> Vec:
    """`key in map` (expressions._Compiler._Member). A key not established is handed back: what is known of
    it may decide the answer (uncertain.member), which this back-end does not work out."""
    defer = OR(item.defer, m.defer, ANDNOT(m.none, OR(item.ne, m.ne)), item.ne)
    ne = ANDNOT(m.ne, defer)
    if item.kind not in ("num", "any") or (item.kind == "num" and (item.scale or not item.isint)):
        return Vec("bool", np.bool_(False), ne=ne, why=m.why, dby=m.dby, defer=OR(defer, NOT(OR(defer, ne), n)))
    found = np.zeros(n, bool)
    if item.kind == "num":
        key = wide(item.data, n)
        for k, present in zip(m.data.keys, m.data.present):
            found |= (key == k) & present
    if item.none is not None:
        found = np.where(item.none, False, found)  # `none in map`: no key is none
    return Vec("bool", found != negated, ne=ne, defer=defer, why=m.why, dby=m.dby)


def map_index(n, m: Vec, key: Vec) -> Vec:
    """`map[key]` (expressions._Compiler._Index): a map not established is the result; a key not established
    gives nothing known of it; a key the map does not hold is the row engine's error."""
    defer = OR(m.defer, m.none, ANDNOT(OR(key.defer, key.none), m.ne))
    ne = ANDNOT(OR(m.ne, key.ne), defer)
    why = first_why(n, (m.ne, m.why), (key.ne, key.why)) if ne is not None else None
    dby = _pick(n, [(m.ne, m.dby), (key.ne, key.dby)]) if ne is not None else None
    if key.kind != "num" or key.scale or not key.isint:
        return Vec("any", ne=ne, why=why, dby=dby, defer=OR(defer, NOT(OR(defer, ne), n)))
    k = wide(key.data, n)
    live = NOT(OR(defer, ne), n)
    hit = np.zeros(n, bool)
    parts = []
    for value_key, present, value in zip(m.data.keys, m.data.present, m.data.values):
        sel = live & (k == value_key) & present
        if sel.any():
            parts.append((sel, value))
        hit |= sel
    missing = live & ~hit
    return merge(n, parts, ne=ne, why=why, dby=dby, defer=OR(defer, missing if missing.any() else None))


STACK_ROWS = 6  # a stacked evaluation holds at most this many times the context's rows (memory)


def _stacked_groups(ctx, env: dict, var: str, element_fn, counted: list) -> list:
    """`_stacked` on consecutive positions whose rows add up to at most STACK_ROWS × the context's
    (a calendar of five contract years: one evaluation; a list of 64 positions: several)."""
    out, group, rows = [], [], 0
    limit = STACK_ROWS * max(ctx.n, 1)
    for position in counted:
        k = int(np.count_nonzero(position[1]))
        if group and rows + k > limit:
            out.extend(_stacked(ctx, env, var, element_fn, group))
            group, rows = [], 0
        group.append(position)
        rows += k
    out.extend(_stacked(ctx, env, var, element_fn, group))
    return out


def _stacked(ctx, env: dict, var: str, element_fn, counted: list) -> list:
    """A comprehension's element at every position at once: its rows for position 0, then those
    for position 1, and so on, make one context (a row may appear once per position it holds)
    where the element is evaluated once — the rules it calls run once per comprehension rather than
    once per position (each run costs a fixed part, whatever its rows) — then each position's
    values go back to the rows (`counted`: per position, the loop variable's column and the rows
    that hold it)."""
    n = ctx.n
    idxs = [np.flatnonzero(kept) for _, kept in counted]
    bounds = np.cumsum([0] + [len(idx) for idx in idxs])
    spans = [np.arange(bounds[k], bounds[k + 1]) for k in range(len(idxs))]
    rows = np.concatenate(idxs)
    m = len(rows)
    scope = {name: arg.take(rows) for name, arg in env.items()}
    scope[var] = scatter(m, [(span, column.take(idx)) for span, idx, (column, _) in zip(spans, idxs, counted)])
    v = element_fn(ctx.subset(rows), scope)
    return [element(scatter(n, [(idx, v.take(span))]), n) for idx, span in zip(idxs, spans)]


# ---------------------------------------------------------------- the expressions

class CollectionExprs:
    """Mixed into the vector compiler (compiler._Compiler): lists, sets, records, ranges,
    comprehensions, and the functions on lists, compiled over columns."""

    def _SetLiteral(self, e, L):
        if bare_member_enum(self.model, e.items, L):
            members = frozenset(i.name for i in e.items)
            return lambda ctx, env: Vec("const", members)
        value = frozenset(self._constant_items(e.items, L))
        return lambda ctx, env: Vec("const", value)

    def _ListLiteral(self, e, L):
        try:
            value = tuple(self._constant_items(e.items, L))
        except Unsupported:
            pass
        else:  # a constant list: `in` and comprehensions read it as it is
            return lambda ctx, env: Vec("const", value)
        items = [self.expr(i, L) for i in e.items]

        def list_(ctx, env):
            n = ctx.n
            values = [element(i(ctx, env), n) for i in items]  # every item, as the row engine does
            return Vec("list", VList(np.int64(len(values)), values), defer=OR(*(v.defer for v in values)))
        return list_

    def _constant_items(self, items, L):
        out = []
        for i in items:
            if isinstance(i, ast.Literal) and i.kind != "none":
                out.append(i.value)
            elif isinstance(i, (ast.Name, ast.Field)) and resolve(self.model, i, L).kind == "enum_member":
                out.append(resolve(self.model, i, L).member)
            else:
                raise Unsupported(i.text)
        return out

    def _RecordLiteral(self, e, L):
        entries = [(name, self.expr(v, L)) for name, v in e.entries]

        def record(ctx, env):
            n = ctx.n
            fields = {name: element(fn(ctx, env), n) for name, fn in entries}
            return Vec("record", fields, defer=OR(*(f.defer for f in fields.values())))
        return record

    def _Range(self, e, L):
        low, high = self.expr(e.low, L), self.expr(e.high, L)
        return lambda ctx, env: int_range(ctx.n, low(ctx, env), high(ctx, env))

    def _Comprehension(self, e, L):
        iterable = self.expr(e.iterable, L)
        inner = L | {e.variable}
        element_fn = self.expr(e.element, inner)
        condition = self.expr(e.condition, inner) if e.condition is not None else None
        var = e.variable
        from .compiler import costly
        element_costly = costly(e.element)

        def comprehension(ctx, env):
            n = ctx.n
            items = iterable(ctx, env)
            if items.kind == "const" and isinstance(items.data, (tuple, list)):
                columns = [const(x) for x in items.data]
                if any(c is None for c in columns):
                    return Vec("any", ne=items.ne, why=items.why, dby=items.dby,
                               defer=OR(items.defer, NOT(items.bad(), n)))
                length = np.int64(len(columns))
            elif items.kind == "list":
                columns, length = items.data.items, items.data.length
            elif items.kind == "any":
                columns, length = [], np.int64(0)
            else:  # a set (its order is the row engine's), or a value this back-end does not hold
                return Vec("any", ne=items.ne, why=items.why, dby=items.dby,
                           defer=OR(items.defer, NOT(items.bad(), n)))
            length = wide(np.asarray(length, np.int64), n)
            defer = OR(items.defer, items.none)  # iterating over none: the row engine's error
            ne, why, dby = items.ne, items.why, items.dby  # nothing known of the list but its deciders
            stopped = OR(defer, ne)
            elements, keep = [], []
            # a costly element without condition, in a first pass: every position at once (in a
            # second pass, where each row costs Python calls, the rows of a branch most positions
            # take would be computed for all positions: measured slower, so position by position)
            if condition is None and element_costly and not ctx.run.objects.allowed:
                counted = []
                for column in columns:
                    kept = ANDNOT(length > len(counted), stopped)
                    if kept is None or not kept.any():
                        break
                    counted.append((column, kept))
                if len(counted) > 1:  # the positions' rows in as few evaluations as memory allows
                    for v, (_, kept) in zip(_stacked_groups(ctx, env, var, element_fn, counted), counted):
                        defer = OR(defer, AND(kept, v.defer))
                        elements.append(v)
                        keep.append(kept)
                    vlist, d = over_positions(n, length, elements, keep)
                    return Vec("list", vlist, ne=ne, why=why, dby=dby, defer=OR(defer, d))
            for k, column in enumerate(columns):
                counted = ANDNOT(length > k, stopped)
                if counted is None or not counted.any():
                    break
                scope = {**env, var: column}
                kept = counted
                if condition is not None:
                    c = condition(ctx, scope)
                    d = AND(counted, OR(c.defer, None if c.kind in ("bool", "any") else NOT(c.bad(), n)))
                    x = ANDNOT(AND(counted, c.ne), d)
                    if x is not None:  # a condition not established: nothing known of the list
                        why = first_why(n, (ne, why), (x, c.why))
                        dby = _pick(n, [(ne, dby), (x, c.dby)])
                        ne = OR(ne, x)
                    defer = OR(defer, d)
                    stopped = OR(stopped, d, x)
                    kept = ANDNOT(AND(counted, is_true(c, n)), stopped)
                    if kept is None:
                        kept = np.zeros(n, bool)
                # a costly element on the rows that hold this position only: the others are past their list's end
                v = ctx.on_rows(element_fn, scope, kept, element_costly) if kept.any() else None
                v = element(v if v is not None else element_fn(ctx, scope), n)
                defer = OR(defer, AND(kept, v.defer))
                elements.append(v)
                keep.append(kept)
            vlist, d = over_positions(n, length, elements, keep)
            return Vec("list", vlist, ne=ne, why=why, dby=dby, defer=OR(defer, d))
        return comprehension

    def _collection_call(self, e, L):
        """`flatten(…)`, `failed(c)` and the folds `count`, `sum`, `any`, `all` over a list; None for the
        other functions."""
        if e.function == "failed":
            condition = e.args[0].name

            def failed(ctx, env):
                v = ctx.value("condition", condition)
                return failed_list(ctx.n, ctx.vplan.failed_reasons(condition), ctx.memo.get(("failed", condition)), v)
            return failed
        if e.function in ("count", "sum", "any", "all") and len(e.args) == 1:
            arg, name = self.expr(e.args[0], L), e.function
            return lambda ctx, env: fold(ctx.n, name, arg(ctx, env))
        if e.function == "flatten" and len(e.args) == 1:
            arg = self.expr(e.args[0], L)
            return lambda ctx, env: flatten(ctx.n, arg(ctx, env))
        return None

    def _map_index(self, e, L):
        target, key = self.expr(e.target, L), self.expr(e.keys[0], L)

        def index(ctx, env):
            n = ctx.n
            m = target(ctx, env)
            k = key(ctx, env)
            if m.kind != "map":
                return Vec("any", ne=m.ne, why=m.why, dby=m.dby, defer=OR(m.defer, NOT(m.bad(), n), k.defer))
            return map_index(n, m, k)
        return index


def unwritable(v: Vec, n: int):
    """The rows of a list or record column (counted elements, fields) that this back-end cannot
    write: a value it does not hold, or not established for a reason it did not follow."""
    if v.kind == "list":
        out = None
        length = lengths(v, n)
        for k, item in enumerate(v.data.items):
            out = OR(out, AND(length > k, unwritable(item, n)))
        return ANDNOT(out, v.bad())
    if v.kind == "record":
        return ANDNOT(OR(*(unwritable(f, n) for f in v.data.values())), v.bad())
    if v.kind in ("opaque", "const", "map"):
        return ANDNOT(np.ones(n, bool), OR(v.ne, v.none))
    if v.ne is not None:
        return v.ne if v.why is None else (v.ne & (wide(v.why, n) == 0))
    return None


def join_nested(n, rows, active, deciding, objects, defer) -> Vec:
    """open.join of lists and records (uncertain.join): lists of one length joined element by
    element, records field by field; lists of different lengths are not established, « dépend
    de » what decides between them. A list or record itself not established or none, among
    others, is handed back."""
    active = [(m, as_list(v)) for m, v in active]
    for m, v in active:
        defer = defer | (m & open_._full(OR(v.ne, v.none), n))
        if v.kind not in ("list", "record"):
            defer = defer | (m & ~open_._full(v.bad(), n))
    kinds = {v.kind for _, v in active if v.kind in ("list", "record")}
    if len(kinds) != 1:
        return Vec("any", defer=rows)
    kind = kinds.pop()
    typed = [(m, v) for m, v in active if v.kind == kind]
    live = rows & ~defer
    if kind == "record":
        names = list(typed[0][1].data)
        if any(list(v.data) != names for _, v in typed):
            return Vec("any", defer=rows)
        fields = {f: open_.join(n, live, [(m & live, v.data[f]) for m, v in typed], deciding, objects) for f in names}
        return Vec("record", fields, defer=OR(defer if defer.any() else None, *(f.defer for f in fields.values())))
    first = np.full(n, -1, np.int64)
    same = np.ones(n, bool)
    for m, v in typed:
        length = lengths(v, n)
        same &= ~m | (first < 0) | (first == length)
        first = np.where(m & (first < 0), length, first)
    equal = live & same
    differ = live & ~same
    longest = max((len(v.data.items) for _, v in typed), default=0)
    items = []
    item_defer = None
    for k in range(longest):
        at = equal & (first > k)
        if not at.any():
            break
        item = open_.join(n, at, [(m & at, v.data.items[k]) for m, v in typed if len(v.data.items) > k], deciding,
                          objects)
        item_defer = OR(item_defer, AND(at, item.defer))
        items.append(item)
    dby = wide(np.asarray(deciding if deciding is not None else 0, np.int32), n)
    ne = differ if differ.any() else None
    return Vec("list", VList(np.where(equal, first, 0), items), ne=ne,
               why=open_.described(dby) if ne is not None else None, dby=dby if ne is not None else None,
               defer=OR(defer if defer.any() else None, item_defer))


# ---------------------------------------------------------------- folds over a list: count, sum, min, max, any, all

def fold(n: int, name: str, v: Vec) -> Vec:
    """`count(xs)`, `sum(xs)`, `min(xs)`, `max(xs)`, `any(xs)`, `all(xs)` (engine/expressions.py's
    `_FUNCTIONS`) on the rows whose list and counted elements hold plain values; the others are
    handed back — a list not established, none or deferred, for `sum`, `min` and `max` an element
    without a value or elements of different scales, for `min` and `max` an empty list (an error of
    the row engine), for `any`/`all` an element not established where no element decides."""
    v = as_list(v)
    if v.kind != "list":
        return Vec("any", defer=np.ones(n, bool))
    length = lengths(v, n)
    back = OR(v.defer, v.none, v.ne)
    if name == "count":
        return Vec("num", length.copy(), 0, True, defer=back)
    if name == "sum":
        return _sum(n, v.data.items, length, back)
    if name in ("min", "max"):
        return _pick_one(n, v.data.items, length, back, smallest=(name == "min"))
    return _kleene(n, v.data.items, length, back, decisive=(name == "any"))


def _one_kind(items, kinds) -> tuple | None:
    """(kind, scale, isint) shared by every element column, when it is one of `kinds`; else None."""
    found = {(it.kind, it.scale, it.isint) for it in items}
    if len(found) != 1 or next(iter(found))[0] not in kinds:
        return None
    return found.pop()


def _counted(n, items, length):
    """Per position: the rows that count it (within their list), those whose element there has no
    value, and the element column."""
    for k, it in enumerate(items):
        yield k, length > k, open_._full(it.bad(), n), wide(it.data, n)


def _sum(n, items, length, back) -> Vec:
    """Python's `total = 0; total += x` over ints, or over Decimals of one exponent (the column's
    scale) — the row engine's sum exactly; an empty list there is the int 0, so with Decimals its
    rows are handed back."""
    if not items:
        return Vec("num", np.zeros(n, np.int64), 0, True, defer=back)
    shared = _one_kind(items, ("num",))
    if shared is None:
        return Vec("any", defer=np.ones(n, bool))
    _, scale, isint = shared
    total = np.zeros(n, np.int64)
    for _, counted, bad, x in _counted(n, items, length):
        back = OR(back, counted & bad)
        total = total + np.where(counted & ~bad, x, 0)  # each |x| < 2⁶⁰: no int64 wraps
        over = np.abs(total) >= LIMIT
        back = OR(back, over)
        total[over] = 0
    if not isint:
        back = OR(back, length == 0)
    return Vec("num", total, scale, isint, defer=back)


def _pick_one(n, items, length, back, smallest: bool) -> Vec:
    """Python's `min(values)` / `max(values)` over numbers or dates of one scale: the first
    element that no later one beats, as equal elements are written alike."""
    shared = _one_kind(items, ("num", "date")) if items else None
    if shared is None:
        return Vec("any", defer=np.ones(n, bool))
    kind, scale, isint = shared
    best = np.zeros(n, np.int64)
    for k, counted, bad, x in _counted(n, items, length):
        back = OR(back, counted & bad)
        better = (x < best) if smallest else (x > best)
        best = np.where(counted & ~bad & ((k == 0) | better), x, best)
    back = OR(back, length == 0)
    return Vec(kind, best, scale, isint, defer=back)


def _kleene(n, items, length, back, decisive: bool) -> Vec:
    """expressions._kleene: the decisive value as soon as one element has it, else the other value
    when every element has one; an element not established, where none decides, leaves the row to
    the row engine (which merges their reasons), as does an element without a value (the checks
    refuse a list of optional booleans: it is not met in a checked ruleset)."""
    decided = np.zeros(n, bool)
    unknown = np.zeros(n, bool)
    for k, it in enumerate(items):
        counted = length > k
        ne = open_._full(it.ne, n)
        later = open_._full(it.defer, n) | open_._full(it.none, n)
        if it.kind == "bool":
            value = wide(it.data, n).astype(bool)
        elif it.kind == "any":
            value = np.zeros(n, bool)
            later = later | ~ne  # no value: only a value not established is read here
        else:
            back = OR(back, counted)
            continue
        decided |= counted & ~ne & ~later & (value == decisive)
        unknown |= counted & ne
        back = OR(back, counted & later)
    back = OR(back, unknown & ~decided)
    return Vec("bool", np.where(decided, decisive, not decisive), defer=back)

