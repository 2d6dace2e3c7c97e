"""`millesime compare`: a reform file costed on a small population worked out by hand.

The reform: from 2027-01-01, the year-3-and-later amount becomes 24 000 € at 1 ETP (22 000 € in the
2024 convention) and 10 000 € at 1/2 ETP (11 000 €). Amounts follow anniversaries: a contract year
takes the table in force on the anniversary that opens it. Payments (avenant 7, unchanged since):
year 1 once a month after signature, year 2 on its anniversary, from year 3 an advance of 50 % two
months after the anniversary and the balance (due − advance, due = aid × achievement rate) two
months after the next one — without patient counts observed for that year, the balance has no
amount yet.
"""
import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from engine.cli import main  # noqa: E402
from engine.compare import CompareError, Period, compare_rows, summarize  # noqa: E402
from engine.registry import Registry  # noqa: E402

REFORM = '''ruleset reforme_2027 "Réforme étudiée : 24 000 € à 1 ETP et 10 000 € à 1/2 ETP dès la 3e année"
  effective from 2027-01-01
  amends convention_2024

reference REFORME "Note de travail sur la réforme étudiée" grade hypothesis

replace cell aid_amount[3+, full] = 24 000
  source REFORME quote "24 000 € à partir de la 3e année"
replace cell aid_amount[3+, half] = 10 000
  source REFORME quote "10 000 € à mi-temps à partir de la 3e année"
'''

GP = {"specialty": "medecine_generale", "sector": "1", "optam": "false", "patients_mt": "1150",
      "file_active": "1650", "percentile": "60"}
OBSERVED = json.dumps({str(y): {"patients_mt": 1100, "file_active": 1600} for y in (3, 4, 5)})
POPULATION = [
    # A. 1 ETP signed 2024-09-01, no counts observed.
    #    year 3 opens 2026-09-01 (convention, 22 000): advance 2026-11-01 = 11 000 on both sides;
    #    year 4 opens 2027-09-01 (22 000 | reform 24 000): advance 2027-11-01 = 11 000 | 12 000;
    #    year 5 opens 2028-09-01: advance 2028-11-01 = 11 000 | 12 000; the balances of years 3 and 4
    #    (2027-11-01, 2028-11-01) have no amount.
    #    2026: 11 000 | 11 000; 2027: 11 000 | 12 000; 2028: 11 000 | 12 000 → 33 000 | 35 000, +2 000.
    {**GP, "contract_signed_on": "2024-09-01", "contract_option": "full", "contract_initial_patients_mt": "980",
     "contract_initial_file_active": "1500", "weight": "2", "region": "nord"},
    # B. 1 ETP signed 2023-09-01, targets 1 100 / 1 600 reached in years 3 to 5 (rate 1: due = aid).
    #    year 3 (2025-09-01, 22 000): balance 2026-11-01 = 22 000 − 11 000 = 11 000;
    #    year 4 (2026-09-01, 22 000): advance 2026-11-01 = 11 000, balance 2027-11-01 = 11 000;
    #    year 5 (2027-09-01, 22 000 | 24 000): advance 2027-11-01 = 11 000 | 12 000, balance
    #    2028-11-01 = 11 000 | 12 000.
    #    2026: 22 000 | 22 000; 2027: 22 000 | 23 000; 2028: 11 000 | 12 000 → 55 000 | 57 000, +2 000.
    {**GP, "contract_signed_on": "2023-09-01", "contract_option": "full", "contract_initial_patients_mt": "980",
     "contract_initial_file_active": "1500", "contract_target_patients_mt": "1100",
     "contract_target_file_active": "1600", "contract_observed": OBSERVED, "weight": "1", "region": "sud"},
    # C. 1/2 ETP signed 2024-09-01, no counts observed: advances of 5 500 (11 000 / 2), then 5 000
    #    (10 000 / 2) from year 4 under the reform.
    #    2026: 5 500 | 5 500; 2027: 5 500 | 5 000; 2028: 5 500 | 5 000 → 16 500 | 15 500, −1 000.
    {**GP, "contract_signed_on": "2024-09-01", "contract_option": "half", "contract_initial_patients_mt": "980",
     "contract_initial_file_active": "1500", "weight": "3", "region": "nord"},
    # D. no contract: no payment, unchanged.
    {**GP, "weight": "10", "region": "sud"},
    # E. sector 3 does not exist: an error row, counted apart.
    {**GP, "sector": "3", "weight": "1", "region": "sud"},
]


