"""The engine of a registry (its vector plans, its timeline in days) and one run over a batch's columns."""
from __future__ import annotations

import datetime as dt

import numpy as np


from .. import fastcase, memory
from .columns import (DAY_MAX, DAY_MIN, EPOCH, NESTED, OR, SCALAR_KINDS, Vec, deferred, only, rows_where, scatter, some,
                      wide)
from .compiler import VPlan
from .context import Ctx
from .inputs import _convert_column, _encode, _present
from .lists import as_list, unwritable

# ---------------------------------------------------------------- the engine and a run

class Engine:
    """The vector plans of a registry's rulesets, and its timeline in days."""

    def __init__(self, registry):
        self.registry = registry
        self._plans: dict[str, VPlan] = {}
        self.timeline = []
        for model in registry.timeline():
            lo = (model.effective_from.toordinal() - EPOCH) if model.effective_from else DAY_MIN
            hi = (model.effective_until.toordinal() - EPOCH) if model.effective_until else DAY_MAX
            self.timeline.append((registry.entries[model.id], lo, hi))

    def vplan(self, entry) -> VPlan:
        plan = self._plans.get(entry.model.id)
        if plan is None:
            plan = self._plans[entry.model.id] = VPlan(entry)
        return plan


def engine_for(registry) -> Engine:
    engine = registry.__dict__.get("_vector_engine")
    if engine is None:
        engine = registry.__dict__["_vector_engine"] = Engine(registry)
    return engine


def supported_outputs(registry, on: dt.date, outputs: list[str]) -> bool:
    """True when every output is a scalar, or a list or record of them (optional or not): what
    this back-end computes."""
    plan = registry.in_force(on).plan
    return all(_writable(plan.value_type(name)) for name in outputs)


def _writable(t) -> bool:
    t = t.base
    if t.kind == "list":
        return _writable(t.args[0])
    if t.kind in ("record", "reason"):
        return all(_writable(f) for _, f in t.fields)
    return t.kind in SCALAR_KINDS


class PythonValues:
    """Whether a run may keep values that int64 columns cannot hold as the row engine's own Python
    values (objects.py: its second pass), and whether some row needed it (the first pass hands
    those rows back; a second pass is worth running only then)."""

    def __init__(self, allowed: bool):
        self.allowed, self.needed = allowed, False

    def __call__(self, rows) -> bool:
        """Whether `rows` (a mask) are to be computed as Python values now."""
        if rows is None or not rows.any():
            return False
        self.needed = True
        return self.allowed


