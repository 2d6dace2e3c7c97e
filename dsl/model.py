"""Ruleset files → checked-in-shape models: `amends` chains resolved into one flat ruleset.

A ruleset that amends another inherits every declaration of its base and states only
what changes: `replace`, `remove`, `add requirement`, `extend enum`, or new declarations.
Inherited rules are late-bound: a base rule that reads table `t` reads the amended `t`.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from . import ast, types as T
from .errors import Diagnostic, RulesetError, did_you_mean
from .words import axis, count, the

VALUE_KINDS = ("rule", "parameter", "table", "condition")
BUILTIN_NAMES = {"on": T.DATE, "ruleset_id": T.TEXT}


@dataclass
class Change:
    """One thing an amending ruleset changes, for the 'what changed' documentation."""
    action: str  # added | replaced | removed | extended
    kind: str
    name: str
    new: object | None
    old: object | None
    loc: ast.Loc
    because: str | None = None


@dataclass
class Ruleset:
    header: ast.Header
    chain: list[ast.RulesetFile]  # base first, this ruleset's own file last
    references: dict[str, ast.Reference] = field(default_factory=dict)
    enums: dict[str, ast.EnumDecl] = field(default_factory=dict)
    inputs: dict[str, ast.InputDecl] = field(default_factory=dict)
    parameters: dict[str, ast.ParameterDecl] = field(default_factory=dict)
    tables: dict[str, ast.TableDecl] = field(default_factory=dict)
    rules: dict[str, ast.RuleDecl] = field(default_factory=dict)
    conditions: dict[str, ast.ConditionDecl] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    resumes: str | None = None  # a ruleset that applies again, unchanged, after a temporary reform (registry)

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def file(self) -> ast.RulesetFile:
        return self.chain[-1]

    @property
    def effective_from(self) -> dt.date | None:
        return self.header.effective_from

    @property
    def effective_until(self) -> dt.date | None:
        return self.header.effective_until

    def in_force_on(self, day: dt.date) -> bool:
        start, end = self.effective_from, self.effective_until
        return (start is None or start <= day) and (end is None or day <= end)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the exact texts of the chain: same fingerprint, same decisions. Computed once:
        a ruleset's files are read whole before it is built and never change afterwards, while a
        server reads the fingerprint several times per request (issue 14: a sha256 of ≈ 60 KB each)."""
        digest = hashlib.sha256()
        for f in self.chain:
            digest.update(f.header.id.encode())
            digest.update(b"\0")
            digest.update(f.text.encode("utf-8"))
            digest.update(b"\0")
        return "sha256:" + digest.hexdigest()[:16]

    def value_declaration(self, name: str):
        for kind in VALUE_KINDS:
            decl = self._store(kind).get(name)
            if decl is not None:
                return kind, decl
        return None, None

    def value_names(self) -> set[str]:
        return set(self.parameters) | set(self.tables) | set(self.rules) | set(self.conditions)

    def _store(self, kind: str) -> dict:
        return {"enum": self.enums, "input": self.inputs, "parameter": self.parameters, "table": self.tables,
                "rule": self.rules, "condition": self.conditions}[kind]

    # ------------------------------------------------------------ types of declarations

    def resolve_type(self, ref: ast.TypeRef, diagnostics: list[Diagnostic] | None = None) -> T.Type:
        if ref.kind == "named":
            if ref.name in T.SCALARS:
                return T.SCALARS[ref.name]
            if ref.name == "reason":
                return T.REASON
            if ref.name in self.enums:
                return T.Type("enum", name=ref.name)
            if diagnostics is not None:
                known = list(T.SCALARS) + ["reason"] + list(self.enums)
                diagnostics.append(Diagnostic(ref.loc, f"type inconnu `{ref.name}`",
                                              hint=did_you_mean(ref.name, known) or
                                              "types possibles : " + ", ".join(sorted(known)), code="type"))
            return T.ANY
        args = tuple(self.resolve_type(a, diagnostics) for a in ref.args)
        if ref.kind == "optional":
            return T.optional(args[0])
        if ref.kind == "record":
            return T.record({name: self.resolve_type(t, diagnostics) for name, t in ref.fields})
        if ref.kind == "group":
            return T.Type("group")
        return T.Type(ref.kind, args=args)

    def input_type(self, path: str) -> T.Type:
        decl = self.inputs[path]
        t = self.resolve_type(decl.type)
        if t.base.kind == "group":
            return T.Type("group", name=path)
        return t

    def input_is_optional(self, path: str) -> bool:
        """True when the input, or a group it belongs to, may be absent from a case."""
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            decl = self.inputs.get(".".join(parts[:i]))
            if decl is not None and decl.type.kind == "optional":
                return True
        return False


