"""The interpreter on the illustrative pair demo_base (2020–2021) → demo_amend (from 2022).

Expected amounts are read off the tables in tests/fixtures/demo/*.mil.
"""
import datetime as dt
from decimal import Decimal

import pytest

import engine
from dsl.parser import parse_text
from dsl import model
from engine.case import CaseError
from engine.interpreter import evaluate
from engine.registry import NoRulesetError, Registry
from engine.values import EvaluationError, NotEstablished

D = dt.date


def case(sector=1, patients=800, percentile=60, signed_on=D(2020, 3, 1), option="half", **physician):
    c = {"physician": {"sector": sector, "patients": patients, "percentile": percentile, **physician}}
    if signed_on is not None:
        c["contract"] = {"signed_on": signed_on, "option": option}
    return c


def values(demo, c, on, outputs=None):
    return evaluate(c, on, demo, outputs).json_values()


def test_base_ruleset_year_two(demo):
    # signed 2020-03-01, on 2021-06-01: one full year elapsed → year 2; table: year 2, half = 8 000
    r = values(demo, case(), D(2021, 6, 1))
    assert r == {"eligible": True, "ineligibility_reasons": [], "contract_year": 2, "annual_aid": "8000.00"}


def test_year_changes_on_the_anniversary_day(demo):
    assert values(demo, case(), D(2021, 2, 28), ["contract_year"]) == {"contract_year": 1}
    assert values(demo, case(), D(2021, 3, 1), ["contract_year"]) == {"contract_year": 2}


def test_open_range_row_three_plus(demo):
    # signed 2020-01-01, on 2021-12-31 → year 2; the 3+ row is reached only by the amended ruleset in 2022
    r = values(demo, case(signed_on=D(2019, 1, 1), option="full"), D(2021, 6, 1), ["annual_aid"])
    assert r == {"annual_aid": "12000.00"}  # year 3 → row 3+, full = 12 000


def test_exception_prevails_over_the_base_rule(demo):
    # percentile 96 ≥ 95 → exception « Forte patientèle »: year-1 amount every year: half = 10 000
    result = evaluate(case(percentile=96, signed_on=D(2019, 1, 1)), D(2021, 6, 1), demo, ["annual_aid"])
    assert result.json_values() == {"annual_aid": "10000.00"}
    node = result.explanation["annual_aid"]
    assert node.note == "exception appliquée : « Forte patientèle »"
    assert [s.article for s in node.sources] == ["3", "3, alinéa 2"]


def test_failing_requirement_gives_reason_with_source(demo):
    r = values(demo, case(sector=2), D(2021, 6, 1))
    assert r["eligible"] is False
    assert r["annual_aid"] is None
    assert r["ineligibility_reasons"] == [{
        "condition": "eligible", "requirement": "eligible.sector", "label": "Exercer en secteur 1",
        "source": "Texte de démonstration n°1, art. 1 : « les médecins de secteur 1 »"}]


def test_waiver_lifts_a_requirement(demo):
    # 100 patients < 500, but no percentile (newly installed physician) → requirement waived
    result = evaluate(case(patients=100, percentile=None), D(2021, 6, 1), demo, ["eligible"])
    assert result.values["eligible"] is True
    req = result.explanation["eligible"].children[1]
    assert (req.name, req.value, req.note) == ("eligible.patients", True,
                                               "ne s'applique pas : « Médecin nouvellement installé »")


def test_no_contract_means_no_contract_figures(demo):
    r = values(demo, case(signed_on=None), D(2021, 6, 1))
    assert r == {"eligible": True, "ineligibility_reasons": [], "contract_year": None, "annual_aid": None}


def test_amended_ruleset_selected_by_date_and_inherits(demo):
    c = case(sector=2, optam=True, patients=650, signed_on=D(2022, 3, 1), option="full")
    result = evaluate(c, D(2022, 6, 1), demo)
    assert result.ruleset.id == "demo_amend"
    # replaced requirement (sector 2 + OPTAM), replaced parameter (600 ≤ 650), replaced table (year 1 full 22 000)
    assert result.json_values() == {"eligible": True, "ineligibility_reasons": [], "contract_year": 1,
                                    "annual_aid": "22000.00",
                                    "amounts_by_year": ["22000.00", "17000.00", "13000.00", "13000.00", "13000.00"]}
    # contract_year is inherited from demo_base: its explanation cites the base text
    year = next(n for n in result.explanation["annual_aid"].children if n.name == "contract_year")
    assert (year.ruleset, year.sources[0].reference) == ("demo_amend", "DEMO1")