@pytest.fixture
def reform_file(tmp_path):
    path = tmp_path / "reforme.mil"
    path.write_text(REFORM, encoding="utf-8")
    return path


@pytest.fixture
def registries(reform_file):
    return Registry.load(), Registry.load(reform=reform_file)


def table(rows=POPULATION):
    columns = sorted({k for r in rows for k in r})
    return pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])


def test_hand_worked_totals_by_year_winners_and_losers(registries):
    baseline, reform = registries
    period = Period.years(2026, 2028)
    rows = compare_rows(table(), baseline, reform, period, by=["region"], weight="weight")
    a = rows.to_pylist()[0]
    assert [a[f"payments_{y}__{s}"] for y in (2026, 2027, 2028) for s in ("baseline", "reform", "difference")] == [
        Decimal(v) for v in ("11000", "11000", "0", "11000", "12000", "1000", "11000", "12000", "1000")]
    assert a["payments_total__difference"] == Decimal("2000.00") and a["outcome"] == "winner"
    assert a["payments_without_amount__baseline"] == 2  # the balances of years 3 and 4
    assert [r["outcome"] for r in rows.to_pylist()] == ["winner", "winner", "loser", "unchanged", None]
    assert json.loads(rows.column("error")[4].as_py())[0]["field"] == "sector"
    summary = summarize(rows, period)
    # 2026: A 11 000 + B 22 000 + C 5 500 = 38 500 on both sides
    # 2027: A 11 000 + B 22 000 + C 5 500 = 38 500 | A 12 000 + B 23 000 + C 5 000 = 40 000
    # 2028: A 11 000 + B 11 000 + C 5 500 = 27 500 | A 12 000 + B 12 000 + C 5 000 = 29 000
    assert summary["by_year"] == {
        "2026": {"baseline": "38500.00", "reform": "38500.00", "difference": "0.00"},
        "2027": {"baseline": "38500.00", "reform": "40000.00", "difference": "1500.00"},
        "2028": {"baseline": "27500.00", "reform": "29000.00", "difference": "1500.00"}}
    assert summary["total"] == {"baseline": "104500.00", "reform": "107500.00", "difference": "3000.00"}
    assert (summary["winners"], summary["losers"], summary["unchanged"], summary["undetermined"]) == (2, 1, 1, 0)
    assert (summary["newly_eligible"], summary["no_longer_eligible"]) == (0, 0)
    assert (summary["rows"], summary["errors"]) == (5, 1)
    assert summary["payments_without_amount"] == {"baseline": 4, "reform": 4}  # A 2, C 2
    # differences: A and B +2 000, C −1 000, D 0 (bins of a round width, zero alone)
    assert [(b["from"], b["to"], b["rows"]) for b in summary["distribution"]] == [
        ("-1000.00", "-800.00", "1"), ("0.00", "0.00", "1"), ("2000.00", "2200.00", "2")]


