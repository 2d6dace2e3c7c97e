"""The « Exemples chiffrés » pages of the legal-review site (see engine/docs.py).

For each agreement, a page of one screen that lists its regression cases by file — number, name,
date, whether it conforms — each linked to its own section, and one page per regression file:
the case's data, expected and computed results, and the explanation of each result, folded
(`<details>`), so that a reviewer can find one case without loading two megabytes of trees.

    exemples/<id>.md             the list of the cases, by file
    exemples/<id>/<file>.md      the cases of tests/agreements/<id>/<file>.yaml
"""
from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

from dsl.errors import MillesimeError
from dsl.model import Ruleset

from . import testing
from .docs_text import BANNER, inline_code, md, source_lines, table
from .explain import Node
from .interpreter import evaluate
from .values import display

# The regression files of the shipped agreements, by subject; another file is titled by its name.
FILE_TITLES = {
    "eligibility": "Éligibilité",
    "amounts": "Montants",
    "options": "Options proposées",
    "targets_modulation": "Objectifs et modulation",
    "payments": "Versements",
    "transitions": "Passages d'un texte à l'autre",
    "regressions": "Défauts corrigés",
}
_NODE_KIND = {"rule": "règle", "condition": "condition", "requirement": "exigence", "parameter": "paramètre",
              "table": "barème", "input": "donnée", "builtin": "donnée", "as_of": "selon"}


def file_title(path: Path) -> str:
    return FILE_TITLES.get(path.stem, f"Fichier {path.name}")


def case_files(site, ruleset_id: str) -> list[tuple[Path, list[testing.RegressionCase]]]:
    """The regression files of an agreement, in the order of `testing.collect`, with their cases."""
    if site.cases_dir is None or not (site.cases_dir / ruleset_id).is_dir():
        return []
    return [(path, testing.load_cases(path)) for path in testing.collect([site.cases_dir / ruleset_id])]


def pages(site, m: Ruleset) -> dict[str, str]:
    """The list page of an agreement and one page per regression file."""
    files = case_files(site, m.id)
    out: dict[str, str] = {}
    head = [BANNER, f"# Exemples chiffrés : {md(m.header.title)}\n\n"]
    if not files:
        head.append("Aucun cas de non-régression n'est encore écrit pour ce texte "
                    f"(dossier `tests/agreements/{m.id}/`).\n")
        out[f"exemples/{m.id}.md"] = "".join(head)
        return out
    total = sum(len(cases) for _, cases in files)
    head.append(f"Ce texte a {total} cas de non-régression, rangés par fichier. La page de chaque fichier donne, "
                "pour chaque cas, les données, les résultats attendus et calculés, et l'explication de chaque "
                "résultat, règle par règle, avec ses sources (repliée : cliquer pour l'ouvrir). Ils sont rejoués à "
                "chaque test du projet.\n")
    for path, cases in files:
        page = f"exemples/{m.id}/{path.stem}.md"
        sections, rows = [], []
        for n, c in enumerate(cases, 1):
            text, passed = _example(site, n, c, m)
            sections.append(text)
            rows.append([str(n), f"[{md(c.name)}]({m.id}/{path.stem}.md#cas-{n})", _date(c.on),
                         "✓" if passed else "✗ **non conforme**"])
        out[page] = "".join([
            BANNER, f"# {md(file_title(path))} : {md(m.header.title)}\n\n",
            f"Le fichier {inline_code(path.name)} : {len(cases)} cas "
            f"([tous les exemples de ce texte](../{m.id}.md)).\n", *sections])
        head.append(f"\n## [{md(file_title(path))}]({m.id}/{path.stem}.md)\n\n")
        head.append(f"Fichier {inline_code(path.name)}, {len(cases)} cas.\n\n")
        head.append(table(["n°", "Cas", "Date du calcul", "Conforme"], rows))
    out[f"exemples/{m.id}.md"] = "".join(head)
    return out


def nav(site, m: Ruleset, quote) -> list[str]:
    """The lines of .nav.yml for an agreement's examples, under « Exemples »."""
    files = case_files(site, m.id)
    if not files:
        return [f"      - {quote(m.header.title)}: exemples/{m.id}.md"]
    lines = [f"      - {quote(m.header.title)}:", f"          - Tous les cas: exemples/{m.id}.md"]
    lines += [f"          - {quote(file_title(p))}: exemples/{m.id}/{p.stem}.md" for p, _ in files]
    return lines


def _date(day) -> str:
    return day.strftime("%d/%m/%Y") if isinstance(day, dt.date) else "—"