# ---------------------------------------------------------------- resolution of amends chains

def build(files: dict[str, ast.RulesetFile]) -> dict[str, Ruleset]:
    """Resolve every file's `amends` chain. Raises RulesetError listing every problem."""
    diagnostics: list[Diagnostic] = []
    models: dict[str, Ruleset] = {}
    for ruleset_id in files:
        chain = _chain(ruleset_id, files, diagnostics)
        if chain is None:
            continue
        model = _resolve(chain, diagnostics)
        models[ruleset_id] = model
    if any(d.severity == "error" for d in diagnostics):
        raise RulesetError(diagnostics)
    return models


def build_one(ruleset_id: str, files: dict[str, ast.RulesetFile]) -> Ruleset:
    """One file's model (its `amends` chain among `files`, which `build` has checked)."""
    diagnostics: list[Diagnostic] = []
    chain = _chain(ruleset_id, files, diagnostics)
    model = _resolve(chain, diagnostics) if chain is not None else None
    if model is None or any(d.severity == "error" for d in diagnostics):
        raise RulesetError(diagnostics)
    return model


def _chain(ruleset_id: str, files: dict[str, ast.RulesetFile], diagnostics) -> list[ast.RulesetFile] | None:
    chain, seen = [], []
    current = files[ruleset_id]
    while True:
        if current.header.id in seen:
            members = seen[seen.index(current.header.id):]
            cycle = " → ".join(members + [current.header.id])
            # Reported once per cycle, at the `amends` of its first ruleset by id.
            if ruleset_id == current.header.id == min(members):
                diagnostics.append(Diagnostic(current.header.amends_loc or current.header.loc,
                                              f"les `amends` forment une boucle : {cycle}",
                                              hint="un texte ne peut pas se modifier lui-même, ni directement ni "
                                              "par d'autres textes",
                                              code="time"))
            return None
        seen.append(current.header.id)
        chain.insert(0, current)
        base = current.header.amends
        if base is None:
            return chain
        if base not in files:
            if current is files[ruleset_id]:
                diagnostics.append(Diagnostic(current.header.amends_loc or current.header.loc,
                                              f"le texte `{ruleset_id}` modifie `{base}`, "
                                              "qui ne figure pas parmi les textes",
                                              hint=did_you_mean(base, files) or "vérifiez l'identifiant du texte "
                                              "après `amends`",
                                              code="name"))
            return None
        current = files[base]


def _resolve(chain: list[ast.RulesetFile], diagnostics: list[Diagnostic]) -> Ruleset:
    model = Ruleset(header=chain[-1].header, chain=chain)
    origin: dict[tuple[str, str], ast.Loc] = {}
    for depth, f in enumerate(chain):
        own = depth == len(chain) - 1
        # Only the ruleset's own file records changes; its bases were checked on their own.
        report = diagnostics if own else []
        changes = model.changes if own else []
        is_base = f.header.amends is None
        for ref in f.references:
            model.references[ref.name] = ref
        for decl in f.declarations:
            _apply(model, decl, is_base, origin, report, changes)
    return model