def test_a_temporary_reform_then_the_convention_again(tmp_path):
    """The reform for 2027 only (`until 2027-12-31`): the convention applies again from 2028 (the
    registry adds its resumption), each payment still at the amount of its contract year's
    anniversary.
    A: year 4 (2027-09-01) under the reform, advance 2027-11-01 = 12 000; year 5 (2028-09-01) under
       the convention again, advance 2028-11-01 = 11 000 on both sides → +1 000.
    B: year 5 opens 2027-09-01 under the reform: advance 2027-11-01 = 12 000, balance 2028-11-01 =
       24 000 − 12 000 = 12 000 (11 000 and 11 000 in the baseline) → +2 000.
    C: advance of year 4 = 5 000 (2027), of year 5 = 5 500 again (2028) → −500.
    2026: 38 500 | 38 500; 2027: 38 500 | 12 000 + 23 000 + 5 000 = 40 000;
    2028: 11 000 + 11 000 + 5 500 = 27 500 | 11 000 + 12 000 + 5 500 = 28 500; 2029: nothing dated."""
    path = tmp_path / "temporaire.mil"
    path.write_text(REFORM.replace("effective from 2027-01-01", "effective from 2027-01-01 until 2027-12-31"),
                    encoding="utf-8")
    period = Period.years(2026, 2029)
    rows = compare_rows(table(), Registry.load(), Registry.load(reform=path), period, "weight", by=["region"])
    assert [r["outcome"] for r in rows.to_pylist()] == ["winner", "winner", "loser", "unchanged", None]
    assert [r["payments_total__difference"] for r in rows.to_pylist()[:4]] == [
        Decimal(v) for v in ("1000.00", "2000.00", "-500.00", "0.00")]
    assert summarize(rows, period)["by_year"] == {  # unweighted
        "2026": {"baseline": "38500.00", "reform": "38500.00", "difference": "0.00"},
        "2027": {"baseline": "38500.00", "reform": "40000.00", "difference": "1500.00"},
        "2028": {"baseline": "27500.00", "reform": "28500.00", "difference": "1000.00"},
        "2029": {"baseline": "0.00", "reform": "0.00", "difference": "0.00"}}


def test_weighted_and_by_group(registries):
    baseline, reform = registries
    period = Period.years(2026, 2028)
    rows = compare_rows(table(), baseline, reform, period, weight="weight", by=["region"])
    summary = summarize(rows, period, weight="weight", by=["region"])
    # weights A 2, B 1, C 3, D 10
    # 2026: 2 × 11 000 + 22 000 + 3 × 5 500 = 60 500 on both sides
    # 2027: 2 × 11 000 + 22 000 + 3 × 5 500 = 60 500 | 2 × 12 000 + 23 000 + 3 × 5 000 = 62 000
    # 2028: 2 × 11 000 + 11 000 + 3 × 5 500 = 49 500 | 2 × 12 000 + 12 000 + 3 × 5 000 = 51 000
    assert summary["by_year"]["2026"] == {"baseline": "60500.00", "reform": "60500.00", "difference": "0.00"}
    assert summary["by_year"]["2027"] == {"baseline": "60500.00", "reform": "62000.00", "difference": "1500.00"}
    assert summary["by_year"]["2028"] == {"baseline": "49500.00", "reform": "51000.00", "difference": "1500.00"}
    assert summary["weighted"]["winners"] == "3" and summary["weighted"]["losers"] == "3"  # A 2 + B 1; C 3
    assert summary["weighted"]["unchanged"] == "10"
    # nord: A (weight 2) and C (weight 3): 2 × 33 000 + 3 × 16 500 = 115 500 | 2 × 35 000 + 3 × 15 500 = 116 500
    nord = summary["groups"]["nord"]
    assert nord["total"] == {"baseline": "115500.00", "reform": "116500.00", "difference": "1000.00"}
    assert (nord["rows"], nord["winners"], nord["losers"]) == (2, 1, 1)
    sud = summary["groups"]["sud"]  # B (weight 1) 55 000 | 57 000; D nothing; E in error
    assert sud["total"] == {"baseline": "55000.00", "reform": "57000.00", "difference": "2000.00"}
    assert (sud["rows"], sud["errors"], sud["unchanged"]) == (3, 1, 1)


