"""Checked ruleset → evaluation plan: every expression becomes a Python closure once.

A closure takes the running `Evaluation` and the local names in scope and returns a
value. Names are resolved here, with the checker's own `resolve`, so evaluation does
no lookup by text: each rule, condition and parameter has a number in the plan (its
slot), and a reference to it is compiled into `ev.value(slot)`, a call into `ev.value(slot, args)`;
an input into `ev.groups[group][name]`: the case's groups are numbered too, 0 being the case
itself. Nothing of the ruleset is ever handed to Python's eval/exec.
"""
from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Callable, Mapping

from dsl import ast, types as T
from dsl.checks import bare_member_enum, dotted, resolve
from dsl.errors import Diagnostic, did_you_mean
from dsl.model import Ruleset

from . import uncertain as U, values as V
from .unknowns import NO_ASSUMPTIONS, Assumptions, Decision, Openness, literal_unknown
from .values import EvaluationError, NotEstablished

Fn = Callable[["object", dict], object]  # (evaluation, locals) → value
NO_LOCALS: Mapping[str, object] = MappingProxyType({})  # the scope of what has no parameters (never written)


@dataclass
class CompiledException:
    decl: ast.RuleException
    when: Fn
    value: Fn
    narrowing: "Narrowing | None" = None  # how the exception's condition narrows the rule's parameters


@dataclass
class CompiledRule:
    decl: ast.RuleDecl
    type: T.Type
    body: Fn
    exceptions: list[CompiledException]
    decision: Decision | None = None  # known, readings, picked (by a hypothesis) or unknown (--official-only)

    def __post_init__(self):
        self.param_names = tuple(p.name for p in self.decl.params)


@dataclass
class CompiledRequirement:
    decl: ast.Requirement
    test: Fn
    waivers: list[tuple[ast.Waiver, Fn]]


@dataclass
class CompiledTable:
    decl: ast.TableDecl
    type: T.Type
    cells: list[list[Fn | None]]
    constants: list[list] = field(default_factory=list)  # each cell's value when constant, else UNSET
    decisions: list[list[Decision]] = field(default_factory=list)  # how each cell is evaluated

    def __post_init__(self):
        decl = self.decl
        self.axes = [_Headings(decl.row_keys), _Headings(decl.column_keys)]

    def locate(self, keys: list) -> tuple[int, int]:
        rows, columns = self.axes
        row = rows.find(keys[0])
        col = columns.find(keys[1]) if len(keys) > 1 else 0
        if row is None or col is None:
            decl = self.decl
            which = 0 if row is None else 1
            dim = decl.dims[which]
            raise EvaluationError(f"table `{decl.name}` has no {dim.axis[:-1]} for {dim.name} = {keys[which]}",
                                  decl.loc, hint="add the missing heading, or check the value looked up")
        return row, col


class _Headings:
    """The headings of one axis of a table, to find the first that matches a key: the exact
    ones (`1`, `full`) by value, the ranges (`3+`, `90..95`) tried in order."""

    def __init__(self, headings: list[ast.TableKey]):
        self.exact: dict = {}
        for i, heading in enumerate(headings):
            if heading.kind == "exact":
                self.exact.setdefault(heading.value, i)
        self.ranges = [(i, heading) for i, heading in enumerate(headings) if heading.kind != "exact"]

    def find(self, key) -> int | None:
        try:
            first = self.exact.get(key)
        except TypeError:  # a key no exact heading can equal (a list, a record)
            first = None
        for i, heading in self.ranges:
            if first is not None and i > first:
                break
            if heading.matches(key):
                return i
        return first


UNSET = object()  # a slot whose value is not known before a case is evaluated


def slot_numbers(model: Ruleset) -> dict[str, int]:
    """The number of each rule, condition and parameter of `model`: the index of its value."""
    names = [*model.rules, *model.conditions, *model.parameters]
    return {name: slot for slot, name in enumerate(names)}


