"""`millesime fmt`: one canonical layout for `.mil` files (and hypothesis files).

The file is parsed with every token kept (Lark's `keep_all_tokens`), then printed again from that
tree: declarations at column 0, their clauses two spaces in per level, one space around operators,
table columns aligned. Comments are not in the grammar's tree: they are read from the text between
tokens and printed where they were — a comment on its own line before what follows it, a comment
at the end of a line after the token it followed. Blank lines between declarations and clauses are
kept (several in a row become one); blank lines inside an expression go.

Expressions are printed with a small Wadler-style pretty printer: a group is printed on one line
when it fits in `WIDTH` columns, else broken where its layout says (before `else`, `and`, `or`,
`+`, `-`, after each `,` of a call or a list, aligned under its opening bracket). The same
expression is therefore always broken the same way. Numbers, texts, names and table cells are
printed as written.

`format_text` checks its own work: the result must parse to the same syntax tree (places and the
spacing of expressions aside); otherwise it raises instead of returning a changed meaning. That
formatting twice changes nothing more is tested (tests/test_format.py, tests/fuzz/).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from . import ast
from .errors import RulesetError
from .parser import _syntax_diagnostic, parse_hypotheses_text, parse_text

WIDTH = 120
INDENT = 2


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", start=["start", "hypotheses"], propagate_positions=True,
                maybe_placeholders=True, keep_all_tokens=True, cache=False)


# ================================================================ comments and blank lines

@dataclass
class _Comment:
    text: str
    blank_before: bool  # an empty line before it, in the original


@dataclass
class _Around:
    """What the original text has between a token and the one before it."""
    leading: list[_Comment] = field(default_factory=list)  # comments on their own lines, before the token
    blank_before: bool = False  # an empty line right before the token (after its leading comments)
    trailing: str | None = None  # a comment at the end of the token's line, after it


def _gaps(text: str, tokens: list[Token]) -> tuple[dict[int, _Around], list[_Comment]]:
    """Comments and blank lines, by token (id), read from the text between consecutive tokens;
    and the comments after the last token."""
    around: dict[int, _Around] = {id(t): _Around() for t in tokens}
    tail: list[_Comment] = []
    previous: Token | None = None
    position = 0
    for token in tokens + [None]:
        gap = text[position:token.start_pos if token is not None else len(text)]
        leading = around[id(token)].leading if token is not None else tail
        newlines = 0  # since the previous token or comment
        for match in re.finditer(r"#[^\n]*|\n", gap):
            if match.group() == "\n":
                newlines += 1
            elif newlines == 0 and previous is not None:
                around[id(previous)].trailing = match.group().rstrip()
            else:
                leading.append(_Comment(match.group().rstrip(), newlines >= 2))
                newlines = 0  # the next newline ends the comment's own line
        if token is not None:
            around[id(token)].blank_before = newlines >= 2
            position, previous = token.end_pos, token
    return around, tail


# ================================================================ the pretty printer

class _Line:
    """A break: `flat` (a space, or nothing) when its group fits on the line, a newline otherwise;
    a hard line is always a newline (after a comment)."""
    __slots__ = ("flat", "hard")

    def __init__(self, flat: str, hard: bool = False):
        self.flat, self.hard = flat, hard


LINE, HARDLINE = _Line(" "), _Line("", hard=True)


@dataclass
class _Group:
    body: object
    broken: bool = False  # broken whatever its width (an `else if` chain)


@dataclass
class _Nest:
    indent: int
    body: object


@dataclass
class _Align:
    """Its broken lines start at the column where it begins (items under their bracket)."""
    body: object


@dataclass
class _Flat:
    """Always on one line (types and parameters in a declaration's head), comments aside."""
    body: object


class _FillLine(_Line):
    """Between the items of a filled list: a space when the next item fits on the line."""
    __slots__ = ("next",)

    def __init__(self, next_item):
        super().__init__(" ")
        self.next = next_item


_WRAPPERS = (_Group, _Nest, _Align, _Flat)
_END = object()  # marks, during `_fits`, the end of the group being measured


def _has_hard(doc) -> bool:
    stack = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, _Line):
            if d.hard:
                return True
        elif isinstance(d, list):
            stack.extend(d)
        elif isinstance(d, _WRAPPERS):
            stack.append(d.body)
    return False