def test_on_a_date_the_payments_listed_then_by_year(registries):
    baseline, reform = registries
    period = Period.at(dt.date(2027, 12, 31), [baseline, reform])
    assert (period.first, period.last) == (2019, 2028)  # avenant 7 (2019) to the year after the date
    rows = compare_rows(table(POPULATION[:1]), baseline, reform, period, weight="weight", by=["region"])
    summary = summarize(rows, period)
    # A on 2027-12-31: year 1 on 2024-10-01 (38 000), year 2 on 2025-09-01 (28 000), year 3's advance
    # on 2026-11-01 (11 000), year 4's advance on 2027-11-01 (11 000 | 12 000); two balances without amount
    assert {y: f["reform"] for y, f in summary["by_year"].items() if f["reform"] != "0.00"} == {
        "2024": "38000.00", "2025": "28000.00", "2026": "11000.00", "2027": "12000.00"}
    assert summary["by_year"]["2027"]["baseline"] == "11000.00"
    assert summary["total"]["difference"] == "1000.00"
    assert summary["payments_without_amount"] == {"baseline": 2, "reform": 2}


def test_figures_not_established_carry_exact_bounds(registries):
    baseline, reform = registries
    # 1 ETP signed 2023-09-01 (règlement arbitral) without targets in the contract: its target comes from
    # the 2023 target table, whose rates are not established (« ? at least 0 % »), so each year's
    # achievement rate lies between 0 and 1, the amount due between 0 and the year's aid, and the
    # balance (due − advance) between −11 000 and 11 000 (advance 11 000 of a 22 000 year).
    # 2026: balance of year 3 (2026-11-01) −11 000..11 000 + advance of year 4 (2026-11-01) 11 000
    #       → 0..22 000 on both sides;
    # 2027: balance of year 4 (2027-11-01) −11 000..11 000 + advance of year 5 (2027-11-01, opened
    #       2027-09-01) 11 000 | 12 000 → 0..22 000 | 1 000..23 000;
    #       the difference: 1 000 − 22 000 .. 23 000 − 0 = −21 000..23 000.
    row = {k: v for k, v in POPULATION[1].items() if not k.startswith("contract_target")}
    row["contract_observed"] = json.dumps({"3": {"patients_mt": 1100, "file_active": 1600},
                                           "4": {"patients_mt": 1100, "file_active": 1600}})
    period = Period.years(2026, 2027)
    rows = compare_rows(table([row]), baseline, reform, period, weight="weight", by=["region"])
    out = rows.to_pylist()[0]

    def bounds(name):
        return (out[name], out[name + "__between_low"], out[name + "__between_high"])
    assert bounds("payments_2026__baseline") == (None, Decimal("0"), Decimal("22000"))
    assert bounds("payments_2027__baseline") == (None, Decimal("0"), Decimal("22000"))
    assert bounds("payments_2027__reform") == (None, Decimal("1000"), Decimal("23000"))
    assert bounds("payments_2027__difference") == (None, Decimal("-21000"), Decimal("23000"))
    assert out["outcome"] == "undetermined"
    assert out["payments_2027__reform__decided_by"] == ["target_table[50..70, full]"]
    summary = summarize(rows, period)
    total = summary["total"]["reform"]  # 2026 + 2027: 0 + 1 000 .. 22 000 + 23 000
    assert total == {"not_established": "montant non établi pour 1 ligne", "between": ["1000.00", "45000.00"],
                     "decided_by": ["target_table[50..70, full]"], "rows_not_established": 1,
                     "established_rows_sum": "0.00"}
    assert summary["undetermined"] == 1
    # a column named twice in --by is one grouping column (its open figures' deciders included)
    twice = summarize(rows, period, by=["region", "region"])
    assert twice["groups"]["sud, sud"]["total"]["reform"]["decided_by"] == ["target_table[50..70, full]"]


