"""What `millesime eval` and `millesime explain` print in a terminal, in French.

Every value is written by `engine.values.display` (money, percents, dates, enum labels, values not
established): this module only lays values out — a line per output under its French label, a
table for a list of records (payments, options), a list for the reasons of an ineligibility, and
the explanation tree, whole, cut at a depth, or in a short form that keeps figures and sources.
"""
from __future__ import annotations

import dataclasses

from dsl import types as T

from . import explain
from .explain import Node
from .values import display

# Record fields have no label in the DSL: the French words for the fields of the shipped
# rulesets' outputs. A field not named here is shown by its identifier. `{n}`: a list field
# spread over one column per item.
FIELD_LABELS = {
    "year": "Année",
    "date": "Date",
    "kind": "Nature",
    "amount": "Montant",
    "option": "Option",
    "amounts": "Aide année {n}",
    "additional_patients_mt": "Patients MT à ajouter",
    "additional_file_active": "File active à ajouter",
}
# Codes written as text (not enums) in the shipped rulesets' outputs, with their French words.
TEXT_LABELS = {"single": "versement unique", "advance": "avance", "balance": "solde"}
NOTHING = "néant"  # an empty list
LABEL_WIDTH = 70  # values are aligned after the labels up to this width
WIDE_CELL = 32  # a cell longer than this is given as a note under its table
MAX_SPREAD = 8  # a list field is spread over columns when every row has at most this many items

_KIND_WORDS = {"rule": "règle", "condition": "condition", "requirement": "exigence", "parameter": "paramètre",
               "table": "barème", "input": "donnée", "builtin": "donnée", "as_of": "selon", "reading": "lecture"}
_GRADE_WORDS = {"secondary": "source secondaire", "hypothesis": "hypothèse"}  # official goes without saying


# ---------------------------------------------------------------- results (`millesime eval`)

def results(result, ids: bool = False, titles: dict[str, str] | None = None) -> list[str]:
    """The outputs of an evaluation: its header, then each output under its French label (under its
    identifier with `ids`, values then shown by their codes). `titles`: ruleset id → title, to name
    a ruleset given as a value (`governing_ruleset`)."""
    m = result.ruleset
    labels = {} if ids else {**TEXT_LABELS, **(titles or {}), **result.labels()}
    if m.effective_from:
        span = f"en vigueur du {display(m.effective_from)}" + (
            f" au {display(m.effective_until)}" if m.effective_until else ", sans date de fin")
    else:
        span = f"en vigueur jusqu'au {display(m.effective_until)}" if m.effective_until else "toujours en vigueur"
    lines = [m.header.title,
             f"texte {m.id} ({m.fingerprint}), {span}",
             f"calcul au {display(result.date)}", ""]
    names = {name: (name if ids else node.label) for name, node in result.explanation.items()}
    blocks = {name: _list_block(node.value, node.type, labels, ids) for name, node in result.explanation.items()}
    width = min(max((len(names[n]) for n, b in blocks.items() if b is None), default=0), LABEL_WIDTH)
    for name, node in result.explanation.items():
        title, block = names[name], blocks[name]
        if block is None:
            value = NOTHING if _is_list(node.type) and node.value in ([], ()) else display(node.value, node.type, labels)
            lines.append(f"{title:<{width}}  {value}" if len(title) <= width else f"{title} : {value}")
            continue
        if lines[-1]:  # a table or a list stands apart
            lines.append("")
        lines += [f"{title} :"] + block + [""]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _is_list(t: T.Type | None) -> bool:
    return t is not None and t.base.kind in ("list", "set")


def _list_block(value, t: T.Type | None, labels: dict, ids: bool) -> list[str] | None:
    """A list of reasons as a list, of records as a table; None for a value shown on one line."""
    if not _is_list(t) or not isinstance(value, (list, tuple)) or not value:
        return None
    item = t.base.args[0] if t.base.args else None
    if item is None or not all(isinstance(v, dict) for v in value):
        return None
    if item.base.kind == "reason":
        return _reasons(value, ids)
    if item.base.kind == "record":
        return ["  " + line for line in table(value, dict(item.base.fields), labels, ids)]
    return None


def _reasons(reasons: list[dict], ids: bool) -> list[str]:
    lines = []
    for r in reasons:
        head = f"{r.get('requirement')} : " if ids else ""
        lines.append(f"  - {head}{r.get('label')}")
        if r.get("source"):
            lines.append(f"    source : {r['source']}")
    return lines