def _fits(doc, pending: list, width: int) -> bool:
    """Whether `doc`, printed flat, and what follows it up to the next possible break, fit."""
    stack = [_END, doc]
    index = len(pending)
    ended = False
    while width >= 0:
        if not stack:
            if index == 0:
                return True
            index -= 1
            stack.append(pending[index][2])
        d = stack.pop()
        if d is _END:
            ended = True
        elif isinstance(d, str):
            width -= len(d)
        elif isinstance(d, _Line):
            if ended:
                return True
            if d.hard:
                return False
            width -= len(d.flat)
        elif isinstance(d, list):
            stack.extend(reversed(d))
        elif isinstance(d, _WRAPPERS):
            stack.append(d.body)
    return False


def render(doc, indent: int = 0, column: int = 0) -> str:
    """Print a document whose broken lines start at `indent`, its first line at `column`."""
    out: list[str] = []
    stack = [(indent, False, doc)]  # (indent, flat, document); the next one to print is last
    col = column
    while stack:
        ind, flat, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            col += len(d)
        elif isinstance(d, list):
            stack.extend((ind, flat, x) for x in reversed(d))
        elif isinstance(d, _Line):
            if isinstance(d, _FillLine) and not flat:
                flat_here = _fits(d.next, [], WIDTH - col - 1)
            else:
                flat_here = flat
            if flat_here and not d.hard:
                out.append(d.flat)
                col += len(d.flat)
            elif out and out[-1].startswith("\n") and not out[-1].strip(" \n"):
                out[-1] = "\n" + " " * ind  # a break right after a break (a comment's): one newline
                col = ind
            else:
                if out:
                    out[-1] = out[-1].rstrip(" ")
                out.append("\n" + " " * ind)
                col = ind
        elif isinstance(d, _Nest):
            stack.append((ind + d.indent, flat, d.body))
        elif isinstance(d, _Align):
            stack.append((col, flat, d.body))
        elif isinstance(d, _Flat):
            stack.append((ind, True, d.body))
        elif isinstance(d, _Group):
            fits = flat or (not d.broken and not _has_hard(d.body) and _fits(d.body, stack, WIDTH - col))
            stack.append((ind, fits, d.body))
    return "".join(out)


def _join(items: list, sep) -> list:
    out: list = []
    for i, item in enumerate(items):
        if i:
            out.append(sep)
        out.append(item)
    return out


# ================================================================ statements: declarations and clauses

_NOTES = {"note", "source"}
# The clauses of each kind of statement: printed on lines of their own, one level in.
_CLAUSES = {
    "header": {"instrument", "published", "effective", "amends", "after_gap", "description", "source"},
    "enum_decl": {"enum_member"},
    "extend_enum": {"enum_member"},
    "input_decl": {"source"},
    "parameter_decl": _NOTES | {"bounds_clause", "reading"},
    "table_decl": _NOTES | {"row_dim", "column_dim", "table_order", "cell_clause"},
    "rule_decl": _NOTES | {"reading", "exception"},
    "exception": _NOTES,
    "condition_decl": _NOTES | {"require"},
    "requirement": _NOTES | {"waiver"},
    "waiver": _NOTES,
    "remove": {"because", "source"},
    "bounds_clause": _NOTES,
    "reading": _NOTES,
    "table_order": _NOTES,
    "cell_clause": _NOTES | {"bounds_clause", "reading"},
    "cell_replacement": _NOTES | {"bounds_clause", "reading"},
    "hypotheses": _NOTES,
    "assumption": _NOTES,
}
# Statements whose value (the expression after `=` or `:`) goes on the next line when too long.
_VALUED = {"parameter_decl": "=", "rule_decl": "=", "reading": ":", "requirement": ":", "waiver": ":"}


