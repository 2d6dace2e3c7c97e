"""A reform is a file: `replace cell`, the timeline closed by the reform, `--reform` on the CLI."""
import json
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsl.errors import MillesimeError, RulesetError
from engine import evaluate
from engine.cli import main
from engine.registry import NoRulesetError, Registry

REFORM = '''# From 2027-01-01 the 1 ETP amount for year 3 and later becomes 24 000 €.
ruleset reforme_2027 "Réforme étudiée : 24 000 € à 1 ETP dès la 3e année"
  effective from 2027-01-01
  amends convention_2024

reference REFORME "Note de travail sur la réforme étudiée" grade hypothesis

replace cell aid_amount[3+, full] = 24 000
  note "Montant étudié, non adopté."
  source REFORME quote "24 000 € à partir de la 3e année"
'''

GP = {"physician": {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 1150,
                    "file_active": 1650},
      "contract": {"signed_on": "2024-09-01", "option": "full", "initial_patients_mt": 980,
                   "initial_file_active": 1500, "target_patients_mt": 1180, "target_file_active": 1750}}


def write(tmp_path: Path, text: str, name: str = "reform.mil") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def reform(tmp_path):
    return write(tmp_path, REFORM)


def test_a_reform_closes_the_timeline_in_the_combined_registry_only(reform):
    combined = Registry.load(reform=reform)
    spans = {m.id: (m.effective_from, m.effective_until) for m in combined.timeline()}
    assert spans["convention_2024"] == (dt.date(2024, 6, 22), dt.date(2026, 12, 31))
    assert spans["reforme_2027"] == (dt.date(2027, 1, 1), None)
    assert combined.reforms == ("reforme_2027",)
    assert combined.in_force(dt.date(2026, 12, 31)).model.id == "convention_2024"
    assert combined.in_force(dt.date(2027, 1, 1)).model.id == "reforme_2027"
    shipped = Registry.load()  # loaded again: the shipped files say what they said
    assert shipped.get("convention_2024").model.effective_until is None
    assert shipped.reforms == ()


def test_replace_cell_changes_one_cell_and_keeps_the_others(reform):
    combined = Registry.load(reform=reform)
    new = combined.get("reforme_2027").model.tables["aid_amount"]
    old = combined.get("convention_2024").model.tables["aid_amount"]
    assert new is not old
    texts = [[c.text for c in row] for row in new.cells]
    # rows 1, 2, 3+ ; columns third, half, full, one_and_half, double (convention_2024's table)
    assert texts == [["?", "19 000", "38 000", "?", "?"],
                     ["9 450", "14 000", "28 000", "?", "?"],
                     ["7 350", "11 000", "24 000", "?", "?"]]
    assert [[c.text for c in row] for row in old.cells][2][2] == "22 000"
    change = next(c for c in combined.get("reforme_2027").model.changes if c.kind == "cell")
    assert (change.action, change.name, change.old.text) == ("replaced", "aid_amount[3+, full]", "22 000")
    # the replaced cell rests on the reform's own source, not on the table's
    assert [s.reference for s in new.cell_sources(2, 2)] == ["REFORME"]
    assert [s.reference for s in new.cell_sources(2, 1)] == [s.reference for s in old.sources]


def test_amounts_follow_anniversaries_under_the_reform(reform):
    combined, shipped = Registry.load(reform=reform), Registry.load()
    # signed 2024-09-01: year 3 opens 2026-09-01 (convention_2024: 22 000), year 4 opens 2027-09-01 (reform)
    for on, base, new in [(dt.date(2026, 12, 31), "22000.00", "22000.00"), (dt.date(2027, 12, 31), "22000.00", "24000.00")]:
        assert evaluate(GP, on, shipped, ["annual_aid"], explain=False).json_values()["annual_aid"] == base
        assert evaluate(GP, on, combined, ["annual_aid"], explain=False).json_values()["annual_aid"] == new


def test_the_reform_cell_is_graded_hypothesis_with_its_source(reform):
    result = evaluate(GP, dt.date(2027, 12, 31), Registry.load(reform=reform), ["annual_aid"])
    entry = next(e for e in result.reliance()["annual_aid"] if e["name"] == "aid_amount[3+, full]")
    assert entry == {"name": "aid_amount[3+, full]", "grade": "hypothesis",
                     "source": "Note de travail sur la réforme étudiée", "ruleset": "reforme_2027"}


