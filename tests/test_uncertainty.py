"""What the law leaves open, end to end on small rulesets: readings, bounded unknowns, orders,
grades, `--official-only` and hypothesis files. Expected values worked out by hand."""
import datetime as dt
import json
from decimal import Decimal as D

import pytest
from click.testing import CliRunner

from dsl.errors import RulesetError
from engine.cli import main
from engine.interpreter import evaluate
from engine.registry import Registry
from engine.unknowns import load_assumptions
from engine.values import NotEstablished

ON = dt.date(2024, 1, 1)
HEAD = '''ruleset t "Texte" effective from 2020-01-01
reference OFF "Texte officiel" url "https://example.org/o" grade official
reference SEC "Presse" url "https://example.org/s" grade secondary
input n : int "Patients"
input r1 : decimal "Taux 1"
input r2 : decimal "Taux 2"
'''


def registry(tmp_path, text: str, **assumptions) -> Registry:
    path = tmp_path / "t.mil"
    path.write_text(HEAD + text, encoding="utf-8")
    reg = Registry.from_paths([path])
    if assumptions:
        files = []
        for i, h in enumerate(assumptions.pop("hypotheses", [])):
            f = tmp_path / f"h{i}.mil"
            f.write_text(h, encoding="utf-8")
            files.append(f)
        reg = reg.with_assumptions(load_assumptions(files, assumptions.pop("official_only", False)))
    return reg


def run(reg, outputs, n=1200, r1="1", r2="1", explain=True):
    return evaluate({"n": n, "r1": D(r1), "r2": D(r2)}, ON, reg, outputs, explain=explain)


READINGS = '''rule rate "Taux combiné" : decimal = readings
  source OFF quote "proratisée"
  reading lowest "Le plus faible" : min(r1, r2)
  reading mean "La moyenne" : (r1 + r2) / 2
rule aid "Aide" : money = round (10 000 € * rate) to cent
  source OFF quote "aide"
'''


def test_readings_that_agree_give_an_established_value_and_say_so(tmp_path):
    r = run(registry(tmp_path, READINGS), ["aid"])
    assert r.values["aid"] == D("10000.00")
    rate = r.explanation["aid"].children[0]
    assert rate.name == "rate" and "les lectures concordent" in rate.note
    assert [(c.kind, c.label, c.value) for c in rate.children if c.kind == "reading"] == \
        [("reading", "Le plus faible", 1), ("reading", "La moyenne", 1)]


def test_readings_that_differ_give_the_range_of_their_values(tmp_path):
    # lowest 0.5, mean (0.5 + 1) / 2 = 0.75 → aid in [5 000, 7 500]
    r = run(registry(tmp_path, READINGS), ["aid"], r1="0.5")
    out = r.json_values()["aid"]
    assert out["between"] == ["5000.00", "7500.00"]
    assert [u["name"] for u in out["decided_by"]] == ["rate"]
    assert out["not_established"] == "dépend de : Taux combiné"


BOUNDED = '''table threshold "Seuils" : int
  rows percentile : int
  | 50 | 1 045 |
  | 70 | ?     |
  | 90 | 1 503 |
  source OFF quote "seuils"
  increasing along percentile
rule band "Tranche" : int =
  if n <= threshold[50] then 30 else if n <= threshold[70] then 50 else if n <= threshold[90] then 70 else 90
  source OFF quote "tranches"
rule amount "Montant" : money = if band >= 90 then 25 000 € else 21 000 €
  source OFF quote "montants"
'''


def test_an_unknown_between_its_neighbours_decides_only_where_it_can(tmp_path):
    reg = registry(tmp_path, BOUNDED)
    # 1 200 lies between P50 (1 045) and P90 (1 503): band 50 or 70 (P70 unknown in [1 045, 1 503])
    r = run(reg, ["band", "amount"], n=1200)
    assert (r.values["band"].shape, r.values["band"].low, r.values["band"].high) == ("range", 50, 70)
    assert r.values["amount"] == D(21000)  # both bands below 90: the same amount
    assert run(reg, ["band"], n=1000).values["band"] == 30   # below P50: decided
    assert run(reg, ["band"], n=1600).values["band"] == 90   # above P90: decided


def test_ordered_cells_are_checked_against_their_order(tmp_path):
    bad = BOUNDED.replace("| 90 | 1 503 |", "| 90 | 1 000 |")
    with pytest.raises(RulesetError) as info:
        registry(tmp_path, bad)
    assert "est inférieure à `threshold[50]` (1 045), alors que le barème est croissant le long de `percentile`" in str(info.value)


