"""Generated pages and fragments about what the law leaves open (issue 12), in French.

- `inconnues.md`: every unknown of every agreement — a `?` (with the bounds the texts give it),
  a set of readings, a `not established "…"` written in a rule — with what is known of it,
  the grade of what it rests on, and the results it can change; then the figures that rest on
  a secondary source (those `--official-only` sets aside);
- fragments the agreement pages use: a cell or a parameter as what is known of it, the
  readings of a declaration, the order and cell clauses of a table, grade badges.

The bounds shown are those the engine computes (the row plan's folded constants, orders of
the tables applied), so the page says exactly what a calculation will use.
"""
from __future__ import annotations

from dsl import ast
from dsl.model import Ruleset
from dsl.walk import walk

from .docs_text import BANNER, inline_code, md, table
from .plan import UNSET
from .unknowns import grade
from .values import NotEstablished, display

SECONDARY_MARK = "◊"  # a figure that rests on a secondary source, in tables and parameters
GRADE_WORDS = {"official": "officielle", "secondary": "secondaire", "hypothesis": "hypothèse"}




def known(value, t) -> str:
    """What is known of a value of the ruleset, in words: the figure, or « non établi » with its bounds."""
    if value is UNSET:
        return "dépend du dossier"
    if not isinstance(value, NotEstablished):
        return md(display(value, t))
    if value.shape == "range":
        low = None if value.low is None else md(display(value.low, t))
        high = None if value.high is None else md(display(value.high, t))
        if low is not None and high is not None:
            return f"non établi, entre {low} et {high}"
        return f"non établi, au moins {low}" if low is not None else f"non établi, au plus {high}"
    if value.shape == "set":
        return "non établi, l'une des valeurs " + ", ".join(sorted(md(display(m, t)) for m in value.members))
    return "non établi"


def readings_rows(readings: list[ast.Reading], words, L=frozenset()) -> list[tuple[str, str, str]]:
    return [(f"lecture « {md(r.label)} »", words(r.expr, L), r.expr.text) for r in readings]


def readings_notes(readings: list[ast.Reading], refs, notes_sources) -> str:
    out = []
    for r in readings:
        if r.notes or r.sources:
            out.append(notes_sources(r.notes, r.sources, refs, f"Source de la lecture « {md(r.label)} »"))
    return "".join(out)


def table_clauses(decl: ast.TableDecl, refs, notes_sources) -> str:
    """The order a table's cells follow and what single cells rest on, below the table."""
    out = []
    for order in decl.orders:
        word = "croissent" if order.direction == "increasing" else "décroissent"
        out.append(f"\nLes valeurs du barème {word} selon `{order.axis}` : une case non établie est bornée par ses "
                   "voisines.\n")
        if order.notes or order.sources:
            out.append(notes_sources(order.notes, order.sources, refs, "Source de cet ordre"))
    for clause in decl.cell_clauses:
        name = decl.cell_name(clause.row, clause.column)
        out.append(f"\n**Case `{name}`**\n")
        if clause.notes or clause.sources:
            out.append(notes_sources(clause.notes, clause.sources, refs, "Source de cette case"))
        for bound in clause.bounds:
            side = "au moins " + bound.low.text if bound.low is not None else ""
            if bound.high is not None:
                side = (side + " et au plus " if side else "au plus ") + bound.high.text
            out.append(f"\nBorne : {md(side)}.\n")
            if bound.notes or bound.sources:
                out.append(notes_sources(bound.notes, bound.sources, refs, "Source de cette borne"))
        for r in clause.readings:
            out.append(f"\n- lecture « {md(r.label)} » : `{r.expr.text}`\n")
            if r.notes or r.sources:
                out.append(notes_sources(r.notes, r.sources, refs, f"Source de la lecture « {md(r.label)} »"))
    return "".join(out)