def test_a_reform_without_an_end_stops_before_a_later_shipped_ruleset(tmp_path):
    path = write(tmp_path, REFORM.replace("2027-01-01", "2024-01-01").replace("convention_2024",
                                                                                "reglement_arbitral_2023"))
    combined = Registry.load(reform=path)
    spans = {m.id: (m.effective_from, m.effective_until) for m in combined.timeline()}
    assert spans["reglement_arbitral_2023"] == (dt.date(2023, 5, 1), dt.date(2023, 12, 31))
    assert spans["reforme_2027"] == (dt.date(2024, 1, 1), dt.date(2024, 6, 21))
    warning = next(d for d in combined.diagnostics if d.code == "time")
    assert warning.severity == "warning"
    assert warning.message == ("« convention_2024 » prend effet le 22/06/2024 : la réforme « reforme_2027 » s'arrête "
                               "la veille, et ses changements ne s'y reportent pas")


def test_a_temporary_reform_brings_back_the_ruleset_it_interrupts(tmp_path):
    """After `until`, the convention applies again: a ruleset of the reform that amends it without
    any change, from the next day, named after both — what an analyst would have written by hand."""
    temporary = REFORM.replace("effective from 2027-01-01", "effective from 2027-01-01 until 2027-12-31")
    assert temporary != REFORM
    combined = Registry.load(reform=write(tmp_path, temporary))
    spans = {m.id: (m.effective_from, m.effective_until) for m in combined.timeline()}
    assert spans["convention_2024"] == (dt.date(2024, 6, 22), dt.date(2026, 12, 31))
    assert spans["reforme_2027"] == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert spans["convention_2024_reprise_2028_01_01"] == (dt.date(2028, 1, 1), None)
    assert combined.reforms == ("reforme_2027",)  # the resumption is not part of the reform (report.html)
    assert combined.resumptions == ("convention_2024_reprise_2028_01_01",)
    resumed = combined.in_force(dt.date(2028, 1, 1)).model
    assert resumed.id == "convention_2024_reprise_2028_01_01"
    assert resumed.header.amends == "convention_2024"
    assert resumed.header.title == ("Convention médicale du 4 juin 2024 — assistants médicaux "
                                    "(reprise après « reforme_2027 »)")
    assert [d for d in combined.diagnostics if d.code == "time"] == []
    # the GP's fourth contract year (from 2027-09-01) under the reform, the fifth (from 2028-09-01) under
    # the convention again; the shipped timeline gives 22 000 € both years
    shipped = Registry.load()
    for day, amount in [(dt.date(2027, 12, 31), "24000.00"), (dt.date(2028, 12, 31), "22000.00")]:
        got = evaluate(GP, day, combined, ["annual_aid", "governing_ruleset"], explain=False).json_values()
        assert got["annual_aid"] == amount, day
        assert evaluate(GP, day, shipped, ["annual_aid"], explain=False).json_values()["annual_aid"] == "22000.00"
    assert got["governing_ruleset"] == "convention_2024"  # the contract's own text, from its start
    signed_2028 = {**GP, "contract": {**GP["contract"], "signed_on": "2028-03-01"}}
    got = evaluate(signed_2028, dt.date(2028, 12, 31), combined, ["governing_ruleset"], explain=False)
    assert got.json_values()["governing_ruleset"] == "convention_2024_reprise_2028_01_01"
    # the ruleset written by hand instead: nothing more is added, nothing to warn about
    folder = tmp_path / "temporary"
    folder.mkdir()
    write(folder, temporary)
    (folder / "reprise.mil").write_text(
        'ruleset reprise_2028 "Retour à la convention de 2024"\n  effective from 2028-01-01\n'
        "  amends convention_2024\n", encoding="utf-8")
    by_hand = Registry.load(reform=folder)
    assert by_hand.reforms == ("reforme_2027", "reprise_2028") and by_hand.resumptions == ()
    assert by_hand.in_force(dt.date(2028, 1, 1)).model.id == "reprise_2028"
    assert [d for d in by_hand.diagnostics if d.code == "time"] == []