def _unwrap(tree):
    """An `or`/`and` of one operand is that operand (the grammar keeps such nodes)."""
    while isinstance(tree, Tree) and tree.data in ("or_", "and_") and len(tree.children) == 1:
        tree = tree.children[0]
    return tree


def _is_if(tree) -> bool:
    tree = _unwrap(tree)
    return isinstance(tree, Tree) and tree.data == "if_expr"


_LITERALS = {"number", "money", "percent", "date", "string", "true", "false", "none", "readings_value", "name"}


def _simple(tree) -> bool:
    """A name, `a.b.c` or a literal: what a line never needs to break."""
    tree = _unwrap(tree)
    if isinstance(tree, Token):
        return True
    if tree.data == "field":
        return _simple(tree.children[0])
    return tree.data in _LITERALS


def _edge(tree, side: int) -> Token | None:
    """The first (side 0) or last (side -1) token of a tree."""
    while isinstance(tree, Tree):
        children = _children(tree)
        if not children:
            return None
        tree = children[side]
    return tree


def _children(tree: Tree) -> list:
    return [c for c in tree.children if c is not None]


def _statement_parts(tree: Tree) -> tuple[str, list, list]:
    """(kind, the items of its own line, its clauses), with `replace`, `add requirement` and
    `require` unwrapped: `replace rule …` is laid out as a rule, `require …` as a requirement."""
    kind, items = tree.data, _children(tree)
    prefix: list = []
    while kind in ("replace", "add_requirement", "require", "requirement_replacement", "requirement_body",
                   "requirement_tail"):
        if kind in ("requirement_body", "requirement_tail"):
            kind = "requirement"
            break
        *keywords, inner = items
        prefix += keywords
        kind, items = inner.data, _children(inner)
    own, clauses = [], []
    allowed = _CLAUSES.get(kind, set())
    for item in items:
        is_row = isinstance(item, Token) and item.type == "TABLE_ROW"
        if is_row or (isinstance(item, Tree) and item.data in allowed):
            clauses.append(item)
        else:
            own.append(item)
    return kind, prefix + own, clauses