@dataclass
class Plan:
    """Everything needed to evaluate one ruleset, built once and reused for every case."""
    model: Ruleset
    rule_types: dict[str, T.Type]
    expression_types: dict[int, T.Type]
    rules: dict[str, CompiledRule] = field(default_factory=dict)
    conditions: dict[str, list[CompiledRequirement]] = field(default_factory=dict)
    parameters: dict[str, Fn] = field(default_factory=dict)
    tables: dict[str, CompiledTable] = field(default_factory=dict)
    slots: dict[str, int] = field(default_factory=dict)  # rule, condition or parameter name → its slot
    declarations: list[tuple[str, str, object]] = field(default_factory=list)  # slot → (kind, name, compiled)
    constants: list = field(default_factory=list)  # slot → a parameter's value known at compile time, else UNSET
    _foreign: dict[int, Fn] = field(default_factory=dict)  # `as of` targets compiled for this ruleset
    outputs: dict[tuple, list] = field(default_factory=dict)  # names asked → [(name, slot, type)]
    openness: Openness | None = None  # how each declaration is evaluated under the run's assumptions
    parameter_decisions: dict[str, Decision] = field(default_factory=dict)
    groups: list[tuple] = field(default_factory=list)  # 1, 2…: (path, its group's number, name, an absent one)
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)  # input path → (its group's number, name)
    fast_steps: list | None = None  # how the fast evaluation computes each slot, made on its first use

    def expression(self, expr: ast.Expr, local_names: frozenset[str]) -> Fn:
        """Compile an expression written in another ruleset, to evaluate it under this one."""
        fn = self._foreign.get(id(expr))
        if fn is None:
            compiler = _Compiler(self.model, self.slots, self.fields, self.openness)
            fn = self._foreign[id(expr)] = compiler.expr(expr, local_names)
        return fn

    def output_slots(self, names: tuple[str, ...]) -> list[tuple[str, int, T.Type]]:
        """(name, slot, type) of each value asked for, or an error naming those this ruleset lacks."""
        known = self.outputs.get(names)
        if known is None:
            model = self.model
            unknown = [n for n in names if model.value_declaration(n)[0] is None]
            if unknown:
                hints = [did_you_mean(n, model.value_names()) for n in unknown]
                raise EvaluationError("unknown output " + ", ".join(f"`{n}`" for n in unknown) +
                                      f" in ruleset `{model.id}`",
                                      hint="; ".join(h for h in hints if h) or "outputs are " + ", ".join(model.outputs))
            known = self.outputs[names] = [(name, self.slots[name], self.value_type(name)) for name in names]
        return known

    def value_type(self, name: str) -> T.Type:
        kind, decl = self.model.value_declaration(name)
        if kind == "rule":
            return self.rule_types.get(name, T.ANY)
        if kind == "condition":
            return T.BOOL
        if kind == "parameter":
            return self.model.resolve_type(decl.type)
        return T.ANY


def compile_ruleset(model: Ruleset, rule_types: dict[str, T.Type], expression_types: dict[int, T.Type],
                    assumptions: Assumptions = NO_ASSUMPTIONS) -> Plan:
    openness = Openness(model, assumptions)
    plan = Plan(model, rule_types, expression_types, slots=slot_numbers(model), openness=openness)
    plan.groups, plan.fields = input_groups(list(model.inputs))
    c = _Compiler(model, plan.slots, plan.fields, openness)
    for name, decl in model.rules.items():
        c.owner = (name, decl.label)
        plan.rules[name] = c.rule(decl, rule_types.get(name, T.ANY))
    for name, decl in model.conditions.items():
        c.owner = (name, decl.label)
        plan.conditions[name] = [c.requirement(name, r) for r in decl.requirements]
    for name, decl in model.parameters.items():
        c.owner = (name, decl.label)
        decision = plan.parameter_decisions[name] = openness.parameter(decl)
        plan.parameters[name] = c.declared(decision, decl.value, model.resolve_type(decl.type), name)
    for name, decl in model.tables.items():
        c.owner = (name, decl.label)
        table_type = model.resolve_type(decl.type)
        decisions = [[openness.cell(decl, r, k) for k in range(len(row))] for r, row in enumerate(decl.cells)]
        cells = [[None if cell.kind == "no_value" else
                  c.declared(decisions[r][k], cell.expr, table_type, decl.cell_name(r, k))
                  for k, cell in enumerate(row)] for r, row in enumerate(decl.cells)]
        plan.tables[name] = CompiledTable(decl, table_type, cells, decisions=decisions)
    _check_fixed_types(plan)
    compiled = {"rule": plan.rules, "condition": plan.conditions, "parameter": plan.parameters}
    for name in plan.slots:
        kind, _ = model.value_declaration(name)
        plan.declarations.append((kind, name, compiled[kind][name]))
    _fold_constants(plan)
    _order_tables(plan)
    _check_fixed_values(plan)
    return plan


def input_groups(paths: list[str]) -> tuple[list[tuple], dict[str, tuple[int, str]]]:
    """The groups of the case, numbered from 1 (0 is the case itself), each after the one it
    belongs to: (path, that group's number, name, its fields all absent); and each input path →
    (the number of its group, its name). A group is any path that other input paths extend."""
    heads = {".".join(p.split(".")[:i]) for p in paths for i in range(1, p.count(".") + 1)}
    number = {"": 0}
    for path in sorted(heads, key=lambda p: p.count(".")):
        number[path] = len(number)
    fields = {p: (number[p.rpartition(".")[0]], p.rpartition(".")[2]) for p in paths}
    groups: list[tuple] = [("", None, "", None)]
    for path in list(number)[1:]:
        head, _, name = path.rpartition(".")
        absent = dict.fromkeys(n for group, n in fields.values() if group == number[path])
        groups.append((path, number[head], name, MappingProxyType(absent)))
    return groups, fields


def _fold_constants(plan: Plan):
    """Each slot's value when it is a constant of the ruleset (`Plan.constants`): a parameter whose
    value needs no case, no date and no rule (`5`, `640 €`, `{orl, urologie}`, another constant
    parameter × 2). A value that fails to compute, or a mutable one (list, record), stays to be
    computed per case. Table cells are folded the same way (`CompiledTable.constants`)."""
    plan.constants = [UNSET] * len(plan.declarations)
    ev = _ConstantEvaluation(plan, plan.constants)
    for name in plan.parameters:
        try:
            ev.value(plan.slots[name])
        except _NotConstant:
            pass
    for table in plan.tables.values():
        table.constants = [[ev.constant(cell) for cell in row] for row in table.cells]


class _NotConstant(Exception):
    pass