def cell_function(entry, decl: ast.TableDecl, table_type, base_cell_text):
    """How each cell of a table is shown: its figure (◊ when it rests on a secondary source), or
    what is known of it when it is not established."""
    compiled = entry.plan.tables[decl.name]
    refs = entry.model.references

    def cell(r, c, cell):
        if cell.kind in ("unknown", "readings"):
            return known(compiled.constants[r][c], table_type)
        text = base_cell_text(cell, table_type)
        if cell.kind == "value" and grade(decl.cell_sources(r, c), refs) != "official":
            text += f" {SECONDARY_MARK}"
        return text
    return cell


def secondary_legend(decl: ast.TableDecl, model: Ruleset) -> str:
    marked = [(r, c) for r, row in enumerate(decl.cells) for c, cell in enumerate(row)
              if cell.kind == "value" and grade(decl.cell_sources(r, c), model.references) != "official"]
    if not marked:
        return ""
    return (f"\n{SECONDARY_MARK} : chiffre reposant sur une source secondaire (presse, syndicats, sites privés, "
            "copie non officielle d'un texte) ; `--official-only` le tient pour inconnu.\n")


# ---------------------------------------------------------------- the page

def page(site) -> str:
    out = [BANNER, "# Ce qui n'est pas établi\n\n",
           "Les textes officiels n'ont pas tous pu être lus. Là où un chiffre ou une règle n'est pas établi, le "
           "fichier de règles le dit — une valeur `?` bornée par ce que l'on sait, des **lectures** concurrentes, "
           "ou `not established` — et le moteur calcule chaque résultat pour toutes les possibilités à la fois : "
           "le résultat est établi quand elles concordent, sinon il est donné avec ce que l'on en sait "
           "(« entre … et … ») et ce qui le déciderait. Rien n'est deviné : une hypothèse se pose explicitement, "
           "dans un fichier d'hypothèses (`--assume`, voir [le langage des règles](dsl.md)).\n\n",
           "Pour chaque texte, cette page liste ses inconnues, ce que l'on en sait, ce sur quoi cela repose et les "
           "résultats qu'elles peuvent changer ; puis les chiffres qui reposent sur une source secondaire.\n"]
    for m in site.timeline:
        entry = site.entry(m.id)
        out.append(f"\n## {md(m.header.title)}\n\n")
        rows = []
        deps = _dependencies(m)
        for item in unknowns_of(entry):
            changes = [o for o in m.outputs if item["declaration"] in deps.get(o, set())]
            rows.append([inline_code(item["name"]), md(item["label"]), item["known"], md(item["grade"]),
                         ", ".join(inline_code(o) for o in changes) or "aucun"])
        if rows:
            out.append(table(["Inconnue", "Libellé", "Ce que l'on sait", "Repose sur", "Résultats concernés"], rows))
        else:
            out.append("Aucune inconnue.\n")
        secondary = secondary_figures(entry)
        if secondary:
            out.append("\n### Chiffres reposant sur une source secondaire\n\n"
                       "Établis par défaut ; tenus pour inconnus avec `--official-only` (dans les bornes que des "
                       "sources officielles leur donnent).\n\n")
            out.append(table(["Chiffre", "Valeur", "Source"], [[inline_code(n), v, md(s)] for n, v, s in secondary]))
    return "".join(out)


def unknowns_of(entry) -> list[dict]:
    """The unknowns a ruleset states itself (not those --official-only opens), in declaration order."""
    m, plan = entry.model, entry.plan
    refs = m.references
    items = []
    for name, decl in m.parameters.items():
        decision = plan.parameter_decisions[name]
        if decision.kind in ("unknown", "readings"):
            value = plan.constants[plan.slots[name]]
            items.append({"name": name, "label": decl.label, "declaration": name,
                          "known": _known_or_readings(decision, value, m.resolve_type(decl.type)),
                          "grade": _grade_words(decl.sources, refs)})
    for name, decl in m.tables.items():
        compiled = plan.tables[name]
        for r, row in enumerate(decl.cells):
            for c, cell in enumerate(row):
                decision = compiled.decisions[r][c]
                if decision.kind in ("unknown", "readings"):
                    items.append({"name": decl.cell_name(r, c), "label": decision.unknown.label, "declaration": name,
                                  "known": _known_or_readings(decision, compiled.constants[r][c], compiled.type),
                                  "grade": _grade_words(decl.cell_sources(r, c), refs)})
    for name, decl in m.rules.items():
        decision = plan.rules[name].decision
        if decision.kind == "readings":
            items.append({"name": name, "label": decl.label, "declaration": name,
                          "known": _readings_text(decision.readings), "grade": _grade_words(decl.sources, refs)})
        for expr in _literals(decl):
            items.append({"name": name, "label": decl.label, "declaration": name,
                          "known": f"non établi : {expr.reason}", "grade": _grade_words(decl.sources, refs)})
    return items


