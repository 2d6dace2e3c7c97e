"""`--jobs N`: a file's chunks evaluated in worker processes (engine/parallel.py) give the files of a
single process (a CSV byte for byte, Parquet row for row); the workers are other processes; their errors reach the caller with
their message; an interruption or a dead worker stops the pool and leaves no worker behind."""
import json
import multiprocessing
import os
import shutil
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from dsl.errors import MillesimeError  # noqa: E402
from engine import batch as B, compare_files, parallel  # noqa: E402
from engine.io import readers  # noqa: E402
from engine.registry import Registry, shipped_rulesets_dir  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402
from test_compare import REFORM  # noqa: E402


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """600 physicians of bench/realistic.py as a CSV file."""
    import csv
    path = tmp_path_factory.mktemp("population") / "physicians.csv"
    rows = R.rows(600, seed=77)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=R.COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c) or "" for c in R.COLUMNS})
    return path


@pytest.fixture
def small_chunks(monkeypatch, population):
    """The CSV read in blocks of 8 KiB grouped into chunks of 100 rows: the 600-row file makes six
    chunks, for several workers."""
    monkeypatch.setattr(readers, "CSV_BLOCK", 8 << 10)
    monkeypatch.setattr(B, "CHUNK", 100)
    monkeypatch.setattr(compare_files, "CHUNK", 100)
    names = population.read_text(encoding="utf-8").splitlines()[0].split(",")
    chunks = [b.num_rows for b in readers.read_columns(population, names, 100)]
    assert len(chunks) >= 5 and sum(chunks) == 600