def _temporary(folder: Path, *reforms) -> Registry:
    for name, start, end in reforms:
        (folder / f"{name}.mil").write_text(
            f'ruleset {name} "Réforme {name}"\n  effective from {start} until {end}\n  amends convention_2024\n',
            encoding="utf-8")
    return Registry.load(reform=folder)


def test_temporary_reforms_back_to_back_and_apart(tmp_path):
    """Back to back, the convention comes back after the last one only; a year apart, it fills the
    year between them, then comes back after the second."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    combined = _temporary(first, ("r1", "2027-01-01", "2027-12-31"), ("r2", "2028-01-01", "2028-12-31"))
    spans = [(m.id, m.effective_from, m.effective_until) for m in combined.timeline()][2:]
    assert spans == [("convention_2024", dt.date(2024, 6, 22), dt.date(2026, 12, 31)),
                     ("r1", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
                     ("r2", dt.date(2028, 1, 1), dt.date(2028, 12, 31)),
                     ("convention_2024_reprise_2029_01_01", dt.date(2029, 1, 1), None)]
    combined = _temporary(second, ("r1", "2027-01-01", "2027-12-31"), ("r3", "2029-01-01", "2029-12-31"))
    spans = [(m.id, m.effective_from, m.effective_until) for m in combined.timeline()][3:]
    assert spans == [("r1", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
                     ("convention_2024_reprise_2028_01_01", dt.date(2028, 1, 1), dt.date(2028, 12, 31)),
                     ("r3", dt.date(2029, 1, 1), dt.date(2029, 12, 31)),
                     ("convention_2024_reprise_2030_01_01", dt.date(2030, 1, 1), None)]
    assert [d for d in combined.diagnostics if d.code == "time"] == []


def test_a_reform_within_a_temporary_reform_hands_back_twice(tmp_path):
    """A (2027–2028) interrupted by B (first half of 2028): A again until its own end, then the
    convention — each resumption named after the text whose end it follows."""
    (tmp_path / "a.mil").write_text('ruleset a "Réforme A"\n  effective from 2027-01-01 until 2028-12-31\n'
                                    "  amends convention_2024\n", encoding="utf-8")
    (tmp_path / "b.mil").write_text('ruleset b "Réforme B"\n  effective from 2028-01-01 until 2028-06-30\n'
                                    "  amends a\n", encoding="utf-8")
    combined = Registry.load(reform=tmp_path)
    spans = [(m.id, m.effective_from, m.effective_until, m.header.title) for m in combined.timeline()][3:]
    assert spans == [
        ("a", dt.date(2027, 1, 1), dt.date(2027, 12, 31), "Réforme A"),
        ("b", dt.date(2028, 1, 1), dt.date(2028, 6, 30), "Réforme B"),
        ("a_reprise_2028_07_01", dt.date(2028, 7, 1), dt.date(2028, 12, 31), "Réforme A (reprise après « b »)"),
        ("convention_2024_reprise_2029_01_01", dt.date(2029, 1, 1), None,
         "Convention médicale du 4 juin 2024 — assistants médicaux (reprise après « a »)")]
    assert combined.reforms == ("a", "b")
    assert combined.resumptions == ("a_reprise_2028_07_01", "convention_2024_reprise_2029_01_01")
    assert [d for d in combined.diagnostics if d.code == "time"] == []


def test_a_gap_the_next_reform_declares_is_kept(tmp_path):
    """r3 says nothing is in force before it (`after gap`): 2028 stays empty, as written, and the
    convention comes back after r3 only."""
    (tmp_path / "r3.mil").write_text(
        'ruleset r3 "Réforme r3"\n  effective from 2029-01-01 until 2029-12-31\n  amends convention_2024\n'
        '  after gap "Aucune mesure en 2028."\n', encoding="utf-8")
    combined = _temporary(tmp_path, ("r1", "2027-01-01", "2027-12-31"))
    with pytest.raises(NoRulesetError):
        combined.in_force(dt.date(2028, 6, 1))
    assert combined.resumptions == ("convention_2024_reprise_2030_01_01",)
    assert [d.message for d in combined.diagnostics if d.code == "time"] == []


def test_hypotheses_on_the_interrupted_ruleset_hold_for_its_resumption(tmp_path):
    """`assume … in convention_2024` bounds the convention's unknown first-year 1,5 ETP amount (the
    option itself not established for this case: between 0 and 50 000 €); a contract signed while
    the convention applies again after the reform gets that bound too."""
    from engine.unknowns import load_assumptions
    assumptions = load_assumptions(texts=['hypotheses "H"\nassume aid_amount[1, one_and_half] in convention_2024 = '
                                          '50 000 because "essai"\n'])
    temporary = REFORM.replace("effective from 2027-01-01", "effective from 2027-01-01 until 2027-12-31")
    combined = Registry.load(reform=write(tmp_path, temporary)).with_assumptions(assumptions)
    shipped = Registry.load().with_assumptions(assumptions)
    case = {**GP, "contract": {**GP["contract"], "signed_on": "2028-03-01", "option": "one_and_half"}}
    for registry in (shipped, combined):
        got = evaluate(case, dt.date(2028, 12, 31), registry, ["annual_aid"], explain=False).json_values()
        assert got["annual_aid"]["between"] == ["0.00", "50000.00"]


def test_a_temporary_reform_warns_when_the_name_of_the_resumption_is_taken(tmp_path):
    """The reform itself bears the name its resumption would take: nothing is added, and the days
    with no ruleset in force are said, with the remedy."""
    combined = _temporary(tmp_path, ("convention_2024_reprise_2028_01_01", "2027-01-01", "2027-12-31"))
    with pytest.raises(NoRulesetError):
        combined.in_force(dt.date(2028, 1, 1))
    assert combined.resumptions == ()
    warnings = [d for d in combined.diagnostics if d.code == "time" and d.severity == "warning"]
    assert [d.message for d in warnings] == [
        "la réforme « convention_2024_reprise_2028_01_01 » prend fin le 31/12/2027 et « convention_2024 », qu'elle "
        "interrompt, ne reprend pas après elle : aucun texte n'est en vigueur à partir du 01/01/2028"]
    assert warnings[0].hint == ("pour que « convention_2024 » s'applique de nouveau, ajoutez à la réforme un texte "
                                "sans changement : « effective from 2028-01-01 » et « amends convention_2024 »")


@pytest.mark.parametrize("line, message", [
    ("replace cell aid_amout[3+, full] = 24 000",
     "impossible de remplacer une case du barème `aid_amout` : le texte modifié ne déclare aucun barème de ce nom"),
    ("replace cell aid_amount[4+, full] = 24 000", "le barème `aid_amount` n'a pas de ligne `4+`"),
    ("replace cell aid_amount[3+, fulll] = 24 000", "le barème `aid_amount` n'a pas de colonne `fulll`"),
    ("replace cell aid_amount[3+] = 24 000", "une case du barème `aid_amount` se désigne par 2 en-têtes, ici 1"),
    ('replace cell aid_amount[3+, full] = "beaucoup"', "la case `\"beaucoup\"` est de type `text`, le barème `aid_amount` de type `money`"),
    ("replace cell target_table[30..50, full] = 12", "la case `12` du barème de pourcentages `target_table` doit porter un `%`"),
])
def test_a_broken_cell_replacement_is_an_error_at_its_place(tmp_path, line, message):
    path = write(tmp_path, REFORM.replace("replace cell aid_amount[3+, full] = 24 000", line))
    with pytest.raises(RulesetError) as caught:
        Registry.load(reform=path)
    errors = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert [d.message for d in errors] == [message]
    assert errors[0].loc.file == str(path)
    assert errors[0].loc.line == 8


def test_a_replacement_without_source_is_an_error_of_check(tmp_path):
    path = write(tmp_path, REFORM.replace('  source REFORME quote "24 000 € à partir de la 3e année"\n', ""))
    result = CliRunner().invoke(main, ["check", "--reform", str(path)])
    assert result.exit_code == 1
    assert f"{path}:8:1: erreur : le remplacement de la case `aid_amount[3+, full]` n'a pas de source juridique" in result.output


def test_check_reform_checks_the_combination(reform, tmp_path):
    result = CliRunner().invoke(main, ["check", "--reform", str(reform)])
    assert result.exit_code == 0, result.output
    assert "4 fichier(s) de règles vérifié(s) : 0 erreur(s), 0 avertissement(s)" in result.output
    assert "s'applique de nouveau" not in result.output
    temporary = write(tmp_path, REFORM.replace("effective from 2027-01-01", "effective from 2027-01-01 until 2027-12-31"),
                      "t.mil")
    result = CliRunner().invoke(main, ["check", "--reform", str(temporary)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-4:] == [  # the ruleset the registry adds is said, not hidden
        f"{temporary}:2:9: note : « convention_2024 » s'applique de nouveau à partir du 01/01/2028 (texte ajouté : "
        "« convention_2024_reprise_2028_01_01 »)",
        '    ruleset reforme_2027 "Réforme étudiée : 24 000 € à 1 ETP dès la 3e année"',
        "            ^",
        "4 fichier(s) de règles vérifié(s) : 0 erreur(s), 0 avertissement(s)"]
    result = CliRunner().invoke(main, ["check", "--reform", str(temporary), "--json"])  # and to editors and CI
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{
        "file": str(temporary), "line": 2, "column": 9, "severity": "info", "code": "time",
        "message": "« convention_2024 » s'applique de nouveau à partir du 01/01/2028 (texte ajouté : "
                   "« convention_2024_reprise_2028_01_01 »)", "hint": None}]
    broken = write(tmp_path, REFORM.replace("effective from 2027-01-01", "effective from 2027-13-01"), "b.mil")
    result = CliRunner().invoke(main, ["check", "--reform", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:3:18: erreur : `2027-13-01` n'est pas une date valide" in result.output
    assert "Traceback" not in result.output


def test_a_missing_reform_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["rulesets", "--reform", str(tmp_path / "nope.mil")])
    assert result.exit_code == 1
    assert result.output.strip() == f"erreur : {tmp_path / 'nope.mil'} : ce fichier de réforme (ou ce dossier) n'existe pas"
    with pytest.raises(MillesimeError, match="nope.mil : ce fichier de réforme \\(ou ce dossier\\) n'existe pas"):
        Registry.load(reform=tmp_path / "nope.mil")


def test_eval_with_a_reform_folder(reform):
    result = CliRunner().invoke(main, ["rulesets", "--reform", str(reform.parent), "--json"])
    assert result.exit_code == 0, result.output
    assert '"id": "reforme_2027"' in result.output


def test_unchanged_cells_keep_their_unknowns(reform):
    # aid_amount[1, third] is `?` in convention_2024: still not established under the reform
    combined = Registry.load(reform=reform)
    table = combined.get("reforme_2027").model.tables["aid_amount"]
    assert table.cells[0][0].kind == "unknown"
    assert Decimal(table.cells[2][2].expr.value) == Decimal(24000)


def test_both_engines_give_the_same_values_under_a_reform(reform):
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("numpy")
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import realistic as R

    from engine.batch import evaluate_table
    combined = Registry.load(reform=reform)
    table = pa.Table.from_pylist(R.rows(300, seed=5))
    outputs = ["eligible", "annual_aid", "contract_year", "aid_due"]
    on = dt.date(2028, 6, 1)
    vector = evaluate_table(table, on, combined, outputs, engine="vector")
    assert vector.equals(evaluate_table(table, on, combined, outputs, engine="row"))
    assert Decimal("24000.00") in vector.column("annual_aid").to_pylist()  # the reform's amount is met


def test_the_changes_page_of_a_reform_shows_the_cell_before_and_after(reform):
    from engine.docs import generate
    pages = generate(registry=Registry.load(reform=reform), cases_dir=None)
    page = pages["changements/reforme_2027.md"]
    assert "| Modification | case de barème | [aid\\_amount\\[3+, full\\]](#replaced-cell-aid_amount-3-full) |" in page
    assert "| **avant** | 22 000 | `22 000` |\n| **après** | 24 000 | `24 000` |\n" in page
    assert "Note de travail sur la réforme étudiée" in page
