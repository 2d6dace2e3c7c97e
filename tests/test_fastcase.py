"""The quick case check (engine/fastcase.py) gives pydantic's case or defers to it; validation is shared
between rulesets only when they would accept the very same case; the fast path's cycle guard."""
import datetime as dt
from decimal import Decimal

import pydantic
import pytest
from hypothesis import given, settings, strategies as st

from engine import fastcase, shipped_registry
from engine.case import CaseError, _problem, validate
from engine.interpreter import _Session, evaluate
from engine.values import EvaluationError

from test_engine import registry_of

TEXT = '''ruleset x "X" effective from 2020-01-01
enum kind "Kind":
  a "A"
  b "B"
input p : group "P"
input p.n : int "N" between 1 and 10
input p.share : decimal "Share" between 0 and 1
input p.amount : optional money "Amount"
input p.on : date "On"
input p.flag : bool "Flag"
input p.kind : kind "Kind"
input p.name : optional text "Name"
input q : optional group "Q"
input q.m : int "M" at least 0
rule r "R" : int = p.n
'''

ODD = [None, 0, 1, 5, 10, 11, -1, True, False, 1.5, 2.0, "5", "0.31", " 0.5", "1e-1", "00.5", "+0.5", ".5",
       Decimal("0.50"), Decimal("NaN"), Decimal("-0"), Decimal("1.5"), "-0", "0", "1", "2025-02-10", "2025-02-30",
       "2025-2-10", "2025-02-10T00:00", dt.date(2025, 2, 10), dt.datetime(2025, 2, 10), "a", "b", "c", "", b"a",
       [1], {}, {"m": 3}, {"m": -1}, {"m": 3, "z": 1}]
FIELDS = ["n", "share", "amount", "on", "flag", "kind", "name"]
GOOD = {"n": 3, "share": "0.25", "amount": 12, "on": dt.date(2025, 2, 10), "flag": True, "kind": "a"}


def outcome(fn):
    try:
        return "ok", repr(fn())
    except CaseError as exc:
        return "error", str(exc)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS + ["zz"]), st.sampled_from(ODD)), st.sampled_from(ODD),
       st.booleans(), st.booleans())
def test_the_quick_check_gives_pydantics_case_or_defers(changes, q, drop_q, strict):
    entry = next(iter(registry_of(TEXT).entries.values()))
    schema = entry.schema if strict else entry.lenient_schema
    raw = {"p": {**GOOD, **changes}} if changes.get("zz") is None else {"p": {**GOOD, **changes}, "zz": 1}
    if not drop_q:
        raw["q"] = q
    quick = fastcase.checker(entry.model, schema)(raw)
    pure = outcome(lambda: pydantic_only(entry.model, schema, raw))
    if quick is not None:
        assert pure == ("ok", repr(quick))
    assert outcome(lambda: validate(entry.model, schema, raw)) == pure


def pydantic_only(model, schema, raw):
    """`validate` as it was before the quick check."""
    try:
        return schema.model_validate(raw).model_dump()
    except pydantic.ValidationError as exc:
        raise CaseError([_problem(model, e) for e in exc.errors(include_url=False)]) from None


def test_canonical_values_are_taken_without_pydantic():
    entry = next(iter(registry_of(TEXT).entries.values()))
    checked = fastcase.checker(entry.model, entry.schema)({"p": {**GOOD, "on": "2025-02-10"}})
    assert checked == {"p": {"n": 3, "share": Decimal("0.25"), "amount": Decimal(12), "on": dt.date(2025, 2, 10),
                             "flag": True, "kind": "a", "name": None}, "q": None}


def test_errors_keep_their_messages():
    entry = next(iter(registry_of(TEXT).entries.values()))
    with pytest.raises(CaseError) as info:
        validate(entry.model, entry.schema, {"p": {**GOOD, "n": 11, "kind": "c"}, "zz": 1})
    assert info.value.problems == [
        "p.n: doit être inférieur ou égal à 10 (reçu : 11)",
        "p.kind: 'c' n'est pas une valeur possible (kind) ; valeurs possibles : a, b",
        "zz: champ inconnu ; champs connus ici : p, q",
    ]


