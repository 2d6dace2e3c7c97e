"""`millesime batch` and the Arrow / Polars API (engine/batch.py).

Expected amounts are read off the tables of rulesets/*.mil (and tests/fixtures/demo for the
streaming test), not off the engine's output.
"""
import csv
import datetime as dt
import json
import re
from decimal import Decimal
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import batch
from engine.batch import BatchError, FlatSchema, run_file
from engine.cli import main

D = dt.date
ON = D(2025, 3, 1)  # convention_2024 in force

HEADER = ("specialty,sector,optam,patients_mt,file_active,percentile,contract_signed_on,contract_option,"
          "contract_initial_patients_mt,contract_initial_file_active,contract_observed\n")
ROWS = [
    # 1. GP, 1 ETP signed under the 2024 convention: year 1, full → 38 000 €
    "medecine_generale,1,false,1200,2000,,2024-09-01,full,1200,2000,",
    # 2. sector 3 does not exist (sector is between 1 and 2)
    "medecine_generale,3,false,1200,2000,,2024-09-01,full,1200,2000,",
    # 3. GP, 1/2 ETP signed 2023-06-01 (règlement arbitral): on 2025-03-01 year 2, opened on
    #    2024-06-01, before the 2024 convention (2024-06-22) → the 2023 year-2 amount, 13 500 €
    "medecine_generale,1,false,1000,1500,,2023-06-01,half,1000,1500,\"{\"\"3\"\": {\"\"patients_mt\"\": 1100, \"\"file_active\"\": 1600}}\"",
    # 4. GP with 700 patients ≤ 775 (P30), no contract → not eligible, no annual aid
    "medecine_generale,1,false,700,900,,,,,,",
]


def write_csv(path: Path, rows=ROWS) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_cases(path: Path, rows) -> Path:
    """The rows as a CSV file, or as JSON Lines (one object per row, empty cells left out)."""
    if path.suffix == ".csv":
        return write_csv(path, rows)
    names = HEADER.strip().split(",")
    path.write_text("".join(json.dumps({n: v for n, v in zip(names, row) if v != ""}) + "\n"
                            for row in csv.reader(rows)), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_results_and_errors_file(tmp_path):
    summary = run_file(write_csv(tmp_path / "cases.csv"), ON, tmp_path / "out.csv", progress=False)
    assert (summary.rows, summary.computed, summary.failed) == (4, 3, 1)
    rows = {r["row"]: r for r in read_csv(tmp_path / "out.csv")}
    assert list(rows) == ["1", "3", "4"]
    assert (rows["1"]["eligible"], rows["1"]["contract_year"], rows["1"]["annual_aid"]) == ("true", "1", "38000.00")
    assert rows["1"]["payments"] == '[{"year": 1, "date": "2024-10-01", "kind": "single", "amount": "38000.00"}]'
    assert (rows["3"]["contract_year"], rows["3"]["annual_aid"]) == ("2", "13500.00")
    assert rows["3"]["governing_ruleset"] == "reglement_arbitral_2023"
    assert (rows["4"]["eligible"], rows["4"]["annual_aid"]) == ("false", "")
    assert json.loads(rows["4"]["ineligibility_reasons"])[0]["requirement"] == "eligibility.patientele"
    assert rows["1"]["sector"] == "1" and rows["3"]["contract_option"] == "half"  # the inputs, echoed
    assert read_csv(tmp_path / "out.csv.errors.csv") == [
        {"row": "2", "field": "sector", "reason": "doit être inférieur ou égal à 2 (reçu : '3')"}]


def test_year_three_reads_the_2024_amounts(tmp_path):
    # same contract as row 3, on 2025-08-01: year 3 opened on 2025-06-01 under the 2024 convention → 11 000 €
    run_file(write_csv(tmp_path / "cases.csv", [ROWS[2]]), D(2025, 8, 1), tmp_path / "out.csv", progress=False)
    [row] = read_csv(tmp_path / "out.csv")
    assert (row["contract_year"], row["annual_aid"]) == ("3", "11000.00")


def test_every_bad_field_of_a_row_is_reported(tmp_path):
    bad = "medecine_generale,1,maybe,abc,900,,2024-09-01,quarter,1200,2000,{not json"
    run_file(write_csv(tmp_path / "cases.csv", [ROWS[0], bad]), ON, tmp_path / "out.csv", progress=False)
    errors = read_csv(tmp_path / "out.csv.errors.csv")
    assert [(e["row"], e["field"]) for e in errors] == [
        ("2", "optam"), ("2", "contract_observed"), ("2", "patients_mt"), ("2", "contract_option")]
    assert errors[0]["reason"] == "true ou false est attendu (reçu : 'maybe')"
    assert errors[2]["reason"] == "un nombre entier est attendu (reçu : 'abc')"
    assert errors[3]["reason"] == ("'quarter' n'est pas une valeur possible (option) ; valeurs possibles : third, "
                                   "half, full, one_and_half, double")  # eval's own message
    assert [r["row"] for r in read_csv(tmp_path / "out.csv")] == ["1"]


def test_cli(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(write_csv(tmp_path / "cases.csv")), "--on", "2025-03-01",
                                       "--output", "annual_aid"])
    assert result.exit_code == 1  # one row in error
    out = tmp_path / "cases.results.csv"
    assert re.fullmatch(rf"4 ligne\(s\) : 3 calculée\(s\), 1 en erreur \([0-9\u202f]+ lignes/s\) → {re.escape(str(out))}\n"
                        rf"erreurs \(ligne, champ, motif\) : {re.escape(str(out))}\.errors\.csv\n", result.output)
    assert [r["annual_aid"] for r in read_csv(out)] == ["38000.00", "13500.00", ""]
    assert (tmp_path / "cases.results.csv.errors.csv").is_file()


