"""The legal-review site: generated pages (content, reproducibility, staleness), the mkdocs
build in strict mode, and the rendered HTML in headless Chromium.

Most tests run on the demonstration pair (tests/fixtures/demo) and its regression cases
(tests/fixtures/demo_cases); the last ones check the committed site of the shipped agreements.
"""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import docs, docs_text
from engine.cli import main
from engine.registry import Registry, shipped_rulesets_dir

from conftest import DEMO, TESTS

REPO = TESTS.parent
DEMO_CASES = TESTS / "fixtures" / "demo_cases"
NNBSP = "\u202f"  # the thin space of French amounts: 22 000,00 €
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def pages():
    return docs.generate(DEMO, DEMO_CASES)


def eur(amount: str) -> str:
    return amount.replace(" ", NNBSP) + " €"


def section(page: str, anchor: str) -> str:
    """The text of one `### … {#anchor}` section, up to the next heading of that level or above."""
    start = page.index("{#" + anchor + "}")
    end = re.search(r"\n#{1,3} ", page[start:])
    return page[start:start + end.start()] if end else page[start:]


def md_table(text: str, header_startswith: str) -> list[list[str]]:
    lines = text.splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("| " + header_startswith))
    rows = []
    for line in lines[i:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return [rows[0]] + rows[2:]


# ---------------------------------------------------------------- the pages (demo)

def test_one_page_per_agreement_changes_for_amending_ones_and_examples(pages):
    assert set(pages) == {"index.md", "calendrier.md", "dsl.md", "inconnues.md", ".nav.yml",
                          "accords/demo_base.md", "accords/demo_amend.md", "changements/demo_amend.md",
                          "exemples/demo_base.md", "exemples/demo_amend.md",
                          "exemples/demo_base/cases.md", "exemples/demo_amend/cases.md", "couverture.md"}
    assert all(p.startswith("<!-- Page générée") for name, p in pages.items() if name.endswith(".md"))


def test_pages_are_reproducible_and_independent_of_the_checkout(tmp_path, pages):
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy)
    again = docs.generate(copy, DEMO_CASES)
    assert again == pages
    for text in pages.values():
        assert str(REPO) not in text and str(tmp_path) not in text


def test_agreement_page_header_and_table_as_laid_out(pages):
    page = pages["accords/demo_amend.md"]
    assert page.startswith(docs.BANNER + "# Prime de démonstration (réforme de 2022)\n")
    assert "| Instrument | Texte de démonstration n°2 |" in page
    assert "| En vigueur | du 01/01/2022 sans date de fin |" in page
    assert "[Prime de démonstration (texte de base)](demo_base.md)" in page
    rows = md_table(section(page, "amount"), "`year`")
    assert rows == [["`year` / `option`", "1/2 ETP", "1 ETP"],
                    ["**1**", eur("11 000,00"), eur("22 000,00")],
                    ["**2**", eur("8 500,00"), eur("17 000,00")],
                    ["**3 et plus**", eur("6 500,00"), eur("13 000,00")]]
    assert "**Source** : [Texte de démonstration n°2](https://example.org/demo2), article 3" in section(page, "amount")


def test_rules_in_words_and_in_the_dsl_side_by_side_with_quote_and_link(pages):
    page = pages["accords/demo_base.md"]
    req = page[page.index("#### Avoir au moins 500 patients"):]
    assert ("| exigence | *Patientèle* est supérieur ou égal à [*Patientèle minimale*](#minimum_patients) | "
            "<code>physician.patients &gt;= minimum&#95;patients</code> |") in req
    assert ("| sauf si « Médecin nouvellement installé » | *Percentile national* n’est pas renseigné | "
            "<code>physician.percentile is not set</code> |") in req
    aid = section(page, "annual_aid")
    assert ("si *Contrat* est renseigné et la condition [*Éligibilité à la prime*](#eligible) est remplie, alors : "
            "le montant du barème [*Montant de la prime (euros)*](#amount) à la ligne [*Année de contrat en cours*]"
            "(#contract_year) et à la colonne *Option choisie* ;<br>sinon : aucune valeur") in aid
    assert "| exception « Forte patientèle » : lorsque |" in aid
    param = section(page, "minimum_patients")
    assert ("**Source** : [Texte de démonstration n°1](https://example.org/demo1), article 2 : "
            "« au moins 500 patients »") in param


def test_amending_agreement_page_shows_what_it_inherits(pages):
    page = pages["accords/demo_amend.md"]
    assert "repris de [Prime de démonstration (texte de base)](demo_base.md)" in section(page, "contract_year")
    assert "repris de" not in section(page, "annual_aid")


