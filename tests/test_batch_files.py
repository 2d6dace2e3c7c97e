"""Batch files lose nothing and hide nothing (issue 16): every malformed line is an error row
naming its line, no input makes a traceback, an interrupted run leaves nothing behind, and what
is written is safe to open (file mode, spreadsheet formulas).

Expected values are worked out by hand: the 2024 convention's year-1 amount for a full-time
GP contract is 38 000 € (rulesets/convention_2024.mil, `aid_amount`), the `texts` ruleset below
is small enough to read at a glance.
"""
import csv
import datetime as dt
import json
from decimal import Decimal
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine import batch
from engine.batch import BatchError, evaluate_table, run_file
from engine.registry import Registry

ON = dt.date(2025, 3, 1)  # convention_2024 in force
HEADER = "specialty,sector,optam,patients_mt,file_active,contract_signed_on,contract_option," \
         "contract_initial_patients_mt,contract_initial_file_active"
GOOD = "medecine_generale,1,false,1200,2000,2024-09-01,full,1200,2000"  # year 1, full → 38 000 €
NO_CONTRACT = "medecine_generale,1,false,1200,2000"                      # fewer cells: 5 of 9
ROOT = Path(__file__).resolve().parents[1]

TEXTS = '''ruleset texts "Textes et parts"
  effective from 2020-01-01

input physician : group "Médecin"
input physician.name : text "Nom"
input physician.share : optional decimal "Part" between 0 and 1

rule label "Nom retenu" : text = physician.name
rule is_bob "Le médecin s'appelle Bob" : bool = physician.name = "Bob"
rule above "Part supérieure à 0,1" : optional bool = if physician.share is set then physician.share > 0.1 else none
rule share_read "Part lue" : optional decimal = physician.share

output label, is_bob, above, share_read
'''
TEXTS_ON = dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Registry:
    folder = tmp_path_factory.mktemp("texts")
    (folder / "texts.mil").write_text(TEXTS, encoding="utf-8")
    return Registry.load(folder)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run(tmp_path, text: str, name="cases.csv", **kw):
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = run_file(source, kw.pop("on", ON), out, kw.pop("registry", None), kw.pop("outputs", ["annual_aid"]),
                       progress=False, **kw)
    return summary, read_csv(out), read_csv(batch.errors_path(out))


# ---------------------------------------------------------------- CSV rows that do not fit the header

def test_a_row_with_extra_or_missing_cells_is_an_error_row_naming_its_line(tmp_path):
    # was: the extra cell dropped, the short row computed as a physician without contract
    text = "\n".join([HEADER, GOOD, GOOD + ",7", NO_CONTRACT, GOOD]) + "\n"
    summary, results, errors = run(tmp_path, text)
    assert (summary.rows, summary.computed, summary.failed) == (4, 2, 2)
    assert [(r["row"], r["annual_aid"]) for r in results] == [("1", "38000.00"), ("4", "38000.00")]
    assert errors == [
        {"row": "2", "field": "", "reason": "ligne 3 : 10 cellules, alors que l'en-tête nomme 9 colonnes"},
        {"row": "3", "field": "", "reason": "ligne 4 : 5 cellules, alors que l'en-tête nomme 9 colonnes"}]


def test_a_quoted_cell_over_several_lines_names_the_line_its_row_starts_on(tmp_path):
    text = HEADER + ',contract_observed\n' + GOOD + ',"{""3"":\n{}}",9\n' + GOOD + ",\n"
    summary, results, errors = run(tmp_path, text)
    assert [r["row"] for r in results] == ["2"]
    assert errors == [{"row": "1", "field": "", "reason": "ligne 2 : 11 cellules, alors que l'en-tête nomme 10 colonnes"}]


@pytest.mark.parametrize("engine", ["row", "auto"])
def test_a_header_naming_a_column_twice_makes_every_row_an_error(tmp_path, engine):
    # was: computed with the last `sector` (2) and that value echoed in both columns
    text = HEADER + ",sector\n" + GOOD + ",2\n" + GOOD + ",1\n"
    summary, results, errors = run(tmp_path, text, engine=engine)
    assert (summary.rows, summary.computed, summary.failed) == (2, 0, 2)
    assert results == []
    reason = "l'en-tête nomme la colonne « sector » deux fois (colonnes 2 et 10)"
    assert errors == [{"row": "1", "field": "sector", "reason": f"ligne 2 : {reason}"},
                      {"row": "2", "field": "sector", "reason": f"ligne 3 : {reason}"}]