def test_unknown_column_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "cases.csv").write_text("specialty,secteur\nmedecine_generale,1\n", encoding="utf-8")
    with pytest.raises(BatchError, match="^colonne inconnue « secteur » \\(vouliez-vous dire « sector » \\?\\) ; les "
                                         "colonnes d'un cas sont : specialty, sector, "):
        run_file(tmp_path / "cases.csv", ON, tmp_path / "out.csv", progress=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "cases.csv"]


def test_jsonl_gives_the_same_results(tmp_path):
    cases = write_cases(tmp_path / "cases.jsonl", ROWS)
    with open(cases, "a", encoding="utf-8") as f:
        f.write("{broken\n")
    summary = run_file(cases, ON, tmp_path / "out.jsonl", progress=False)
    assert (summary.rows, summary.computed, summary.failed) == (5, 3, 2)
    results = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["row"], r["annual_aid"]) for r in results] == [("1", "38000.00"), ("3", "13500.00"), ("4", None)]
    errors = read_csv(tmp_path / "out.jsonl.errors.csv")
    assert [(e["row"], e["field"]) for e in errors] == [("2", "sector"), ("5", "")]
    assert errors[1]["reason"] == "ligne 5 : JSON invalide : un nom de champ entre guillemets est attendu"


def test_flattening_of_a_map_column():
    from engine import shipped_registry
    schema = FlatSchema.of(shipped_registry().in_force(ON).model)
    case, problems = schema.case({"sector": "1", "contract_observed": '{"3": {"patients_mt": 10, "file_active": 2.5}}'})
    assert problems == []
    assert case["physician"] == {"sector": "1"}
    assert str(case["contract"]["observed"]["3"]["file_active"]) == "2.5"  # a Decimal, never a float
    assert schema.columns["contract_signed_on"].path == "contract.signed_on"
    assert "contract" not in schema.case({"sector": "1"})[0]  # an empty optional group is left out


# ---------------------------------------------------------------- Arrow / Polars