NARROWING = '''rule high "Montant majoré" : money = high_amount(p)
  source OFF quote "majoration"
parameter p "Percentile" : decimal = ? between 30 and 95
  source OFF quote "percentile"
table majorated "Montants" : money
  rows percentile : decimal
  | 90..95 | 25 000 |
  | 95+    | 36 000 |
  source OFF quote "montants"
rule high_amount(q : decimal) "Montant selon le percentile" : money = 21 000 €
  source OFF quote "montant"
  exception "P95 et plus" when q >= 95 then majorated[q]
    source OFF quote "P95"
  exception "P90 à P95" when q >= 90 and q < 95 then majorated[q]
    source OFF quote "P90"
'''


def test_an_exception_that_may_apply_joins_its_value_narrowed_to_its_condition(tmp_path):
    # q in [30, 95]: body 21 000; `q >= 95` may hold → majorated[95] = 36 000; `90 ≤ q < 95` may
    # hold → q narrowed to [90, 95) → only the 90..95 band → 25 000. Joined: [21 000, 36 000];
    # no error although q < 90 meets no band of the table.
    r = run(registry(tmp_path, NARROWING), ["high"])
    v = r.values["high"]
    assert (v.shape, v.low, v.high) == ("range", D(21000), D(36000))
    call = next(c for c in r.explanation["high"].children if c.name == "high_amount")
    assert "exception « P95 et plus » : peut s'appliquer" in call.note


def test_kleene_logic_a_certain_false_decides(tmp_path):
    reg = registry(tmp_path, READINGS + '''rule both "Les deux" : bool = n < 0 and rate > 0.6
  source OFF quote "et"
rule either_ "L'un" : bool = n > 0 or rate > 0.6
  source OFF quote "ou"
rule undecided "Indécis" : bool = rate > 0.6
  source OFF quote "?"
''')
    r = run(reg, ["both", "either_", "undecided"], r1="0.5")  # rate in [0.5, 0.75]
    assert r.values["both"] is False and r.values["either_"] is True
    assert isinstance(r.values["undecided"], NotEstablished)


GRADED = '''parameter rate "Taux" : percent = 20 %
  source SEC quote "20 %"
  bounds at least 10 %
    source OFF quote "au moins 10 %"
parameter cap "Plafond" : money = 30 000 €
  source SEC quote "30 000"
rule aid "Aide" : money = min(cap, 100 000 € * rate)
  source OFF quote "aide"
'''


def test_reliance_lists_the_secondary_figures_a_value_used(tmp_path):
    r = run(registry(tmp_path, GRADED), ["aid"])
    assert r.values["aid"] == D("20000.00")
    assert r.reliance()["aid"] == [
        {"name": "cap", "grade": "secondary", "source": "Presse", "ruleset": "t"},
        {"name": "rate", "grade": "secondary", "source": "Presse", "ruleset": "t"}]


def test_official_only_keeps_the_official_bounds_of_a_secondary_figure(tmp_path):
    # rate: unknown, at least 10 % (official bound); cap: unknown, no bound
    # aid = min(cap, 100 000 × rate): rate ≥ 10 % → 100 000 × rate ≥ 10 000, cap unbounded → top
    reg = registry(tmp_path, GRADED, official_only=True)
    r = run(reg, ["aid", "rate"])
    rate = r.values["rate"]
    assert (rate.shape, rate.low, rate.high) == ("range", D("0.10"), None)
    assert "écartée par --official-only" in rate.reason
    assert isinstance(r.values["aid"], NotEstablished)
    assert r.reliance()["aid"] == []  # nothing secondary is used any more: it is unknown instead


def test_a_hypothesis_picks_a_reading_and_is_listed_in_reliance(tmp_path):
    h = 'hypotheses "Chiffrage"\nassume rate reading mean because "lecture retenue pour le chiffrage"\n'
    reg = registry(tmp_path, READINGS, hypotheses=[h])
    r = run(reg, ["aid"], r1="0.5")
    assert r.values["aid"] == D("7500.00")  # mean (0.5 + 1) / 2 × 10 000
    assert r.reliance()["aid"] == [{"name": "rate", "grade": "hypothesis",
                                    "source": "hypothèse « Chiffrage »", "ruleset": "t"}]
    reading = next(c for c in r.explanation["aid"].children[0].children if c.kind == "reading")
    assert (reading.label, reading.value) == ("La moyenne", D("0.75"))
    assert reading.note.startswith("lecture « La moyenne » retenue par hypothèse (« Chiffrage ») : lecture retenue")
    base = run(registry(tmp_path, READINGS), ["aid"], r1="0.5")
    assert r.fingerprint != base.fingerprint  # the result's fingerprint covers the hypothesis
    assert r.to_json(False)["assumptions"]["hypotheses"][0]["title"] == "Chiffrage"


def test_a_hypothesis_fixes_an_unknown_within_its_bounds(tmp_path):
    h = 'hypotheses "Seuils"\nassume threshold[70] = 1 250 because "interpolation"\n'
    reg = registry(tmp_path, BOUNDED, hypotheses=[h])
    assert run(reg, ["band"], n=1200).values["band"] == 50   # 1 200 ≤ 1 250
    assert run(reg, ["band"], n=1300).values["band"] == 70