class _Formatter:
    def __init__(self, text: str, tree: Tree):
        self.text = text
        self.tree = tree
        tokens = sorted(tree.scan_values(lambda v: isinstance(v, Token)), key=lambda t: t.start_pos)
        self.around, self.tail = _gaps(text, tokens)
        self.lines: list[str] = []

    # -- the file
    def file(self) -> str:
        tree = self.tree
        if tree.data == "start":
            header, *declarations = _children(tree)
            self.statement(header, 0)
            for decl in declarations:
                self.statement(decl, 0)
        else:  # a hypothesis file: its title and notes, then each assumption at column 0
            items = _children(tree)
            assumptions = [i for i in items if isinstance(i, Tree) and i.data == "assumption"]
            head = Tree("hypotheses", [i for i in items if not (isinstance(i, Tree) and i.data == "assumption")])
            self.statement(head, 0)
            for a in assumptions:
                self.statement(a, 0)
        for c in self.tail:
            if c.blank_before:
                self._blank()
            self.lines.append(c.text)
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def _blank(self):
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def _comments_before(self, token: Token, indent: int):
        """The comments on their own lines before a statement's first token, and its blank line."""
        around = self.around[id(token)]
        for c in around.leading:
            if c.blank_before:
                self._blank()
            self.lines.append(" " * indent + c.text)
        around.leading = []
        if around.blank_before:
            self._blank()

    def _emit(self, doc, indent: int):
        text = " " * indent + render(doc, indent, indent)
        self.lines.extend(line.rstrip() for line in text.split("\n"))
        while self.lines and self.lines[-1] == "":  # the newline after a trailing comment
            self.lines.pop()

    def statement(self, tree, indent: int):
        if isinstance(tree, Token):  # a table row, laid out with its table
            return
        first = next(tree.scan_values(lambda v: isinstance(v, Token)), None)
        if first is not None:
            self._comments_before(first, indent)
        kind, own, clauses = _statement_parts(tree)
        if kind == "exception":  # `exception "…"`, then `when … then …` on a line of its own
            keyword, label, when, condition, then, value = own
            self._emit([self.tok(keyword), " ", self.tok(label)], indent)
            self._comments_before(when, indent + INDENT)
            self._emit(_Group([self.tok(when), " ", self.node(condition), LINE, self.tok(then), " ",
                               self.node(value)]), indent + INDENT)
        else:
            self._emit(self.head(kind, own), indent)
        widths = _widths([str(c) for c in clauses if isinstance(c, Token)])
        two_dimensional = any(isinstance(c, Tree) and c.data == "column_dim" for c in clauses)
        headings_done = not two_dimensional  # a 2-D table: one `|---|` line under its headings
        for clause in clauses:
            if not isinstance(clause, Token):
                self.statement(clause, indent + INDENT)
                continue
            self._comments_before(clause, indent + INDENT)
            line = align_row(str(clause), widths)
            if line is not None:
                self.lines.append(" " * (indent + INDENT) + line)
                if not headings_done:
                    self.lines.append(" " * (indent + INDENT) + align_separator(widths))
                    headings_done = True

    # -- a statement's own line
    def head(self, kind: str, items: list) -> object:
        """A statement's own line: on one line (names, labels, types never break); its value after
        `=` or `:` on the next line, one level in, when the line would be too long (a value of one
        token stays: moving it would not shorten anything) or when it is an `if`."""
        if kind == "cell_clause":  # `cell [a, b]`
            return _Flat([self.tok(items[0]), " ", self._bracketed(items[1:])])
        if kind == "cell_replacement":  # `replace cell t[a, b] = value`, the headings glued to the table
            close = next(i for i, x in enumerate(items) if isinstance(x, Token) and str(x) == "]")
            return _Flat([self.tok(items[0]), " ", self.tok(items[1]), " ", self.tok(items[2]),
                          self._bracketed(items[3:close + 1]), " ", self.tok(items[close + 1]), " "]
                         + self._spaced([self.node(i) for i in items[close + 2:]], [False] * len(items[close + 2:])))
        docs = [self.node(i) for i in items]
        glue = [False] + [self._glued_before(kind, i) for i in items[1:]]
        marker = _VALUED.get(kind)
        at = None
        if marker is not None:
            at = next((i for i, x in enumerate(items) if isinstance(x, Token) and str(x) == marker
                       and i + 1 < len(items) and (marker == "=" or i + 2 == len(items))), None)
        if at is None:
            return _Flat(self._spaced(docs, glue))
        value = items[at + 1]
        before = _Flat(self._spaced(docs[:at + 1], glue[:at + 1]))
        after = self._spaced(docs[at + 1:], [False] + glue[at + 2:])
        if _simple(value):
            return [before, " ", after]
        return _Group([before, _Nest(INDENT, [LINE, after])], broken=_is_if(value))

    @staticmethod
    def _spaced(docs: list, glue: list) -> list:
        out: list = []
        for doc, glued in zip(docs, glue):
            if out and not glued:
                out.append(" ")
            out.append(doc)
        return out

    @staticmethod
    def _glued_before(kind: str, item) -> bool:
        if isinstance(item, Tree):
            return item.data in ("rule_params", "cell_keys")
        text = str(item)
        return text in (",", ".") or (text == ":" and kind in ("enum_decl", "extend_enum"))

    # -- tokens and their comments
    def tok(self, token: Token) -> list:
        around = self.around[id(token)]
        doc: list = []
        for c in around.leading:  # a comment inside an expression: on its own line
            doc += [c.text, HARDLINE]
        around.leading = []
        doc.append(str(token))
        if around.trailing:
            doc += ["  " + around.trailing, HARDLINE]
            around.trailing = None
        return doc

    # -- expressions, types, headings
    def node(self, n) -> object:
        if isinstance(n, Token):
            return self.tok(n)
        # Comments at the edges of an expression are printed outside it: its own groups may then
        # stay on one line.
        first, last = _edge(n, 0), _edge(n, -1)
        before, after = [], []
        if first is not None and self.around[id(first)].leading:
            for c in self.around[id(first)].leading:
                before += [c.text, HARDLINE]
            self.around[id(first)].leading = []
        if last is not None and self.around[id(last)].trailing:
            after = ["  " + self.around[id(last)].trailing, HARDLINE]
            self.around[id(last)].trailing = None
        method = getattr(self, "_" + n.data, None)
        children = _children(n)
        doc = method(children) if method is not None else _join([self.node(c) for c in children], " ")
        return [before, doc, after] if before or after else doc

    def _glued(self, children) -> list:
        return [self.node(c) for c in children]

    _negate = _signed_number = _range_ = _band = _open_range = _dotted_name = _field = _glued

    def _bracketed(self, children) -> object:
        """`(a, b)`, `[a, b]`, `{a: b}`: on one line when it fits, else one item a line, each under
        the first."""
        open_, *inner, close = children
        items: list = []
        for x in inner:
            if isinstance(x, Token) and str(x) == ",":
                items[-1] = [items[-1], self.tok(x)]
            else:
                items.append(self.node(x))
        values = [x for x in inner if not (isinstance(x, Token) and str(x) == ",")]
        if len(values) > 2 and all(_simple(v) for v in values):  # names or figures: several a line
            body = [items[0]] + [x for item in items[1:] for x in (_FillLine(item), item)]
            return [self.tok(open_), _Group(_Align(body)), self.tok(close)]
        return [self.tok(open_), _Group(_Align(_join(items, LINE))), self.tok(close)]

    _list_literal = _set_literal = _record_literal = _record_type = _rule_params = _bracketed

    def _index(self, children):
        target, *rest = children
        return [self.node(target), self._bracketed(rest)]

    def _call(self, children):
        name, *rest = children
        return [self.tok(name), self._bracketed(rest)]

    def _assumption_target(self, children):
        name, *rest = children
        return [self.tok(name)] + ([self._bracketed(rest)] if rest else [])

    def _record_entry(self, children):
        name, colon, value = children
        return [self.tok(name), self.tok(colon), " ", self.node(value)]

    _record_field = _record_entry


    def _atom(self, children):  # `(expr)`
        open_, inner, close = children
        return [self.tok(open_), _Align(self.node(inner)), self.tok(close)]

    def _comprehension(self, children):
        open_, element, for_, var, in_, iterable, *rest = children
        parts = [self.node(element), LINE, self.tok(for_), " ", self.tok(var), " ", self.tok(in_), " ",
                 self.node(iterable)]
        if len(rest) == 3:  # `if condition ]`
            parts += [LINE, self.tok(rest[0]), " ", self.node(rest[1])]
        return [self.tok(open_), _Group(_Align(parts)), self.tok(rest[-1])]

    def _chain(self, children):
        """`a or b`, `a and b`, `a + b - c`: broken before each operator, under the first operand."""
        if len(children) == 1:
            return self.node(children[0])
        parts = [self.node(children[0])]
        for op, operand in zip(children[1::2], children[2::2]):
            parts += [LINE, self.tok(op), " ", self.node(operand)]
        return _Group(_Align(parts))

    _or_ = _and_ = _arith = _chain

    def _if_expr(self, children):
        """`if C then A else B` on one line when it fits; an `else if` chain one branch a line."""
        parts, current, chained = [], children, False
        while True:
            if_, condition, then, value, else_, otherwise = current
            parts += [_Group([self.tok(if_), " ", self.node(condition), " ", self.tok(then),
                              _Nest(INDENT, [LINE, self.node(value)])]), LINE, self.tok(else_), " "]
            inner = otherwise
            while isinstance(inner, Tree) and inner.data in ("or_", "and_") and len(_children(inner)) == 1:
                inner = _children(inner)[0]
            if isinstance(inner, Tree) and inner.data == "if_expr":
                chained, current = True, _children(inner)
                continue
            parts.append(self.node(otherwise))
            return _Group(_Align(parts), broken=chained)