def test_changes_page_down_to_the_cells(pages):
    page = pages["changements/demo_amend.md"]
    table = section(page, "replaced-table-amount")
    assert f"| **1** | ~~{eur('10 000,00')}~~ → **{eur('11 000,00')}** | ~~{eur('20 000,00')}~~ → " \
           f"**{eur('22 000,00')}** |" in table
    assert "6 cases changent" in table
    assert f"| 2 | 1 ETP | {eur('16 000,00')} | {eur('17 000,00')} |" in table
    param = section(page, "replaced-parameter-minimum_patients")
    assert "| **avant** — valeur | 500 | <code>500</code> |" in param
    assert "| **après** — valeur | 600 | <code>600</code> |" in param
    req = section(page, "replaced-requirement-eligible-sector")
    assert "Libellé : « Exercer en secteur 1 » → « Exercer en secteur 1, ou en secteur 2 avec OPTAM »" in req
    assert "| **après** — exigence | *Secteur conventionnel* est égal à 1 ou *Adhésion à l'OPTAM* = oui |" in req
    assert "### Ajout : Adhésion à l'OPTAM {#added-input-physician-optam}" in page
    assert "- [Montants par année de contrat](../accords/demo_amend.md#amounts_by_year)" in page


def test_changes_page_lists_removals_with_their_reason_and_removed_rows(tmp_path):
    shutil.copy(DEMO / "demo_base.mil", tmp_path)
    (tmp_path / "cut.mil").write_text("""ruleset cut "Réforme qui supprime" instrument "Texte 3"
  effective from 2022-01-01 amends demo_base
reference T3 "Texte 3" url "https://example.org/t3"
remove rule ineligibility_reasons because "Les motifs ne sont plus notifiés."
  source T3 article "9" quote "les motifs ne sont plus notifiés"
remove output ineligibility_reasons
replace table amount "Montant de la prime (euros)" : money
  rows year : int
  columns option : option
  |   | half   | full   |
  | 1 | 10 000 | 21 000 |
  | 2+ | 8 000  | 16 000 |
  source T3 article "3"
extend enum option:
  double "2 ETP"
""", encoding="utf-8")
    page = docs.generate(tmp_path, None)["changements/cut.md"]
    removed = section(page, "removed-rule-ineligibility_reasons")
    assert "**Motif** : Les motifs ne sont plus notifiés." in removed
    assert ("**Source de la suppression** : [Texte 3](https://example.org/t3), article 9 : "
            "« les motifs ne sont plus notifiés »") in removed
    assert "<code>failed(eligible)</code>" in removed
    table = section(page, "replaced-table-amount")
    assert f"**{eur('8 000,00')}** *(nouveau)*" in table  # row `2+` did not exist
    assert "- la ligne **2** (" in table and "- la ligne **3 et plus** (" in table
    assert f"| 1 | 1 ETP | {eur('20 000,00')} | {eur('21 000,00')} |" in table
    assert "| `double` | 2 ETP |" in section(page, "extended-enum-option")


def test_timeline_and_how_running_contracts_cross(pages):
    page = pages["calendrier.md"]
    assert "| [Prime de démonstration (texte de base)](accords/demo_base.md) | 01/01/2020 | 31/12/2021 |" in page
    assert "| [Prime de démonstration (réforme de 2022)](accords/demo_amend.md) | 01/01/2022 | sans date de fin |" \
        in page
    crossing = page[page.index("### Le 01/01/2022"):]
    assert "#### Montant annuel de la prime" in crossing
    assert ("selon le texte qui était en vigueur à la date [*Début de l'année de contrat en cours*]"
            "(accords/demo_amend.md#year_start)") in crossing
    assert "« à la date anniversaire du contrat »" in crossing


