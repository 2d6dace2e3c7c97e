"""`millesime fmt`: one canonical layout, the same meaning, comments and blank lines kept."""
import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsl import ast
from dsl.errors import RulesetError
from dsl.format import format_text
from dsl.parser import parse_hypotheses_text, parse_text
from engine.cli import main
from engine.registry import shipped_rulesets_dir

ROOT = Path(__file__).resolve().parent
SAMPLES = sorted(shipped_rulesets_dir().glob("*.mil")) + sorted((ROOT / "fixtures").rglob("*.mil")) + \
    sorted((ROOT / "check").rglob("*.mil")) + sorted((ROOT.parent / "bench").glob("*.mil"))


def meaning(node):
    """The syntax tree without places and without the spacing of expressions (written here again,
    independently of dsl/format.py's own check)."""
    if isinstance(node, ast.Loc):
        return None
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            (f.name, meaning(getattr(node, f.name))) for f in dataclasses.fields(node)
            if f.name not in ("loc", "path") and not (f.name == "text" and not isinstance(node, (ast.TableCell,
                                                                                                  ast.TableKey))))
    if isinstance(node, (list, tuple)):
        return tuple(meaning(x) for x in node)
    return node


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_same_syntax_tree_before_and_after_and_idempotent(path):
    text = path.read_text(encoding="utf-8")
    try:
        before = meaning(parse_text(text, "x.mil"))
    except RulesetError:
        pytest.skip("a corpus file whose defect is a syntax error")
    once = format_text(text, "x.mil")
    assert meaning(parse_text(once, "x.mil")) == before
    assert format_text(once, "x.mil") == once


def test_the_shipped_rulesets_are_laid_out_canonically():
    for path in sorted(shipped_rulesets_dir().glob("*.mil")):
        text = path.read_text(encoding="utf-8")
        assert format_text(text, str(path)) == text, f"run `millesime fmt` on {path}"


HEAD = 'ruleset t "T"\n  effective from 2020-01-01\n'


def fmt(body: str) -> str:
    return format_text(HEAD + body, "t.mil")[len(HEAD):]


def test_spacing_around_operators_colons_and_commas():
    assert fmt('rule r(y:int,o:option) "R":money=max(floor,t[y ,o])*(1+2)-  -3 €\n') == \
        'rule r(y : int, o : option) "R" : money = max(floor, t[y, o]) * (1 + 2) - -3 €\n'
    assert fmt('input contract.observed:optional map int to {a:int,b : int} "O"\n') == \
        'input contract.observed : optional map int to {a: int, b: int} "O"\n'
    assert fmt('rule s "S" = [x for x in 1..3 if x!=2]+[ ]\n') == 'rule s "S" = [x for x in 1..3 if x != 2] + []\n'


def test_a_replaced_cell_is_one_line_with_its_clauses_under_it():
    assert fmt('replace cell aid_amount [ 3+,full ]=24 000 note "n"\n    source X quote "q"\n') == \
        'replace cell aid_amount[3+, full] = 24 000\n  note "n"\n  source X quote "q"\n'
    assert fmt('replace cell t[30..50]= ?  between 1 and 2\n') == 'replace cell t[30..50] = ? between 1 and 2\n'


def test_a_table_is_aligned_on_its_pipes_with_its_numbers_as_written():
    # widths by hand: headings column "90..95" (6), third "12 000" (6), half "—" (1 → 1)
    assert fmt('table t "T" : money\n rows p : decimal\n    columns o : option\n'
               '| |third|half|\n|---|---|---|\n|90..95| 8 350|—|\n|95+|12 000|  ?  |\n source R\n') == (
        'table t "T" : money\n'
        '  rows p : decimal\n'
        '  columns o : option\n'
        '  |        | third  | half |\n'
        '  |--------|--------|------|\n'
        '  | 90..95 | 8 350  | —    |\n'
        '  | 95+    | 12 000 | ?    |\n'
        '  source R\n')


def test_a_two_dimensional_table_gets_its_separator_and_a_one_dimensional_one_has_none():
    out = fmt('table t "T" : int\n  rows p : int\n  columns o : option\n  | | a |\n  | 1 | 2 |\n')
    assert out.splitlines()[3:] == ["  |   | a |", "  |---|---|", "  | 1 | 2 |"]
    out = fmt('table t "T" : int\n  rows p : int\n  |---|---|\n  | 1 | 2 |\n  | 10 | 3 |\n')
    assert out.splitlines()[2:] == ["  | 1  | 2 |", "  | 10 | 3 |"]


def test_clauses_are_indented_by_level():
    out = fmt('rule r "R" : money = a\nsource R\nreading x "X" : 1\n        note "m"\n'
              'exception "E" when b then c\nnote "n"\nsource R\n')
    assert out == ('rule r "R" : money = a\n'
                   '  source R\n'
                   '  reading x "X" : 1\n'
                   '    note "m"\n'
                   '  exception "E"\n'
                   '    when b then c\n'
                   '    note "n"\n'
                   '    source R\n')


