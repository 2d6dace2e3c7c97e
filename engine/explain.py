"""The explanation tree: every figure with its rule, its legal source and what it came from."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath

from dsl import ast, types as T

from . import values as V
from .unknowns import grade as grade_of, source_grade, source_titles

GRADED = ("rule", "parameter", "table", "condition", "requirement", "reading")  # what rests on sources
_GRADE_WORDS = {"secondary": "source secondaire", "hypothesis": "hypothèse"}


@dataclass
class Node:
    kind: str  # rule | condition | requirement | parameter | table | input | builtin | as_of
    name: str
    label: str
    value: object
    type: T.Type | None
    ruleset: str
    expr: str | None = None
    loc: ast.Loc | None = None
    sources: list[ast.Source] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    note: str | None = None
    cell: str | None = None  # a table cell, by its headings as written: `gp_threshold[70]`
    grade: str | None = None  # set when a hypothesis decides (hypothesis) or an unknown stands (none)
    graded: bool = True  # False: an unknown stands here, its value rests on no source

    @property
    def declaration(self) -> str:
        """The declaration this node stands for, as a hypothesis would name it."""
        return self.cell or self.name


def source_text(src: ast.Source, references: dict[str, ast.Reference]) -> str:
    ref = references.get(src.reference) if src.is_reference_name else None
    text = ref.title if ref else src.reference
    if src.article:  # "9-5-2-2" is an article; "tableau « … »" says where in the text already
        text += f", art. {src.article}" if src.article[:1].isdigit() else f", {src.article}"
    if src.quote:
        text += f" : « {src.quote} »"
    return text


def source_json(src: ast.Source, references: dict[str, ast.Reference]) -> dict:
    ref = references.get(src.reference) if src.is_reference_name else None
    return {
        "instrument": ref.title if ref else src.reference,
        "article": src.article,
        "quote": src.quote,
        "url": src.url or (ref.url if ref else None),
    }


def node_grade(node: Node, references_by_ruleset: dict[str, dict]) -> str | None:
    """official, secondary or hypothesis for what rests on sources; None for inputs, dates, and
    an unknown standing in for a value."""
    if node.kind not in GRADED or not node.graded:
        return None
    if node.grade is not None:
        return node.grade
    if node.kind == "condition" and not node.sources:  # it rests on its requirements, graded each
        return None
    return grade_of(node.sources, references_by_ruleset.get(node.ruleset, {}))


def reliance(node: Node, references_by_ruleset: dict[str, dict], memo: dict | None = None) -> list[dict]:
    """The declarations not graded official that a value actually used: {name, grade, source, ruleset},
    each once, hypotheses first, then secondary sources, by name. `memo` (a dict, by node) keeps
    what each subtree rests on: the outputs of one result, or the figures a page shows of it, share
    most of their nodes, and each is then graded once rather than once per figure."""
    found = _relied(node, references_by_ruleset, {} if memo is None else memo)
    return sorted(found.values(), key=lambda e: (e["grade"] != "hypothesis", e["name"], e["ruleset"]))


def _relied(root: Node, references_by_ruleset: dict[str, dict], memo: dict) -> dict:
    """{(ruleset, declaration): entry} of the subtree under `root`, each node's kept in `memo`; a node's
    own entry first, then its dependencies' in the order it used them (no recursion: trees are deep)."""
    stack = [(root, False)]
    while stack:
        n, ready = stack.pop()
        if id(n) in memo:
            continue
        if not ready:
            stack.append((n, True))
            stack.extend((c, False) for c in reversed(n.children) if id(c) not in memo)
            continue
        found: dict[tuple, dict] = {}
        own = _reliance_entry(n, references_by_ruleset)
        if own is not None:
            found[(n.ruleset, n.declaration)] = own
        for child in n.children:
            for key, entry in memo[id(child)].items():
                found.setdefault(key, entry)
        memo[id(n)] = found
    return memo[id(root)]


def _reliance_entry(n: Node, references_by_ruleset: dict[str, dict]) -> dict | None:
    if n.kind == "reading":  # a value with readings rests on its declaration (or on the hypothesis
        return None          # that picks one), not on one reading among those that concur
    g = node_grade(n, references_by_ruleset)
    if g is None or g == "official":
        return None
    refs = references_by_ruleset.get(n.ruleset, {})
    # a hypothesis rests on the sources graded so: its own, or a reference declared `grade hypothesis`
    sources = [s for s in n.sources if source_grade(s, refs) == "hypothesis"] if g == "hypothesis" else n.sources
    return {"name": n.declaration, "grade": g, "source": source_titles(sources, refs) or "aucune source citée",
            "ruleset": n.ruleset}


def to_json(node: Node, references_by_ruleset: dict[str, dict], seen: set | None = None) -> dict:
    """A node as JSON. A node already shown higher in the tree is given by reference."""
    seen = set() if seen is None else seen
    key = id(node)
    out = {
        "kind": node.kind,
        "name": node.name,
        "label": node.label,
        "value": V.to_json(node.value, node.type),
        "ruleset": node.ruleset,
    }
    if key in seen:
        out["see_above"] = True
        return out
    seen.add(key)
    refs = references_by_ruleset.get(node.ruleset, {})
    if node.expr is not None:
        out["expression"] = node.expr
    if node.loc is not None:
        # The ruleset file by name: the result reads the same wherever Millésime is installed.
        out["defined_at"] = f"{_file_name(node.loc.file)}:{node.loc.line}:{node.loc.column}"
    if node.sources:
        out["sources"] = [source_json(s, refs) for s in node.sources]
    grade = node_grade(node, references_by_ruleset)
    if grade is not None:
        out["grade"] = grade
    if node.cell:
        out["cell"] = node.cell
    if node.note:
        out["note"] = node.note
    if node.children:
        out["inputs"] = [to_json(c, references_by_ruleset, seen) for c in node.children]
    return out


@lru_cache(maxsize=256)
def _file_name(path: str) -> str:
    """The name of a ruleset file, once per file: a tree names a few files in thousands of nodes, and
    building a PurePath for each was a sixth of the time of turning a tree into JSON."""
    return PurePath(path).name


def render(node: Node, references_by_ruleset: dict[str, dict], labels: dict[str, str]) -> list[str]:
    """The tree in French for a terminal, whole: one line a figure, its formula and sources beneath it
    (the layout, and its shorter forms, are engine/report.py's)."""
    from .report import tree  # report imports this module
    return tree(node, references_by_ruleset, labels)