def table(rows: list[dict], fields: dict[str, T.Type], labels: dict, ids: bool = False) -> list[str]:
    """Records as a text table, a column per field (a list field spread over a column per item);
    cells longer than WIDE_CELL are replaced by a note mark and written in full beneath."""
    columns: list[tuple[str, object]] = []  # (header, how to get the cell from a row)
    for name, t in fields.items():
        items = [r.get(name) for r in rows]
        if _is_list(t) and all(isinstance(v, (list, tuple)) for v in items) \
                and 0 < max(len(v) for v in items) <= MAX_SPREAD:
            inner = t.base.args[0] if t.base.args else None
            for i in range(max(len(v) for v in items)):
                header = f"{name}[{i + 1}]" if ids else FIELD_LABELS.get(name, name + " {n}").format(n=i + 1)
                columns.append((header, _item_cell(name, i, inner, labels)))
        else:
            header = name if ids else FIELD_LABELS.get(name, name).replace(" {n}", "")
            columns.append((header, _field_cell(name, t, labels)))
    notes: list[str] = []
    body = []
    for r in rows:
        cells = []
        for _, cell in columns:
            text = cell(r)
            if len(text) > WIDE_CELL:
                if text not in notes:
                    notes.append(text)
                text = f"voir note {notes.index(text) + 1}"
            cells.append(text)
        body.append(cells)
    headers = [h for h, _ in columns]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
    numeric = [all(_looks_numeric(b[i]) for b in body) for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()
    out = [line(headers), "  ".join("─" * w for w in widths)] + [line(b) for b in body]
    out += [f"note {i}. {text}" for i, text in enumerate(notes, 1)]
    return out


def _field_cell(name, t, labels):
    return lambda row: display(row.get(name), t, labels)


def _item_cell(name, i, t, labels):
    def cell(row):
        items = row.get(name)
        return display(items[i], t, labels) if i < len(items) else ""
    return cell


def _looks_numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[:1] == "-" and text[1:2].isdigit()) and "/" not in text


# ---------------------------------------------------------------- explanations (`millesime explain`)

def tree(node: Node, references_by_ruleset: dict[str, dict], labels: dict[str, str], depth: int | None = None,
         short: bool = False, ids: bool = True) -> list[str]:
    """The explanation of a figure, one line a figure with its sources beneath it.

    Whole by default: each node's formula, note and sources, with the kind and identifier of what
    computed it. `depth`: only so many levels under the figure (a line says how many are left out).
    `short`: figures and sources (instrument and article, without the quotation) only, each figure
    once; `ids` then adds the identifiers. Otherwise a figure met again is named, not explained
    again ("voir plus haut")."""
    lines: list[str] = []
    _tree(node, references_by_ruleset, labels, depth, short, ids, "", set(), lines)
    return lines


def _tree(node, refs_by_ruleset, labels, depth, short, ids, indent, seen, out) -> None:
    head = f"{indent}{node.label} = {display(node.value, node.type, labels)}"
    if ids or not short:
        tag = node.name if node.kind in ("input", "builtin") else f"{_KIND_WORDS.get(node.kind, node.kind)} {node.name}"
        head += f"   [{tag}]"
    grade = explain.node_grade(node, refs_by_ruleset)
    if grade in _GRADE_WORDS:
        head += f" [{_GRADE_WORDS[grade]}]"
    if id(node) in seen:
        if not short:  # the short form names each figure once
            out.append(head + "  (voir plus haut)")
        return
    out.append(head)
    seen.add(id(node))
    inner = indent + "    "
    if not short:
        if node.note:
            out.append(f"{inner}→ {node.note}")
        if node.expr and node.kind not in ("input", "table"):
            out.append(f"{inner}formule : {' '.join(node.expr.split())}")
    refs = refs_by_ruleset.get(node.ruleset, {})
    for src in node.sources:
        out.append(f"{inner}source : {_source(src, refs, short)}")
    if not node.children:
        return
    if depth is not None and depth <= 0:
        hidden = _count_below(node, set(seen))
        if hidden:
            word = "élément de calcul non affiché" if hidden == 1 else "éléments de calcul non affichés"
            out.append(f"{inner}… {hidden} {word} (--depth pour en voir plus)")
        return
    for child in node.children:
        _tree(child, refs_by_ruleset, labels, None if depth is None else depth - 1, short, ids, inner, seen, out)


def _source(src, refs, short: bool) -> str:
    if short and src.quote:
        src = dataclasses.replace(src, quote=None)  # the instrument and the article, not the quotation
    return explain.source_text(src, refs)


def _count_below(node: Node, seen: set) -> int:
    """How many distinct figures lie under `node` and are not shown elsewhere already."""
    count, stack = 0, list(node.children)
    while stack:
        child = stack.pop()
        if id(child) in seen:
            continue
        seen.add(id(child))
        count += 1
        stack.extend(child.children)
    return count


def heading(result) -> str:
    m = result.ruleset
    return f"{m.header.title} ({m.id}, {m.fingerprint}) — le {display(result.date)}"