def _apply(model: Ruleset, decl: ast.Declaration, is_base: bool, origin, diagnostics, changes) -> None:
    if isinstance(decl, ast.OutputDecl):
        for name, loc in decl.names:
            if name not in model.outputs:
                model.outputs.append(name)
        return
    if isinstance(decl, ast.Remove):
        _remove(model, decl, diagnostics, changes)
        return
    if isinstance(decl, ast.ExtendEnum):
        enum = model.enums.get(decl.name)
        if enum is None:
            diagnostics.append(_missing(decl.loc, "enum", decl.name, model.enums, "extend"))
            return
        enum = copy.copy(enum)
        existing = {m.name for m in enum.members}
        for member in decl.members:
            if member.name in existing:
                diagnostics.append(Diagnostic(member.loc, f"la liste de valeurs `{decl.name}` a déjà une valeur `{member.name}`",
                                              code="name"))
        enum.members = enum.members + [m for m in decl.members if m.name not in existing]
        changes.append(Change("extended", "enum", decl.name, decl, model.enums[decl.name], decl.loc))
        model.enums[decl.name] = enum
        return
    if isinstance(decl, ast.RequirementChange):
        _change_requirement(model, decl, diagnostics, changes)
        return
    if isinstance(decl, ast.CellReplacement):
        _replace_cell(model, decl, diagnostics, changes)
        return
    replacing = isinstance(decl, ast.Replace)
    inner = decl.declaration if replacing else decl
    kind, name = inner.key
    store = model._store(kind)
    if replacing:
        if name not in store:
            diagnostics.append(_missing(decl.loc, kind, name, store, "replace"))
            return
        changes.append(Change("replaced", kind, name, inner, store[name], decl.loc))
        store[name] = inner
        return
    clash = _clash(model, kind, name)
    if clash is not None:
        where = origin.get(clash)
        message = f"le nom `{name}` est déjà déclaré" + (f" en {where}" if where else "")
        if where is not None and where.file == decl.loc.file:
            hint = "un nom se déclare une seule fois par texte : renommez l'une des deux déclarations, ou supprimez-en une"
        elif not is_base and clash[0] == kind:
            hint = f"écrivez `replace {kind} {name}` pour modifier sa déclaration dans ce texte"
        else:
            hint = "donnez-lui un autre nom"
        diagnostics.append(Diagnostic(decl.loc, message, hint=hint, code="name"))
        return
    store[name] = inner
    origin[(kind, name)] = decl.loc
    if not is_base:
        changes.append(Change("added", kind, name, inner, None, decl.loc))


def _clash(model: Ruleset, kind: str, name: str):
    if kind in VALUE_KINDS:
        other_kind, _ = model.value_declaration(name)
        return (other_kind, name) if other_kind else None
    return (kind, name) if name in model._store(kind) else None


def _remove(model: Ruleset, decl: ast.Remove, diagnostics, changes) -> None:
    if decl.kind == "output":
        if decl.name in model.outputs:
            model.outputs.remove(decl.name)
            changes.append(Change("removed", "output", decl.name, None, decl.name, decl.loc, decl.because))
        else:
            diagnostics.append(_missing(decl.loc, "output", decl.name, model.outputs, "remove"))
        return
    if decl.kind == "requirement":
        condition_name, _, req_name = decl.name.rpartition(".")
        condition = model.conditions.get(condition_name)
        if condition is None or req_name not in {r.name for r in condition.requirements}:
            known = [f"{c.name}.{r.name}" for c in model.conditions.values() for r in c.requirements]
            diagnostics.append(_missing(decl.loc, "requirement", decl.name, known, "remove"))
            return
        old = next(r for r in condition.requirements if r.name == req_name)
        condition = copy.copy(condition)
        condition.requirements = [r for r in condition.requirements if r.name != req_name]
        model.conditions[condition_name] = condition
        changes.append(Change("removed", "requirement", decl.name, None, old, decl.loc, decl.because))
        return
    store = model._store(decl.kind)
    if decl.name not in store:
        diagnostics.append(_missing(decl.loc, decl.kind, decl.name, store, "remove"))
        return
    changes.append(Change("removed", decl.kind, decl.name, None, store.pop(decl.name), decl.loc, decl.because))


