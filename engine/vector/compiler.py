"""A ruleset's expressions compiled into closures over columns (`Ctx` → `Vec`), and the built-in
functions of the language on columns."""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from dsl import ast
from dsl.checks import bare_member_enum, resolve

from .calendar import _add_months, _first_day_of_next_month, _from_ymd, _month_length, _months_between, _years_between, _ymd, on_span
from .columns import ANDNOT, DAY_MAX, DAY_MIN, FLIMIT, Fn, LIMIT, MAX_SCALE, NOT, OR, Vec, _pair_masks, as_mask, const, deferred, first_why, is_false, is_true, merge, only, reason_code, rescale, rows_where, select, some, strict, sym, truth
from .headings import Axis, symbol_lookup

# ---------------------------------------------------------------- the compiler

class Unsupported(Exception):
    pass


class VPlan:
    """The vector closures of one ruleset, compiled on first use and kept."""

    def __init__(self, entry):
        self.entry, self.model = entry, entry.model
        self.c = _Compiler(self.model)
        self._rules, self._conditions, self._parameters, self._tables, self._foreign = {}, {}, {}, {}, {}

    # INTERIM: what the law leaves open (readings, `?` within bounds, --official-only, hypotheses) is
    # not computed in columns yet: the rows that reach it are handed to the row engine.
    def rule(self, name):
        r = self._rules.get(name)
        if r is None:
            decl = self.model.rules[name]
            L = frozenset(p.name for p in decl.params)
            plan = self.entry.plan
            if plan.rules[name].decision.kind != "known":
                r = self._rules[name] = (decl, _deferring, [])
            else:
                r = self._rules[name] = (decl, self.c.expr(decl.expr, L),
                                         [(_deferring if plan.openness.exception(decl, e) else self.c.expr(e.when, L),
                                           self.c.expr(e.value, L)) for e in decl.exceptions])
        return r

    def condition(self, name):
        c = self._conditions.get(name)
        if c is None:
            decl = self.model.conditions[name]
            openness = self.entry.plan.openness
            c = self._conditions[name] = [(_deferring if openness.requirement(name, r) else
                                           self.c.expr(r.expr, frozenset()),
                                           [self.c.expr(w.when, frozenset()) for w in r.waivers])
                                          for r in decl.requirements]
        return c

    def parameter(self, name):
        p = self._parameters.get(name)
        if p is None:
            if self.entry.plan.parameter_decisions[name].kind != "known":
                p = self._parameters[name] = _deferring
            else:
                p = self._parameters[name] = self.c.expr(self.model.parameters[name].value, frozenset())
        return p

    def table(self, name):
        t = self._tables.get(name)
        if t is None:
            decl = self.model.tables[name]
            money = self.model.resolve_type(decl.type).kind == "money"
            decisions = self.entry.plan.tables[name].decisions
            cells = [[("none", None) if cell.kind == "no_value" else
                      ("value", self.c.expr(cell.expr, frozenset())) if decisions[i][j].kind == "known"
                      else ("value", _deferring) for j, cell in enumerate(row)]
                     for i, row in enumerate(decl.cells)]
            axes = [Axis(decl.row_keys)] + ([Axis(decl.column_keys)] if decl.column_keys else [])
            t = self._tables[name] = (decl, money, cells, axes)
        return t

    def foreign(self, expr: ast.Expr, local_names: frozenset):
        key = (id(expr), local_names)
        fn = self._foreign.get(key)
        if fn is None:
            fn = self._foreign[key] = (expr, self.c.expr(expr, local_names))
        return fn[1]


def _deferring(ctx, env) -> "Vec":
    return deferred(ctx.n)