def test_batch_with_two_workers_writes_the_single_process_files(tmp_path, population, small_chunks):
    registry = Registry.load()
    one = B.run_file(population, R.ON, tmp_path / "one.parquet", registry, progress=False, jobs=1)
    two = B.run_file(population, R.ON, tmp_path / "two.parquet", registry, progress=False, jobs=2)
    assert (one.rows, one.computed, one.failed) == (two.rows, two.computed, two.failed) == (600, 600, 0)
    table = pq.read_table(tmp_path / "two.parquet")
    assert table.equals(pq.read_table(tmp_path / "one.parquet"))  # row groups follow the chunks: not the bytes
    assert table.column("row").to_pylist() == list(range(1, 601))  # in the file's order
    assert table.column("annual_aid").null_count < 600  # amounts computed, not only errors
    # CSV out: text cells, the same
    B.run_file(population, R.ON, tmp_path / "one.csv", registry, progress=False, jobs=1)
    B.run_file(population, R.ON, tmp_path / "two.csv", registry, progress=False, jobs=2)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def test_compare_with_two_workers_writes_the_single_process_files(tmp_path, population, small_chunks):
    reform_path = tmp_path / "reforme.mil"
    reform_path.write_text(REFORM, encoding="utf-8")
    baseline, reform = Registry.load(), Registry.load(reform=reform_path)
    for jobs in (1, 2):
        compare_files.run(population, baseline, reform, None, "2026..2030", None, ["specialty"], tmp_path / f"c{jobs}",
                          jobs=jobs)
    for name in ("summary.json", "report.html"):
        assert (tmp_path / "c1" / name).read_bytes() == (tmp_path / "c2" / name).read_bytes(), name
    assert pq.read_table(tmp_path / "c1" / "rows.parquet").equals(pq.read_table(tmp_path / "c2" / "rows.parquet"))
    summary = json.loads((tmp_path / "c2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"] == 600 and summary["winners"] > 0


def _pid_of(offset: int):
    def fn(item):
        return item + offset, os.getpid()
    return fn


def test_ordered_map_keeps_the_order_and_runs_in_other_processes():
    got = list(parallel.ordered_map(_pid_of, (100,), range(40), 2))
    assert [value for value, _ in got] == [100 + i for i in range(40)]
    pids = {pid for _, pid in got}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert multiprocessing.active_children() == []  # the pool is gone
    # one job: in this very process
    assert {pid for _, pid in parallel.ordered_map(_pid_of, (0,), range(3), 1)} == {os.getpid()}


def _failing(at: int):
    def fn(item):
        if item == at:
            raise MillesimeError(f"la ligne {item} ne se calcule pas")
        if item == -at:
            os._exit(3)  # a worker killed (out of memory, a signal)
        return item
    return fn


def test_an_error_in_a_worker_reaches_the_caller_with_its_message():
    with pytest.raises(MillesimeError, match="la ligne 7 ne se calcule pas"):
        list(parallel.ordered_map(_failing, (7,), range(20), 2))
    assert multiprocessing.active_children() == []


def test_a_dead_worker_is_reported_in_french_and_the_pool_stopped():
    with pytest.raises(parallel.WorkerError, match="processus de calcul s'est arrêté"):
        list(parallel.ordered_map(_failing, (5,), [0, 1, -5, 2, 3, 4], 2))
    assert multiprocessing.active_children() == []


def test_an_interruption_stops_the_workers():
    def items():
        yield from range(6)
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        list(parallel.ordered_map(_pid_of, (0,), items(), 2))
    assert multiprocessing.active_children() == []


def _tables(rows: int, failing_at: int = -1):
    def fn(item):
        if item == failing_at:
            raise MillesimeError(f"la ligne {item} ne se calcule pas")
        return pa.table({"item": [item] * rows, "text": [f"ligne {item}"] * rows})
    return fn


def _record_batches(rows: int):
    def fn(item):
        return pa.record_batch({"item": [item] * rows, "amount": [f"{item}.50"] * rows})
    return fn


@pytest.fixture
def spool_base(monkeypatch, tmp_path):
    """The temporary folder the parent makes its spool in (tempfile's), and what it unspools."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []
    real = parallel._unspooled
    monkeypatch.setattr(parallel, "_unspooled", lambda value: seen.append(type(value).__name__) or real(value))
    return tmp_path, seen


def test_tables_come_back_through_files_of_a_spool_removed_at_the_end(spool_base):
    base, seen = spool_base
    got = list(parallel.ordered_map(_tables, (1000,), range(6), 2))
    assert [(t.num_rows, t.column("item")[0].as_py(), t.column("text")[999].as_py()) for t in got] == [
        (1000, i, f"ligne {i}") for i in range(6)]
    assert seen == ["Spooled"] * 6  # written by the workers to files, not sent through the pipe
    assert list(base.iterdir()) == []  # the spool and its files removed
    # other answers still come through the pipe
    assert list(parallel.ordered_map(_pid_of, (1,), range(3), 2))[0][0] == 1


def test_record_batches_come_back_through_files_too(spool_base):
    # `batch`'s workers answer record batches: through the pipe, those waiting their turn were
    # held unpickled in the parent, whose memory then grew with the chunks' length
    base, seen = spool_base
    got = list(parallel.ordered_map(_record_batches, (500,), range(4), 2))
    assert [type(b).__name__ for b in got] == ["RecordBatch"] * 4
    assert [(b.num_rows, b.column("item")[0].as_py(), b.column("amount")[499].as_py()) for b in got] == [
        (500, i, f"{i}.50") for i in range(4)]
    assert seen == ["Spooled"] * 4
    assert list(base.iterdir()) == []


def test_a_failed_run_removes_its_spool_and_a_dead_run_s_spool_is_removed_by_the_next(spool_base):
    import fcntl
    import time
    base, _ = spool_base
    dead = base / "millesime-spool-4242-x1"  # a run killed outright: its lock file held by nobody
    dead.mkdir()
    (dead / ".lock").write_bytes(b"")
    (dead / "1-1.arrow").write_bytes(b"left by a killed run")
    alive = base / "millesime-spool-4242-x2"  # a run still going (in another container, say: same number)
    alive.mkdir()
    held = os.open(alive / ".lock", os.O_WRONLY | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    starting = base / "millesime-spool-4242-x3"  # a run between making its folder and its lock file
    starting.mkdir()
    old = base / "millesime-spool-4242-x4"  # no lock file for two days: a leftover
    old.mkdir()
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    try:
        with pytest.raises(MillesimeError, match="la ligne 3 ne se calcule pas"):
            list(parallel.ordered_map(_tables, (100, 3), range(8), 2))
        assert sorted(p.name for p in base.iterdir()) == [alive.name, starting.name]
    finally:
        os.close(held)
    assert multiprocessing.active_children() == []


def _tables_losing_their_spool(rows: int):
    def fn(item):
        if item == 2:  # the folder removed under the run (a cleaner, a full disk): the answer cannot be written
            spool = parallel._STATE["spool"]
            while os.path.exists(spool):  # the parent may remove an answer meanwhile, the other worker add one
                shutil.rmtree(spool, ignore_errors=True)
        return pa.table({"item": [item] * rows})
    return fn


def test_a_spool_that_cannot_be_written_is_said_in_french_and_nothing_is_left(spool_base):
    base, _ = spool_base
    with pytest.raises(parallel.SpoolError) as raised:
        list(parallel.ordered_map(_tables_losing_their_spool, (10,), range(6), 2))
    message = str(raised.value)
    assert message.startswith(str(base / "millesime-spool-"))
    assert "le dossier temporaire des résultats des processus de calcul ne peut être écrit (il n'existe pas)" in message
    assert message.endswith("donnez un autre dossier par la variable TMPDIR, ou relancez avec --jobs 1")
    assert list(base.iterdir()) == [] and multiprocessing.active_children() == []


def test_a_temporary_folder_that_is_no_folder_is_said_before_any_worker_starts(monkeypatch, tmp_path):
    import tempfile
    not_a_folder = tmp_path / "fichier"
    not_a_folder.write_text("", encoding="utf-8")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    with pytest.raises(parallel.SpoolError, match=r"fichier : le dossier temporaire des résultats des processus "
                                                  r"de calcul ne peut être écrit \(un élément du chemin n'est pas un dossier\)"):
        list(parallel.ordered_map(_tables, (10,), range(3), 2))
    assert multiprocessing.active_children() == []


def test_a_ruleset_changed_after_reading_is_refused_by_the_workers(tmp_path, population, small_chunks):
    folder = tmp_path / "rulesets"
    shutil.copytree(shipped_rulesets_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    registry = Registry.load(folder)
    first = sorted(folder.glob("*.mil"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    with pytest.raises(MillesimeError, match=f"{first.name} : ce fichier de règles a changé pendant le démarrage"):
        B.run_file(population, R.ON, tmp_path / "out.parquet", registry, progress=False, jobs=2)
    assert not (tmp_path / "out.parquet").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    assert multiprocessing.active_children() == []


def test_chunks_are_as_long_as_allowed_and_shared_evenly_by_the_workers():
    # 120 000 rows, 2 workers, at most 32 768 rows a chunk: 4 chunks, 2 each, of 30 000 rows and 2 %
    # (an estimate a little short adds no fifth chunk); one process: as few chunks as allowed, of
    # one length; never longer than allowed
    assert parallel.chunk_rows(32768, 2, 120_000) == 30_600
    assert parallel.chunk_rows(32768, 1, 40_000) == 20_400 and parallel.chunk_rows(32768, 1, 32_000) == 32_640
    assert parallel.chunk_rows(32768, 2, 20_000) == 10_200
    assert parallel.chunk_rows(32768, 3, 200_000) == 22_667  # 9 chunks: 3 for each worker
    assert parallel.chunk_rows(100, 1, 1_000_000) == 100 and parallel.chunk_rows(1, 2, 10) == 1
    # never under a quarter of the allowed length: an estimate far too low costs 4 times the chunks at most
    assert parallel.chunk_rows(32768, 2, 380) == 8192
    # the rows not known: as many as allowed, half as many for several workers
    assert parallel.chunk_rows(32768, 1) == 32768 and parallel.chunk_rows(32768, 4) == 16384
    assert parallel.chunk_rows(1, 2) == 1


def test_auto_jobs_only_for_large_files_and_as_many_as_memory_holds(monkeypatch):
    assert parallel.auto_jobs(1 << 20) == 1
    monkeypatch.setattr(parallel, "_cores", lambda: 6)
    monkeypatch.setattr(parallel, "_memory", lambda: 64 << 30)
    assert parallel.auto_jobs(parallel.AUTO_MIN_BYTES) == 6
    monkeypatch.setattr(parallel, "_cores", lambda: 32)
    assert parallel.auto_jobs(parallel.AUTO_MIN_BYTES) == parallel.AUTO_MAX_JOBS
    monkeypatch.setattr(parallel, "_memory", lambda: 3 * parallel.WORKER_BYTES + 1)
    assert parallel.auto_jobs(parallel.AUTO_MIN_BYTES) == 3
    monkeypatch.setattr(parallel, "_memory", lambda: parallel.WORKER_BYTES // 2)
    assert parallel.auto_jobs(parallel.AUTO_MIN_BYTES) == 1
    monkeypatch.undo()
    assert parallel._memory() > 0
    in_memory = Registry.load()
    in_memory.recipe = None  # built from texts, say: nothing a worker could read again
    assert parallel.usable_jobs([in_memory], 4) == 1


def test_the_cli_takes_jobs_and_says_a_changed_ruleset_in_french(tmp_path, population):
    from click.testing import CliRunner

    from engine.cli import main
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["batch", str(population), "--on", R.ON.isoformat(), "--out", str(out),
                                       "--jobs", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("\n") == 601
    result = CliRunner().invoke(main, ["batch", str(population), "--on", R.ON.isoformat(), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


def test_a_changed_ruleset_error_crosses_the_process_boundary_as_itself():
    from engine.registry import RulesetsChanged
    with pytest.raises(RulesetsChanged) as caught:
        list(parallel.ordered_map(_changed, (), range(3), 2))
    assert type(caught.value) is RulesetsChanged and "relancez-le" in str(caught.value)


def _changed():
    from engine.registry import RulesetsChanged
    raise RulesetsChanged("cas.mil : ce fichier de règles a changé pendant le démarrage du calcul ; relancez-le")


TERM_DRIVER = r'''
import sys
from engine import batch
from engine.cli import main

real = batch._Writer.write
def write(self, columns):
    real(self, columns)
    if self.target.name == "out.csv":
        self.handle.flush()
        print("halfway", flush=True)  # the test looks at the workers and sends its signal now
        sys.stdin.read()                # and this waits for it
batch._Writer.write = write
batch.CHUNK = 4000  # chunks of 2 000 rows with two workers: each answer a large message
main(["batch", sys.argv[1], "--on", sys.argv[3], "--out", sys.argv[2], "--no-progress", "--jobs", "2"])
'''


def _workers(pid: int) -> list[int]:
    """The pool's worker processes among `pid`'s children (not multiprocessing's resource tracker)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing" in command and b"resource_tracker" not in command:
                out.append(int(child))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def larger_population(tmp_path_factory):
    """12 000 physicians: chunks of 2 000 rows, whose answers are messages larger than a pipe holds."""
    import csv
    path = tmp_path_factory.mktemp("larger") / "physicians.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=R.COLUMNS)
        writer.writeheader()
        for row in R.rows(12_000, seed=78):
            writer.writerow({c: row.get(c) or "" for c in R.COLUMNS})
    return path


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_a_terminated_run_with_workers_stops_them_and_leaves_no_file(tmp_path, larger_population):
    # (killing a worker while it sent its answer left the pool's thread waiting for ever: the run
    # never ended; the workers now finish their chunk)
    import signal
    import subprocess
    import time
    out = tmp_path / "out.csv"
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen([sys.executable, "-c", TERM_DRIVER, str(larger_population), str(out), R.ON.isoformat()],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    try:
        assert proc.stdout.readline() == "halfway\n"  # a first chunk came back from a worker
        workers = _workers(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert stderr == "interrompu (SIGTERM) : aucun fichier de résultats écrit\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    deadline = time.monotonic() + 30  # the parent ended them before exiting: they are gone, or going
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)


def test_workers_evaluate_under_the_runs_assumptions(tmp_path, population, small_chunks):
    from engine.unknowns import load_assumptions
    hypotheses = tmp_path / "lectures.mil"
    hypotheses.write_text('hypotheses "Lectures retenues"\n'
                          'assume combined_rate reading mean because "comparaison"\n', encoding="utf-8")
    registry = Registry.load().with_assumptions(load_assumptions([hypotheses], official_only=True))
    plain = B.run_file(population, R.ON, tmp_path / "plain.csv", Registry.load(), progress=False, jobs=1)
    one = B.run_file(population, R.ON, tmp_path / "one.csv", registry, progress=False, jobs=1)
    two = B.run_file(population, R.ON, tmp_path / "two.csv", registry, progress=False, jobs=2)
    assert (one.rows, two.rows, plain.rows) == (600, 600, 600)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    # and the assumptions change what is computed: the workers did not fall back to the plain rulesets
    assert (tmp_path / "plain.csv").read_bytes() != (tmp_path / "two.csv").read_bytes()
