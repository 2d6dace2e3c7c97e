"""The `millesime` command: output formats and exit codes (0 ok, 1 bad input, 2 usage)."""
import json
import os
import re
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
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2021-06-01", "--json", "--explain", "--rulesets", DEMO)
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
    assert r.output == "erreur : cas invalide :\n  - physician.sector: doit être inférieur ou égal à 2 (reçu : 5)\n"


def test_broken_yaml_says_where(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", "physician: {sector: 1\n"), "--rulesets", DEMO)
    assert r.exit_code == 1
    assert r.output == (f"erreur : {tmp_path}/c.yaml:2:1: YAML invalide : il manque « , » ou « }} » avant la fin du "
                        "fichier\n")


def test_date_outside_every_ruleset_exits_1(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2018-01-01", "--rulesets", DEMO)
    assert r.exit_code == 1
    assert r.output == ("erreur : aucun texte n'est en vigueur le 01/01/2018 ; les textes couvrent : demo_base (du "
                        "01/01/2020 au 31/12/2021), demo_amend (du 01/01/2022, sans date de fin)\n")


def test_broken_ruleset_exits_1_with_file_line_col(tmp_path):
    folder = tmp_path / "rs"
    folder.mkdir()
    write(folder, "a.mil", 'ruleset a "A" effective from 2020-01-01\nrule r "R" = 1 +\n')
    r = run("rulesets", "--rulesets", folder)
    assert r.exit_code == 1
    assert r.output.startswith(f"{folder}/a.mil:2:17: erreur : le fichier s'arrête trop tôt")


def test_usage_error_exits_2():
    assert run("eval").exit_code == 2
    assert run("eval", "x.yaml", "--on", "2021-13-01").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_click_s_own_usage_errors_are_in_french():
    """What click itself says of a wrong command line goes through engine/cli_click.py's catalogue."""
    def said(*args):
        r = subprocess.run([str(Path(sys.executable).parent / "millesime"), *args],
                           capture_output=True, text=True, env={**os.environ, "LANG": "C"})
        assert r.returncode == 2, r.stderr
        return r.stderr
    assert said("batch") == ("Utilisation : millesime batch [OPTIONS] ENTRÉE\n"
                             "Essayez « millesime batch --help » pour l'aide.\n\n"
                             "erreur : argument manquant 'ENTRÉE'.\n")
    assert said("batch", "x.csv", "--on", "2024-13-01").endswith(
        "erreur : valeur invalide pour '--on' : '2024-13-01' n'est pas une date au format '%Y-%m-%d' (AAAA-MM-JJ).\n")
    assert said("batch", "x.csv", "--jobs", "0").endswith(
        "erreur : valeur invalide pour '--jobs' : 0 n'est pas dans l'intervalle 1<=x<=64.\n")
    assert said("batch", "x.csv", "--engine", "foo").endswith(
        "erreur : valeur invalide pour '--engine' : 'foo' n'est pas l'une des valeurs 'auto', 'vector', 'row'.\n")
    assert said("batch", "x.csv", "--nope").endswith(
        "erreur : option inconnue '--nope'. (Vouliez-vous dire : '--no-progress', '--on' ?)\n")
    assert said("evl").endswith("erreur : commande inconnue 'evl'. Vouliez-vous dire 'eval' ?\n")
    assert said("eval", "a", "b", "c").endswith("erreur : arguments en trop (b c)\n")
    assert said("batch", "x.csv", "--on") == "erreur : l'option '--on' demande une valeur.\n"


def test_help_is_in_french():
    lines = run("--help").output.splitlines()
    assert lines[0] == "Utilisation : main [OPTIONS] COMMANDE [ARGUMENTS]..."
    assert "Commandes :" in lines and "  eval      Évaluer un cas à une date." in lines
    assert "  -h, --help  Afficher cette aide et quitter." in lines
    batch = run("batch", "-h").output
    assert batch.startswith("Utilisation : main batch [OPTIONS] ENTRÉE\n\n  Évaluer chaque cas (un par ligne)")
    assert "  --on AAAA-MM-JJ             Date d'effet de tous les cas.  [obligatoire]\n" in batch
    # a no-break space before « : ; » so that wrapping never starts a line with them
    assert "(par défaut\u00a0: quand la sortie d'erreur est un terminal)" in re.sub(r"[ \n]+", " ", batch)


def test_check_reports_and_exits(tmp_path):
    ok = run("check", DEMO)
    assert ok.exit_code == 0 and ok.output == "2 fichier(s) de règles vérifié(s) : 0 erreur(s), 0 avertissement(s)\n"
    bad = write(tmp_path, "b.mil", 'ruleset b "B" effective from 2020-01-01\nrule r "R" = flor\n')
    r = run("check", bad, "--json")
    assert r.exit_code == 1
    diagnostics = json.loads(r.output)
    assert any({"line": 2, "column": 14, "severity": "error", "message": "nom inconnu `flor`"}.items() <= d.items()
               for d in diagnostics)  # sorted by place: the missing source at 2:1 comes first


def test_a_failing_regression_case_says_why(tmp_path):
    cases = write(tmp_path, "cases.yaml", "ruleset: demo_base\ncases:\n  - name: montant faux\n    on: 2021-06-01\n"
                  "    case: {physician: {sector: 1, patients: 800, percentile: 60}, "
                  "contract: {signed_on: 2020-03-01, option: half}}\n    expect: {annual_aid: \"1.00\"}\n")
    r = run("test", cases, "--rulesets", DEMO)
    assert r.exit_code == 1
    assert r.output.splitlines() == [f"ÉCHEC {tmp_path.name}/cases#1: montant faux",
                                     "     annual_aid : attendu '1.00', obtenu '8000.00'",
                                     "0 cas réussi(s), 1 en échec"]
    write(tmp_path, "cases.yaml", "ruleset: demo_base\ncases:\n  - name: sans date\n    case: {}\n    expect: {}\n")
    r = run("test", cases, "--rulesets", DEMO)
    assert r.exit_code == 1 and r.output == f"erreur : {cases}, cas 1 : il manque on\n"


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


# ---------------------------------------------------------------- reading the output (issue 16)

EXAMPLE = Path(__file__).parents[1] / "examples" / "generaliste-2024.yaml"


def test_eval_json_leaves_the_explanation_out_unless_asked(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2021-06-01", "--json", "--rulesets", DEMO)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(out) == {"date", "ruleset", "fingerprint", "results", "reliance"}  # what it rests on, always
    assert out["results"]["annual_aid"] == "8000.00"


def test_eval_shows_french_labels_and_identifiers_on_request(tmp_path):
    case = write(tmp_path, "c.yaml", CASE)
    lines = run("eval", case, "--on", "2021-06-01", "--rulesets", DEMO).output.splitlines()
    assert lines[:3] == ["Prime de démonstration (texte de base)",
                         lines[1], "calcul au 01/06/2021"]
    assert lines[1].startswith("texte demo_base (sha256:") and lines[1].endswith(
        "), en vigueur du 01/01/2020 au 31/12/2021")
    # labels padded to the longest one ("Montant annuel de la prime", 26 characters), two spaces, the value
    assert lines[4:] == ["Éligibilité à la prime      oui",
                         "Motifs d'inéligibilité      néant",
                         "Année de contrat en cours   2",
                         "Montant annuel de la prime  8\u202f000,00 €"]
    ids = run("eval", case, "--on", "2021-06-01", "--rulesets", DEMO, "--ids").output.splitlines()
    assert ids[4:] == ["eligible               oui", "ineligibility_reasons  néant",
                       "contract_year          2", "annual_aid             8\u202f000,00 €"]


def test_eval_prints_payments_as_a_table():
    # Signed 15/06/2023 (règlement arbitral, 1 ETP): year 1 paid a month after signing, 36 000 €;
    # year 2 at the anniversary, 15/06/2024, still the 2023 table (the 2024 convention starts on the
    # 22nd): 27 000 €; year 3 (from 15/06/2025, 2024 table) 22 000 €, half of it two months in, the
    # balance a year later: rates 150/200 = 0.75 (MT) and 200/250 = 0.8 (file active) combine as
    # 0.75 (lowest), 0.6 (product) or 0.775 (mean) → due 13 200 to 17 050 € → balance 2 200 to 6 050 €.
    r = run("eval", EXAMPLE, "--on", "2025-09-01", "--output", "payments")
    assert r.exit_code == 0, r.output
    nnbsp = "\u202f"
    assert r.output.splitlines()[4:] == [
        "Versements de l'aide, de la signature à l'année en cours :",
        "  Année  Date        Nature            Montant",
        "  ─────  ──────────  ────────────────  ───────────",
        f"      1  15/07/2023  versement unique  36{nnbsp}000,00 €",
        f"      2  15/06/2024  versement unique  27{nnbsp}000,00 €",
        f"      3  15/08/2025  avance            11{nnbsp}000,00 €",
        "      3  15/08/2026  solde             voir note 1",
        "  note 1. entre 2\u202f200,00 € et 6\u202f050,00 € — dépend de : Taux d'atteinte des deux objectifs "
        "(médecin traitant et file active)",
    ]


def test_eval_prints_options_as_a_table_with_a_column_per_year(tmp_path):
    # 2024 convention, 900 patients (P30–P50): 1/2 ETP 19 000 / 14 000 / 11 000 …, 1 ETP 38 000 / 28 000 / 22 000 …
    case = write(tmp_path, "gp.yaml", "physician: {specialty: medecine_generale, sector: 1, optam: false, "
                                      "patients_mt: 900, file_active: 1500}\n")
    lines = run("eval", case, "--on", "2024-07-01", "--output", "options").output.splitlines()
    header = lines[5].split("  ")
    assert [h.strip() for h in header if h.strip()] == [
        "Option", "Aide année 1", "Aide année 2", "Aide année 3", "Aide année 4", "Aide année 5",
        "Patients MT à ajouter", "File active à ajouter"]
    rows = [[c.strip() for c in line.split("  ") if c.strip()] for line in lines[7:9]]
    k = "\u202f000,00 €"
    assert rows == [["1/2 ETP", f"19{k}", f"14{k}", f"11{k}", f"11{k}", f"11{k}", "voir note 1", "voir note 1"],
                    ["1 ETP", f"38{k}", f"28{k}", f"22{k}", f"22{k}", f"22{k}", "voir note 2", "voir note 2"]]
    # each rate of the 2024 target table is unknown, at least 0 %: « au moins 0 » patients, decided by
    # the cell of the band and the option
    assert lines[9] == ("  note 1. au moins 0 — dépend de : Objectif de progression de la patientèle, selon la "
                        "patientèle de départ (convention de 2024) : percentile 30..50 et option half")


def test_explain_depth_and_short_form(tmp_path):
    case = write(tmp_path, "c.yaml", CASE)
    whole = run("explain", case, "annual_aid", "--on", "2021-06-01", "--rulesets", DEMO).output.splitlines()
    top = run("explain", case, "annual_aid", "--on", "2021-06-01", "--rulesets", DEMO, "--depth", "0")
    assert top.exit_code == 0, top.output
    lines = top.output.splitlines()
    assert lines[2] == whole[2] == "Montant annuel de la prime = 8\u202f000,00 €   [règle annual_aid]"
    assert lines[-1].startswith("    … ") and lines[-1].endswith(" éléments de calcul non affichés "
                                                                "(--depth pour en voir plus)")
    assert all(not line.startswith("        ") for line in lines)  # nothing below the output's own lines
    one = run("explain", case, "annual_aid", "--on", "2021-06-01", "--rulesets", DEMO, "--depth", "1").output
    assert "    Montant de la prime (euros) (year 2, option half) = 8\u202f000,00 €   [barème amount]" in one
    short = run("explain", case, "annual_aid", "--on", "2021-06-01", "--rulesets", DEMO, "--short").output
    assert "Montant annuel de la prime = 8\u202f000,00 €\n" in short  # no identifier
    assert "    source : Texte de démonstration n°1, art. 3" in short.splitlines()
    assert "formule" not in short and "[" not in short and "voir plus haut" not in short
    assert len(short.splitlines()) < len(whole)


def test_an_engine_error_says_error_once(tmp_path):
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2021-06-01", "--rulesets", DEMO, "--output", "aide")
    assert r.exit_code == 1
    assert r.output == ("erreur : résultat inconnu « aide » dans le texte demo_base\n"
                        "  = résultats : eligible, ineligibility_reasons, contract_year, annual_aid\n")
    r = run("eval", write(tmp_path, "c.yaml", CASE), "--on", "2021-06-01", "--rulesets", DEMO, "--output", "annual_aidd")
    assert r.output == ("erreur : résultat inconnu « annual_aidd » dans le texte demo_base\n"
                        "  = vouliez-vous dire « annual_aid » ?\n")


def test_a_missing_optional_library_names_its_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now fails as if not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    csv = write(tmp_path, "p.csv", "specialty,sector,optam,patients_mt,file_active\n"
                                   "medecine_generale,1,false,900,1500\n")
    r = run("batch", csv, "--on", "2024-07-01", "--out", tmp_path / "r.parquet")
    assert r.exit_code == 1
    assert r.output == ("erreur : cette commande a besoin de pyarrow, qui n'est pas installé ; il fait partie de "
                        "l'option « batch » de Millésime : pip install 'millesime[batch]'\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]  # no result, no `.r.parquet.*.tmp` left


def test_serve_without_the_serve_extra_names_it(monkeypatch):
    import engine
    for name in ("serving", "server"):  # imported by an earlier test: forgotten, so imported again
        monkeypatch.delitem(sys.modules, f"engine.{name}", raising=False)
        monkeypatch.delattr(engine, name, raising=False)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    r = run("serve", "--port", "0")
    assert r.exit_code == 1
    assert r.output == ("erreur : cette commande a besoin de uvicorn, qui n'est pas installé ; il fait partie de "
                        "l'option « serve » de Millésime : pip install 'millesime[serve]'\n")


def test_a_defect_of_millesime_is_one_french_line_not_a_trace(tmp_path, monkeypatch):
    """An exception that is not about the input (a bug) ends the command with exit code 1 and a
    French line saying so; MILLESIME_TRACEBACK=1 lets the trace through for whoever fixes it."""
    import engine.cli as cli

    def broken(*args, **kwargs):
        raise TypeError("'NotEstablished' object is not iterable")
    monkeypatch.setattr(cli, "evaluate", broken)
    case = write(tmp_path, "c.yaml", CASE)
    r = run("eval", case, "--on", "2021-06-01", "--rulesets", DEMO)
    assert r.exit_code == 1
    assert r.stderr == ("erreur interne de Millésime (TypeError : 'NotEstablished' object is not iterable) ; ce "
                        "n'est pas ce que la commande a reçu qui est en cause : relancez-la avec "
                        "MILLESIME_TRACEBACK=1 pour le détail, et signalez-le\n")
    assert "Traceback" not in r.output
    monkeypatch.setenv("MILLESIME_TRACEBACK", "1")
    r = run("eval", case, "--on", "2021-06-01", "--rulesets", DEMO)
    assert isinstance(r.exception, TypeError)
