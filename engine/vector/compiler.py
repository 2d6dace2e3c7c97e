"""A ruleset's expressions compiled into closures over columns (`Ctx` → `Vec`), and the built-in
functions of the language on columns."""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from dsl import ast
from dsl.names import resolve
from dsl.walk import walk

from .columns import ANDNOT, FLIMIT, Fn, LIMIT, MAX_SCALE, NOT, OR, Vec, _scaled, as_mask, const, deferred, first_why, is_false, is_true, merge, only, reason_code, rescale, select, some, sym, truth, Unsupported, wide
from .functions import _FUNCTIONS, _fail
from .headings import Axis, symbol_lookup
from .lists import CollectionExprs, field_of, fold, map_member
from . import near, objects, open as open_, quotients
from ..expressions import narrowing_comparisons
from ..plan import UNSET
from ..unknowns import literal_unknown

# ---------------------------------------------------------------- the compiler

class VPlan:
    """The vector closures of one ruleset, compiled on first use and kept. Each declaration is
    evaluated as engine/unknowns.py decided for the run (the row plan's decisions): its expression,
    its readings joined, the reading or value a hypothesis picked, or what is known of it."""

    def __init__(self, entry):
        self.entry, self.model = entry, entry.model
        self.c = _Compiler(self.model)
        self._rules, self._conditions, self._parameters, self._tables, self._foreign = {}, {}, {}, {}, {}
        self._failed: dict = {}

    def rule(self, name):
        r = self._rules.get(name)
        if r is None:
            decl = self.model.rules[name]
            L = frozenset(p.name for p in decl.params)
            compiled = self.entry.plan.rules[name]
            self.c.owner = (name, decl.label)
            decision = compiled.decision
            if decision.kind == "unknown":  # --official-only: the rule rests on a secondary source
                value = compiled.body(None, {})
                r = (decl, lambda ctx, env, v=value: open_.constant(v, ctx.n), [])
            else:
                body = self.c.declared(decision, decl.expr, L)
                exceptions = []
                for e, exc in zip(decl.exceptions, compiled.exceptions):
                    if self.entry.plan.openness.exception(decl, e) is not None:
                        value = exc.when(None, {})
                        when = (lambda ctx, env, v=value: open_.constant(v, ctx.n))
                    else:
                        when = self.c.expr(e.when, L)
                    exceptions.append((when, self.c.expr(e.value, L), self.c.narrowing(e.when, L)))
                r = (decl, body, exceptions)
            self._rules[name] = r
        return r

    def condition(self, name):
        c = self._conditions.get(name)
        if c is None:
            decl = self.model.conditions[name]
            self.c.owner = (name, decl.label)
            compiled = self.entry.plan.conditions[name]
            c = []
            for r, req in zip(decl.requirements, compiled):
                if self.entry.plan.openness.requirement(name, r) is not None:
                    value = req.test(None, {})
                    test = (lambda ctx, env, v=value: open_.constant(v, ctx.n))
                else:
                    test = self.c.expr(r.expr, frozenset())
                c.append((test, [self.c.expr(w.when, frozenset()) for w in r.waivers]))
            self._conditions[name] = c
        return c

    def parameter(self, name):
        p = self._parameters.get(name)
        if p is None:
            plan = self.entry.plan
            decl = self.model.parameters[name]
            self.c.owner = (name, decl.label)
            folded = plan.constants[plan.slots[name]]
            decision = plan.parameter_decisions[name]
            if decision.kind != "known" and folded is not UNSET:
                p = (lambda ctx, env, v=folded: open_.constant(v, ctx.n))
            else:
                p = self.c.declared(decision, decl.value, frozenset())
            self._parameters[name] = p
        return p

    def table(self, name):
        t = self._tables.get(name)
        if t is None:
            decl = self.model.tables[name]
            money = self.model.resolve_type(decl.type).kind == "money"
            compiled = self.entry.plan.tables[name]
            self.c.owner = (name, decl.label)
            cells = []
            for i, row in enumerate(decl.cells):
                out = []
                for j, cell in enumerate(row):
                    decision, folded = compiled.decisions[i][j], compiled.constants[i][j]
                    if cell.kind == "no_value":
                        out.append(("none", None))
                    elif decision.kind != "known" and folded is not UNSET:
                        out.append(("value", lambda ctx, env, v=folded: open_.constant(v, ctx.n)))
                    else:
                        out.append(("value", self.c.declared(decision, cell.expr, frozenset())))
                cells.append(out)
            axes = [Axis(decl.row_keys)] + ([Axis(decl.column_keys)] if decl.column_keys else [])
            t = self._tables[name] = (decl, money, cells, axes)
        return t

    def failed_reasons(self, condition: str) -> list[dict]:
        """The record `failed(condition)` lists for each requirement (interpreter.failed)."""
        found = self._failed.get(condition)
        if found is None:
            from ..explain import source_text
            refs = self.model.references
            found = self._failed[condition] = [
                {"condition": condition, "requirement": f"{condition}.{req.decl.name}", "label": req.decl.label,
                 "source": "; ".join(source_text(s, refs) for s in req.decl.sources)}
                for req in self.entry.plan.conditions[condition]]
        return found

    def foreign(self, expr: ast.Expr, local_names: frozenset):
        key = (id(expr), local_names)
        fn = self._foreign.get(key)
        if fn is None:
            fn = self._foreign[key] = (expr, self.c.expr(expr, local_names))
        return fn[1]


