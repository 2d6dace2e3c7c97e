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
from pathlib import Path

from dsl import ast
from dsl.ast import type_text
from dsl.model import Change, Ruleset

from . import docs_dsl, docs_examples, docs_unknowns, testing
from .docs_text import (BANNER, Words, _KIND_FR, _SYMBOL_CHANGE, _num, cell_text, code_html, contains, date_fr,
                        heading_text, inline_code, md, render_table, source_lines, sources_block, table, where,
                        words_and_dsl)
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
DEFAULT_CASES_DIR = Path("tests/agreements")


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
        pages = {"index.md": self.index(), "calendrier.md": self.calendar(), "dsl.md": docs_dsl.page(self),
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
            if any(contains(x, ast.AsOf) for x in exprs):
                rows = [("", rule.expr, L)] + [(f"exception « {exc.label} » : lorsque", exc.when, L)
                                               for exc in rule.exceptions]
                found.append(("rule", rule.name, rule.label, rows, rule.sources, rule.notes, rule.loc))
        for cond in m.conditions.values():
            for req in cond.requirements:
                if contains(req.expr, ast.AsOf):
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


def _notes(notes: list[str]) -> str:
    return "".join(f"> {md(n)}\n\n" for n in notes)


def _change_anchor(c: Change) -> str:
    """`replaced-rule-amount`; a cell's headings (`aid_amount[3+, full]`) become plain characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", f"{c.action}-{c.kind}-{c.name}").strip("-")


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