def test_a_json_line_giving_a_key_twice_is_an_error_row(tmp_path):
    good = dict(zip(HEADER.split(","), GOOD.split(",")))
    twice = json.dumps(good)[:-1] + ', "sector": "2"}'
    summary, results, errors = run(tmp_path, json.dumps(good) + "\n" + twice + "\n", name="cases.jsonl")
    assert [r["row"] for r in results] == ["1"]
    assert errors == [{"row": "2", "field": "sector", "reason": "ligne 2 : la clé « sector » est donnée deux fois"}]


@pytest.mark.parametrize("engine", ["row", "vector"])
def test_a_json_line_with_a_key_the_first_line_lacks_is_checked_too(tmp_path, engine):
    # the first line names the file's columns; a later line's unknown key was silently ignored
    if engine == "vector":
        pytest.importorskip("numpy")
    good = dict(zip(HEADER.split(","), GOOD.split(",")))
    summary, results, errors = run(tmp_path, json.dumps(good) + "\n" + json.dumps({**good, "percentil": "55"}) + "\n",
                                   name="cases.jsonl", engine=engine)
    assert [r["row"] for r in results] == ["1"]
    assert errors == [{"row": "2", "field": "percentil", "reason": "colonne inconnue (vouliez-vous dire « percentile » ?)"}]


def test_evaluate_table_refuses_a_table_naming_a_column_twice():
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["sector", "sector"])
    with pytest.raises(BatchError, match=r"^la table nomme la colonne « sector » deux fois \(colonnes 1 et 2\)$"):
        evaluate_table(table, ON, outputs=["annual_aid"])


def test_blank_lines_before_the_header_shift_nothing(tmp_path):
    # was: the first blank line taken as the header, every row "required field missing"
    text = "\n\n" + HEADER + "\n" + GOOD + "\n" + GOOD.replace(",1,false", ",3,false") + "\n"
    summary, results, errors = run(tmp_path, text)
    assert [(r["row"], r["annual_aid"]) for r in results] == [("1", "38000.00")]
    assert errors == [{"row": "2", "field": "sector", "reason": "doit être inférieur ou égal à 2 (reçu : '3')"}]


def test_blank_lines_before_the_header_on_the_csv_module_path(tmp_path):
    text = "\n\n" + HEADER + "\n" + GOOD + "\n" + GOOD + ",x\n" + GOOD + "\n"  # the extra cell: csv module
    summary, results, errors = run(tmp_path, text)
    assert [r["row"] for r in results] == ["1", "3"]
    assert errors == [{"row": "2", "field": "", "reason": "ligne 5 : 10 cellules, alors que l'en-tête nomme 9 colonnes"}]


def test_a_comma_and_space_separator_gets_a_hint_about_the_space(tmp_path):
    (tmp_path / "cases.csv").write_text("specialty, sector, optam\nmedecine_generale, 1, false\n", encoding="utf-8")
    with pytest.raises(BatchError) as info:
        run_file(tmp_path / "cases.csv", ON, tmp_path / "out.csv", progress=False)
    message = str(info.value)
    assert message.startswith("colonnes inconnues «  sector », «  optam » (les noms de colonnes commencent par une "
                              "espace : séparez les colonnes par une virgule seule, sans espace après) ; les colonnes "
                              "d'un cas sont : specialty, sector, optam, ")
    assert list(tmp_path.iterdir()) == [tmp_path / "cases.csv"]


# ---------------------------------------------------------------- inputs that used to end the run

def test_a_cell_over_128_kib_on_the_csv_module_path_is_an_error_row(tmp_path):
    # the extra cell of row 3 sends the file to the csv module, whose field limit is 131 072
    big = '"{' + "x" * 140_000 + '\n' + "y" * 10 + '}"'  # a quoted cell over two lines
    text = "\n".join([HEADER + ",contract_observed", GOOD + ",", GOOD + "," + big, GOOD + ",,x", GOOD + ","]) + "\n"
    summary, results, errors = run(tmp_path, text)
    assert (summary.rows, summary.computed, summary.failed) == (4, 2, 2)
    assert [r["row"] for r in results] == ["1", "4"]
    assert errors == [
        {"row": "2", "field": "", "reason": "ligne 3 : une cellule dépasse 131\u202f072 caractères"},
        {"row": "3", "field": "", "reason": "ligne 5 : 11 cellules, alors que l'en-tête nomme 10 colonnes"}]


