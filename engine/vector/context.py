"""Evaluation contexts: a ruleset on a subset of the batch's rows — rules, conditions, table
lookups (`Axis`) and `as of` across rulesets."""
from __future__ import annotations

from typing import TYPE_CHECKING

from decimal import Decimal

import numpy as np

from dsl import ast

from .columns import AND, ANDNOT, MAX_DEPTH, NOT, OR, Vec, _scaled, as_mask, deferred, first_why, is_false, is_true, merge, only, rows_where, scatter, select, some, strict, truth
from .compiler import _fail

if TYPE_CHECKING:
    from .run import Run

# ---------------------------------------------------------------- evaluation contexts

class Ctx:
    """A ruleset evaluated on a subset of the batch's rows, each row with its own `on`."""

    def __init__(self, run: "Run", entry, rows, on: Vec, depth: int = 0):
        self.run, self.entry, self.model = run, entry, entry.model
        self.vplan = run.engine.vplan(entry)
        self.rows = rows  # indices into the batch, None for all rows
        self.n = run.n if rows is None else len(rows)
        self.on = on
        self.depth = depth
        self.memo: dict = {}
        self.keep: list = []       # values whose id() is part of a memo key
        self.active: set = set()
        self.children: dict = {}

    # -- what compiled closures call
    def value(self, kind: str, name: str, args: tuple = ()) -> Vec:
        key = (kind, name, tuple(map(id, args)))
        v = self.memo.get(key)
        if v is not None:
            return v
        if key in self.active or len(self.active) > MAX_DEPTH:
            return deferred(self.n)  # a cycle, or recursion: the row engine decides
        self.active.add(key)
        try:
            if kind == "rule":
                v = self._rule(name, args)
            elif kind == "condition":
                v = self._condition(name)
            else:
                v = self.vplan.parameter(name)(self, {})
        finally:
            self.active.discard(key)
        self.memo[key] = v
        self.keep.append(args)
        return v

    def input(self, path: str) -> Vec:
        key = ("input", path)
        v = self.memo.get(key)
        if v is None:
            full = self.run.input(self.entry, path)
            v = self.memo[key] = full if self.rows is None else full.take(self.rows)
        return v

    def table(self, name: str, keys: list[Vec]) -> Vec:
        """`name[keys]`; looked up once per key columns (rule exceptions often read the same
        cells as the rule's value, with the same parameters)."""
        memo_key = ("lookup", name, tuple(map(id, keys)))
        v = self.memo.get(memo_key)
        if v is None:
            v = self.memo[memo_key] = self._lookup(name, keys)
            self.keep.append(keys)
        return v

    def _lookup(self, name: str, keys: list[Vec]) -> Vec:
        n = self.n
        decl, money, cells, axes = self.vplan.table(name)
        defer = OR(*(k.defer for k in keys))  # every key is computed before any is looked at
        stopped, ne = defer, None
        pairs = []
        for k in keys:
            x = ANDNOT(k.ne, stopped)
            d = ANDNOT(k.none, stopped)
            ne, defer = OR(ne, x), OR(defer, d)
            pairs.append((x, k.why))
            stopped = OR(stopped, x, d)
        why = first_why(n, *pairs) if ne is not None else None
        index = []
        for k, axis in zip(keys, axes):
            idx, extra = axis.locate(k, n)
            defer = OR(defer, ANDNOT(extra, stopped))
            index.append(idx)
        grid = self._grid(name, cells, money)
        if grid is not None:
            # one gather: the cell of each row, a row without a heading landing on the grid's
            # last row or column (an error, as in the row engine)
            data, state, reasons, kind, scale, isint = grid
            flat = index[0] * state.shape[1] + index[1] if len(index) > 1 else index[0] * state.shape[1]
            s = state.ravel()[flat]
            if s.any():  # a `?` or `—` cell, or a key without a heading, on some row
                cell_ne = ANDNOT(rows_where(s == 1, n), stopped)
                if cell_ne is not None:
                    why = first_why(n, (ne, why), (cell_ne, reasons.ravel()[flat]))
                    ne = OR(ne, cell_ne)
                defer = OR(defer, ANDNOT(rows_where(s == 2, n), stopped))
            return Vec(kind, data.ravel()[flat], scale, isint, ne=ne, defer=defer, why=why)
        # cells computed per row: merged cell by cell
        live = NOT(stopped, n)
        r = index[0]
        c = index[1] if len(index) > 1 else np.zeros((), np.int64)
        found = live & (r < len(cells)) & (c < (len(decl.column_keys) if decl.column_keys else 1))
        defer = OR(defer, ANDNOT(live, found))
        parts = []
        for i, row in enumerate(cells):
            for j, (status, code) in enumerate(row):
                m = found & (r == i) & (c == j)
                if not m.any():
                    continue
                if status == "none":
                    defer = OR(defer, m)
                elif status == "ne":
                    parts.append((m, Vec("any", ne=m, why=code)))
                else:
                    parts.append((m, self._cell(name, i, j, code)))
        return merge(n, parts, ne=ne, defer=defer, why=why)

    def _grid(self, name: str, cells, money: bool):
        """A table whose cells are all constants of one kind, as arrays (value, state: 0 a value,
        1 not established, 2 an error; reason), with one more row and column for keys that no
        heading matches; None when a cell depends on the row."""
        key = ("grid", name)
        if key in self.memo:
            return self.memo[key]
        vals = [[self._cell(name, i, j, fn) if status == "value" else None for j, (status, fn) in enumerate(row)]
                for i, row in enumerate(cells)]
        values = [v for row in vals for v in row if v is not None]
        kinds = {v.kind for v in values if v.kind != "any"}
        grid = None
        if len(kinds) == 1 and kinds <= {"num", "bool", "date", "sym"} and all(
                (np.ndim(v.data) == 0 and v.bad() is None) or (v.kind == "any" and v.why is not None
                                                                and np.ndim(v.why) == 0) for v in values):
            kind = kinds.pop()
            scale = max(v.scale for v in values if v.kind == kind)
            height, width = len(cells), max(len(row) for row in cells)
            data = np.zeros((height + 1, width + 1), np.bool_ if kind == "bool" else np.int64)
            state = np.full((height + 1, width + 1), 2, np.int8)
            reasons = np.zeros((height + 1, width + 1), np.int32)
            for i, row in enumerate(cells):
                for j, (status, code) in enumerate(row):
                    v = vals[i][j]
                    if status == "none":
                        continue
                    if status == "ne":
                        state[i, j], reasons[i, j] = 1, code
                    elif v.kind == "any" and v.ne is not None:
                        state[i, j], reasons[i, j] = 1, v.why
                    elif v.kind == "any":
                        continue
                    elif kind == "num":
                        scaled = _scaled(Decimal(int(v.data)).scaleb(-v.scale), scale)
                        if scaled is not None:
                            state[i, j], data[i, j] = 0, scaled[0]
                    else:
                        state[i, j], data[i, j] = 0, v.data
            isint = all(v.isint for v in values if v.kind == "num") and not money
            grid = (data, state, reasons, kind, scale, isint)
        self.memo[key] = grid
        return grid

    def _cell(self, table: str, i: int, j: int, fn) -> Vec:
        key = ("cell", table, i, j)
        v = self.memo.get(key)
        if v is None:
            v = self.memo[key] = fn(self, {})
        return v

    def as_of(self, day: Vec, expr: ast.AsOf, L: frozenset, env: dict) -> Vec:
        n = self.n
        defer, ne, why = strict([day], n)
        if day.kind != "date":
            return _fail(n, defer, ne, why)
        groups, outside = self._split(day, NOT(OR(defer, ne), n))
        parts = []
        for child, idx, invalid in groups:
            sub_env = {k: v.take(idx) for k, v in env.items()} if len(idx) != n else env
            v = child.vplan.foreign(expr.target, L)(child, sub_env)
            if invalid is not None:
                v = Vec(v.kind, v.data, v.scale, v.isint, v.none, v.ne, OR(v.defer, invalid), v.why)
            parts.append((idx, v))
        defer = OR(defer, outside)  # no ruleset in force that day
        if len(parts) == 1 and len(parts[0][0]) == n:
            v = parts[0][1]
            return Vec(v.kind, v.data, v.scale, v.isint, v.none, OR(ne, v.ne), OR(defer, v.defer),
                       first_why(n, (ne, why), (v.ne, v.why)) if OR(ne, v.ne) is not None else None)
        return scatter(n, parts, ne=ne, defer=defer, why=why)

    def _split(self, day: Vec, ok):
        """The rows with a date, grouped by the ruleset in force on it — per group its context,
        its rows and those the ruleset's case schema rejects — and the rows no ruleset covers.
        Once per date column: `x as of contract_start` is written in many rules."""
        key = ("split", id(day))
        found = self.memo.get(key)
        if found is not None:
            return found
        n = self.n
        days = np.broadcast_to(day.data, (n,))
        groups = []
        left = ok.copy()
        for entry, lo, hi in self.run.engine.timeline:
            m = left & (days >= lo) & (days <= hi)
            if not m.any():
                continue
            left &= ~m
            idx = np.flatnonzero(m)
            child = self._child(day, entry, idx, days)
            invalid = self.run.invalid(entry)
            if invalid is not None:
                invalid = rows_where(invalid if child.rows is None else invalid[child.rows], len(idx))
            groups.append((child, idx, invalid))
        found = self.memo[key] = (groups, rows_where(left, n))
        self.keep.append(day)
        return found

    def _child(self, day: Vec, entry, idx, days) -> "Ctx":
        key = (id(day), entry.model.id)
        child = self.children.get(key)
        if child is None:
            if self.depth >= MAX_DEPTH:
                raise RecursionError
            whole = len(idx) == self.n
            rows = self.rows if whole else (idx if self.rows is None else self.rows[idx])
            on = Vec("date", day.data if whole else days[idx])
            child = self.children[key] = Ctx(self.run, entry, rows, on, self.depth + 1)
            self.keep.append(day)
        return child

    # -- rules and conditions
    def _rule(self, name: str, args: tuple) -> Vec:
        n = self.n
        decl, body, exceptions = self.vplan.rule(name)
        env = {p.name: a for p, a in zip(decl.params, args)}
        if not exceptions:
            return body(self, env)
        stopped = defer = ne = None
        pairs = []
        count = np.zeros(n, np.int8)
        first = np.full(n, -1, np.int8)
        for i, (when, _) in enumerate(exceptions):
            h = when(self, env)
            d = ANDNOT(h.defer, stopped)
            x = ANDNOT(h.ne, stopped)
            defer, ne = OR(defer, d), OR(ne, x)
            pairs.append((x, h.why))
            stopped = OR(stopped, d, x)
            if h.kind not in ("bool", "any"):
                defer = OR(defer, ANDNOT(NOT(h.bad(), n), stopped))
                stopped = OR(stopped, defer)
                continue
            hit = ANDNOT(truth(h, n), stopped)
            if hit is not None:
                count += hit
                first = select(hit & (first < 0), np.int8(i), first)
        conflict = ANDNOT(as_mask(count > 1, n), stopped)
        defer = OR(defer, conflict)
        stopped = OR(stopped, conflict)
        live = NOT(stopped, n)
        parts = []
        for i, (_, value) in enumerate(exceptions):
            m = live & (first == i)
            if m.any():
                parts.append((m, value(self, env)))
        m = live & (first < 0)
        if m.any():
            parts.append((m, body(self, env)))
        return merge(n, parts, ne=ne, defer=defer, why=first_why(n, *pairs) if ne is not None else None)

    def _condition(self, name: str) -> Vec:
        n = self.n
        defer = ne = false = None
        pairs = []
        for test, waivers in self.vplan.condition(name):
            v = test(self, {})
            if v.kind not in ("bool", "any"):  # a value that is not a boolean: left to the row engine
                v = only(v, ("bool",), n)
            defer = OR(defer, v.defer)
            waived = None
            remaining = ANDNOT(NOT(is_true(v, n), n), v.defer)  # `value is not True`
            for w in waivers:
                if not some(remaining):
                    break
                wv = w(self, {})
                defer = OR(defer, AND(remaining, wv.defer))
                remaining = ANDNOT(remaining, wv.defer)
                hit = AND(remaining, is_true(wv, n))
                waived = OR(waived, hit)
                remaining = ANDNOT(remaining, hit)
            false = OR(false, ANDNOT(is_false(v, n), waived))
            x = ANDNOT(v.ne, waived)
            pairs.append((x, v.why))
            ne = OR(ne, x)
        # all_hold: false if one fails, else the first not established, else true
        data = np.bool_(True) if false is None else ~false
        why = first_why(n, *pairs) if ne is not None else None
        return Vec("bool", data, ne=ANDNOT(ne, false), defer=defer, why=why)
