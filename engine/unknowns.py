"""What a ruleset leaves open, and how an analyst's assumptions close it.

A ruleset states what is open in the law: `?` values (within bounds or not), competing
`reading`s, `not established "…"`. Two options change what is open, for a whole run:

- `--official-only`: every figure, rule, exception or requirement whose sources are not
  official (graded `secondary`, or not graded) is treated as unknown — within the bounds
  stated for it, where those bounds do not themselves rest on a secondary source;
- hypothesis files (`--assume FILE`): each `assume` picks a reading or fixes an unknown value,
  with its justification; the value must lie within the unknown's bounds.

`Openness` answers, for each declaration of one ruleset, how it is to be evaluated (a
`Decision`): both compilers (the closures of engine/expressions.py, the columns of
engine/vector/) follow it, so that an option means the same on every path.

Grades: a source is graded by its reference (`reference … grade official`) or by its own
`grade`; a declaration is as strong as its strongest source (a figure an official source
states is official, whatever else also states it); a declaration without a graded source is
`secondary`. Table cells rest on their own `cell […]` sources when they have some.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from dsl import ast
from dsl.errors import Diagnostic, RulesetError
from dsl.model import Ruleset
from dsl.builder import heading_key
from dsl.parser import parse_hypotheses_file, parse_hypotheses_text

from . import french
from .values import Unknown

GRADE_RANK = {"official": 0, "secondary": 1, "hypothesis": 2}


def source_grade(src: ast.Source, references: dict[str, ast.Reference]) -> str | None:
    if src.grade is not None:
        return src.grade
    if src.is_reference_name:
        ref = references.get(src.reference)
        return ref.grade if ref is not None else None
    return None


def grade(sources: list[ast.Source], references: dict[str, ast.Reference]) -> str:
    """The strongest grade among `sources`; `secondary` when none is graded."""
    grades = [g for g in (source_grade(s, references) for s in sources) if g is not None]
    return min(grades, key=GRADE_RANK.__getitem__) if grades else "secondary"


def source_titles(sources: list[ast.Source], references: dict[str, ast.Reference]) -> str:
    """The instruments a declaration rests on, by title (no quotes): for `reliance` and reasons."""
    titles = []
    for src in sources:
        ref = references.get(src.reference) if src.is_reference_name else None
        text = ref.title if ref else src.reference
        if src.article:
            text += f", art. {src.article}" if src.article[:1].isdigit() else f", {src.article}"
        if text not in titles:
            titles.append(text)
    return " ; ".join(titles)


# ---------------------------------------------------------------- the analyst's assumptions

@dataclass(frozen=True)
class Assumptions:
    """What a run assumes beyond the rulesets: `--official-only` and hypothesis files."""
    official_only: bool = False
    hypotheses: tuple[ast.HypothesisFile, ...] = ()

    @property
    def active(self) -> bool:
        return self.official_only or bool(self.hypotheses)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(b"official-only" if self.official_only else b"all-sources")
        for h in self.hypotheses:
            digest.update(b"\0" + h.text.encode("utf-8"))
        return "sha256:" + digest.hexdigest()[:16]

    def as_json(self) -> dict:
        return {"official_only": self.official_only,
                "hypotheses": [{"title": h.title, "file": Path(h.path).name,
                                "fingerprint": "sha256:" + hashlib.sha256(h.text.encode("utf-8")).hexdigest()[:16]}
                               for h in self.hypotheses]}


NO_ASSUMPTIONS = Assumptions()


def load_assumptions(paths=(), official_only: bool = False, texts=()) -> Assumptions:
    """Hypothesis files by path (`--assume FILE`) or as texts (the API), parsed; syntax errors
    are RulesetError with file:line:col."""
    files = [parse_hypotheses_file(p) for p in paths]
    files += [parse_hypotheses_text(t, f"<hypothèses {i + 1}>") for i, t in enumerate(texts)]
    return Assumptions(official_only, tuple(files))


# ---------------------------------------------------------------- how each declaration is evaluated

@dataclass
class Bound:
    """One side of an unknown's bounds: an expression, and whether it is the low or high side."""
    side: str  # low | high
    expr: ast.Expr


