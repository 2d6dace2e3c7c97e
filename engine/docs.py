"""The documentation site for legal review: Markdown pages generated from the rulesets.

Legal reviewers do not read the DSL; they read these pages and sign off on them.
`generate()` returns every generated page as {relative path: text}; `write()` puts them
into the mkdocs project (docs/). The same rulesets and regression cases always give the
same bytes: no timestamps, no absolute paths, iteration in file or sorted order.

Pages (in French, as the law is French):
  index.md                 the agreements and the home of the site
  calendrier.md            which ruleset is in force when, and how contracts cross over
  accords/<id>.md          one agreement: header, inputs, parameters, tables, conditions, rules
  changements/<id>.md      what an amending agreement adds, removes and modifies
  exemples/<id>.md         its regression cases, listed by file (engine/docs_examples.py)
  exemples/<id>/<file>.md  the cases of one regression file: inputs, results, explanation trees
  dsl.md                   the rules language for analysts, with examples from the rulesets
  .nav.yml                 the site's navigation, read by mkdocs.yml through `INHERIT`
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from dsl import ast, types as T
from dsl.ast import type_text
from dsl.checks import FUNCTIONS, bare_member_enum, resolve
from dsl.model import Change, Ruleset

from . import docs_examples, docs_unknowns, testing
from .explain import source_json
from .registry import Entry, Registry
from .values import display

GENERATED_DIRS = ("accords", "changements", "exemples")
TOP_PAGES = ("index.md", "calendrier.md", "dsl.md", "inconnues.md", ".nav.yml")
# Pages written by hand in docs/ (not generated), listed in the navigation.
# The research notes (docs/recherche/, in English) are working notes, not part of the site
# (mkdocs.yml excludes them).
HAND_WRITTEN_PAGES = (("La ligne de commande (eval, explain)", "commandes.md"),
                      ("Vérifier les règles (millesime check)", "check.md"),
                      ("Écrire les règles dans son éditeur", "editeur.md"),
                      ("Calcul en masse (millesime batch)", "batch.md"),
                      ("Le serveur (millesime serve)", "serveur.md"),
                      ("Fiabilité", "fiabilite.md"))
BANNER = ("<!-- Page générée par `millesime docs` à partir des textes (rulesets/) et des cas de "
          "non-régression (tests/agreements/) : ne pas la modifier à la main. -->\n\n")
DEFAULT_CASES_DIR = Path("tests/agreements")


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
        out.append(text + docs_unknowns.badge(src, references))
    return out


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


# ================================================================ the site

@dataclass
class Site:
    registry: Registry
    cases_dir: Path | None

    @property
    def timeline(self) -> list[Ruleset]:
        return self.registry.timeline()

    def entry(self, ruleset_id: str) -> Entry:
        return self.registry.entries[ruleset_id]

    def origin(self, model: Ruleset, loc: ast.Loc | None) -> str | None:
        """The id of the ruleset of the chain whose file declares what is at `loc`."""
        if loc is None:
            return None
        for f in model.chain:
            if f.path == loc.file:
                return f.header.id
        return None

    def title(self, ruleset_id: str) -> str:
        return self.entry(ruleset_id).model.header.title

    def amended(self) -> list[Ruleset]:
        return [m for m in self.timeline if m.header.amends]

    def cases(self, ruleset_id: str) -> list[testing.RegressionCase]:
        if self.cases_dir is None:
            return []
        folder = self.cases_dir / ruleset_id
        if not folder.is_dir():
            return []
        out = []
        for path in testing.collect([folder]):
            out.extend(testing.load_cases(path))
        return out

    # ------------------------------------------------------------ pages
    def pages(self) -> dict[str, str]:
        pages = {"index.md": self.index(), "calendrier.md": self.calendar(), "dsl.md": self.dsl(),
                 "inconnues.md": docs_unknowns.page(self)}
        for m in self.timeline:
            pages[f"accords/{m.id}.md"] = self.agreement(m)
            if m.header.amends:
                pages[f"changements/{m.id}.md"] = self.changes(m)
            pages.update(docs_examples.pages(self, m))
        pages["couverture.md"] = coverage_page(self)
        pages[".nav.yml"] = self.nav()
        return {k: v if v.endswith("\n") else v + "\n" for k, v in pages.items()}

    def nav(self) -> str:
        def q(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines = ["# Généré par `millesime docs` : la navigation du site, lue par mkdocs.yml (INHERIT).", "nav:",
                 "  - Accueil: index.md", "  - Calendrier des textes: calendrier.md", "  - Accords:"]
        lines += [f"      - {q(m.header.title)}: accords/{m.id}.md" for m in self.timeline]
        if self.amended():
            lines.append("  - Ce qui change:")
            lines += [f"      - {q(m.header.title)}: changements/{m.id}.md" for m in self.amended()]
        lines.append("  - Exemples:")
        for m in self.timeline:
            lines += docs_examples.nav(self, m, q)
        lines.append("  - Ce qui n'est pas établi: inconnues.md")
        lines.append("  - Couverture des exemples: couverture.md")
        lines.append("  - Le langage des règles: dsl.md")
        lines.append("  - Outils:")
        lines += [f"      - {q(title)}: {page}" for title, page in HAND_WRITTEN_PAGES]
        return "\n".join(lines) + "\n"

    # -- home
    def index(self) -> str:
        out = [BANNER, "# Millésime — les règles de l'aide à l'emploi d'assistants médicaux\n\n",
               "Ce site présente, texte par texte, les règles que Millésime applique. Il est produit à partir des "
               "fichiers de règles eux-mêmes : ce qui est écrit ici est exactement ce que le moteur calcule. "
               "Chaque règle est donnée en mots et dans le langage des règles (DSL), avec sa source juridique.\n\n",
               "## Les textes\n\n"]
        rows = []
        for m in self.timeline:
            amends = f"[{md(self.title(m.header.amends))}](accords/{m.header.amends}.md)" if m.header.amends else "—"
            rows.append([f"[{md(m.header.title)}](accords/{m.id}.md)", md(m.header.instrument or "—"),
                         date_fr(m.effective_from), date_fr(m.effective_until), amends])
        out.append(table(["Texte", "Instrument", "En vigueur du", "au", "Modifie"], rows))
        out.append("\n## Pour relire\n\n")
        out.append("- [Calendrier des textes](calendrier.md) : quel texte s'applique à quelle date, et comment les "
                   "contrats en cours passent de l'un à l'autre.\n")
        for m in self.timeline:
            links = [f"[le texte](accords/{m.id}.md)"]
            if m.header.amends:
                links.append(f"[ce qui change](changements/{m.id}.md)")
            n = len(self.cases(m.id))
            links.append(f"[{n} exemple{'s' if n > 1 else ''} chiffré{'s' if n > 1 else ''}](exemples/{m.id}.md)")
            out.append(f"- **{md(m.header.title)}** : " + ", ".join(links) + ".\n")
        out.append("- [Ce qui n'est pas établi](inconnues.md) : chaque inconnue de chaque texte, ce que l'on en "
                   "sait, et les chiffres qui reposent sur une source secondaire.\n")
        out.append("- [Le langage des règles](dsl.md) : pour les analystes qui écrivent les règles.\n")
        return "".join(out)

    # -- timeline
    def calendar(self) -> str:
        out = [BANNER, "# Calendrier des textes\n\n",
               "Un calcul se fait toujours à une date : le texte appliqué est celui qui est en vigueur ce jour-là. "
               "Deux textes ne sont jamais en vigueur le même jour.\n\n", "## Quel texte, quand\n\n"]
        rows = []
        for m in self.timeline:
            rows.append([f"[{md(m.header.title)}](accords/{m.id}.md)", date_fr(m.effective_from),
                         date_fr(m.effective_until) if m.effective_until else "sans date de fin"])
        out.append(table(["Texte", "En vigueur du", "au"], rows))
        out.append(self._years_chart())
        out.append("\n## Passage d'un texte à l'autre\n\n")
        models = self.timeline
        if len(models) < 2:
            out.append("Un seul texte : aucun passage.\n")
        for before, after in zip(models, models[1:]):
            out.append(f"\n### Le {date_fr(after.effective_from)} : {md(before.header.title)} → "
                       f"{md(after.header.title)}\n\n")
            gap = (after.effective_from - before.effective_until).days if before.effective_until else 1
            if gap > 1:
                out.append(f"Aucun texte n'est en vigueur du {date_fr(before.effective_until + dt.timedelta(days=1))} "
                           f"au {date_fr(after.effective_from - dt.timedelta(days=1))}.\n\n")
            out.append(f"Jusqu'au {date_fr(before.effective_until)} inclus, les calculs suivent "
                       f"[{md(before.header.title)}](accords/{before.id}.md) ; à partir du "
                       f"{date_fr(after.effective_from)}, ils suivent [{md(after.header.title)}](accords/{after.id}.md)"
                       + (f", qui [modifie](changements/{after.id}.md) le texte précédent" if after.header.amends
                          else "") + ".\n\n")
            transitions = self._transitions(after)
            if not transitions:
                out.append("Aucune disposition transitoire n'est codée : à partir de cette date, tous les contrats, "
                           "y compris ceux en cours, sont calculés selon le nouveau texte.\n")
                continue
            out.append("Les contrats en cours passent d'un texte à l'autre selon les règles suivantes, en vigueur "
                       "sous le nouveau texte, qui consultent le texte en vigueur à une autre date (`as of`) — par "
                       "exemple à la date de début du contrat :\n\n")
            words = Words(self.entry(after.id), lambda n, i=after.id: f"accords/{i}.md#{n}")
            for kind, name, label, rows, sources, notes, loc in transitions:
                origin = self.origin(after, loc)
                written = f" · écrite dans [{md(self.title(origin))}](accords/{origin}.md)" if origin else ""
                out.append(f"#### {md(label)}\n\n{_KIND_FR[kind].capitalize()} "
                           f"[{inline_code(name)}](accords/{after.id}.md#{name.split('.')[0]}){written}\n\n")
                out.append(words_and_dsl([(a, words(e, L, kind == "requirement"), e.text) for a, e, L in rows]))
                out.append("\n")
                for note in notes:
                    out.append(f"> {md(note)}\n\n")
                out.append(sources_block(sources, after.references))
                out.append("\n")
        return "".join(out)

    def _years_chart(self) -> str:
        models = [m for m in self.timeline if m.effective_from]
        if not models:
            return ""
        first = min(m.effective_from.year for m in models)
        last = max(max(m.effective_from.year, m.effective_until.year if m.effective_until else 0) for m in models)
        years = list(range(first, last + 1))
        rows = []
        for m in models:
            end = m.effective_until.year if m.effective_until else last
            row = [md(m.header.title)]
            for y in years:
                if m.effective_from.year <= y <= end:
                    row.append("■ →" if m.effective_until is None and y == last else "■")
                else:
                    row.append(" ")
            rows.append(row)
        return ("\nEn années (■ : le texte est en vigueur au moins une partie de l'année ; → : sans date de fin) :\n\n"
                + table(["Texte"] + [str(y) for y in years], rows, ["---"] + [":-:"] * len(years)))

    def _transitions(self, m: Ruleset):
        """Rules and requirements in force under `m` that read another text through `as of`
        (wherever they were first written: a base text may already provide for its successors)."""
        found = []
        for rule in m.rules.values():
            L = frozenset(p.name for p in rule.params)
            exprs = [rule.expr] + [x for exc in rule.exceptions for x in (exc.when, exc.value)]
            if any(_contains(x, ast.AsOf) for x in exprs):
                rows = [("", rule.expr, L)] + [(f"exception « {exc.label} » : lorsque", exc.when, L)
                                               for exc in rule.exceptions]
                found.append(("rule", rule.name, rule.label, rows, rule.sources, rule.notes, rule.loc))
        for cond in m.conditions.values():
            for req in cond.requirements:
                if _contains(req.expr, ast.AsOf):
                    found.append(("requirement", f"{cond.name}.{req.name}", req.label,
                                  [("", req.expr, frozenset())], req.sources, req.notes, req.loc))
        return found

    # -- one agreement
    def agreement(self, m: Ruleset) -> str:
        entry = self.entry(m.id)
        words = Words(entry, lambda n: f"#{n}")
        labels = entry.labels
        h = m.header
        out = [BANNER, f"# {md(h.title)}\n\n"]
        rows = [["Instrument", md(h.instrument or "—")]]
        if h.published:
            rows.append(["Publication", md(h.published)])
        rows.append(["En vigueur", f"du {date_fr(m.effective_from)} "
                     + (f"au {date_fr(m.effective_until)}" if m.effective_until else "sans date de fin")])
        if h.amends:
            rows.append(["Modifie", f"[{md(self.title(h.amends))}]({h.amends}.md) — voir "
                         f"[ce qui change](../changements/{m.id}.md)"])
        rows.append(["Empreinte", inline_code(m.fingerprint)])
        out.append(table(["Texte", inline_code(m.id)], rows))
        if h.description:
            out.append(f"\n{md(h.description)}\n")
        if h.sources:
            out.append("\n" + sources_block(h.sources, m.references, "Texte"))
        if h.amends:
            out.append("\nCe texte modifie le précédent : la page présente **toutes** les règles en vigueur sous ce "
                       "texte. Celles qu'il reprend sans changement portent la mention « repris de … ».\n")
        refs = m.references
        if refs:
            out.append("\n## Textes de référence\n\n")
            for ref in sorted(refs.values(), key=lambda r: r.name):
                title = f"[{md(ref.title)}]({ref.url})" if ref.url else md(ref.title)
                out.append(f"- {inline_code(ref.name)} : {title}\n")

        def origin_note(loc) -> str:
            o = self.origin(m, loc)
            if o and o != m.id:
                return f" · repris de [{md(self.title(o))}]({o}.md)"
            return ""

        if m.outputs:
            out.append("\n## Résultats calculés\n\n")
            for name in m.outputs:
                kind, decl = m.value_declaration(name)
                if decl is not None:
                    out.append(f"- [{md(decl.label)}](#{name}) ({inline_code(name)})\n")

        if m.inputs:
            out.append("\n## Données du dossier\n\nCe que l'on sait du médecin et du contrat pour faire le calcul.\n\n")
            rows = []
            for path, decl in m.inputs.items():
                bounds = ", ".join(("au moins " if b.kind == "min" else "au plus ") + md(display(_num(b.value)))
                                   for b in decl.bounds) or " "
                rows.append([inline_code(path), md(decl.label), inline_code(type_text(decl.type)), bounds,
                             "<br>".join(source_lines(decl.sources, refs)) or " "])
            out.append(table(["Donnée", "Libellé", "Type", "Bornes", "Source"], rows))

        if m.enums:
            out.append("\n## Listes de valeurs\n")
            for enum in m.enums.values():
                out.append(f"\n### {md(enum.label)} {{#{enum.name}}}\n\n{inline_code(enum.name)}"
                           f"{origin_note(enum.loc)}\n\n")
                out.append(table(["Valeur", "Libellé"], [[inline_code(x.name), md(x.label)] for x in enum.members]))

        if m.parameters:
            out.append("\n## Paramètres\n")
            for p in m.parameters.values():
                out.append(f"\n### {md(p.label)} {{#{p.name}}}\n\n{inline_code(p.name)} · paramètre · "
                           f"{inline_code(type_text(p.type))}{origin_note(p.loc)}\n\n")
                decision = entry.plan.parameter_decisions[p.name]
                if isinstance(p.value, (ast.Unknown, ast.ReadingsValue)):
                    value = entry.plan.constants[entry.plan.slots[p.name]]
                    rows = [("valeur", docs_unknowns.known(value, m.resolve_type(p.type)), p.value.text)]
                    rows += docs_unknowns.readings_rows(p.readings, words)
                else:
                    mark = f" {docs_unknowns.SECONDARY_MARK}" if decision.kind == "known" and \
                        docs_unknowns.grade(p.sources, refs) != "official" else ""
                    rows = [("valeur", words(p.value) + mark, p.value.text)]
                out.append(words_and_dsl(rows))
                out.append(self._notes_sources(p.notes, p.sources, refs))
                out.append(docs_unknowns.readings_notes(p.readings, refs, self._notes_sources))

        if m.tables:
            out.append("\n## Barèmes\n")
            for t in m.tables.values():
                dims = " × ".join(f"{d.axis == 'rows' and 'lignes' or 'colonnes'} {inline_code(d.name)}"
                                  for d in t.dims)
                out.append(f"\n### {md(t.label)} {{#{t.name}}}\n\n{inline_code(t.name)} · barème · "
                           f"{inline_code(type_text(t.type))} · {dims}{origin_note(t.loc)}\n\n")
                out.append(render_table(t, m, labels, docs_unknowns.cell_function(
                    entry, t, m.resolve_type(t.type), cell_text)))
                out.append(docs_unknowns.secondary_legend(t, m))
                out.append("\n")
                out.append(self._notes_sources(t.notes, t.sources, refs))
                out.append(docs_unknowns.table_clauses(t, refs, self._notes_sources))

        if m.conditions:
            out.append("\n## Conditions\n")
            for c in m.conditions.values():
                out.append(f"\n### {md(c.label)} {{#{c.name}}}\n\n{inline_code(c.name)} · condition"
                           f"{origin_note(c.loc)}\n\n")
                out.append("La condition est remplie lorsque toutes les exigences ci-dessous le sont ; une exigence "
                           "ne joue pas lorsque l'une de ses exceptions (« sauf si ») s'applique.\n\n")
                out.append(self._notes_sources(c.notes, c.sources, refs) if (c.notes or c.sources) else "")
                for req in c.requirements:
                    out.append(f"\n#### {md(req.label)}\n\n{inline_code(c.name + '.' + req.name)} · exigence"
                               f"{origin_note(req.loc)}\n\n")
                    rows = [("exigence", words(req.expr, boolean=True), req.expr.text)]
                    rows += [(f"sauf si « {w.label} »", words(w.when, boolean=True), w.when.text) for w in req.waivers]
                    out.append(words_and_dsl(rows))
                    out.append(self._notes_sources(req.notes, req.sources, refs))
                    for w in req.waivers:
                        if w.sources or w.notes:
                            out.append(self._notes_sources(w.notes, w.sources, refs, f"Source de « {md(w.label)} »"))

        if m.rules:
            out.append("\n## Règles\n")
            for r in m.rules.values():
                params = ", ".join(f"{p.name}: {type_text(p.type)}" for p in r.params)
                signature = f"{r.name}({params})" if params else r.name
                rtype = type_text(r.type) if r.type else str(entry.plan.rule_types.get(r.name, "déduit"))
                out.append(f"\n### {md(r.label)} {{#{r.name}}}\n\n{inline_code(signature)} · règle · "
                           f"{inline_code(rtype)}{origin_note(r.loc)}\n\n")
                L = frozenset(p.name for p in r.params)
                if r.readings:
                    rows = [("valeur", "selon la lecture retenue (plusieurs lectures admises) :", r.expr.text)]
                    rows += docs_unknowns.readings_rows(r.readings, words, L)
                else:
                    rows = [("valeur", words(r.expr, L), r.expr.text)]
                for exc in r.exceptions:
                    rows.append((f"exception « {exc.label} » : lorsque", words(exc.when, L, True), exc.when.text))
                    rows.append(("la valeur est alors", words(exc.value, L), exc.value.text))
                out.append(words_and_dsl(rows))
                out.append(self._notes_sources(r.notes, r.sources, refs))
                out.append(docs_unknowns.readings_notes(r.readings, refs, self._notes_sources))
                for exc in r.exceptions:
                    if exc.sources or exc.notes:
                        out.append(self._notes_sources(exc.notes, exc.sources, refs,
                                                       f"Source de l'exception « {md(exc.label)} »"))
        return "".join(out)

    @staticmethod
    def _notes_sources(notes, sources, refs, label: str = "Source") -> str:
        out = "\n"
        for note in notes:
            out += f"> {md(note)}\n\n"
        return out + sources_block(sources, refs, label)

    # -- what changed
    def changes(self, m: Ruleset) -> str:
        base = self.entry(m.header.amends).model
        entry = self.entry(m.id)
        new_words = Words(entry, lambda n: f"../accords/{m.id}.md#{n}")
        old_words = Words(self.entry(base.id), lambda n: f"../accords/{base.id}.md#{n}")
        out = [BANNER, f"# Ce qui change : {md(m.header.title)}\n\n",
               f"[{md(m.header.title)}](../accords/{m.id}.md) modifie "
               f"[{md(base.header.title)}](../accords/{base.id}.md) à compter du {date_fr(m.effective_from)}. "
               "Tout ce qui n'est pas mentionné ici est repris sans changement.\n\n"]
        counts = {a: sum(1 for c in m.changes if c.action == a) for a in _SYMBOL_CHANGE}
        summary = [[_SYMBOL_CHANGE[a], str(n)] for a, n in counts.items() if n]
        added_outputs = [n for n in m.outputs if n not in base.outputs]
        if summary:
            out.append(table(["Changement", "Nombre"], summary))
        rows = []
        for c in m.changes:
            anchor = _change_anchor(c)
            rows.append([_SYMBOL_CHANGE[c.action], _KIND_FR.get(c.kind, c.kind),
                         f"[{md(self._change_label(c))}](#{anchor})", inline_code(c.name)])
        if rows:
            out.append("\n" + table(["Changement", "Nature", "Quoi", "Nom"], rows))
        for action, title in (("added", "Ajouts"), ("removed", "Suppressions"), ("replaced", "Modifications"),
                              ("extended", "Listes de valeurs étendues")):
            group = [c for c in m.changes if c.action == action]
            if not group:
                continue
            out.append(f"\n## {title}\n")
            for c in group:
                out.append(self._change(c, m, base, new_words, old_words))
        if added_outputs:
            out.append("\n## Nouveaux résultats calculés\n\n")
            for name in added_outputs:
                _, decl = m.value_declaration(name)
                out.append(f"- [{md(decl.label if decl else name)}](../accords/{m.id}.md#{name})\n")
        return "".join(out)

    @staticmethod
    def _change_label(c: Change) -> str:
        decl = c.new if c.new is not None else c.old
        if isinstance(decl, ast.InputDecl):
            return decl.label
        if isinstance(decl, ast.ExtendEnum):
            return c.name
        return getattr(decl, "label", None) or c.name

    def _change(self, c: Change, m: Ruleset, base: Ruleset, new_words: Words, old_words: Words) -> str:
        anchor = _change_anchor(c)
        out = [f"\n### {_SYMBOL_CHANGE[c.action]} : {md(self._change_label(c))} {{#{anchor}}}\n\n"
               f"{_KIND_FR.get(c.kind, c.kind).capitalize()} {inline_code(c.name)} · {where(c.loc)}\n\n"]
        if c.because:
            out.append(f"**Motif** : {md(c.because)}\n\n")
        if c.action == "removed":
            removal = next((d for d in m.file.declarations if isinstance(d, ast.Remove) and d.loc == c.loc), None)
            if removal is not None and removal.sources:
                out.append(sources_block(removal.sources, m.references, "Source de la suppression") + "\n")
            out.append("Ce qui est supprimé, tel que le texte précédent l'écrivait :\n\n")
            out.append(_notes(getattr(c.old, "notes", [])))
            out.append(self._describe(c.kind, c.old, base, old_words))
            return "".join(out)
        if c.action == "added":
            out.append(_notes(getattr(c.new, "notes", [])))
            out.append(self._describe(c.kind, c.new, m, new_words))
            return "".join(out)
        if c.action == "extended":
            new_members = c.new.members
            out.append("Valeurs ajoutées :\n\n" + table(["Valeur", "Libellé"],
                                                       [[inline_code(x.name), md(x.label)] for x in new_members]))
            return "".join(out)
        # replaced
        if c.kind == "cell":  # `replace cell t[..] = v`: the one figure, before and after
            out.append(table(["", "Valeur", "Dans le DSL"],
                             [["**avant**", md(c.old.text), inline_code(c.old.text)],
                              ["**après**", md(c.new.value.text), inline_code(c.new.value.text)]]) + "\n")
            out.append(_notes(c.new.notes))
            out.append("\n" + sources_block(c.new.sources, m.references, "Nouvelle source", "Nouvelles sources"))
            return "".join(out)
        if c.kind == "table":
            out.append(self._table_diff(c.old, c.new, base, m))
            out.append("\n" + sources_block(c.new.sources, m.references, "Nouvelle source", "Nouvelles sources"))
            return "".join(out)
        old_label, new_label = getattr(c.old, "label", None), getattr(c.new, "label", None)
        if old_label != new_label:
            out.append(f"Libellé : « {md(old_label)} » → « {md(new_label)} »\n\n")
        out.append(self._before_after(c.kind, c.old, c.new, old_words, new_words))
        out.append(_notes(getattr(c.new, "notes", [])))
        out.append("\n" + sources_block(getattr(c.new, "sources", []), m.references, "Nouvelle source",
                                        "Nouvelles sources"))
        return "".join(out)

    def _before_after(self, kind, old, new, old_words: Words, new_words: Words) -> str:
        def parts(decl, words: Words):
            if isinstance(decl, ast.ParameterDecl):
                return [("valeur", decl.value, frozenset(), False)]
            if isinstance(decl, ast.RuleDecl):
                L = frozenset(p.name for p in decl.params)
                rows = [("valeur", decl.expr, L, False)]
                for exc in decl.exceptions:
                    rows += [(f"exception « {exc.label} » : lorsque", exc.when, L, True),
                             ("la valeur est alors", exc.value, L, False)]
                return rows
            if isinstance(decl, ast.Requirement):
                return [("exigence", decl.expr, frozenset(), True)] + [
                    (f"sauf si « {w.label} »", w.when, frozenset(), True) for w in decl.waivers]
            if isinstance(decl, ast.ConditionDecl):
                return [(f"exigence « {r.label} »", r.expr, frozenset(), True) for r in decl.requirements]
            if isinstance(decl, ast.InputDecl):
                return []
            return []

        rows = []
        for label, e, L, b in parts(old, old_words):
            rows.append([f"**avant** — {md(label)}", old_words(e, L, b), code_html(e.text)])
        for label, e, L, b in parts(new, new_words):
            rows.append([f"**après** — {md(label)}", new_words(e, L, b), code_html(e.text)])
        if isinstance(old, ast.InputDecl):
            rows.append(["**avant**", md(old.label), inline_code(type_text(old.type))])
            rows.append(["**après**", md(new.label), inline_code(type_text(new.type))])
        if isinstance(old, ast.EnumDecl):
            rows.append(["**avant**", ", ".join(md(x.label) for x in old.members),
                         ", ".join(inline_code(x.name) for x in old.members)])
            rows.append(["**après**", ", ".join(md(x.label) for x in new.members),
                         ", ".join(inline_code(x.name) for x in new.members)])
        if not rows:
            return ""
        return table(["", "En mots", "Dans le DSL"], rows)

    def _describe(self, kind: str, decl, model: Ruleset, words: Words) -> str:
        refs = model.references
        if isinstance(decl, ast.TableDecl):
            return render_table(decl, model, self.entry(model.id).labels) + "\n" + \
                sources_block(decl.sources, refs)
        if isinstance(decl, ast.ParameterDecl):
            return words_and_dsl([("valeur", words(decl.value), decl.value.text)]) + "\n" + \
                sources_block(decl.sources, refs)
        if isinstance(decl, ast.RuleDecl):
            L = frozenset(p.name for p in decl.params)
            rows = [("valeur", words(decl.expr, L), decl.expr.text)]
            for exc in decl.exceptions:
                rows.append((f"exception « {exc.label} » : lorsque", words(exc.when, L, True), exc.when.text))
                rows.append(("la valeur est alors", words(exc.value, L), exc.value.text))
            return words_and_dsl(rows) + "\n" + sources_block(decl.sources, refs)
        if isinstance(decl, ast.Requirement):
            rows = [("exigence", words(decl.expr, boolean=True), decl.expr.text)]
            rows += [(f"sauf si « {w.label} »", words(w.when, boolean=True), w.when.text) for w in decl.waivers]
            return words_and_dsl(rows) + "\n" + sources_block(decl.sources, refs)
        if isinstance(decl, ast.ConditionDecl):
            rows = [(f"exigence « {r.label} »", words(r.expr, boolean=True), r.expr.text) for r in decl.requirements]
            return words_and_dsl(rows) + "\n" + sources_block(decl.sources, refs)
        if isinstance(decl, ast.InputDecl):
            return table(["Donnée", "Libellé", "Type"], [[inline_code(decl.path), md(decl.label),
                                                         inline_code(type_text(decl.type))]])
        if isinstance(decl, ast.EnumDecl):
            return table(["Valeur", "Libellé"], [[inline_code(x.name), md(x.label)] for x in decl.members])
        if isinstance(decl, str):  # an output
            return f"Le résultat {inline_code(decl)} n'est plus calculé.\n"
        return ""

    def _table_diff(self, old: ast.TableDecl, new: ast.TableDecl, base: Ruleset, m: Ruleset) -> str:
        """The new table laid out as the text has it, each changed cell as « ancien → nouveau »."""
        labels = {**self.entry(base.id).labels, **self.entry(m.id).labels}
        old_type, new_type = base.resolve_type(old.type), m.resolve_type(new.type)
        old_rows = {k.text: i for i, k in enumerate(old.row_keys)}
        old_cols = {k.text: i for i, k in enumerate(old.column_keys)} if old.column_keys else {"": 0}
        new_col_texts = [k.text for k in new.column_keys] if new.column_keys else [""]
        changed: list[list[str]] = []
        out = []
        if old.label != new.label:
            out.append(f"Libellé : « {md(old.label)} » → « {md(new.label)} »\n\n")

        def cell(r, c, cell):
            new_text = cell_text(cell, new_type)
            row_key, col_key = new.row_keys[r].text, new_col_texts[c]
            if row_key not in old_rows or col_key not in old_cols:
                changed.append([heading_text(new.row_keys[r], labels),
                                heading_text(new.column_keys[c], labels) if new.column_keys else " ",
                                "*(absente)*", new_text])
                return f"**{new_text}** *(nouveau)*"
            old_cell = old.cells[old_rows[row_key]][old_cols[col_key]]
            old_text = cell_text(old_cell, old_type)
            if old_text == new_text:
                return new_text
            changed.append([heading_text(new.row_keys[r], labels),
                            heading_text(new.column_keys[c], labels) if new.column_keys else " ", old_text, new_text])
            return f"~~{old_text}~~ → **{new_text}**"

        out.append(render_table(new, m, labels, cell))
        gone_rows = [k for k in old.row_keys if k.text not in {x.text for x in new.row_keys}]
        gone_cols = [k for k in old.column_keys if k.text not in set(new_col_texts)]
        if gone_rows or gone_cols:
            out.append("\nSupprimé par rapport au texte précédent :\n\n")
            for k in gone_rows:
                values = ", ".join(cell_text(x, old_type) for x in old.cells[old_rows[k.text]])
                out.append(f"- la ligne **{heading_text(k, labels)}** ({values})\n")
            for k in gone_cols:
                out.append(f"- la colonne **{heading_text(k, labels)}**\n")
        if changed:
            out.append(f"\n{len(changed)} case{'s' if len(changed) > 1 else ''} "
                       f"change{'nt' if len(changed) > 1 else ''} :\n\n")
            out.append(table(["Ligne", "Colonne", "Ancienne valeur", "Nouvelle valeur"], changed,
                             ["---", "---", "--:", "--:"]))
        else:
            out.append("\nAucune case ne change de valeur.\n")
        return "".join(out)

    # -- the language
    def dsl(self) -> str:
        files = []
        for m in self.timeline:
            if m.file not in files:
                files.append(m.file)
        out = [BANNER, "# Le langage des règles (DSL)\n\n", _DSL_INTRO]
        for title, text, finder in _DSL_SECTIONS:
            out.append(f"\n## {title}\n\n{text}\n")
            found = _find_example(files, finder)
            if found is not None:
                f, loc = found
                out.append(f"\nDans `{Path(f.path).name}` (ligne {loc.line}) :\n\n```text\n"
                           f"{_header_text(f) if loc is f.header.loc else decl_text(f, loc)}\n```\n")
            elif finder != "prose":
                out.append("\n*Aucun des textes livrés n'utilise encore cette construction.*\n")
        out.append("\n## Fonctions\n\n")
        rows = []
        for name in sorted(FUNCTIONS):
            words = _FUNCTION_DOC.get(name, "")
            rows.append([inline_code(name + "(…)"), md(words)])
        out.append(table(["Fonction", "Ce qu'elle donne"], rows))
        out.append(_DSL_OPERATORS)
        return "".join(out)


def _notes(notes: list[str]) -> str:
    return "".join(f"> {md(n)}\n\n" for n in notes)


def _change_anchor(c: Change) -> str:
    """`replaced-rule-amount`; a cell's headings (`aid_amount[3+, full]`) become plain characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", f"{c.action}-{c.kind}-{c.name}").strip("-")