def secondary_figures(entry) -> list[tuple[str, str, str]]:
    from .unknowns import source_titles
    m, plan = entry.model, entry.plan
    refs = m.references
    out = []
    for name, decl in m.parameters.items():
        if plan.parameter_decisions[name].kind == "known" and grade(decl.sources, refs) != "official":
            value = plan.constants[plan.slots[name]]
            shown = f"`{decl.value.text}`" if value is UNSET else known(value, m.resolve_type(decl.type))
            out.append((name, shown, source_titles(decl.sources, refs)))
    for name, decl in m.tables.items():
        compiled = plan.tables[name]
        for r, row in enumerate(decl.cells):
            for c, cell in enumerate(row):
                sources = decl.cell_sources(r, c)
                if cell.kind == "value" and grade(sources, refs) != "official":
                    out.append((decl.cell_name(r, c), known(compiled.constants[r][c], compiled.type),
                                source_titles(sources, refs)))
    return out


def _known_or_readings(decision, value, t) -> str:
    if decision.kind == "readings":
        return _readings_text(decision.readings)
    return known(value, t)


def _readings_text(readings) -> str:
    return "lectures : " + " ; ".join(f"« {md(r.label)} » (`{r.expr.text}`)" for r in readings)


def _grade_words(sources, refs) -> str:
    g = grade(sources, refs)
    return {"official": "sources officielles", "secondary": "sources secondaires",
            "hypothesis": "hypothèse"}[g]


def _literals(decl: ast.RuleDecl):
    exprs = [decl.expr] + [x for e in decl.exceptions for x in (e.when, e.value)] + [r.expr for r in decl.readings]
    for e in exprs:
        for node in walk(e):
            if isinstance(node, ast.NotEstablished):
                yield node


def _dependencies(m: Ruleset) -> dict[str, set]:
    """For each output, the declarations its calculation may read (names met, transitively)."""
    direct: dict[str, set] = {}
    for name, decl in m.rules.items():
        exprs = [decl.expr] + [x for e in decl.exceptions for x in (e.when, e.value)] + [r.expr for r in decl.readings]
        direct[name] = _names(exprs, m, walk)
    for name, decl in m.parameters.items():
        direct[name] = _names([decl.value] + [r.expr for r in decl.readings], m, walk)
    for name, decl in m.conditions.items():
        exprs = [x for r in decl.requirements for x in [r.expr] + [w.when for w in r.waivers]]
        direct[name] = _names(exprs, m, walk)
    for name in m.tables:
        direct[name] = set()
    closure: dict[str, set] = {}

    def reach(name, stack=()):
        if name in closure:
            return closure[name]
        if name in stack:
            return set()
        found = set(direct.get(name, ()))
        for n in list(found):
            found |= reach(n, stack + (name,))
        closure[name] = found
        return found
    return {o: reach(o) | {o} for o in m.outputs}


def _names(exprs, m: Ruleset, walk) -> set:
    names = set()
    for e in exprs:
        for node in walk(e):
            if isinstance(node, ast.Name) and m.value_declaration(node.name)[0] is not None:
                names.add(node.name)
            elif isinstance(node, ast.Call) and node.function in m.rules:
                names.add(node.function)
            elif isinstance(node, ast.Call) and node.function == "failed" and node.args:
                names.add(getattr(node.args[0], "name", ""))
    return names
