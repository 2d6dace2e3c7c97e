"""Names and what conditions prove, shared by the checker (dsl/checks.py, dsl/expr_types.py) and
the engine's compilers: a name in an expression resolved to what it designates (`resolve`) — the
same resolution everywhere, so what the checker accepts is exactly what the interpreter
evaluates —, the built-in functions, and the input paths an `is set` condition proves present.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from . import ast, types as T
from .model import BUILTIN_NAMES, Ruleset

# name → (argument types or None for "checked by hand", result type or None)
FUNCTIONS = {
    "min": None, "max": None, "abs": None, "sum": None, "count": None, "any": None, "all": None, "flatten": None,
    "years_between": ((T.DATE, T.DATE), T.INT),
    "months_between": ((T.DATE, T.DATE), T.INT),
    "days_between": ((T.DATE, T.DATE), T.INT),
    "add_years": ((T.DATE, T.INT), T.DATE),
    "add_months": ((T.DATE, T.INT), T.DATE),
    "add_days": ((T.DATE, T.INT), T.DATE),
    "first_day_of_next_month": ((T.DATE,), T.DATE),
    "date": ((T.INT, T.INT, T.INT), T.DATE),
    "year": ((T.DATE,), T.INT),
    "failed": None,
}


_AS_OF = "\0as of"  # marks an `as of` on the stack of rules being typed: no cycle through it

# ---------------------------------------------------------------- name resolution

@dataclass(frozen=True)
class Ref:
    kind: str  # local | rule | parameter | table | condition | builtin | input | enum_member | record_field | unknown
    name: str = ""
    member: str = ""


def dotted(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.name
    if isinstance(expr, ast.Field):
        head = dotted(expr.target)
        return f"{head}.{expr.name}" if head else None
    return None


def resolve(model: Ruleset, expr: ast.Expr, local_names) -> Ref:
    """What a Name or Field refers to in `model`, given the local names in scope."""
    if isinstance(expr, ast.Name):
        name = expr.name
        if name in local_names:
            return Ref("local", name)
        kind, _ = model.value_declaration(name)
        if kind:
            return Ref(kind, name)
        if name in BUILTIN_NAMES:
            return Ref("builtin", name)
        if name in model.inputs:
            return Ref("input", name)
        return Ref("unknown", name)
    assert isinstance(expr, ast.Field)
    path = dotted(expr)
    if path and path.split(".")[0] not in local_names and model.value_declaration(path.split(".")[0])[0] is None:
        if path in model.inputs:
            return Ref("input", path)
        head = dotted(expr.target)
        if head in model.inputs:
            return Ref("unknown", path)
        if isinstance(expr.target, ast.Name) and head in model.enums:
            return Ref("enum_member", head, expr.name)
    return Ref("record_field", expr.name)


def input_children(model: Ruleset, path: str) -> list[str]:
    prefix = path + "."
    return [p[len(prefix):] for p in model.inputs if p.startswith(prefix) and "." not in p[len(prefix):]]


@dataclass
class _Scope:
    locals: dict[str, T.Type] = field(default_factory=dict)
    proven_set: frozenset[str] = frozenset()  # input paths known to be present here

    def with_local(self, name: str, t: T.Type) -> "_Scope":
        return _Scope({**self.locals, name: t}, self.proven_set)

    def with_proven(self, paths) -> "_Scope":
        return _Scope(self.locals, self.proven_set | frozenset(paths))


def value_fits(actual: T.Type, declared: T.Type) -> bool:
    """A value of type `actual` may stand for a declaration of type `declared` (a bare number for an
    amount in euros, as in money tables)."""
    if declared.base.kind == "money" and actual.kind in T.PLAIN_NUMBERS:
        return True
    return T.assignable(actual, declared)


def bare_member_enum(model: Ruleset, items, local_names) -> str | None:
    """The enum whose members a set of bare names are, e.g. {radiologie, anesthesie}."""
    names = [i.name for i in items if isinstance(i, ast.Name)]
    if len(names) != len(items):
        return None
    if any(n in local_names or model.value_declaration(n)[0] or n in model.inputs or n in BUILTIN_NAMES
           for n in names):
        return None
    for enum in model.enums.values():
        members = {m.name for m in enum.members}
        if all(n in members for n in names):
            return enum.name
    return None


def _constant(expr: ast.Expr, model: Ruleset, local_names) -> tuple[object, bool]:
    """The value of a constant table heading written in a lookup (a number or an enum member)."""
    if isinstance(expr, ast.Literal) and expr.kind == "number":
        return expr.value, False
    if isinstance(expr, ast.Negate):
        value, _ = _constant(expr.operand, model, local_names)
        return (-value if isinstance(value, (int, Decimal)) else None), False
    if isinstance(expr, ast.Field):
        ref = resolve(model, expr, local_names)
        if ref.kind == "enum_member":
            return ref.member, True
    return None, False


def _proven(condition: ast.Expr, model: Ruleset) -> set[str]:
    """Input paths that are surely present when `condition` is true."""
    if isinstance(condition, ast.IsSet) and not condition.negated:
        return _set_path(condition.operand, model)
    if isinstance(condition, ast.Logic) and condition.op == "and":
        return set().union(*(_proven(o, model) for o in condition.operands))
    if isinstance(condition, ast.Not):
        return _proven_false(condition.operand, model)
    return set()


def _proven_false(condition: ast.Expr, model: Ruleset) -> set[str]:
    """Input paths that are surely present when `condition` is false."""
    if isinstance(condition, ast.IsSet) and condition.negated:
        return _set_path(condition.operand, model)
    if isinstance(condition, ast.Logic) and condition.op == "or":
        return set().union(*(_proven_false(o, model) for o in condition.operands))
    if isinstance(condition, ast.Not):
        return _proven(condition.operand, model)
    return set()


def _set_path(expr: ast.Expr, model: Ruleset) -> set[str]:
    """The input path that an `is set` test proves present."""
    path = dotted(expr)
    return {path} if path in model.inputs else set()