def _contains(e, cls) -> bool:
    return any(isinstance(x, cls) for x in _walk(e))


def _walk(e):
    if e is None:
        return
    yield e
    for name in getattr(type(e), "__slots__", ()):
        value = getattr(e, name, None)
        if isinstance(value, ast.Expr):
            yield from _walk(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.Expr):
                    yield from _walk(item)
                elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], ast.Expr):
                    yield from _walk(item[1])


def _decl_exprs(decl) -> list[ast.Expr]:
    if isinstance(decl, ast.Replace):
        return _decl_exprs(decl.declaration)
    if isinstance(decl, ast.RuleDecl):
        return [decl.expr] + [x for e in decl.exceptions for x in (e.when, e.value)]
    if isinstance(decl, ast.ParameterDecl):
        return [decl.value]
    if isinstance(decl, ast.ConditionDecl):
        return [x for r in decl.requirements for x in [r.expr] + [w.when for w in r.waivers]]
    if isinstance(decl, ast.RequirementChange):
        return [decl.requirement.expr] + [w.when for w in decl.requirement.waivers]
    return []


def _find_example(files: list[ast.RulesetFile], finder):
    for f in files:
        if finder == "prose":
            return None
        if finder == "header":
            return f, f.header.loc
        if finder == "reference":
            if f.references:
                return f, f.references[0].loc
            continue
        for decl in f.declarations:
            if finder(decl):
                return f, decl.loc
    return None