class Unexplained:
    """How an evaluation that records no explanation takes a declaration's readings, the reading
    a hypothesis picked, and readings that concur (the explaining Evaluation records them)."""

    def readings(self, decision, compiled, value_type, env):
        return join_readings(self, decision, compiled, env)

    def picked(self, decision, fn, value_type, env):
        return fn(self, env)

    def concord(self, deciding):
        pass


class _ConstantEvaluation(Unexplained):
    """Evaluates parameters before any case: whatever reads the case, the date or a rule is not constant."""

    def __init__(self, plan: Plan, constants: list):
        self.plan, self.constants, self.tried = plan, constants, set()
        self.groups = _NoCase()

    def constant(self, fn: Fn | None):
        """The value of `fn` if it is a constant, else UNSET."""
        if fn is None:
            return UNSET
        try:
            value = fn(self, NO_LOCALS)
        except Exception:  # noqa: BLE001 — computed per case, where it fails with its own message
            return UNSET
        return UNSET if isinstance(value, (list, dict)) else value

    def value(self, slot: int, args: tuple = ()):
        if slot not in self.tried:
            self.tried.add(slot)  # a parameter met again while being computed: a cycle, not constant
            kind, _, fn = self.plan.declarations[slot]
            if kind == "parameter":
                self.constants[slot] = self.constant(fn)
        if self.constants[slot] is UNSET:
            raise _NotConstant
        return self.constants[slot]

    def _not_constant(self, *args):
        raise _NotConstant

    builtin = table = failed = as_of = cell = _not_constant



class _NoCase:
    """The case's groups, before any case: reading an input makes a value not constant."""

    def __getitem__(self, group: int):
        raise _NotConstant


def _order_tables(plan: Plan):
    """`increasing along …`: an unknown cell lies between its established neighbours on that axis
    (and within what they are known to lie in). Computed once, from the folded cells."""
    for table in plan.tables.values():
        decl = table.decl
        for order in decl.orders:
            axis = next(i for i, d in enumerate(decl.dims) if d.name == order.axis)
            rows, columns = len(decl.cells), len(decl.cells[0]) if decl.cells else 0
            lines = ([[(r, c) for r in range(rows)] for c in range(columns)] if axis == 0 else
                     [[(r, c) for c in range(columns)] for r in range(rows)])
            for line in lines:
                if order.direction == "decreasing":
                    line = line[::-1]
                _order_line(table, line)


def _order_line(table: CompiledTable, line: list[tuple[int, int]]):
    spans = []
    for r, c in line:
        value = table.constants[r][c]
        spans.append(None if value is UNSET or table.cells[r][c] is None else U.interval(value))
    lows, highs = [], []
    running = None
    for span in spans:
        if span is not None and span[0] is not None:
            running = span[0] if running is None else max(running, span[0])
        lows.append(running)
    running = None
    for span in reversed(spans):
        if span is not None and span[1] is not None:
            running = span[1] if running is None else min(running, span[1])
        highs.append(running)
    highs.reverse()
    for (r, c), low, high in zip(line, lows, highs):
        decision = table.decisions[r][c]
        if decision.kind != "unknown":
            continue
        u = decision.unknown
        try:
            value = U.make_range(low, high, frozenset([u]), u.reason)
        except U.Empty:
            continue  # contradictory bounds: reported by `millesime check`
        table.constants[r][c] = value
        table.cells[r][c] = _constant_fn(value)


def _constant_fn(value) -> Fn:
    return lambda ev, env: value


def _check_fixed_types(plan: Plan):
    """A hypothesis fixes a value of the unknown's type: one that is not is reported at its place
    and stands for nothing (so that no evaluation meets it)."""
    for name, decision in plan.parameter_decisions.items():
        if decision.kind == "fixed" and not _typed(plan, decision, plan.model.resolve_type(plan.model.parameters[name].type)):
            decision.kind = "mistyped"
            plan.parameters[name] = _constant_fn(NotEstablished("hypothèse invalide"))
    for table in plan.tables.values():
        for r, row in enumerate(table.decisions):
            for c, decision in enumerate(row):
                if decision.kind == "fixed" and not _typed(plan, decision, table.type):
                    decision.kind = "mistyped"
                    table.cells[r][c] = _constant_fn(NotEstablished("hypothèse invalide"))


def _check_fixed_values(plan: Plan):
    """A hypothesis fixes a value within the bounds of the unknown it names."""
    openness = plan.openness
    ev = _ConstantEvaluation(plan, plan.constants)
    for name, decision in plan.parameter_decisions.items():
        if decision.kind == "fixed":
            _within_bounds(openness, decision, plan.constants[plan.slots[name]], _bounds_of(ev, decision, plan))
    for table in plan.tables.values():
        for r, row in enumerate(table.decisions):
            for c, decision in enumerate(row):
                if decision.kind == "fixed":
                    low, high = _bounds_of(ev, decision, plan)
                    low = _tighter(low, _neighbour_bound(table, r, c, "low"), max)
                    high = _tighter(high, _neighbour_bound(table, r, c, "high"), min)
                    _within_bounds(openness, decision, table.constants[r][c], (low, high))


