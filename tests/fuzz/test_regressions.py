"""Failures the fuzzers found, kept as plain regression tests (issues 8 and 16).

A campaign with a fresh seed (tests/fuzz/campaign.py) that finds a failure ends here: its
example, fixed, with the outcome worked out by hand.

Each was a Python exception escaping instead of a located error (`file:line:col`).
"""
import pytest

from dsl.errors import RulesetError
from dsl.parser import parse_text

HEAD = 'ruleset r "t"\n  effective from 2020-01-01\n'


def _error(text: str):
    with pytest.raises(RulesetError) as info:
        parse_text(text, "x.mil")
    (diagnostic,) = info.value.diagnostics
    return diagnostic


@pytest.mark.parametrize("expr", [
    "(" * 300 + "1" + ")" * 300,            # was RecursionError in the tree builder from ~245 levels
    "not " * 400 + "true",
    "-" * 400 + "1",
    "[" * 300 + "1" + "]" * 300,
    "if true then " * 300 + "1" + " else 2" * 300,  # was a VisitError wrapping RecursionError
])
def test_deep_nesting_is_a_located_error(expr):
    d = _error(HEAD + f'rule x "x" : int = {expr}\n')
    assert d.message == "l'expression est trop imbriquée pour être lue"
    assert d.loc.file == "x.mil" and d.loc.line == 3 and d.loc.column >= 20


def test_deep_nesting_in_a_table_cell_is_located_in_the_cell():
    # was a VisitError (table_decl) wrapping a VisitError wrapping RecursionError
    d = _error(HEAD + 'table t "t" : int\n  rows k : int\n  | 1 | ' + "(" * 400 + "1" + ")" * 400 + " |\n")
    assert d.message == "l'expression est trop imbriquée pour être lue"
    assert d.loc.line == 5 and d.loc.column > 8


def test_nesting_as_deep_as_the_shipped_agreements_still_reads():
    parse_text(HEAD + 'rule x "x" : int = ' + "(" * 40 + "1" + ")" * 40 + "\n", "x.mil")


@pytest.mark.parametrize("literal, column", [
    ("9" * 5000, 29),            # was ValueError: exceeds the limit (4300 digits) for integer string conversion
    ("9" * 5000 + " €", 29),
    ("9" * 5000 + " %", 29),
    ("1." + "9" * 40, 29),       # was accepted, then silently rounded to 28 digits by any computation
])
def test_overlong_number_is_a_located_error(literal, column):
    d = _error(HEAD + f'parameter p "p" : decimal = {literal}\n')
    assert d.loc.line == 3 and d.loc.column == column
    assert "chiffres ; au plus 28 sont calculés exactement" in d.message


def test_overlong_number_in_a_table_key():
    d = _error(HEAD + 'table t "t" : int\n  rows k : int\n  | ' + "9" * 5000 + ' | 1 |\n')
    assert (d.loc.line, d.loc.column) == (5, 5)
    assert d.message.startswith("ce nombre a 5000 chiffres")


def test_grouped_28_digit_amount_still_reads():
    parsed = parse_text(HEAD + 'parameter p "p" : money = 1 000 000 000 000 000 000 000 000 000 €\n', "x.mil")
    (decl,) = parsed.declarations
    assert decl.value.value == 10 ** 27


def test_a_huge_case_figure_is_a_located_error_not_an_invalid_operation():
    # found by the case fuzzer: 10**30 patients made `round … to unit` raise decimal.InvalidOperation
    import datetime as dt
    from engine.interpreter import evaluate
    from engine.registry import Registry
    from engine.values import EvaluationError

    case = {"physician": {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 1000,
                          "file_active": 1600, "percentile": 45, "priority_zone": False,
                          "coordinated_practice": True, "group_practice": True},
            "contract": {"signed_on": dt.date(2019, 10, 1), "option": "third", "initial_patients_mt": 10 ** 30,
                         "initial_file_active": 1400}}
    for explain in (True, False):
        with pytest.raises(EvaluationError, match=r"ne peut pas être calculé exactement \(InvalidOperation\)") as info:
            evaluate(case, dt.date(2025, 9, 1), Registry.load(), explain=explain)
        assert info.value.loc is not None and info.value.loc.file.endswith(".mil")


def test_a_case_file_with_a_date_that_does_not_exist_exits_cleanly(tmp_path):
    # found by the case-file fuzzer at once with a fresh seed (issue 16): `2019-02-30` inserted over a
    # signature date made YAML's timestamp constructor raise ValueError, a traceback out of `millesime eval`
    from click.testing import CliRunner

    from engine.cli import main
    from .conftest import ROOT
    text = (ROOT / "examples" / "generaliste-2024.yaml").read_text(encoding="utf-8")
    assert "  signed_on: 2023-06-15\n" in text
    path = tmp_path / "case.yaml"
    path.write_text(text.replace("signed_on: 2023-06-15", "signed_on: 2019-02-30"), encoding="utf-8")
    outcome = CliRunner().invoke(main, ["eval", str(path), "--on", "2025-09-01"])
    assert outcome.exit_code == 1
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    assert outcome.stderr == (f"erreur : {path}:12:14: contract.signed_on: 2019-02-30 n'est pas une date "
                              "(ce jour n'existe pas dans ce mois)\n")


def test_a_json_escape_for_half_a_surrogate_pair_is_an_error_row(tmp_path):
    # found by the campaign of seed 1694631134 (tests/fuzz/campaign.json): a JSON line whose key held
    # `\ud800` (half a UTF-16 surrogate pair) was reported as an unknown column under that key, and
    # writing the key to the errors file (UTF-8) raised UnicodeEncodeError — a traceback, run lost
    import csv
    import datetime as dt

    from engine.batch import run_file
    good = ('{"specialty": "medecine_generale", "sector": 1, "optam": false, "patients_mt": 1200, '
            '"file_active": 2000}')
    (tmp_path / "cases.jsonl").write_text(good + "\n" + good[:-1] + ', "\\ud800ccam_fee_share": "0.1"}\n'
                                          + good[:-1] + ', "contract_observed": "{\\"\\\\udc00\\": 1}"}\n',
                                          encoding="utf-8")
    summary = run_file(tmp_path / "cases.jsonl", dt.date(2025, 3, 1), tmp_path / "out.csv", progress=False)
    assert (summary.rows, summary.computed, summary.failed) == (3, 1, 2)
    with open(tmp_path / "out.csv.errors.csv", newline="", encoding="utf-8") as f:
        errors = list(csv.DictReader(f))
    assert errors[0] == {"row": "2", "field": "", "reason": "ligne 2 : JSON invalide : \\ud800 est la moitié d'une "
                                                            "paire de substitution UTF-16, pas un caractère"}
    # (errors[1:] also holds the contract's missing fields)
    assert {"row": "3", "field": "contract_observed", "reason": "JSON invalide : \\udc00 est la moitié d'une paire de "
                                                                "substitution UTF-16, pas un caractère"} in errors[1:]
