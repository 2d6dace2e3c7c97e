"""`evaluate(..., explain=False)`: the same values and errors as the explaining path, no nodes."""
import datetime as dt
import itertools

import pytest

from engine import shipped_registry
from engine.interpreter import evaluate
from engine.values import EvaluationError

from test_engine import HEAD, registry_of

D = dt.date


def both(registry, case, on, outputs=None):
    slow = evaluate(case, on, registry, outputs)
    fast = evaluate(case, on, registry, outputs, explain=False)
    assert fast.explanation == {}
    assert fast.json_values() == slow.json_values()
    assert fast.types == slow.types
    assert set(fast.used) == set(slow.used)
    return fast.json_values()


def test_gp_full_time_2024_first_year():
    # convention_2024, signed 2024-09-01, on 2025-03-01: year 1, option full → 38 000 €
    case = {"physician": {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 1200,
                          "file_active": 2000},
            "contract": {"signed_on": D(2024, 9, 1), "option": "full", "initial_patients_mt": 1200,
                         "initial_file_active": 2000}}
    r = both(shipped_registry(), case, D(2025, 3, 1))
    assert (r["eligible"], r["contract_year"], r["annual_aid"]) == (True, 1, "38000.00")


def test_ineligibility_reasons_are_the_same_without_explanation():
    # sector 2 without OPTAM, 700 patients ≤ 775 (P30 of 2023): two requirements fail
    case = {"physician": {"specialty": "medecine_generale", "sector": 2, "optam": False, "patients_mt": 700,
                          "file_active": 900}}
    r = both(shipped_registry(), case, D(2023, 9, 1))
    assert r["eligible"] is False
    assert [x["requirement"] for x in r["ineligibility_reasons"]] == ["eligibility.sector", "eligibility.patientele"]


@pytest.mark.parametrize("specialty,sector,optam,patients,option,signed,on,switched", list(itertools.product(
    ["medecine_generale", "cardiologie", "radiologie", "urologie", "pediatrie"], [1, 2], [True, False],
    [600, 700, 900, 1100], ["third", "half", "full"], [D(2019, 10, 1), D(2022, 5, 15), D(2023, 6, 1), D(2024, 7, 1)],
    [D(2021, 1, 1), D(2023, 7, 1), D(2025, 8, 1)], [None, D(2023, 5, 1)]))[::23])
def test_shipped_rulesets_agree_on_a_grid(specialty, sector, optam, patients, option, signed, on, switched):
    case = {"physician": {"specialty": specialty, "sector": sector, "optam": optam, "patients_mt": patients,
                          "file_active": patients + 400, "percentile": 55 if specialty != "medecine_generale" else None,
                          "ccam_fee_share": "0.1", "priority_zone": True, "coordinated_practice": True,
                          "group_practice": False},
            "contract": {"signed_on": signed, "option": option, "initial_patients_mt": patients,
                         "initial_file_active": patients + 400, "switched_on": switched,
                         "observed": {3: {"patients_mt": patients + 50, "file_active": patients + 500}}}}
    try:
        slow = evaluate(case, on, shipped_registry()).json_values()
    except Exception as exc:  # noqa: BLE001 — the fast path must fail the same way
        with pytest.raises(type(exc)) as info:
            evaluate(case, on, shipped_registry(), explain=False)
        assert str(info.value) == str(exc)
        return
    assert evaluate(case, on, shipped_registry(), explain=False).json_values() == slow


def test_errors_are_the_same_without_explanation():
    for text, expected in [
        ('rule a "A" : int = a as of 2020-06-01\n', "des règles dépendent les unes des autres en boucle : a → a"),
        ('rule a "A" : int = 0\n  exception "E1" when n > 1 then 1\n  exception "E2" when n > 2 then 2\n',
         "deux exceptions de la règle « a » s'appliquent à la fois : « E1 » (inline.mil:4:3) et « E2 » (inline.mil:5:3)"),
        ('table t "T" : money\n  rows k : int\n  | 1 | 5 |\n  | 2 | — |\nrule a "A" : money = t[n - 1]\n',
         "inline.mil:6:9: erreur : le barème « t » ne donne pas de valeur pour k = 2 (la case indique « — »)"),
    ]:
        with pytest.raises(EvaluationError) as info:
            evaluate({"n": 3}, D(2020, 6, 1), registry_of(HEAD + text), ["a"], explain=False)
        assert expected in str(info.value)


def test_rounding_and_memo_without_explanation():
    reg = registry_of(HEAD + 'rule a "A" : money = round (1 000 € / n) to cent\nrule b "B" : money = a + a + a\n')
    assert both(reg, {"n": 3}, D(2020, 6, 1), ["a", "b"]) == {"a": "333.33", "b": "999.99"}
