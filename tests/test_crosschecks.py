"""Checks across declarations (dsl/crosschecks.py): what the corpus (tests/check/) does not show —
when each of them rightly stays silent, and the shapes it meets in amendments."""
from dsl.parser import parse_text
from dsl.walk import names_read

from test_checks import BASE, diagnostics

NEXT = '''ruleset next "Next"
  effective from 2022-01-01
  amends base
'''


def messages(*texts):
    return [m for _, _, m, _ in diagnostics(*texts)]


def base_with(table_rows: str, extra: str = "") -> str:
    return (BASE + 'table bonus "Bonus" : money\n  rows percentile : decimal\n' + table_rows + "  source R\n"
            'rule pick(p : decimal) "P" : money = bonus[p]\n  source R\n'
            'rule r "R" : money = if physician.percentile is set then pick(physician.percentile) else floor\n'
            "  source R\noutput r\n" + extra)


def test_a_replaced_table_may_cut_its_bands_differently_if_it_covers_the_same_values():
    base = base_with("  | 30..50 | 10 |\n  | 50..90 | 15 |\n  | 90+    | 20 |\n")
    recut = NEXT + ('replace table bonus "Bonus" : money\n  rows percentile : decimal\n'
                    "  | 30..40 | 11 |\n  | 40..70 | 16 |\n  | 70+    | 21 |\n  source R\n")
    assert not [m for m in messages(base, recut) if "barème de remplacement" in m]


def test_a_replaced_table_that_stops_short_names_the_band_it_lacks():
    base = base_with("  | 30..50 | 10 |\n  | 50..90 | 15 |\n  | 90+    | 20 |\n")
    short = NEXT + ('replace table bonus "Bonus" : money\n  rows percentile : decimal\n'
                    "  | 30..50 | 11 |\n  | 50..95 | 16 |\n  source R\n")
    assert [m for m in messages(base, short) if "barème de remplacement" in m] == [
        "le barème de remplacement `bonus` n'a pas de ligne pour `90+`, présente dans le barème qu'il remplace "
        "(f0.mil:16:1)"]


def test_a_key_within_an_inputs_bounds_does_not_reach_a_cell_outside_them():
    # physician.sector is between 1 and 2: the `—` of sector 3 is out of reach
    text = (BASE.replace('input physician.sector : int "Secteur"', 'input physician.sector : int "Secteur" between 1 and 2')
            + 'table s "S" : money\n  rows sector : int\n  | 1 | 10 |\n  | 2 | 20 |\n  | 3 | —  |\n  source R\n'
            'rule r "R" : money = s[physician.sector]\n  source R\noutput r\n')
    assert not [m for m in messages(text) if "peut lire" in m]


def test_a_key_without_bounds_may_reach_every_cell():
    text = (BASE + 'table s "S" : money\n  rows sector : int\n  | 1 | 10 |\n  | 2 | 20 |\n  | 3 | —  |\n  source R\n'
            'rule r "R" : money = s[physician.sector]\n  source R\noutput r\n')
    assert [m for m in messages(text) if "peut lire" in m] == [
        "`s[physician.sector]` peut lire la case `s[3]`, qui n'a pas de valeur (`—` en f0.mil:20:9)"]


def test_a_figure_from_another_reference_is_not_a_copy():
    text = (BASE + 'reference S "Autre texte" grade secondary\n'
            'table s "S" : money\n  rows sector : int\n  | 1 | 100 |\n  source S\n'
            'rule r "R" : money = s[1] + floor\n  source R\noutput r\n')
    assert not [m for m in messages(text) if "répète" in m]


def test_removing_a_requirement_that_was_the_last_use_of_a_rule():
    base = (BASE + 'rule is_sector_one "Secteur 1" : bool = physician.sector = 1\n  source R\n'
            'condition ok "Éligible"\n  require sector "Secteur 1" : is_sector_one\n    source R\n'
            '  require option "Option" : contract is not set or contract.option = option.full\n    source R\n'
            'rule r "R" : bool = ok\n  source R\noutput r\n')
    removed = NEXT + 'remove requirement ok.sector because "Supprimée."\n  source R\n'
    # what the rule reads is still read (by the rule, which is still checked): one warning, at the removal
    assert [m for m in messages(base, removed) if "n'est plus utilisé" in m] == [
        "la règle `is_sector_one` (déclarée en f0.mil:16:1) n'est plus utilisée : l'exigence `ok.sector`, que ce "
        "texte supprime, en était le dernier usage"]


def test_names_read_leave_out_the_rules_own_parameters_and_loop_variables():
    f = parse_text('ruleset x "x"\nrule r(year : int) "R" = sum([t[year, o] for o in options]) + contract.option.x\n',
                   "x.mil")
    assert names_read(f.declarations[0]) == {"sum", "t", "options", "contract", "contract.option",
                                             "contract.option.x"}
