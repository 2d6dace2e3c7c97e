"""The grammar: what analysts write, and the errors they get when they slip."""
from decimal import Decimal

import pytest

from dsl import ast
from dsl.errors import RulesetError
from dsl.parser import parse_text

HEADER = 'ruleset demo "Démo"\n  effective from 2020-01-01\n'


def parse_error(text: str) -> str:
    with pytest.raises(RulesetError) as info:
        parse_text(text, "r.mil")
    return info.value.render()


def rule_expr(source: str) -> ast.Expr:
    f = parse_text(HEADER + f'rule r "r" = {source}\n', "r.mil")
    return f.declarations[0].expr


def test_header_fields():
    f = parse_text('ruleset a7 "Avenant 7"\n instrument "Arrêté du 14 août 2019"\n published "JO du 20 août 2019"\n'
                   ' effective from 2019-08-21 until 2023-04-30\n', "a.mil")
    h = f.header
    assert (h.id, h.title, h.instrument, h.published) == ("a7", "Avenant 7", "Arrêté du 14 août 2019",
                                                          "JO du 20 août 2019")
    assert (h.effective_from.isoformat(), h.effective_until.isoformat()) == ("2019-08-21", "2023-04-30")
    assert h.amends is None


def test_grouped_digits_money_and_percent_literals():
    e = rule_expr("36 000 € + 12 500.50 €")
    assert isinstance(e, ast.Arith) and e.op == "+"
    assert (e.left.kind, e.left.value) == ("money", Decimal("36000"))
    assert e.right.value == Decimal("12500.50")
    p = rule_expr("20 %")
    assert (p.kind, p.value) == ("percent", Decimal("0.2"))


def test_precedence_and_logic():
    e = rule_expr("a + b * c >= 3 and not d or e")
    assert isinstance(e, ast.Logic) and e.op == "or"
    left = e.operands[0]
    assert isinstance(left, ast.Logic) and left.op == "and"
    cmp = left.operands[0]
    assert isinstance(cmp, ast.Compare) and cmp.op == ">="
    assert isinstance(cmp.left, ast.Arith) and cmp.left.op == "+"
    assert isinstance(cmp.left.right, ast.Arith) and cmp.left.right.op == "*"
    assert isinstance(left.operands[1], ast.Not)


def test_unicode_comparators_are_normalised():
    assert rule_expr("a ≥ 1").op == ">="
    assert rule_expr("a ≠ 1").op == "!="


def test_membership_rounding_as_of_and_comprehension():
    m = rule_expr("s not in {radiologie, anesthesie}")
    assert isinstance(m, ast.Member) and m.negated and len(m.collection.items) == 2
    # `round` takes one operand: a product must be written in parentheses.
    assert "attendu : `.`, `[` ou `to`" in parse_error(HEADER + 'rule r "r" = round down x * 2 to euro\n')
    r = rule_expr("round down (x * 2) to euro")
    assert isinstance(r, ast.Round) and (r.mode, r.unit) == ("down", "euro")
    a = rule_expr("amount[1, option.half] as of 2023-05-01")
    assert isinstance(a, ast.AsOf) and isinstance(a.target, ast.Index)
    c = rule_expr("[y * 2 for y in 1..5 if y > 2]")
    assert isinstance(c, ast.Comprehension) and c.variable == "y" and isinstance(c.iterable, ast.Range)


def test_expression_text_is_kept_for_explanations():
    e = rule_expr("min(a,   b) + 1")
    assert e.text == "min(a,   b) + 1"


def test_table_with_headings_bands_and_special_cells():
    f = parse_text(HEADER + '''
table t "Barème" : money
  rows band : decimal
  columns option : option
  |          | half   | full   |
  |----------|--------|--------|
  | 30..50   | 1 000  | —      |
  | 95+      | 2 000  | ?      |
  | < 30     | 0      | 0      |
''', "t.mil")
    t = f.declarations[0]
    assert [k.kind for k in t.row_keys] == ["band", "at_least", "below"]
    assert (t.row_keys[0].low, t.row_keys[0].high) == (Decimal(30), Decimal(50))
    assert [k.value for k in t.column_keys] == ["half", "full"]
    assert [c.kind for c in t.cells[0]] == ["value", "no_value"]
    assert t.cells[1][1].kind == "unknown"
    assert (t.cells[0][0].loc.line, t.cells[0][0].loc.column) == (9, 16)


