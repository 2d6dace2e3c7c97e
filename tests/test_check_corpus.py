"""`millesime check` on a corpus of broken rulesets (tests/check/): one defect each, found at its place.

Each entry is a file, or a folder holding an `amends` chain (base.mil + next.mil). The expected
line is `file:line:col: severity: message`, worked out from the file by hand; an entry must give
exactly that diagnostic and nothing else.
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
        "money_plus_date.mil:24:22: error: cannot compute `+` with a date (use years_between, add_years, add_months)",
    "percent_compared_with_count.mil":
        "percent_compared_with_count.mil:25:21: error: cannot compare percent with int "
        "(`physician.fee_share < physician.sector`)",
    "requirement_not_boolean.mil":
        "requirement_not_boolean.mil:25:19: error: requirement `c.x` must be true or false, but `floor` is money",
    "if_condition_not_boolean.mil":
        "if_condition_not_boolean.mil:24:25: error: the condition of `if` must be true or false, but `floor` is money",
    "table_cell_wrong_type.mil":
        "table_cell_wrong_type.mil:27:12: error: cell `true` is bool, table `bonus` holds money",
    "lookup_with_wrong_enum.mil":
        "lookup_with_wrong_enum.mil:28:29: error: heading `option` of table `amount` is option, "
        "`physician.zone` is zone",
    "member_of_incompatible_set.mil":
        "member_of_incompatible_set.mil:24:21: error: `contract.signed_on` is date and cannot be in a collection of int",
    "compare_different_enums.mil":
        "compare_different_enums.mil:28:21: error: cannot compare option with zone (`contract.option = physician.zone`)",
    "bound_on_a_date_input.mil":
        "bound_on_a_date_input.mil:24:1: error: input `contract.ends_on` is date: `between`, `at least` and "
        "`at most` bound numbers",
    # ---- names
    "undefined_rule.mil": "undefined_rule.mil:24:22: error: unknown name `aide`",
    "undefined_parameter.mil": "undefined_parameter.mil:24:22: error: unknown name `flor`",
    "undefined_input.mil": "undefined_input.mil:24:21: error: input group `physician` has no field `sectr`",
    "undefined_table.mil": "undefined_table.mil:24:22: error: unknown name `amont`",
    "rule_defined_twice.mil": "rule_defined_twice.mil:24:1: error: `aid` is already declared at rule_defined_twice.mil:15:1",
    "unused_input.mil": "unused_input.mil:24:1: warning: input `physician.age` is never used",
    "unused_rule.mil": "unused_rule.mil:24:1: warning: rule `r` is never used by an output",
    "unused_parameter.mil": "unused_parameter.mil:24:1: warning: parameter `ceiling` is never used by an output",
    "unused_table.mil": "unused_table.mil:24:1: warning: table `bonus` is never used by an output",
    "amends_replaces_unknown_rule":
        "amends_replaces_unknown_rule/next.mil:5:1: error: cannot replace rule `ad`: the ruleset it amends has none",
    "amends_removes_unknown_table":
        "amends_removes_unknown_table/next.mil:5:1: error: cannot remove table `amont`: the ruleset it amends has none",
    "amends_unknown_ruleset":
        "amends_unknown_ruleset/next.mil:4:10: error: `next` amends `tt`, which is not among the rulesets",
    # ---- tables
    "table_missing_enum_row.mil": "table_missing_enum_row.mil:25:3: error: table `bonus` has no row for `full`",
    "extended_enum_without_column":
        "extended_enum_without_column/next.mil:6:3: error: table `amount` has no row for `double`, "
        "which `extend enum option` adds here",
    "overlapping_bands.mil": "overlapping_bands.mil:28:5: error: heading `45..70` of table `bonus` overlaps `30..50`",
    "gapped_bands.mil": "gapped_bands.mil:28:5: error: table `bonus` has no row between 50 and 70",
    "open_range_not_last.mil":
        "open_range_not_last.mil:27:5: error: open range `30+` of table `bonus` never closes: it also covers `50..70`",
    "empty_band.mil":
        "empty_band.mil:28:5: error: band `95..90` of table `bonus` is empty: it runs from 95 up to, not including, 90",
    "missing_contract_year.mil": "missing_contract_year.mil:27:5: error: table `bonus` has no row for 2",
    "lookup_of_a_missing_row.mil": "lookup_of_a_missing_row.mil:29:28: error: table `bonus` has no row for year = 0",
    "lookup_of_an_empty_cell.mil":
        "lookup_of_an_empty_cell.mil:30:22: error: `bonus[2]` reads a cell with no value "
        "(`—` at lookup_of_an_empty_cell.mil:27:10)",
    "lookup_may_reach_an_empty_cell.mil":
        "lookup_may_reach_an_empty_cell.mil:30:34: warning: `bonus[year]` may read cell `bonus[2]`, which has no "
        "value (`—` at lookup_may_reach_an_empty_cell.mil:27:10)",
    "parameter_repeats_a_cell.mil":
        "parameter_repeats_a_cell.mil:30:1: warning: parameter `ceiling` repeats cell `bonus[3+]` (20 €), from the "
        "same source: a change to one would leave the other behind",
    "amends_replaced_table_lacks_a_row":
        "amends_replaced_table_lacks_a_row/next.mil:6:3: error: replaced table `bonus` has no row for `3+`, which "
        "the table it replaces has (amends_replaced_table_lacks_a_row/base.mil:24:1)",
    "amends_leaves_a_declaration_unused":
        "amends_leaves_a_declaration_unused/next.mil:5:1: warning: parameter `ceiling` (declared at "
        "amends_leaves_a_declaration_unused/base.mil:24:1) is no longer used: rule `capped`, which this ruleset "
        "replaces, was its last use",
    # ---- time
    "no_effective_date.mil": "no_effective_date.mil:2:9: error: ruleset `t` does not say when it takes effect",
    "ends_before_start.mil": "ends_before_start.mil:2:9: error: ruleset `t` ends (2019-12-31) before it starts (2020-01-01)",
    "timeline_overlap":
        "timeline_overlap/next.mil:2:9: error: « next » prend effet le 01/01/2021, alors que « t » est encore en "
        "vigueur (du 01/01/2020, sans date de fin)",
    "timeline_gap":
        "timeline_gap/next.mil:2:9: error: aucun texte n'est en vigueur du 01/07/2020 au 31/12/2020, entre « t » et "
        "« next »",
    "stated_gap_that_is_none":
        "stated_gap_that_is_none/next.mil:2:9: warning: « next » dit venir après un vide, mais il commence le "
        "lendemain de la fin du texte précédent",
    "amends_a_later_ruleset":
        "amends_a_later_ruleset/next.mil:4:10: error: « next » (à partir du 01/01/2020) modifie « t », qui ne prend "
        "effet que le 01/01/2021",
    "amends_cycle": "amends_cycle/a.mil:4:10: error: `amends` cycle: a → b → a",
    # ---- law
    "rule_without_source.mil": "rule_without_source.mil:24:1: error: rule `r` has no legal source",
    "table_without_source.mil": "table_without_source.mil:24:1: error: table `bonus` has no legal source",
    "parameter_without_source.mil": "parameter_without_source.mil:24:1: error: parameter `ceiling` has no legal source",
    "unknown_reference.mil": "unknown_reference.mil:25:3: error: unknown reference `Q`",
    # ---- cycles
    "rule_cycle.mil": "rule_cycle.mil:24:1: error: rules depend on each other in a cycle: a1 → b1 → a1",
}


def check(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


def lines(result) -> list[str]:
    return [f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}" for d in json.loads(result.output)]


def test_every_corpus_entry_has_an_expectation():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("entry", sorted(EXPECTED))
def test_corpus_entry_gives_exactly_its_diagnostic(entry, monkeypatch):
    monkeypatch.chdir(CORPUS)  # file names in the messages are then relative to tests/check
    r = check(entry, "--json")
    assert lines(r) == [EXPECTED[entry]]
    assert r.exit_code == (1 if ": error: " in EXPECTED[entry] else 0)


def test_text_output_has_the_line_a_caret_and_a_hint(monkeypatch):
    monkeypatch.chdir(CORPUS)
    r = check("undefined_parameter.mil")
    assert r.exit_code == 1
    assert r.output.splitlines() == [
        "undefined_parameter.mil:24:22: error: unknown name `flor`",
        '    rule r "R" : money = flor * 2',
        "                         ^",
        "  = did you mean `floor`?",
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