def test_an_unknown_field_inside_a_map_names_the_fields_of_its_records():
    registry = shipped_registry()
    entry = registry.entries["convention_2024"]
    case = {**CASE, "contract": {**CASE["contract"],
                                 "observed": {"3": {"patients_mt": 1200, "file_active": 3600, "extr": 1}}}}
    with pytest.raises(CaseError) as info:
        validate(entry.model, entry.schema, case)
    assert info.value.problems == ["contract.observed.3.extr: champ inconnu ; champs connus ici : patients_mt, "
                                   "file_active"]


CASE = {"physician": {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 1120,
                      "file_active": 3563, "percentile": 52, "ccam_fee_share": "0.31"},
        "contract": {"signed_on": dt.date(2023, 9, 10), "option": "half", "initial_patients_mt": 1120,
                     "initial_file_active": 3563}}


def test_validation_is_shared_only_when_the_other_ruleset_accepts_the_same_case():
    registry = shipped_registry()
    m2024, m2023 = registry.entries["convention_2024"].model, registry.entries["reglement_arbitral_2023"].model
    # 2023 declares the same inputs as 2024, but its option enum has three members, not five
    assert fastcase.reuse_checks(m2024, m2023) == [(("contract", "option"), frozenset({"third", "half", "full"}))]
    assert fastcase.reuse_checks(m2024, registry.entries["avenant7_2019"].model) is None
    session = _Session(registry, CASE, explain=False)
    ev = session.evaluation(dt.date(2025, 9, 1))
    ev.value(ev.plan.slots["annual_aid"])
    assert session.validated["reglement_arbitral_2023"] is session.validated["convention_2024"]
    # `double` exists only in 2024: 2023 validates the case itself, and says why it refuses it
    for explain in (True, False):
        with pytest.raises(CaseError) as info:
            evaluate({**CASE, "contract": {**CASE["contract"], "option": "double"}}, dt.date(2025, 9, 1), registry,
                     ["eligible", "annual_aid"], explain=explain)
        assert info.value.problems == ["contract.option: 'double' n'est pas une valeur possible (option) ; "
                                       "valeurs possibles : third, half, full"]


def test_a_cycle_is_named_the_same_on_both_paths():
    reg = registry_of('ruleset x "X" effective from 2020-01-01\ninput n : int "N"\n'
                      'rule a "A" : int = b + 1\nrule b "B" : int = c as of 2020-06-01\nrule c "C" : int = n + a\n'
                      'rule d "D" : int = if n > 0 then a else 0\n')
    for explain in (True, False):
        with pytest.raises(EvaluationError) as info:
            evaluate({"n": 3}, dt.date(2020, 6, 1), reg, ["d"], explain=explain)
        assert "des règles dépendent les unes des autres en boucle : a → b → c → a" in str(info.value)


SMALL = ('ruleset x "X" effective from 2020-01-01\ninput n : int "N"\ninput m : optional int "M"\n'
         'rule u "U" : bool = not established "u inconnu"\n'
         'rule a1 "A1" : bool = u or n > 0\nrule a2 "A2" : bool = u and n > 5\n'
         'rule a3 "A3" : bool = u and n > 0\nrule a4 "A4" : bool = n > 0 or u\n'
         'rule c1 "C1" : bool = n >= 3\nrule c2 "C2" : bool = n = 3\nrule s "S" : bool = m is set\n'
         'rule t "T" : int = n + 1 - 2 * 3\n'
         'rule f(k : int) "F" : int = k * 2\nrule g "G" : int = f(n) + f(1)\n')


@pytest.mark.parametrize("explain", [True, False])
def test_unrolled_operations_keep_their_meaning(explain):
    reg = registry_of(SMALL)
    r = evaluate({"n": 3}, dt.date(2020, 6, 1), reg, ["a1", "a2", "a3", "a4", "c1", "c2", "s", "t", "g"], explain)
    values = dict(r.values)
    assert values.pop("a3").reason == "u inconnu"  # not established and true: not established
    assert values == {"a1": True, "a2": False, "a4": True, "c1": True, "c2": True, "s": False, "t": -2, "g": 8}
    r = evaluate({"n": 2, "m": 0}, dt.date(2020, 6, 1), reg, ["a1", "a2", "c1", "c2", "s", "t", "g"], explain)
    assert r.values == {"a1": True, "a2": False, "c1": False, "c2": False, "s": True, "t": -3, "g": 6}