def _unknown_with_bounds(d) -> bool:
    if isinstance(d, ast.ParameterDecl) and isinstance(d.value, ast.Unknown):
        return True
    return isinstance(d, ast.TableDecl) and any(c.kind == "unknown" and (c.expr.low is not None or c.expr.high is not None)
                                                 for row in d.cells for c in row)


def _bounds_clause(d) -> bool:
    if isinstance(d, ast.ParameterDecl):
        return bool(d.bounds)
    return isinstance(d, ast.TableDecl) and any(c.bounds for c in d.cell_clauses)


def _header_text(f: ast.RulesetFile) -> str:
    starts = [d.loc.line for d in f.declarations] + [r.loc.line for r in f.references]
    end = min(starts) - 1 if starts else len(f.text.split("\n"))
    lines = f.text.split("\n")[f.header.loc.line - 1:end]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return "\n".join(lines)


def _has_expr(cls):
    return lambda d: any(_contains(e, cls) for e in _decl_exprs(d))


def _has_call(names):
    return lambda d: any(isinstance(x, ast.Call) and x.function in names for e in _decl_exprs(d) for x in _walk(e))


_DSL_INTRO = (
    "Chaque texte (accord, avenant, règlement) est un fichier `.mil` du dossier `rulesets/`. Un fichier "
    "commence par un en-tête (identité, dates, texte modifié) suivi de déclarations. Une déclaration commence par "
    "un mot-clé (`input`, `parameter`, `table`, `rule`, `condition`, …) et va jusqu'au mot-clé suivant : "
    "la mise en page sert au lecteur, pas à la machine. Les commentaires commencent par `#`.\n\n"
    "Toutes les déclarations qui comptent (règles, barèmes, paramètres, exigences) citent leur source juridique : "
    "`source REF article \"…\" quote \"…\"`. `millesime check` refuse une règle sans source.\n\n"
    "Les exemples ci-dessous sont tirés des textes livrés.\n")