def test_running_contract_keeps_former_amount_until_anniversary(demo):
    c = case(signed_on=D(2021, 9, 1), option="full", optam=False)
    # year 1 began 2021-09-01 under demo_base: 20 000 (not the amended 22 000)
    before = evaluate(c, D(2022, 6, 1), demo, ["annual_aid"])
    assert before.json_values() == {"annual_aid": "20000.00"}
    as_of = [n for n in before.explanation["annual_aid"].children if n.kind == "as_of"]
    assert [(n.name, n.value) for n in as_of] == [("demo_base", Decimal(20000))]
    assert [e.model.id for e in before.used.values()] == ["demo_amend", "demo_base"]
    # from the anniversary 2022-09-01, year 2 under demo_amend: 17 000
    assert values(demo, c, D(2022, 9, 1), ["annual_aid"]) == {"annual_aid": "17000.00"}


def test_amending_never_changes_a_result_before_the_amendment(demo):
    base_only = Registry.from_paths([demo.folder / "demo_base.mil"])
    for on in (D(2020, 6, 1), D(2021, 12, 31)):
        for c in (case(), case(sector=2), case(percentile=97, option="full"), case(signed_on=None)):
            assert evaluate(c, on, demo).to_json() == evaluate(c, on, base_only).to_json()


def test_date_before_every_ruleset(demo):
    with pytest.raises(NoRulesetError) as info:
        evaluate(case(), D(2019, 12, 31), demo)
    assert str(info.value) == ("aucun texte n'est en vigueur le 31/12/2019 ; les textes couvrent : "
                               "demo_base (du 01/01/2020 au 31/12/2021), demo_amend (du 01/01/2022, sans date de fin)")


def test_invalid_case_names_every_bad_field(demo):
    bad = {"physician": {"sector": 3, "patients": -5, "percntile": 50}, "contract": {"option": "double"}}
    with pytest.raises(CaseError) as info:
        evaluate(bad, D(2021, 6, 1), demo)
    assert set(info.value.problems) == {
        "physician.sector: doit être inférieur ou égal à 2 (reçu : 3)",
        "physician.patients: doit être supérieur ou égal à 0 (reçu : -5)",
        "physician.percntile: champ inconnu ; vouliez-vous dire « percentile » ?",
        "contract.signed_on: champ obligatoire manquant (Date de signature)",
        "contract.option: 'double' n'est pas une valeur possible (option) ; valeurs possibles : half, full",
    }


GP = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 900, "file_active": 1500}
CONTRACT = {"signed_on": D(2023, 6, 15), "option": "full", "initial_patients_mt": 980, "initial_file_active": 1500}


@pytest.mark.parametrize("case, problem", [
    ({"physician": {**GP, "sector": 3}}, "physician.sector: doit être inférieur ou égal à 2 (reçu : 3)"),
    ({"physician": {**GP, "patients_mt": -5}}, "physician.patients_mt: doit être supérieur ou égal à 0 (reçu : -5)"),
    # an optional field's bound, which pydantic words `decimal('0')`
    ({"physician": {**GP, "percentile": Decimal(-5)}}, "physician.percentile: doit être supérieur ou égal à 0 (reçu : -5)"),
    ({"physician": {**GP, "sector": Decimal("1.5")}},
     "physician.sector: un nombre entier est attendu, sans décimales (reçu : 1.5)"),
    ({"physician": {**GP, "patients_mt": None}}, "physician.patients_mt: un nombre entier est attendu (reçu : null)"),
    ({"physician": {**GP, "percentile": True}},
     "physician.percentile: un nombre est attendu (décimales séparées par un point) (reçu : true)"),
    ({"physician": {**GP, "optam": "oui"}}, "physician.optam: oui ou non est attendu (true ou false) (reçu : 'oui')"),
    ({"physician": GP, "contract": {**CONTRACT, "signed_on": "hier"}},
     "contract.signed_on: une date AAAA-MM-JJ est attendue (reçu : 'hier')"),
    ({"physician": GP, "contract": {**CONTRACT, "observed": {3: {"patients_mt": 1}}}},
     "contract.observed.3.file_active: champ obligatoire manquant"),
    ({"physician": []}, "physician: un objet de champs est attendu (reçu : [])"),
    ({"physician": {**GP, "sectr": 1}}, "physician.sectr: champ inconnu ; vouliez-vous dire « sector » ?"),
    ({"physician": GP, "contract": {**CONTRACT, "option": "x"}},
     "contract.option: 'x' n'est pas une valeur possible (option) ; valeurs possibles : third, half, full, "
     "one_and_half, double"),
    ([], "un cas est un objet de champs (physician, contract, …), pas une liste"),
])
def test_case_problems_are_in_french(case, problem):
    # pydantic's messages, put in French by engine/case.py; the API shows them as they are
    with pytest.raises(CaseError) as info:
        engine.evaluate(case, D(2025, 9, 1))
    assert info.value.problems == [problem]
    assert str(info.value) == f"cas invalide :\n  - {problem}"


def test_fingerprint_changes_with_the_text_and_only_then(demo, tmp_path):
    m = demo.get("demo_base").model
    again = Registry.load(demo.folder).get("demo_base").model
    assert m.fingerprint == again.fingerprint
    for f in demo.folder.glob("*.mil"):
        text = f.read_text()
        (tmp_path / f.name).write_text(text.replace("10 000", "10 001") if f.name == "demo_base.mil" else text)
    assert Registry.load(tmp_path).get("demo_base").model.fingerprint != m.fingerprint


