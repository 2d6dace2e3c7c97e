"""The language server (pygls): what an editor asks about `.mil` files, answered from `analysis`.

Started by `millesime lsp` (stdio). Each document belongs to the folder it is in: the folder's
rulesets are analysed together, with the open buffers' texts (saved or not), shortly after each
change; every question waits for the analysis of the latest text. Options
(`initializationOptions`): `{"date": "YYYY-MM-DD"}`, the date whose ruleset in force the hover
shows values of (today by default).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from dsl import ast
from dsl.names import FUNCTIONS
from dsl.errors import Diagnostic, RulesetError
from dsl.format import FormatError, format_text

from ..registry import RULESET_SUFFIX
from .analysis import Analysis, Folder, Occurrence, declaration_of
from .hover import hover, type_text

DEBOUNCE_SECONDS = 0.2
KEYWORDS = sorted(set("""ruleset instrument published effective from until amends after gap description source
reference url grade official secondary hypothesis article quote enum input between and at least most parameter readings
reading bounds table rows columns increasing decreasing along cell rule exception when then note condition require
unless output replace extend add requirement remove because optional list of set map to group if else or not in is as
round up down euro cent unit established true false none for int decimal money percent bool date text""".split()))
_DID_YOU_MEAN = re.compile(r"vouliez-vous dire `([^`]+)` \?")  # the hints of dsl/errors.py's did_you_mean
_WRITE = re.compile(r"écrivez `([^`]+)`$")
_WORD = re.compile(r"[\w.]+")  # a name, `a.b`, a number: what a diagnostic without an end underlines


class MillesimeServer(LanguageServer):
    def __init__(self):
        super().__init__("millesime", "0.1.0", text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.folders: dict[Path, Folder] = {}
        self.analyses: dict[Path, Analysis] = {}
        self.pending: dict[Path, asyncio.TimerHandle] = {}
        self.day: dt.date | None = None

    # -- analyses
    def folder_of(self, uri: str) -> Path | None:
        path = to_fs_path(uri)
        return Path(path).parent if path and path.endswith(RULESET_SUFFIX) else None

    def buffers(self, folder: Path) -> dict[str, str]:
        out = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            path = to_fs_path(uri)
            if path and path.endswith(RULESET_SUFFIX) and Path(path).parent == folder:
                out[path] = doc.source
        return out

    def analyse(self, folder: Path) -> Analysis:
        handle = self.pending.pop(folder, None)
        if handle is not None:
            handle.cancel()
        worker = self.folders.setdefault(folder, Folder(folder))
        analysis = self.analyses[folder] = worker.analyse(self.buffers(folder))
        self.publish(analysis)
        return analysis

    def fresh(self, uri: str) -> tuple[Analysis, str] | None:
        """The analysis of the latest text of the document's folder, and the document's path."""
        folder = self.folder_of(uri)
        if folder is None:
            return None
        analysis = self.analyses.get(folder)
        if analysis is None or folder in self.pending:
            analysis = self.analyse(folder)
        return analysis, to_fs_path(uri)

    def later(self, uri: str):
        folder = self.folder_of(uri)
        if folder is None:
            return
        handle = self.pending.pop(folder, None)
        if handle is not None:
            handle.cancel()
        loop = asyncio.get_running_loop()
        self.pending[folder] = loop.call_later(DEBOUNCE_SECONDS, self.analyse, folder)

    def reference_day(self) -> dt.date:
        return self.day or dt.date.today()

    # -- places
    def lines(self, analysis: Analysis, path: str) -> list[str]:
        state = analysis.files.get(path)
        if state is not None:
            return state.lines
        try:
            return Path(path).read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            return []

    def to_range(self, lines: list[str], line: int, start: int, end_line: int, end: int) -> lsp.Range:
        codec = self.workspace.position_codec
        return codec.range_to_client_units(lines, lsp.Range(lsp.Position(line, start), lsp.Position(end_line, end)))

    def span_range(self, analysis: Analysis, span) -> lsp.Range:
        return self.to_range(self.lines(analysis, span.path), span.line, span.start, span.line, span.end)

    def loc_location(self, analysis: Analysis, loc: ast.Loc) -> lsp.Location:
        """A declaration's place: its name when it is indexed there, else its first line."""
        state = analysis.files.get(loc.file)
        name = next((o.span for o in (state.occurrences if state else []) if o.declares and
                     o.span.line == loc.line - 1 and o.span.start >= loc.column - 1), None)
        if name is not None:
            rng = self.span_range(analysis, name)
        else:
            lines = self.lines(analysis, loc.file)
            text = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
            rng = self.to_range(lines, loc.line - 1, loc.column - 1, loc.line - 1, len(text.rstrip()))
        return lsp.Location(uri=from_fs_path(loc.file), range=rng)

    def position(self, analysis: Analysis, path: str, position: lsp.Position) -> tuple[int, int]:
        lines = self.lines(analysis, path)
        server = self.workspace.position_codec.position_from_client_units(lines, position)
        return server.line, server.character

    def occurrence(self, uri: str, position: lsp.Position) -> tuple[Analysis, str, Occurrence | None] | None:
        found = self.fresh(uri)
        if found is None:
            return None
        analysis, path = found
        line, character = self.position(analysis, path, position)
        return analysis, path, analysis.at(path, line, character)

    # -- diagnostics
    def publish(self, analysis: Analysis):
        for path, diagnostics in analysis.diagnostics.items():
            lines = self.lines(analysis, path)
            items = [self.diagnostic(lines, d) for d in diagnostics]
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=from_fs_path(path),
                                                                                diagnostics=items))

    def diagnostic(self, lines: list[str], d: Diagnostic) -> lsp.Diagnostic:
        line, start = d.loc.line - 1, d.loc.column - 1
        text = lines[line] if 0 <= line < len(lines) else ""
        if d.loc.end_line == d.loc.line and d.loc.end_column > d.loc.column:
            end = d.loc.end_column - 1
        elif d.loc.end_line > d.loc.line:  # a whole declaration: its first line
            end = len(text.rstrip())
        else:
            word = _WORD.match(text, start)
            end = word.end() if word else min(start + 1, len(text))
        message = d.message + (f"\n{d.hint}" if d.hint else "")
        severity = lsp.DiagnosticSeverity.Error if d.severity == "error" else lsp.DiagnosticSeverity.Warning
        return lsp.Diagnostic(range=self.to_range(lines, line, start, line, max(end, start)), message=message,
                              severity=severity, code=d.code, source="millesime",
                              data={"message": d.message, "hint": d.hint})


