"""`millesime check` on a corpus of broken rulesets (tests/check/): one defect each, found at its place.

Each entry is a file, or a folder holding an `amends` chain (base.mil + next.mil). The expected
line is `file:line:col: gravité : message` (`erreur` or `avertissement`, as the text output words
the JSON severity), worked out from the file by hand; an entry must give exactly that diagnostic
and nothing else.
"""
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

CORPUS = Path(__file__).parent / "check"

EXPECTED = {
    # ---- types
    "money_plus_date.mil":
        "money_plus_date.mil:24:22: erreur : impossible de calculer `+` avec une date (utilisez "
        "years_between, add_years, add_months)",
    "percent_compared_with_count.mil":
        "percent_compared_with_count.mil:25:21: erreur : impossible de comparer `percent` à `int` "
        "(`physician.fee_share < physician.sector`)",
    "requirement_not_boolean.mil":
        "requirement_not_boolean.mil:25:19: erreur : l'exigence `c.x` doit valoir vrai ou faux, mais `floor` "
        "est de type `money`",
    "if_condition_not_boolean.mil":
        "if_condition_not_boolean.mil:24:25: erreur : la condition du `if` doit valoir vrai ou faux, mais "
        "`floor` est de type `money`",
    "table_cell_wrong_type.mil":
        "table_cell_wrong_type.mil:27:12: erreur : la case `true` est de type `bool`, le barème `bonus` de "
        "type `money`",
    "lookup_with_wrong_enum.mil":
        "lookup_with_wrong_enum.mil:28:29: erreur : l'en-tête `option` du barème `amount` est de type "
        "`option`, `physician.zone` de type `zone`",
    "member_of_incompatible_set.mil":
        "member_of_incompatible_set.mil:24:21: erreur : `contract.signed_on` est de type `date` et ne peut "
        "pas appartenir à une collection de `int`",
    "compare_different_enums.mil":
        "compare_different_enums.mil:28:21: erreur : impossible de comparer `option` à `zone` "
        "(`contract.option = physician.zone`)",
    "bound_on_a_date_input.mil":
        "bound_on_a_date_input.mil:24:1: erreur : la donnée `contract.ends_on` est de type `date` : "
        "`between`, `at least` et `at most` bornent des nombres",
    # ---- names
    "undefined_rule.mil": "undefined_rule.mil:24:22: erreur : nom inconnu `aide`",
    "undefined_parameter.mil": "undefined_parameter.mil:24:22: erreur : nom inconnu `flor`",
    "undefined_input.mil":
        "undefined_input.mil:24:21: erreur : le groupe de données `physician` n'a pas de champ `sectr`",
    "undefined_table.mil": "undefined_table.mil:24:22: erreur : nom inconnu `amont`",
    "rule_defined_twice.mil":
        "rule_defined_twice.mil:24:1: erreur : le nom `aid` est déjà déclaré en rule_defined_twice.mil:15:1",
    "unused_input.mil": "unused_input.mil:24:1: avertissement : la donnée `physician.age` n'est jamais utilisée",
    "unused_rule.mil": "unused_rule.mil:24:1: avertissement : la règle `r` n'est utilisée par aucun résultat",
    "unused_parameter.mil":
        "unused_parameter.mil:24:1: avertissement : le paramètre `ceiling` n'est utilisé par aucun résultat",
    "unused_table.mil": "unused_table.mil:24:1: avertissement : le barème `bonus` n'est utilisé par aucun résultat",
    "amends_replaces_unknown_rule":
        "amends_replaces_unknown_rule/next.mil:5:1: erreur : impossible de remplacer la règle `ad` : le texte "
        "modifié ne déclare rien de ce nom",
    "amends_removes_unknown_table":
        "amends_removes_unknown_table/next.mil:5:1: erreur : impossible de supprimer le barème `amont` : le "
        "texte modifié ne déclare rien de ce nom",
    "amends_unknown_ruleset":
        "amends_unknown_ruleset/next.mil:4:10: erreur : le texte `next` modifie `tt`, qui ne figure pas parmi "
        "les textes",
    # ---- tables
    "table_missing_enum_row.mil":
        "table_missing_enum_row.mil:25:3: erreur : le barème `bonus` n'a pas de ligne pour `full`",
    "extended_enum_without_column":
        "extended_enum_without_column/next.mil:6:3: erreur : le barème `amount` n'a pas de ligne pour "
        "`double`, qu'ajoute ici `extend enum option`",
    "overlapping_bands.mil":
        "overlapping_bands.mil:28:5: erreur : l'en-tête `45..70` du barème `bonus` chevauche `30..50`",
    "gapped_bands.mil": "gapped_bands.mil:28:5: erreur : le barème `bonus` n'a pas de ligne entre 50 et 70",
    "open_range_not_last.mil":
        "open_range_not_last.mil:27:5: erreur : l'intervalle ouvert `30+` du barème `bonus` ne se referme "
        "jamais : il couvre aussi `50..70`",
    "empty_band.mil":
        "empty_band.mil:28:5: erreur : la tranche `95..90` du barème `bonus` est vide : elle va de 95 jusqu'à "
        "90 non compris",
    "missing_contract_year.mil": "missing_contract_year.mil:27:5: erreur : le barème `bonus` n'a pas de ligne pour 2",
    "lookup_of_a_missing_row.mil":
        "lookup_of_a_missing_row.mil:29:28: erreur : le barème `bonus` n'a pas de ligne pour year = 0",
    "lookup_of_an_empty_cell.mil":
        "lookup_of_an_empty_cell.mil:30:22: erreur : `bonus[2]` lit une case sans valeur (`—` en "
        "lookup_of_an_empty_cell.mil:27:10)",
    "lookup_may_reach_an_empty_cell.mil":
        "lookup_may_reach_an_empty_cell.mil:30:34: avertissement : `bonus[year]` peut lire la case "
        "`bonus[2]`, qui n'a pas de valeur (`—` en lookup_may_reach_an_empty_cell.mil:27:10)",
    "parameter_repeats_a_cell.mil":
        "parameter_repeats_a_cell.mil:30:1: avertissement : le paramètre `ceiling` répète la case `bonus[3+]` "
        "(20 €), avec la même source : modifier l'un sans l'autre les ferait diverger",
    "amends_replaced_table_lacks_a_row":
        "amends_replaced_table_lacks_a_row/next.mil:6:3: erreur : le barème de remplacement `bonus` n'a pas "
        "de ligne pour `3+`, présente dans le barème qu'il remplace "
        "(amends_replaced_table_lacks_a_row/base.mil:24:1)",
    "amends_leaves_a_declaration_unused":
        "amends_leaves_a_declaration_unused/next.mil:5:1: avertissement : le paramètre `ceiling` (déclaré en "
        "amends_leaves_a_declaration_unused/base.mil:24:1) n'est plus utilisé : la règle `capped`, que ce "
        "texte remplace, en était le dernier usage",
    # ---- time
    "no_effective_date.mil":
        "no_effective_date.mil:2:9: erreur : le texte `t` ne dit pas à quelle date il entre en vigueur",
    "ends_before_start.mil":
        "ends_before_start.mil:2:9: erreur : le texte `t` prend fin (2019-12-31) avant d'entrer en vigueur "
        "(2020-01-01)",
    "timeline_overlap":
        "timeline_overlap/next.mil:2:9: erreur : « next » prend effet le 01/01/2021, alors que « t » est encore en "
        "vigueur (du 01/01/2020, sans date de fin)",
    "timeline_gap":
        "timeline_gap/next.mil:2:9: erreur : aucun texte n'est en vigueur du 01/07/2020 au 31/12/2020, entre « t » et "
        "« next »",
    "stated_gap_that_is_none":
        "stated_gap_that_is_none/next.mil:2:9: avertissement : « next » dit venir après un vide, mais il commence le "
        "lendemain de la fin du texte précédent",
    "amends_a_later_ruleset":
        "amends_a_later_ruleset/next.mil:4:10: erreur : « next » (à partir du 01/01/2020) modifie « t », qui ne prend "
        "effet que le 01/01/2021",
    "amends_cycle": "amends_cycle/a.mil:4:10: erreur : les `amends` forment une boucle : a → b → a",
    # ---- law
    "rule_without_source.mil": "rule_without_source.mil:24:1: erreur : la règle `r` n'a pas de source juridique",
    "table_without_source.mil": "table_without_source.mil:24:1: erreur : le barème `bonus` n'a pas de source juridique",
    "parameter_without_source.mil":
        "parameter_without_source.mil:24:1: erreur : le paramètre `ceiling` n'a pas de source juridique",
    "unknown_reference.mil": "unknown_reference.mil:25:3: erreur : référence inconnue `Q`",
    # ---- cycles
    "rule_cycle.mil": "rule_cycle.mil:24:1: erreur : des règles dépendent les unes des autres en boucle : a1 → b1 → a1",
}