def costly(e: ast.Expr) -> bool:
    """Whether an expression calls a rule or function with arguments, walks a list or reads another
    ruleset (`as of`): a branch worth evaluating on its own rows only (Ctx.on_rows). Literals,
    names, fields and arithmetic on them cost less than taking the rows apart."""
    return any(isinstance(x, (ast.Comprehension, ast.AsOf)) or (isinstance(x, ast.Call) and x.args) for x in walk(e))


def _deferring(ctx, env) -> "Vec":
    return deferred(ctx.n)


class _Compiler(CollectionExprs):
    def __init__(self, model):
        self.model = model
        self.owner = ("", "")  # the declaration being compiled: (name, label), for `not established`

    def expr(self, e: ast.Expr, L: frozenset) -> Fn:
        try:
            return getattr(self, "_" + type(e).__name__)(e, L)
        except Unsupported:
            return lambda ctx, env: deferred(ctx.n)

    def declared(self, decision, expr, L) -> Fn:
        """A declaration's value as decided for the run (engine/unknowns.Decision)."""
        if decision.kind == "known":
            return self.expr(expr, L)
        if decision.kind == "fixed":
            return self.expr(decision.value, L)
        if decision.kind == "picked":
            return self.expr(decision.reading.expr, L)
        if decision.kind == "readings":
            readings = [self.expr(r.expr, L) for r in decision.readings]
            deciding = np.int32(open_.dby_code([decision.unknown]))

            def readings_(ctx, env):
                n = ctx.n
                return open_.join(n, np.ones(n, bool), [(np.ones(n, bool), fn(ctx, env)) for fn in readings], deciding,
                                  ctx.run.objects)
            return readings_
        return _deferring  # an unknown whose bounds need the case: left to the row engine

    def narrowing(self, condition: ast.Expr, L: frozenset) -> "open_.Narrowing":
        """compiler.Narrowing.of, in columns."""
        return open_.Narrowing([(name, op, self.expr(other, L), self.expr(part, L))
                                for name, op, other, part in narrowing_comparisons(condition, L)])

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
        dby = np.int32(open_.dby_code([literal_unknown(*self.owner, e)]))
        return lambda ctx, env: Vec("any", ne=np.ones(ctx.n, bool), why=code, dby=dby)

    def _Unknown(self, e, L):  # only where a whole value stands: its declaration decides (VPlan)
        raise Unsupported(e.text)

    def _ReadingsValue(self, e, L):
        raise Unsupported(e.text)

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
        if ref.kind == "record_field":
            target, field_name = self.expr(e.target, L), e.name
            return lambda ctx, env: field_of(ctx.n, target(ctx, env), field_name)
        raise Unsupported(e.text)

    # -- calls
    def _Call(self, e, L):
        name = e.function
        if name in self.model.rules and name not in L:
            args = [self.expr(a, L) for a in e.args]
            return lambda ctx, env: ctx.value("rule", name, tuple(a(ctx, env) for a in args))
        collection = self._collection_call(e, L)
        if collection is not None:
            return collection
        if name not in _FUNCTIONS:
            raise Unsupported(name)
        fn = _FUNCTIONS[name]
        args = [self.expr(a, L) for a in e.args]

        def call(ctx, env):
            n = ctx.n
            values = [a(ctx, env) for a in args]  # all operands, as the row engine evaluates them
            if name in ("min", "max") and len(values) == 1 and values[0].kind in ("list", "const"):
                return fold(n, name, values[0])  # the smallest or largest element of a list
            if name in ("min", "max", "abs") and any(v.kind == "obj" for v in values):
                return objects.function(n, name, values)
            out = apply(n, values)
            if name in ("min", "max", "abs") and near.has(*values):  # 1-Lipschitz: the largest error
                return near.lift(n, values, out, apply, name)
            return out

        def apply(n, values):
            scan = open_.Scan(values, n)
            out = fn(n, values, scan.defer, scan.ne)
            out = out.replace(why=scan.why, dby=scan.dby)
            if scan.opened is None:
                return out
            if name in ("min", "max", "abs"):
                kinds = {v.kind for v in values} - {"any"}
                if len(kinds) == 1 and kinds <= {"num", "date"}:
                    kind = kinds.pop()
                    scale = max(v.scale for v in values if v.kind == "num") if kind == "num" else 0
                    shaped = out if out.kind == kind else Vec(kind, np.int64(0), scale, all(
                        v.isint for v in values if v.kind == "num"), ne=out.ne, defer=out.defer, why=out.why,
                        dby=out.dby)
                    return _bounded_function(name, n, values, shaped, scan, scan.opened)
                return out
            if not any(v.rng is not None for v in values):
                return out
            ranged = OR(*(v.rng for v in values)) & scan.opened
            return out.replace(defer=OR(out.defer, ranged))  # a date function of a range: the row engine
        return call

    def _Index(self, e, L):
        keys = [self.expr(k, L) for k in e.keys]
        if isinstance(e.target, ast.Name) and e.target.name in self.model.tables and e.target.name not in L:
            table = e.target.name

            def lookup(ctx, env):
                return ctx.table(table, [k(ctx, env) for k in keys])
            return lookup
        if len(e.keys) == 1:
            return self._map_index(e, L)
        raise Unsupported(e.text)

    # -- control and logic
    def _If(self, e, L):
        cond, then, otherwise = self.expr(e.condition, L), self.expr(e.then, L), self.expr(e.otherwise, L)
        narrowing = self.narrowing(e.condition, L)
        then_costly, else_costly = costly(e.then), costly(e.otherwise)

        def if_(ctx, env):
            n = ctx.n
            c = cond(ctx, env)
            if c.kind not in ("bool", "any"):
                c = only(c, ("bool",), n)
            taken = ANDNOT(truth(c, n), OR(c.defer, c.ne))
            rest = ANDNOT(NOT(taken, n), OR(c.defer, c.ne))
            opened = c.ne  # either branch may be taken: what both give (compiler.either)
            parts = []
            # a costly branch on the rows that may take it only (Ctx.on_rows): the others hold any value
            then_v = ctx.on_rows(then, env, OR(taken, opened), then_costly)
            else_v = ctx.on_rows(otherwise, env, OR(rest, opened), else_costly)
            if some(taken):
                parts.append((taken, then_v))
            if some(rest):
                parts.append((rest, else_v))
            if some(opened):
                env_t, never_t = narrowing.narrow(ctx, env, opened, True)
                env_f, never_f = narrowing.narrow(ctx, env, opened, False)
                t = then_v if env_t is env else ctx.on_rows(then, env_t, opened, then_costly)
                f = else_v if env_f is env else ctx.on_rows(otherwise, env_f, opened, else_costly)
                parts.append((opened, open_.join(n, opened, [(ANDNOT(opened, never_t), t),
                                                             (ANDNOT(opened, never_f), f)], c.dby, ctx.run.objects)))
            return merge(n, parts, defer=c.defer)
        return if_

    def _Logic(self, e, L):
        operands = [self.expr(o, L) for o in e.operands]
        decisive = e.op == "or"

        def logic(ctx, env):
            n = ctx.n
            stopped = defer = unknown = decided = None
            pairs, deciders = [], []
            for operand in operands:
                if stopped is not None and stopped.all():
                    break
                v = operand(ctx, env)
                d = ANDNOT(v.defer, stopped)
                defer = OR(defer, d)
                stopped = OR(stopped, d)
                x = ANDNOT(v.ne, stopped)  # Kleene logic: the first not established gives the reason
                pairs.append((ANDNOT(x, unknown), v.why))
                deciders.append((x, v.dby))
                unknown = OR(unknown, x)
                hit = is_true(v, n) if decisive else is_false(v, n)
                hit = ANDNOT(hit, stopped)
                decided = OR(decided, hit)
                stopped = OR(stopped, hit)
            data = np.bool_(not decisive) if decided is None else (decided if decisive else ~decided)
            why = first_why(n, *pairs) if unknown is not None else None
            dby = open_.union_where(n, *deciders) if unknown is not None else None
            return Vec("bool", data, ne=ANDNOT(unknown, decided), defer=defer, why=why, dby=dby)
        return logic

    def _Not(self, e, L):
        operand = self.expr(e.operand, L)

        def not_(ctx, env):
            v = operand(ctx, env)
            if v.kind == "any":  # none → `not none` is true
                return Vec("bool", np.bool_(True), ne=v.ne, defer=v.defer, why=v.why, dby=v.dby)
            if v.kind != "bool":
                return only(v, ("bool",), ctx.n)
            data = ~v.data if v.none is None else (~v.data | v.none)
            return Vec("bool", data, ne=v.ne, defer=v.defer, why=v.why, dby=v.dby)
        return not_

    def _Compare(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), e.op
        equality = op in ("=", "!=")

        def compare(ctx, env):
            n = ctx.n
            a, b = left(ctx, env), right(ctx, env)
            if "obj" in (a.kind, b.kind):
                return objects.compare(n, op, a, b)
            defer = OR(a.defer, b.defer)
            ne = ANDNOT(OR(a.ne, b.ne), defer)
            why = first_why(n, (a.ne, a.why), (ANDNOT(b.ne, a.ne), b.why)) if ne is not None else None
            dby = open_.union_where(n, (a.ne, a.dby), (b.ne, b.dby)) if ne is not None else None
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
            if ne is not None:  # what the bounds decide (uncertain.compare)
                data, ne = _compare_open(a, b, op, n, data, ne)
            return Vec("bool", data, ne=ne, defer=defer, why=why, dby=dby)
        return compare

    def _Member(self, e, L):
        item, collection, negated = self.expr(e.item, L), self.expr(e.collection, L), e.negated
        memberships: dict = {}  # id of a constant collection → (it, its lookup by symbol code)

        def member(ctx, env):
            n = ctx.n
            v, coll = item(ctx, env), collection(ctx, env)
            defer = OR(v.defer, coll.defer)
            ne = ANDNOT(OR(v.ne, coll.ne), defer)
            why = first_why(n, (v.ne, v.why), (ANDNOT(coll.ne, v.ne), coll.why)) if ne is not None else None
            dby = open_.union_where(n, (v.ne, v.dby), (coll.ne, coll.dby)) if ne is not None else None
            if coll.kind == "map":
                return map_member(n, v, coll, negated)
            defer = OR(defer, ANDNOT(coll.none, OR(defer, ne)))
            if coll.kind != "const":
                return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why, dby=dby)
            items = coll.data
            if v.kind == "sym":
                lookup = memberships.get(id(items))
                if lookup is None or lookup[0] is not items:
                    lookup = memberships[id(items)] = (items, symbol_lookup({sym(x): True for x in items
                                                                              if isinstance(x, str)}, False))
                data = lookup[1][np.minimum(v.data, len(lookup[1]) - 1)]
            elif v.kind == "num":
                if any(isinstance(x, bool) or not isinstance(x, (int, Decimal)) for x in items):
                    return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why,
                               dby=dby)
                data = np.zeros(np.shape(v.data), bool)
                for x in items:
                    c = const(x)
                    if c is None:
                        return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why,
                                   dby=dby)
                    eq, over = _num_cmp(v, c, "=", n)
                    defer = OR(defer, ANDNOT(over, v.bad()))
                    data = data | eq
            elif v.kind == "any":
                data = np.bool_(False)
            else:
                return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why, dby=dby)
            if v.none is not None:
                data = select(v.none, np.bool_(None in items), data)
            if negated:
                data = ~np.asarray(data)
            if ne is not None and v.ne is not None:  # an item not established: decided where no member can be it
                data, ne = _member_open(v, items, negated, n, data, ne, defer)
            return Vec("bool", data, ne=ne, defer=defer, why=why, dby=dby)
        return member

    def _IsSet(self, e, L):
        operand, negated = self.expr(e.operand, L), e.negated

        def is_set(ctx, env):
            v = operand(ctx, env)
            none = v.none
            if none is None:  # no row is none: every row is set (a value not established is set)
                data = np.bool_(not negated)
            else:
                data = none if negated else ~none
            if v.near is None:
                return Vec("bool", data, defer=v.defer)
            # a near value (near.py) is a value or bounds, never none — but one value or none is
            # either: not established, with its reason and deciders (uncertain.py: None among members)
            out = Vec("bool", data, defer=ANDNOT(v.defer, v.near.rows))
            maybe = near.maybe_none_rows(v)
            if maybe is None:
                return out
            why, dby = np.zeros(ctx.n, np.int32), np.zeros(ctx.n, np.int32)
            at = np.flatnonzero(v.near.rows)
            k = len(at)
            why[at] = wide(v.near.value.why if v.near.value.why is not None else 0, k)
            dby[at] = wide(v.near.value.dby if v.near.value.dby is not None else 0, k)
            return merge(ctx.n, [(~maybe, out), (maybe, Vec("bool", np.bool_(False), ne=maybe, why=why, dby=dby))])
        return is_set

    def _Arith(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), e.op

        def arith(ctx, env):
            n = ctx.n
            a = left(ctx, env)
            b = right(ctx, env)
            out = compute(n, (a, b), ctx.run.objects)
            if op != "/" and near.has(a, b) and "obj" not in (a.kind, b.kind):
                return near.lift(n, [a, b], out, lambda k, ab: compute(k, ab, ctx.run.objects),
                                 "mul" if op == "*" else "add", op)
            return out

        def compute(n, ab, objects_allowed):
            a, b = ab
            if op == "*" and a.kind == b.kind == "num" and a.scale + b.scale > MAX_SCALE // 2:
                a, b = open_.shrink(a, n), open_.shrink(b, n)  # scales add up: keep the product in range
            scan = open_.Scan([a, b], n)
            defer, ne = scan.defer, scan.ne
            if op == "/" and "obj" not in (a.kind, b.kind):
                return quotients.divide(n, a, b, objects_allowed)
            if "obj" in (a.kind, b.kind):  # Python values (objects.py): the row engine's own operators
                if a.kind in ("num", "any", "obj") and b.kind in ("num", "any", "obj"):
                    return objects.divide(n, a, b) if op == "/" else objects.arith(n, op, a, b)
                return _fail(n, defer, ne, scan.why, scan.dby)
            a_num, b_num = a.kind in ("num", "any"), b.kind in ("num", "any")
            if not (a_num and b_num) or (a.kind == "any" and b.kind == "any" and ne is None):
                return _fail(n, defer, ne, scan.why, scan.dby)
            sa, sb = (a.scale if a.kind == "num" else 0), (b.scale if b.kind == "num" else 0)
            ia, ib = (a.isint if a.kind == "num" else True), (b.isint if b.kind == "num" else True)
            da = a.data if a.kind == "num" else np.int64(0)
            db = b.data if b.kind == "num" else np.int64(0)
            isint = ia and ib
            if op in "+-":
                scale = max(sa, sb)
                xa, oa = rescale(da, sa, scale, n)
                xb, ob = rescale(db, sb, scale, n)
                data = xa + xb if op == "+" else xa - xb
                over = OR(oa, ob, as_mask(np.abs(data) >= LIMIT, n))
            else:
                scale = sa + sb
                if scale > MAX_SCALE:
                    return _fail(n, defer, ne, scan.why, scan.dby)
                est = np.abs(np.asarray(da, np.float64)) * np.abs(np.asarray(db, np.float64))
                big = est >= FLIMIT
                data = (da * ~big) * (db * ~big)
                over = OR(as_mask(big, n), as_mask(np.abs(data) >= LIMIT, n))
                if not isint:  # Decimal keeps the sign of a zero product: -0 is handed back
                    over = OR(over, as_mask((data == 0) & ((np.asarray(da) < 0) | (np.asarray(db) < 0)), n))
            iv = rows = extra = None
            if scan.opened is not None:  # what the bounds give (0 × anything is 0)
                x, y = open_.span(a, n, scale if op in "+-" else None), open_.span(b, n, scale if op in "+-" else None)
                if op == "+":
                    iv, extra = open_.add(x, y, n)
                elif op == "-":
                    iv, extra = open_.sub(x, y, n)
                else:
                    iv, extra = open_.mul(x, y, n)
                    if not isint:  # a bound of −0 (a negative times 0) prints as such in the row engine
                        zero = ((iv.lo == 0) & ~open_._full(iv.loinf, n)) | ((iv.hi == 0) & ~open_._full(iv.hiinf, n))
                        extra = OR(extra, open_._some(zero & ((x.lo < 0) | (y.lo < 0))))
                rows = scan.opened
            return open_.result(n, "num", data, scale, isint, scan, iv, rows, OR(over, extra))
        return arith

    def _Negate(self, e, L):
        operand = self.expr(e.operand, L)

        def negate(ctx, env):
            n = ctx.n
            v = operand(ctx, env)
            if v.kind == "obj":
                return objects.negate(n, v)
            scan = open_.Scan([v], n)
            if v.kind not in ("num", "any"):
                return _fail(n, scan.defer, scan.ne, scan.why, scan.dby)
            if v.kind == "any":
                return Vec("any", ne=scan.ne, defer=scan.defer, why=scan.why, dby=scan.dby)
            iv = over = None
            if v.rng is not None:
                iv = open_.negate(open_.span(v, n), n)
                if not v.isint:  # −0 bounds print as such in the row engine: handed back
                    over = open_._some(((iv.lo == 0) & ~open_._full(iv.loinf, n)) |
                                       ((iv.hi == 0) & ~open_._full(iv.hiinf, n)))
            return open_.result(n, "num", -v.data, v.scale, v.isint, scan, iv, v.rng, over)
        return negate

    def _Round(self, e, L):
        operand, mode, unit = self.expr(e.operand, L), e.mode, e.unit
        target = 2 if unit == "cent" else 0

        def round_(ctx, env):
            n = ctx.n
            v = operand(ctx, env)
            if v.kind == "obj":
                return objects.round_(n, v, mode, unit)
            out = compute(n, v)
            if v.near is not None:  # near values (near.py) this rounding decides: established here
                return near.settle_round(n, v, out, compute, lambda x, s: open_.round_data(x, s, target, mode)
                                         if s > target else None)
            return out

        def compute(n, v):
            scan = open_.Scan([v], n)
            if v.kind not in ("num", "any"):
                return _fail(n, scan.defer, scan.ne, scan.why, scan.dby)
            if v.kind == "any":
                return Vec("any", ne=scan.ne, defer=scan.defer, why=scan.why, dby=scan.dby)
            if v.scale <= target:
                data, over = rescale(v.data, v.scale, target, n)
            else:
                x = v.data
                data = open_.round_data(x, v.scale, target, mode)
                over = None
                if unit != "unit":  # a Decimal rounded to zero from below is -0: handed back
                    over = as_mask((data == 0) & (x < 0), n)
            iv = extra = None
            if v.rng is not None:
                src = open_.span(v, n)
                iv = open_.rounded(src, v.scale, target, mode, n)
                if unit != "unit" and v.scale > target:
                    extra = open_._some(((iv.lo == 0) & (src.lo < 0) & ~open_._full(iv.loinf, n)) |
                                        ((iv.hi == 0) & (src.hi < 0) & ~open_._full(iv.hiinf, n)))
            out = open_.result(n, "num", data, target, unit == "unit", scan, iv, v.rng, OR(over, extra))
            return out
        return round_

    def _AsOf(self, e, L):
        date = self.expr(e.date, L)

        def as_of(ctx, env):
            return ctx.as_of(date(ctx, env), e, L, env)
        return as_of


