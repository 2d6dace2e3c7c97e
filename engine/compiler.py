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
from dsl.errors import did_you_mean
from dsl.model import Ruleset

from . import values as V
from .values import EvaluationError, NotEstablished

Fn = Callable[["object", dict], object]  # (evaluation, locals) → value
NO_LOCALS: Mapping[str, object] = MappingProxyType({})  # the scope of what has no parameters (never written)


@dataclass
class CompiledException:
    decl: ast.RuleException
    when: Fn
    value: Fn


@dataclass
class CompiledRule:
    decl: ast.RuleDecl
    type: T.Type
    body: Fn
    exceptions: list[CompiledException]

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
    groups: list[tuple] = field(default_factory=list)  # 1, 2…: (path, its group's number, name, an absent one)
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)  # input path → (its group's number, name)
    fast_steps: list | None = None  # how the fast evaluation computes each slot, made on its first use

    def expression(self, expr: ast.Expr, local_names: frozenset[str]) -> Fn:
        """Compile an expression written in another ruleset, to evaluate it under this one."""
        fn = self._foreign.get(id(expr))
        if fn is None:
            fn = self._foreign[id(expr)] = _Compiler(self.model, self.slots, self.fields).expr(expr, local_names)
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


def compile_ruleset(model: Ruleset, rule_types: dict[str, T.Type], expression_types: dict[int, T.Type]) -> Plan:
    plan = Plan(model, rule_types, expression_types, slots=slot_numbers(model))
    plan.groups, plan.fields = input_groups(list(model.inputs))
    c = _Compiler(model, plan.slots, plan.fields)
    for name, decl in model.rules.items():
        local_names = frozenset(p.name for p in decl.params)
        plan.rules[name] = CompiledRule(
            decl, rule_types.get(name, T.ANY), c.expr(decl.expr, local_names),
            [CompiledException(e, c.expr(e.when, local_names), c.expr(e.value, local_names))
             for e in decl.exceptions])
    for name, decl in model.conditions.items():
        plan.conditions[name] = [
            CompiledRequirement(r, c.expr(r.expr, frozenset()), [(w, c.expr(w.when, frozenset())) for w in r.waivers])
            for r in decl.requirements]
    for name, decl in model.parameters.items():
        plan.parameters[name] = c.expr(decl.value, frozenset())
    for name, decl in model.tables.items():
        table_type = model.resolve_type(decl.type)
        cells = [[c.cell(cell, table_type, _cell_name(decl, r, k)) for k, cell in enumerate(row)]
                 for r, row in enumerate(decl.cells)]
        plan.tables[name] = CompiledTable(decl, table_type, cells)
    compiled = {"rule": plan.rules, "condition": plan.conditions, "parameter": plan.parameters}
    for name in plan.slots:
        kind, _ = model.value_declaration(name)
        plan.declarations.append((kind, name, compiled[kind][name]))
    _fold_constants(plan)
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


class _ConstantEvaluation:
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

    builtin = table = failed = as_of = _not_constant


class _NoCase:
    """The case's groups, before any case: reading an input makes a value not constant."""

    def __getitem__(self, group: int):
        raise _NotConstant


def _cell_name(decl: ast.TableDecl, row: int, column: int) -> str:
    headings = [f"{decl.dims[0].name} {decl.row_keys[row].text}"]
    if decl.column_keys:
        headings.append(f"{decl.dims[1].name} {decl.column_keys[column].text}")
    return f"{decl.label} ({', '.join(headings)})"


_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _missing(expr: ast.Expr, what: str = "") -> EvaluationError:
    return EvaluationError(f"`{expr.text}` has no value here{what}", expr.loc,
                           hint="the case leaves it out: test it with `is set` before using it")


