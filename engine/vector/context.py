"""Evaluation contexts: a ruleset on a subset of the batch's rows — rules, conditions, table
lookups (`Axis`) and `as of` across rulesets."""
from __future__ import annotations

from typing import TYPE_CHECKING

from decimal import Decimal

import numpy as np

from dsl import ast

from .columns import AND, ANDNOT, MAX_DEPTH, NOT, OR, Vec, _scaled, as_mask, deferred, first_why, is_false, is_true, merge, only, rows_where, scatter, select, some, wide
from .functions import _fail
from . import open as open_
from .. import uncertain as U

if TYPE_CHECKING:
    from .run import Run

# ---------------------------------------------------------------- evaluation contexts

BRANCH_MIN_ROWS = 256   # a context with fewer rows evaluates each branch on all of them
BRANCH_SHARE = 0.5      # a branch taken by more than this share of the rows: computed on all of them


class Ctx:
    """A ruleset evaluated on a subset of the batch's rows, each row with its own `on`."""

    def __init__(self, run: "Run", entry, rows, on: Vec, depth: int = 0, parent: "Ctx | None" = None,
                 local=None):
        self.run, self.entry, self.model = run, entry, entry.model
        self.vplan = run.engine.vplan(entry)
        self.rows = rows  # indices into the batch, None for all rows
        self.n = run.n if rows is None else len(rows)
        self.on = on
        self.depth = depth
        self.memo: dict = {}
        self.keep: list = []       # values whose id() is part of a memo key
        self.active: set = parent.active if parent is not None else set()  # cycles seen across branches too
        self.children: dict = {}
        self.parent, self.local = parent, local  # a branch's context: its rows among its parent's

    # -- branches on the rows that take them
    def on_rows(self, fn, env: dict, mask, costly: bool = True) -> Vec | None:
        """`fn(ctx, env)` on the rows of `mask` (None when there are none): in a context of those
        rows alone when `fn` is `costly` and they are few enough for it to pay — the other rows
        hold any value, which the caller does not read (compiler._If merges each branch on its
        own rows)."""
        n = self.n
        if mask is None:
            return None
        mask = wide(mask, n)
        k = int(np.count_nonzero(mask))
        if k == 0:
            return None
        if not costly or n < BRANCH_MIN_ROWS or k > n * BRANCH_SHARE:
            return fn(self, env)
        idx = np.flatnonzero(mask)
        sub = self.subset(idx)
        v = fn(sub, {name: arg.take(idx) for name, arg in env.items()})
        return scatter(n, [(idx, v)])

    def subset(self, idx) -> "Ctx":
        """This context on the rows `idx` of its own (a branch's): the rules, conditions and
        parameters without arguments are taken from the context of all the rows (`_from_root`)."""
        on = self.on.take(idx) if isinstance(self.on.data, np.ndarray) and self.on.data.ndim == 1 else self.on
        rows = idx if self.rows is None else self.rows[idx]
        return Ctx(self.run, self.entry, rows, on, self.depth, self, idx)

    def _from_root(self, kind: str, name: str, key) -> Vec:
        """A rule, condition or parameter without arguments, on this context's rows: computed by the
        context that holds every row of this branch's lineage (a value of all the rows may be asked
        again by another branch, or after the `if`), then taken — never computed twice."""
        node, idx = self, None
        while node.parent is not None:
            idx = node.local if idx is None else node.local[idx]
            node = node.parent
            v = node.memo.get(key)
            if v is not None:
                break
        else:
            v = node.value(kind, name)
        if kind == "condition":  # and the rows where each requirement fails, which `failed(…)` reads
            fails = node.memo.get(("failed", name))
            if fails is not None:
                self.memo[("failed", name)] = [m[idx] if isinstance(m, np.ndarray) and m.ndim == 1 else m
                                               for m in fails]
        return v.take(idx)

    # -- what compiled closures call
    def value(self, kind: str, name: str, args: tuple = (), here: bool = False) -> Vec:
        """A rule's, condition's or parameter's value on this context's rows (`here`: computed in
        this context even when it is a branch's, see `_from_root`)."""
        key = (kind, name, tuple(map(id, args)))
        v = self.memo.get(key)
        if v is not None:
            return v
        if not args and self.parent is not None and not here:  # computed once for all rows, then taken
            v = self._from_root(kind, name, key)
            self.memo[key] = v
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
        if any(k.kind == "obj" for k in keys):  # a key held as a Python value: handed back
            return Vec("any", defer=NOT(None, n))
        # every key is computed before any is looked at; a missing one stops with an error
        defer = OR(*(k.defer for k in keys), *(k.none for k in keys))
        opened = ANDNOT(OR(*(k.ne for k in keys)), defer)  # a key not established: the cells it may meet
        exact = self._lookup_exact(name, keys, decl, money, cells, axes, OR(defer, opened), n)
        if opened is None:
            return exact.replace(defer=OR(exact.defer, defer))
        joined = self._lookup_open(name, keys, cells, axes, opened, n)
        return merge(n, [(NOT(OR(opened, defer), n), exact), (opened, joined)], defer=defer)

    def _lookup_open(self, name, keys, cells, axes, opened, n) -> Vec:
        """Rows whose keys are not all established: the join of the cells whose headings the keys may
        meet (compiler.lookup_open), the headings met worked out once per distinct key bounds."""
        candidates = []
        for k, axis in zip(keys, axes):
            candidates.append(_headings_met(k, axis, opened, n))
        rows_of = candidates[0]
        cols_of = candidates[1] if len(candidates) > 1 else [np.ones(n, bool)]
        none_met = opened & ~np.logical_or.reduce(rows_of) if rows_of else opened
        if len(candidates) > 1:
            none_met |= opened & ~np.logical_or.reduce(cols_of) if cols_of else opened
        outcomes = []
        for i, row in enumerate(cells):
            for j, (status, fn) in enumerate(row):
                if status == "none" or i >= len(rows_of) or j >= len(cols_of):
                    continue  # `—`: a possibility in which the rules err, left out
                m = opened & rows_of[i] & cols_of[j]
                if m.any():
                    outcomes.append((m, self._cell(name, i, j, fn)))
        deciding = open_.union_where(n, *((k.ne, k.dby) for k in keys))
        joined = open_.join(n, opened, outcomes, deciding, self.run.objects)
        return joined.replace(defer=OR(joined.defer, AND(none_met, opened)))

    def _lookup_exact(self, name, keys, decl, money, cells, axes, stopped, n) -> Vec:
        defer, ne, why = None, None, None
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
            out = Vec(kind, data.ravel()[flat], scale, isint, ne=ne, defer=defer, why=why)
            return self._open_cells(out, name, cells, index, stopped, n)
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
                else:
                    parts.append((m, self._cell(name, i, j, code)))
        return merge(n, parts, ne=ne, defer=defer, why=why)

    def _open_cells(self, out: Vec, name, cells, index, stopped, n) -> Vec:
        """The grid's rows that landed on a cell not established: the cell's own column (its
        deciders, its bounds)."""
        if out.ne is None:
            return out
        flat_rows = index[0]
        flat_cols = index[1] if len(index) > 1 else np.zeros((), np.int64)
        parts = [(NOT(out.ne, n), out)]
        for i, row in enumerate(cells):
            for j, (status, fn) in enumerate(row):
                if status != "value":
                    continue
                m = out.ne & (flat_rows == i) & (flat_cols == j)
                if m.any():
                    parts.append((m, self._cell(name, i, j, fn)))
        return merge(n, parts, defer=out.defer)

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
                (np.ndim(v.data) == 0 and v.bad() is None) or (v.ne is not None and v.why is not None
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
                    if v.ne is not None:  # not established: its own column gives what is known of it
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
        scan = open_.Scan([day], n)
        defer, ne, why, dby = scan.defer, scan.ne, scan.why, scan.dby
        if day.kind != "date":
            return _fail(n, defer, ne, why, dby)
        groups, outside = self._split(day, NOT(OR(defer, ne), n))
        parts = []
        for child, idx, invalid in groups:
            sub_env = {k: v.take(idx) for k, v in env.items()} if len(idx) != n else env
            v = child.vplan.foreign(expr.target, L)(child, sub_env)
            if invalid is not None:
                v = v.replace(defer=OR(v.defer, invalid))
            parts.append((idx, v))
        defer = OR(defer, outside)  # no ruleset in force that day
        if len(parts) == 1 and len(parts[0][0]) == n:
            v = parts[0][1]
            both = OR(ne, v.ne)
            return Vec(v.kind, v.data, v.scale, v.isint, v.none, both, OR(defer, v.defer),
                       first_why(n, (ne, why), (v.ne, v.why)) if both is not None else None,
                       open_.union_where(n, (ne, dby), (ANDNOT(v.ne, ne), v.dby)) if both is not None else None,
                       ANDNOT(v.rng, ne), v.iv)
        return scatter(n, parts, ne=ne, defer=defer, why=why, dby=dby)

    def _split(self, day: Vec, ok):
        """The rows with a date, grouped by the ruleset in force on it — per group its context,
        its rows and those the ruleset's case schema rejects — and the rows no ruleset covers.
        Once per date column: `x as of contract_start` is written in many rules."""
        key = ("split", id(day))
        found = self.memo.get(key)
        if found is not None:
            return found
        n = self.n
        days = wide(day.data, n)
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
        """A rule's value: its body, the exception that applies (two: a conflict, handed back), or,
        where an exception's condition is not established, what its value and the body give
        together (interpreter.rule_outcome)."""
        n = self.n
        decl, body, exceptions = self.vplan.rule(name)
        env = {p.name: a for p, a in zip(decl.params, args)}
        if not exceptions:
            return body(self, env)
        defer = None
        count = np.zeros(n, np.int8)
        first = np.full(n, -1, np.int8)
        holds = []
        for i, (when, _, _) in enumerate(exceptions):
            h = when(self, env)  # every condition is evaluated, as the row engine does
            defer = OR(defer, h.defer)
            if h.kind not in ("bool", "any"):
                defer = OR(defer, NOT(h.bad(), n))
                holds.append(None)
                continue
            hit = is_true(h, n)
            if hit is not None:
                count += hit
                first = select(hit & (first < 0), np.int8(i), first)
            holds.append(h)
        defer = OR(defer, as_mask(count > 1, n))  # two exceptions apply at once: the row engine's error
        live = NOT(defer, n)
        maybe = [ANDNOT(h.ne, defer) if h is not None else None for h in holds]
        undecided = live & (count == 0) & (OR(*maybe) if OR(*maybe) is not None else np.zeros(n, bool))
        parts = []
        for i, (_, value, _) in enumerate(exceptions):  # each on the rows it applies to
            m = live & (first == i)
            if m.any():
                parts.append((m, self.on_rows(value, env, m)))
        m = live & (first < 0) & ~undecided
        if m.any():
            parts.append((m, self.on_rows(body, env, m)))
        if undecided.any():
            parts.append((undecided, self._maybe_exceptions(exceptions, holds, maybe, undecided, body, env)))
        return merge(n, parts, defer=defer)

    def _maybe_exceptions(self, exceptions, holds, maybe, rows, body, env) -> Vec:
        n = self.n
        outcomes = []
        body_env, body_never = env, None
        deciders = []
        for (when, value, narrowing), h, m in zip(exceptions, holds, maybe):
            if m is None:
                continue
            m = m & rows
            if not m.any():
                continue
            deciders.append((m, h.dby))
            env_i, never = narrowing.narrow(self, env, m, True)
            outcomes.append((ANDNOT(m, never), self.on_rows(value, env_i, m)))
            body_env, never_b = narrowing.narrow(self, body_env, m, False)
            body_never = OR(body_never, never_b)
        outcomes.append((ANDNOT(rows, body_never), self.on_rows(body, body_env, rows)))
        return open_.join(n, rows, outcomes, open_.union_where(n, *deciders), self.run.objects)

    def _condition(self, name: str) -> Vec:
        """All requirements hold (interpreter.all_hold and requirement_outcome): false if one fails,
        else not established if one is — a waiver whose condition is not established may lift a
        requirement that fails or is not established: it is then not established itself."""
        n = self.n
        defer = ne = false = None
        pairs, deciders = [], []
        fails = self.memo[("failed", name)] = []  # per requirement, the rows where it fails (`failed`)
        for test, waivers in self.vplan.condition(name):
            v = test(self, {})
            if v.kind not in ("bool", "any"):  # a value that is not a boolean: left to the row engine
                v = only(v, ("bool",), n)
            defer = OR(defer, v.defer)
            waived = pending = pending_why = pending_dby = None
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
                first_pending = ANDNOT(AND(remaining, wv.ne), pending)
                if first_pending is not None:
                    pending_why = select(first_pending, wide(wv.why, n),
                                         pending_why if pending_why is not None else np.zeros(n, np.int32))
                    pending_dby = select(first_pending, wide(wv.dby if wv.dby is not None else 0, n),
                                         pending_dby if pending_dby is not None else np.zeros(n, np.int32))
                    pending = OR(pending, first_pending)
            pending = ANDNOT(pending, waived)
            fails.append(ANDNOT(ANDNOT(is_false(v, n), waived), pending))
            false = OR(false, fails[-1])
            x = OR(ANDNOT(v.ne, waived), pending)
            if x is not None:
                why = v.why if pending is None else select(pending, pending_why, wide(v.why if v.why is not None else 0, n))
                dby = v.dby if pending is None else select(pending, open_.union(
                    np.where(open_._full(v.ne, n), wide(v.dby if v.dby is not None else 0, n), 0),
                    pending_dby), wide(v.dby if v.dby is not None else 0, n))
                pairs.append((ANDNOT(x, ne), why))
                deciders.append((x, dby))
            ne = OR(ne, x)
        # all_hold: false if one fails, else the first not established (with every unknown met), else true
        data = np.bool_(True) if false is None else ~false
        why = first_why(n, *pairs) if ne is not None else None
        dby = open_.union_where(n, *deciders) if ne is not None else None
        return Vec("bool", data, ne=ANDNOT(ne, false), defer=defer, why=why, dby=dby)


def _headings_met(key: Vec, axis, rows, n) -> list:
    """For each heading of an axis, the rows (among `rows`) whose key may match it: the heading it
    matches for an established key, those its bounds meet (uncertain.headings_met) otherwise."""
    met = [np.zeros(n, bool) for _ in axis.headings]
    exact_rows = rows & ~open_._full(key.ne, n)
    if exact_rows.any() and key.kind != "any":
        idx, _ = axis.locate(key, n)
        idx = wide(idx, n)
        for i in range(len(axis.headings)):
            met[i] |= exact_rows & (idx == i)
    open_rows = rows & open_._full(key.ne, n)
    if not open_rows.any():
        return met
    top_rows = open_rows & ~open_._full(key.rng, n)
    for m in met:
        m |= top_rows
    ranged = open_rows & open_._full(key.rng, n)
    if ranged.any():
        span = open_.span(key, n)
        cols = [span.lo, span.hi, open_._full(span.loinf, n), open_._full(span.hiinf, n),
                open_._full(span.loopen, n), open_._full(span.hiopen, n)]
        stacked = np.stack([wide(c, n).astype(np.int64) for c in cols], axis=1)[ranged]
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        where = np.flatnonzero(ranged)
        for u, row in enumerate(uniq):
            value = open_.to_python(key, row)
            hit = U.headings_met(axis.headings, value)
            rows_u = where[inverse.reshape(-1) == u]
            for i in hit:
                met[i][rows_u] = True
    return met