def _typed(plan: Plan, decision: Decision, declared: T.Type) -> bool:
    """The value a hypothesis fixes is of the declaration's type (else a problem at its place)."""
    from dsl.checks import expression_type, value_fits
    value = decision.value
    actual, problems = expression_type(plan.model, value)
    plan.openness.problems.extend(problems)
    if problems:
        return False
    if declared.base.kind == "percent" and actual.kind in T.PLAIN_NUMBERS:
        plan.openness.problems.append(Diagnostic(value.loc, f"`{value.text}` is a percent here: write `{value.text} %`",
                                                 code="hypothesis"))
        return False
    if not value_fits(actual, declared):
        plan.openness.problems.append(Diagnostic(value.loc, f"`{value.text}` is {actual}, "
                                                 f"`{decision.assumption.target}` is {declared}", code="hypothesis"))
        return False
    return True


def _neighbour_bound(table: CompiledTable, row: int, column: int, side: str):
    """The tightest bound the established cells before (low) or after (high) this one give it."""
    decl = table.decl
    out = None
    for order in decl.orders:
        axis = next(i for i, d in enumerate(decl.dims) if d.name == order.axis)
        count = len(decl.cells) if axis == 0 else len(decl.cells[0])
        here = row if axis == 0 else column
        before = (side == "low") == (order.direction == "increasing")
        others = range(here) if before else range(here + 1, count)
        for i in others:
            r, c = (i, column) if axis == 0 else (row, i)
            value = table.constants[r][c]
            span = None if value is UNSET or table.cells[r][c] is None else U.interval(value)
            if span is None:
                continue
            bound = span[0] if side == "low" else span[1]
            out = _tighter(out, bound, max if side == "low" else min)
    return out


def _tighter(a, b, pick):
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def _bounds_of(ev, decision: Decision, plan: Plan):
    low = high = None
    compiler = _Compiler(plan.model, plan.slots, plan.fields, plan.openness)
    for bound in decision.bounds:
        try:
            value = compiler.expr(bound.expr, frozenset())(ev, NO_LOCALS)
        except Exception:  # noqa: BLE001 — a bound that needs the case does not restrict a constant
            continue
        span = U.interval(value)
        if span is None:
            continue
        if bound.side == "low" and span[0] is not None:
            low = _tighter(low, span[0], max)
        if bound.side == "high" and span[1] is not None:
            high = _tighter(high, span[1], min)
    return low, high


def _within_bounds(openness: Openness, decision: Decision, value, bounds):
    low, high = bounds
    a = decision.assumption
    if value is UNSET or isinstance(value, NotEstablished):
        return
    try:
        outside = (low is not None and value < low) or (high is not None and value > high)
    except TypeError:
        openness.problems.append(Diagnostic(a.value.loc, f"`{a.value.text}` is not a value `{a.target}` can take",
                                            code="hypothesis"))
        return
    if outside:
        shown = ("between " + str(low) + " and " + str(high) if low is not None and high is not None else
                 f"at least {low}" if low is not None else f"at most {high}")
        openness.problems.append(Diagnostic(a.value.loc, f"{a.value.text} is outside the bounds of `{a.target}`: "
                                            f"it lies {shown}", hint="assume a value within its bounds",
                                            code="hypothesis"))


_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _missing(expr: ast.Expr, what: str = "") -> EvaluationError:
    return EvaluationError(f"`{expr.text}` has no value here{what}", expr.loc,
                           hint="the case leaves it out: test it with `is set` before using it")


