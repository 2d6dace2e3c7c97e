"""The rulesets written for people, in French: Markdown helpers, each expression in words
(`Words`), tables and sources — what every generated page (engine/docs.py, docs_examples.py,
docs_unknowns.py, docs_dsl.py) and the language server's hover write.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from dsl import ast, types as T
from dsl.names import bare_member_enum, resolve
from dsl.walk import walk
from dsl.model import Ruleset

from .explain import source_json
from .registry import Entry
from .unknowns import source_grade
from .values import display


BANNER = ("<!-- Page générée par `millesime docs` à partir des textes (rulesets/) et des cas de "
          "non-régression (tests/agreements/) : ne pas la modifier à la main. -->\n\n")


# ================================================================ Markdown helpers

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: str) -> str:
    """Plain text made safe for Markdown, table cells included."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"[ \t\r\n]+", " ", str(text)).strip())


_CODE_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "*": "&#42;", "_": "&#95;", "`": "&#96;",
                  "[": "&#91;", "]": "&#93;", "\\": "&#92;", "#": "&#35;", "~": "&#126;"}


def code_html(text: str) -> str:
    """DSL text for a table cell: kept line by line and indented, never read as Markdown."""
    lines = _dedent(text).split("\n")
    out = []
    for line in lines:
        escaped = "".join(_CODE_ENTITIES.get(ch, ch) for ch in line)
        stripped = escaped.lstrip(" ")
        out.append("&nbsp;" * (len(escaped) - len(stripped)) + stripped)
    return "<code>" + "<br>".join(out) + "</code>"


def inline_code(text: str) -> str:
    text = re.sub(r"[ \t\r\n]+", " ", text).strip()
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _dedent(text: str) -> str:
    """An expression as written, its continuation lines shifted left together."""
    lines = text.strip("\n").split("\n")
    if len(lines) == 1:
        return lines[0].strip()
    rest = [l for l in lines[1:] if l.strip()]
    margin = min((len(l) - len(l.lstrip(" ")) for l in rest), default=0)
    return "\n".join([lines[0].strip()] + ["  " + l[margin:].rstrip() for l in lines[1:]])