class _Compiler:
    def __init__(self, model: Ruleset, slots: dict[str, int], fields: dict[str, tuple[int, str]]):
        self.model, self.slots, self.fields = model, slots, fields

    def expr(self, e: ast.Expr, local_names: frozenset[str]) -> Fn:
        return getattr(self, "_" + type(e).__name__)(e, local_names)

    def cell(self, cell: ast.TableCell, table_type: T.Type, where: str) -> Fn | None:
        if cell.kind == "no_value":
            return None
        if cell.kind == "unknown":
            # The reason names the cell by its headings, not by a file path: the same ruleset gives
            # the same words wherever it is installed.
            reason = NotEstablished(f"{where} : valeur non établie (« ? » dans le barème)", cell.loc)
            return lambda ev, env: reason
        fn = self.expr(cell.expr, frozenset())
        if table_type.kind == "money":
            return lambda ev, env: Decimal(fn(ev, env))
        return fn

    # -- leaves
    def _Literal(self, e, L):
        value = e.value
        return lambda ev, env: value

    def _NotEstablished(self, e, L):
        value = NotEstablished(e.reason, e.loc)
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
        return self._strict(e.args, L, call)

    def _Index(self, e, L):
        keys = [self.expr(k, L) for k in e.keys]
        if isinstance(e.target, ast.Name) and e.target.name in self.model.tables and e.target.name not in L:
            table = e.target.name

            def lookup(ev, env):
                values = [k(ev, env) for k in keys]
                for key_expr, value in zip(e.keys, values):
                    if isinstance(value, NotEstablished):
                        return value
                    if value is None:
                        raise _missing(key_expr)
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
            if key not in container:
                raise EvaluationError(f"`{e.target.text}` has no entry for {key}", e.loc,
                                      hint=f"test it first: `if {e.keys[0].text} in {e.target.text} then …`")
            return container[key]
        return index

    # -- control and logic
    def _If(self, e, L):
        cond, then, otherwise = self.expr(e.condition, L), self.expr(e.then, L), self.expr(e.otherwise, L)

        def if_(ev, env):
            c = cond(ev, env)
            if c is True:
                return then(ev, env)
            if isinstance(c, NotEstablished):
                return c
            return then(ev, env) if c else otherwise(ev, env)
        return if_

    def _Logic(self, e, L):
        operands = [self.expr(o, L) for o in e.operands]
        decisive = e.op == "or"  # `or` stops at the first true, `and` at the first false

        def logic(ev, env):
            unknown = None
            for operand in operands:
                v = operand(ev, env)
                if isinstance(v, NotEstablished):
                    unknown = unknown or v  # Kleene logic: a later decisive value still wins
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
        equality = e.op in ("=", "!=")
        constant, b = self._constant(e.right, L)
        if constant:  # `x >= 95`, `o = option.third`: the same checks, the constant's are known to pass

            def compare_constant(ev, env):
                a = left(ev, env)
                if isinstance(a, NotEstablished):
                    return a
                if a is None and not equality:
                    raise _missing(e.left)
                return op(a, b)
            return compare_constant

        def compare(ev, env):
            a, b = left(ev, env), right(ev, env)
            if isinstance(a, NotEstablished):
                return a
            if isinstance(b, NotEstablished):
                return b
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
            if isinstance(v, NotEstablished):
                return v
            if isinstance(coll, NotEstablished):
                return coll
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
        return lambda ev, env: (operand(ev, env) is None) == negated

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

    def _strict(self, operands: list[ast.Expr], L, compute) -> Fn:
        """Evaluate operands that must all have a value: `not established` propagates, a missing
        value stops with an error naming its expression, else `compute(ev, env, *values)`."""
        fns = [self.expr(x, L) for x in operands]

        def strict(ev, env):
            values = []
            for fn in fns:
                v = fn(ev, env)
                if v is None or isinstance(v, NotEstablished):
                    if v is None:
                        raise _missing(operands[len(values)])  # the operand after those with a value
                    return v
                values.append(v)
            return compute(ev, env, *values)
        return strict

    def _Arith(self, e, L):
        op = e.op
        if op == "+":
            return self._strict([e.left, e.right], L, lambda ev, env, a, b: a + b)
        if op == "-":
            return self._strict([e.left, e.right], L, lambda ev, env, a, b: a - b)
        if op == "*":
            return self._strict([e.left, e.right], L, lambda ev, env, a, b: a * b)

        def arith(ev, env, a, b):
            if b == 0:
                raise EvaluationError(f"division by zero in `{e.text}`", e.loc,
                                      hint=f"`{e.right.text}` is 0 for this case: guard the division with `if`")
            return V.divide(a, b)
        return self._strict([e.left, e.right], L, arith)

    def _Negate(self, e, L):
        return self._strict([e.operand], L, lambda ev, env, v: -v)

    def _Round(self, e, L):
        mode, unit = e.mode, e.unit
        return self._strict([e.operand], L, lambda ev, env, v: V.round_value(v, mode, unit))

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
                return items
            if items is None:
                raise _missing(e.iterable)
            result = []
            for item in items:
                scope = {**env, var: item}
                if condition is not None:
                    keep = condition(ev, scope)
                    if isinstance(keep, NotEstablished):
                        return keep
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
        return lambda ev, env: frozenset(i(ev, env) for i in items)

    def _RecordLiteral(self, e, L):
        entries = [(name, self.expr(v, L)) for name, v in e.entries]
        return lambda ev, env: {name: fn(ev, env) for name, fn in entries}

    def _Range(self, e, L):
        low, high = self.expr(e.low, L), self.expr(e.high, L)

        def range_(ev, env):
            a, b = low(ev, env), high(ev, env)
            if a is None or b is None:
                raise _missing(e.low if a is None else e.high)
            return list(range(int(a), int(b) + 1))
        return range_


def _min_max(pick):
    def fn(*values):
        if len(values) == 1 and isinstance(values[0], (list, tuple, frozenset)):
            values = tuple(values[0])
        if not values:
            raise ValueError("no value to choose from")
        if any(isinstance(v, NotEstablished) for v in values):
            return next(v for v in values if isinstance(v, NotEstablished))
        return pick(values)
    return fn


def _sum(values):
    total = 0
    for v in values:
        if isinstance(v, NotEstablished):
            return v
        total += v
    return total


_FUNCTIONS = {
    "min": _min_max(min),
    "max": _min_max(max),
    "abs": abs,
    "sum": _sum,
    "count": lambda values: len(values),
    "flatten": lambda lists: [item for inner in lists for item in inner],
    "any": lambda values: any(values),
    "all": lambda values: all(values),
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