def test_amendments():
    f = parse_text('ruleset b "B" effective from 2021-01-01 amends a\n'
                   'remove requirement eligible.group because "supprimé"\n'
                   'add requirement eligible.zone "Zone" : true\n'
                   'replace requirement eligible.sector "Secteur" : true\n'
                   'replace parameter p "P" : int = 2\n'
                   'extend enum option : third "1/3"\n', "b.mil")
    kinds = [type(d).__name__ for d in f.declarations]
    assert kinds == ["Remove", "RequirementChange", "RequirementChange", "Replace", "ExtendEnum"]
    assert f.declarations[0].because == "supprimé"
    assert (f.declarations[1].action, f.declarations[1].condition) == ("add", "eligible")
    assert f.declarations[2].action == "replace"


def test_syntax_error_says_where_and_what_was_expected():
    text = HEADER + 'rule r "r" = 1 +\n'
    message = parse_error(text)
    assert message.splitlines()[0] == "r.mil:3:17: erreur : le fichier s'arrête trop tôt"
    assert "attendu : " in message and "un nombre, " in message  # one of several


def test_unexpected_token_shows_line_and_caret():
    message = parse_error(HEADER + 'rule r "r" = (1 + 2\nrule s "s" = 3\n')
    lines = message.splitlines()
    assert lines[0] == "r.mil:4:1: erreur : élément inattendu : `rule`"
    assert lines[1] == "    rule s \"s\" = 3"
    assert lines[2] == "    ^"
    assert "`)`" in lines[3]


def test_unclosed_string():
    message = parse_error('ruleset a "Avenant\n')
    assert message.startswith("r.mil:1:11: erreur : un texte entre guillemets doit être fermé sur la même ligne")


def test_bad_date_is_reported_at_its_place():
    message = parse_error('ruleset a "A" effective from 2023-02-30\n')
    assert message.startswith("r.mil:1:30: erreur : `2023-02-30` n'est pas une date valide")


def test_table_row_with_wrong_width():
    message = parse_error(HEADER + 'table t "T" : money\n rows y : int\n columns o : option\n'
                          ' | | half | full |\n | 1 | 10 |\n')
    assert message.startswith("r.mil:7:4: erreur : cette ligne du barème `t` a 1 valeur, le barème a 2 colonnes")


def test_syntax_error_inside_a_table_cell_points_into_the_cell():
    message = parse_error(HEADER + 'table t "T" : money\n rows y : int\n | 1 | 10 € € |\n')
    assert message.startswith("r.mil:5:13: erreur : élément inattendu : `€`")


def test_crlf_and_bom_are_accepted():
    f = parse_text("\ufeff" + HEADER.replace("\n", "\r\n") + 'rule r "r" = 1\r\n', "w.mil")
    assert f.declarations[0].name == "r"


# ---------------------------------------------------------------- the grammar's parse tables, cached

def test_grammar_cache_in_a_private_folder_and_a_broken_one_ignored(tmp_path, monkeypatch):
    from dsl import parser as P
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("MILLESIME_NO_GRAMMAR_CACHE", raising=False)
    path = P.grammar_cache()
    assert path is not None and path.parent == tmp_path / "millesime"
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    P._lark.cache_clear()
    try:
        P._lark()
        assert path.is_file()  # written on the first start
        path.write_bytes(b"not a cache\n")  # broken (or another grammar's): built again, no error
        P._lark.cache_clear()
        model = parse_text('ruleset r "R"\nparameter p "P" : int = 3\n', "r.mil")
        assert model is not None
    finally:
        P._lark.cache_clear()


def test_grammar_cache_not_in_a_folder_others_may_write(tmp_path, monkeypatch):
    from dsl import parser as P
    folder = tmp_path / "millesime"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("MILLESIME_NO_GRAMMAR_CACHE", raising=False)
    assert P.grammar_cache() is None
    folder.chmod(0o700)
    assert P.grammar_cache() == folder / P.grammar_cache().name
    monkeypatch.setenv("MILLESIME_NO_GRAMMAR_CACHE", "1")
    assert P.grammar_cache() is None