_DSL_SECTIONS = [
    ("En-tête", "`ruleset ID \"Titre\"`, puis l'instrument, la publication, les dates d'effet "
     "(`effective from … until …`, bornes incluses) et, pour un texte modificatif, `amends ID`.", "header"),
    ("Références", "`reference NOM \"Titre\" url \"…\" grade official` déclare un texte que les sources citent par "
     "son nom, et sa force (voir plus bas).",
     "reference"),
    ("Listes de valeurs", "`enum NOM \"Libellé\":` suivi des valeurs, chacune avec son libellé.",
     lambda d: isinstance(d, ast.EnumDecl)),
    ("Données du dossier", "`input chemin : type \"Libellé\"` : ce que le dossier doit fournir. `group` regroupe "
     "des données, `optional` en permet l'absence, `between … and …` / `at least` / `at most` bornent un nombre.",
     lambda d: isinstance(d, ast.InputDecl) and bool(d.bounds)),
    ("Paramètres", "`parameter NOM \"Libellé\" : type = valeur` : une valeur fixée par le texte.",
     lambda d: isinstance(d, ast.ParameterDecl)),
    ("Barèmes", "`table NOM \"Libellé\" : type`, ses en-têtes de lignes (`rows`) et de colonnes (`columns`), puis "
     "les lignes du barème telles que le texte les présente. En-têtes : une valeur exacte, `3+` (3 et plus), "
     "`90..95` (de 90 inclus à 95 exclu), `< 30`. Cases : un montant, `—` (pas de montant), `?` (non établi).",
     lambda d: isinstance(d, ast.TableDecl)),
    ("Conditions", "`condition NOM \"Libellé\"` suivie d'exigences `require NOM \"Libellé\" : test`. La condition "
     "est remplie quand toutes ses exigences le sont ; `unless \"…\" : test` écarte une exigence ; `failed(NOM)` "
     "donne les exigences non remplies, avec leur source.", lambda d: isinstance(d, ast.ConditionDecl)),
    ("Règles", "`rule NOM \"Libellé\" : type = expression`. Les règles sont évaluées à la demande, chacune une fois.",
     lambda d: isinstance(d, ast.RuleDecl)),
    ("Exceptions", "`exception \"Libellé\" when test then valeur` : une exception prévue par le texte ; deux "
     "exceptions qui s'appliqueraient en même temps sont une erreur.",
     lambda d: isinstance(d, ast.RuleDecl) and bool(d.exceptions)),
    ("Si … alors … sinon", "`if test then a else b`.", _has_expr(ast.If)),
    ("Lire un barème", "`barème[ligne, colonne]` donne la case dont les en-têtes correspondent aux valeurs.",
     _has_expr(ast.Index)),
    ("Donnée absente", "`x is set` / `x is not set` teste la présence d'une donnée facultative ; `none` est "
     "l'absence de valeur.", _has_expr(ast.IsSet)),
    ("Selon le texte en vigueur à une autre date", "`expression as of date` calcule l'expression selon le texte "
     "en vigueur à cette date : c'est ainsi que s'écrivent les dispositions transitoires (un contrat en cours garde "
     "les montants de son texte jusqu'à une date donnée).", _has_expr(ast.AsOf)),
    ("Arrondis", "`round x to euro` (ou `cent`, `unit`), `round up` / `round down` : aucun arrondi n'est implicite.",
     _has_expr(ast.Round)),
    ("Listes", "`[expression for x in liste if test]`, `1..5` (de 1 à 5 inclus), `x in {a, b}`.",
     _has_expr(ast.Comprehension)),
    ("Non établi", "`not established \"raison\"` : le texte ne permet pas de conclure ; le résultat le dit au lieu "
     "de deviner.", _has_expr(ast.NotEstablished)),
    ("Ce que le texte laisse ouvert : une valeur inconnue", "`?` tient la place d'une valeur qu'aucune source lue "
     "n'établit — comme valeur d'un paramètre (`parameter p \"…\" : int = ?`) ou dans une case de barème. "
     "`? between A and B`, `? at least A`, `? at most B` disent ce que l'on en sait ; A et B sont des nombres ou "
     "d'autres déclarations (`? at least gp_threshold[50]`).", _unknown_with_bounds),
    ("Bornes d'un chiffre", "`bounds at least A` (ou `between A and B`, `at most B`) sous un chiffre connu dit ce "
     "qui vaut quelle que soit la force de sa source, avec sa propre source : avec `--official-only`, un chiffre "
     "qui repose sur une source secondaire devient inconnu dans ces bornes.", _bounds_clause),
    ("Lectures", "`= readings` puis des lignes `reading NOM \"Libellé\" : expression` (chacune avec ses notes et "
     "ses sources) : les lectures qu'admettent les sources, pour une règle, un paramètre ou une case écrite "
     "`readings`. La valeur est établie quand toutes les lectures donnent la même ; sinon elle est donnée avec "
     "ce que l'on en sait, et `millesime explain` montre le résultat selon chaque lecture.",
     lambda d: isinstance(d, ast.RuleDecl) and bool(d.readings)),
    ("Ordre d'un barème", "`increasing along NOM` (ou `decreasing along`) sous un barème : ses valeurs croissent "
     "(décroissent) le long de cet en-tête, comme les seuils d'une même distribution ; une case `?` est alors "
     "bornée par ses voisines connues.", lambda d: isinstance(d, ast.TableDecl) and bool(d.orders)),
    ("Ce qu'une case a de propre", "`cell [ligne, colonne]` sous un barème, suivi de notes, de sources, de bornes "
     "ou de lectures : ce sur quoi repose une case quand ce n'est pas ce sur quoi repose le barème.",
     lambda d: isinstance(d, ast.TableDecl) and bool(d.cell_clauses)),
    ("Force des sources", "Chaque référence se termine par `grade official` (les textes, le Journal officiel, les "
     "pages de l'Assurance Maladie), `grade secondary` (presse, syndicats, thèses, sites privés, copies non "
     "officielles) ou `grade hypothesis` ; une source écrite en toutes lettres peut porter son propre `grade`. "
     "Une déclaration vaut sa source la plus forte ; sans source graduée, elle compte comme secondaire "
     "(`millesime check` le signale). Chaque résultat dit ce sur quoi il repose (`reliance`).", "reference"),
    ("Calculer avec ce qui n'est pas établi", "Un résultat qui dépend d'une inconnue est calculé pour toutes les "
     "possibilités admises à la fois. Pour un nombre, un montant ou une date, on obtient un intervalle « entre … "
     "et … » ; pour un booléen, une liste de valeurs ou un texte, l'ensemble des valeurs possibles (au plus 32, "
     "au-delà : non établi). Un `if` dont la condition n'est pas établie donne ce que donnent ses deux branches ; "
     "une exception qui peut s'appliquer, ce que donnent elle et la règle ; un barème lu avec une clé incertaine, "
     "ce que donnent les cases qu'elle peut atteindre ; une comparaison est tranchée quand les intervalles ne se "
     "recouvrent pas (et dans chaque branche, le paramètre comparé est restreint à ce que la condition permet). "
     "Une possibilité dans laquelle les règles échouent (division par zéro, case `—`) est écartée ; si toutes "
     "échouent, l'erreur est signalée. Les intervalles sont sûrs mais pas toujours serrés : une même inconnue "
     "utilisée deux fois (x − x) peut élargir l'intervalle. Dans le JSON, une valeur non établie s'écrit "
     "`{\"not_established\": raison, \"between\": [bas, haut]}` (un côté non borné vaut `null`) ou "
     "`{\"not_established\": raison, \"one_of\": [...]}`, toujours avec `\"decided_by\"` : les inconnues qui la "
     "décideraient. `millesime explain` montre le résultat selon chaque lecture, jusqu'à 16 combinaisons de "
     "lectures ; au-delà, il faut en fixer par hypothèse.", "prose"),
    ("Hypothèses et sources officielles seules", "Un fichier d'hypothèses (`--assume FICHIER`, répétable ; champ "
     "`assume` de l'API) choisit une lecture ou fixe une valeur inconnue, avec sa justification :\n\n"
     "```text\nhypotheses \"Chiffrage 2027\"\n"
     "assume combined_rate reading lowest because \"lecture prudente pour le budget\"\n"
     "assume gp_threshold[70] in reglement_arbitral_2023 = 1 250 because \"interpolation entre P50 et P90\"\n"
     "  source \"Note de la direction, mars 2026\"\n```\n\n"
     "Sans `in TEXTE`, une hypothèse vaut pour tous les textes où ce qu'elle nomme est ouvert. Une hypothèse qui ne "
     "nomme rien d'ouvert, ou une valeur hors de ses bornes ou du mauvais type, est une erreur située (fichier, "
     "ligne, colonne). Les résultats qui en dépendent la citent (`reliance`, force `hypothesis`) et leur empreinte "
     "en tient compte. `--official-only` (champ `official_only` de l'API) tient pour inconnu tout ce qui repose "
     "sur une source secondaire, dans les bornes que des sources officielles lui donnent.", "prose"),
    ("Résultats", "`output a, b` : ce que le calcul produit.", lambda d: isinstance(d, ast.OutputDecl)),
    ("Modifier un texte : remplacer", "`replace rule|table|parameter|…` redéclare en entier ce que le texte "
     "modificatif change ; le reste est repris du texte modifié. Une règle reprise lit les barèmes et paramètres "
     "modifiés.", lambda d: isinstance(d, ast.Replace)),
    ("Modifier un texte : exigences", "`add requirement condition.nom …` ajoute une exigence, "
     "`replace requirement condition.nom …` la remplace.", lambda d: isinstance(d, ast.RequirementChange)),
    ("Modifier un texte : supprimer", "`remove rule|table|requirement|… NOM because \"motif\"` supprime une "
     "déclaration du texte modifié, avec son motif et sa source.", lambda d: isinstance(d, ast.Remove)),
    ("Modifier un texte : étendre une liste", "`extend enum NOM:` ajoute des valeurs à une liste.",
     lambda d: isinstance(d, ast.ExtendEnum)),
    ("Modifier une case d'un barème", "`replace cell barème[ligne, colonne] = valeur`, sur une seule ligne, "
     "change une case d'un barème hérité, suivie de ses notes et de sa source ; les autres cases, non établies "
     "comprises, sont reprises telles quelles. Les en-têtes s'écrivent comme dans le barème (les espaces ne "
     "comptent pas) ; la valeur peut être `?`, `? between A and B` ou `readings` (avec ses lignes `reading`). "
     "La case remplacée repose sur sa propre source, jamais sur celle du barème copié. Exemple : "
     "`replace cell aid_amount[3+, full] = 24 000`.", lambda d: isinstance(d, ast.CellReplacement)),
    ("Une réforme est un fichier", "`millesime … --reform FICHIER.mil` (ou un dossier de fichiers) pose une "
     "réforme sur le calendrier des textes livrés, sans en modifier aucun : un texte de la réforme modifie "
     "(`amends`) un texte livré à compter de sa propre date, et le texte en vigueur ce jour-là prend fin la veille, "
     "pour ce calcul seulement. Ses sources peuvent être des références `grade hypothesis`. "
     "`millesime check --reform FICHIER.mil` vérifie l'ensemble ; `millesime compare` chiffre la réforme "
     "(docs/batch.md).", lambda d: False),
]