class _Compiler:
    def __init__(self, model):
        self.model = model

    def expr(self, e: ast.Expr, L: frozenset) -> Fn:
        try:
            return getattr(self, "_" + type(e).__name__)(e, L)
        except Unsupported:
            return lambda ctx, env: deferred(ctx.n)

    # -- leaves
    def _Literal(self, e, L):
        if e.kind == "none":
            return lambda ctx, env: Vec("any", none=np.ones(ctx.n, bool))
        v = const(e.value)
        if v is None:
            raise Unsupported(e.text)
        return lambda ctx, env: v

    def _NotEstablished(self, e, L):
        code = np.int32(reason_code(e.reason))
        return lambda ctx, env: Vec("any", ne=np.ones(ctx.n, bool), why=code)

    def _Name(self, e, L):
        return self._reference(e, L)

    def _Field(self, e, L):
        return self._reference(e, L)

    def _reference(self, e, L):
        ref = resolve(self.model, e, L)
        name = ref.name
        if ref.kind == "local":
            return lambda ctx, env: env[name]
        if ref.kind in ("rule", "condition", "parameter"):
            kind = ref.kind
            return lambda ctx, env: ctx.value(kind, name)
        if ref.kind == "builtin":
            if name == "on":
                return lambda ctx, env: ctx.on
            return lambda ctx, env: Vec("sym", np.int64(sym(ctx.model.id)))
        if ref.kind == "input":
            return lambda ctx, env: ctx.input(name)
        if ref.kind == "enum_member":
            v = const(ref.member)
            return lambda ctx, env: v
        raise Unsupported(e.text)  # record fields: records are not vectorised

    # -- calls
    def _Call(self, e, L):
        name = e.function
        if name in self.model.rules and name not in L:
            args = [self.expr(a, L) for a in e.args]
            return lambda ctx, env: ctx.value("rule", name, tuple(a(ctx, env) for a in args))
        if name not in _FUNCTIONS:
            raise Unsupported(name)
        fn = _FUNCTIONS[name]
        args = [self.expr(a, L) for a in e.args]

        def call(ctx, env):
            n = ctx.n
            values = []
            stopped = defer = ne = None
            pairs = []
            for a in args:  # operands in order; stop at the first not established or missing
                if stopped is not None and stopped.all():
                    break
                v = a(ctx, env)
                d = ANDNOT(OR(v.defer, v.none), stopped)
                x = ANDNOT(v.ne, stopped)
                defer, ne = OR(defer, d), OR(ne, x)
                pairs.append((x, v.why))
                stopped = OR(stopped, d, x)
                values.append(v)
            why = first_why(n, *pairs) if ne is not None else None
            if len(values) < len(args):
                return Vec("any", ne=ne, defer=defer, why=why)
            return _why(fn(n, values, defer, ne), why)
        return call

    def _Index(self, e, L):
        keys = [self.expr(k, L) for k in e.keys]
        if isinstance(e.target, ast.Name) and e.target.name in self.model.tables and e.target.name not in L:
            table = e.target.name

            def lookup(ctx, env):
                return ctx.table(table, [k(ctx, env) for k in keys])
            return lookup
        raise Unsupported(e.text)  # maps are not vectorised

    # -- control and logic
    def _If(self, e, L):
        cond, then, otherwise = self.expr(e.condition, L), self.expr(e.then, L), self.expr(e.otherwise, L)

        def if_(ctx, env):
            n = ctx.n
            c = cond(ctx, env)
            if c.kind not in ("bool", "any"):
                c = only(c, ("bool",), n)
            taken = ANDNOT(truth(c, n), OR(c.defer, c.ne))
            rest = ANDNOT(NOT(taken, n), OR(c.defer, c.ne))
            parts = []
            if some(taken):
                parts.append((taken, then(ctx, env)))
            if some(rest):
                parts.append((rest, otherwise(ctx, env)))
            return merge(n, parts, ne=c.ne, defer=c.defer, why=c.why)
        return if_

    def _Logic(self, e, L):
        operands = [self.expr(o, L) for o in e.operands]
        decisive = e.op == "or"

        def logic(ctx, env):
            n = ctx.n
            stopped = defer = unknown = decided = None
            pairs = []
            for operand in operands:
                if stopped is not None and stopped.all():
                    break
                v = operand(ctx, env)
                d = ANDNOT(v.defer, stopped)
                defer = OR(defer, d)
                stopped = OR(stopped, d)
                x = ANDNOT(v.ne, stopped)  # Kleene logic: the first not established is kept
                pairs.append((x, v.why))
                unknown = OR(unknown, x)
                hit = is_true(v, n) if decisive else is_false(v, n)
                hit = ANDNOT(hit, stopped)
                decided = OR(decided, hit)
                stopped = OR(stopped, hit)
            data = np.bool_(not decisive) if decided is None else (decided if decisive else ~decided)
            why = first_why(n, *pairs) if unknown is not None else None
            return Vec("bool", data, ne=ANDNOT(unknown, decided), defer=defer, why=why)
        return logic

    def _Not(self, e, L):
        operand = self.expr(e.operand, L)

        def not_(ctx, env):
            v = operand(ctx, env)
            if v.kind == "any":  # none → `not none` is true
                return Vec("bool", np.bool_(True), ne=v.ne, defer=v.defer, why=v.why)
            if v.kind != "bool":
                return only(v, ("bool",), ctx.n)
            data = ~v.data if v.none is None else (~v.data | v.none)
            return Vec("bool", data, ne=v.ne, defer=v.defer, why=v.why)
        return not_

    def _Compare(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), e.op
        equality = op in ("=", "!=")

        def compare(ctx, env):
            n = ctx.n
            a, b = left(ctx, env), right(ctx, env)
            defer, ne, why = _pair_masks(n, a, b)
            if not equality:
                defer = OR(defer, ANDNOT(OR(a.none, b.none), OR(defer, ne)))
            data, extra = _compare_values(a, b, op, n)
            if extra is not None:  # rows where both have a value, and this back-end cannot compare them
                defer = OR(defer, ANDNOT(extra, OR(a.bad(), b.bad())))
            if equality and (a.none is not None or b.none is not None):
                an = a.none if a.none is not None else np.zeros(n, bool)
                bn = b.none if b.none is not None else np.zeros(n, bool)
                same = an & bn
                one = an ^ bn
                data = select(same, np.bool_(op == "="), select(one, np.bool_(op == "!="), data))
            return Vec("bool", data, ne=ne, defer=defer, why=why)
        return compare

    def _Member(self, e, L):
        item, collection, negated = self.expr(e.item, L), self.expr(e.collection, L), e.negated
        memberships: dict = {}  # id of a constant collection → (it, its lookup by symbol code)

        def member(ctx, env):
            n = ctx.n
            v, coll = item(ctx, env), collection(ctx, env)
            defer, ne, why = _pair_masks(n, v, coll)
            defer = OR(defer, ANDNOT(coll.none, OR(defer, ne)))
            if coll.kind != "const":
                return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
            items = coll.data
            if v.kind == "sym":
                lookup = memberships.get(id(items))
                if lookup is None or lookup[0] is not items:
                    lookup = memberships[id(items)] = (items, symbol_lookup({sym(x): True for x in items
                                                                              if isinstance(x, str)}, False))
                data = lookup[1][np.minimum(v.data, len(lookup[1]) - 1)]
            elif v.kind == "num":
                if any(isinstance(x, bool) or not isinstance(x, (int, Decimal)) for x in items):
                    return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
                data = np.zeros(np.shape(v.data), bool)
                for x in items:
                    c = const(x)
                    if c is None:
                        return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
                    eq, over = _num_cmp(v, c, "=", n)
                    defer = OR(defer, ANDNOT(over, v.bad()))
                    data = data | eq
            elif v.kind == "any":
                data = np.bool_(False)
            else:
                return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
            if v.none is not None:
                data = select(v.none, np.bool_(None in items), data)
            if negated:
                data = ~np.asarray(data)
            return Vec("bool", data, ne=ne, defer=defer, why=why)
        return member

    def _IsSet(self, e, L):
        operand, negated = self.expr(e.operand, L), e.negated

        def is_set(ctx, env):
            v = operand(ctx, env)
            none = v.none
            if none is None:  # no row is none: every row is set
                data = np.bool_(not negated)
            else:
                data = none if negated else ~none
            return Vec("bool", data, defer=v.defer)
        return is_set

    def _Arith(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), e.op

        def arith(ctx, env):
            n = ctx.n
            a = left(ctx, env)
            b = right(ctx, env)
            defer, ne, why = strict([a, b], n)
            a, b = only(a, ("num",), n), only(b, ("num",), n)
            if a.kind != "num" or b.kind != "num":
                return _fail(n, defer, ne, why)
            if op == "/":  # exact 28-digit division is left to the row engine
                return _fail(n, defer, ne, why)
            isint = a.isint and b.isint
            if op in "+-":
                scale = max(a.scale, b.scale)
                da, oa = rescale(a.data, a.scale, scale, n)
                db, ob = rescale(b.data, b.scale, scale, n)
                data = da + db if op == "+" else da - db
                over = OR(oa, ob, as_mask(np.abs(data) >= LIMIT, n))
            else:
                scale = a.scale + b.scale
                if scale > MAX_SCALE:
                    return _fail(n, defer, ne, why)
                est = np.abs(np.asarray(a.data, np.float64)) * np.abs(np.asarray(b.data, np.float64))
                big = est >= FLIMIT
                data = (a.data * ~big) * (b.data * ~big)
                over = OR(as_mask(big, n), as_mask(np.abs(data) >= LIMIT, n))
                if not isint:  # Decimal keeps the sign of a zero product: -0 is handed back
                    over = OR(over, as_mask((data == 0) & ((a.data < 0) | (b.data < 0)), n))
            return Vec("num", data, scale, isint, ne=ne, why=why, defer=OR(defer, ANDNOT(over, OR(defer, ne))))
        return arith

    def _Negate(self, e, L):
        operand = self.expr(e.operand, L)

        def negate(ctx, env):
            n = ctx.n
            v = operand(ctx, env)
            defer, ne, why = strict([v], n)
            if v.kind != "num":
                return _fail(n, defer, ne, why)
            return Vec("num", -v.data, v.scale, v.isint, ne=ne, why=why, defer=defer)
        return negate

    def _Round(self, e, L):
        operand, mode, unit = self.expr(e.operand, L), e.mode, e.unit
        target = 2 if unit == "cent" else 0

        def round_(ctx, env):
            n = ctx.n
            v = operand(ctx, env)
            defer, ne, why = strict([v], n)
            if v.kind != "num":
                return _fail(n, defer, ne, why)
            if v.scale <= target:
                data, over = rescale(v.data, v.scale, target, n)
            else:
                d = np.int64(10 ** (v.scale - target))
                x = v.data
                if mode == "nearest":  # ROUND_HALF_UP: half away from zero
                    q = (np.abs(x) + d // 2) // d
                    data = select(x < 0, -q, q)
                elif mode == "up":     # ROUND_CEILING
                    data = -((-x) // d)
                else:                  # ROUND_FLOOR
                    data = x // d
                over = None
                if unit != "unit":  # a Decimal rounded to zero from below is -0: handed back
                    over = as_mask((data == 0) & (x < 0), n)
            return Vec("num", data, target, unit == "unit", ne=ne, why=why, defer=OR(defer, ANDNOT(over, OR(defer, ne))))
        return round_

    def _AsOf(self, e, L):
        date = self.expr(e.date, L)

        def as_of(ctx, env):
            return ctx.as_of(date(ctx, env), e, L, env)
        return as_of

    # -- collections: constants only
    def _SetLiteral(self, e, L):
        if bare_member_enum(self.model, e.items, L):
            members = frozenset(i.name for i in e.items)
            return lambda ctx, env: Vec("const", members)
        items = self._constant_items(e.items, L)
        value = frozenset(items)
        return lambda ctx, env: Vec("const", value)

    def _ListLiteral(self, e, L):
        value = tuple(self._constant_items(e.items, L))
        return lambda ctx, env: Vec("const", value)

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

    def _Comprehension(self, e, L):
        raise Unsupported(e.text)

    def _RecordLiteral(self, e, L):
        raise Unsupported(e.text)

    def _Range(self, e, L):
        raise Unsupported(e.text)


def _why(v: Vec, why) -> Vec:
    """`v` with the reasons of its not-established rows (set by the operands, in order)."""
    if v.ne is not None and why is not None:
        v.why = why
    return v


def _num_cmp(a: Vec, b: Vec, op: str, n):
    scale = max(a.scale, b.scale)
    da, oa = rescale(a.data, a.scale, scale, n)
    db, ob = rescale(b.data, b.scale, scale, n)
    return _OPS[op](da, db), OR(oa, ob)


_OPS = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
        ">=": np.greater_equal}


def _compare_values(a: Vec, b: Vec, op: str, n):
    """(data, rows to defer among those where both have a value)."""
    if a.kind == "any" or b.kind == "any":
        return np.bool_(False), None
    if a.kind != b.kind or a.kind in ("opaque", "const"):
        return np.bool_(False), np.ones(n, bool)
    if a.kind == "num":
        return _num_cmp(a, b, op, n)
    if op in ("=", "!="):
        return _OPS[op](a.data, b.data), None
    if a.kind == "date":
        return _OPS[op](a.data, b.data), None
    return np.bool_(False), np.ones(n, bool)  # ordering booleans or texts: left to the row engine


# ---------------------------------------------------------------- built-in functions

def _fail(n, defer, ne, why=None):
    """No value this back-end computes: the rows with one are deferred to the row engine; those
    not established (reasons `why`) or deferred already stay so."""
    return Vec("any", ne=ne, why=why, defer=OR(defer, NOT(OR(defer, ne), n)))


def _dates(values, n, defer, ne, kinds):
    for v, kind in zip(values, kinds):
        if v.kind != kind or (kind == "num" and (not v.isint or v.scale)):
            return None
    bad = OR(defer, ne)
    if bad is None:
        return [v.data for v in values]
    # garbage in rows without a value must not reach the calendar arithmetic: they take the
    # value of a row that has one (which keeps the dates' span, see `on_span`)
    first = int(np.argmin(bad))
    return [select(bad, v.data[first], v.data) if np.ndim(v.data) else v.data for v in values]


def _f_years_between(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "date"))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", on_span(_years_between, d[0], d[1]), 0, True, ne=ne, defer=defer)