@dataclass
class Decision:
    """How one declaration (or table cell) is evaluated.

    kind: `known` (its expression), `unknown` (its bounds, decided by `unknown`), `readings`
    (each reading, joined), `picked` (one reading, by `assumption`), `fixed` (`value`, by
    `assumption`)."""
    kind: str
    unknown: Unknown | None = None
    bounds: list[Bound] = field(default_factory=list)
    readings: list[ast.Reading] = field(default_factory=list)
    reading: ast.Reading | None = None
    value: ast.Expr | None = None
    assumption: ast.Assumption | None = None
    hypothesis: ast.HypothesisFile | None = None
    declaration_sources: list[ast.Source] = field(default_factory=list)  # what a reading without its own rests on

    @property
    def sources(self) -> list[ast.Source]:
        """The hypothesis's own sources, with the justification, when an assumption decides."""
        if self.assumption is None:
            return []
        a, h = self.assumption, self.hypothesis
        because = ast.Source(f"hypothèse « {h.title} »", False, None, a.because, None, a.loc, "hypothesis")
        return [because] + list(a.sources)


KNOWN = Decision("known")


class Openness:
    """The decisions for one ruleset under given assumptions. `problems` collects what is wrong
    with the assumptions for this ruleset; `matched` the assumptions that found an open target."""

    def __init__(self, model: Ruleset, assumptions: Assumptions = NO_ASSUMPTIONS):
        self.model, self.assumptions = model, assumptions
        self.references = model.references
        self.problems: list[Diagnostic] = []
        self.matched: set[int] = set()  # id() of assumptions that apply here
        self.closed: dict[int, str] = {}  # id() of assumptions naming what is established here → why
        self._by_target: dict[tuple, list[tuple[ast.Assumption, ast.HypothesisFile]]] = {}
        for h in assumptions.hypotheses:
            for a in h.assumptions:
                if a.ruleset is None or a.ruleset == model.id or a.ruleset == model.resumes:
                    key = (a.name, tuple(heading_key(k) for k in a.keys))
                    self._by_target.setdefault(key, []).append((a, h))

    # -- grades
    def grade(self, sources) -> str:
        return grade(sources, self.references)

    def _secondary(self, sources) -> bool:
        return self.assumptions.official_only and self.grade(sources) != "official"

    def _kept_bounds(self, clauses: list[ast.BoundsClause], declaration_sources) -> list[Bound]:
        """Bounds clauses that still hold under the options: one with sources of its own stands on
        them; without, it rests on the declaration's."""
        out = []
        for clause in clauses:
            if self._secondary(clause.sources or declaration_sources):
                continue
            out += _sides(clause.low, clause.high)
        return out

    # -- assumptions
    def _assumption(self, name: str, keys: tuple = ()):
        found = self._by_target.get((name, keys))
        if not found:
            return None, None
        if len(found) > 1:
            (a, _), (b, _) = found[0], found[1]
            self.problems.append(Diagnostic(b.loc, f"« {b.target} » fait l'objet de deux hypothèses (l'autre en "
                                            f"{a.loc})", hint="gardez une seule hypothèse par inconnue",
                                            code="hypothesis"))
        self.matched.add(id(found[0][0]))
        return found[0]

    def _decide_by_assumption(self, name, keys, open_decision: Decision) -> Decision:
        """An assumption on an open declaration picks a reading or fixes its value."""
        a, h = self._assumption(name, keys)
        if a is None:
            return open_decision
        if open_decision.kind == "readings":
            if a.reading is None:
                self.problems.append(Diagnostic(a.loc, f"« {a.target} » a plusieurs lectures : choisissez-en une "
                                                "avec « reading NOM »", hint="ses lectures : " + ", ".join(
                                                    r.name for r in open_decision.readings), code="hypothesis"))
                return open_decision
            chosen = next((r for r in open_decision.readings if r.name == a.reading), None)
            if chosen is None:
                names = [r.name for r in open_decision.readings]
                self.problems.append(Diagnostic(a.loc, f"« {a.target} » n'a pas de lecture « {a.reading} »",
                                                hint=french.suggestion(a.reading, names) or "ses lectures : "
                                                + ", ".join(names), code="hypothesis"))
                return open_decision
            return Decision("picked", open_decision.unknown, readings=open_decision.readings, reading=chosen,
                            assumption=a, hypothesis=h, declaration_sources=open_decision.declaration_sources)
        if a.value is None:
            self.problems.append(Diagnostic(a.loc, f"« {a.target} » n'a pas de lectures : fixez sa valeur avec "
                                            "« = VALEUR »", code="hypothesis"))
            return open_decision
        return Decision("fixed", open_decision.unknown, bounds=open_decision.bounds, value=a.value, assumption=a,
                        hypothesis=h)

    def _not_open(self, name: str, keys: tuple, why: str) -> None:
        """An assumption that names a declaration this ruleset establishes: an error unless another
        ruleset leaves it open (`check_assumptions` decides)."""
        for a, _ in self._by_target.get((name, keys), ()):
            self.closed.setdefault(id(a), why)

    # -- declarations
    def parameter(self, decl: ast.ParameterDecl) -> Decision:
        if isinstance(decl.value, ast.ReadingsValue):
            u = Unknown(("readings",) + _where(decl.loc), decl.name, decl.label,
                        "lectures concurrentes : " + ", ".join(f"« {r.label} »" for r in decl.readings), "readings")
            return self._decide_by_assumption(decl.name, (), Decision("readings", u, readings=decl.readings,
                                                                      declaration_sources=decl.sources))
        if isinstance(decl.value, ast.Unknown):
            bounds = [] if self._secondary(decl.sources) else _sides(decl.value.low, decl.value.high)
            bounds += self._kept_bounds(decl.bounds, decl.sources)
            u = Unknown(("parameter",) + _where(decl.loc), decl.name, decl.label, "valeur non établie",
                        "bounded" if bounds else "unknown")
            return self._decide_by_assumption(decl.name, (), Decision("unknown", u, bounds=bounds))
        if self._secondary(decl.sources):
            u = Unknown(("secondary",) + _where(decl.loc), decl.name, decl.label, self._secondary_reason(decl.sources),
                        "secondary")
            return self._decide_by_assumption(
                decl.name, (), Decision("unknown", u, bounds=self._kept_bounds(decl.bounds, decl.sources)))
        self._not_open(decl.name, (), "sa valeur est donnée par le texte" if self.grade(decl.sources) == "official"
                       else "sa valeur repose sur une source secondaire")
        return KNOWN

    def cell(self, table: ast.TableDecl, row: int, column: int) -> Decision:
        cell = table.cells[row][column]
        clause = table.clause(row, column)
        sources = table.cell_sources(row, column)
        keys = tuple(heading_key(k.text) for k in [table.row_keys[row]] + (
            [table.column_keys[column]] if table.column_keys else []))
        name = table.cell_name(row, column)
        label = _cell_label(table, row, column)
        place = {"group": table.label, "detail": _cell_headings(table, row, column).replace(", ", " et ")}
        clauses = clause.bounds if clause is not None else []
        if cell.kind == "readings":
            readings = clause.readings if clause is not None else []
            u = Unknown(("readings",) + _where(cell.loc), name, label,
                        "lectures concurrentes : " + ", ".join(f"« {r.label} »" for r in readings), "readings",
                        **place)
            return self._decide_by_assumption(table.name, keys, Decision("readings", u, readings=readings,
                                                                         declaration_sources=sources))
        if cell.kind == "unknown":
            bounds = [] if self._secondary(sources) else _sides(cell.expr.low, cell.expr.high)
            bounds += self._kept_bounds(clauses, sources)
            u = Unknown(("cell",) + _where(cell.loc), name, label, f"{label} : valeur non établie (« ? » dans le barème)",
                        "bounded" if bounds else "unknown", **place)
            return self._decide_by_assumption(table.name, keys, Decision("unknown", u, bounds=bounds))
        if cell.kind == "value" and self._secondary(sources):
            u = Unknown(("secondary",) + _where(cell.loc), name, label, self._secondary_reason(sources), "secondary",
                        **place)
            return self._decide_by_assumption(table.name, keys,
                                              Decision("unknown", u, bounds=self._kept_bounds(clauses, sources)))
        if cell.kind == "value":
            self._not_open(table.name, keys, "la valeur de cette case est donnée par le texte"
                           if self.grade(sources) == "official" else "cette case repose sur une source secondaire")
        return KNOWN

    def rule(self, decl: ast.RuleDecl) -> Decision:
        if decl.readings:
            u = Unknown(("readings",) + _where(decl.loc), decl.name, decl.label,
                        "lectures concurrentes : " + ", ".join(f"« {r.label} »" for r in decl.readings), "readings")
            return self._decide_by_assumption(decl.name, (), Decision("readings", u, readings=decl.readings,
                                                                      declaration_sources=decl.sources))
        if self._secondary(decl.sources):
            u = Unknown(("secondary",) + _where(decl.loc), decl.name, decl.label,
                        self._secondary_reason(decl.sources), "secondary")
            self._not_open(decl.name, (), "une règle ne se fixe pas par hypothèse ; seule une de ses lectures")
            return Decision("unknown", u)
        self._not_open(decl.name, (), "une règle ne se fixe pas par hypothèse ; seule une de ses lectures")
        return KNOWN

    def exception(self, rule: ast.RuleDecl, exc: ast.RuleException) -> Unknown | None:
        """Under --official-only, an exception resting on a secondary source may or may not apply."""
        if not self._secondary(exc.sources):
            return None
        return Unknown(("secondary",) + _where(exc.loc), f"{rule.name} (exception)", exc.label,
                       self._secondary_reason(exc.sources), "secondary")

    def requirement(self, condition: str, req: ast.Requirement) -> Unknown | None:
        """Under --official-only, a requirement resting on a secondary source may or may not hold."""
        if not self._secondary(req.sources):
            return None
        return Unknown(("secondary",) + _where(req.loc), f"{condition}.{req.name}", req.label,
                       self._secondary_reason(req.sources), "secondary")

    def _secondary_reason(self, sources) -> str:
        titles = source_titles(sources, self.references)
        return f"repose sur une source secondaire ({titles}), écartée par --official-only" if titles else \
            "ne cite aucune source officielle, écarté par --official-only"


