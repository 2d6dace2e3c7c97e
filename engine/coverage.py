"""What the regression cases exercise: `millesime test --coverage`, and the « Couverture » page.

Each case is evaluated as `millesime test` evaluates it (same outputs, same assumptions), with its
explanation trees. A node of a tree stands for a declaration, at its place in a ruleset file:
what the trees of all cases reach is covered. Each agreement is reported for what its own file
declares (an inherited rule is the base's, and is covered wherever a case reaches it: through the
base, or through an agreement that inherits it):

- a rule: computed (a `rule` node);
- an exception: applied (its rule's node notes « exception appliquée : « label » »);
- a requirement: not met at least once (false, or not established): a requirement that always
  holds tests nothing;
- a waiver (`unless`): applied (its requirement's node notes « ne s'applique pas : « label » »);
- a table cell: read (a `table` node, at the cell's place); cells written `—` cannot be read and
  are left out;
- a reading: computed (a `reading` node, at the reading's place).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dsl import ast
from dsl.errors import MillesimeError

from . import testing
from .explain import Node
from .registry import Registry

KINDS = ("rule", "exception", "requirement", "waiver", "cell", "reading")
# French words for the report and the page: (singular, plural, what covers it)
WORDS = {
    "rule": ("règle", "règles", "calculée"),
    "exception": ("exception", "exceptions", "appliquée"),
    "requirement": ("exigence", "exigences", "mise en défaut"),  # not met: false or not established
    "waiver": ("dérogation", "dérogations", "appliquée"),
    "cell": ("case de barème", "cases de barème", "lue"),
    "reading": ("lecture", "lectures", "calculée"),
}


@dataclass(frozen=True)
class Item:
    kind: str  # one of KINDS
    name: str  # `amount`, `amount: « label »`, `eligibility.sector`, `aid_amount[1, half]`, `combined_rate.lowest`
    loc: ast.Loc

    def as_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "file": self.loc.file, "line": self.loc.line,
                "column": self.loc.column}


@dataclass
class RulesetCoverage:
    ruleset: str
    items: list[Item]
    covered: set[Item] = field(default_factory=set)

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    def uncovered(self, kind: str | None = None) -> list[Item]:
        return [i for i in self.items if i not in self.covered and (kind is None or i.kind == kind)]

    def as_json(self) -> dict:
        return {kind: {"total": len(self.of(kind)), "covered": len([i for i in self.of(kind) if i in self.covered]),
                       "uncovered": [i.as_json() for i in self.uncovered(kind)]} for kind in KINDS}


@dataclass
class Coverage:
    rulesets: dict[str, RulesetCoverage]
    cases: int  # cases evaluated (those expecting an error give no tree)

    def as_json(self) -> dict:
        return {"cases": self.cases, "rulesets": {k: v.as_json() for k, v in self.rulesets.items()}}


def _key(loc: ast.Loc, label: str = "") -> tuple:
    return (loc.file, loc.line, loc.column, label)


def _requirements(decl):
    if isinstance(decl, ast.ConditionDecl):
        return [(f"{decl.name}.{r.name}", r) for r in decl.requirements]
    if isinstance(decl, ast.RequirementChange):
        return [(f"{decl.condition}.{decl.requirement.name}", decl.requirement)]
    return []


def items(f: ast.RulesetFile) -> list[tuple[Item, tuple]]:
    """What a ruleset file declares that a case can exercise, each with the key its nodes give."""
    out: list[tuple[Item, tuple]] = []
    for decl in f.declarations:
        inner = decl.declaration if isinstance(decl, ast.Replace) else decl
        if isinstance(inner, ast.RuleDecl):
            out.append((Item("rule", inner.name, inner.loc), _key(inner.loc)))
            out += [(Item("exception", f"{inner.name} : « {e.label} »", e.loc), _key(inner.loc, e.label))
                    for e in inner.exceptions]
            out += [(Item("reading", f"{inner.name}.{r.name}", r.loc), _key(r.loc)) for r in inner.readings]
        elif isinstance(inner, ast.ParameterDecl):
            out += [(Item("reading", f"{inner.name}.{r.name}", r.loc), _key(r.loc)) for r in inner.readings]
        elif isinstance(inner, ast.TableDecl):
            for r, row in enumerate(inner.cells):
                out += [(Item("cell", inner.cell_name(r, c), cell.loc), _key(cell.loc))
                        for c, cell in enumerate(row) if cell.kind != "no_value"]
            for clause in inner.cell_clauses:
                name = inner.cell_name(clause.row, clause.column)
                out += [(Item("reading", f"{name}.{r.name}", r.loc), _key(r.loc)) for r in clause.readings]
        for name, req in _requirements(inner):
            out.append((Item("requirement", name, req.loc), _key(req.loc)))
            out += [(Item("waiver", f"{name} : « {w.label} »", w.loc), _key(req.loc, w.label))
                    for w in req.waivers]
    return out


def _quoted(note: str | None, prefix: str) -> list[str]:
    """The labels quoted after `prefix « … »` in a node's note."""
    found, start = [], 0
    while note and (i := note.find(prefix + "« ", start)) >= 0:
        begin = i + len(prefix) + 2
        end = note.find(" »", begin)
        if end < 0:
            break
        found.append(note[begin:end])
        start = end
    return found