def test_a_cell_over_128_kib_read_by_arrow_is_the_same_error_row(tmp_path):
    text = "\n".join([HEADER + ",contract_observed", GOOD + ",", GOOD + ',"' + "x" * 140_000 + '"', GOOD + ","]) + "\n"
    summary, results, errors = run(tmp_path, text)
    assert [r["row"] for r in results] == ["1", "3"]
    assert errors == [{"row": "2", "field": "", "reason": "ligne 3 : une cellule dépasse 131\u202f072 caractères"}]


def test_a_long_bad_cell_is_quoted_short_in_its_error(tmp_path):
    summary, results, errors = run(tmp_path, HEADER + "\n" + GOOD.replace("medecine_generale", "z" * 5000) + "\n")
    [error] = errors
    assert error["field"] == "specialty" and error["reason"].startswith("'zzzz"), error["reason"]
    assert "z" * 100 not in error["reason"]  # was the whole 5 000-character cell


def test_json_lines_nested_too_deep_or_with_an_endless_number_are_error_rows(tmp_path):
    good = json.dumps(dict(zip(HEADER.split(","), GOOD.split(","))))
    lines = [good,
             '{"sector": ' + "[" * 100_000 + "]" * 100_000 + "}",
             '{"sector": ' + "9" * 5000 + "}",
             '{"sector": ' + "[" * 900 + "]" * 900 + "}",  # deep, but within what the parser reads
             '{"contract_observed": "' + "[" * 100_000 + '"}',  # the map column's JSON text
             good]
    summary, results, errors = run(tmp_path, "\n".join(lines) + "\n", name="cases.jsonl")
    assert (summary.rows, summary.computed, summary.failed) == (6, 2, 4)
    assert [r["row"] for r in results] == ["1", "6"]
    by_row = {}
    for e in errors:
        by_row.setdefault(e["row"], []).append(e)
    assert by_row["2"] == [{"row": "2", "field": "", "reason": "ligne 2 : JSON invalide : imbrication trop profonde"}]
    assert by_row["3"] == [{"row": "3", "field": "",
                            "reason": "ligne 3 : JSON invalide : un nombre de plus de 4300 chiffres"}]
    assert "sector" in [e["field"] for e in by_row["4"]] and all(len(e["reason"]) < 300 for e in by_row["4"])
    assert {"row": "5", "field": "contract_observed", "reason": "JSON invalide : imbrication trop profonde"} in by_row["5"]


