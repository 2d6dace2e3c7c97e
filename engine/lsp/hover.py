"""What the analyst reads when hovering a name: in French, as Markdown.

For every name: what it is, its French label, its type, the legal sources it rests on with their
quotes and grade (officielle, secondaire, hypothèse). For a parameter or a table: its value in
this file's ruleset and, when another declaration is in force on the reference date (the
ruleset in force that day replaced it), that one's value too. Hovering a table cell gives that
cell: its headings, its value, what it rests on, and the same cell in force on the date.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from dsl import ast, model as M
from dsl.ast import type_text
from dsl.builder import heading_key

from ..explain import source_text
from ..unknowns import grade, source_grade
from .analysis import Analysis, Occurrence, declared

GRADE_FR = {"official": "officielle", "secondary": "secondaire", "hypothesis": "hypothèse"}
KIND_FR = {"rule": "règle", "parameter": "paramètre", "table": "barème", "condition": "condition"}


def in_force(analysis: Analysis, day: dt.date) -> M.Ruleset | None:
    for m in sorted(analysis.models.values(), key=lambda m: (m.effective_from or dt.date.min, m.id)):
        if m.in_force_on(day):
            return m
    return None


def _date(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "…"


def _code(text: str) -> str:
    tick = "``" if "`" in text else "`"
    return f"{tick}{text}{tick}"




def _where(loc: ast.Loc, analysis: Analysis) -> str:
    owner = next((m for m in analysis.models.values() if m.file.path == loc.file), None)
    title = f" — *{owner.header.title}*" if owner is not None else ""
    return f"{Path(loc.file).name}, ligne {loc.line}{title}"


def sources_block(sources: list[ast.Source], references: dict[str, ast.Reference]) -> list[str]:
    if not sources:
        return ["*Aucune source citée.*"]
    overall = grade(sources, references)
    out = [f"**Sources** (la plus forte : {GRADE_FR[overall]}) :"]
    for src in sources:
        g = source_grade(src, references)
        word = GRADE_FR[g] if g else "non gradée, comptée comme secondaire"
        url = src.url or (references[src.reference].url if src.is_reference_name and src.reference in references
                          else None)
        text = source_text(src, references)
        out.append(f"- *{word}* — {text}" + (f" ([lien]({url}))" if url else ""))
    return out


def _notes(notes: list[str]) -> list[str]:
    return [f"> {n}" for n in notes]


def _bounds(low, high) -> str:
    if low is not None and high is not None:
        return f"entre {_code(low.text)} et {_code(high.text)}"
    if low is not None:
        return f"au moins {_code(low.text)}"
    return f"au plus {_code(high.text)}"


def _readings(readings: list[ast.Reading]) -> list[str]:
    if not readings:
        return []
    out = ["**Lectures** (les sources en admettent plusieurs) :"]
    out += [f"- `{r.name}` — {r.label} : {_code(r.expr.text)}" for r in readings]
    return out


def hover(analysis: Analysis, path: str, occurrence: Occurrence, day: dt.date) -> str | None:
    symbol = occurrence.symbol
    m = analysis.model_of(path)
    if symbol.kind == "ruleset":
        target = analysis.models.get(symbol.name)
        return _ruleset(target) if target is not None else None
    if m is None:
        return None
    now = in_force(analysis, day)
    removed = next((c for c in m.changes if c.action == "removed" and c.name == symbol.name and occurrence.declares
                    and c.loc.line - 1 == occurrence.span.line), None)
    if removed is not None:
        return _removal(analysis, removed)
    if symbol.kind == "cell":
        return _cell(analysis, m, symbol.name, symbol.row, symbol.column, now, day)
    item, owner = declared(m, symbol)
    if item is None:
        return None
    if symbol.kind == "value":
        return _value(analysis, m, owner, item, now, day)
    if symbol.kind == "input":
        return _input(analysis, m, item)
    if symbol.kind == "enum":
        lines = [f"**liste de valeurs** `{item.name}` — {item.label}", ""]
        lines += [f"- `{x.name}` — {x.label}" for x in item.members]
        return "\n".join(lines + ["", _where(item.loc, analysis)])
    if symbol.kind == "member":
        return (f"**valeur** `{symbol.name}` — {item.label}\n\nUne des valeurs de `{owner.name}` ({owner.label}).\n\n"
                + _where(item.loc, analysis))
    if symbol.kind == "reference":
        word = GRADE_FR.get(item.grade, "non gradée, comptée comme secondaire")
        lines = [f"**référence** `{item.name}` — {item.title}", "", f"Source *{word}*."]
        if item.url:
            lines.append(f"\n<{item.url}>")
        return "\n".join(lines + ["", _where(item.loc, analysis)])
    if symbol.kind == "requirement":
        lines = [f"**exigence** `{symbol.name}` — {item.label}", "", f"Condition : `{owner.name}` ({owner.label})",
                 "", f"Test : {_code(item.expr.text)}", ""]
        lines += _notes(item.notes) + sources_block(item.sources, m.references)
        for w in item.waivers:
            lines += ["", f"**Dérogation** « {w.label} » : {_code(w.when.text)}"]
        return "\n".join(lines + ["", _where(item.loc, analysis)])
    if symbol.kind == "param":
        return f"**paramètre de la règle** `{owner.name}` : `{item.name} : {type_text(item.type)}`\n\n{owner.label}"
    return None


_THE = {"rule": "la règle", "parameter": "le paramètre", "table": "le barème", "condition": "la condition",
        "requirement": "l'exigence", "input": "la donnée", "enum": "la liste de valeurs", "output": "le résultat"}


def _removal(analysis: Analysis, change: M.Change) -> str:
    old = change.old
    label = getattr(old, "label", None)
    lines = [f"**Suppression** de {_THE.get(change.kind, change.kind)} `{change.name}`"
             + (f" — {label}" if label else ""), ""]
    if change.because:
        lines += [f"Motif : {change.because}", ""]
    if isinstance(old, (ast.Declaration, ast.Requirement)):
        lines.append(f"Déclaration supprimée : {_where(old.loc, analysis)}")
    return "\n".join(lines).rstrip()


def _ruleset(m: M.Ruleset) -> str:
    h = m.header
    lines = [f"**texte** `{h.id}` — {h.title}", ""]
    if h.instrument:
        lines.append(h.instrument + ("" if not h.published else f" ({h.published})"))
        lines.append("")
    lines.append(f"En vigueur du {_date(h.effective_from)} au {_date(h.effective_until)}"
                 + (f" ; modifie `{h.amends}`" if h.amends else "") + ".")
    return "\n".join(lines)


def _value(analysis: Analysis, m: M.Ruleset, kind: str, decl, now: M.Ruleset | None, day: dt.date) -> str:
    head = f"**{KIND_FR[kind]}** `{decl.name}"
    if kind == "rule" and decl.params:
        head += "(" + ", ".join(f"{p.name} : {type_text(p.type)}" for p in decl.params) + ")"
    head += "`"
    if kind in ("rule", "parameter", "table") and decl.type is not None:
        head += f" : `{type_text(decl.type)}`"
    lines = [head, "", decl.label, ""]
    if kind == "parameter":
        lines += _parameter_value(decl, "Valeur")
    elif kind == "rule":
        lines += [f"Formule : {_code(decl.expr.text if not isinstance(decl.expr, ast.ReadingsValue) else 'readings')}",
                  ""]
        for e in decl.exceptions:
            lines += [f"**Exception** « {e.label} » : quand {_code(e.when.text)}, alors {_code(e.value.text)}", ""]
        lines += _readings(decl.readings)
    elif kind == "table":
        lines += _table(decl) + [""]
    elif kind == "condition":
        lines += ["**Exigences** :"] + [f"- `{r.name}` — {r.label}" for r in decl.requirements] + [""]
    lines += _notes(decl.notes) + ([""] if decl.notes else [])
    lines += sources_block(decl.sources, m.references)
    lines += ["", _where(decl.loc, analysis)]
    if kind in ("parameter", "table") and now is not None and now is not m:
        other = now.value_declaration(decl.name)[1]
        if other is not None and other is not decl:
            lines += ["", f"**En vigueur le {_date(day)}** (`{now.id}`, {_where(other.loc, analysis)}) :", ""]
            lines += _parameter_value(other, "Valeur") if kind == "parameter" else _table(other)
    return "\n".join(lines).rstrip()


def _parameter_value(decl: ast.ParameterDecl, word: str) -> list[str]:
    value = decl.value
    if isinstance(value, ast.Unknown):
        known = f", {_bounds(value.low, value.high)}" if value.low is not None or value.high is not None else ""
        return [f"{word} : non établie{known}", ""]
    if isinstance(value, ast.ReadingsValue):
        return [f"{word} : selon la lecture retenue", ""] + _readings(decl.readings) + [""]
    lines = [f"{word} : {_code(value.text)}", ""]
    for b in decl.bounds:
        lines += [f"Bornes, quelle que soit la valeur de sa source : {_bounds(b.low, b.high)}", ""]
    return lines


def _table(decl: ast.TableDecl) -> list[str]:
    dims = " × ".join(f"`{d.name}` (`{type_text(d.type)}`)" for d in decl.dims)
    lines = [f"Barème par {dims} :", ""]
    if decl.column_keys:
        lines.append("| | " + " | ".join(k.text for k in decl.column_keys) + " |")
        lines.append("|---|" + "---|" * len(decl.column_keys))
    else:
        lines.append(f"| {decl.dims[0].name} | valeur |")
        lines.append("|---|---|")
    for key, row in zip(decl.row_keys, decl.cells):
        lines.append(f"| {key.text} | " + " | ".join(c.text.replace("|", "\\|") for c in row) + " |")
    return lines


def _cell(analysis: Analysis, m: M.Ruleset, table: str, row: int, column: int, now, day) -> str | None:
    decl = _table_written(analysis, m, table, row, column)
    if decl is None:
        return None
    cell = decl.cells[row][column]
    headings = [decl.row_keys[row]] + ([decl.column_keys[column]] if decl.column_keys else [])
    lines = [f"**case** `{decl.cell_name(row, column)}` du barème `{decl.name}`", "", decl.label, "",
             "En-têtes : " + ", ".join(f"{d.name} {_code(h.text)}" for d, h in zip(decl.dims, headings)), "",
             "Valeur : " + _cell_value(cell), ""]
    clause = decl.clause(row, column)
    if clause is not None:
        lines += _notes(clause.notes) + ([""] if clause.notes else [])
        lines += [f"Bornes : {_bounds(b.low, b.high)}" for b in clause.bounds] + ([""] if clause.bounds else [])
        lines += _readings(clause.readings) + ([""] if clause.readings else [])
    lines += sources_block(decl.cell_sources(row, column), m.references)
    lines += ["", _where(cell.loc, analysis)]
    if now is not None:
        current = now.tables.get(table)
        if current is not None and current is not decl:
            same = _same_cell(current, headings)
            if same is not None:
                r, c = same
                lines += ["", f"**En vigueur le {_date(day)}** (`{now.id}`, {_where(current.cells[r][c].loc, analysis)}) : "
                          + _cell_value(current.cells[r][c])]
            else:
                lines += ["", f"**En vigueur le {_date(day)}** (`{now.id}`) : le barème n'a plus cette case."]
    return "\n".join(lines).rstrip()


def _table_written(analysis: Analysis, m: M.Ruleset, table: str, row: int, column: int) -> ast.TableDecl | None:
    """The table written where the cursor is: this file's own declaration of it."""
    for d in m.file.declarations:
        inner = d.declaration if isinstance(d, ast.Replace) else d
        if isinstance(inner, ast.TableDecl) and inner.name == table and row < len(inner.cells) \
                and column < len(inner.cells[row]):
            return inner
    return None


