"""`millesime test --coverage`: what the regression cases exercise, worked out by hand on a small
ruleset, and on the shipped agreements: no exception, requirement or waiver left untested."""
import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from engine import coverage as C
from engine.cli import main
from engine.registry import Registry

RULESET = textwrap.dedent('''\
    ruleset cov "Couverture"
      effective from 2020-01-01
    reference R "Texte" grade official
    input physician : group "Médecin"
    input physician.sector : int "Secteur" between 1 and 3
    input physician.zone : bool "Zone"
    input physician.years : int "Années" at least 1
    condition ok "Éligible"
      require sector "Secteur 1 ou 2" : physician.sector <= 2
        source R
        unless "Zone prioritaire" : physician.zone
          source R
      require zone_or_years "Zone ou ancienneté" : physician.zone or physician.years >= 2
        source R
    table amount "Montant" : money
      rows year : int
      | 1  | 100 |
      | 2  | 200 |
      | 3  | —   |
      | 4+ | 400 |
      source R
    rule aid "Aide" : money = if ok then amount[physician.years] else 0 €
      source R
      exception "Ancienneté de 10 ans" when physician.years >= 10 then 1 000 €
        source R
    rule rate "Taux" : decimal = readings
      source R
      reading low "Bas" : 1
        source R
      reading high "Haut" : 2
        source R
    rule unused_by_cases "Jamais demandé" : decimal = rate
      source R
    output aid, unused_by_cases
    ''')
# Places above (1-based): `require sector` 9 (its name at column 11), its waiver 11,
# `require zone_or_years` 13, the cells 17-20, `rule aid` 22, its exception 24, `rule rate` 26,
# readings 28 and 30 (their names at column 11), `rule unused_by_cases` 32.

CASES = textwrap.dedent('''\
    ruleset: cov
    cases:
      # sector 1, zone, 1 year: every requirement holds, amount[1] = 100
      - name: année 1
        "on": 2021-01-01
        case: {physician: {sector: 1, zone: true, years: 1}}
        expect: {aid: "100.00"}
      # 12 years: the exception gives 1 000; it replaces the body, so neither `ok` nor amount[4+] is computed
      - name: exception
        "on": 2021-01-01
        case: {physician: {sector: 3, zone: true, years: 12}}
        expect: {aid: "1000.00"}
      # sector 3 lifted by the zone waiver; 2 years: amount[2] = 200
      - name: dérogation
        "on": 2021-01-01
        case: {physician: {sector: 3, zone: true, years: 2}}
        expect: {aid: "200.00"}
      # sector 1, no zone, 1 year: zone_or_years is not met → 0, no cell read
      - name: exigence non remplie
        "on": 2021-01-01
        case: {physician: {sector: 1, zone: false, years: 1}}
        expect: {aid: "0.00"}
      # an error case gives no tree
      - name: erreur attendue
        "on": 2019-01-01
        case: {physician: {sector: 1, zone: true, years: 1}}
        error: "aucun texte n'est en vigueur"
    ''')


def setup(tmp_path: Path):
    rulesets, cases = tmp_path / "rulesets", tmp_path / "cases" / "cov"
    rulesets.mkdir()
    cases.mkdir(parents=True)
    (rulesets / "cov.mil").write_text(RULESET, encoding="utf-8")
    (cases / "cases.yaml").write_text(CASES, encoding="utf-8")
    return rulesets, cases.parent


def test_what_the_cases_reach_worked_out_by_hand(tmp_path):
    rulesets, cases = setup(tmp_path)
    measured = C.measure(Registry.load(rulesets), [cases])
    assert measured.cases == 4
    cov = measured.rulesets["cov"]
    covered = {(i.kind, i.name) for i in cov.items if i in cov.covered}
    missing = {(i.kind, i.name, i.loc.line) for i in cov.uncovered()}
    # `aid` is computed by every case; `rate` and `unused_by_cases` by none (no case asks for them)
    assert ("rule", "aid") in covered and ("exception", "aid : « Ancienneté de 10 ans »") in covered
    # the waiver applies in case 3 (`dérogation`), so `sector` is not met in no case;
    # zone_or_years is not met in case 4
    assert ("waiver", "ok.sector : « Zone prioritaire »") in covered
    assert ("requirement", "ok.zone_or_years") in covered
    # cells: amount[1] read by case 1, amount[2] by case 3; amount[4+] only by case 2, whose
    # exception replaces the body. `—` is left out.
    assert {("cell", "amount[1]"), ("cell", "amount[2]")} <= covered
    assert missing == {
        ("requirement", "ok.sector", 9),
        ("cell", "amount[4+]", 20),
        ("rule", "rate", 26),
        ("reading", "rate.low", 28),
        ("reading", "rate.high", 30),
        ("rule", "unused_by_cases", 32),
    }
    assert [i.kind for i in cov.items].count("cell") == 3  # amount[3] is `—`


def test_cli_summary_in_french_and_json(tmp_path, monkeypatch):
    rulesets, cases = setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["test", str(cases), "--rulesets", str(rulesets), "--coverage"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "5 cas réussi(s), 0 en échec"
    assert lines[2] == "Couverture de 4 cas de non-régression"
    assert lines[3] == ("  cov : règles 1/3, exceptions 1/1, exigences 1/2, dérogations 1/1, cases de barème 2/3, "
                        "lectures 0/2")
    assert "    exigence ok.sector : jamais mise en défaut (rulesets/cov.mil:9:11)" in lines
    assert "    case de barème amount[4+] : jamais lue (rulesets/cov.mil:20:10)" in lines
    r = CliRunner().invoke(main, ["test", str(cases), "--rulesets", str(rulesets), "--coverage", "--json"])
    data = json.loads(r.stdout)
    assert data["cases"] == 4
    assert data["rulesets"]["cov"]["reading"] == {
        "total": 2, "covered": 0,
        "uncovered": [{"kind": "reading", "name": "rate.low", "file": str(rulesets / "cov.mil"), "line": 28,
                       "column": 11},
                      {"kind": "reading", "name": "rate.high", "file": str(rulesets / "cov.mil"), "line": 30,
                       "column": 11}]}
    r = CliRunner().invoke(main, ["test", str(cases), "--json"])
    assert r.exit_code == 2 and r.output.endswith("\nerreur : --json ne s'emploie qu'avec --coverage\n")


def test_no_exception_requirement_or_waiver_of_the_shipped_agreements_is_untested():
    measured = C.measure(Registry.load(), [Path(__file__).parent / "agreements"])
    untested = [(rid, i.kind, i.name) for rid, cov in measured.rulesets.items()
                for kind in ("exception", "requirement", "waiver") for i in cov.uncovered(kind)]
    assert untested == []
    # and every rule each agreement writes is computed by some case
    assert [(rid, i.name) for rid, cov in measured.rulesets.items() for i in cov.uncovered("rule")] == []