def test_worked_examples_with_results_and_explanation_tree(pages):
    page = pages["exemples/demo_amend/cases.md"]
    assert page.startswith(docs.BANNER + "# Fichier cases.yaml : Prime de démonstration (réforme de 2022)\n")
    assert "## 1. contrat signé en 2021, avant l'anniversaire de 2022 (montants de 2020) {#cas-1}" in page
    assert "- **Médecin** (`physician`) :\n    - Secteur conventionnel (`physician.sector`) : **1**" in page
    assert f"| Montant annuel de la prime (`annual_aid`) | {eur('20 000,00')} | `20000.00` | ✓ |" in page
    tree = page[page.index("### Explication", page.index("## 1.")):page.index("## 2.")]
    # folded: a reviewer opens the tree of the result they look at
    assert tree.startswith(f'### Explication\n\n<details markdown="1">\n<summary>Explication : Montant annuel de la '
                           f"prime = {eur('20 000,00')}</summary>\n\n- **Montant annuel de la prime** = "
                           f"{eur('20 000,00')} — règle [`annual_aid`](../../accords/demo_amend.md#annual_aid)\n")
    assert tree.rstrip().endswith("</details>")
    assert "    - source : [Texte de démonstration n°2](https://example.org/demo2), article 5 : " \
           "« à la date anniversaire du contrat »\n" in tree
    # the amount comes from the 2020 table, read through `as of`, with that text's source
    assert re.search(r"\n        - \*\*Montant de la prime \(euros\) \(year 1, option full\)\*\* = 20.000,00 € — "
                     r"barème \[`amount`\]\(\.\./\.\./accords/demo_base\.md#amount\)\n", tree)
    assert "✗" not in page
    assert "Aucun cas de non-régression" in docs.generate(DEMO, None)["exemples/demo_amend.md"]


def test_the_examples_of_an_agreement_are_listed_by_file_with_links(pages):
    listing = pages["exemples/demo_amend.md"]
    assert "Ce texte a 2 cas de non-régression, rangés par fichier." in listing
    assert "## [Fichier cases.yaml](demo_amend/cases.md)\n\nFichier `cases.yaml`, 2 cas.\n" in listing
    assert md_table(listing, "n°") == [
        ["n°", "Cas", "Date du calcul", "Conforme"],
        ["1", "[contrat signé en 2021, avant l'anniversaire de 2022 (montants de 2020)](demo_amend/cases.md#cas-1)",
         "01/02/2022", "✓"],
        ["2", "[secteur 2 avec OPTAM, 1 ETP, première année](demo_amend/cases.md#cas-2)", "01/06/2022", "✓"]]
    assert "<details" not in listing


def test_rules_in_words_contract_a_le_and_de_le():
    assert docs_text.after("est inférieur ou égal à ", "le montant du barème") == "est inférieur ou égal au montant du barème"
    assert docs_text.after("les entiers de 1 à ", "les bornes") == "les entiers de 1 aux bornes"
    assert docs_text.after("la somme de ", "le montant") == "la somme du montant"
    assert docs_text.after("l'opposé de ", "les montants") == "l'opposé des montants"
    assert docs_text.after("égal à ", "la date") == "égal à la date"
    assert docs_text.after("égal à ", "*le montant*") == "égal à *le montant*"  # a label keeps its words
    assert docs_text.after("égal à ", "lequel") == "égal à lequel"


def test_dsl_page_quotes_the_rulesets(pages):
    page = pages["dsl.md"]
    assert "```text\nparameter minimum_patients \"Patientèle minimale\" : int = 500\n" in page
    assert "Dans `demo_amend.mil` (ligne 17) :\n\n```text\nreplace parameter minimum_patients" in page
    assert "| `years_between(…)` |" in page


def test_nav_lists_every_page_in_time_order(pages):
    nav = pages[".nav.yml"]
    assert nav.index("accords/demo_base.md") < nav.index("accords/demo_amend.md")
    for name in pages:
        if name.endswith(".md"):
            assert name in nav


def test_write_replaces_pages_of_rulesets_that_are_gone(tmp_path, pages):
    (tmp_path / "accords").mkdir()
    (tmp_path / "accords" / "old.md").write_text("old")
    (tmp_path / "notes.md").write_text("hand-written")
    assert "accords/old.md" in docs.stale(pages, tmp_path)
    docs.write(pages, tmp_path)
    assert not (tmp_path / "accords" / "old.md").exists()
    assert (tmp_path / "notes.md").read_text() == "hand-written"
    assert docs.stale(pages, tmp_path) == []


def test_cli_docs_writes_then_checks(tmp_path):
    args = ["docs", "--out", str(tmp_path), "--rulesets", str(DEMO), "--cases", str(DEMO_CASES)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert r.output == f"13 page(s) produite(s) dans {tmp_path}\n"
    assert CliRunner().invoke(main, args + ["--check"]).exit_code == 0
    (tmp_path / "calendrier.md").write_text("edited by hand")
    r = CliRunner().invoke(main, args + ["--check"])
    assert r.exit_code == 1 and r.output == (f"pas à jour : {tmp_path / 'calendrier.md'}\n"
                                             "lancez `millesime docs` (ou `make docs`), puis enregistrez les pages "
                                             "dans git\n")


# ---------------------------------------------------------------- mkdocs build

needs_mkdocs = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or
                                  importlib.util.find_spec("material") is None,
                                  reason="mkdocs and mkdocs-material are not installed (pip install -e '.[docs]')")


