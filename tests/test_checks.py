"""Static checks: an analyst's slip is reported at its line, with what to do."""
import pytest

from dsl import checks, model
from dsl.errors import RulesetError
from dsl.parser import parse_text

BASE = '''ruleset base "Base"
  effective from 2020-01-01 until 2021-12-31
reference R "Texte" url "https://example.org" grade official
enum option "Option":
  half "1/2"
  full "1"
input physician : group "Médecin"
input physician.sector : int "Secteur"
input physician.fee_share : percent "Part CCAM"
input physician.percentile : optional decimal "Percentile"
input contract : optional group "Contrat"
input contract.signed_on : date "Signature"
input contract.option : option "Option"
parameter floor "Plancher" : money = 100 €
  source R article "1"
'''


def diagnostics(*texts: str, require_sources: bool = False):
    files = {}
    for i, text in enumerate(texts):
        f = parse_text(text, f"f{i}.mil")
        files[f.header.id] = f
    try:
        models = model.build(files)
    except RulesetError as exc:
        return [(str(d.loc), d.severity, d.message, d.hint) for d in exc.diagnostics]
    out = []
    for m in models.values():
        out.extend((str(d.loc), d.severity, d.message, d.hint)
                   for d in checks.check(m, require_sources).diagnostics)
    return out


def errors(*texts, **kw):
    return [d for d in diagnostics(*texts, **kw) if d[1] == "error"]


def test_a_clean_ruleset_has_no_error():
    assert errors(BASE + 'rule r "R" : money = floor * 2\n  source R\noutput r\n') == []


def test_money_plus_a_bare_number():
    [(loc, _, message, hint)] = errors(BASE + 'rule r "R" = floor + 5\n  source R\n')
    assert loc == "f0.mil:16:14"
    assert message == "cannot add money and int: write an amount in euros, e.g. `500 €`"


def test_percent_compared_with_a_count():
    [(loc, _, message, _)] = errors(BASE + 'rule r "R" = physician.fee_share < physician.sector\n  source R\n')
    assert loc == "f0.mil:16:14"
    assert message == "cannot compare percent with int (`physician.fee_share < physician.sector`)"


def test_date_arithmetic_points_to_the_date_functions():
    [(_, _, message, _)] = errors(BASE + 'rule r "R" = if contract is set then contract.signed_on + 1 else none\n'
                                  '  source R\n')
    assert message.startswith("cannot compute `+` with a date (use years_between, add_years, add_months)")


def test_optional_input_must_be_tested_before_use():
    [(loc, _, message, hint)] = errors(BASE + 'rule r "R" = physician.percentile >= 90\n  source R\n')
    assert (loc, message) == ("f0.mil:16:14", "`physician.percentile >= 90` compares a value that may be missing")
    assert hint == "test it with `is set` first"
    assert errors(BASE + 'rule r "R" = physician.percentile is set and physician.percentile >= 90\n'
                  '  source R\n') == []
    assert errors(BASE + 'rule r "R" = if physician.percentile is not set then false '
                  'else physician.percentile >= 90\n  source R\n') == []


def test_undefined_name_with_did_you_mean():
    [(loc, _, message, hint)] = errors(BASE + 'rule r "R" = flor * 2\n  source R\n')
    assert (loc, message, hint) == ("f0.mil:16:14", "unknown name `flor`", "did you mean `floor`?")


def test_unknown_input_field_with_did_you_mean():
    [(_, _, message, hint)] = errors(BASE + 'rule r "R" = physician.sectr = 1\n  source R\n')
    assert (message, hint) == ("input group `physician` has no field `sectr`", "did you mean `sector`?")


def test_enum_member_misspelt():
    [(_, _, message, hint)] = errors(BASE + 'rule r "R" = contract.option = option.hlf\n  source R\n')
    assert (message, hint) == ("`option` has no member `hlf`", "did you mean `half`?")


def test_condition_that_is_not_boolean():
    [(loc, _, message, _)] = errors(BASE + 'condition c "C"\n  require x "X" : floor\n    source R\n')
    assert loc == "f0.mil:17:19"
    assert message == "requirement `c.x` must be true or false, but `floor` is money"


def test_table_cell_of_the_wrong_type_and_unknown_heading():
    found = errors(BASE + 'table t "T" : money\n  rows y : int\n  columns o : option\n'
                   '  | | half | ful |\n  | 1 | 10 | true |\n  source R\n')
    assert ("f0.mil:19:14", "error", "`ful` is not a member of `option`", "did you mean `full`?") in found
    assert any(m == "cell `true` is bool, table `t` holds money" for _, _, m, _ in found)


