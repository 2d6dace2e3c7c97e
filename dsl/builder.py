"""Lark's syntax tree → the syntax tree of dsl/ast.py (`_Builder`), each node with its place in
the file and the text it was written with; dsl/parser.py runs it on what the grammar parsed.
"""
from __future__ import annotations

import bisect
import datetime as dt
import re
from decimal import Decimal

from lark import Token, Transformer, v_args

from . import ast
from .errors import Diagnostic, RulesetError
from .words import axis, count

# Deeper trees would exhaust Python's stack in the builder, the checker or the interpreter
# (the shipped agreements nest 24 levels at most).
MAX_TREE_DEPTH = 200
# A sum of more terms than this is built as a balanced tree (same value: exact decimal sums do not
# depend on grouping), so that its depth is its length's logarithm, not its length.
BALANCE_FROM = 64


def _number(token: str) -> int | Decimal:
    digits = re.sub(r"[ \u00a0\u202f]", "", token)
    return Decimal(digits) if "." in digits else int(digits)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _split(children, *types):
    """Split builder children into lists by their Python type, keeping order."""
    return [[c for c in children if isinstance(c, t)] for t in types]


class _Note(str):
    pass


class _Because(str):
    pass


class _KeyText(str):
    """A table heading as written, inside `cell [..]` or `assume t[..]`."""

    def __new__(cls, text: str, loc: ast.Loc):
        obj = super().__new__(cls, text)
        obj.loc = loc
        return obj


def heading_key(text: str) -> str:
    """A heading as compared between a table and a `cell [..]` clause: spaces do not count."""
    return re.sub(r"\s+", "", text)