class _Compiler:
    def __init__(self, model: Ruleset, slots: dict[str, int], fields: dict[str, tuple[int, str]],
                 openness: Openness | None = None):
        self.model, self.slots, self.fields = model, slots, fields
        self.openness = openness or Openness(model)
        self.owner = ("", "")  # the declaration being compiled: (name, label), for `not established`

    def expr(self, e: ast.Expr, local_names: frozenset[str]) -> Fn:
        return getattr(self, "_" + type(e).__name__)(e, local_names)

    # -- declarations, as the run's assumptions decide (engine/unknowns.py)
    def rule(self, decl: ast.RuleDecl, rule_type: T.Type) -> CompiledRule:
        L = frozenset(p.name for p in decl.params)
        decision = self.openness.rule(decl)
        if decision.kind == "unknown":  # --official-only: the rule rests on a secondary source
            value = U.top(decision.unknown.reason, frozenset([decision.unknown]))
            return CompiledRule(decl, rule_type, _constant_fn(value), [], decision)
        body = self.declared(decision, decl.expr, rule_type, decl.name, L)
        exceptions = []
        for e in decl.exceptions:
            when = self.expr(e.when, L)
            unknown = self.openness.exception(decl, e)
            if unknown is not None:  # --official-only: it may or may not apply
                when = _constant_fn(U.top(unknown.reason, frozenset([unknown])))
            exceptions.append(CompiledException(e, when, self.expr(e.value, L), Narrowing.of(self, e.when, L)))
        return CompiledRule(decl, rule_type, body, exceptions, decision)

    def requirement(self, condition: str, r: ast.Requirement) -> "CompiledRequirement":
        test = self.expr(r.expr, frozenset())
        unknown = self.openness.requirement(condition, r)
        if unknown is not None:  # --official-only: it may or may not hold
            test = _constant_fn(U.top(unknown.reason, frozenset([unknown])))
        return CompiledRequirement(r, test, [(w, self.expr(w.when, frozenset())) for w in r.waivers])

    def declared(self, decision: Decision, expr: ast.Expr | None, value_type: T.Type, where: str,
                 L: frozenset = frozenset()) -> Fn:
        """The value of a rule, parameter or table cell: its expression, or what is known of it."""
        money = value_type.kind == "money"
        if decision.kind == "known":
            fn = self.expr(expr, L)
        elif decision.kind == "fixed":
            fn = self.expr(decision.value, L)
        elif decision.kind == "unknown":
            fn = self._unknown(decision)
        elif decision.kind == "readings":
            compiled = [(r, self._money(self.expr(r.expr, L), money)) for r in decision.readings]
            return lambda ev, env: ev.readings(decision, compiled, value_type, env)
        else:  # picked
            picked = self._money(self.expr(decision.reading.expr, L), money)
            return lambda ev, env: ev.picked(decision, picked, value_type, env)
        return self._money(fn, money)

    @staticmethod
    def _money(fn: Fn, money: bool) -> Fn:
        if not money:
            return fn

        def as_money(ev, env):
            value = fn(ev, env)
            return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value
        return as_money

    def _unknown(self, decision: Decision) -> Fn:
        """An unknown within its bounds (each bound an expression; a bound that is itself a range
        gives its outer side)."""
        u = decision.unknown
        lows = [self.expr(b.expr, frozenset()) for b in decision.bounds if b.side == "low"]
        highs = [self.expr(b.expr, frozenset()) for b in decision.bounds if b.side == "high"]
        if not lows and not highs:
            value = U.top(u.reason, frozenset([u]))
            return _constant_fn(value)

        def unknown(ev, env):
            low = high = None
            for fn in lows:
                span = U.interval(fn(ev, env))
                if span is not None and span[0] is not None:
                    low = span[0] if low is None else max(low, span[0])
            for fn in highs:
                span = U.interval(fn(ev, env))
                if span is not None and span[1] is not None:
                    high = span[1] if high is None else min(high, span[1])
            try:
                return U.make_range(low, high, frozenset([u]), u.reason)
            except U.Empty:
                raise EvaluationError(f"`{u.name}` can hold no value: its bounds exclude each other "
                                      f"(at least {low}, at most {high})", u_loc(u)) from None
        return unknown

    # -- leaves
    def _Literal(self, e, L):
        value = e.value
        return lambda ev, env: value

    def _NotEstablished(self, e, L):
        name, label = self.owner
        value = NotEstablished(e.reason, e.loc, frozenset([literal_unknown(name, label, e)]))
        return lambda ev, env: value

    def _Unknown(self, e, L):  # `?` outside a parameter or a cell: refused by the checker
        value = NotEstablished("valeur non établie", e.loc)
        return lambda ev, env: value

    def _ReadingsValue(self, e, L):  # `readings` without its declaration's readings: refused by the checker
        value = NotEstablished("lectures non données", e.loc)
        return lambda ev, env: value

    def _Name(self, e, L):
        return self._reference(e, L)

    def _Field(self, e, L):
        return self._reference(e, L)

    def _reference(self, e, L) -> Fn:
        ref = resolve(self.model, e, L)
        name = ref.name
        if ref.kind == "local":
            return lambda ev, env: env[name]
        if ref.kind in ("rule", "condition", "parameter"):
            slot = self.slots[name]
            return lambda ev, env: ev.value(slot)
        if ref.kind == "builtin":
            return lambda ev, env: ev.builtin(name)
        if ref.kind == "input":
            group, field_name = self.fields[name]
            return lambda ev, env: ev.groups[group][field_name]
        if ref.kind == "enum_member":
            member = ref.member
            return lambda ev, env: member
        if ref.kind == "record_field":
            field_name = e.name
            return self._strict([e.target], L, lambda ev, env, record: record[field_name])
        raise EvaluationError(f"unknown name `{dotted(e) or e.text}`", e.loc)

    # -- calls
    def _Call(self, e, L):
        name = e.function
        if name in self.model.rules and name not in L:
            args = [self.expr(a, L) for a in e.args]
            slot = self.slots[name]

            def call_rule(ev, env):
                values = []
                for a in args:
                    values.append(a(ev, env))
                return ev.value(slot, tuple(values))
            return call_rule
        if name == "failed":
            condition = e.args[0].name
            return lambda ev, env: ev.failed(condition)
        fn = _FUNCTIONS[name]

        def call(ev, env, *values):
            try:
                return fn(*values)
            except (ValueError, OverflowError) as exc:
                raise EvaluationError(f"{name}(…) cannot be computed here: {exc}", e.loc) from None

        def call_open(*values):
            try:
                return U.function(name, fn, list(values))
            except (ValueError, OverflowError) as exc:
                raise EvaluationError(f"{name}(…) cannot be computed here: {exc}", e.loc) from None
        return self._strict(e.args, L, call, call_open)

    def _Index(self, e, L):
        keys = [self.expr(k, L) for k in e.keys]
        if isinstance(e.target, ast.Name) and e.target.name in self.model.tables and e.target.name not in L:
            table = e.target.name

            def lookup(ev, env):
                values = [k(ev, env) for k in keys]
                uncertain = False
                for key_expr, value in zip(e.keys, values):
                    if isinstance(value, NotEstablished):
                        uncertain = True
                    elif value is None:
                        raise _missing(key_expr)
                if uncertain:
                    return lookup_open(ev, table, values)
                return ev.table(table, values)
            return lookup
        target = self.expr(e.target, L)

        def index(ev, env):
            container = target(ev, env)
            if isinstance(container, NotEstablished):
                return container
            if container is None:
                raise _missing(e.target)
            key = keys[0](ev, env)
            if isinstance(key, NotEstablished):
                return U.top(key.reason, key.decided_by)
            if key not in container:
                raise EvaluationError(f"`{e.target.text}` has no entry for {key}", e.loc,
                                      hint=f"test it first: `if {e.keys[0].text} in {e.target.text} then …`")
            return container[key]
        return index

    # -- control and logic
    def _If(self, e, L):
        cond, then, otherwise = self.expr(e.condition, L), self.expr(e.then, L), self.expr(e.otherwise, L)
        narrowing = Narrowing.of(self, e.condition, L)

        def if_(ev, env):
            c = cond(ev, env)
            if c is True:
                return then(ev, env)
            if isinstance(c, NotEstablished):  # either branch: what both give
                branches = [(then, narrowing.narrow(ev, env, True)), (otherwise, narrowing.narrow(ev, env, False))]
                return either(ev, c.decided_by, branches)
            return then(ev, env) if c else otherwise(ev, env)
        return if_

    def _Logic(self, e, L):
        operands = [self.expr(o, L) for o in e.operands]
        decisive = e.op == "or"  # `or` stops at the first true, `and` at the first false

        def logic(ev, env):
            unknown = None
            for operand in operands:
                v = operand(ev, env)
                if isinstance(v, NotEstablished):  # Kleene logic: a later decisive value still wins
                    unknown = v if unknown is None else U.top(unknown.reason, unknown.decided_by | v.decided_by,
                                                              unknown.loc)
                elif v is decisive:
                    return decisive
            return unknown if unknown is not None else (not decisive)
        return logic

    def _Not(self, e, L):
        operand = self.expr(e.operand, L)

        def not_(ev, env):
            v = operand(ev, env)
            return v if isinstance(v, NotEstablished) else not v
        return not_

    def _Compare(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), _COMPARE[e.op]
        symbol = e.op
        equality = e.op in ("=", "!=")
        constant, b = self._constant(e.right, L)
        if constant:  # `x >= 95`, `o = option.third`: the same checks, the constant's are known to pass

            def compare_constant(ev, env):
                a = left(ev, env)
                if isinstance(a, NotEstablished):
                    return U.compare(symbol, a, b)
                if a is None and not equality:
                    raise _missing(e.left)
                return op(a, b)
            return compare_constant

        def compare(ev, env):
            a, b = left(ev, env), right(ev, env)
            if isinstance(a, NotEstablished) or isinstance(b, NotEstablished):
                if not equality and (a is None or b is None):
                    return _open(a, b)
                return U.compare(symbol, a, b)
            if not equality:
                if a is None:
                    raise _missing(e.left)
                if b is None:
                    raise _missing(e.right)
            return op(a, b)
        return compare

    def _Member(self, e, L):
        item, collection, negated = self.expr(e.item, L), self.expr(e.collection, L), e.negated

        def member(ev, env):
            v, coll = item(ev, env), collection(ev, env)
            if isinstance(v, NotEstablished) or isinstance(coll, NotEstablished):
                if coll is None:
                    return _open(v, coll)
                return U.member(v, coll, negated)
            if coll is None:
                raise _missing(e.collection)
            return (v in coll) != negated
        return member

    def _IsSet(self, e, L):
        operand, negated = self.expr(e.operand, L), e.negated
        if isinstance(e.operand, (ast.Name, ast.Field)):
            ref = resolve(self.model, e.operand, L)
            if ref.kind == "input":  # `contract is set`: the input read directly
                group, name = self.fields[ref.name]
                return lambda ev, env: (ev.groups[group][name] is None) == negated

        def is_set(ev, env):
            v = operand(ev, env)
            if isinstance(v, NotEstablished) and v.shape == "set" and None in v.members:
                return U.top(v.reason, v.decided_by)
            return (v is None) == negated
        return is_set

    def _constant(self, e, L) -> tuple[bool, object]:
        """(True, value) for a literal or an enum member that is neither none nor not established."""
        if isinstance(e, ast.Literal):
            value = e.value
        elif isinstance(e, (ast.Name, ast.Field)):
            ref = resolve(self.model, e, L)
            if ref.kind != "enum_member":
                return False, None
            value = ref.member
        else:
            return False, None
        return (value is not None and not isinstance(value, NotEstablished)), value

    def _strict(self, operands: list[ast.Expr], L, compute, abstract=None) -> Fn:
        """Evaluate operands that must all have a value: a missing value stops with an error naming
        its expression, else `compute(ev, env, *values)`. When an operand is not established, the
        others are still evaluated (their errors then make the result not established rather than
        stopping) and `abstract(*values)` says what is known of the result (`top` without it)."""
        fns = [self.expr(x, L) for x in operands]

        def strict(ev, env):
            values = []
            for fn in fns:
                v = fn(ev, env)
                if v is None or isinstance(v, NotEstablished):
                    if v is None:
                        raise _missing(operands[len(values)])  # the operand after those with a value
                    return _strict_open(ev, env, values + [v], fns[len(values) + 1:], abstract)
                values.append(v)
            return compute(ev, env, *values)
        return strict

    def _Arith(self, e, L):
        op = e.op
        if op in ("+", "-", "*"):
            fn = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]
            return self._strict([e.left, e.right], L, lambda ev, env, a, b: fn(a, b),
                                lambda a, b: U.arith(op, a, b))

        def by_zero():
            return EvaluationError(f"division by zero in `{e.text}`", e.loc,
                                   hint=f"`{e.right.text}` is 0 for this case: guard the division with `if`")

        def arith(ev, env, a, b):
            try:
                return U.quotient(a, b)
            except ZeroDivisionError:
                raise by_zero() from None

        def arith_open(a, b):
            try:
                return U.quotient_open(a, b)
            except ZeroDivisionError:
                raise by_zero() from None
        return self._strict([e.left, e.right], L, arith, arith_open)

    def _Negate(self, e, L):
        return self._strict([e.operand], L, lambda ev, env, v: -v, U.negate)

    def _Round(self, e, L):
        mode, unit = e.mode, e.unit
        return self._strict([e.operand], L, lambda ev, env, v: V.round_value(v, mode, unit),
                            lambda v: U.round_range(v, mode, unit))

    def _AsOf(self, e, L):
        return self._strict([e.date], L, lambda ev, env, day: ev.as_of(day, e, L, env))

    # -- collections
    def _Comprehension(self, e, L):
        iterable = self.expr(e.iterable, L)
        inner = L | {e.variable}
        element = self.expr(e.element, inner)
        condition = self.expr(e.condition, inner) if e.condition is not None else None
        var = e.variable

        def comprehension(ev, env):
            items = iterable(ev, env)
            if isinstance(items, NotEstablished):
                return U.top(items.reason, items.decided_by, items.loc)
            if items is None:
                raise _missing(e.iterable)
            result = []
            for item in items:
                scope = {**env, var: item}
                if condition is not None:
                    keep = condition(ev, scope)
                    if isinstance(keep, NotEstablished):
                        return U.top(keep.reason, keep.decided_by, keep.loc)
                    if not keep:
                        continue
                result.append(element(ev, scope))
            return result
        return comprehension

    def _ListLiteral(self, e, L):
        items = [self.expr(i, L) for i in e.items]
        return lambda ev, env: [i(ev, env) for i in items]

    def _SetLiteral(self, e, L):
        if bare_member_enum(self.model, e.items, L):
            members = frozenset(i.name for i in e.items)
            return lambda ev, env: members
        items = [self.expr(i, L) for i in e.items]

        def set_(ev, env):
            values = [i(ev, env) for i in items]
            opened = [v for v in values if isinstance(v, NotEstablished)]
            if opened:
                return U.top(opened[0].reason, U.decided_by(*opened), opened[0].loc)
            return frozenset(values)
        return set_

    def _RecordLiteral(self, e, L):
        entries = [(name, self.expr(v, L)) for name, v in e.entries]
        return lambda ev, env: {name: fn(ev, env) for name, fn in entries}

    def _Range(self, e, L):
        low, high = self.expr(e.low, L), self.expr(e.high, L)

        def range_(ev, env):
            a, b = low(ev, env), high(ev, env)
            if isinstance(a, NotEstablished) or isinstance(b, NotEstablished):
                return _open(a, b)
            if a is None or b is None:
                raise _missing(e.low if a is None else e.high)
            return list(range(int(a), int(b) + 1))
        return range_