class Run:
    """One batch: its columns converted once per ruleset consulted, then evaluated."""

    def __init__(self, engine: Engine, schema, columns: dict, n: int, on: dt.date, objects: bool = False):
        self.engine, self.schema, self.n, self.on = engine, schema, n, on
        self.objects = PythonValues(objects)  # values int64 columns cannot hold, as Python values (objects.py)
        memory.tune()
        self.columns = columns  # flat column name → pyarrow Array / ChunkedArray / list
        self._inputs: dict = {}
        self._invalid: dict = {}
        self._present: dict = {}
        self._encoded: dict = {}
        self.texts: set = set()  # codes of the input texts this run holds (_NAMES.hold)
        self.main = engine.registry.in_force(on)

    def inherit(self, before: "Run", idx) -> None:
        """Take the inputs `before` converted (a run over more rows, whose rows `idx` are this
        run's): the second pass reads the first pass's input columns instead of validating and
        converting its rows' cells again (a JSON map per cell, each through pydantic)."""
        def rows(m):
            return None if m is None else rows_where(wide(m, before.n)[idx], self.n)
        for key, got in before._inputs.items():
            if key[0] == "convert":
                v, bad = got
                self._inputs[key] = (v.take(idx), rows(bad))
            else:
                self._inputs[key] = got.take(idx)
        self._present.update((name, wide(p, before.n)[idx]) for name, p in before._present.items())
        self._invalid.update((key, rows(m)) for key, m in before._invalid.items())

    # -- columns
    def present(self, name: str):
        p = self._present.get(name)
        if p is None:
            raw = self.columns.get(name)
            if raw is None:
                p = np.zeros(self.n, bool)
            else:
                p = _present(raw, self.n)
            self._present[name] = p
        return p

    def group_present(self, group: str):
        key = "\0group " + group
        p = self._present.get(key)
        if p is None:
            p = np.zeros(self.n, bool)
            prefix = group + "."
            for name, column in self.schema.columns.items():
                if column.path.startswith(prefix):
                    p = p | self.present(name)
            if "." not in group and self.schema.groups.get(group) is False:
                p = np.ones(self.n, bool)  # a required top-level group is always in the case
            self._present[key] = p
        return p

    def encoded(self, name: str):
        """(codes per row, -1 when empty; the distinct raw values)."""
        e = self._encoded.get(name)
        if e is None:
            e = self._encoded[name] = _encode(self.columns[name], self.present(name))
        return e

    def input(self, entry, path: str) -> Vec:
        key = (entry.model.id, path)
        v = self._inputs.get(key)
        if v is None:
            v, _ = self._convert(entry, path)
            self._inputs[key] = v
        return v

    def invalid(self, entry):
        """Rows the case schema of this ruleset rejects (None: none)."""
        key = entry.model.id
        if key not in self._invalid:
            self._invalid[key] = self._validate(entry)
        return self._invalid[key]

    def _validate(self, entry):
        model = entry.model
        invalid = None
        main_columns = {c.path: name for name, c in self.schema.columns.items()}
        main_groups = set(self.schema.groups)
        for path, decl in model.inputs.items():
            parent = path.rpartition(".")[0]
            parent_present = self.group_present(parent) if parent else None
            is_group = decl.type.kind == "group" or (decl.type.kind == "optional" and decl.type.args[0].kind == "group")
            if is_group:
                present = self.group_present(path)
                if path in main_columns:  # a scalar where this ruleset expects a group
                    invalid = OR(invalid, self.present(main_columns[path]))
            else:
                if path in main_groups:
                    invalid = OR(invalid, self.group_present(path))
                    present = np.zeros(self.n, bool)
                elif path in main_columns:
                    present = self.present(main_columns[path])
                    _, bad = self._convert(entry, path)
                    invalid = OR(invalid, bad)
                else:
                    present = np.zeros(self.n, bool)
            if decl.type.kind != "optional":
                missing = ~present if parent_present is None else (parent_present & ~present)
                invalid = OR(invalid, missing)
        return invalid if some(invalid) else None

    def _convert(self, entry, path: str):
        # shared by the rulesets that declare the input alike (same type, enum members and bounds)
        key = ("convert", fastcase.declaration_signature(entry.model, path), path)
        got = self._inputs.get(key)
        if got is not None:
            return got
        model = entry.model
        n = self.n
        t = model.input_type(path)
        base = t.base
        if base.kind == "group":
            v = Vec("opaque", none=~self.group_present(path))
            got = (v, None)
        else:
            name = next((nm for nm, c in self.schema.columns.items() if c.path == path), None)
            if name is None or name not in self.columns:
                got = (Vec("any", none=np.ones(n, bool)), None)
            else:
                got = _convert_column(self, entry, path, name, base)
        self._inputs[key] = got
        return got

    # -- evaluation
    def evaluate(self, outputs: list[str], rows_for: dict | None = None):
        """Per output its Vec over all rows, and the rows to hand back to the row engine (those the
        case schema rejects, and per output in `self.deferred` those it does not compute).
        `rows_for`: per output, the rows (a mask) it is to be computed on, if not all; its other
        rows are then counted as deferred."""
        with np.errstate(all="ignore"):
            ctx = Ctx(self, self.main, None, Vec("date", np.int64(self.on.toordinal() - EPOCH)))
            back = invalid = self.invalid(self.main)
            values = {}
            self.deferred = {}
            for name in outputs:
                kind, _ = self.main.model.value_declaration(name)
                wanted = (rows_for or {}).get(name)
                try:
                    if wanted is None or wanted.all():
                        wanted = None
                        v = ctx.value(kind, name)
                    else:  # on its own rows only: a context of those
                        idx = np.flatnonzero(wanted)
                        v = scatter(self.n, [(idx, ctx.subset(idx).value(kind, name, here=True))])
                except RecursionError:
                    v = deferred(self.n)
                v = as_list(v)
                if v.kind in ("opaque", "const"):
                    v = only(v, (), self.n)
                values[name] = v
                unknown = None  # not established for a reason this back-end did not follow
                if v.ne is not None:
                    unknown = v.ne if v.why is None else (v.ne & (wide(v.why, self.n) == 0))
                mine = OR(v.defer, unknown, unwritable(v, self.n) if v.kind in NESTED else None)
                if wanted is not None:  # the rows not asked for are not computed, not handed back either
                    mine = mine & wanted if mine is not None else None
                self.deferred[name] = OR(invalid, mine, None if wanted is None else ~wanted)
                back = OR(back, mine)
        return values, back


