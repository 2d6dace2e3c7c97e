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
    assert message == ("impossible d'additionner un montant et une valeur de type `int` : écrivez un montant en euros, "
                       "par exemple `500 €`")


def test_percent_compared_with_a_count():
    [(loc, _, message, _)] = errors(BASE + 'rule r "R" = physician.fee_share < physician.sector\n  source R\n')
    assert loc == "f0.mil:16:14"
    assert message == "impossible de comparer `percent` à `int` (`physician.fee_share < physician.sector`)"


def test_date_arithmetic_points_to_the_date_functions():
    [(_, _, message, _)] = errors(BASE + 'rule r "R" = if contract is set then contract.signed_on + 1 else none\n'
                                  '  source R\n')
    assert message.startswith("impossible de calculer `+` avec une date "
                              "(utilisez years_between, add_years, add_months)")


def test_optional_input_must_be_tested_before_use():
    [(loc, _, message, hint)] = errors(BASE + 'rule r "R" = physician.percentile >= 90\n  source R\n')
    assert (loc, message) == ("f0.mil:16:14", "`physician.percentile >= 90` compare une valeur qui peut manquer")
    assert hint == "testez d'abord sa présence avec `is set`"
    assert errors(BASE + 'rule r "R" = physician.percentile is set and physician.percentile >= 90\n'
                  '  source R\n') == []
    assert errors(BASE + 'rule r "R" = if physician.percentile is not set then false '
                  'else physician.percentile >= 90\n  source R\n') == []


def test_undefined_name_with_did_you_mean():
    [(loc, _, message, hint)] = errors(BASE + 'rule r "R" = flor * 2\n  source R\n')
    assert (loc, message, hint) == ("f0.mil:16:14", "nom inconnu `flor`", "vouliez-vous dire `floor` ?")


def test_unknown_input_field_with_did_you_mean():
    [(_, _, message, hint)] = errors(BASE + 'rule r "R" = physician.sectr = 1\n  source R\n')
    assert (message, hint) == ("le groupe de données `physician` n'a pas de champ `sectr`",
                               "vouliez-vous dire `sector` ?")


def test_enum_member_misspelt():
    [(_, _, message, hint)] = errors(BASE + 'rule r "R" = contract.option = option.hlf\n  source R\n')
    assert (message, hint) == ("`option` n'a pas de valeur `hlf`", "vouliez-vous dire `half` ?")


def test_condition_that_is_not_boolean():
    [(loc, _, message, _)] = errors(BASE + 'condition c "C"\n  require x "X" : floor\n    source R\n')
    assert loc == "f0.mil:17:19"
    assert message == "l'exigence `c.x` doit valoir vrai ou faux, mais `floor` est de type `money`"


def test_table_cell_of_the_wrong_type_and_unknown_heading():
    found = errors(BASE + 'table t "T" : money\n  rows y : int\n  columns o : option\n'
                   '  | | half | ful |\n  | 1 | 10 | true |\n  source R\n')
    assert ("f0.mil:19:14", "error", "`ful` n'est pas une valeur de `option`", "vouliez-vous dire `full` ?") in found
    assert any(m == "la case `true` est de type `bool`, le barème `t` de type `money`" for _, _, m, _ in found)


def test_overlapping_bands():
    [(loc, _, message, _)] = errors(BASE + 'table t "T" : money\n  rows p : decimal\n'
                                    '  | 30..50 | 1 |\n  | 45..70 | 2 |\n  source R\n')
    assert (loc, message) == ("f0.mil:19:5", "l'en-tête `45..70` du barème `t` chevauche `30..50`")


def test_gap_between_bands_is_an_error():
    # a case between 50 and 70 would find no amount: the hole must be closed or stated with `—`
    found = diagnostics(BASE + 'table t "T" : money\n  rows p : decimal\n'
                        '  | 30..50 | 1 |\n  | 70..90 | 2 |\n  source R\n')
    assert ("f0.mil:19:5", "error", "le barème `t` n'a pas de ligne entre 50 et 70") in [d[:3] for d in found]