# ================================================================ tables

def _split_row(row: str) -> tuple[list[str], str]:
    """The cells of a row as written (stripped), and what follows its last `|` (a comment)."""
    last = row.rfind("|")
    return [cell.strip() for cell in row[1:last].split("|")], row[last + 1:].strip()


def _is_separator(cells: list[str]) -> bool:
    return all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


def _widths(rows: list[str]) -> list[int]:
    body = [cells for cells, _ in map(_split_row, rows) if not _is_separator(cells)]
    count = max((len(cells) for cells in body), default=0)
    return [max(1, max(len(cells[i]) for cells in body if i < len(cells))) for i in range(count)]


def align_row(row: str, widths: list[int]) -> str | None:
    """A row with its cells padded to their column's width (None for a separator row)."""
    cells, rest = _split_row(row)
    if _is_separator(cells):
        return None
    text = "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)) + " |"
    return f"{text}  {rest}" if rest else text


def align_separator(widths: list[int]) -> str:
    return "|" + "|".join("-" * (w + 2) for w in widths) + "|"


# ================================================================ entry points

class FormatError(Exception):
    """The formatter would change what a file means (a defect of the formatter, not of the file)."""


def _parse_tree(text: str, filename: str) -> Tree:
    start = "hypotheses" if _is_hypotheses(text) else "start"
    try:
        return _lark().parse(text, start=start)
    except UnexpectedInput as exc:
        raise RulesetError([_syntax_diagnostic(exc, text, filename, 0, 0)]) from None