def test_evaluate_table_arrow_and_polars():
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    table = pa.table({
        "specialty": ["medecine_generale", "medecine_generale"], "sector": [1, 3], "optam": [False, False],
        "patients_mt": [1200, 1200], "file_active": [2000, 2000],
        "contract_signed_on": [D(2024, 9, 1), D(2024, 9, 1)], "contract_option": ["full", "full"],
        "contract_initial_patients_mt": [1200, 1200], "contract_initial_file_active": [2000, 2000]})
    out = batch.evaluate_table(table, ON, outputs=["eligible", "annual_aid"])
    assert isinstance(out, pa.Table) and out.num_rows == 2
    assert out.column("annual_aid").type == pa.decimal128(18, 2)  # typed: exact decimals, booleans
    assert out.column("annual_aid").to_pylist() == [Decimal("38000.00"), None]
    assert out.column("eligible").to_pylist() == [True, None]
    assert out.column("annual_aid__not_established").to_pylist() == [None, None]
    text = batch.evaluate_table(table, ON, outputs=["eligible", "annual_aid"], typed=False)  # the CSV form
    assert text.column("annual_aid").to_pylist() == ["38000.00", None]
    assert text.column("eligible").to_pylist() == ["true", None]
    assert json.loads(out.column("error")[1].as_py()) == [
        {"field": "sector", "reason": "doit être inférieur ou égal à 2 (reçu : 3)"}]
    assert out.schema.names[:2] == ["specialty", "sector"]  # the input columns, untouched
    frame = batch.evaluate_table(pl.from_arrow(table), ON, outputs=["annual_aid"])
    assert isinstance(frame, pl.DataFrame)
    assert frame["annual_aid"].to_list() == [Decimal("38000.00"), None]


def test_parquet_in_and_out(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"specialty": ["medecine_generale"], "sector": [1], "optam": [False],
                             "patients_mt": [1200], "file_active": [2000], "percentile": [None],
                             "contract_signed_on": [D(2024, 9, 1)], "contract_option": ["half"],
                             "contract_initial_patients_mt": [1200], "contract_initial_file_active": [2000]}),
                   tmp_path / "cases.parquet")
    run_file(tmp_path / "cases.parquet", ON, tmp_path / "out.parquet", outputs=["annual_aid"], progress=False)
    assert pq.read_table(tmp_path / "out.parquet").to_pylist()[0]["annual_aid"] == Decimal("19000.00")  # half, year 1


# ---------------------------------------------------------------- streaming and atomicity

DEMO = Path(__file__).parent / "fixtures" / "demo"