def test_comments_and_blank_line_groups_are_kept():
    out = fmt('\n\n\n# section\n\n\nparameter p "P" : int = 1   # why 1\n  # about the source\n  source R\n'
              'parameter q "Q" : int = 2\n# last words\n')
    assert out == ('\n# section\n\nparameter p "P" : int = 1  # why 1\n  # about the source\n  source R\n'
                   'parameter q "Q" : int = 2\n# last words\n')


def test_a_comment_inside_an_expression_stays_there():
    out = fmt('rule r "R" : int =\n  if a then 1 # one\n  else if b then\n    # two, below\n    2\n  else 3\n')
    assert out == ('rule r "R" : int =\n'
                   '  if a then\n'
                   '    1  # one\n'
                   '  else if b then\n'
                   '    # two, below\n'
                   '    2\n'
                   '  else 3\n')


def test_long_expressions_are_broken_the_same_way():
    chain = 'rule r "R" : int = if a then 1 else if b then 2 else 3\n'
    # an `else if` chain: one branch a line, on the line after the head
    assert fmt(chain) == 'rule r "R" : int =\n  if a then 1\n  else if b then 2\n  else 3\n'
    # written any other way, the same layout
    assert fmt('rule r "R" : int =\n if a\n then 1\n else if b then 2 else\n 3\n') == fmt(chain)
    args = ", ".join(f"g(argument_{i})" for i in range(10))
    # 2 + len("value = function(") = 19: the arguments go under the first one, one a line
    assert fmt(f'rule r "R" : int =\n  value = function({args})\n') == (
        'rule r "R" : int =\n  value = function(g(argument_0),\n'
        + "".join(f"                   g(argument_{i}),\n" for i in range(1, 9))
        + "                   g(argument_9))\n")
    names = ", ".join(f"member_{i:02d}" for i in range(14))
    # names are filled: as many a line as fit in 120 columns (10 of 11 characters, then a comma)
    out = fmt(f'parameter s "S" : set of specialty =\n  {{{names}}}\n')
    assert out.splitlines()[1:] == ["  {" + ", ".join(f"member_{i:02d}" for i in range(10)) + ",",
                                    "   " + ", ".join(f"member_{i:02d}" for i in range(10, 14)) + "}"]


def test_a_short_value_of_one_token_stays_on_its_line_however_long():
    label = "x" * 150
    assert fmt(f'parameter p "{label}" : int = 640\n') == f'parameter p "{label}" : int = 640\n'


def test_windows_line_ends_and_a_byte_order_mark():
    assert format_text("\ufeff" + (HEAD + 'parameter p "P":int=1\n').replace("\n", "\r\n"), "t.mil") == \
        HEAD + 'parameter p "P" : int = 1\n'


def test_a_hypothesis_file():
    text = ('hypotheses "H"\nnote "n"\nassume gp_threshold[ 70 ]=1 250 because "b"\n  source "S" quote "q"\n'
            'assume combined_rate in convention_2024 reading lowest because "c"\n')
    out = format_text(text, "h.txt")
    assert out == ('hypotheses "H"\n  note "n"\nassume gp_threshold[70] = 1 250 because "b"\n'
                   '  source "S" quote "q"\nassume combined_rate in convention_2024 reading lowest because "c"\n')
    assert meaning(parse_hypotheses_text(out)) == meaning(parse_hypotheses_text(text))


def test_cli_check_rewrite_and_errors(tmp_path):
    good, messy, bad = tmp_path / "good.mil", tmp_path / "messy.mil", tmp_path / "bad.mil"
    good.write_text(HEAD + 'parameter p "P" : int = 1\n', encoding="utf-8")
    messy.write_text(HEAD + 'parameter p "P":int=1\n', encoding="utf-8")
    bad.write_text(HEAD + 'parameter p "P" : int = (1 +\n', encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(main, ["fmt", "--check", str(good), str(messy)])
    assert r.exit_code == 1 and f"à remettre en forme : {messy}" in r.output
    assert messy.read_text(encoding="utf-8") == HEAD + 'parameter p "P":int=1\n'  # --check writes nothing
    r = runner.invoke(main, ["fmt", str(tmp_path / "good.mil"), str(messy)])
    assert r.exit_code == 0 and "2 fichier(s) de règles : 1 remis en forme" in r.output
    assert messy.read_text(encoding="utf-8") == HEAD + 'parameter p "P" : int = 1\n'
    r = runner.invoke(main, ["fmt", str(bad)])
    assert r.exit_code == 1
    assert f"{bad}:3:29: erreur : le fichier s'arrête trop tôt" in r.output
    assert bad.read_text(encoding="utf-8") == HEAD + 'parameter p "P" : int = (1 +\n'
    r = runner.invoke(main, ["fmt", str(tmp_path / "missing.mil")])
    assert r.exit_code == 1 and r.output == f"erreur : {tmp_path / 'missing.mil'} : ce fichier de règles n'existe pas\n"