def _example(site, n: int, c: testing.RegressionCase, m: Ruleset) -> tuple[str, bool]:
    """One case's section, and whether it conforms."""
    out = [f"\n## {n}. {md(c.name)} {{#cas-{n}}}\n\n",
           f"- Fichier : `{c.file.name}`, cas n° {c.index + 1}\n",
           f"- Date du calcul : {_date(c.on)}\n"]
    try:
        in_force = site.registry.in_force(c.on).model
        out.append(f"- Texte en vigueur ce jour-là : [{md(in_force.header.title)}](../../accords/{in_force.id}.md)\n")
    except MillesimeError:
        in_force = m
    out.append("\n### Données\n\n")
    out.append(_case_tree(site, c.case, in_force, "") or "*(aucune)*\n")
    outcome = testing.run_case(c, site.registry)
    try:
        result = evaluate(c.case, c.on, site.registry, outputs=list(c.expect) or None)
    except MillesimeError as exc:
        out.append("\n### Résultat\n\n")
        message = _sanitize(site, exc.render())
        if c.expect_error:
            out.append(f"Le calcul doit échouer avec un message contenant « {md(c.expect_error)} ».\n\n")
        out.append(f"Message du moteur :\n\n```text\n{message}\n```\n\n")
        out.append(f"**{'Conforme' if outcome.passed else 'NON CONFORME'}** à l'attendu.\n")
        return "".join(out), outcome.passed
    labels = result.labels()
    actual = result.json_values()
    out.append("\n### Résultats\n\n")
    rows = []
    for name, node in result.explanation.items():
        expected = c.expect.get(name, None)
        ok = name in c.expect and expected != "not established" and testing.same(expected, actual.get(name))
        ok = ok or (expected == "not established" and name in result.not_established())
        rows.append([f"{md(node.label)} ({inline_code(name)})", md(display(node.value, node.type, labels)),
                     inline_code(_yaml_text(expected)) if name in c.expect else "—",
                     ("✓" if ok else "✗ **non conforme**") if name in c.expect else " "])
    out.append(table(["Résultat", "Calculé", "Attendu", "Conforme"], rows))
    for failure in outcome.failures:
        out.append(f"\n> ✗ {md(failure)}\n")
    out.append("\n### Explication\n")
    refs = result.references()
    seen: set = set()
    for node in result.explanation.values():
        summary = html.escape(f"Explication : {node.label} = {display(node.value, node.type, labels)}", quote=False)
        out.append(f'\n<details markdown="1">\n<summary>{summary}</summary>\n\n')
        out.append("".join(_node(site, node, refs, labels, seen, 0)))
        out.append("\n</details>\n")
    return "".join(out), outcome.passed


def _sanitize(site, text: str) -> str:
    folder = site.registry.folder
    if folder is not None:
        text = text.replace(str(folder.resolve()) + "/", "").replace(str(folder) + "/", "")
    return text


def _case_tree(site, data, model: Ruleset, prefix: str, depth: int = 0) -> str:
    out = []
    pad = "    " * depth
    labels = site.entry(model.id).labels
    for key in data if isinstance(data, dict) else []:
        path = f"{prefix}{key}"
        value = data[key]
        decl = model.inputs.get(path)
        label = md(decl.label) if decl else md(key)
        if isinstance(value, dict):
            out.append(f"{pad}- **{label}** ({inline_code(path)}) :\n")
            out.append(_case_tree(site, value, model, path + ".", depth + 1))
        else:
            t = model.input_type(path) if decl else None
            out.append(f"{pad}- {label} ({inline_code(path)}) : **{md(display(value, t, labels))}**\n")
    return "".join(out)


def _node(site, node: Node, refs, labels, seen: set, depth: int) -> list[str]:
    pad = "    " * depth
    value = md(display(node.value, node.type, labels))
    kind = _NODE_KIND.get(node.kind, node.kind)
    if node.kind in ("rule", "condition", "parameter", "table"):
        what = f"{kind} [{inline_code(node.name)}](../../accords/{node.ruleset}.md#{node.name})"
    elif node.kind == "as_of":
        what = f"{kind} [{md(site.title(node.ruleset))}](../../accords/{node.ruleset}.md)"
    else:
        what = f"{kind} {inline_code(node.name)}"
    lines = [f"{pad}- **{md(node.label)}** = {value} — {what}"]
    if id(node) in seen:
        return [lines[0] + " *(voir plus haut)*\n"]
    lines[0] += "\n"
    seen.add(id(node))
    inner = pad + "    "
    if node.note:
        lines.append(f"{inner}- *{md(node.note)}*\n")
    if node.expr and node.kind not in ("input", "builtin"):
        word = "case du barème" if node.kind == "table" else "formule"
        lines.append(f"{inner}- {word} : {inline_code(node.expr)}\n")
    for src in source_lines(node.sources, refs.get(node.ruleset, {})):
        lines.append(f"{inner}- source : {src}\n")
    for child in node.children:
        lines.extend(_node(site, child, refs, labels, seen, depth + 1))
    return lines


def _yaml_text(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return str(value)