def test_overlapping_bands():
    [(loc, _, message, _)] = errors(BASE + 'table t "T" : money\n  rows p : decimal\n'
                                    '  | 30..50 | 1 |\n  | 45..70 | 2 |\n  source R\n')
    assert (loc, message) == ("f0.mil:19:5", "heading `45..70` of table `t` overlaps `30..50`")


def test_gap_between_bands_is_an_error():
    # a case between 50 and 70 would find no amount: the hole must be closed or stated with `—`
    found = diagnostics(BASE + 'table t "T" : money\n  rows p : decimal\n'
                        '  | 30..50 | 1 |\n  | 70..90 | 2 |\n  source R\n')
    assert ("f0.mil:19:5", "error", "table `t` has no row between 50 and 70") in [d[:3] for d in found]


def test_rule_cycle_is_named():
    found = errors(BASE + 'rule a "A" = b + 1\n  source R\nrule b "B" = a + 1\n  source R\n')
    assert ("f0.mil:16:1", "error", "rules depend on each other in a cycle: a → b → a") in [d[:3] for d in found]


def test_missing_source_is_an_error_for_shipped_rulesets():
    [(loc, _, message, _)] = errors(BASE + 'rule r "R" = 1\n', require_sources=True)
    assert (loc, message) == ("f0.mil:16:1", "rule `r` has no legal source")
    assert errors(BASE + 'rule r "R" = 1\n') == []  # a warning only, by default


def test_unknown_reference_in_a_source():
    [(_, _, message, hint)] = errors(BASE + 'rule r "R" = 1\n  source Q\n')
    assert (message, hint[:30]) == ("unknown reference `Q`", "declare it: reference Q \"title")


AMEND = 'ruleset next "Next"\n  effective from 2022-01-01\n  amends base\n'


def test_redefining_a_base_rule_without_replace():
    base = BASE + 'rule r "R" = 1\n  source R\n'
    [(loc, _, message, hint)] = errors(base, AMEND + 'rule r "R" = 2\n  source R\n')
    assert (loc, message) == ("f1.mil:4:1", "`r` is already declared at f0.mil:16:1")
    assert hint == "write `replace rule r` to change it in this ruleset"


def test_replacing_or_removing_what_the_base_does_not_have():
    base = BASE + 'rule total "R" = 1\n  source R\n'
    found = errors(base, AMEND + 'replace rule totl "R" = 2\n  source R\nremove table t\n')
    assert ("f1.mil:4:1", "error", "cannot replace rule `totl`: the ruleset it amends has none",
            "did you mean `total`?") in found
    assert any(m == "cannot remove table `t`: the ruleset it amends has none" for _, _, m, _ in found)


def test_amends_an_unknown_ruleset():
    [(loc, _, message, hint)] = errors(BASE, AMEND.replace("amends base", "amends bse"))
    assert (loc, message, hint) == ("f1.mil:3:10", "`next` amends `bse`, which is not among the rulesets",
                                    "did you mean `base`?")


def test_amends_cycle():
    a = 'ruleset a "A" effective from 2020-01-01 amends b\n'
    b = 'ruleset b "B" effective from 2021-01-01 amends a\n'
    found = errors(a, b)
    assert [d[:3] for d in found] == [("f0.mil:1:48", "error", "`amends` cycle: a → b → a")]  # once, at `amends`


def test_inherited_rules_read_the_amended_declarations():
    base = BASE + 'rule r "R" : money = floor * 2\n  source R\noutput r\n'
    amend = AMEND + 'replace parameter floor "Plancher" : int = 3\n  source R\n'
    [(loc, _, message, _)] = errors(base, amend)
    # the base rule is re-checked against the amended parameter: money * 2 is now int * int
    assert (loc, message) == ("f0.mil:16:22", "rule `r` is declared money but computes int")


@pytest.mark.parametrize("snippet, message", [
    ('rule r "R" = if true then 1 else "x"', 'the branches of this `if` disagree: int after `then`, text after `else`'),
    ('rule r "R" = years_between(contract.signed_on)', 'years_between(…) takes 2 argument(s), 1 given'),
    ('rule r "R" = mx(1, 2)', 'unknown function `mx`'),
    ('rule r "R" = floor[1]', '`floor` is money: only tables and maps are looked up with […]'),
    ('rule r "R" = round physician.sector to euro', '`to euro` rounds money, `physician.sector` is int'),
])
def test_type_errors(snippet, message):
    found = errors(BASE + snippet + "\n  source R\n")
    assert message in [m for _, _, m, _ in found]
