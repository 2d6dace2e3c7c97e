"""An expression → a Python closure (`_Compiler`), and what those closures call: the language's
built-in functions, and the evaluation of values not established (`either`, readings, tables
looked up with an unknown key, narrowing).

Names are resolved here, with the checker's own `resolve`, so evaluation does no lookup by text:
a reference to a rule, condition or parameter is compiled into `ev.value(slot)`, a call into
`ev.value(slot, args)`; an input into `ev.groups[group][name]`: the case's groups are numbered
too, 0 being the case itself. Nothing of the ruleset is ever handed to Python's eval/exec.
"""
from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal

from dsl import ast, types as T
from dsl.names import bare_member_enum, dotted, resolve
from dsl.model import Ruleset

from . import uncertain as U, values as V
from .plan import NO_HEADING_HINT, NO_LOCALS, CompiledException, CompiledRequirement, CompiledRule, CompiledTable, Fn, \
    no_heading
from .unknowns import Decision, Openness, literal_unknown
from .uncertain import NO_VALUE_TO_CHOOSE
from .values import EvaluationError, NotEstablished

def _constant_fn(value) -> Fn:
    return lambda ev, env: value


_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _missing(expr: ast.Expr) -> EvaluationError:
    return EvaluationError(f"« {expr.text} » n'a pas de valeur ici", expr.loc,
                           hint="le cas ne la donne pas : testez-la avec « is set » avant de l'employer")


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
                raise EvaluationError(f"« {u.name} » ne peut prendre aucune valeur : ses bornes s'excluent "
                                      f"(au moins {low}, au plus {high})", u_loc(u)) from None
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
        raise EvaluationError(f"nom inconnu « {dotted(e) or e.text} »", e.loc)

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
                raise _function_error(name, exc, e.loc) from None

        def call_open(*values):
            try:
                return U.function(name, fn, list(values))
            except (ValueError, OverflowError) as exc:
                raise _function_error(name, exc, e.loc) from None
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
                raise EvaluationError(f"« {e.target.text} » n'a pas d'entrée pour {key}", e.loc,
                                      hint=f"testez-le d'abord : « if {e.keys[0].text} in {e.target.text} then … »")
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
            return EvaluationError(f"division par zéro dans « {e.text} »", e.loc,
                                   hint=f"« {e.right.text} » vaut 0 pour ce cas : protégez la division par un « if »")

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
        raise EvaluationError(no_heading(table_name, dim, V.display(keys[which])), table.decl.loc, hint=NO_HEADING_HINT)
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


def _function_error(name: str, exc: Exception, loc) -> EvaluationError:
    """A built-in function that cannot give a value for these arguments (a date past year 9999,
    the 30th of February, min() of nothing)."""
    text = str(exc)
    if text == NO_VALUE_TO_CHOOSE:
        why = text
    elif "day is out of range for month" in text:
        why = "ce jour n'existe pas dans ce mois"
    elif "month must be in 1..12" in text:
        why = "le mois doit être compris entre 1 et 12"
    elif "out of range" in text or "too large" in text or "greater than maximum" in text \
            or isinstance(exc, OverflowError):
        why = "le résultat sort des dates ou des nombres possibles"
    else:
        why = text
    return EvaluationError(f"{name}(…) ne peut pas être calculé ici : {why}", loc)


def _min_max(name: str, pick):
    def fn(*values):
        if len(values) == 1 and isinstance(values[0], (list, tuple, frozenset)):
            values = tuple(values[0])
        if not values:
            raise ValueError(NO_VALUE_TO_CHOOSE)
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
