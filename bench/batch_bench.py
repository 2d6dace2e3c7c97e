"""`millesime batch` and `millesime compare` on a realistic population, against pyarrow's own
CSV → Parquet (the ceiling of any tool reading that file), in one run on the same file.

    .venv/bin/python bench/batch_bench.py [--rows 1000000] [--small 100000] [--compare 120000] [--keep DIR]

Prints, for the default outputs of `millesime batch` (CSV in, typed Parquet out): rows/s and peak
RSS of the process at `--small` rows and at `--rows` rows (the first rows of the same file);
pyarrow's read-CSV-write-Parquet time on the big file (the best of three) and the ratio; the floor
of the default outputs (pyarrow reading the same CSV and writing `batch`'s own result table,
already computed — no evaluation at all) and its share of the ceiling; then
`millesime compare` of a reform (bench/reform_2027.mil) on `--compare` physicians over the five
calendar years 2026..2030.
Each command runs in its own process (`os.wait4` gives its peak RSS: the largest of the process
and of its worker processes, not their sum). `batch` on the big file and `compare` run twice: with
the default `--jobs` (one worker process per core for a file of 8 MiB or more) and with `--jobs 1`
(one process). Not run by the tests.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import realistic as R  # noqa: E402

MILLESIME = [sys.executable, "-m", "engine.cli"]


def run(command: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS in MiB, exit status) of a command run in its own process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    err = process.stderr.read().decode()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{err}")
    return seconds, usage.ru_maxrss // 1024, process.returncode


def head(source: Path, target: Path, rows: int) -> None:
    with open(source, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i > rows:
                break
            out.write(line)


def pyarrow_ceiling(path: Path, out: Path) -> float:
    """pyarrow alone: the CSV read (every column as text, as Millésime reads it) and written to Parquet."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    start = time.perf_counter()
    names = path.open(encoding="utf-8").readline().strip().split(",")
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
    pq.write_table(table, out)
    return time.perf_counter() - start


CHEAPEST = dict(compression="none", use_dictionary=False, write_statistics=False)


def outputs_floor(path: Path, results: Path, out: Path, **options) -> float:
    """pyarrow alone again, with no evaluation: the CSV read as in `pyarrow_ceiling`, then
    `batch`'s own result table (read back from `results`, untimed) written to Parquet as
    engine/io/writers.py writes it (one ParquetWriter, default options unless `options` — the
    ceiling's own — row groups as `batch` wrote them). No tool that writes the default outputs
    this way can run faster; with `CHEAPEST` (nothing compressed, no dictionaries, no statistics),
    what is left is writing them at all."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    source = pq.ParquetFile(results)
    groups = [source.read_row_group(i) for i in range(source.num_row_groups)]
    start = time.perf_counter()
    names = path.open(encoding="utf-8").readline().strip().split(",")
    pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
    with pq.ParquetWriter(out, source.schema_arrow, **options) as writer:
        for group in groups:
            writer.write_table(group)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--compare", type=int, default=120_000)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the files (a temporary one by default)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="millesime-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    big = folder / f"physicians-{args.rows}.csv"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    if not big.exists():
        start = time.perf_counter()
        R.write_csv(big, args.rows, seed=2026)
        print(f"population: {args.rows} rows written in {time.perf_counter() - start:.1f} s "
              f"({big.stat().st_size / 2**20:.0f} MiB), bench/realistic.py seed 2026")
    small = folder / f"physicians-{args.small}.csv"
    head(big, small, args.small)
    on = R.ON.isoformat()
    results = {}
    for rows, path in ((args.small, small), (args.rows, big)):
        out = folder / f"results-{rows}.parquet"
        seconds, rss, status = run(MILLESIME + ["batch", str(path), "--on", on, "--out", str(out), "--no-progress"])
        results[rows] = (seconds, rss)
        print(f"millesime batch, default outputs, {rows} rows: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, "
              f"peak RSS {rss} MiB (exit {status})")
    from engine import parallel
    jobs = parallel.auto_jobs(big.stat().st_size)
    print(f"  (default --jobs on {big.stat().st_size / 2**20:.0f} MiB here: {jobs} worker process(es))")
    out = folder / f"results-{args.rows}-one.parquet"
    seconds, rss, status = run(MILLESIME + ["batch", str(big), "--on", on, "--out", str(out), "--no-progress",
                                            "--jobs", "1"])
    print(f"millesime batch --jobs 1, default outputs, {args.rows} rows: {seconds:.1f} s, "
          f"{args.rows / seconds:,.0f} rows/s, peak RSS {rss} MiB (exit {status})")
    one_rate = args.rows / seconds
    population = folder / f"physicians-{args.compare}.csv"
    head(big, population, args.compare)
    for extra in ([], ["--jobs", "1"]):
        seconds, rss, status = run(MILLESIME + ["compare", str(population), "--reform", str(HERE / "reform_2027.mil"),
                                                "--years", "2026..2030", "--by", "specialty",
                                                "--out", str(folder / "compare")] + extra)
        print(f"millesime compare{' ' + ' '.join(extra) if extra else ''}, {args.compare} physicians × 5 calendar "
              f"years (2026..2030): {seconds:.1f} s, peak RSS {rss} MiB (exit {status})")
    # pyarrow's reads last: they load whole tables into this process, whose peak memory its
    # children's figures (os.wait4) would otherwise start from
    # the best of three: the first read in a process also starts Arrow's CSV reader and thread pool
    # (0.2 s against 0.6 s seen), and a ceiling is the fastest the file can be read and written
    ceiling = min(pyarrow_ceiling(big, folder / "pyarrow.parquet") for _ in range(3))
    batch_rate = args.rows / results[args.rows][0]
    print(f"pyarrow CSV → Parquet, {args.rows} rows: {ceiling:.2f} s, {args.rows / ceiling:,.0f} rows/s "
          f"(the ceiling, best of 3); millesime batch at {batch_rate / (args.rows / ceiling):.2%} of it "
          f"({one_rate / (args.rows / ceiling):.2%} with --jobs 1)")
    floor = min(outputs_floor(big, folder / f"results-{args.rows}.parquet", folder / "floor.parquet")
                for _ in range(3))
    print(f"pyarrow CSV read + writing batch's default outputs (already computed, no evaluation), {args.rows} "
          f"rows: {floor:.2f} s, {args.rows / floor:,.0f} rows/s (the floor of the default outputs, best of 3) "
          f"= {ceiling / floor:.1%} of the ceiling; millesime batch at {batch_rate / (args.rows / floor):.1%} "
          f"of this floor")
    cheapest = min(outputs_floor(big, folder / f"results-{args.rows}.parquet", folder / "floor.parquet", **CHEAPEST)
                   for _ in range(3))
    print(f"the same with the cheapest writer settings (no compression, no dictionaries, no statistics): "
          f"{cheapest:.2f} s = {ceiling / cheapest:.1%} of the ceiling")
    print(f"peak RSS {args.rows} rows / {args.small} rows: {results[args.rows][1] / results[args.small][1]:.2f}")

if __name__ == "__main__":
    main()
