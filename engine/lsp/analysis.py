"""The rulesets of one folder, analysed as `millesime check` does, from the editor's buffers.

An editor opens one file of a folder of rulesets; that file's meaning depends on the others (its
`amends` chain, the rulesets that amend it). `Folder.analyse` parses every `.mil` file of the
folder — an open buffer's text in place of its file, saved or not — resolves the chains, checks
each ruleset and the timeline, and indexes every name written in every file: where it is, what it
stands for (`Symbol`), whether it is declared or used there. Definitions, references and hover
are read from that index.

Places are 0-based (line, character in code points), the protocol's convention before the
server converts characters to the client's encoding.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from dsl import ast, checks, model as M, types as T
from dsl.errors import Diagnostic, RulesetError
from dsl.names import FUNCTIONS
from dsl.parser import gc_paused, parse_text
from dsl.walk import declaration_exprs, dotted, walk

from ..registry import RULESET_SUFFIX, _timeline_diagnostics, duplicate_id

BUILTINS = set(M.BUILTIN_NAMES)


@dataclass(frozen=True)
class Symbol:
    """What a name stands for. kind: value (rule, parameter, table, condition), input, enum, member
    (`enum.member`), reference, ruleset, requirement (`condition.requirement`), param
    (`rule.param`), cell (`table[row, column]`, with row and column indexes)."""
    kind: str
    name: str
    row: int = -1
    column: int = -1


@dataclass(frozen=True)
class Span:
    path: str
    line: int  # 0-based
    start: int  # 0-based, code points
    end: int  # exclusive, on the same line

    def contains(self, line: int, character: int) -> bool:
        return line == self.line and self.start <= character <= self.end


@dataclass(frozen=True)
class Occurrence:
    span: Span
    symbol: Symbol
    declares: bool  # the name is declared (or replaced, removed, extended) here


@dataclass
class FileState:
    path: str
    text: str
    ast: ast.RulesetFile | None  # None when the text does not parse
    lines: list[str] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)


@dataclass
class Analysis:
    folder: Path
    files: dict[str, FileState]  # by path
    models: dict[str, M.Ruleset]  # by ruleset id
    diagnostics: dict[str, list[Diagnostic]]  # by path: every file of the folder, clean ones empty
    fallback: dict[str, M.Ruleset] = field(default_factory=dict)  # the last model of a file that resolved

    def model_of(self, path: str) -> M.Ruleset | None:
        """The ruleset whose own file is `path` (resolved with its chain); while the file does not
        parse, the last one that did."""
        for m in self.models.values():
            if m.file.path == path:
                return m
        return self.fallback.get(path)

    def at(self, path: str, line: int, character: int) -> Occurrence | None:
        state = self.files.get(path)
        if state is None:
            return None
        found = [o for o in state.occurrences if o.span.contains(line, character)]
        # the innermost: `physician.sector` holds `physician`; a cell holds the names in it
        return min(found, key=lambda o: o.span.end - o.span.start) if found else None

    def occurrences(self, symbol: Symbol) -> list[Occurrence]:
        same = (lambda s: s == symbol) if symbol.kind == "cell" else \
            (lambda s: (s.kind, s.name) == (symbol.kind, symbol.name))
        return [o for state in self.files.values() for o in state.occurrences if same(o.symbol)]


class Folder:
    """One folder of rulesets; parses are kept by text, so an analysis re-reads only what changed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._parsed: dict[str, tuple[str, ast.RulesetFile | None, list[Diagnostic]]] = {}
        self.last_good: dict[str, ast.RulesetFile] = {}  # the last text of each file that parsed
        self.last_models: dict[str, M.Ruleset] = {}  # the last model of each file that resolved

    def paths(self, open_paths=()) -> list[str]:
        on_disk = {str(p) for p in self.folder.glob(f"*{RULESET_SUFFIX}")}
        return sorted(on_disk | {p for p in open_paths if Path(p).parent == self.folder})

    def _parse(self, path: str, text: str):
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == digest:
            return cached[1], cached[2]
        try:
            parsed, errors = parse_text(text, path), []
        except RulesetError as exc:
            parsed, errors = None, exc.diagnostics
        self._parsed[path] = (digest, parsed, errors)
        return parsed, errors

    def analyse(self, buffers: dict[str, str]) -> Analysis:
        """`buffers`: the texts of the open files of this folder, by path."""
        with gc_paused():
            return self._analyse(buffers)

    def _analyse(self, buffers: dict[str, str]) -> Analysis:
        diagnostics: dict[str, list[Diagnostic]] = {}
        states: dict[str, FileState] = {}
        files: dict[str, ast.RulesetFile] = {}
        for path in self.paths(buffers):
            text = buffers.get(path)
            if text is None:
                try:
                    text = Path(path).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            parsed, errors = self._parse(path, text)
            diagnostics[path] = list(errors)
            if parsed is not None:
                self.last_good[path] = parsed
                previous = files.get(parsed.header.id)
                if previous is not None:
                    diagnostics[path].append(duplicate_id(parsed.header, previous.path))
                else:
                    files[parsed.header.id] = parsed
            states[path] = FileState(path, text, parsed, text.split("\n"))
        models: dict[str, M.Ruleset] = {}
        found: list[Diagnostic] = []
        try:
            models = M.build(files)
        except RulesetError as exc:
            found += exc.diagnostics
            # the chains that resolve are still worth checking and indexing
            for rid in files:
                try:
                    models.update({k: v for k, v in M.build(_chain_files(rid, files)).items() if k == rid})
                except RulesetError:
                    pass
        for m in models.values():
            found += checks.check(m, require_sources=True).diagnostics
        found += _timeline_diagnostics(models)
        seen = set()
        for d in found:
            key = (d.loc.file, d.loc.line, d.loc.column, d.message)
            if d.loc.file in diagnostics and key not in seen:
                seen.add(key)
                diagnostics[d.loc.file].append(d)
        for m in models.values():
            self.last_models[m.file.path] = m
        analysis = Analysis(self.folder, states, models, diagnostics, dict(self.last_models))
        for state in states.values():
            if state.ast is not None:
                state.occurrences = Indexer(analysis, state, state.ast).run()
            elif state.path in self.last_good:  # while the text does not parse: the last that did
                old = self.last_good[state.path]
                before = FileState(state.path, old.text, old, old.text.split("\n"))
                state.occurrences = _carried(Indexer(analysis, before, old).run(), before.lines, state.lines)
        return analysis


