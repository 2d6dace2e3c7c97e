"""Checks across declarations, run by the checker (dsl/checks.py) once each declaration is typed.

- a replaced table must still answer every lookup the table it replaces answered: each of its
  headings is covered by the new table's (an inherited rule may look it up);
- the same legal figure is declared once: a parameter whose value is a table cell's, from the
  same source, is a copy that a later change would leave behind;
- a lookup whose headings are not constants must not be able to reach a `—` cell (constant
  lookups are checked by the checker itself);
- an amendment that leaves an inherited declaration unused says so, where it drops the last use.
"""
from __future__ import annotations

from decimal import Decimal

from . import ast
from .walk import dotted, names_read, requirement_exprs, walk
from .words import agreed, axis, count, it, the

_INFINITY = Decimal("Infinity")


def run(checker) -> None:
    """The checks over the whole model (`checker` is dsl.checks._Checker, after its own run)."""
    model = checker.model
    for change in model.changes:
        if change.action == "replaced" and change.kind == "table":
            _replaced_table(checker, change.new, change.old, change.loc)
    _duplicate_figures(checker)
    if model.header.amends is not None and model.outputs:
        _unused_after_amendment(checker)


# ---------------------------------------------------------------- replaced tables

def _intervals(keys: list[ast.TableKey], whole: bool):
    """Numeric headings as half-open intervals; an exact heading of whole numbers is [v, v + 1)."""
    out = []
    for k in keys:
        if k.kind == "exact" and isinstance(k.value, (int, Decimal)) and not isinstance(k.value, bool):
            if whole:
                out.append((Decimal(k.value), Decimal(k.value) + 1))
        elif k.kind == "band":
            out.append((k.low, k.high))
        elif k.kind == "at_least":
            out.append((k.low, _INFINITY))
        elif k.kind == "below":
            out.append((-_INFINITY, k.high))
    return sorted(out)


def covered(key: ast.TableKey, keys: list[ast.TableKey], whole: bool) -> bool:
    """Whether every value heading `key` stands for is also under one of `keys`."""
    if key.kind == "exact":
        return any(k.matches(key.value) for k in keys)
    low = key.low if key.low is not None else -_INFINITY
    high = key.high if key.high is not None else _INFINITY
    if key.kind == "at_least":
        high = _INFINITY
    reached = low
    for a, b in _intervals(keys, whole):
        if a > reached:
            break
        reached = max(reached, b)
        if reached >= high:
            return True
    return reached >= high


def _replaced_table(checker, new: ast.TableDecl, old: ast.TableDecl, loc: ast.Loc) -> None:
    if len(new.dims) != len(old.dims):
        checker.error(loc, f"le barème `{new.name}` se lit avec {count(len(old.dims), 'en-tête')} dans le texte "
                      f"modifié, {len(new.dims)} ici", hint="une règle héritée peut le lire comme avant : gardez les "
                      "mêmes en-têtes, ou supprimez le barème et déclarez-en un nouveau sous un autre nom", code="table")
        return
    axes = [(old.row_keys, new.row_keys)] + ([(old.column_keys, new.column_keys)] if len(new.dims) > 1 else [])
    for dim, (old_keys, new_keys) in zip(new.dims, axes):
        whole = checker.model.resolve_type(dim.type).kind == "int"
        missing = [k for k in old_keys if not covered(k, new_keys, whole)]
        if missing:
            names = ", ".join(f"`{k.text}`" for k in missing)
            many = len(missing) > 1
            checker.error(dim.loc, f"le barème de remplacement `{new.name}` n'a pas de {axis(dim.axis)} pour {names}, "
                          f"{'présentes' if many else 'présente'} dans le barème qu'il remplace ({old.loc})",
                          hint=f"une règle héritée du texte de base peut y accéder : ajoutez "
                          f"{'les' if many else 'la'} {axis(dim.axis, 2 if many else 1)}, avec `?` là où le nouveau "
                          "texte ne donne pas le chiffre et `—` là où il n'en donne aucun", code="table")


# ---------------------------------------------------------------- one figure, one declaration

def _figure(expr) -> object:
    if isinstance(expr, ast.Literal) and expr.kind in ("number", "money", "percent"):
        return expr.value
    return None


def _source_keys(sources: list[ast.Source]) -> set[str]:
    """The texts sources cite (the quotes may differ: two excerpts of one page giving one figure)."""
    return {s.reference for s in sources}


def _duplicate_figures(checker) -> None:
    model = checker.model
    own = {id(d.declaration if isinstance(d, ast.Replace) else d) for d in model.file.declarations}
    cells: dict[object, list[tuple[ast.TableDecl, int, int]]] = {}
    for table in model.tables.values():
        for r, row in enumerate(table.cells):
            for c, cell in enumerate(row):
                value = _figure(cell.expr) if cell.kind == "value" else None
                if value is not None:
                    cells.setdefault(value, []).append((table, r, c))
    for param in model.parameters.values():
        value = _figure(param.value)
        if id(param) not in own or value is None or not param.sources:
            continue
        mine = _source_keys(param.sources)
        for table, r, c in cells.get(value, []):
            if mine & _source_keys(table.cell_sources(r, c)):
                name = table.cell_name(r, c)
                checker.warning(param.loc, f"le paramètre `{param.name}` répète la case `{name}` ({param.value.text}), "
                                "avec la même source : modifier l'un sans l'autre les ferait diverger",
                                hint=f"déclarez le chiffre une seule fois : écrivez `{name}` là où `{param.name}` est "
                                f"utilisé, ou définissez `{param.name}` comme `{name}`", code="duplicate")
                break


