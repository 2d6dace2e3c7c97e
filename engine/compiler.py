"""Checked ruleset → evaluation plan (engine/plan.py): each declaration compiled by
engine/expressions.py, then the parameters and table cells that need no case folded into
constants, the unknown cells of ordered tables bounded by their neighbours, and the hypotheses
of the run checked against what they assume.
"""
from __future__ import annotations

from types import MappingProxyType

from dsl import types as T
from dsl.errors import Diagnostic
from dsl.model import Ruleset

from . import uncertain as U
from .expressions import _Compiler, _constant_fn, join_readings
from .plan import NO_LOCALS, UNSET, CompiledTable, Fn, Plan, slot_numbers
from .unknowns import NO_ASSUMPTIONS, Assumptions, Decision, Openness
from .values import NotEstablished

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
    from dsl.checks import expression_type
    from dsl.names import value_fits
    value = decision.value
    actual, problems = expression_type(plan.model, value)
    plan.openness.problems.extend(problems)
    if problems:
        return False
    if declared.base.kind == "percent" and actual.kind in T.PLAIN_NUMBERS:
        plan.openness.problems.append(Diagnostic(value.loc, f"« {value.text} » est un pourcentage ici : écrivez "
                                                 f"« {value.text} % »", code="hypothesis"))
        return False
    if not value_fits(actual, declared):
        plan.openness.problems.append(Diagnostic(value.loc, f"« {value.text} » est de type {actual}, "
                                                 f"« {decision.assumption.target} » de type {declared}",
                                                 code="hypothesis"))
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
        openness.problems.append(Diagnostic(a.value.loc, f"« {a.value.text} » n'est pas une valeur que « {a.target} » "
                                            "peut prendre", code="hypothesis"))
        return
    if outside:
        shown = (f"comprise entre {low} et {high}" if low is not None and high is not None else
                 f"au moins {low}" if low is not None else f"au plus {high}")
        openness.problems.append(Diagnostic(a.value.loc, f"{a.value.text} est hors des bornes de « {a.target} » : "
                                            f"sa valeur est {shown}",
                                            hint="supposez une valeur comprise dans ses bornes", code="hypothesis"))