def reached(roots) -> set[tuple]:
    """The keys (place, label) of every declaration the trees reach."""
    out: set[tuple] = set()
    seen: set[int] = set()
    stack: list[Node] = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(node.children)
        if node.loc is None:
            continue
        if node.kind == "rule":
            out.add(_key(node.loc))
            out.update(_key(node.loc, label) for label in _quoted(node.note, "exception appliquée : "))
        elif node.kind == "requirement":
            if node.value is not True:
                out.add(_key(node.loc))
            out.update(_key(node.loc, label) for label in _quoted(node.note, "ne s'applique pas : "))
        elif node.kind in ("table", "reading"):
            out.add(_key(node.loc))
    return out


def measure(registry: Registry, paths: list[Path]) -> Coverage:
    """Evaluate every regression case of `paths` with its explanation; what their trees reach."""
    files: dict[str, ast.RulesetFile] = {}
    for model in registry.timeline():
        files.setdefault(model.file.header.id, model.file)
    found: set[tuple] = set()
    cases = 0
    for path in testing.collect(paths):
        for case in testing.load_cases(path):
            if case.expect_error:
                continue
            try:
                result = testing.evaluate_case(case, registry)
            except MillesimeError:
                continue  # `millesime test` reports it; nothing is reached
            cases += 1
            found |= reached(result.explanation.values())
    per_ruleset = {}
    for rid, f in files.items():
        listed = items(f)
        cov = RulesetCoverage(rid, [item for item, _ in listed])
        cov.covered = {item for item, key in listed if key in found}
        per_ruleset[rid] = cov
    return Coverage(per_ruleset, cases)


def summary(coverage: Coverage) -> list[str]:
    """The terminal report, in French: counts per ruleset, then what no case reaches."""
    lines = [f"Couverture de {coverage.cases} cas de non-régression"]
    for cov in coverage.rulesets.values():
        counts = []
        for kind in KINDS:
            total = len(cov.of(kind))
            if total:
                counts.append(f"{WORDS[kind][1]} {total - len(cov.uncovered(kind))}/{total}")
        lines.append(f"  {cov.ruleset} : " + ", ".join(counts))
        for item in cov.uncovered():
            word, _, verb = WORDS[item.kind]  # all feminine: « règle … : jamais calculée »
            lines.append(f"    {word} {item.name} : jamais {verb} ({_place(item.loc)})")
    return lines


def _place(loc: ast.Loc) -> str:
    """file:line:col, the file relative to the current folder when it is inside it."""
    try:
        return f"{Path(loc.file).resolve().relative_to(Path.cwd())}:{loc.line}:{loc.column}"
    except ValueError:
        return str(loc)