def mkdocs_build(config: Path, site: Path):
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config), "-d", str(site)],
                       capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr


@needs_mkdocs
def test_demo_site_builds_strictly(tmp_path, pages):
    docs_dir = tmp_path / "docs"
    docs.write(pages, docs_dir)
    shutil.copytree(REPO / "docs" / "stylesheets", docs_dir / "stylesheets")
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")  # same relative layout as the repo
    mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    html = (tmp_path / "site" / "accords" / "demo_amend.html").read_text(encoding="utf-8")
    assert html.count("<table>") >= 5
    assert f"<td style=\"text-align: right;\">{eur('22 000,00')}</td>" in html
    cases = (tmp_path / "site" / "exemples" / "demo_amend" / "cases.html").read_text(encoding="utf-8")
    assert cases.count("<details>") == cases.count("</details>") == 3  # one per result (1 + 2), folded
    assert f"<summary>Explication : Montant annuel de la prime = {eur('20 000,00')}</summary>" in cases
    assert "<li><strong>Montant annuel de la prime</strong>" in cases  # the tree inside is Markdown rendered


# ---------------------------------------------------------------- the shipped agreements

shipped = pytest.mark.skipif(not any(shipped_rulesets_dir().glob("*.mil")), reason="no shipped ruleset yet")


@pytest.fixture(scope="module")
def shipped_pages():
    return docs.generate(registry=Registry.load(), cases_dir=REPO / "tests" / "agreements")


@shipped
def test_committed_pages_are_up_to_date(shipped_pages):
    stale = docs.stale(shipped_pages, REPO / "docs")
    assert not stale, f"stale pages in docs/: {stale}; run `make docs` (or `millesime docs`) and commit them"


@shipped
def test_no_page_weighs_megabytes_and_the_words_contract(shipped_pages):
    # the examples of an agreement were one page of 1.8–2.6 MB; « à le montant » was written
    assert max(len(text.encode("utf-8")) for text in shipped_pages.values()) < 1_000_000
    listing = shipped_pages["exemples/convention_2024.md"]
    assert len(listing) < 20_000 and "[1/2 ETP, année 1](convention_2024/amounts.md#cas-1)" in listing
    for name, text in shipped_pages.items():
        for wrong in (" à le montant", " à le plus", " de le plus", " de les éléments"):
            assert wrong not in text, (name, wrong)
    assert "est inférieur ou égal au montant du barème" in shipped_pages["accords/convention_2024.md"]
    assert "les entiers de 1 au plus petit de" in shipped_pages["accords/convention_2024.md"]


@shipped
def test_the_research_notes_in_english_stay_out_of_the_site(shipped_pages, shipped_site):
    assert "recherche" not in shipped_pages[".nav.yml"]
    assert not (shipped_site / "recherche").exists()
    assert (REPO / "docs" / "recherche" / "notes-juridiques-1.md").is_file()  # kept in the repository


@shipped
def test_2024_page_shows_the_official_amounts(shipped_pages):
    page = shipped_pages["accords/convention_2024.md"]
    rows = md_table(section(page, "aid_amount"), "`contract_year`")
    full = rows[0].index("1 ETP")
    year1 = next(r for r in rows if r[0] == "**1**")
    assert year1[full] == eur("38 000,00")
    assert year1[rows[0].index("1/2 ETP")] == eur("19 000,00")


@shipped
def test_2023_changes_close_the_third_option_to_new_contracts(shipped_pages):
    page = shipped_pages["changements/reglement_arbitral_2023.md"]
    offered = section(page, "replaced-parameter-offered_options")
    assert "| **avant** — valeur | la liste (« 1/3 ETP », « 1/2 ETP », « 1 ETP ») |" in offered
    assert "| **après** — valeur | la liste (« 1/2 ETP », « 1 ETP ») |" in offered
    allowed = section(page, "replaced-rule-option_allowed")
    assert "le 1/3 ETP n'est plus ouvert qu'au renouvellement d'un contrat en cours" in allowed
    assert "« aucun nouveau contrat ne peut être conclu pour cette quotité de travail à compter du 1er mai 2023 »" \
        in allowed


