"""Source text → syntax tree (`dsl.ast`), with syntax errors an analyst can act on: the grammar
(dsl/grammar.lark) parsed by Lark, the tree checked for depth and digits, then built into
dsl/ast.py's nodes by dsl/builder.py."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .builder import MAX_TREE_DEPTH, _Builder
from .errors import Diagnostic, RulesetError

# Plain words (in French, as every diagnostic) for the terminals an analyst may be told were expected.
_TERMINAL_WORDS = {
    "NAME": "un nom",
    "STRING": 'un texte entre guillemets droits (")',
    "DATE": "une date comme 2024-06-22",
    "NUMBER": "un nombre",
    "TABLE_ROW": "une ligne de barème commençant par `|`",
    "COMPARATOR": "une comparaison (=, <, >=, …)",
    "ADD_OP": "`+` ou `-`",
    "MUL_OP": "`*` ou `/`",
    "ORDER": "`increasing` ou `decreasing`",
    "GRADE": "`official`, `secondary` ou `hypothesis`",
    "$END": "la fin du fichier",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    cache = grammar_cache()
    return Lark(
        grammar,
        parser="lalr",
        start=["start", "key_cell", "value_cell", "hypotheses"],
        propagate_positions=True,
        maybe_placeholders=True,
        cache=str(cache) if cache is not None else False,
    )


def grammar_cache() -> Path | None:
    """Where Lark keeps the parse tables it built from the grammar (0.8 s of every start, most of
    a small run's time): a file in the user's own cache folder, which Lark checks against the
    grammar and its options before using it. The file is a pickle, so only a folder of this user's
    that no one else may write to is used (never the shared temporary folder); None — no cache,
    the tables built each time — otherwise, or when MILLESIME_NO_GRAMMAR_CACHE is set."""
    import os
    import stat
    if os.environ.get("MILLESIME_NO_GRAMMAR_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "millesime"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    getuid = getattr(os, "getuid", None)  # not on Windows, where the folder is the user's own
    if (getuid is not None and info.st_uid != getuid()) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    import lark
    return folder / f"grammar-lark{lark.__version__}.cache"


@contextmanager
def gc_paused():
    """No cyclic garbage collection while reading and checking rulesets. They allocate millions of
    objects that all live on (tokens, trees, closures), which the collector would walk again and
    again for nothing: a sum of 200 000 terms took 43 s to check instead of 12. Trees hold no
    cycles; whatever garbage there is waits for the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_file(path: str | Path) -> ast.RulesetFile:
    path = Path(path)
    return parse_text(_read(path, "le fichier de règles"), str(path))


def parse_text(text: str, filename: str = "<ruleset>") -> ast.RulesetFile:
    return _parse_whole(text, "start", filename)


def parse_hypotheses_file(path: str | Path) -> ast.HypothesisFile:
    """A hypothesis file (`--assume FILE`): the analyst's choices, each with its justification."""
    path = Path(path)
    return parse_hypotheses_text(_read(path, "le fichier d'hypothèses"), str(path))


def parse_hypotheses_text(text: str, filename: str = "<hypotheses>") -> ast.HypothesisFile:
    return _parse_whole(text, "hypotheses", filename)


def _read(path: Path, what: str) -> str:
    """The text of `path`; `what` names the file in the hint (« le fichier de règles »)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        loc = ast.Loc(str(path), 1, 1)
        raise RulesetError([Diagnostic(loc, f"le fichier n'est pas en UTF-8 valide (octet n° {exc.start} illisible)",
                                       hint=f"enregistrez {what} en UTF-8")]) from None


def _parse_whole(text: str, start: str, filename: str):
    """A whole file (a ruleset, or a hypothesis file) parsed and built; every diagnostic carries
    the text it points into."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        tree = _parse(text, start, filename, 0, 0)
        try:
            result = _Builder(text, filename, parse=_parse).transform(tree)
        except VisitError as exc:  # a builder check (e.g. a bad table) raised inside Lark
            orig = exc.orig_exc
            while isinstance(orig, VisitError):  # a table cell is built inside the table's builder
                orig = orig.orig_exc
            if isinstance(orig, RulesetError):
                raise orig from None
            if isinstance(orig, RecursionError):
                raise _too_deep(ast.Loc(filename, 1, 1)) from None
            raise
        except RecursionError:  # _check_tree bounds the depth; this is the last safety net
            raise _too_deep(ast.Loc(filename, 1, 1)) from None
        if start == "hypotheses":
            result.path, result.text = filename, text
        return result
    except RulesetError as exc:
        for d in exc.diagnostics:
            d.source_text = text
        raise


def _parse(text: str, start: str, filename: str, line_offset: int, column_offset: int):
    try:
        tree = _lark().parse(text, start=start)
    except UnexpectedInput as exc:
        raise RulesetError([_syntax_diagnostic(exc, text, filename, line_offset, column_offset,
                                               cell=start.endswith("_cell"))]) from None
    except RecursionError:
        raise _too_deep(ast.Loc(filename, line_offset + 1, column_offset + 1)) from None
    _check_tree(tree, filename, line_offset, column_offset)
    return tree


# More digits than decimals compute exactly (and than Python turns into an int) would be silently
# rounded, or crash. (How deep a tree may nest: builder.MAX_TREE_DEPTH.)
MAX_DIGITS = 28


def _check_tree(tree, filename: str, line_offset: int, column_offset: int) -> None:
    """Reject, at their place in the file, a nesting too deep to compute and a number too long."""
    def loc(line, column):
        return ast.Loc(filename, line + line_offset, column + (column_offset if line == 1 else 0))

    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            digits = sum(ch.isdigit() for ch in node) if node.type == "NUMBER" else 0
            if digits > MAX_DIGITS:
                raise RulesetError([Diagnostic(loc(node.line, node.column),
                                               f"ce nombre a {digits} chiffres ; au plus {MAX_DIGITS} sont calculés "
                                               f"exactement", hint="vérifiez ce nombre : aucun montant des textes n'est aussi long",
                                               code="syntax")])
            continue
        if depth > MAX_TREE_DEPTH:
            meta = node.meta
            where = loc(meta.line, meta.column) if not getattr(meta, "empty", True) else loc(1, 1)
            raise _too_deep(where)
        stack.extend((child, depth + 1) for child in node.children if child is not None)


def _too_deep(loc: ast.Loc) -> RulesetError:
    return RulesetError([Diagnostic(loc, "l'expression est trop imbriquée pour être lue",
                                    hint="découpez-la en plusieurs règles nommées", code="syntax")])


def _syntax_diagnostic(exc: UnexpectedInput, text: str, filename: str, line_offset: int, column_offset: int,
                       cell: bool = False) -> Diagnostic:
    line = max(getattr(exc, "line", 1) or 1, 1)
    column = max(getattr(exc, "column", 1) or 1, 1)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = text.rstrip().splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        # A table cell is parsed on its own: what ends there is the cell, not the file.
        message = "cette case de barème s'arrête trop tôt" if cell else "le fichier s'arrête trop tôt"
        expected = exc.expected
    elif isinstance(exc, UnexpectedToken):
        message = f"élément inattendu : {_describe_token(exc.token)}"
        expected = exc.accepts or exc.expected
    else:  # UnexpectedCharacters
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        if char == '"':
            message = "un texte entre guillemets doit être fermé sur la même ligne"
            expected = set()
        else:
            message = f"caractère inattendu {char!r}"
            expected = exc.allowed or set()
    if line == 1:
        column += column_offset
    loc = ast.Loc(filename, line + line_offset, column)
    return Diagnostic(loc, message, hint=_expected_hint(expected), code="syntax")


def _describe_token(token: Token) -> str:
    if token.type == "NAME":
        return f"le nom `{token}`"
    if token.type == "STRING":
        return f"le texte {token}"
    if token.type == "NUMBER":
        return f"le nombre `{token}`"
    if token.type == "DATE":
        return f"la date `{token}`"
    return f"`{token}`"


def _expected_hint(expected) -> str | None:
    words = sorted({_terminal_word(name) for name in expected if not name.startswith("__")})
    if not words:
        return None
    if len(words) > 12:
        return "attendu : " + ", ".join(words[:12]) + ", …"
    return "attendu : " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " ou " + words[-1])


def _terminal_word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name
    return f"`{pattern.value}`" if pattern.type == "str" else name