def test_years_are_cut_where_a_ruleset_takes_effect(registries):
    baseline, reform = registries
    assert Period.years(2026, 2028).segments(reform) == [
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31)), (dt.date(2027, 1, 1), dt.date(2028, 12, 31))]
    assert Period.years(2024, 2024).segments(baseline) == [
        (dt.date(2024, 1, 1), dt.date(2024, 6, 21)), (dt.date(2024, 6, 22), dt.date(2024, 12, 31))]


@pytest.mark.parametrize("text, message", [
    ("2030..2025", "--years 2030..2025 : la première année doit précéder la dernière"),
    ("2025-2030", "--years 2025-2030 : écrire deux années séparées par « .. », par exemple 2025..2030"),
])
def test_a_bad_range_of_years(text, message):
    with pytest.raises(CompareError) as caught:
        Period.parse_years(text)
    assert str(caught.value) == message


def write_population(tmp_path, rows=POPULATION):
    import csv
    columns = sorted({k for r in rows for k in r})
    path = tmp_path / "population.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_command_writes_rows_summary_and_report(tmp_path, reform_file):
    population = write_population(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(population), "--reform", str(reform_file), "--years",
                                       "2026..2028", "--weight", "weight", "--by", "region", "--out", str(out)])
    assert result.exit_code == 1, result.output  # one row in error
    assert "5 ligne(s) comparée(s), 1 en erreur ; écart total : 3\u202f000,00 €" in result.output  # 0 + 1 500 + 1 500
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "rows.parquet", "summary.json"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["by_year"]["2027"] == {"baseline": "60500.00", "reform": "62000.00", "difference": "1500.00"}
    assert summary["reform"]["reforms"] == ["reforme_2027"]
    rows = pq.read_table(out / "rows.parquet")
    assert rows.schema.field("payments_2027__difference").type == pa.decimal128(24, 2)
    assert rows.column("weight").to_pylist() == ["2", "1", "3", "10", "1"]  # the inputs, as read
    assert "Coût de la réforme" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["--years", "2026..2028", "--by", "regoin"], "erreur : --by regoin : la population n'a pas de colonne « regoin »"),
    (["--years", "2026..2028", "--weight", "poids"], "erreur : --weight poids : la population n'a pas de colonne"),
    (["--years", "2028..2026"], "erreur : --years 2028..2026 : la première année doit précéder la dernière"),
    (["--years", "2026..2028", "--on", "2027-01-01"], "erreur : donner soit --on DATE, soit --years"),
    ([], "erreur : donner soit --on DATE, soit --years"),
])
def test_bad_options_are_one_line_in_french(tmp_path, reform_file, args, message):
    population = write_population(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(population), "--reform", str(reform_file), "--out", str(out)]
                                + args)
    assert result.exit_code == 1
    assert result.output.startswith(message), result.output
    assert "Traceback" not in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_a_column_that_is_neither_a_case_column_nor_asked_is_refused(tmp_path, reform_file):
    result = CliRunner().invoke(main, ["compare", str(write_population(tmp_path)), "--reform", str(reform_file),
                                       "--years", "2026..2026", "--by", "region", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith("erreur : colonne inconnue « weight » : ni une donnée du dossier, ni une "
                                    "colonne nommée par --weight ou --by ; les données d'un dossier sont : specialty,")


def test_a_broken_reform_file_is_named_at_its_place(tmp_path, reform_file):
    reform_file.write_text(REFORM.replace("aid_amount[3+, half]", "aid_amount[3+, halff]"), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", str(write_population(tmp_path)), "--reform", str(reform_file),
                                       "--years", "2026..2028", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{reform_file}:9:1: erreur : le barème `aid_amount` n'a pas de colonne `halff`" in result.output
    assert "Traceback" not in result.output


def test_a_failure_leaves_no_file_and_no_temporary(tmp_path, reform_file, monkeypatch):
    from engine import report_html

    def broken(summary):
        raise RuntimeError("the page could not be drawn")
    monkeypatch.setattr(report_html, "render", broken)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(write_population(tmp_path)), "--reform", str(reform_file),
                                       "--years", "2026..2026", "--weight", "weight", "--by", "region",
                                       "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("erreur interne de Millésime (RuntimeError : the page could not be drawn)")
    assert list(out.iterdir()) == []  # neither rows.parquet nor a hidden temporary


def test_compare_without_pyarrow_is_one_line_naming_the_extra(tmp_path, reform_file, monkeypatch):
    import sys
    population = write_population(tmp_path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now fails as if not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(population), "--reform", str(reform_file), "--years",
                                       "2026..2026", "--weight", "weight", "--by", "region", "--out", str(out)])
    assert result.exit_code == 1
    assert result.output == ("erreur : cette commande a besoin de pyarrow, qui n'est pas installé ; il fait partie "
                             "de l'option « batch » de Millésime : pip install 'millesime[batch]'\n")
    assert not out.exists()


def test_sigterm_during_a_comparison_leaves_no_file(tmp_path, reform_file):
    """A comparison stopped by SIGTERM: exit status 143, the French message, no file and no temporary.
    The signal is sent once the run has begun (it has loaded the rulesets and starts evaluating)."""
    import os
    import signal
    import subprocess
    import sys
    rows = [dict(POPULATION[1], weight="1", region="nord") for _ in range(400)]
    population = write_population(tmp_path, rows)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", (
        "import sys, engine.compare as C\n"
        "original = C.compare_rows\n"
        "def announced(*a, **k):\n"
        "    print('started', flush=True)\n"
        "    return original(*a, **k)\n"
        "C.compare_rows = announced\n"
        "import engine.compare_files as F\n"
        "F.compare_rows = announced\n"
        "from engine.cli import main\n"
        "sys.exit(main())"), "compare", str(population), "--reform", str(reform_file), "--years", "2020..2030",
        "--weight", "weight", "--by", "region", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"  # waits for the condition, no fixed sleep
    os.kill(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "interrompu (SIGTERM) : aucun fichier écrit" in err
    assert list(out.iterdir()) == []


def test_sums_in_columns_equal_sums_row_by_row(registries):
    # a realistic population (bench/realistic.py): its established rows summed in Arrow, the others row
    # by row; the same summary as every row added one by one
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import realistic as R

    from engine.compare import Summary
    baseline, reform = registries
    rows = R.rows(300, seed=3)
    for i, row in enumerate(rows):
        row["weight"] = ("1", "2.5", "0", "12")[i % 4]
    period = Period.years(2026, 2029)
    compared = compare_rows(pa.Table.from_pylist(rows), baseline, reform, period, "weight", by=["specialty"])
    for weight in (None, "weight"):
        fast, slow = Summary(period, weight, ["specialty"]), Summary(period, weight, ["specialty"], in_columns=False)
        fast.add(compared)
        slow.add(compared)
        assert fast.as_json() == slow.as_json()
        assert fast.as_json()["undetermined"] > 0 and fast.as_json()["winners"] > 0


def test_a_reform_against_itself_as_baseline_changes_nothing_and_jsonl_reads_alike(tmp_path, reform_file):
    import json as json_
    population = tmp_path / "population.jsonl"
    population.write_text("".join(json_.dumps({k: v for k, v in row.items() if v is not None}) + "\n"
                                  for row in POPULATION[:4]), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(population), "--reform", str(reform_file), "--baseline",
                                       str(reform_file), "--years", "2026..2028", "--weight", "weight", "--by",
                                       "region", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json_.loads((out / "summary.json").read_text(encoding="utf-8"))
    # the reform on both sides: the weighted reform figures of test_weighted_and_by_group, no difference
    assert summary["by_year"]["2027"] == {"baseline": "62000.00", "reform": "62000.00", "difference": "0.00"}
    assert (summary["winners"], summary["losers"], summary["unchanged"]) == (0, 0, 4)
    assert summary["baseline"]["reforms"] == ["reforme_2027"]