# ---------------------------------------------------------------- small rulesets written inline

def registry_of(text: str) -> Registry:
    f = parse_text(text, "inline.mil")
    from engine.registry import Entry
    from engine.compiler import compile_ruleset
    from dsl import checks
    [m] = model.build({f.header.id: f}).values()
    result = checks.check(m)
    assert result.errors == [], [d.render() for d in result.errors]
    return Registry({m.id: Entry(m, compile_ruleset(m, result.rule_types, result.expression_types), [])})


HEAD = 'ruleset x "X" effective from 2020-01-01\ninput n : int "N"\n'


def run(text, outputs, n=3):
    return evaluate({"n": n}, D(2020, 6, 1), registry_of(HEAD + text), outputs)


def test_rounding_is_explicit_and_half_up():
    r = run('rule a "A" : money = round (1 000 € / n) to cent\nrule b "B" : money = round (2 500 € / 1000) to euro\n'
            'rule c "C" : money = round down (2 999 € / 1000) to euro\nrule d "D" : money = 1 000 € / n\n',
            ["a", "b", "c", "d"])
    assert r.json_values() == {"a": "333.33", "b": "3.00", "c": "2.00",
                               "d": "333.3333333333333333333333333"}  # never rounded unless the rule says so


def test_not_established_propagates_and_is_reported():
    r = run('rule rate "Taux" : percent = not established "taux non publié"\n'
            'rule aid "Aide" : money = 1 000 € * rate\nrule known "K" : bool = false and rate > 1 %\n',
            ["aid", "known"])
    assert isinstance(r.values["aid"], NotEstablished)
    rate = {"name": "rate", "label": "Taux", "reason": "taux non publié"}
    assert r.json_values() == {"aid": {"not_established": "taux non publié", "decided_by": [rate]}, "known": False}
    assert r.not_established() == {"aid": "taux non publié"}


def test_unknown_table_cell_is_not_established():
    r = run('table t "T" : money\n  rows k : int\n  | 1 | 5 |\n  | 2 | ? |\n'
            'rule a "A" : money = t[n - 1]\n', ["a"])
    assert r.not_established() == {"a": "T (k 2) : valeur non établie (« ? » dans le barème)"}


def test_empty_cell_is_an_evaluation_error_at_the_cell():
    with pytest.raises(EvaluationError) as info:
        run('table t "T" : money\n  rows k : int\n  | 1 | 5 |\n  | 2 | — |\n'
            'rule a "A" : money = t[n - 1]\n', ["a"])
    assert str(info.value) == ("inline.mil:6:9: erreur : le barème « t » ne donne pas de valeur pour k = 2 (la case "
                               "indique « — »)\n  = le texte ne prévoit pas de montant ici : la règle ne doit pas l'y "
                               "chercher")


def test_conflicting_exceptions_are_an_error():
    with pytest.raises(EvaluationError) as info:
        run('rule a "A" : int = 0\n  exception "E1" when n > 1 then 1\n  exception "E2" when n > 2 then 2\n', ["a"])
    assert "deux exceptions de la règle « a » s'appliquent à la fois : « E1 » (inline.mil:4:3) et « E2 » (inline.mil:5:3)" \
        in str(info.value)


def test_each_rule_is_computed_once():
    r = run('rule a "A" : int = n * 2\nrule b "B" : int = a + a + a\n', ["b"])
    assert r.values["b"] == 18
    [a_node] = r.explanation["b"].children
    assert a_node.name == "a"


def test_parameterised_rules_and_comprehensions():
    r = run('rule sq(k : int) "Carré" : int = k * k\nrule l "L" : list of int = [sq(k) for k in 1..n if k != 2]\n',
            ["l"])
    assert r.values["l"] == [1, 9]


def test_division_by_zero_names_the_divisor():
    with pytest.raises(EvaluationError) as info:
        run('rule a "A" : decimal = 10 / (n - 3)\n', ["a"])
    assert str(info.value) == ("inline.mil:3:24: erreur : division par zéro dans « 10 / (n - 3) »\n"
                               "  = « n - 3 » vaut 0 pour ce cas : protégez la division par un « if »")


def test_dates():
    r = run('rule a "A" : date = add_years(2020-02-29, 1)\nrule b "B" : date = first_day_of_next_month(2020-12-15)\n'
            'rule c "C" : int = years_between(2019-09-01, 2023-08-31)\n', ["a", "b", "c"])
    assert r.json_values() == {"a": "2021-02-28", "b": "2021-01-01", "c": 3}


def test_runtime_cycle_through_as_of_is_reported():
    with pytest.raises(EvaluationError) as info:
        run('rule a "A" : int = a as of 2020-06-01\n', ["a"])
    assert "des règles dépendent les unes des autres en boucle : a → a" in str(info.value)