def table(headers: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(headers)
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(c if c.strip() else " " for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def date_fr(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "…"


def where(loc: ast.Loc | None) -> str:
    """A place in a ruleset file without the folder, so the pages do not depend on the checkout."""
    return f"{Path(loc.file).name}, ligne {loc.line}" if loc else ""


_SYMBOL_CHANGE = {"added": "Ajout", "replaced": "Modification", "removed": "Suppression", "extended": "Extension"}
_KIND_FR = {"rule": "règle", "parameter": "paramètre", "table": "barème", "condition": "condition",
            "requirement": "exigence", "input": "donnée", "enum": "liste de valeurs", "output": "résultat",
            "cell": "case de barème"}


# ================================================================ the rule in words

_COMPARE_WORDS = {"=": "est égal à", "!=": "est différent de", "<": "est inférieur à", "<=": "est inférieur ou égal à",
                  ">": "est supérieur à", ">=": "est supérieur ou égal à"}
_DATE_COMPARE_WORDS = {"=": "est le", "!=": "n'est pas le", "<": "est avant le", "<=": "est au plus tard le",
                       ">": "est après le", ">=": "est au plus tôt le"}
_ARITH_WORDS = {"+": "plus", "-": "moins", "*": "multiplié par", "/": "divisé par"}
_FUNCTION_WORDS = {
    "years_between": "le nombre d'années entières écoulées entre {0} et {1}",
    "months_between": "le nombre de mois entiers écoulés entre {0} et {1}",
    "days_between": "le nombre de jours entre {0} et {1}",
    "add_years": "{0} plus {1} an(s)",
    "add_months": "{0} plus {1} mois",
    "add_days": "{0} plus {1} jour(s)",
    "first_day_of_next_month": "le premier jour du mois qui suit {0}",
    "date": "la date du {2}/{1}/{0}",
    "year": "l'année de {0}",
    "abs": "la valeur absolue de {0}",
    "sum": "la somme de {0}",
    "count": "le nombre d'éléments de {0}",
    "any": "au moins un élément de {0} est vrai",
    "all": "tous les éléments de {0} sont vrais",
}
_ROUND_WORDS = {("nearest", "euro"): "arrondi à l'euro le plus proche", ("up", "euro"): "arrondi à l'euro supérieur",
                ("down", "euro"): "arrondi à l'euro inférieur", ("nearest", "cent"): "arrondi au centime le plus proche",
                ("up", "cent"): "arrondi au centime supérieur", ("down", "cent"): "arrondi au centime inférieur",
                ("nearest", "unit"): "arrondi à l'unité la plus proche", ("up", "unit"): "arrondi à l'unité supérieure",
                ("down", "unit"): "arrondi à l'unité inférieure"}
_CONTRACTED = {("à", "le"): "au", ("à", "les"): "aux", ("de", "le"): "du", ("de", "les"): "des"}


def after(head: str, tail: str) -> str:
    """`head` + `tail`, French style: where `head` ends with « à » or « de » and a space and `tail`
    starts with « le » or « les », the two contract (« égal à le montant » → « égal au montant »).
    Only generated words are joined so: a label or a quotation keeps its own « à le »."""
    if head.endswith(" ") or not head.strip():
        stem = head.rstrip()
        prep = stem.rpartition(" ")[2]
        first = tail.split(" ", 1)[0]
        word = _CONTRACTED.get((prep, first))
        if word is not None:
            return stem[:len(stem) - len(prep)] + word + tail[len(first):]
    return head + tail


def _fill(template: str, args: list[str]) -> str:
    """A template of _FUNCTION_WORDS with its arguments, contractions made."""
    out, pos = "", 0
    for m in re.finditer(r"\{(\d)\}", template):
        out = after(out + template[pos:m.start()], args[int(m.group(1))])
        pos = m.end()
    return out + template[pos:]


_DATE_FUNCTIONS = {"add_years", "add_months", "add_days", "first_day_of_next_month", "date"}
_INT_FUNCTIONS = {"years_between", "months_between", "days_between", "year", "count"}


class Words:
    """A small, literal French reading of an expression: names become their labels.

    It says what the DSL says, no more: `a >= b` is « a est supérieur ou égal à b ».
    `link(name)` gives the address of a declaration's paragraph, or None.
    """

    def __init__(self, entry: Entry, link=None):
        self.model: Ruleset = entry.model
        self.plan = entry.plan
        self.labels = entry.labels
        self.link = link or (lambda name: None)

    # -- entry points
    def __call__(self, e: ast.Expr, local_names=frozenset(), boolean: bool = False) -> str:
        if isinstance(e, ast.If):
            return self._if_chain(e, local_names)
        return self.w(e, local_names, boolean)

    def _if_chain(self, e: ast.If, L) -> str:
        lines, first = [], True
        while isinstance(e, ast.If):
            head = "si" if first else "sinon, si"
            lines.append(f"{head} {self.w(e.condition, L, True)}, alors : {self.w(e.then, L)}")
            e, first = e.otherwise, False
        lines.append(f"sinon : {self.w(e, L)}")
        return " ;<br>".join(lines)

    # -- names
    def _name(self, label: str, name: str) -> str:
        href = self.link(name)
        text = f"*{md(label)}*"
        return f"[{text}]({href})" if href else text

    def _ref(self, e, L) -> tuple[str, str | None]:
        """Words for a name or field, and the kind of value it holds (for booleans and dates)."""
        ref = resolve(self.model, e, L)
        m = self.model
        if ref.kind == "local":
            return inline_code(ref.name), None
        if ref.kind in ("rule", "parameter", "table", "condition"):
            _, decl = m.value_declaration(ref.name)
            return self._name(decl.label, ref.name), self._kind_of_value(ref.kind, ref.name)
        if ref.kind == "builtin":
            return ("la date du calcul", "date") if ref.name == "on" else ("le texte en vigueur", "text")
        if ref.kind == "input":
            decl = m.inputs[ref.name]
            return f"*{md(decl.label)}*", m.input_type(ref.name).base.kind
        if ref.kind == "enum_member":
            enum = m.enums[ref.name]
            label = next((mm.label for mm in enum.members if mm.name == ref.member), ref.member)
            return f"« {md(label)} »", "enum"
        if ref.kind == "record_field" and isinstance(e, ast.Field):
            return after(f"{inline_code(e.name)} de ", self.w(e.target, L)), None
        return inline_code(e.text), None

    def _kind_of_value(self, kind: str, name: str) -> str | None:
        if kind == "condition":
            return "condition"
        if kind == "rule":
            return self.plan.rule_types.get(name, T.ANY).base.kind
        if kind == "parameter":
            return self.model.resolve_type(self.model.parameters[name].type).base.kind
        if kind == "table":
            return self.model.resolve_type(self.model.tables[name].type).base.kind
        return None

    def kind(self, e: ast.Expr, L=frozenset()) -> str | None:
        if isinstance(e, ast.Literal):
            return {"number": "int", "money": "money", "percent": "percent", "date": "date", "string": "text",
                    "bool": "bool", "none": "none"}[e.kind]
        if isinstance(e, (ast.Name, ast.Field)):
            return self._ref(e, L)[1]
        if isinstance(e, ast.Call):
            if e.function in self.model.rules:
                return self._kind_of_value("rule", e.function)
            if e.function in _DATE_FUNCTIONS:
                return "date"
            if e.function in _INT_FUNCTIONS:
                return "int"
            if e.function in ("min", "max", "abs") and e.args:
                return self.kind(e.args[0], L)
            return None
        if isinstance(e, ast.Index) and isinstance(e.target, ast.Name) and e.target.name in self.model.tables:
            return self._kind_of_value("table", e.target.name)
        if isinstance(e, ast.If):
            return self.kind(e.then, L) or self.kind(e.otherwise, L)
        if isinstance(e, (ast.Arith,)):
            return self.kind(e.left, L)
        if isinstance(e, (ast.Round, ast.Negate)):
            return self.kind(e.operand, L)
        if isinstance(e, ast.AsOf):
            return self.kind(e.target, L)
        if isinstance(e, (ast.Compare, ast.Logic, ast.Not, ast.Member, ast.IsSet)):
            return "bool"
        return None

    # -- expressions
    def w(self, e: ast.Expr, L=frozenset(), boolean: bool = False) -> str:
        method = getattr(self, "_" + type(e).__name__, None)
        if method is None:
            return inline_code(e.text)
        return method(e, L, boolean)

    def _wrapped(self, e, L, boolean=False) -> str:
        text = self.w(e, L, boolean)
        if isinstance(e, (ast.If, ast.Logic, ast.Arith, ast.Compare, ast.Member, ast.IsSet, ast.Not)):
            return f"({text})"
        return text

    def _Literal(self, e, L, boolean):
        if e.kind == "money":
            return display(e.value, T.MONEY)
        if e.kind == "percent":
            return display(e.value, T.PERCENT)
        if e.kind == "string":
            return f"« {md(e.value)} »"
        if e.kind == "none":
            return "aucune valeur"
        return md(display(e.value))

    def _NotEstablished(self, e, L, boolean):
        return f"non établi (« {md(e.reason)} »)"

    def _Name(self, e, L, boolean):
        words, kind = self._ref(e, L)
        if boolean and kind == "condition":
            return f"la condition {words} est remplie"
        if boolean and kind == "bool":
            return f"{words} = oui"
        return words

    _Field = _Name

    def _Call(self, e, L, boolean):
        args = [self.w(a, L) for a in e.args]
        if e.function in self.model.rules and e.function not in L:
            decl = self.model.rules[e.function]
            given = ", ".join(f"{inline_code(p.name)} = {a}" for p, a in zip(decl.params, args))
            return self._name(decl.label, e.function) + (f" pour {given}" if given else "")
        if e.function == "failed" and e.args and isinstance(e.args[0], ast.Name):
            cond = self.model.conditions.get(e.args[0].name)
            label = self._name(cond.label, cond.name) if cond else inline_code(e.args[0].text)
            return f"les exigences non remplies de la condition {label}"
        if e.function in ("min", "max"):
            word = "le plus petit" if e.function == "min" else "le plus grand"
            if len(args) == 1:
                return after(f"{word} des éléments de ", args[0])
            return f"{word} de : " + ", ".join(args)
        template = _FUNCTION_WORDS.get(e.function)
        if template is not None and template.count("{") == len(args):
            return _fill(template, args)
        return f"{inline_code(e.function)}(" + ", ".join(args) + ")"

    def _Index(self, e, L, boolean):
        if isinstance(e.target, ast.Name) and e.target.name in self.model.tables and e.target.name not in L:
            decl = self.model.tables[e.target.name]
            keys = [self.w(k, L) for k in e.keys]
            where_ = f"à la ligne {keys[0]}"
            if len(keys) > 1:
                where_ += f" et à la colonne {keys[1]}"
            return f"le montant du barème {self._name(decl.label, decl.name)} {where_}"
        return after("l'élément de ", self.w(e.target, L)) + " pour " + ", ".join(self.w(k, L) for k in e.keys)

    def _If(self, e, L, boolean):
        return (f"si {self.w(e.condition, L, True)}, alors {self.w(e.then, L, boolean)}, "
                f"sinon {self.w(e.otherwise, L, boolean)}")

    def _Arith(self, e, L, boolean):
        def side(x):
            if isinstance(x, ast.Arith) and x.op == e.op and x.op in "+*":
                return self.w(x, L)
            return self._wrapped(x, L)
        return f"{side(e.left)} {_ARITH_WORDS[e.op]} {side(e.right)}"

    def _Negate(self, e, L, boolean):
        return after("l'opposé de ", self._wrapped(e.operand, L))

    def _Logic(self, e, L, boolean):
        word = " et " if e.op == "and" else " ou "
        parts = []
        for o in e.operands:
            nested = isinstance(o, (ast.If,)) or (isinstance(o, ast.Logic) and o.op != e.op)
            text = self.w(o, L, True)
            parts.append(f"({text})" if nested else text)
        return word.join(parts)

    def _Not(self, e, L, boolean):
        o = e.operand
        if isinstance(o, (ast.Name, ast.Field)):
            words, kind = self._ref(o, L)
            if kind == "condition":
                return f"la condition {words} n'est pas remplie"
            if kind == "bool":
                return f"{words} = non"
        return f"il est faux que ({self.w(o, L, True)})"

    def _Compare(self, e, L, boolean):
        dates = "date" in (self.kind(e.left, L), self.kind(e.right, L))
        words = (_DATE_COMPARE_WORDS if dates else _COMPARE_WORDS)[e.op]
        return after(f"{self._wrapped(e.left, L)} {words} ", self._wrapped(e.right, L))

    def _Member(self, e, L, boolean):
        item = self._wrapped(e.item, L)
        coll = e.collection
        if isinstance(coll, (ast.SetLiteral, ast.ListLiteral)):
            items = self._items(coll, L)
            return f"{item} {'n’est aucun de' if e.negated else 'est l’un de'} : " + ", ".join(items)
        return after(f"{item} {'ne fait pas partie de' if e.negated else 'fait partie de'} ", self._wrapped(coll, L))

    def _items(self, e, L) -> list[str]:
        enum = bare_member_enum(self.model, e.items, L)
        if enum:
            labels = {m.name: m.label for m in self.model.enums[enum].members}
            return [f"« {md(labels.get(i.name, i.name))} »" for i in e.items]
        return [self.w(i, L) for i in e.items]

    def _IsSet(self, e, L, boolean):
        return f"{self._wrapped(e.operand, L)} {'n’est pas renseigné' if e.negated else 'est renseigné'}"

    def _AsOf(self, e, L, boolean):
        day = e.date
        when = f"le {self.w(day, L)}" if isinstance(day, ast.Literal) else f"à la date {self.w(day, L)}"
        if isinstance(e.target, ast.Name) and resolve(self.model, e.target, L).kind == "builtin" \
                and e.target.name == "ruleset_id":
            return f"le texte qui était en vigueur {when}"
        return f"{self._wrapped(e.target, L)} selon le texte qui était en vigueur {when}"

    def _Comprehension(self, e, L, boolean):
        inner = frozenset(L) | {e.variable}
        text = f"pour chaque {inline_code(e.variable)} parmi {self.w(e.iterable, L)}"
        if e.condition is not None:
            text += f" tel que {self.w(e.condition, inner, True)}"
        return f"la liste, {text}, de : {self.w(e.element, inner)}"

    def _ListLiteral(self, e, L, boolean):
        return "la liste (" + ", ".join(self._items(e, L)) + ")"

    def _SetLiteral(self, e, L, boolean):
        return "l'ensemble {" + ", ".join(self._items(e, L)) + "}"

    def _RecordLiteral(self, e, L, boolean):
        return "{" + ", ".join(f"{inline_code(k)} : {self.w(v, L)}" for k, v in e.entries) + "}"

    def _Round(self, e, L, boolean):
        return f"{self._wrapped(e.operand, L)} {_ROUND_WORDS[(e.mode, e.unit)]}"

    def _Range(self, e, L, boolean):
        return after(after("les entiers de ", self.w(e.low, L)) + " à ", self.w(e.high, L))


# ================================================================ tables and sources

def heading_text(key: ast.TableKey, labels: dict[str, str]) -> str:
    if key.kind == "at_least":
        return f"{md(display(_num(key.low)))} et plus"
    if key.kind == "band":
        return f"de {md(display(_num(key.low)))} à {md(display(_num(key.high)))} (exclu)"
    if key.kind == "below":
        return f"moins de {md(display(_num(key.high)))}"
    if isinstance(key.value, str) and key.value in labels:
        return md(labels[key.value])
    if isinstance(key.value, (int, Decimal)) and not isinstance(key.value, bool):
        return md(display(key.value))
    return md(key.text)


def _num(value: Decimal):
    return int(value) if value == value.to_integral_value() else value


def cell_text(cell: ast.TableCell, table_type: T.Type) -> str:
    if cell.kind == "no_value":
        return "—"
    if cell.kind == "unknown":
        return "non établi"
    e = cell.expr
    if isinstance(e, ast.Literal) and e.kind in ("number", "money", "percent"):
        t = table_type if e.kind == "number" else {"money": T.MONEY, "percent": T.PERCENT}[e.kind]
        if t.base.kind == "percent" and e.kind == "number":
            return md(display(e.value))
        return md(display(e.value, t))
    if isinstance(e, ast.Literal):
        return md(display(e.value))
    return code_html(cell.text)


def render_table(decl: ast.TableDecl, model: Ruleset, labels: dict[str, str], cell_fn=None) -> str:
    """The table as the text lays it out: the same rows and columns, in the same order."""
    table_type = model.resolve_type(decl.type)
    cell_fn = cell_fn or (lambda r, c, cell: cell_text(cell, table_type))
    rows_dim = decl.dims[0]
    if decl.column_keys:
        corner = f"{inline_code(rows_dim.name)} / {inline_code(decl.dims[1].name)}"
        headers = [corner] + [heading_text(k, labels) for k in decl.column_keys]
    else:
        headers = [inline_code(rows_dim.name), md(decl.label)]
    rows = [[f"**{heading_text(k, labels)}**"] + [cell_fn(r, c, cell) for c, cell in enumerate(decl.cells[r])]
            for r, k in enumerate(decl.row_keys)]
    return table(headers, rows, ["---"] + ["--:"] * (len(headers) - 1))


def source_lines(sources: list[ast.Source], references: dict[str, ast.Reference]) -> list[str]:
    out = []
    for src in sources:
        s = source_json(src, references)
        title = md(s["instrument"])
        text = f"[{title}]({s['url']})" if s["url"] else title
        if s["article"]:
            text += f", article {md(s['article'])}"
        if s["quote"]:
            text += f" : « {md(s['quote'])} »"
        out.append(text + badge(src, references))
    return out


def badge(src: ast.Source, references) -> str:
    """« · source secondaire » after a source that is not official (ungraded counts as secondary)."""
    g = source_grade(src, references) or "secondary"
    if g == "official":
        return ""
    word = "hypothèse" if g == "hypothesis" else "source secondaire"
    ref = references.get(src.reference) if src.is_reference_name else None
    title = (ref.title if ref else src.reference).lower()
    return "" if word in title else f" · *{word}*"


def sources_block(sources, references, label: str = "Source", plural: str | None = None) -> str:
    lines = source_lines(sources, references)
    if not lines:
        return f"*{label} : aucune source indiquée.*\n"
    if len(lines) == 1:
        return f"**{label}** : {lines[0]}\n"
    return f"**{plural or label + 's'}** :\n\n" + "".join(f"- {l}\n" for l in lines)




def words_and_dsl(rows: list[tuple[str, str, str]]) -> str:
    """The side-by-side table: what the text says in words, and the DSL that encodes it."""
    return table(["", "En mots", "Dans le DSL"], [[md(a) if a else " ", b, code_html(c)] for a, b, c in rows])


def decl_text(f: ast.RulesetFile, loc: ast.Loc) -> str:
    lines = f.text.split("\n")
    return "\n".join(lines[loc.line - 1:(loc.end_line or loc.line)]).rstrip()


# ================================================================ walking expressions

def contains(e, cls) -> bool:
    return any(isinstance(x, cls) for x in walk(e))




def decl_exprs(decl) -> list[ast.Expr]:
    if isinstance(decl, ast.Replace):
        return decl_exprs(decl.declaration)
    if isinstance(decl, ast.RuleDecl):
        return [decl.expr] + [x for e in decl.exceptions for x in (e.when, e.value)]
    if isinstance(decl, ast.ParameterDecl):
        return [decl.value]
    if isinstance(decl, ast.ConditionDecl):
        return [x for r in decl.requirements for x in [r.expr] + [w.when for w in r.waivers]]
    if isinstance(decl, ast.RequirementChange):
        return [decl.requirement.expr] + [w.when for w in decl.requirement.waivers]
    return []
