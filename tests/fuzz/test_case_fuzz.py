"""Case fuzzing: a mutated case gives a validation error naming each field at fault, or a
result; a date no ruleset covers gives "aucun texte n'est en vigueur le JJ/MM/AAAA". Nothing else.

The valid cases to mutate are the examples and every regression case of tests/agreements.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from engine import testing
from engine.case import CaseError
from engine.cli import main
from engine.files import load_data
from engine.interpreter import evaluate
from engine.registry import NoRulesetError, Registry
from engine.values import EvaluationError

from .conftest import ROOT, fuzz, tried

REGISTRY = Registry.load()
FIRST_DAY = dt.date(2019, 8, 21)  # avenant 7 takes effect: nothing is in force before
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
BASES: list[tuple[dict, dt.date]] = [(load_data(p), dt.date(2025, 9, 1)) for p in EXAMPLES]
for _file in testing.collect([ROOT / "tests/agreements"]):
    BASES += [(c.case, c.on) for c in testing.load_cases(_file) if isinstance(c.case, dict)]
DECLARED = {path for e in REGISTRY.entries.values() for path in e.model.inputs}
ENUM_MEMBERS = sorted({m.name for e in REGISTRY.entries.values() for en in e.model.enums.values() for m in en.members})
def _evaluates(case, on) -> bool:
    try:
        evaluate(case, on, REGISTRY)
    except Exception:
        return False
    return True


NO_RULESET = re.compile(r"aucun texte n'est en vigueur le (\d{2}/\d{2}/\d{4})"
                        r"|renvoie au (\d{2}/\d{2}/\d{4}), date à laquelle aucun texte n'est en vigueur")


def french_date(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"

VALID_BASES = [(c, on) for c, on in BASES if isinstance(c.get("contract"), dict) and on >= FIRST_DAY
               and _evaluates(c, on)]

WEIRD = [None, True, False, 0, -1, -10**30, 10**30, 101, Decimal("100.01"), Decimal("-0.5"), Decimal("NaN"),
         Decimal("Infinity"), Decimal("1e999"), 1.5, float("nan"), float("inf"), "", "x", "12", "é🙂", "2019-01-01",
         dt.date(2018, 12, 31), dt.date(2019, 8, 20), dt.date(2100, 1, 1), [], [1], {}, {"a": 1},
         {3: {"patients_mt": 1, "file_active": 2}}, {"3": {"patients_mt": "1"}}, {0: {"patients_mt": 0, "file_active": 0}}]
DATES = st.one_of(st.dates(dt.date(2015, 1, 1), dt.date(2100, 12, 31)),
                  st.sampled_from([dt.date(2019, 8, 20), FIRST_DAY, dt.date(2023, 4, 30), dt.date(2023, 5, 1),
                                   dt.date(2024, 6, 21), dt.date(2024, 6, 22)]))


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))


def _parent(case, path):
    for k in path[:-1]:
        case = case[k]
    return case


@st.composite
def mutated_cases(draw):
    case, on = draw(st.sampled_from(BASES))
    case = copy.deepcopy(case)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(case))
        op = draw(st.sampled_from(["set", "set", "delete", "add", "negative", "percent", "date", "enum", "on"]))
        if op == "on":
            on = draw(DATES)
            continue
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(case, path)
        if op == "set":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(WEIRD)))
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add":
            target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent
            target[draw(st.sampled_from(["zz", "renewal", "ccam_fee_share", "switched_on", "observed", "percentile",
                                         "target_patients_mt", "priority_zone"]))] = copy.deepcopy(draw(st.sampled_from(WEIRD)))
        elif op == "negative":
            parent[path[-1]] = -draw(st.integers(1, 10**6))
        elif op == "percent":
            parent[path[-1]] = draw(st.decimals(Decimal("100.000001"), Decimal("1e6"), places=6))
        elif op == "date":
            parent[path[-1]] = draw(DATES)
        else:
            parent[path[-1]] = draw(st.one_of(st.sampled_from(ENUM_MEMBERS), st.text(max_size=12)))
    return case, on


def _field_path_ok(problem: str, case: dict) -> bool:
    path = problem.split(": ", 1)[0]
    parts = path.split(".")
    if any(".".join(parts[:k]) in DECLARED for k in range(1, len(parts) + 1)):
        return True
    node = case  # an unknown field: it must be one the case really holds
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def check_case(case, on: dt.date):
    """The contract of evaluate() on any case: a result, or one of the two errors a case may get."""
    try:
        result = evaluate(case, on, REGISTRY)
    except CaseError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert _field_path_ok(problem, case), problem
        return "invalid"
    except (NoRulesetError, EvaluationError) as exc:
        if isinstance(exc, EvaluationError) and "ne peut pas être calculé exactement" in exc.message:
            assert exc.loc is not None  # a case figure out of any legal range (10**30 patients): loud, located
            return "out of range"
        # evaluated on a date no ruleset covers, or looking (`as of`) at one, e.g. a contract's start
        m = NO_RULESET.search(str(exc))
        assert m, str(exc)
        if isinstance(exc, NoRulesetError):
            assert str(exc).startswith(m.group(0)), str(exc)
        day = dt.datetime.strptime(m.group(1) or m.group(2), "%d/%m/%Y").date()
        assert day < FIRST_DAY, str(exc)  # the only gap of the timeline is before avenant 7
        if on < FIRST_DAY:
            assert day == on
        return "no ruleset"
    assert on >= FIRST_DAY
    out = result.to_json()
    json.dumps(out, ensure_ascii=False)
    values = result.json_values()
    for name in ("annual_aid", "aid_due"):
        if isinstance(values.get(name), str):
            assert Decimal(values[name]) >= 0, (name, values[name])
    if isinstance(values.get("aid_due"), str) and isinstance(values.get("annual_aid"), str):
        assert Decimal(values["aid_due"]) <= Decimal(values["annual_aid"])
    return "result"


@fuzz(300)
@given(mutated_cases())
def test_mutated_cases_give_a_result_or_name_the_field(sample):
    tried("cases: mutated cases")
    tried("cases: mutated cases → " + check_case(*sample))


@fuzz(60)
@given(st.sampled_from(BASES), st.dates(dt.date(1, 1, 1), dt.date(2019, 8, 20)))
def test_a_date_before_the_first_ruleset_has_no_ruleset(sample, on):
    tried("cases: dates before 2019-08-21")
    with pytest.raises(NoRulesetError, match=rf"^aucun texte n'est en vigueur le {french_date(on)} ; les textes "
                                             "couvrent : "):
        evaluate(sample[0], on, REGISTRY)


@fuzz(40)
@given(st.sampled_from(VALID_BASES), st.dates(dt.date(2015, 1, 1), dt.date(2019, 8, 20)))
def test_a_contract_signed_before_the_first_ruleset_is_refused_loudly(sample, signed_on):
    tried("cases: contracts signed before 2019-08-21")
    case = copy.deepcopy(sample[0])
    if not isinstance(case.get("contract"), dict):
        return
    case["contract"]["signed_on"] = signed_on
    case["contract"].pop("switched_on", None)
    # a contract is governed by the text in force on its start: none is, and that is said
    with pytest.raises((NoRulesetError, EvaluationError),
                       match=rf"(aucun texte n'est en vigueur le|renvoie au) {french_date(signed_on)}\b"):
        evaluate(case, dt.date(2025, 9, 1), REGISTRY)


@pytest.mark.parametrize("field, value, expected", [
    ("physician.patients_mt", -1, "physician.patients_mt: doit être supérieur ou égal à 0 (reçu : -1)"),
    ("physician.percentile", Decimal("100.5"), "physician.percentile: doit être inférieur ou égal à 100"),
    ("physician.specialty", "cardio", "physician.specialty: 'cardio' n'est pas une valeur possible (specialty)"),
    ("contract.option", "quarter", "contract.option: 'quarter' n'est pas une valeur possible (option)"),
    ("contract.initial_file_active", "many", "contract.initial_file_active: un nombre entier est attendu"),
    ("physician.optam", "yes", "physician.optam: oui ou non est attendu (true ou false)"),
])
def test_typical_mistakes_name_their_field(field, value, expected):
    case = copy.deepcopy(BASES[EXAMPLES.index(ROOT / "examples/generaliste-2024.yaml")][0])
    head, name = field.split(".")
    case[head][name] = value
    with pytest.raises(CaseError) as info:
        evaluate(case, dt.date(2025, 9, 1), REGISTRY)
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


YAML_TOKENS = ["\n", ": ", "- ", "{", "}", "[", "]", "'", '"', "&a", "*a", "!!python/object:os.system", "!!float",
               ".inf", ".nan", "1e400", "0x1F", "2019-02-30", "~", "|", ">", "#", "\t", "\ufeff", "é", "%YAML 1.1"]


@fuzz(60, deadline_ms=5000)
@given(st.sampled_from(EXAMPLES), st.lists(st.tuples(st.integers(0, 2000), st.sampled_from(YAML_TOKENS)), max_size=4),
       st.sampled_from(["2019-10-01", "2023-06-01", "2025-09-01", "2018-01-01"]))
def test_cli_eval_of_mutated_case_files_exits_cleanly(example, edits, on):
    tried("cases: mutated case files through `millesime eval`")
    text = example.read_text(encoding="utf-8")
    for at, token in edits:
        at = min(at, len(text))
        text = text[:at] + token + text[at:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / example.name
        path.write_text(text, encoding="utf-8")
        outcome = CliRunner().invoke(main, ["eval", str(path), "--on", on, "--json"])
    assert outcome.exit_code in (0, 1, 2), outcome.output
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), repr(outcome.exception)
    assert "Traceback" not in outcome.output
    if outcome.exit_code == 0:
        json.loads(outcome.stdout)
    else:
        assert outcome.stderr.startswith(("erreur : ", "Utilisation : ")), outcome.stderr  # French, whoever refuses