def _change_requirement(model: Ruleset, decl: ast.RequirementChange, diagnostics, changes) -> None:
    condition = model.conditions.get(decl.condition)
    if condition is None:
        diagnostics.append(_missing(decl.loc, "condition", decl.condition, model.conditions, decl.action))
        return
    names = [r.name for r in condition.requirements]
    req = decl.requirement
    condition = copy.copy(condition)
    if decl.action == "add":
        if req.name in names:
            diagnostics.append(Diagnostic(decl.loc, f"la condition `{decl.condition}` a déjà une exigence `{req.name}`",
                                          hint=f"écrivez `replace requirement {decl.condition}.{req.name}` pour la "
                                          "modifier",
                                          code="name"))
            return
        condition.requirements = condition.requirements + [req]
        changes.append(Change("added", "requirement", f"{decl.condition}.{req.name}", req, None, decl.loc))
    else:
        if req.name not in names:
            known = [f"{decl.condition}.{n}" for n in names]
            diagnostics.append(_missing(decl.loc, "requirement", f"{decl.condition}.{req.name}", known, "replace"))
            return
        old = condition.requirements[names.index(req.name)]
        condition.requirements = [req if r.name == req.name else r for r in condition.requirements]
        changes.append(Change("replaced", "requirement", f"{decl.condition}.{req.name}", req, old, decl.loc))
    model.conditions[decl.condition] = condition


def _replace_cell(model: Ruleset, decl: ast.CellReplacement, diagnostics, changes) -> None:
    """Copy the table with one cell changed (and what that cell rests on: the replacement's notes,
    sources, bounds and readings); every other cell, unknown ones included, is kept as it was."""
    from .builder import heading_key
    table = model.tables.get(decl.table)
    if table is None:
        diagnostics.append(Diagnostic(decl.loc, f"impossible de remplacer une case du barème `{decl.table}` : le "
                                      "texte modifié ne déclare aucun barème de ce nom",
                                      hint=did_you_mean(decl.table, model.tables) or
                                      "on ne peut remplacer qu'une case d'un barème que déclare le texte de base",
                                      code="name"))
        return
    wanted = len(table.dims)
    if len(decl.keys) != wanted:
        example = ", ".join(k.text for k in [table.row_keys[0]] + table.column_keys[:1])
        diagnostics.append(Diagnostic(decl.loc, f"une case du barème `{table.name}` se désigne par "
                                      f"{count(wanted, 'en-tête')}, ici {len(decl.keys)}",
                                      hint=f"par exemple `replace cell {table.name}[{example}] = …`",
                                      code="table"))
        return
    found = []
    for key, headings, dim in zip(decl.keys, [table.row_keys, table.column_keys], table.dims):
        index = next((i for i, h in enumerate(headings) if heading_key(h.text) == heading_key(key)), None)
        if index is None:
            diagnostics.append(Diagnostic(decl.loc, f"le barème `{table.name}` n'a pas de {axis(dim.axis)} `{key}`",
                                          hint=f"ses {axis(dim.axis, 2)} sont " + ", ".join(f"`{h.text}`" for h in headings),
                                          code="table"))
            return
        found.append(index)
    row, column = found[0], (found[1] if wanted > 1 else 0)
    value = decl.value
    kind = ("unknown" if isinstance(value, ast.Unknown) else "readings" if isinstance(value, ast.ReadingsValue)
            else "value")
    copied = copy.copy(table)
    copied.cells = [list(cells) for cells in table.cells]
    old = table.cells[row][column]
    copied.cells[row][column] = ast.TableCell(kind, value, value.text, value.loc)
    clause = ast.CellClause(list(decl.keys), row, column, list(decl.notes), list(decl.sources), list(decl.bounds),
                            list(decl.readings), decl.loc, replaced=True)
    copied.cell_clauses = [c for c in table.cell_clauses if (c.row, c.column) != (row, column)] + [clause]
    model.tables[table.name] = copied
    changes.append(Change("replaced", "cell", copied.cell_name(row, column), decl, old, decl.loc))


# What an amendment does to a declaration of its base, as the French infinitive.
_ACTIONS = {"replace": "remplacer", "remove": "supprimer", "extend": "étendre", "add": "ajouter une exigence à"}


def _missing(loc: ast.Loc, kind: str, name: str, known, action: str) -> Diagnostic:
    verb = _ACTIONS.get(action, action)
    of = "d'" if verb[0] in "aeéiou" else "de "
    if action == "add":
        hint = "on ne peut ajouter une exigence qu'à une condition que déclare le texte de base"
    else:
        hint = f"on ne peut {verb} que ce que déclare le texte de base"
    return Diagnostic(loc, f"impossible {of}{verb} {the(kind, name)} : le texte modifié ne déclare rien de ce nom",
                      hint=did_you_mean(name, known) or hint, code="name")