_FUNCTION_DOC = {
    "min": "le plus petit de ses arguments (ou des éléments d'une liste)",
    "max": "le plus grand de ses arguments (ou des éléments d'une liste)",
    "abs": "la valeur absolue",
    "sum": "la somme des éléments d'une liste",
    "count": "le nombre d'éléments d'une liste",
    "any": "vrai si au moins un élément est vrai",
    "all": "vrai si tous les éléments sont vrais",
    "years_between": "années entières écoulées entre deux dates (un anniversaire compte le jour même)",
    "months_between": "mois entiers écoulés entre deux dates",
    "days_between": "jours entre deux dates",
    "add_years": "la même date, n ans plus tard",
    "add_months": "la même date, n mois plus tard (le 31 devient le dernier jour du mois s'il n'en a pas)",
    "add_days": "la date n jours plus tard",
    "first_day_of_next_month": "le premier jour du mois suivant",
    "date": "la date d'une année, d'un mois et d'un jour",
    "year": "l'année d'une date",
    "failed": "les exigences non remplies d'une condition, avec leur libellé et leur source",
}

_DSL_OPERATORS = """
## Opérateurs et valeurs

| Écriture | Sens |
| --- | --- |
| `+ - * /` (ou `×`) | opérations ; une division garde 28 chiffres significatifs, sans arrondi implicite |
| `= != < <= > >=` (ou `≠ ≤ ≥`) | comparaisons |
| `and`, `or`, `not` | et, ou, non |
| `x in liste`, `x not in liste` | appartenance |
| `36 000 €`, `20 %`, `2024-06-22`, `"texte"` | un montant, un pourcentage, une date, un texte |
| `true`, `false`, `none` | vrai, faux, aucune valeur |
| `on` | la date du calcul |
| `ruleset_id` | l'identifiant du texte en vigueur |

Types : `int`, `decimal`, `money`, `percent`, `bool`, `date`, `text`, une liste de valeurs (`enum`), `optional T`,
`list of T`, `set of T`, `map K to T`, `{champ: T, …}`.
"""