def _compare_open(a: Vec, b: Vec, op: str, n, data, ne):
    """The not-established rows of a comparison that bounds decide (uncertain.compare): a row with
    bounds on one side and a value or bounds on the other."""
    ordered = {"num", "date"}
    if not ({a.kind, b.kind} <= ordered | {"any"}) or (a.kind == "any" and b.kind == "any"):
        return data, ne
    kind = a.kind if a.kind != "any" else b.kind
    if (a.kind != "any" and a.kind != kind) or (b.kind != "any" and b.kind != kind):
        return data, ne
    scale = max(a.scale if a.kind == "num" else 0, b.scale if b.kind == "num" else 0) if kind == "num" else 0
    x = open_.span(a, n, scale) if a.kind != "any" else open_.Interval(n, np.int64(0), np.int64(0), np.ones(n, bool),
                                                                      np.ones(n, bool))
    y = open_.span(b, n, scale) if b.kind != "any" else open_.Interval(n, np.int64(0), np.int64(0), np.ones(n, bool),
                                                                      np.ones(n, bool))
    either_none = OR(a.none, b.none)
    if op in ("=", "!="):
        true, false = open_.equal(x, y, n)
        if op == "!=":
            true, false = false, true
    else:
        true, false = open_.compare(op, x, y, n)
    decided = ne & (true | false) & ~open_._full(either_none, n)
    if decided.any():
        data = select(decided, true, wide(data, n))
        ne = ANDNOT(ne, decided)
    return data, ne


