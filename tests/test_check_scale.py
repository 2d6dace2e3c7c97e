"""Rulesets at scale (issue 16): what `millesime check` says of very long inputs.

Behaviour only: how long it takes is measured by bench/check_scale.py (bench/RESULTS.md), never
asserted here.
"""
import datetime as dt
from decimal import Decimal

import pytest

from dsl import ast
from dsl.errors import RulesetError
from dsl.parser import parse_text
from engine.interpreter import evaluate
from engine.registry import Registry

HEAD = 'ruleset r "t"\n  effective from 2020-01-01\n'
RULESET = HEAD + '''reference R "Référence" grade official
input physician : group "Médecin"
input physician.patients_mt : int "Patientèle"
rule total "Total" : int = physician.patients_mt + {body}
  source R quote "q"
output total
'''


def _depth(e) -> int:
    if isinstance(e, ast.Arith):
        return 1 + max(_depth(e.left), _depth(e.right))
    return 0


def _error(text: str):
    with pytest.raises(RulesetError) as info:
        parse_text(text, "x.mil")
    (diagnostic,) = info.value.diagnostics
    return diagnostic


def _total(tmp_path, body: str, patients: int = 0):
    path = tmp_path / "r.mil"
    path.write_text(RULESET.format(body=body), encoding="utf-8")
    registry = Registry.from_paths([path], require_sources=True)
    assert registry.diagnostics == []
    return evaluate({"physician": {"patients_mt": patients}}, dt.date(2024, 1, 1), registry).values["total"]


def test_a_flat_sum_of_200_000_terms_reads_as_a_shallow_tree():
    f = parse_text(HEAD + 'rule x "x" : int = ' + " + ".join(["1"] * 200_000) + "\n", "x.mil")
    e = f.declarations[0].expr
    assert isinstance(e, ast.Arith) and e.op == "+"
    # balanced: 200 000 leaves need 18 levels (2^18 = 262 144), not 199 999
    assert _depth(e) == 18


def test_a_long_sum_with_subtractions_keeps_its_value(tmp_path):
    # 1 - 2 + 3 - 4 + … - 300: 150 pairs (k - (k+1)) of -1 each = -150; plus the 7 patients = -143
    body = "1" + "".join(f" {'-' if k % 2 == 0 else '+'} {k}" for k in range(2, 301))
    assert _total(tmp_path, body, patients=7) == -143


def test_a_long_sum_of_money_is_exact(tmp_path):
    # 0.01 € three hundred times is 3.00 €, exactly (a balanced sum of exact decimals)
    path = tmp_path / "r.mil"
    path.write_text(HEAD + 'reference R "R" grade official\ninput physician : group "M"\n'
                    'rule total "Total" : money = ' + " + ".join(["0.01 €"] * 300) + '\n  source R quote "q"\n'
                    "output total\n", encoding="utf-8")
    registry = Registry.from_paths([path], require_sources=True)
    assert evaluate({"physician": {}}, dt.date(2024, 1, 1), registry).values["total"] == Decimal("3.00")


def test_a_short_sum_is_the_left_to_right_chain_it_always_was():
    e = parse_text(HEAD + 'rule x "x" : int = (a + b) + c - d\n', "x.mil").declarations[0].expr
    assert (e.op, e.text, str(e.loc)) == ("-", "(a + b) + c - d", "x.mil:3:20")
    assert (e.left.op, e.left.text) == ("+", "(a + b) + c")
    assert (e.left.left.op, e.left.left.text) == ("+", "a + b")


def test_a_long_run_of_subtractions_is_refused_at_its_place():
    d = _error(HEAD + 'rule x "x" : int = 0' + " - 1" * 100 + "\n")
    assert (d.loc.line, d.loc.column) == (3, 20)
    assert d.message == "cette suite a 101 termes séparés uniquement par `-` ; au plus 64 sont calculés à la suite"


def test_a_product_of_thousands_of_factors_is_refused_at_its_place():
    d = _error(HEAD + 'rule x "x" : int = ' + " * ".join(["1"] * 5000) + "\n")
    assert (d.loc.line, d.loc.column) == (3, 20)
    assert d.message == "ce produit a 5000 facteurs ; au plus 200 sont calculés dans une même expression"


def test_an_empty_table_cell_is_named_as_such():
    d = _error(HEAD + 'table t "t" : int\n  rows k : int\n  | 1 | 3 |\n  | 2 |   |\n')
    # line 6 is `  | 2 |   |`: the cell starts after the second `|`, at column 9
    assert (d.loc.line, d.loc.column) == (6, 9)
    assert d.message == "cette case du barème est vide"
    assert "`—` là où il n'en donne pas" in d.hint


def test_an_empty_heading_is_named_as_such():
    d = _error(HEAD + 'table t "t" : int\n  rows k : int\n  |  | 3 |\n')
    assert (d.loc.line, d.loc.column, d.message) == (5, 5, "cet en-tête du barème est vide")


def test_a_cell_cut_short_is_not_the_end_of_the_file():
    d = _error(HEAD + 'table t "t" : int\n  rows k : int\n  | 1 | 3 + |\n')
    assert d.message == "cette case de barème s'arrête trop tôt"
    assert d.loc.line == 5


def test_a_20_mb_text_reads():
    # The text pattern kept one backtracking state per character (6.7 GB for 50 MB); now linear.
    f = parse_text(HEAD + 'parameter p "' + "x" * 20_000_000 + '" : int = 1\n', "x.mil")
    assert len(f.declarations[0].label) == 20_000_000


def test_thousands_of_unused_declarations_are_each_reported_once(tmp_path):
    path = tmp_path / "r.mil"
    params = "".join(f'parameter p{i} "p{i}" : int = {i}\n  source R quote "q"\n' for i in range(3000))
    path.write_text(RULESET.format(body="0") + params, encoding="utf-8")
    diagnostics = Registry.from_paths([path], require_sources=True).diagnostics
    assert len(diagnostics) == 3000
    assert diagnostics[2999].message == "le paramètre `p2999` n'est utilisé par aucun résultat"
    # each rendered with its own line of the file: p2999 is declared on line 6000 + 9
    assert str(diagnostics[2999].loc) == f"{path}:{9 + 2 * 2999}:1"
    assert "parameter p2999" in diagnostics[2999].render()