@v_args(meta=True)
class _Builder(Transformer):
    def __init__(self, text: str, filename: str, line_offset: int = 0, column_offset: int = 0, parse=None):
        super().__init__()
        self._parse = parse  # dsl.parser._parse: a table's headings and cells are parsed on their own
        self.text = text
        self.filename = filename
        self.line_offset = line_offset
        self.column_offset = column_offset
        self._spans: dict[int, tuple[int, int]] = {}  # id(expression) → (start, end) in self.text
        self._line_starts: list[int] | None = None

    # -- helpers
    def _loc(self, meta) -> ast.Loc:
        if getattr(meta, "empty", True):
            return ast.Loc(self.filename, self.line_offset + 1, self.column_offset + 1)
        col = meta.column + (self.column_offset if meta.line == 1 else 0)
        end_col = meta.end_column + (self.column_offset if meta.end_line == 1 else 0)
        return ast.Loc(self.filename, meta.line + self.line_offset, col, meta.end_line + self.line_offset, end_col)

    def _tok_loc(self, tok: Token) -> ast.Loc:
        col = tok.column + (self.column_offset if tok.line == 1 else 0)
        return ast.Loc(self.filename, tok.line + self.line_offset, col)

    def _src(self, meta) -> str:
        return self.text[meta.start_pos:meta.end_pos]

    # -- file
    def start(self, meta, children):
        header, *declarations = children
        references = [d for d in declarations if isinstance(d, ast.Reference)]
        declarations = [d for d in declarations if not isinstance(d, ast.Reference)]
        return ast.RulesetFile(header, references, declarations, self.filename, self.text)

    def header(self, meta, children):
        ruleset_id, title, *clauses = children
        fields = dict(instrument=None, published=None, effective_from=None, effective_until=None,
                      amends=None, description=None, amends_loc=None, gap_reason=None)
        sources = []
        for clause in clauses:
            if isinstance(clause, ast.Source):
                sources.append(clause)
            else:
                fields.update(clause)
        return ast.Header(str(ruleset_id), _unquote(title), sources=sources, loc=self._tok_loc(ruleset_id), **fields)

    def instrument(self, meta, c):
        return {"instrument": _unquote(c[0])}

    def published(self, meta, c):
        return {"published": _unquote(c[0])}

    def description(self, meta, c):
        return {"description": _unquote(c[0])}

    def amends(self, meta, c):
        return {"amends": str(c[0]), "amends_loc": self._tok_loc(c[0])}

    def after_gap(self, meta, c):
        return {"gap_reason": _unquote(c[0])}

    def effective(self, meta, c):
        start, end = c
        return {"effective_from": self._date(start), "effective_until": self._date(end) if end else None}

    def _date(self, tok: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(tok))
        except ValueError:
            raise RulesetError([Diagnostic(self._tok_loc(tok), f"`{tok}` n'est pas une date valide",
                                           hint="écrivez les dates sous la forme AAAA-MM-JJ, par exemple 2024-06-22")]) from None

    # -- sources and notes
    def source(self, meta, c):
        ref, *fields = c
        src = ast.Source(reference=_unquote(ref) if ref.type == "STRING" else str(ref),
                         is_reference_name=ref.type == "NAME", article=None, quote=None, url=None,
                         loc=self._loc(meta))
        for key, value in fields:
            setattr(src, key, value)
        return src

    def source_article(self, meta, c):
        return ("article", _unquote(c[0]))

    def source_quote(self, meta, c):
        return ("quote", _unquote(c[0]))

    def source_url(self, meta, c):
        return ("url", _unquote(c[0]))

    def source_grade(self, meta, c):
        return ("grade", str(c[0]))

    def note(self, meta, c):
        return _Note(_unquote(c[0]))

    def because(self, meta, c):
        return _Because(_unquote(c[0]))

    def reference(self, meta, c):
        name, title, url, grade = c
        return ast.Reference(str(name), _unquote(title), _unquote(url) if url else None, self._loc(meta),
                             str(grade) if grade else None)

    # -- what the law leaves open
    def bound_between_expr(self, meta, c):
        return (c[0], c[1])

    def bound_at_least(self, meta, c):
        return (c[0], c[1])

    def bound_at_most(self, meta, c):
        return (None, c[0])

    def unknown_value(self, meta, c):
        low, high = c[0] if c and c[0] is not None else (None, None)
        return self._e(ast.Unknown, meta, low, high)

    def readings_value(self, meta, c):
        return self._e(ast.ReadingsValue, meta)

    def bounds_clause(self, meta, c):
        (low, high), *rest = c
        notes, sources = _split(rest, _Note, ast.Source)
        return ast.BoundsClause(low, high, list(notes), sources, self._loc(meta))

    def reading(self, meta, c):
        name, label, expr, *rest = c
        notes, sources = _split(rest, _Note, ast.Source)
        return ast.Reading(str(name), _unquote(label), expr, list(notes), sources, self._tok_loc(name))

    def _heading(self, meta, c):
        return _KeyText(self._src(meta).strip(), self._loc(meta))

    key_name = key_text = key_number = open_range = band = below = _heading

    def table_order(self, meta, c):
        direction, axis, *rest = c
        notes, sources = _split(rest, _Note, ast.Source)
        return ast.TableOrder(str(direction), str(axis), list(notes), sources, self._loc(meta))

    def cell_clause(self, meta, c):
        keys = [k for k in c if isinstance(k, _KeyText)]
        rest = [x for x in c if not isinstance(x, _KeyText) and x is not None]
        notes, sources, bounds, readings = _split(rest, _Note, ast.Source, ast.BoundsClause, ast.Reading)
        return ast.CellClause([str(k) for k in keys], -1, -1, list(notes), sources, bounds, readings,
                              self._loc(meta))

    def cell_replacement(self, meta, c):
        name, *rest = c
        keys = [k for k in rest if isinstance(k, _KeyText)]
        value, *rest = [x for x in rest if not isinstance(x, _KeyText) and x is not None]
        notes, sources, bounds, readings = _split(rest, _Note, ast.Source, ast.BoundsClause, ast.Reading)
        return ast.CellReplacement(self._loc(meta), str(name), [str(k) for k in keys], value, list(notes), sources,
                                   bounds, readings)

    # -- hypothesis files
    def hypotheses(self, meta, c):
        title, *rest = c
        notes, sources, assumptions = _split(rest, _Note, ast.Source, ast.Assumption)
        return ast.HypothesisFile(_unquote(title), list(notes), sources, assumptions, self.filename, self.text)

    def assumption_target(self, meta, c):
        name, *keys = c
        return (str(name), [str(k) for k in keys if k is not None], self._tok_loc(name))

    def pick_reading(self, meta, c):
        return ("reading", str(c[0]))

    def fix_value(self, meta, c):
        return ("value", c[0])

    def assumption(self, meta, c):
        (name, keys, loc), ruleset, (what, value), because, *rest = c
        notes, sources = _split(rest, _Note, ast.Source)
        for src in sources:  # what an analyst assumes rests on the analyst: graded hypothesis
            src.grade = "hypothesis"
        return ast.Assumption(name, keys, str(ruleset) if ruleset else None,
                              value if what == "reading" else None, value if what == "value" else None,
                              str(because), list(notes), sources, loc)

    # -- enums and inputs
    def enum_member(self, meta, c):
        return ast.EnumMember(str(c[0]), _unquote(c[1]), self._tok_loc(c[0]))

    def enum_decl(self, meta, c):
        name, label, *members = c
        return ast.EnumDecl(self._loc(meta), str(name), _unquote(label), members)

    def extend_enum(self, meta, c):
        name, *members = c
        return ast.ExtendEnum(self._loc(meta), str(name), members)

    def dotted_name(self, meta, c):
        return ".".join(str(t) for t in c)

    def signed_number(self, meta, c):
        value = _number(c[-1])
        return -value if len(self._src(meta).strip()) and self._src(meta).lstrip().startswith("-") else value

    def bound_between(self, meta, c):
        return [ast.Bound("min", Decimal(c[0])), ast.Bound("max", Decimal(c[1]))]

    def bound_min(self, meta, c):
        return [ast.Bound("min", Decimal(c[0]))]

    def bound_max(self, meta, c):
        return [ast.Bound("max", Decimal(c[0]))]

    def input_decl(self, meta, c):
        path, type_, label, *rest = c
        bounds = [b for item in rest if isinstance(item, list) for b in item]
        sources = [s for s in rest if isinstance(s, ast.Source)]
        return ast.InputDecl(self._loc(meta), path, type_, _unquote(label), bounds, sources)

    # -- types
    def named_type(self, meta, c):
        return ast.TypeRef("named", name=str(c[0]), loc=self._loc(meta))

    def optional_type(self, meta, c):
        return ast.TypeRef("optional", args=(c[0],), loc=self._loc(meta))

    def list_type(self, meta, c):
        return ast.TypeRef("list", args=(c[0],), loc=self._loc(meta))

    def set_type(self, meta, c):
        return ast.TypeRef("set", args=(c[0],), loc=self._loc(meta))

    def map_type(self, meta, c):
        key = ast.TypeRef("named", name=str(c[0]), loc=self._tok_loc(c[0]))
        return ast.TypeRef("map", args=(key, c[1]), loc=self._loc(meta))

    def record_field(self, meta, c):
        return (str(c[0]), c[1])

    def record_type(self, meta, c):
        return ast.TypeRef("record", fields=tuple(c), loc=self._loc(meta))

    def group_type(self, meta, c):
        return ast.TypeRef("group", loc=self._loc(meta))

    # -- parameters, rules, conditions
    def parameter_decl(self, meta, c):
        name, label, type_, value, *rest = c
        notes, sources, bounds, readings = _split(rest, _Note, ast.Source, ast.BoundsClause, ast.Reading)
        return ast.ParameterDecl(self._loc(meta), str(name), _unquote(label), type_, value, list(notes), sources,
                                 bounds, readings)

    def rule_param(self, meta, c):
        return ast.RuleParam(str(c[0]), c[1], self._tok_loc(c[0]))

    def rule_params(self, meta, c):
        return list(c)

    def rule_decl(self, meta, c):
        name, params, label, type_, expr, *rest = c
        notes, sources, exceptions, readings = _split(rest, _Note, ast.Source, ast.RuleException, ast.Reading)
        return ast.RuleDecl(self._loc(meta), str(name), params or [], _unquote(label), type_, expr,
                            list(notes), sources, exceptions, readings)

    def exception(self, meta, c):
        label, when, value, *rest = c
        notes, sources = _split(rest, _Note, ast.Source)
        return ast.RuleException(_unquote(label), when, value, list(notes), sources, self._loc(meta))

    def waiver(self, meta, c):
        label, when, *rest = c
        notes, sources = _split(rest, _Note, ast.Source)
        return ast.Waiver(_unquote(label), when, list(notes), sources, self._loc(meta))

    def _requirement(self, meta, c) -> ast.Requirement:
        name, label, expr, *rest = c
        notes, sources, waivers = _split(rest, _Note, ast.Source, ast.Waiver)
        return ast.Requirement(str(name), _unquote(label), expr, list(notes), sources, waivers, self._loc(meta))

    requirement_tail = _requirement
    requirement_body = _requirement

    def require(self, meta, c):
        return c[0]

    def condition_decl(self, meta, c):
        name, label, *rest = c
        notes, sources, requirements = _split(rest, _Note, ast.Source, ast.Requirement)
        return ast.ConditionDecl(self._loc(meta), str(name), _unquote(label), list(notes), sources, requirements)

    def output_decl(self, meta, c):
        return ast.OutputDecl(self._loc(meta), [(str(t), self._tok_loc(t)) for t in c])

    # -- amendments
    def replace(self, meta, c):
        if isinstance(c[0], ast.Requirement):  # `replace requirement c.r …`
            return self._requirement_change("replace", c[0])
        return ast.Replace(self._loc(meta), c[0])

    def requirement_replacement(self, meta, c):
        return c[0]

    def add_requirement(self, meta, c):
        return self._requirement_change("add", c[0])

    def _requirement_change(self, action: str, req: ast.Requirement) -> ast.RequirementChange:
        condition, _, name = req.name.rpartition(".")
        if not condition:
            raise RulesetError([Diagnostic(req.loc, f"l'exigence `{req.name}` ne dit pas à quelle condition elle appartient",
                                           hint=f"écrivez d'abord le nom de la condition, par exemple `eligible.{req.name}`")])
        req.name = name
        return ast.RequirementChange(req.loc, action, condition, req)

    def removable(self, meta, c):
        return str(c[0])

    def remove(self, meta, c):
        kind, name, *rest = c
        because = next((str(r) for r in rest if isinstance(r, _Because)), None)
        sources = [s for s in rest if isinstance(s, ast.Source)]
        return ast.Remove(self._loc(meta), kind, name, because, sources)

    # -- tables
    def row_dim(self, meta, c):
        return ast.TableDim("rows", str(c[0]), c[1], self._loc(meta))

    def column_dim(self, meta, c):
        return ast.TableDim("columns", str(c[0]), c[1], self._loc(meta))

    def table_decl(self, meta, c):
        name, label, type_, *rest = c
        orders = [r for r in rest if isinstance(r, ast.TableOrder)]
        clauses = [r for r in rest if isinstance(r, ast.CellClause)]
        dims = [r for r in rest if isinstance(r, ast.TableDim)]
        if len(dims) == 2 and dims[0].axis == dims[1].axis:
            raise RulesetError([Diagnostic(dims[1].loc, f"le barème `{name}` a deux en-têtes `{dims[0].axis}`",
                                           hint="un barème a un en-tête `rows` et au plus un en-tête `columns`")])
        dims.sort(key=lambda d: d.axis != "rows")
        notes, sources = _split(rest, _Note, ast.Source)
        rows = [self._split_row(t) for t in rest if isinstance(t, Token) and t.type == "TABLE_ROW"]
        rows = [r for r in rows if not _is_separator(r)]
        column_keys: list[ast.TableKey] = []
        if len(dims) == 2:
            header, *rows = rows
            column_keys = [self._key(text, loc) for text, loc in header[1:]]
        row_keys, cells = [], []
        width = len(column_keys) if column_keys else 1
        for row in rows:
            if len(row) != width + 1:
                loc = row[0][1]
                raise RulesetError([Diagnostic(loc, f"cette ligne du barème `{name}` a {count(len(row) - 1, 'valeur')}, "
                                                    f"le barème a {count(width, 'colonne')}",
                                               hint="donnez une case par colonne, `—` là où le texte n'en donne pas")])
            row_keys.append(self._key(*row[0]))
            cells.append([self._value(text, loc) for text, loc in row[1:]])
        decl = ast.TableDecl(self._loc(meta), str(name), _unquote(label), type_, dims, column_keys, row_keys,
                             cells, list(notes), sources, orders, clauses)
        for clause in clauses:
            self._place(decl, clause)
        return decl

    def _place(self, decl: ast.TableDecl, clause: ast.CellClause) -> None:
        """Find the cell a `cell [..]` clause is about, by its headings as written."""
        wanted = len(decl.dims)
        if len(clause.keys) != wanted:
            example = ", ".join(k.text for k in ([decl.row_keys[0]] + decl.column_keys[:1]) if k is not None)
            raise RulesetError([Diagnostic(clause.loc, f"une case du barème `{decl.name}` se désigne par "
                                           f"{count(wanted, 'en-tête')}, ici {len(clause.keys)}",
                                           hint=f"par exemple `cell [{example}]`")])
        axes = [decl.row_keys] + ([decl.column_keys] if wanted > 1 else [])
        found = []
        for key, headings, dim in zip(clause.keys, axes, decl.dims):
            index = next((i for i, h in enumerate(headings) if heading_key(h.text) == heading_key(key)), None)
            if index is None:
                raise RulesetError([Diagnostic(clause.loc, f"le barème `{decl.name}` n'a pas de {axis(dim.axis)} `{key}`",
                                               hint=f"ses {axis(dim.axis, 2)} sont "
                                               + ", ".join(f"`{h.text}`" for h in headings))])
            found.append(index)
        clause.row, clause.column = found[0], (found[1] if wanted > 1 else 0)
        if decl.clause(clause.row, clause.column) is not clause:
            raise RulesetError([Diagnostic(clause.loc, f"la case `{decl.cell_name(clause.row, clause.column)}` "
                                           "a déjà une clause `cell`", hint="dites tout ce qui concerne une case dans une "
                                           "seule clause")])

    def _split_row(self, tok: Token) -> list[tuple[str, ast.Loc]]:
        text = str(tok)
        last = text.rfind("|")
        parts, cells, offset = text[1:last].split("|"), [], 1
        for part in parts:
            stripped = part.strip()
            lead = len(part) - len(part.lstrip()) if stripped else min(1, len(part))  # empty: just after `|`
            loc = ast.Loc(self.filename, tok.line + self.line_offset, tok.column + offset + lead)
            cells.append((stripped, loc))
            offset += len(part) + 1
        return cells

    def _key(self, text: str, loc: ast.Loc) -> ast.TableKey:
        _refuse_empty(text, loc, "heading")
        tree = self._parse(text, "key_cell", loc.file, loc.line - 1, loc.column - 1)
        key = _CellBuilder(text, loc).transform(tree)
        key.text, key.loc = text, loc
        return key

    def _value(self, text: str, loc: ast.Loc) -> ast.TableCell:
        _refuse_empty(text, loc, "cell")
        tree = self._parse(text, "value_cell", loc.file, loc.line - 1, loc.column - 1)
        kind = tree.data
        if kind == "no_value":
            return ast.TableCell("no_value", None, text, loc)
        if kind == "unknown_cell":
            builder = _Builder(text, loc.file, loc.line - 1, loc.column - 1, self._parse)
            bound = builder.transform(tree.children[0]) if tree.children and tree.children[0] is not None else None
            low, high = bound if bound is not None else (None, None)
            return ast.TableCell("unknown", ast.Unknown(loc, text, low, high), text, loc)
        if kind == "readings_cell":
            return ast.TableCell("readings", ast.ReadingsValue(loc, text), text, loc)
        expr = _Builder(text, loc.file, loc.line - 1, loc.column - 1, self._parse).transform(tree.children[0])
        return ast.TableCell("value", expr, text, loc)

    # -- expressions
    def _e(self, cls, meta, *args):
        node = cls(self._loc(meta), self._src(meta), *args)
        self._spans[id(node)] = (meta.start_pos, meta.end_pos)  # for the links of a chain (`arith`)
        return node

    def _pos_loc(self, pos: int) -> tuple[int, int]:
        """(line, column) of a character offset of `self.text`, 1-based, offsets applied."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._line_starts, pos)
        column = pos - self._line_starts[line - 1] + 1
        return line + self.line_offset, column + (self.column_offset if line == 1 else 0)

    def _term_end(self, term: ast.Expr, limit: int) -> int:
        """Where a term of a chain ends in the text, closing parentheses included (they are not
        part of the expression they enclose), looking no further than the next operator."""
        end = j = self._spans[id(term)][1]
        while j < limit:
            ch = self.text[j]
            if ch == ")":
                end = j = j + 1
            elif ch == "#":
                j = self.text.find("\n", j, limit)
                j = limit if j < 0 else j
            elif ch.isspace():
                j += 1
            else:
                break
        return end

    def _link(self, op: str, left: ast.Expr, right: ast.Expr, start: int, end: int) -> ast.Arith:
        line, column = self._pos_loc(start)
        end_line, end_column = self._pos_loc(end)
        node = ast.Arith(ast.Loc(self.filename, line, column, end_line, end_column), self.text[start:end],
                         "*" if op == "×" else op, left, right)
        self._spans[id(node)] = (start, end)
        return node

    def number(self, meta, c):
        return self._e(ast.Literal, meta, "number", _number(c[0]))

    def money(self, meta, c):
        return self._e(ast.Literal, meta, "money", Decimal(_number(c[0])))

    def percent(self, meta, c):
        return self._e(ast.Literal, meta, "percent", Decimal(_number(c[0])) / 100)

    def date(self, meta, c):
        return self._e(ast.Literal, meta, "date", self._date(c[0]))

    def string(self, meta, c):
        return self._e(ast.Literal, meta, "string", _unquote(c[0]))

    def true(self, meta, c):
        return self._e(ast.Literal, meta, "bool", True)

    def false(self, meta, c):
        return self._e(ast.Literal, meta, "bool", False)

    def none(self, meta, c):
        return self._e(ast.Literal, meta, "none", None)

    def not_established(self, meta, c):
        return self._e(ast.NotEstablished, meta, _unquote(c[0]))

    def name(self, meta, c):
        return self._e(ast.Name, meta, str(c[0]))

    def field(self, meta, c):
        return self._e(ast.Field, meta, c[0], str(c[1]))

    def call(self, meta, c):
        name, *args = c
        return self._e(ast.Call, meta, str(name), [a for a in args if a is not None])

    def index(self, meta, c):
        return self._e(ast.Index, meta, c[0], list(c[1:]))

    def if_expr(self, meta, c):
        return self._e(ast.If, meta, *c)

    def or_(self, meta, c):
        return c[0] if len(c) == 1 else self._e(ast.Logic, meta, "or", list(c))

    def and_(self, meta, c):
        return c[0] if len(c) == 1 else self._e(ast.Logic, meta, "and", list(c))

    def not_(self, meta, c):
        return self._e(ast.Not, meta, c[0])

    _COMPARATORS = {"≠": "!=", "≤": "<=", "≥": ">="}

    def compare(self, meta, c):
        left, op, right = c
        return self._e(ast.Compare, meta, self._COMPARATORS.get(str(op), str(op)), left, right)

    def member(self, meta, c):
        return self._e(ast.Member, meta, c[0], c[1], False)

    def not_member(self, meta, c):
        return self._e(ast.Member, meta, c[0], c[1], True)

    def is_set(self, meta, c):
        return self._e(ast.IsSet, meta, c[0], False)

    def is_not_set(self, meta, c):
        return self._e(ast.IsSet, meta, c[0], True)

    def range_(self, meta, c):
        return self._e(ast.Range, meta, c[0], c[1])

    def arith(self, meta, c):
        """`a + b - c`, parsed flat, is `(a + b) - c`: each link from the chain's start to the end of
        its right term. A long sum is balanced instead (see `_balanced`): as deep as its nesting."""
        terms, ops = c[0::2], c[1::2]
        if len(terms) > BALANCE_FROM and all(str(op) in "+-" for op in ops):
            return self._balanced(terms, ops, meta.start_pos, meta.end_pos)
        if len(terms) > MAX_TREE_DEPTH:
            raise RulesetError([Diagnostic(self._loc(meta), f"ce produit a {len(terms)} facteurs ; au plus "
                                           f"{MAX_TREE_DEPTH} sont calculés dans une même expression",
                                           hint="découpez-le en plusieurs règles nommées", code="syntax")])
        node = terms[0]
        for i, (op, term) in enumerate(zip(ops, terms[1:]), start=1):
            end = meta.end_pos if i == len(ops) else self._term_end(term, ops[i].start_pos)
            node = self._link(str(op), node, term, meta.start_pos, end)
        return node

    def _balanced(self, terms, ops, start: int, end: int) -> ast.Expr:
        """A long sum as a balanced tree of the same value: split at a `+` near the middle, so that
        each half keeps its own signs ((a - b) + (c - d)). A run of subtractions only has no such
        split: it is refused, past a length the engine computes."""
        if len(terms) == 1:
            return terms[0]
        middle = len(ops) // 2
        plus = [i for i, op in enumerate(ops) if str(op) == "+"]
        if not plus:
            if len(terms) > BALANCE_FROM:
                line, column = self._pos_loc(start)
                raise RulesetError([Diagnostic(ast.Loc(self.filename, line, column),
                                               f"cette suite a {len(terms)} termes séparés uniquement par `-` ; au plus "
                                               f"{BALANCE_FROM} sont calculés à la suite", hint="découpez-la en "
                                               "plusieurs règles nommées, ou additionnez d'abord les termes à soustraire",
                                               code="syntax")])
            node = terms[0]
            for i, (op, term) in enumerate(zip(ops, terms[1:]), start=1):
                link_end = end if i == len(ops) else self._term_end(term, ops[i].start_pos)
                node = self._link(str(op), node, term, start, link_end)
            return node
        split = min(plus, key=lambda i: abs(i - middle))
        left_end = self._term_end(terms[split], ops[split].start_pos)
        right_start = self._spans[id(terms[split + 1])][0]
        left = self._balanced(terms[:split + 1], ops[:split], start, left_end)
        right = self._balanced(terms[split + 1:], ops[split + 1:], right_start, end)
        return self._link("+", left, right, start, end)

    def negate(self, meta, c):
        return self._e(ast.Negate, meta, c[0])

    def as_of(self, meta, c):
        return self._e(ast.AsOf, meta, c[0], c[1])

    def comprehension(self, meta, c):
        element, var, iterable, condition = c
        return self._e(ast.Comprehension, meta, element, str(var), iterable, condition)

    def list_literal(self, meta, c):
        return self._e(ast.ListLiteral, meta, [x for x in c if x is not None])

    def set_literal(self, meta, c):
        return self._e(ast.SetLiteral, meta, list(c))

    def record_entry(self, meta, c):
        return (str(c[0]), c[1])

    def record_literal(self, meta, c):
        return self._e(ast.RecordLiteral, meta, list(c))

    def round_mode(self, meta, c):
        return str(c[0])

    round_unit = round_mode

    def round_(self, meta, c):
        mode, operand, unit = c
        return self._e(ast.Round, meta, mode or "nearest", operand, unit)


def _refuse_empty(text: str, loc: ast.Loc, what: str) -> None:
    if not text:
        hint = ("écrivez la valeur telle que le texte la donne : `—` là où il n'en donne pas, `?` là où elle "
                "n'est pas établie" if what == "cell" else "écrivez l'en-tête de cette ligne ou de cette colonne")
        message = "cette case du barème est vide" if what == "cell" else "cet en-tête du barème est vide"
        raise RulesetError([Diagnostic(loc, message, hint=hint, code="syntax")])


def _is_separator(row) -> bool:
    return all(re.fullmatch(r":?-{3,}:?", text) for text, _ in row)


@v_args(meta=True)
class _CellBuilder(Transformer):
    """Row and column headings: `1`, `3+`, `90..95`, `< 30`, an enum member, a text."""

    def __init__(self, text: str, loc: ast.Loc):
        super().__init__()
        self.text, self.loc = text, loc

    def signed_number(self, meta, c):
        value = _number(c[-1])
        return -value if self.text[meta.start_pos:meta.end_pos].lstrip().startswith("-") else value

    def key_name(self, meta, c):
        return ast.TableKey("exact", value=str(c[0]))

    def key_text(self, meta, c):
        return ast.TableKey("exact", value=_unquote(c[0]))

    def key_number(self, meta, c):
        return ast.TableKey("exact", value=c[0])

    def open_range(self, meta, c):
        return ast.TableKey("at_least", low=Decimal(c[0]))

    def band(self, meta, c):
        return ast.TableKey("band", low=Decimal(c[0]), high=Decimal(c[1]))

    def below(self, meta, c):
        return ast.TableKey("below", high=Decimal(c[0]))