def _member_open(v: Vec, items, negated: bool, n, data, ne, defer):
    """An item not established among constants (uncertain.member): decided `negated` where no
    member can be it — every member a number outside its bounds — or where there is none."""
    if not items:
        decided = ne & open_._full(v.ne, n)
        return select(decided, np.bool_(negated), wide(data, n)), ANDNOT(ne, decided)
    if v.kind not in ("num", "any") or not all(isinstance(x, (int, Decimal)) and not isinstance(x, bool)
                                               for x in items):
        return data, ne
    scale = v.scale if v.kind == "num" else 0
    for x in items:
        scale = max(scale, max(0, -Decimal(x).as_tuple().exponent))
    span = open_.span(v, n, scale) if v.kind == "num" else None
    if span is None:
        return data, ne
    hit = np.zeros(n, bool)
    for x in items:
        scaled = _scaled(Decimal(x), scale)
        if scaled is None:
            return data, ne
        point = open_.Interval(n, np.int64(scaled[0]), np.int64(scaled[0]))
        true, false = open_.equal(span, point, n)
        hit |= ~false
    decided = ne & open_._full(v.ne, n) & ~hit
    return select(decided, np.bool_(negated), wide(data, n)), ANDNOT(ne, decided)


def _bounded_function(name, n, values, out: Vec, scan, ranged):
    """min, max, abs of values some of which lie within bounds (uncertain.function)."""
    kind = out.kind
    scale = out.scale
    spans = [open_.span(v, n, scale if kind == "num" else None) for v in values]
    if name == "abs":
        s = spans[0]
        lo, hi = open_._ext_lo(s), open_._ext_hi(s)
        neg = hi <= 0
        pos = lo >= 0
        new_lo = np.where(pos, lo, np.where(neg, -hi, 0))
        new_hi = np.where(pos, hi, np.where(neg, -lo, np.maximum(-lo, hi)))
        iv, over = open_._from_ext(n, np.clip(new_lo, open_._NEG, open_._POS), np.clip(new_hi, open_._NEG, open_._POS))
    else:
        pick = np.minimum if name == "min" else np.maximum
        los = [open_._ext_lo(s) for s in spans]
        his = [open_._ext_hi(s) for s in spans]
        lo, hi = los[0], his[0]
        for x in los[1:]:
            lo = pick(lo, x)
        for x in his[1:]:
            hi = pick(hi, x)
        loopen = np.ones(n, bool)
        hiopen = np.ones(n, bool)
        for s, x, y in zip(spans, los, his):
            loopen &= (x != lo) | open_._full(s.loopen, n)
            hiopen &= (y != hi) | open_._full(s.hiopen, n)
        iv, over = open_._from_ext(n, lo, hi)
        iv.loopen = open_._some(loopen & ~open_._full(iv.loinf, n))
        iv.hiopen = open_._some(hiopen & ~open_._full(iv.hiinf, n))
    return open_.result(n, kind, out.data, scale, out.isint, scan, iv, ranged, over)


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