@pytest.mark.parametrize("text, message", [
    ('hypotheses "H"\nassume threshold[70] = 1 600 because "x"\n',
     "h0.mil:2:24: erreur : 1 600 est hors des bornes de « threshold[70] » : sa valeur est comprise entre 1045 et 1503"),
    ('hypotheses "H"\nassume threshold[50] = 1 000 because "x"\n',
     "h0.mil:2:8: erreur : « threshold[50] » est établi dans le texte t (la valeur de cette case est donnée par le "
     "texte)"),
    ('hypotheses "H"\nassume nothing_here = 3 because "x"\n',
     "h0.mil:2:8: erreur : « nothing_here » ne désigne rien que les textes laissent ouvert"),
    ('hypotheses "H"\nassume threshold[70] in elsewhere = 1 250 because "x"\n',
     "h0.mil:2:8: erreur : aucun texte « elsewhere »"),
    ('hypotheses "H"\nassume threshold[70] = 2024-01-01 because "x"\n',
     "h0.mil:2:24: erreur : « 2024-01-01 » est de type date, « threshold[70] » de type int"),
])
def test_a_wrong_hypothesis_is_an_error_at_its_place(tmp_path, text, message):
    with pytest.raises(RulesetError) as info:
        registry(tmp_path, BOUNDED, hypotheses=[text])
    assert message in str(info.value)


def test_a_hypothesis_names_a_reading_that_exists(tmp_path):
    with pytest.raises(RulesetError) as info:
        registry(tmp_path, READINGS, hypotheses=['hypotheses "H"\nassume rate reading lower because "x"\n'])
    rendered = str(info.value)
    assert "h0.mil:2:8: erreur : « rate » n'a pas de lecture « lower »" in rendered
    assert "\n  = vouliez-vous dire « lowest » ?" in rendered


def test_cli_eval_prints_ranges_and_json_carries_the_contract(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "t.mil").write_text(HEAD + READINGS + "output aid\n", encoding="utf-8")
    case = tmp_path / "c.yaml"
    case.write_text("n: 1200\nr1: 0.5\nr2: 1\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["eval", str(case), "--on", "2024-01-01", "--rulesets", str(folder)])
    assert r.exit_code == 0, r.output
    assert "Aide  entre 5\u202f000,00 € et 7\u202f500,00 € — dépend de : Taux combiné" in r.output.splitlines()
    r = CliRunner().invoke(main, ["eval", str(case), "--on", "2024-01-01", "--rulesets", str(folder), "--json"])
    out = json.loads(r.output)
    assert out["results"]["aid"] == {"not_established": "dépend de : Taux combiné", "between": ["5000.00", "7500.00"],
                                     "decided_by": [{"name": "rate", "label": "Taux combiné",
                                                     "reason": "lectures concurrentes : « Le plus faible », "
                                                               "« La moyenne »"}]}
    assert out["reliance"] == {"aid": []}
    hypothesis = tmp_path / "h.mil"
    hypothesis.write_text('hypotheses "H"\nassume rate reading lowest because "prudence"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["eval", str(case), "--on", "2024-01-01", "--rulesets", str(folder),
                                  "--assume", str(hypothesis), "--json"])
    out = json.loads(r.output)
    assert out["results"]["aid"] == "5000.00"
    assert out["reliance"]["aid"][0]["grade"] == "hypothesis"


def test_explain_shows_the_output_under_each_reading(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "t.mil").write_text(HEAD + READINGS + "output aid\n", encoding="utf-8")
    case = tmp_path / "c.yaml"
    case.write_text("n: 1200\nr1: 0.5\nr2: 1\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["explain", str(case), "aid", "--on", "2024-01-01", "--rulesets", str(folder)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "Selon chaque lecture (les autres inconnues restant ouvertes) :" in lines
    # lowest 0.5 × 10 000 = 5 000; mean 0.75 × 10 000 = 7 500
    assert "  - Taux combiné : « Le plus faible » → 5\u202f000,00 €" in lines
    assert "  - Taux combiné : « La moyenne » → 7\u202f500,00 €" in lines
    assert any("[lecture rate.lowest]" in line for line in lines)  # the readings in the tree too


def test_readings_side_by_side_are_capped(tmp_path, monkeypatch):
    from engine import worlds
    monkeypatch.setattr(worlds, "MAX_COMBINATIONS", 1)
    reg = registry(tmp_path, READINGS)
    value = run(reg, ["aid"], r1="0.5").values["aid"]
    sides = worlds.side_by_side({"n": 1200, "r1": D("0.5"), "r2": D(1)}, ON, reg, "aid", value)
    assert sides.refused.startswith("2 combinaisons de lectures, au-delà de 1")