def test_rule_cycle_is_named():
    found = errors(BASE + 'rule a "A" = b + 1\n  source R\nrule b "B" = a + 1\n  source R\n')
    assert ("f0.mil:16:1", "error", "des règles dépendent les unes des autres en boucle : a → b → a") in \
        [d[:3] for d in found]


def test_missing_source_is_an_error_for_shipped_rulesets():
    [(loc, _, message, _)] = errors(BASE + 'rule r "R" = 1\n', require_sources=True)
    assert (loc, message) == ("f0.mil:16:1", "la règle `r` n'a pas de source juridique")
    assert errors(BASE + 'rule r "R" = 1\n') == []  # a warning only, by default


def test_unknown_reference_in_a_source():
    [(_, _, message, hint)] = errors(BASE + 'rule r "R" = 1\n  source Q\n')
    assert (message, hint[:32]) == ("référence inconnue `Q`", "déclarez-la : reference Q \"titre")


AMEND = 'ruleset next "Next"\n  effective from 2022-01-01\n  amends base\n'


def test_redefining_a_base_rule_without_replace():
    base = BASE + 'rule r "R" = 1\n  source R\n'
    [(loc, _, message, hint)] = errors(base, AMEND + 'rule r "R" = 2\n  source R\n')
    assert (loc, message) == ("f1.mil:4:1", "le nom `r` est déjà déclaré en f0.mil:16:1")
    assert hint == "écrivez `replace rule r` pour modifier sa déclaration dans ce texte"


def test_replacing_or_removing_what_the_base_does_not_have():
    base = BASE + 'rule total "R" = 1\n  source R\n'
    found = errors(base, AMEND + 'replace rule totl "R" = 2\n  source R\nremove table t\n')
    assert ("f1.mil:4:1", "error",
            "impossible de remplacer la règle `totl` : le texte modifié ne déclare rien de ce nom",
            "vouliez-vous dire `total` ?") in found
    assert any(m == "impossible de supprimer le barème `t` : le texte modifié ne déclare rien de ce nom"
               for _, _, m, _ in found)


def test_amends_an_unknown_ruleset():
    [(loc, _, message, hint)] = errors(BASE, AMEND.replace("amends base", "amends bse"))
    assert (loc, message, hint) == ("f1.mil:3:10", "le texte `next` modifie `bse`, qui ne figure pas parmi les textes",
                                    "vouliez-vous dire `base` ?")


def test_amends_cycle():
    a = 'ruleset a "A" effective from 2020-01-01 amends b\n'
    b = 'ruleset b "B" effective from 2021-01-01 amends a\n'
    found = errors(a, b)
    # once, at `amends`
    assert [d[:3] for d in found] == [("f0.mil:1:48", "error", "les `amends` forment une boucle : a → b → a")]


def test_inherited_rules_read_the_amended_declarations():
    base = BASE + 'rule r "R" : money = floor * 2\n  source R\noutput r\n'
    amend = AMEND + 'replace parameter floor "Plancher" : int = 3\n  source R\n'
    [(loc, _, message, _)] = errors(base, amend)
    # the base rule is re-checked against the amended parameter: money * 2 is now int * int
    assert (loc, message) == ("f0.mil:16:22",
                              "la règle `r` est déclarée de type `money` mais calcule une valeur de type `int`")


@pytest.mark.parametrize("snippet, message", [
    ('rule r "R" = if true then 1 else "x"',
     "les branches de ce `if` ne s'accordent pas : `int` après `then`, `text` après `else`"),
    ('rule r "R" = years_between(contract.signed_on)', 'years_between(…) prend 2 arguments, 1 donné'),
    ('rule r "R" = mx(1, 2)', 'fonction inconnue `mx`'),
    ('rule r "R" = floor[1]', '`floor` est de type `money` : seuls les barèmes et les `map` se lisent avec […]'),
    ('rule r "R" = round physician.sector to euro',
     '`to euro` arrondit des montants, `physician.sector` est de type `int`'),
])
def test_type_errors(snippet, message):
    found = errors(BASE + snippet + "\n  source R\n")
    assert message in [m for _, _, m, _ in found]