def check(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


# The JSON severities (kept in English for tools), as the text output words them.
SEVERITY_WORDS = {"error": "erreur", "warning": "avertissement", "info": "note"}


def lines(result) -> list[str]:
    return [f"{d['file']}:{d['line']}:{d['column']}: {SEVERITY_WORDS[d['severity']]} : {d['message']}"
            for d in json.loads(result.output)]


def test_every_corpus_entry_has_an_expectation():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("entry", sorted(EXPECTED))
def test_corpus_entry_gives_exactly_its_diagnostic(entry, monkeypatch):
    monkeypatch.chdir(CORPUS)  # file names in the messages are then relative to tests/check
    r = check(entry, "--json")
    assert lines(r) == [EXPECTED[entry]]
    assert r.exit_code == (1 if ": erreur : " in EXPECTED[entry] else 0)


def test_text_output_has_the_line_a_caret_and_a_hint(monkeypatch):
    monkeypatch.chdir(CORPUS)
    r = check("undefined_parameter.mil")
    assert r.exit_code == 1
    assert r.output.splitlines() == [
        "undefined_parameter.mil:24:22: erreur : nom inconnu `flor`",
        '    rule r "R" : money = flor * 2',
        "                         ^",
        "  = vouliez-vous dire `floor` ?",
        "1 fichier(s) de règles vérifié(s) : 1 erreur(s), 0 avertissement(s)",
    ]


def test_json_schema_is_stable():
    r = check(CORPUS / "unused_rule.mil", "--json")
    [d] = json.loads(r.output)
    assert list(d) == ["file", "line", "column", "severity", "code", "message", "hint"]
    assert (d["severity"], d["code"], d["hint"]) == ("warning", "unused", None)


def test_a_stated_gap_is_accepted(tmp_path):
    folder = tmp_path / "gap"
    shutil.copytree(CORPUS / "timeline_gap", folder)
    nxt = folder / "next.mil"
    nxt.write_text(nxt.read_text(encoding="utf-8") + '  after gap "Aucun texte au second semestre 2020."\n',
                   encoding="utf-8")
    r = check(folder, "--json")
    assert (r.exit_code, json.loads(r.output)) == (0, [])


def test_shipped_rulesets_have_no_error_and_no_warning():
    r = check("--json")
    assert (r.exit_code, json.loads(r.output)) == (0, [])