# ================================================================ entry points

def generate(rulesets_dir: str | Path | None = None, cases_dir: str | Path | None = DEFAULT_CASES_DIR,
             registry: Registry | None = None) -> dict[str, str]:
    """Every generated page, {path relative to docs/: text}. Same inputs, same bytes."""
    registry = registry or Registry.load(rulesets_dir)
    cases = Path(cases_dir) if cases_dir is not None else None
    return Site(registry, cases).pages()


def write(pages: dict[str, str], out_dir: str | Path) -> list[Path]:
    """Write the pages; remove generated pages of rulesets that no longer exist. Returns the files written."""
    out = Path(out_dir)
    written = []
    for rel, text in sorted(pages.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            path.write_bytes(text.encode("utf-8"))
        written.append(path)
    for rel in _generated_files(out):
        if rel not in pages:
            (out / rel).unlink()
    return written


def stale(pages: dict[str, str], out_dir: str | Path) -> list[str]:
    """The generated pages that differ from (or are missing in, or left over in) `out_dir`."""
    out = Path(out_dir)
    problems = [rel for rel, text in sorted(pages.items())
                if not (out / rel).is_file() or (out / rel).read_bytes() != text.encode("utf-8")]
    problems += [rel for rel in _generated_files(out) if rel not in pages]
    return problems


def _generated_files(out: Path) -> list[str]:
    """The pages in the generated folders of `out` (and their subfolders), relative to it."""
    return [p.relative_to(out).as_posix() for folder in GENERATED_DIRS if (out / folder).is_dir()
            for p in sorted((out / folder).rglob("*.md"))]


# ================================================================ coverage of the regression cases

def coverage_page(site: Site) -> str:
    """couverture.md: what the regression cases exercise, agreement by agreement, and what none
    reaches (engine/coverage.py; the same figures as `millesime test --coverage`)."""
    from . import coverage as C
    out = [BANNER, "# Couverture des exemples chiffrés\n\n",
           "Les cas de non-régression (les [exemples chiffrés](exemples/" + site.timeline[0].id + ".md) de chaque "
           "texte) sont rejoués à chaque test du projet. Cette page dit ce qu'ils mettent à l'épreuve, texte par "
           "texte, pour ce que chaque texte écrit lui-même (une règle reprise d'un texte antérieur est comptée "
           "avec celui-ci) :\n\n"
           "- une **règle** est couverte quand un cas la calcule ;\n"
           "- une **exception** quand un cas la fait s'appliquer ;\n"
           "- une **exigence** quand un cas ne la remplit pas (ou ne permet pas d'établir qu'elle l'est) : une "
           "exigence toujours remplie ne met rien à l'épreuve ;\n"
           "- une **dérogation** (`unless`) quand un cas la fait s'appliquer ;\n"
           "- une **case de barème** quand un cas la lit (les cases « — », qu'aucun calcul ne lit, ne comptent "
           "pas) ;\n"
           "- une **lecture** (quand les sources admettent plusieurs lectures) quand un cas la calcule.\n\n"
           "Les mêmes chiffres s'obtiennent avec `millesime test --coverage` (ou `--coverage --json`).\n"]
    if site.cases_dir is None or not site.cases_dir.is_dir():
        out.append("\nAucun dossier de cas de non-régression : rien n'est couvert.\n")
        return "".join(out)
    measured = C.measure(site.registry, [site.cases_dir])
    out.append(f"\n{measured.cases} cas sont évalués (ceux qui attendent une erreur n'ont pas d'explication).\n")
    for m in site.timeline:
        cov = measured.rulesets.get(m.id)
        if cov is None:
            continue
        out.append(f"\n## {md(m.header.title)}\n\n")
        rows = [[C.WORDS[k][1].capitalize(), str(len(cov.of(k)) - len(cov.uncovered(k))), str(len(cov.of(k)))]
                for k in C.KINDS if cov.of(k)]
        out.append(table(["Éléments écrits dans ce texte", "Couverts", "Total"], rows, ["---", "---:", "---:"])
                   if rows else "Ce texte n'écrit rien qu'un cas puisse mettre à l'épreuve.\n")
        missing = cov.uncovered()
        if not missing:
            out.append("\nTout ce que ce texte écrit est mis à l'épreuve par au moins un cas.\n")
            continue
        out.append("\n### Ce qu'aucun cas n'atteint\n\n")
        for item in missing:
            word, _, verb = C.WORDS[item.kind]
            anchor = re.split(r"[\[. ]", item.name, maxsplit=1)[0]
            out.append(f"- {word.capitalize()} [{inline_code(item.name)}](accords/{m.id}.md#{anchor}) : jamais "
                       f"{verb} (`{Path(item.loc.file).name}`, ligne {item.loc.line})\n")
    return "".join(out)
