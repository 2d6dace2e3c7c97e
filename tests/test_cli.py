"""The `millesime` command: output formats and exit codes (0 ok, 1 bad input, 2 usage)."""
import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main

from conftest import DEMO


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


CASE = "physician: {sector: 1, patients: 800, percentile: 60}\ncontract: {signed_on: 2020-03-01, option: half}\n"


def test_eval_json_has_the_documented_shape(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2021-06-01", "--json", "--rulesets", DEMO)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(out) == {"date", "ruleset", "fingerprint", "results", "reliance", "explanation"}
    assert out["reliance"] == {"eligible": [], "ineligibility_reasons": [], "contract_year": [], "annual_aid": []}
    assert out["date"] == "2021-06-01"
    assert {k: out["ruleset"][k] for k in ("id", "effective_from", "effective_until")} == \
        {"id": "demo_base", "effective_from": "2020-01-01", "effective_until": "2021-12-31"}
    assert out["ruleset"]["fingerprint"].startswith("sha256:")
    assert out["results"] == {"eligible": True, "ineligibility_reasons": [], "contract_year": 2,
                              "annual_aid": "8000.00"}
    aid = out["explanation"]["annual_aid"]
    assert aid["sources"] == [{"instrument": "Texte de démonstration n°1", "article": "3", "quote": None,
                               "url": "https://example.org/demo1"}]
    table = next(i for i in aid["inputs"] if i["kind"] == "table")
    assert (table["value"], table["defined_at"]) == ("8000.00", "demo_base.mil:29:13")


def test_eval_accepts_json_cases(tmp_path):
    case = {"physician": {"sector": 1, "patients": 800, "percentile": 60.5},
            "contract": {"signed_on": "2020-03-01", "option": "full"}}
    r = run("eval", write(tmp_path, "c.json", json.dumps(case)), "--on", "2020-04-01", "--json",
            "--rulesets", DEMO, "--output", "annual_aid")
    assert json.loads(r.output)["results"] == {"annual_aid": "20000.00"}


def test_explain_prints_french_labels_and_sources(tmp_path):
    r = run("explain", write(tmp_path, "c.yaml", CASE), "annual_aid", "--on", "2021-06-01", "--rulesets", DEMO)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[2] == "Montant annuel de la prime = 8\u202f000,00 €   [règle annual_aid]"
    assert "    source : Texte de démonstration n°1, art. 3" in lines
    assert "    Montant de la prime (euros) (year 2, option half) = 8\u202f000,00 €   [barème amount]" in lines


def test_rulesets_timeline():
    r = run("rulesets", "--rulesets", DEMO)
    assert r.output.splitlines() == [
        "2020-01-01 → 2021-12-31  demo_base                    Prime de démonstration (texte de base)",
        "2022-01-01 → …           demo_amend                   Prime de démonstration (réforme de 2022)  "
        "(modifie demo_base)",
    ]


def test_invalid_case_exits_1_with_the_field(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", CASE.replace("sector: 1", "sector: 5")), "--on", "2021-06-01",
            "--rulesets", DEMO)
    assert r.exit_code == 1
    assert "physician.sector: input should be less than or equal to 2 (got 5)" in r.output
    assert "Traceback" not in r.output


def test_broken_yaml_says_where(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", "physician: {sector: 1\n"), "--rulesets", DEMO)
    assert r.exit_code == 1
    assert r.output.startswith(f"error: {tmp_path}/c.yaml:2:1: invalid YAML")


def test_date_outside_every_ruleset_exits_1(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2018-01-01", "--rulesets", DEMO)
    assert r.exit_code == 1
    assert r.output.startswith("error: no ruleset in force on 2018-01-01")


def test_broken_ruleset_exits_1_with_file_line_col(tmp_path):
    folder = tmp_path / "rs"
    folder.mkdir()
    write(folder, "a.mil", 'ruleset a "A" effective from 2020-01-01\nrule r "R" = 1 +\n')
    r = run("rulesets", "--rulesets", folder)
    assert r.exit_code == 1
    assert r.output.startswith(f"{folder}/a.mil:2:17: error: the file ends too early")


def test_usage_error_exits_2():
    assert run("eval").exit_code == 2
    assert run("eval", "x.yaml", "--on", "2021-13-01").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_check_reports_and_exits(tmp_path):
    ok = run("check", DEMO)
    assert ok.exit_code == 0 and "2 ruleset file(s) checked: 0 error(s)" in ok.output
    bad = write(tmp_path, "b.mil", 'ruleset b "B" effective from 2020-01-01\nrule r "R" = flor\n')
    r = run("check", bad, "--json")
    assert r.exit_code == 1
    diagnostics = json.loads(r.output)
    assert any({"line": 2, "column": 14, "severity": "error", "message": "unknown name `flor`"}.items() <= d.items()
               for d in diagnostics)  # sorted by place: the missing source at 2:1 comes first


def test_console_script_is_installed():
    proc = subprocess.run([str(Path(sys.executable).parent / "millesime"), "rulesets", "--rulesets", str(DEMO)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "demo_amend" in proc.stdout


def test_case_files_keep_on_and_yes_as_text_and_decimals_exact(tmp_path):
    from decimal import Decimal
    from engine.files import load_data
    data = load_data(write(tmp_path, "c.yaml", "on: 2024-01-01\nanswer: yes\nflag: true\nshare: 0.15\n"))
    assert data == {"on": __import__("datetime").date(2024, 1, 1), "answer": "yes", "flag": True,
                    "share": Decimal("0.15")}