def _carried(occurrences: list[Occurrence], old: list[str], new: list[str]) -> list[Occurrence]:
    """The names of the last text that parsed, on the lines the new text kept as they were: those
    before the first changed line, and those after the last one (shifted by the lines added)."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    shift = len(new) - len(old)
    out = []
    for o in occurrences:
        line = o.span.line
        if line < prefix:
            out.append(o)
        elif line >= len(old) - suffix:
            s = o.span
            out.append(Occurrence(Span(s.path, line + shift, s.start, s.end), o.symbol, o.declares))
    return out


def _chain_files(ruleset_id: str, files: dict[str, ast.RulesetFile]) -> dict[str, ast.RulesetFile]:
    out, current = {}, files.get(ruleset_id)
    while current is not None and current.header.id not in out:
        out[current.header.id] = current
        current = files.get(current.header.amends) if current.header.amends else None
    return out


# ================================================================ the index of names

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Indexer:
    """Every name written in one file, with the symbol it stands for."""

    def __init__(self, analysis: Analysis, state: FileState, tree: ast.RulesetFile):
        self.analysis = analysis
        self.state = state
        self.tree = tree
        self.model = analysis.model_of(state.path) or _any_model(analysis, tree)
        self.out: list[Occurrence] = []

    # -- places
    def _span_of(self, loc: ast.Loc | None, name: str, after: int = 0) -> Span | None:
        """The place of `name` written at or after `loc` on its line (a whole word)."""
        if loc is None or loc.file != self.state.path or not 1 <= loc.line <= len(self.state.lines):
            return None
        line = self.state.lines[loc.line - 1]
        pattern = re.compile(r"(?<![\w])" + re.escape(name) + r"(?![\w])")
        match = pattern.search(line, max(loc.column - 1 + after, 0))
        if match is None:
            return None
        return Span(self.state.path, loc.line - 1, match.start(), match.end())

    def add(self, loc, name: str, symbol: Symbol, declares: bool = False, after: int = 0):
        span = self._span_of(loc, name, after)
        if span is not None:
            self.out.append(Occurrence(span, symbol, declares))

    def add_at(self, loc: ast.Loc, length: int, symbol: Symbol, declares: bool = False):
        if loc is not None and loc.file == self.state.path:
            self.out.append(Occurrence(Span(self.state.path, loc.line - 1, loc.column - 1, loc.column - 1 + length),
                                       symbol, declares))

    # -- the file
    def run(self) -> list[Occurrence]:
        h = self.tree.header
        self.add(h.loc, h.id, Symbol("ruleset", h.id), declares=True)
        if h.amends and h.amends_loc is not None:
            self.add(h.amends_loc, h.amends, Symbol("ruleset", h.amends))
        self.sources(h.sources)
        for ref in self.tree.references:
            self.add(ref.loc, ref.name, Symbol("reference", ref.name), declares=True, after=len("reference"))
        for decl in self.tree.declarations:
            self.declaration(decl)
        return self.out

    def sources(self, sources):
        for src in sources:
            if src.is_reference_name:
                self.add(src.loc, src.reference, Symbol("reference", src.reference), after=len("source"))

    def typeref(self, t: ast.TypeRef | None):
        if t is None:
            return
        if t.kind == "named" and t.name not in T.SCALARS and t.name != "reason":
            self.add(t.loc, t.name, Symbol("enum", t.name))
        for arg in t.args:
            self.typeref(arg)
        for _, ft in t.fields:
            self.typeref(ft)

    def declaration(self, decl: ast.Declaration):
        if isinstance(decl, ast.Replace):  # the inner declaration's place is its own keyword's
            decl = decl.declaration
        if isinstance(decl, ast.RuleDecl):
            self.add(decl.loc, decl.name, Symbol("value", decl.name), True, len("rule"))
            for p in decl.params:
                self.add(p.loc, p.name, Symbol("param", f"{decl.name}.{p.name}"), True)
                self.typeref(p.type)
            self.typeref(decl.type)
            self.sources(decl.sources)
            for e in decl.exceptions:
                self.sources(e.sources)
            self.readings(decl.readings)
        elif isinstance(decl, ast.ParameterDecl):
            self.add(decl.loc, decl.name, Symbol("value", decl.name), True, len("parameter"))
            self.typeref(decl.type)
            self.sources(decl.sources)
            self.readings(decl.readings)
            for b in decl.bounds:
                self.sources(b.sources)
        elif isinstance(decl, ast.TableDecl):
            self.table(decl)
        elif isinstance(decl, ast.ConditionDecl):
            self.add(decl.loc, decl.name, Symbol("value", decl.name), True, len("condition"))
            self.sources(decl.sources)
            for req in decl.requirements:
                self.requirement(decl.name, req)
        elif isinstance(decl, ast.RequirementChange):
            self.add(decl.loc, decl.condition, Symbol("value", decl.condition))
            self.requirement(decl.condition, decl.requirement, after=len(decl.condition) + 1)
        elif isinstance(decl, ast.InputDecl):
            self.add(decl.loc, decl.path, Symbol("input", decl.path), True, len("input"))
            self.typeref(decl.type)
            self.sources(decl.sources)
        elif isinstance(decl, (ast.EnumDecl, ast.ExtendEnum)):
            self.add(decl.loc, decl.name, Symbol("enum", decl.name), isinstance(decl, ast.EnumDecl),
                     len("enum"))
            for m in decl.members:
                self.add(m.loc, m.name, Symbol("member", f"{decl.name}.{m.name}"), True)
        elif isinstance(decl, ast.Remove):
            kind = {"input": "input", "enum": "enum", "requirement": "requirement"}.get(decl.kind, "value")
            self.add(decl.loc, decl.name, Symbol(kind, decl.name), True, len("remove"))
            self.sources(decl.sources)
        elif isinstance(decl, ast.OutputDecl):
            for name, loc in decl.names:
                self.add(loc, name, Symbol("value", name))
        self.expressions(decl)

    def readings(self, readings):
        for r in readings:
            self.sources(r.sources)

    def requirement(self, condition: str, req: ast.Requirement, after: int = 0):
        self.add(req.loc, req.name, Symbol("requirement", f"{condition}.{req.name}"), True, after)
        self.sources(req.sources)
        for w in req.waivers:
            self.sources(w.sources)

    def table(self, decl: ast.TableDecl):
        self.add(decl.loc, decl.name, Symbol("value", decl.name), True, len("table"))
        self.typeref(decl.type)
        for dim in decl.dims:
            self.typeref(dim.type)
        enums = [dim.type.name if dim.type.kind == "named" and self.model and dim.type.name in self.model.enums
                 else None for dim in decl.dims]
        for keys, enum in zip([decl.row_keys, decl.column_keys], enums):
            for key in keys:
                if enum and key.kind == "exact" and isinstance(key.value, str):
                    self.add_at(key.loc, len(key.text), Symbol("member", f"{enum}.{key.value}"))
        for r, row in enumerate(decl.cells):
            for c, cell in enumerate(row):
                self.add_at(cell.loc, max(len(cell.text), 1), Symbol("cell", decl.name, r, c))
        self.sources(decl.sources)
        for clause in decl.cell_clauses:
            self.sources(clause.sources)
            self.readings(clause.readings)
            for b in clause.bounds:
                self.sources(b.sources)
        for order in decl.orders:
            self.sources(order.sources)

    # -- names in expressions
    def expressions(self, decl: ast.Declaration):
        inner = decl.declaration if isinstance(decl, ast.Replace) else decl
        rule = inner.name if isinstance(inner, ast.RuleDecl) else None
        params = {p.name for p in inner.params} if isinstance(inner, ast.RuleDecl) else set()
        for top in declaration_exprs(decl):
            loops = {e.variable for e in walk(top) if isinstance(e, ast.Comprehension)}
            for e in walk(top):
                if isinstance(e, ast.Name):
                    self.name(e, rule, params, loops)
                elif isinstance(e, ast.Call):
                    if e.function not in params and e.function not in FUNCTIONS:
                        self.add(e.loc, e.function, Symbol("value", e.function))
                elif isinstance(e, ast.Field):
                    self.field(e, params | loops)

    def name(self, e: ast.Name, rule, params, loops):
        if e.name in params:
            self.add(e.loc, e.name, Symbol("param", f"{rule}.{e.name}"))
        elif e.name in loops or e.name in BUILTINS:
            return
        elif self.model is not None and self.model.value_declaration(e.name)[0]:
            self.add(e.loc, e.name, Symbol("value", e.name))
        elif self.model is not None and e.name in self.model.inputs:
            self.add(e.loc, e.name, Symbol("input", e.name))
        elif self.model is not None:
            enum = next((en.name for en in self.model.enums.values() if e.name in {m.name for m in en.members}), None)
            if enum is not None:
                self.add(e.loc, e.name, Symbol("member", f"{enum}.{e.name}"))
            elif e.name in self.model.enums:
                self.add(e.loc, e.name, Symbol("enum", e.name))

    def field(self, e: ast.Field, local):
        path = dotted(e)
        if path is None or self.model is None or path.split(".")[0] in local:
            return
        head = path.split(".")[0]
        if head in self.model.enums and path.count(".") == 1:
            self.add(e.loc, head, Symbol("enum", head))
            self.add(e.loc, e.name, Symbol("member", path), after=len(head) + 1)
        elif path in self.model.inputs:
            # the last part of the path; the parts before are the groups it is in (indexed too)
            self.add(e.loc, e.name, Symbol("input", path), after=len(path) - len(e.name))
            prefix = path.rsplit(".", 1)[0]
            if "." not in prefix and prefix in self.model.inputs:
                self.add(e.loc, prefix, Symbol("input", prefix))


def _any_model(analysis: Analysis, tree: ast.RulesetFile) -> M.Ruleset | None:
    """For a file whose own chain does not resolve: the model of the ruleset it amends, if any."""
    if tree.header.amends:
        return analysis.models.get(tree.header.amends)
    return None


# ================================================================ definitions

def declaration_of(analysis: Analysis, path: str, occurrence: Occurrence) -> list[ast.Loc]:
    """Where a name is declared, seen from file `path`:
    - a name used: its declaration in force in this file's ruleset (amendments applied);
    - a `replace` or `remove`: the declaration it replaces or removes;
    - a declaration replaced later: the declarations that replace it (and back again);
    - a `source` reference: its `reference` line; a ruleset id: its header."""
    symbol, m = occurrence.symbol, analysis.model_of(path)
    if symbol.kind == "ruleset":
        target = analysis.models.get(symbol.name)
        return [target.file.header.loc] if target is not None else []
    if m is None:
        return []
    if occurrence.declares:
        changed = [c for c in m.changes if c.action in ("replaced", "removed") and c.name == symbol.name
                   and c.loc.line - 1 == occurrence.span.line and c.old is not None]
        if changed:
            return [loc for c in changed if (loc := _loc_of(c.old)) is not None]
        later = _replacements(analysis, path, symbol)
        if later:
            return later
    item, _ = declared(m, symbol)
    return [item.loc] if item is not None else []


def declared(m: M.Ruleset, symbol: Symbol) -> tuple:
    """What `symbol` names in `m`, with what holds it: a value's declaration and its kind (rule,
    condition, parameter, table), an input's or an enumeration's declaration, an enumeration member
    and its enumeration, a reference, a requirement and its condition, a rule's parameter and its
    rule — (None, None) when `m` declares none. Going to a definition and hovering both read it."""
    kind, name = symbol.kind, symbol.name
    if kind == "value":
        what, decl = m.value_declaration(name)
        return (decl, what) if decl is not None else (None, None)
    if kind in ("input", "enum", "reference"):
        table = {"input": m.inputs, "enum": m.enums, "reference": m.references}[kind]
        return table.get(name), None
    if kind in ("member", "requirement", "param"):
        head, _, part = name.rpartition(".") if kind == "requirement" else name.partition(".")
        owner = {"member": m.enums, "requirement": m.conditions, "param": m.rules}[kind].get(head)
        if owner is None:
            return None, None
        items = getattr(owner, {"member": "members", "requirement": "requirements", "param": "params"}[kind])
        found = next((x for x in items if x.name == part), None)
        return (found, owner) if found is not None else (None, None)
    return None, None

def _loc_of(old) -> ast.Loc | None:
    if isinstance(old, (ast.Declaration, ast.Requirement)):
        return old.loc
    return None


def _replacements(analysis: Analysis, path: str, symbol: Symbol) -> list[ast.Loc]:
    """The `replace` (or `remove`) declarations, in rulesets that amend this file's, of the
    declaration of `symbol` that this file writes."""
    out = []
    for m in analysis.models.values():
        for c in m.changes:
            if c.action in ("replaced", "removed") and c.name == symbol.name and c.loc.file != path:
                old = _loc_of(c.old)
                if old is not None and old.file == path and c.loc not in out:
                    out.append(c.loc)
    return out