def demo_file(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write("sector,patients,percentile,contract_signed_on,contract_option\n")
        for i in range(n):
            f.write(f"{1 + i % 2},{500 + i % 700},{i % 100},2020-03-01,half\n")
    return path


def peak(tmp_path, n: int) -> int:
    from engine.registry import Registry
    registry = Registry.load(DEMO)
    source = demo_file(tmp_path / f"demo{n}.csv", n)
    tracemalloc.start()
    try:
        run_file(source, D(2021, 6, 1), tmp_path / f"out{n}.csv", registry, ["annual_aid"], progress=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_many_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 100)
    small, large = peak(tmp_path, 500), peak(tmp_path, 5000)
    assert large < small * 1.5 + 200_000, (small, large)  # ten times the rows, not ten times the memory
    # sector 1 rows (even i) get 8 000 € (demo_base: year 2, half); sector 2 rows are not eligible
    rows = read_csv(tmp_path / "out5000.csv")
    assert len(rows) == 5000 and rows[0]["annual_aid"] == "8000.00" and rows[1]["annual_aid"] == ""


def test_interruption_leaves_neither_a_half_file_nor_a_temp_file(tmp_path, monkeypatch):
    from engine.registry import Registry
    registry = Registry.load(DEMO)
    monkeypatch.setattr(batch, "CHUNK", 10)
    source = demo_file(tmp_path / "cases.csv", 100)
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    real_row, calls = batch.Batch.row, []

    def interrupted(self, row):
        calls.append(1)
        if len(calls) == 55:  # five chunks already written to the temp file
            raise KeyboardInterrupt
        return real_row(self, row)
    monkeypatch.setattr(batch.Batch, "row", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_file(source, D(2021, 6, 1), out, registry, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "out.csv"]
    assert out.read_text() == "previous results\n"  # the former file, whole


def test_progress_bar_is_drawn_only_when_asked(tmp_path):
    import io
    stream = io.StringIO()
    bar = batch.Progress(200, stream)
    bar.update(100, force=True)
    bar.close()
    assert re.fullmatch(r"\r\[#{15}\.{15}\] 100/200  50 %  [0-9\u202f]+ lignes/s \n", stream.getvalue())


def test_evaluate_batches_has_the_shape_of_spark_map_in_arrow():
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"specialty": ["medecine_generale"] * 3, "sector": [1, 1, 1], "optam": [False] * 3,
                      "patients_mt": [1200, 1200, 700], "file_active": [2000] * 3,
                      "contract_signed_on": [D(2024, 9, 1)] * 3, "contract_option": ["full", "half", "half"],
                      "contract_initial_patients_mt": [1200, 1200, 700], "contract_initial_file_active": [2000] * 3})
    batches = list(batch.evaluate_batches(iter(table.to_batches(max_chunksize=2)), ON, outputs=["annual_aid"]))
    assert [b.num_rows for b in batches] == [2, 1]
    schema = batch.output_schema(table.schema, ON, outputs=["annual_aid"])
    assert all(b.schema == schema for b in batches)
    # full 38 000, half 19 000 (year 1, 2024); 700 ≤ 775 patients: not eligible → 0 €
    assert [v for b in batches for v in b.column("annual_aid").to_pylist()] == [
        Decimal("38000.00"), Decimal("19000.00"), Decimal("0.00")]


@pytest.mark.parametrize("name, content", [
    ("cases.csv", HEADER.encode() + b"medecine_g\xe9n\xe9rale,1,false,1200,2000,,,,,,\n"),  # Latin-1, in a row
    ("cases.csv", b"specialt\xff,sector\n"),                                             # in the header
    ("cases.jsonl", b'{"specialty": "medecine_generale"}\n{"sector": "\xff"}\n'),
])
def test_a_file_that_is_not_utf8_is_refused_with_its_name(tmp_path, name, content):
    # found by tests/fuzz/test_batch_fuzz.py: a UnicodeDecodeError traceback, and nothing said of the file
    (tmp_path / name).write_bytes(content)
    with pytest.raises(BatchError, match=rf"{name} : ce n'est pas du texte UTF-8 \(octet 0x(e9|ff) à la position \d+\) ; "
                                         "enregistrez le fichier en UTF-8$"):
        run_file(tmp_path / name, ON, tmp_path / "out.csv", progress=False)
    assert list(tmp_path.iterdir()) == [tmp_path / name]


def test_a_csv_arrow_refuses_is_read_again_row_by_row(tmp_path, monkeypatch):
    # row 2 has one cell fewer than the header: Arrow's reader refuses the file, Python's csv
    # module reads it again and reports that row by its line (it was computed as if its last
    # cell were empty, issue 16); the other rows are computed
    rows = [ROWS[0], ROWS[3].rsplit(",", 1)[0], ROWS[0]]
    assert rows[1].count(",") == HEADER.count(",") - 1
    read_again = []
    real = batch._row_chunks
    monkeypatch.setattr(batch, "_row_chunks", lambda *a: read_again.append(1) or real(*a))
    summary = run_file(write_csv(tmp_path / "cases.csv", rows), ON, tmp_path / "out.csv", progress=False)
    assert read_again == [1]
    assert (summary.rows, summary.computed, summary.failed) == (3, 2, 1)
    got = read_csv(tmp_path / "out.csv")
    assert [(r["row"], r["annual_aid"]) for r in got] == [("1", "38000.00"), ("3", "38000.00")]
    assert read_csv(tmp_path / "out.csv.errors.csv") == [
        {"row": "2", "field": "", "reason": "ligne 3 : 10 cellules, alors que l'en-tête nomme 11 colonnes"}]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])  # read as columns; read as rows (JSON Lines)