def u_loc(u) -> ast.Loc | None:
    """Where an unknown is declared (its key holds the place)."""
    try:
        _, file, line, column = u.key
        return ast.Loc(file, line, column)
    except (TypeError, ValueError):
        return None


def _open(*values) -> NotEstablished:
    """Nothing known of the result, but what decides the operands."""
    first = next(v for v in values if isinstance(v, NotEstablished))
    return U.top(first.reason, U.decided_by(*values), first.loc)


def _strict_open(ev, env, values: list, rest: list, abstract):
    """A strict operation one of whose operands is not established: evaluate the others (an error
    or a missing value among them makes the result plainly not established), then ask `abstract`."""
    for fn in rest:
        try:
            v = fn(ev, env)
        except (EvaluationError, U.Empty):
            return _open(*values)
        if v is None:
            return _open(*values)
        values.append(v)
    if abstract is None:
        return _open(*values)
    try:
        return abstract(*values)
    except U.Empty:
        return _open(*values)


def either(ev, deciding: frozenset, branches: list) -> object:
    """What is known of a value that is one of several branches, chosen by the unknowns `deciding`.
    A branch that cannot happen (narrowed to nothing) or errs is left out; if all err, the first
    error is raised. Equal branches give their value, and the evaluation says the readings concur."""
    outcomes, errors = [], []
    for fn, env in branches:
        if env is None:  # the condition narrows this branch to nothing: it cannot be taken
            continue
        try:
            outcomes.append(fn(ev, env))
        except (EvaluationError, U.Empty) as exc:
            errors.append(exc)
    if not outcomes:
        if errors and isinstance(errors[0], EvaluationError):
            raise errors[0]
        raise U.Empty
    value = U.join(outcomes, deciding)
    if not isinstance(value, NotEstablished) and len(outcomes) > 1:
        ev.concord(deciding)
    return value