def _same_cell(table: ast.TableDecl, headings: list[ast.TableKey]) -> tuple[int, int] | None:
    axes = [table.row_keys] + ([table.column_keys] if table.column_keys else [])
    found = []
    for heading, keys in zip(headings, axes):
        index = next((i for i, k in enumerate(keys) if heading_key(k.text) == heading_key(heading.text)), None)
        if index is None:
            return None
        found.append(index)
    return found[0], (found[1] if len(found) > 1 else 0)


def _cell_value(cell: ast.TableCell) -> str:
    if cell.kind == "no_value":
        return "aucune (`—` : le texte n'en donne pas)"
    if cell.kind == "unknown":
        known = cell.expr.low is not None or cell.expr.high is not None
        return f"non établie ({_code(cell.text)}" + (" : seules ses bornes sont connues)" if known else ")")
    if cell.kind == "readings":
        return "selon la lecture retenue (`readings`)"
    return f"**{cell.text}**"


def _input(analysis: Analysis, m: M.Ruleset, decl: ast.InputDecl) -> str:
    lines = [f"**donnée du dossier** `{decl.path}` : `{type_text(decl.type)}`", "", decl.label, ""]
    if m.input_is_optional(decl.path):
        lines += ["Facultative : à tester avec `is set` avant usage.", ""]
    low = next((b.value for b in decl.bounds if b.kind == "min"), None)
    high = next((b.value for b in decl.bounds if b.kind == "max"), None)
    if low is not None or high is not None:
        words = (f"entre {low} et {high}" if low is not None and high is not None else
                 f"au moins {low}" if low is not None else f"au plus {high}")
        lines += [f"Valeurs admises : {words}.", ""]
    if decl.sources:
        lines += sources_block(decl.sources, m.references) + [""]
    return "\n".join(lines + [_where(decl.loc, analysis)])
