"""Going through a ruleset's syntax tree: every expression of a declaration, every name it reads.

Used by the cross-declaration checks (dsl/crosschecks.py) and the language server (engine/lsp/):
both need what a declaration reads without typing it.
"""
from __future__ import annotations

from collections.abc import Iterator

from . import ast


def walk(expr: ast.Expr | None) -> Iterator[ast.Expr]:
    """`expr` and every expression inside it (depth first, without recursion)."""
    stack = [expr] if expr is not None else []
    while stack:
        e = stack.pop()
        yield e
        children = []
        for name in getattr(type(e), "__slots__", ()):
            value = getattr(e, name, None)
            if isinstance(value, ast.Expr):
                children.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.Expr):
                        children.append(item)
                    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], ast.Expr):
                        children.append(item[1])
        stack.extend(reversed(children))


def _reading_exprs(readings: list[ast.Reading]) -> list[ast.Expr]:
    return [r.expr for r in readings]


def _bounds_exprs(bounds: list[ast.BoundsClause]) -> list[ast.Expr]:
    return [x for b in bounds for x in (b.low, b.high) if x is not None]


def requirement_exprs(req: ast.Requirement) -> list[ast.Expr]:
    return [req.expr] + [w.when for w in req.waivers]


def declaration_exprs(decl: ast.Declaration) -> list[ast.Expr]:
    """The expressions written in a declaration (its value, exceptions, readings, bounds, cells…)."""
    if isinstance(decl, ast.Replace):
        return declaration_exprs(decl.declaration)
    if isinstance(decl, ast.RequirementChange):
        return requirement_exprs(decl.requirement)
    if isinstance(decl, ast.RuleDecl):
        return ([decl.expr] + [x for e in decl.exceptions for x in (e.when, e.value)]
                + _reading_exprs(decl.readings))
    if isinstance(decl, ast.ParameterDecl):
        value = decl.value
        extra = [x for x in (value.low, value.high) if x is not None] if isinstance(value, ast.Unknown) else [value]
        return extra + _reading_exprs(decl.readings) + _bounds_exprs(decl.bounds)
    if isinstance(decl, ast.TableDecl):
        out = []
        for row in decl.cells:
            for cell in row:
                if cell.kind == "value":
                    out.append(cell.expr)
                elif cell.kind == "unknown":
                    out.extend(x for x in (cell.expr.low, cell.expr.high) if x is not None)
        for clause in decl.cell_clauses:
            out += _reading_exprs(clause.readings) + _bounds_exprs(clause.bounds)
        return out
    if isinstance(decl, ast.ConditionDecl):
        return [x for r in decl.requirements for x in requirement_exprs(r)]
    return []


def local_names(decl: ast.Declaration) -> set[str]:
    """Names bound inside a declaration (rule parameters, comprehension variables): not declarations."""
    inner = decl.declaration if isinstance(decl, ast.Replace) else decl
    names = {p.name for p in inner.params} if isinstance(inner, ast.RuleDecl) else set()
    for top in declaration_exprs(decl):
        names.update(e.variable for e in walk(top) if isinstance(e, ast.Comprehension))
    return names


def dotted(expr: ast.Expr) -> str | None:
    """`a.b.c` for a chain of names and fields, None otherwise."""
    parts = []
    while isinstance(expr, ast.Field):
        parts.append(expr.name)
        expr = expr.target
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.name)
    return ".".join(reversed(parts))


def names_read(decl: ast.Declaration) -> set[str]:
    """The declared names and input paths a declaration reads (its own locals left out): every
    name, call, `failed(condition)`, and every dotted path with its prefixes."""
    skip = local_names(decl)
    out: set[str] = set()
    for top in declaration_exprs(decl):
        for e in walk(top):
            if isinstance(e, ast.Name) and e.name not in skip:
                out.add(e.name)
            elif isinstance(e, ast.Call) and e.function not in skip:
                out.add(e.function)
            elif isinstance(e, ast.Field):
                path = dotted(e)
                if path and path.split(".")[0] not in skip:
                    out.add(path)
    return out