def _f_months_between(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "date"))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", on_span(_months_between, d[0], d[1]), 0, True, ne=ne, defer=defer)


def _f_days_between(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "date"))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", d[1] - d[0], 0, True, ne=ne, defer=defer)


def _f_add_months(factor):
    def fn(n, values, defer, ne):
        d = _dates(values, n, defer, ne, ("date", "num"))
        if d is None:
            return _fail(n, defer, ne)
        months = d[1] * factor
        huge = rows_where(np.abs(months) > 200000, n)
        if huge is not None:
            months = months * ~huge
        result, bad = on_span(_add_months, d[0], months)
        bad = rows_where(bad, n)
        return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(OR(huge, bad), OR(defer, ne))))
    return fn


def _f_add_days(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "num"))
    if d is None:
        return _fail(n, defer, ne)
    days = np.clip(d[1], -(1 << 40), 1 << 40)
    result = d[0] + days
    bad = as_mask((result < DAY_MIN) | (result > DAY_MAX) | (np.abs(d[1]) >= (1 << 40)), n)
    return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(bad, OR(defer, ne))))


def _f_first_day_of_next_month(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date",))
    if d is None:
        return _fail(n, defer, ne)
    result, bad = on_span(_first_day_of_next_month, d[0])
    bad = rows_where(bad, n)
    return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(bad, OR(defer, ne))))