def literal_unknown(owner_name: str, owner_label: str, expr: ast.NotEstablished) -> Unknown:
    """The unknown a `not established "…"` written in a declaration stands for."""
    return Unknown(("literal",) + _where(expr.loc), owner_name, owner_label, expr.reason, "unknown")


def check_assumptions(assumptions: Assumptions, openness: list[Openness]) -> list[Diagnostic]:
    """What is wrong with the hypotheses across all rulesets: problems found in each, and an
    assumption that names nothing open in any of them."""
    problems: list[Diagnostic] = []
    for o in openness:
        problems.extend(o.problems)
    matched = set().union(*(o.matched for o in openness)) if openness else set()
    closed = {k: (o.model.id, why) for o in openness for k, why in o.closed.items()}
    ids = {o.model.id for o in openness}
    for h in assumptions.hypotheses:
        for a in h.assumptions:
            if a.ruleset is not None and a.ruleset not in ids:
                problems.append(Diagnostic(a.loc, f"aucun texte « {a.ruleset} »", hint=french.suggestion(a.ruleset, ids)
                                           or "textes : " + ", ".join(sorted(ids)), code="hypothesis"))
            elif id(a) not in matched and id(a) in closed:
                where, why = closed[id(a)]
                hint = "une hypothèse ne fixe que ce que les textes laissent ouvert"
                if not assumptions.official_only and "secondaire" in why:
                    hint += " ; avec --official-only, ce qui repose sur une source secondaire est ouvert"
                problems.append(Diagnostic(a.loc, f"« {a.target} » est établi dans le texte {where} ({why})",
                                           hint=hint, code="hypothesis"))
            elif id(a) not in matched:
                problems.append(Diagnostic(a.loc, f"« {a.target} » ne désigne rien que les textes laissent ouvert",
                                           hint="une hypothèse porte sur une valeur « ? », une case de barème écrite "
                                           "« ? » ou « readings », ou une déclaration à lectures (`millesime docs` les "
                                           "liste sur la page « Ce qui n'est pas établi »)", code="hypothesis"))
    unique, seen = [], set()
    for d in problems:
        if (str(d.loc), d.message) not in seen:
            seen.add((str(d.loc), d.message))
            unique.append(d)
    return unique


def raise_if_wrong(problems: list[Diagnostic]) -> None:
    if problems:
        raise RulesetError(problems)


def _sides(low: ast.Expr | None, high: ast.Expr | None) -> list[Bound]:
    return ([Bound("low", low)] if low is not None else []) + ([Bound("high", high)] if high is not None else [])


def _where(loc: ast.Loc) -> tuple:
    return (loc.file, loc.line, loc.column)


def _cell_label(table: ast.TableDecl, row: int, column: int) -> str:
    return f"{table.label} ({_cell_headings(table, row, column)})"


def _cell_headings(table: ast.TableDecl, row: int, column: int) -> str:
    headings = [f"{table.dims[0].name} {table.row_keys[row].text}"]
    if table.column_keys:
        headings.append(f"{table.dims[1].name} {table.column_keys[column].text}")
    return ", ".join(headings)