def _is_hypotheses(text: str) -> bool:
    return re.match(r"(?:\s|#[^\n]*)*hypotheses\b", text) is not None


def _meaning(text: str, filename: str):
    """The syntax tree of a file, for comparison: places and the spacing of expressions aside."""
    parse = parse_hypotheses_text if _is_hypotheses(text) else parse_text
    return shape(parse(text, filename))


def shape(node):
    """A syntax tree as nested tuples, without what layout changes: places, and the text of
    expressions as written (their meaning is in their structure)."""
    if isinstance(node, ast.Loc):
        return None
    if dataclasses.is_dataclass(node):
        skip = {"loc", "path"} | ({"text"} if isinstance(node, (ast.Expr, ast.RulesetFile, ast.HypothesisFile))
                                  else set())
        return (type(node).__name__,) + tuple((f.name, shape(getattr(node, f.name)))
                                              for f in dataclasses.fields(node) if f.name not in skip)
    if isinstance(node, (list, tuple)):
        return tuple(shape(x) for x in node)
    return node


def format_text(text: str, filename: str = "<ruleset>") -> str:
    """The canonical layout of a ruleset (or hypothesis file). A file that does not parse raises
    RulesetError (its diagnostics); the result means exactly what the text meant."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    before = _meaning(text, filename)  # the file's own errors (bad table, bad date…) come from here
    result = _Formatter(text, _parse_tree(text, filename)).file()
    try:
        after = _meaning(result, filename)
    except RulesetError as exc:
        raise FormatError(f"{filename}: le texte mis en forme ne se lit plus : {exc}") from None
    if after != before:
        raise FormatError(f"{filename}: la mise en forme changerait le sens du fichier")
    return result