def _f_year(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date",))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", _ymd(d[0])[0], 0, True, ne=ne, defer=defer)


def _f_date(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("num", "num", "num"))
    if d is None:
        return _fail(n, defer, ne)
    y, m, day = (np.asarray(x) for x in d)
    ok = (y >= 1) & (y <= 9999) & (m >= 1) & (m <= 12) & (day >= 1)
    ys, ms = np.where(ok, y, 2000), np.where(ok, m, 1)
    ok = ok & (day <= _month_length(ys, ms))
    result = _from_ymd(ys, ms, np.where(ok, day, 1))
    return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(as_mask(~ok, n), OR(defer, ne))))


def _f_min_max(pick_min):
    def fn(n, values, defer, ne):
        if not values or any(v.kind not in ("num", "date") for v in values) or len({v.kind for v in values}) > 1:
            return _fail(n, defer, ne)  # a list argument, or mixed kinds
        kind = values[0].kind
        scale = max(v.scale for v in values) if kind == "num" else 0
        over = None
        best = None
        for v in values:
            d = v.data
            if kind == "num":
                d, o = rescale(d, v.scale, scale, n)
                over = OR(over, o)
            if best is None:
                best = d
            else:  # Python's min/max keep the first of equal values: equal values print the same
                best = np.minimum(d, best) if pick_min else np.maximum(d, best)
        return Vec(kind, best, scale, all(v.isint for v in values), ne=ne,
                   defer=OR(defer, ANDNOT(over, OR(defer, ne))))
    return fn


def _f_abs(n, values, defer, ne):
    if len(values) != 1 or values[0].kind != "num":
        return _fail(n, defer, ne)
    v = values[0]
    return Vec("num", np.abs(v.data), v.scale, v.isint, ne=ne, defer=defer)


_FUNCTIONS = {
    "years_between": _f_years_between,
    "months_between": _f_months_between,
    "days_between": _f_days_between,
    "add_years": _f_add_months(12),
    "add_months": _f_add_months(1),
    "add_days": _f_add_days,
    "first_day_of_next_month": _f_first_day_of_next_month,
    "year": _f_year,
    "date": _f_date,
    "min": _f_min_max(True),
    "max": _f_min_max(False),
    "abs": _f_abs,
    # sum, count, any, all, flatten work on lists and `failed` builds one: not vectorised
}