@pytest.fixture(scope="module")
def shipped_site(tmp_path_factory):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs and mkdocs-material are not installed (pip install -e '.[docs]')")
    site = tmp_path_factory.mktemp("site")
    mkdocs_build(REPO / "mkdocs.yml", site)
    return site


@shipped
def test_committed_site_builds_strictly(shipped_site):
    assert (shipped_site / "index.html").is_file()
    assert (shipped_site / "search" / "search_index.json").is_file()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is not installed (/usr/bin/chromium; `make browser` installs it)")
    return subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=60)


@shipped
def test_home_and_2024_pages_render_their_tables_in_chromium(shipped_site, tmp_path):
    home = chromium(tmp_path, "--dump-dom", (shipped_site / "index.html").as_uri()).stdout
    assert home.count("<table") >= 1
    assert "Convention médicale du 4 juin 2024" in home and "22/06/2024" in home
    page = chromium(tmp_path, "--dump-dom", (shipped_site / "accords" / "convention_2024.html").as_uri()).stdout
    assert page.count("<table") >= 10
    table = page[page.index('id="aid_amount"'):]
    table = table[table.index("<table"):table.index("</table>")]
    assert eur("38 000,00") in table and eur("19 000,00") in table
    shot = tmp_path / "convention_2024.png"
    chromium(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}",
             (shipped_site / "accords" / "convention_2024.html").as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000


# ---------------------------------------------------------------- what the law leaves open (issue 12)

@shipped
def test_the_unknowns_page_lists_each_unknown_with_what_is_known(shipped_pages):
    page = shipped_pages["inconnues.md"]
    lines = page.splitlines()
    # P70 of 2023: between the (secondary) P50 of 1 045 and P90 of 1 503, by the table's order
    p70 = next(line for line in lines if line.startswith("| `gp_threshold[70]`") and "1\u202f045" in line)
    assert "non établi, entre 1\u202f045 et 1\u202f503" in p70 and "`annual_aid`" in p70
    # the readings of a GP's two rates, with the results they can change
    rates = next(line for line in lines if line.startswith("| `combined_rate`"))
    assert "« Le plus faible des deux taux »" in rates and "`aid_due`" in rates and "`eligible`" not in rates
    # and the figures that rest on a secondary source
    assert "| `gp_threshold[90]` | 1\u202f503 | RecoMédicales" in page


@shipped
def test_agreement_pages_show_readings_bounds_and_secondary_badges(shipped_pages):
    page = shipped_pages["accords/reglement_arbitral_2023.md"]
    assert "| lecture « La moyenne des deux taux » | (`rate_mt` plus `rate_fa`) divisé par 2 |" in page
    assert "| **70** | non établi, entre 1\u202f045 et 1\u202f503 |" in page  # P70 shown with its bounds
    assert "| **90** | 1\u202f503 ◊ |" in page  # a figure resting on a secondary source is marked
    assert "Les valeurs du barème croissent selon `percentile`" in page
    assert "**Case `gp_threshold[90]`**" in page
    dsl_page = shipped_pages["dsl.md"]
    for title in ("## Lectures", "## Ordre d'un barème", "## Force des sources", "## Hypothèses et sources officielles seules"):
        assert title in dsl_page


def test_coverage_page_says_what_the_demo_cases_leave_untested(pages):
    # demo_base's two cases (tests/fixtures/demo_cases/demo_base): case 1 computes contract_year and
    # annual_aid (percentile 60: the « Forte patientèle » exception does not apply), every requirement
    # holding; case 2 fails `sector` only. Nothing asks for ineligibility_reasons; percentile is set in
    # both, so the waiver never applies.
    page = pages["couverture.md"]
    base = page[page.index("## Prime de démonstration (texte de base)"):page.index("## Prime de démonstration (réforme")]
    assert "| Règles | 2 | 3 |\n| Exceptions | 0 | 1 |\n| Exigences | 1 | 2 |\n| Dérogations | 0 | 1 |\n" in base
    assert ("- Exigence [`eligible.patients`](accords/demo_base.md#eligible) : jamais mise en défaut "
            "(`demo_base.mil`, ligne 36)") in base
    assert ("- Dérogation [`eligible.patients : « Médecin nouvellement installé »`](accords/demo_base.md#eligible) : "
            "jamais appliquée (`demo_base.mil`, ligne 38)") in base
    assert ("- Règle [`ineligibility_reasons`](accords/demo_base.md#ineligibility_reasons) : jamais calculée "
            "(`demo_base.mil`, ligne 52)") in base
    assert "  - Couverture des exemples: couverture.md\n" in pages[".nav.yml"]