def test_a_first_json_line_nested_too_deep_refuses_the_file_with_its_name(tmp_path):
    (tmp_path / "cases.jsonl").write_text("[" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(BatchError, match=r"cases.jsonl:1: JSON invalide : imbrication trop profonde$"):
        run_file(tmp_path / "cases.jsonl", ON, tmp_path / "out.csv", progress=False)


# ---------------------------------------------------------------- files around the output

def test_an_input_named_like_the_errors_file_of_the_output_is_refused(tmp_path):
    source = tmp_path / "out.csv.errors.csv"
    source.write_text(HEADER + "\n" + GOOD + "\n", encoding="utf-8")
    with pytest.raises(BatchError, match=r"out.csv.errors.csv : le fichier d'erreurs de .*out.csv écraserait l'entrée ; "
                                         "renommez l'entrée ou choisissez un autre --out$"):
        run_file(source, ON, tmp_path / "out.csv", progress=False)
    assert source.read_text(encoding="utf-8") == HEADER + "\n" + GOOD + "\n"
    assert list(tmp_path.iterdir()) == [source]


def test_result_files_keep_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        run(tmp_path, HEADER + "\n" + GOOD + "\n")
    finally:
        os.umask(old)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644  # was 0600, mkstemp's
    assert (tmp_path / "out.csv.errors.csv").stat().st_mode & 0o777 == 0o644


def test_stale_temporaries_of_the_same_output_are_swept_and_a_live_one_kept(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    stale = [tmp_path / ".out.csv.k2j3h4.tmp", tmp_path / ".out.csv.errors.csv.abcdef.tmp"]
    other = [tmp_path / ".other.csv.abcdef.tmp", tmp_path / ".out.csv.bak"]
    live = tmp_path / ".out.csv.live01.tmp"
    for path in stale + other + [live]:
        path.write_text("half written\n")
    with open(live) as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run still writing it holds it
        run(tmp_path, HEADER + "\n" + GOOD + "\n")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in other + [live])


DRIVER = r'''
import sys
from pathlib import Path
from engine import batch
from engine.cli import main

real = batch._Writer.write
def write(self, columns):
    real(self, columns)
    if self.target.name == "out.csv":
        self.handle.flush()
        print("halfway", flush=True)  # the test sends its signal now
        sys.stdin.read()                # and this waits for it
batch._Writer.write = write
batch.CHUNK = 2
main(["batch", sys.argv[1], "--on", "2025-03-01", "--out", sys.argv[2], "--output", "annual_aid", "--no-progress"])
'''


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_run_leaves_the_previous_results_and_no_temporary(tmp_path, signum):
    source = tmp_path / "cases.csv"
    source.write_text(HEADER + "\n" + "\n".join([GOOD] * 6) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(source), str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout.readline() == "halfway\n"  # a first chunk is in the temporary file
        assert [p.name for p in tmp_path.glob(".out.csv.*.tmp")]
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum
    assert stderr == f"interrompu ({signal.Signals(signum).name}) : aucun fichier de résultats écrit\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "out.csv"]
    assert out.read_text() == "previous results\n"


# ---------------------------------------------------------------- what is written

def test_a_text_that_a_spreadsheet_would_run_is_written_with_an_apostrophe(tmp_path, texts):
    text = "name\n=HYPERLINK(\"http://x\")\n+33 6\n-cmd\n@SUM(A1)\nBob\n-12.5\n"
    summary, results, errors = run(tmp_path, text, on=TEXTS_ON, registry=texts, outputs=["label", "is_bob"])
    assert [(r["name"], r["label"]) for r in results] == [
        ("'=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("'+33 6", "'+33 6"), ("'-cmd", "'-cmd"),
        ("'@SUM(A1)", "'@SUM(A1)"), ("Bob", "Bob"), ("-12.5", "-12.5")]  # a plain number stays a number
    assert [r["is_bob"] for r in results] == ["false", "false", "false", "false", "true", "false"]


def test_json_lines_results_keep_the_text_as_it_is(tmp_path, texts):
    source = tmp_path / "cases.csv"
    source.write_text("name\n=1+1\n", encoding="utf-8")
    run_file(source, TEXTS_ON, tmp_path / "out.jsonl", texts, ["label"], progress=False)
    assert json.loads((tmp_path / "out.jsonl").read_text())["label"] == "=1+1"


@pytest.mark.parametrize("engine", ["row", "vector"])
def test_float32_parquet_columns_read_as_the_shortest_decimal_of_their_width(tmp_path, texts, engine):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    if engine == "vector":
        pytest.importorskip("numpy")
    table = pa.table({"name": ["a", "b", "c"], "share": pa.array([0.1, 0.15, None], pa.float32())})
    pq.write_table(table, tmp_path / "cases.parquet")
    run_file(tmp_path / "cases.parquet", TEXTS_ON, tmp_path / "out.csv", texts, progress=False, engine=engine)
    got = [(r["share"], r["share_read"], r["above"]) for r in read_csv(tmp_path / "out.csv")]
    # 0.1 is not above 0.1; read through float64 it was 0.10000000149011612, above
    assert got == [("0.1", "0.1", "false"), ("0.15", "0.15", "true"), ("", "", "")]
    out = evaluate_table(table, TEXTS_ON, texts, ["share_read", "above"], engine=engine, typed=False)
    assert out.column("share_read").to_pylist() == ["0.1", "0.15", None]
    assert out.column("above").to_pylist() == ["false", "true", None]
    typed = evaluate_table(table, TEXTS_ON, texts, ["share_read", "above"], engine=engine)
    assert typed.column("share_read").to_pylist() == [Decimal("0.1"), Decimal("0.15"), None]
    assert typed.column("above").to_pylist() == [False, True, None]


def test_evaluate_table_keeps_no_text_of_a_finished_run(texts):
    pa = pytest.importorskip("pyarrow")
    vector = pytest.importorskip("engine.vector.columns")
    evaluate_table(pa.table({"name": ["Bob", "warm-up"]}), TEXTS_ON, texts, ["label", "is_bob"], engine="vector")
    before = len(vector._NAMES.codes)
    names = [f"physician {i}" for i in range(2000)] + ["Bob"]
    out = evaluate_table(pa.table({"name": names}), TEXTS_ON, texts, ["label", "is_bob"], engine="vector")
    assert out.column("label").to_pylist() == names
    assert out.column("is_bob").to_pylist() == [False] * 2000 + [True]
    assert len(vector._NAMES.codes) == before  # was before + 2000: every text ever seen, for good
    again = [f"other {i}" for i in range(2000)]
    evaluate_table(pa.table({"name": again}), TEXTS_ON, texts, ["label"], engine="vector")
    assert len(vector._NAMES.items) <= before + 2001  # the codes of the first run are reused


def test_a_csv_is_cut_into_blocks_on_record_boundaries_only(tmp_path, monkeypatch):
    # blocks of 40 bytes: quoted newlines, escaped quotes and a BOM straddle the cuts; the rows read
    # block by block are those the csv module reads (memory stays one block, whatever the file)
    pa = pytest.importorskip("pyarrow")
    from engine.io import readers
    monkeypatch.setattr(readers, "CSV_BLOCK", 40)
    text = ('\ufeffname,note\n"Bob","a ""quoted"" word"\n"Al\nice","two\nlines, and a comma"\n\n'
            + "".join(f'p{i},"n{i}\n"\n' for i in range(30)) + 'last,"x"')
    path = tmp_path / "cases.csv"
    path.write_text(text, encoding="utf-8")
    names = ["name", "note"]
    blocks = list(readers._csv_blocks(path))
    assert len(blocks) > 5 and [first for _, first in blocks] == [True] + [False] * (len(blocks) - 1)
    assert b"".join(part for part, _ in blocks) == text.encode("utf-8")
    read = readers.read_columns(path, names, 7)
    rows = [r for b in read for r in pa.Table.from_batches([b]).to_pylist()]
    _, _, chunks = readers.read_rows(path, 100)
    expected = [r for chunk in chunks for r in chunk]
    assert rows == expected and len(rows) == 33
    assert rows[1] == {"name": "Al\nice", "note": "two\nlines, and a comma"}
    assert rows[0]["note"] == 'a "quoted" word'


def test_the_blocks_of_a_csv_are_grouped_into_chunks_of_the_rows_asked(tmp_path, monkeypatch):
    # blocks of 64 bytes hold 5 or 6 rows; chunks of 20 rows exactly gather four blocks or so (a
    # block cut where a chunk ends): the evaluation's cost per chunk is paid for `chunk` rows, not
    # for one block's, and the chunks are of one size
    pa = pytest.importorskip("pyarrow")
    from engine.io import readers
    monkeypatch.setattr(readers, "CSV_BLOCK", 64)
    path = tmp_path / "cases.csv"
    path.write_text("name,n\n" + "".join(f"p{i:03d},{i}\n" for i in range(101)), encoding="utf-8")
    batches = list(readers.read_columns(path, ["name", "n"], 20))
    sizes = [b.num_rows for b in batches]
    assert sizes == [20, 20, 20, 20, 20, 1]
    assert [r["n"] for b in batches for r in pa.Table.from_batches([b]).to_pylist()] == [str(i) for i in range(101)]


def test_the_rows_of_a_file_are_estimated_without_reading_it(tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    from engine.io import readers
    path = tmp_path / "cases.csv"
    path.write_text("name,n\n" + "".join(f"p{i:04d},{i % 10}\n" for i in range(1000)), encoding="utf-8")
    assert readers.estimate_rows(path) == 1000  # rows of one length: exact
    monkeypatch.setattr(readers, "CSV_BLOCK", 100)  # the first 100 bytes only: 13 rows of 8 bytes
    assert readers.estimate_rows(path) == 1000
    path.write_text("name,n\n" + "".join(f"p{i},{i}\n" for i in range(1000)), encoding="utf-8")
    assert 1000 < readers.estimate_rows(path) < 1700  # the first rows shorter than the others: an estimate
    pq.write_table(pa.table({"n": list(range(77))}), tmp_path / "cases.parquet")
    assert readers.estimate_rows(tmp_path / "cases.parquet") == 77
    (tmp_path / "cases.jsonl").write_text('{"n": 1}\n', encoding="utf-8")
    assert readers.estimate_rows(tmp_path / "cases.jsonl") is None
    (tmp_path / "empty.csv").write_text("name,n\n", encoding="utf-8")
    assert readers.estimate_rows(tmp_path / "empty.csv") is None


def test_a_record_that_never_closes_its_quote_is_read_row_by_row(tmp_path, monkeypatch):
    from engine.io import readers
    monkeypatch.setattr(readers, "CSV_BLOCK", 16)
    monkeypatch.setattr(readers, "CSV_MAX_RECORD", 64)
    path = tmp_path / "cases.csv"
    path.write_text('name,note\nBob,"never closed\n' + "more text\n" * 20, encoding="utf-8")
    with pytest.raises(readers.ReadAgain):
        list(readers.read_columns(path, ["name", "note"], 10))