def test_each_chunk_starts_afresh(tmp_path, monkeypatch, suffix):
    # the vector back-end's memo of uncertain operations is emptied before each chunk (not only
    # when full, at 65 536 entries): a process's memory is that of one chunk, whatever the length
    from engine.vector import objects
    monkeypatch.setattr(batch, "CHUNK", 3)
    sizes = []
    real = batch.next_chunk
    monkeypatch.setattr(batch, "next_chunk", lambda: (sizes.append(len(objects._KNOWN)), real())[1])
    objects._KNOWN[("left", "by another run")] = None
    rows = [ROWS[0], ROWS[2], ROWS[3]] * 3
    source = write_cases(tmp_path / f"cases{suffix}", rows)
    summary = run_file(source, ON, tmp_path / f"out{suffix}", progress=False, engine="vector")
    assert (summary.rows, summary.computed) == (9, 9)
    assert sizes == [1, 0, 0]  # one call per chunk of 3 rows, the first finding what was left
    assert objects._KNOWN == {}


@pytest.mark.parametrize("suffix, jobs, calls", [
    (".csv", 2, 3),    # worker processes evaluate: the main process gives pages back after writing each chunk
    (".csv", 1, 2),    # one process: before evaluating each chunk but the first (next_chunk)
    (".jsonl", 1, 2),  # read as rows: the same
])
def test_a_written_chunk_is_freed_before_its_pages_are_given_back(tmp_path, monkeypatch, suffix, jobs, calls):
    # the heap's free pages are given back (engine/memory.py) once the chunk written is freed, or
    # its pages are not free yet
    import weakref
    monkeypatch.setattr(batch, "CHUNK", 3)
    written, freed = [], []
    real_write = batch._Writer.write

    def write(self, columns):
        if "annual_aid" in columns:
            written.append(weakref.ref(columns["annual_aid"]))
        return real_write(self, columns)
    monkeypatch.setattr(batch._Writer, "write", write)
    monkeypatch.setattr(batch.memory, "give_back", lambda: written and freed.append(written[-1]() is None))
    rows = [ROWS[0], ROWS[2], ROWS[3]] * 3
    source = write_cases(tmp_path / f"cases{suffix}", rows)
    summary = run_file(source, ON, tmp_path / "out.parquet", progress=False, engine="vector", jobs=jobs)
    assert summary.computed == 9
    assert freed == [True] * calls


@pytest.mark.parametrize("engine", ["vector", "row"])
def test_csv_read_as_columns_chunk_by_chunk(tmp_path, monkeypatch, engine):
    # 7 chunks of 3 rows read by Arrow's reader (no row read again), a bad row in the middle
    monkeypatch.setattr(batch, "CHUNK", 3)
    monkeypatch.setattr(batch, "_row_chunks", lambda *a: pytest.fail("read again row by row"))
    rows = [ROWS[0], ROWS[2], ROWS[3]] * 6 + [ROWS[1], ROWS[0], ROWS[3]]
    summary = run_file(write_csv(tmp_path / "cases.csv", rows), ON, tmp_path / f"out_{engine}.csv",
                       outputs=["eligible", "annual_aid"], progress=False, engine=engine)
    assert (summary.rows, summary.computed, summary.failed) == (21, 20, 1)
    got = read_csv(tmp_path / f"out_{engine}.csv")
    assert [r["row"] for r in got] == [str(i) for i in range(1, 22) if i != 19]
    assert [r["annual_aid"] for r in got[:3]] == ["38000.00", "13500.00", ""]
    assert got[-2]["annual_aid"] == "38000.00" and got[-1]["eligible"] == "false"
    assert read_csv(tmp_path / f"out_{engine}.csv.errors.csv") == [
        {"row": "19", "field": "sector", "reason": "doit être inférieur ou égal à 2 (reçu : '3')"}]