def join_readings(ev, decision: Decision, compiled: list, env) -> object:
    """The value of a declaration with readings: each reading evaluated, then joined (decided by the
    readings themselves)."""
    return either(ev, frozenset([decision.unknown]), [(fn, env) for _, fn in compiled])


def lookup_open(ev, table_name: str, keys: list) -> object:
    """A table looked up with uncertain keys: the join of the cells whose headings the keys may meet.
    A cell that gives no value there (`—`) is a possibility in which the rules err: left out."""
    table = ev.plan.tables[table_name]
    axes = [table.decl.row_keys] + ([table.decl.column_keys] if len(keys) > 1 else [])
    candidates = [U.headings_met(headings, key) for headings, key in zip(axes, keys)]
    if any(not c for c in candidates):
        which = next(i for i, c in enumerate(candidates) if not c)
        dim = table.decl.dims[which]
        raise EvaluationError(f"table `{table_name}` has no {dim.axis[:-1]} for {dim.name} = "
                              f"{V.display(keys[which])}", table.decl.loc,
                              hint="add the missing heading, or check the value looked up")
    rows = candidates[0]
    columns = candidates[1] if len(candidates) > 1 else [0]
    deciding = U.decided_by(*keys)
    branches = [(_cell_thunk(table, r, c), NO_LOCALS) for r in rows for c in columns]
    return either(ev, deciding, branches)