server = MillesimeServer()


@server.feature(lsp.INITIALIZE)
def initialize(ls: MillesimeServer, params: lsp.InitializeParams):
    options = params.initialization_options or {}
    day = options.get("date") if isinstance(options, dict) else None
    if day:
        try:
            ls.day = dt.date.fromisoformat(day)
        except ValueError:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning,
                                                         f"millesime : date « {day} » illisible (AAAA-MM-JJ attendu)"))


def _analyse_now(ls: MillesimeServer, uri: str) -> None:
    folder = ls.folder_of(uri)
    if folder is not None:
        ls.analyse(folder)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: MillesimeServer, params: lsp.DidOpenTextDocumentParams):
    _analyse_now(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: MillesimeServer, params: lsp.DidChangeTextDocumentParams):
    ls.later(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: MillesimeServer, params: lsp.DidSaveTextDocumentParams):
    _analyse_now(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: MillesimeServer, params: lsp.DidCloseTextDocumentParams):
    _analyse_now(ls, params.text_document.uri)  # the file on disk takes the buffer's place again


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def on_hover(ls: MillesimeServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None or found[2] is None:
        return None
    analysis, path, occ = found
    text = hover(analysis, path, occ, ls.reference_day())
    if text is None:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=ls.span_range(analysis, occ.span))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: MillesimeServer, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None or found[2] is None:
        return None
    analysis, path, occ = found
    return [ls.loc_location(analysis, loc) for loc in declaration_of(analysis, path, occ)] or None


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: MillesimeServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None or found[2] is None:
        return None
    analysis, _, occ = found
    include = params.context.include_declaration if params.context else True
    spans = sorted({o.span for o in analysis.occurrences(occ.symbol) if include or not o.declares},
                   key=lambda s: (s.path, s.line, s.start))
    return [lsp.Location(uri=from_fs_path(s.path), range=ls.span_range(analysis, s)) for s in spans]


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["."]))
def on_completion(ls: MillesimeServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    found = ls.fresh(params.text_document.uri)
    if found is None:
        return lsp.CompletionList(is_incomplete=False, items=[])
    analysis, path = found
    line, character = ls.position(analysis, path, params.position)
    lines = ls.lines(analysis, path)
    before = lines[line][:character] if line < len(lines) else ""
    return lsp.CompletionList(is_incomplete=False, items=completions(analysis, path, before))


def completions(analysis: Analysis, path: str, before: str) -> list[lsp.CompletionItem]:
    """What may be written at the cursor, `before` being the line up to it."""
    m = analysis.model_of(path)
    K = lsp.CompletionItemKind
    if m is None:
        return [lsp.CompletionItem(label=k, kind=K.Keyword) for k in KEYWORDS]
    dotted = re.search(r"([A-Za-z_][\w.]*)\.(\w*)$", before)
    if dotted:
        head = dotted.group(1)
        if head in m.enums:
            return [lsp.CompletionItem(label=x.name, kind=K.EnumMember, detail=x.label) for x in m.enums[head].members]
        prefix = head + "."
        children = [p for p in m.inputs if p.startswith(prefix) and "." not in p[len(prefix):]]
        return [lsp.CompletionItem(label=p[len(prefix):], kind=K.Field, detail=m.inputs[p].label) for p in children]
    if re.search(r"\bsource\s+\w*$", before):
        return [lsp.CompletionItem(label=r.name, kind=K.Reference, detail=r.title) for r in m.references.values()]
    items = [lsp.CompletionItem(label=k, kind=K.Keyword) for k in KEYWORDS]
    kinds = {"rule": K.Function, "parameter": K.Constant, "table": K.Struct, "condition": K.Interface}
    for kind, store in (("rule", m.rules), ("parameter", m.parameters), ("table", m.tables),
                        ("condition", m.conditions)):
        for name, decl in store.items():
            detail = decl.label + (f" : {type_text(decl.type)}" if getattr(decl, "type", None) is not None else "")
            items.append(lsp.CompletionItem(label=name, kind=kinds[kind], detail=detail))
    items += [lsp.CompletionItem(label=p, kind=K.Field, detail=d.label) for p, d in m.inputs.items() if "." not in p]
    items += [lsp.CompletionItem(label=e.name, kind=K.Enum, detail=e.label) for e in m.enums.values()]
    items += [lsp.CompletionItem(label=f, kind=K.Function) for f in FUNCTIONS]
    items += [lsp.CompletionItem(label=b, kind=K.Variable) for b in ("on", "ruleset_id")]
    return items


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_document_symbol(ls: MillesimeServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    found = ls.fresh(params.text_document.uri)
    if found is None:
        return []
    analysis, path = found
    state = analysis.files.get(path)
    tree = state.ast if state is not None and state.ast is not None else \
        ls.folders[Path(path).parent].last_good.get(path)
    return outline(ls, analysis, path, tree) if tree is not None else []


def outline(ls: MillesimeServer, analysis: Analysis, path: str, tree: ast.RulesetFile) -> list[lsp.DocumentSymbol]:
    lines = ls.lines(analysis, path)
    S = lsp.SymbolKind

    def rng(loc: ast.Loc) -> lsp.Range:
        if loc.end_line >= loc.line and loc.end_line:
            return ls.to_range(lines, loc.line - 1, loc.column - 1, loc.end_line - 1, max(loc.end_column - 1, 0))
        text = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
        return ls.to_range(lines, loc.line - 1, loc.column - 1, loc.line - 1, len(text))

    def symbol(name: str, detail: str, kind, loc: ast.Loc, children=()) -> lsp.DocumentSymbol:
        whole = rng(loc)
        state = analysis.files.get(path)
        span = next((o.span for o in (state.occurrences if state else []) if o.declares and
                     o.span.line == loc.line - 1 and o.symbol.name.endswith(name.split(" ")[0].split(".")[-1])), None)
        pick = ls.span_range(analysis, span) if span is not None else lsp.Range(whole.start, whole.start)
        return lsp.DocumentSymbol(name=name, detail=detail, kind=kind, range=whole, selection_range=pick,
                                  children=list(children) or None)

    def readings(owner: str, items) -> list:
        return [symbol(f"{owner}.{r.name}", r.label, S.EnumMember, r.loc) for r in items]

    out = []
    for decl in tree.declarations:
        inner = decl.declaration if isinstance(decl, ast.Replace) else decl
        prefix = "remplace " if isinstance(decl, ast.Replace) else ""
        if isinstance(inner, ast.RuleDecl):
            children = readings(inner.name, inner.readings)
            children += [symbol(f"exception « {e.label} »", "", S.Event, e.loc) for e in inner.exceptions]
            out.append(symbol(inner.name, prefix + inner.label, S.Function, decl.loc, children))
        elif isinstance(inner, ast.ParameterDecl):
            out.append(symbol(inner.name, prefix + inner.label, S.Constant, decl.loc,
                              readings(inner.name, inner.readings)))
        elif isinstance(inner, ast.TableDecl):
            children = [x for c in inner.cell_clauses
                        for x in readings(inner.cell_name(c.row, c.column), c.readings)]
            out.append(symbol(inner.name, prefix + inner.label, S.Struct, decl.loc, children))
        elif isinstance(inner, ast.ConditionDecl):
            children = [symbol(f"{inner.name}.{r.name}", r.label, S.Property, r.loc) for r in inner.requirements]
            out.append(symbol(inner.name, prefix + inner.label, S.Interface, decl.loc, children))
        elif isinstance(inner, ast.RequirementChange):
            word = "ajoute" if inner.action == "add" else "remplace"
            out.append(symbol(f"{inner.condition}.{inner.requirement.name}", f"{word} {inner.requirement.label}",
                              S.Property, decl.loc))
        elif isinstance(inner, ast.EnumDecl):
            members = [symbol(x.name, x.label, S.EnumMember, x.loc) for x in inner.members]
            out.append(symbol(inner.name, prefix + inner.label, S.Enum, decl.loc, members))
        elif isinstance(inner, ast.InputDecl):
            out.append(symbol(inner.path, prefix + inner.label, S.Field, decl.loc))
    return out


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def on_code_action(ls: MillesimeServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
    found = ls.fresh(params.text_document.uri)
    if found is None:
        return None
    analysis, path = found
    lines = ls.lines(analysis, path)
    actions = []
    for d in params.context.diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        fix = quick_fix(ls, analysis, path, lines, d, data.get("message") or d.message, data.get("hint") or "")
        if fix is not None:
            actions.append(fix)
    return actions or None


def quick_fix(ls, analysis, path, lines, d: lsp.Diagnostic, message: str, hint: str) -> lsp.CodeAction | None:
    """The hints that say exactly what to write:
    - "vouliez-vous dire `x` ?": the misspelt name (the one of the message written at the place) becomes x;
    - "écrivez `20 %`" about `20` written at the place (a percent cell without its %): it becomes 20 %."""
    line, start = ls.position(analysis, path, d.range.start)
    text = lines[line] if line < len(lines) else ""
    completed = _WRITE.match(hint)
    if completed is not None:
        for written in re.findall(r"`([^`]+)`", message):
            if completed.group(1).startswith(written + " ") and text.startswith(written, start):
                edit = lsp.TextEdit(range=ls.to_range(lines, line, start, line, start + len(written)),
                                    new_text=completed.group(1))
                return lsp.CodeAction(title=f"Écrire « {completed.group(1)} »", kind=lsp.CodeActionKind.QuickFix,
                                      diagnostics=[d], is_preferred=True,
                                      edit=lsp.WorkspaceEdit(changes={from_fs_path(path): [edit]}))
    suggestion = _DID_YOU_MEAN.search(hint)
    if suggestion is None:
        return None
    for wrong in reversed(re.findall(r"`([^`]+)`", message)):
        last = wrong.rsplit(".", 1)[-1]
        match = re.compile(r"(?<![\w])" + re.escape(last) + r"(?![\w])").search(text, start)
        if match is None:
            continue
        edit = lsp.TextEdit(range=ls.to_range(lines, line, match.start(), line, match.end()),
                            new_text=suggestion.group(1).rsplit(".", 1)[-1] if "." in last else suggestion.group(1))
        return lsp.CodeAction(title=f"Remplacer « {last} » par « {suggestion.group(1)} »",
                              kind=lsp.CodeActionKind.QuickFix, diagnostics=[d], is_preferred=True,
                              edit=lsp.WorkspaceEdit(changes={from_fs_path(path): [edit]}))
    return None


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: MillesimeServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    """`millesime fmt` on the buffer: one edit replacing the whole text, when it parses."""
    doc = ls.workspace.get_text_document(params.text_document.uri)
    try:
        formatted = format_text(doc.source, to_fs_path(params.text_document.uri) or "<buffer>")
    except (RulesetError, FormatError):
        return None
    if formatted == doc.source:
        return []
    lines = doc.source.split("\n")
    end = ls.to_range(lines, 0, 0, len(lines) - 1, len(lines[-1])).end
    return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=formatted)]


def serve():
    server.start_io()