# ---------------------------------------------------------------- lookups that may read a `—` cell

def _reachable(key: ast.Expr, headings: list[ast.TableKey], model, local_names) -> list[int]:
    """The headings a lookup's key may land on: one for a constant, those within an input's bounds,
    all of them otherwise."""
    from .names import _constant
    value, _ = _constant(key, model, local_names)
    if value is not None:
        return [i for i, h in enumerate(headings) if h.matches(value)][:1]
    path = dotted(key)
    decl = model.inputs.get(path) if path and path.split(".")[0] not in local_names else None
    if decl is not None and decl.bounds:
        low = max((b.value for b in decl.bounds if b.kind == "min"), default=-_INFINITY)
        high = min((b.value for b in decl.bounds if b.kind == "max"), default=_INFINITY)
        return [i for i, h in enumerate(headings) if _meets(h, low, high)]
    return list(range(len(headings)))


def _meets(h: ast.TableKey, low: Decimal, high: Decimal) -> bool:
    """Whether heading `h` holds a value between low and high (both included)."""
    if h.kind == "exact":
        return not isinstance(h.value, (int, Decimal)) or low <= h.value <= high
    if h.kind == "band":
        return h.low <= high and h.high > low
    if h.kind == "at_least":
        return h.low <= high
    return h.high > low


def variable_lookup(checker, e: ast.Index, table: ast.TableDecl, local_names) -> None:
    """A lookup with a key that is not a constant: warn if it may read a cell with no value."""
    headings = [table.row_keys] + ([table.column_keys] if len(table.dims) > 1 else [])
    reach = [_reachable(key, keys, checker.model, local_names) for key, keys in zip(e.keys, headings)]
    rows, columns = reach[0], (reach[1] if len(reach) > 1 else [0])
    empty = [(r, c) for r in rows for c in columns if table.cells[r][c].kind == "no_value"]
    if empty:
        r, c = empty[0]
        more = (f" (et {count(len(empty) - 1, 'autre case', 'autres cases')} sans valeur)" if len(empty) > 1
                else "")
        checker.warning(e.loc, f"`{e.text}` peut lire la case `{table.cell_name(r, c)}`, qui n'a pas de valeur "
                        f"(`{table.cells[r][c].text}` en {table.cells[r][c].loc}){more}",
                        hint="encadrez l'accès au barème par un `if` pour qu'il ne lise jamais cette case, ou écrivez "
                        "`?` dans la case si le texte prévoit une valeur qu'il ne donne pas", code="table")


# ---------------------------------------------------------------- amendments that leave a declaration unused

def _read_by(old) -> set[str]:
    if isinstance(old, ast.Requirement):
        out = set()
        for top in requirement_exprs(old):
            for e in walk(top):
                if isinstance(e, ast.Name):
                    out.add(e.name)
                elif isinstance(e, ast.Call):
                    out.add(e.function)
                elif isinstance(e, ast.Field) and dotted(e):
                    out.add(dotted(e))
        return out
    if isinstance(old, str):  # a removed output
        return {old}
    if isinstance(old, ast.Declaration):
        return names_read(old)
    return set()


def _unused_after_amendment(checker) -> None:
    model, used = checker.model, checker.used
    own_file = model.file.path
    relaxed = {d.declaration.path for d in model.file.declarations
               if isinstance(d, ast.Replace) and isinstance(d.declaration, ast.InputDecl)}
    inherited: list[tuple[str, str, ast.Declaration]] = []
    for kind, store in (("rule", model.rules), ("parameter", model.parameters), ("table", model.tables),
                        ("condition", model.conditions)):
        inherited += [(kind, name, d) for name, d in store.items() if d.loc.file != own_file and name not in used]
    for path, d in model.inputs.items():
        if d.loc.file == own_file or path in relaxed or d.type.kind == "group":
            continue
        if not any(u == path or u.startswith(path + ".") for u in used):
            inherited.append(("input", path, d))
    changes = [(c, _read_by(c.old)) for c in model.changes if c.action in ("replaced", "removed")]
    for kind, name, decl in inherited:
        change = next((c for c, read in changes if name in read), None)
        if change is None:
            continue  # unused in the ruleset it comes from too: reported there
        verb = "remplace" if change.action == "replaced" else "supprime"
        checker.warning(change.loc, f"{the(kind, name)} ({agreed('déclaré', kind)} en {decl.loc}) n'est plus "
                        f"{agreed('utilisé', kind)} : {the(change.kind, change.name)}, que ce texte {verb}, en était "
                        "le dernier usage",
                        hint=f"supprimez-{it(kind)} aussi (`remove {kind} {name} because \"…\"`), ou utilisez-{it(kind)}",
                        code="unused")