def _cell_thunk(table: CompiledTable, row: int, column: int) -> Fn:
    name = table.decl.name

    def cell(ev, env):
        return ev.cell(name, row, column)
    return cell


def narrowing_comparisons(condition: ast.Expr, L: frozenset) -> list:
    """The comparisons of a condition (`p >= 90 and p < 95`) that narrow a rule parameter: (its
    name, the operator seen from it, the other side, the comparison). Every engine narrows by these."""
    found = []
    parts = condition.operands if isinstance(condition, ast.Logic) and condition.op == "and" else [condition]
    for part in parts:
        if not isinstance(part, ast.Compare):
            continue
        for side, other, op in ((part.left, part.right, part.op), (part.right, part.left, U.flip(part.op))):
            if isinstance(side, ast.Name) and side.name in L:
                found.append((side.name, op, other, part))
                break
    return found


class Narrowing:
    """How a condition narrows the rule parameters it compares (`p >= 90 and p < 95`): in the branch
    where it holds, each compared parameter lies where its comparison holds; where it fails, only a
    single comparison (or the one left undecided by the others) narrows, by its negation. Only
    ranges narrow: established values and the rest are left as they are."""

    def __init__(self, tests: list):
        self.tests = tests  # (local name, operator seen from the local, compiled other side, compiled comparison)

    @classmethod
    def of(cls, compiler: "_Compiler", condition: ast.Expr, L: frozenset) -> "Narrowing":
        return cls([(name, op, compiler.expr(other, L), compiler.expr(part, L))
                    for name, op, other, part in narrowing_comparisons(condition, L)])

    def narrow(self, ev, env, holds: bool):
        """`env` with the compared parameters narrowed, None when the branch cannot be taken."""
        if not self.tests:
            return env
        if holds:
            chosen = self.tests
        else:
            undecided = [t for t in self.tests if not isinstance(t[3](ev, env), bool)]
            if len(undecided) != 1:
                return env
            chosen = undecided
        scope = dict(env)
        try:
            for name, op, other, _ in chosen:
                value = scope.get(name)
                if isinstance(value, NotEstablished):
                    scope[name] = U.refine(value, op, other(ev, scope), holds)
        except U.Empty:
            return None
        return scope


NO_NARROWING = Narrowing([])


def _min_max(name: str, pick):
    def fn(*values):
        if len(values) == 1 and isinstance(values[0], (list, tuple, frozenset)):
            values = tuple(values[0])
        if not values:
            raise ValueError("no value to choose from")
        if any(isinstance(v, NotEstablished) for v in values):
            return U.function(name, fn, list(values))
        return pick(values)
    return fn


def _sum(values):
    if any(isinstance(v, NotEstablished) for v in values):
        return U.function("sum", _sum, [values])
    total = 0
    for v in values:
        total += v
    return total


def _kleene(decisive: bool):
    """any (decisive true) / all (decisive false) over booleans, some of them not established."""
    def fn(values):
        unknown = None
        for v in values:
            if isinstance(v, NotEstablished):
                unknown = v if unknown is None else U.top(unknown.reason, unknown.decided_by | v.decided_by)
            elif bool(v) is decisive:
                return decisive
        return unknown if unknown is not None else (not decisive)
    return fn


def _flatten(lists):
    opened = [inner for inner in lists if isinstance(inner, NotEstablished)]
    if opened:
        return U.top(opened[0].reason, U.decided_by(*opened), opened[0].loc)
    return [item for inner in lists for item in inner]


_FUNCTIONS = {
    "min": _min_max("min", min),
    "max": _min_max("max", max),
    "abs": abs,
    "sum": _sum,
    "count": lambda values: len(values),
    "flatten": _flatten,
    "any": _kleene(True),
    "all": _kleene(False),
    "years_between": V.years_between,
    "months_between": V.months_between,
    "days_between": lambda a, b: (b - a).days,
    "add_years": V.add_years,
    "add_months": V.add_months,
    "add_days": lambda d, n: d + dt.timedelta(days=n),
    "first_day_of_next_month": V.first_day_of_next_month,
    "date": lambda y, m, d: dt.date(y, m, d),
    "year": lambda d: d.year,
}
