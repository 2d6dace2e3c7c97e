"""CPU time of `compare_rows` on the realistic population cut into chunks of several lengths: the
fixed part of an evaluation per chunk, and the comparison of two trees side by side.

    .venv/bin/python bench/compare_chunks.py [--rows 32768] [--file F.csv] 32768 16384 8192

For each length given, the best of two runs of `compare_rows` (bench/reform_2027.mil against the
shipped rulesets, 2026..2030) over the first `--rows` rows of the file (bench/realistic.py, seed
2026, written to a temporary file when `--file` is not given), in chunks of that length. Run it
from two trees at the same time, one per core (bench/side_by_side.sh): the host's drift then
touches both alike. Not run by the tests.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lengths", type=int, nargs="+")
    parser.add_argument("--rows", type=int, default=32768)
    parser.add_argument("--file", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import realistic as R
    from engine import compare
    from engine.registry import Registry
    path = args.file
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="millesime-chunks-")) / "population.csv"
        R.write_csv(path, args.rows, seed=2026)
    names = path.open(encoding="utf-8").readline().strip().split(",")
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
    baseline, reform = Registry.load(), Registry.load(reform=HERE / "reform_2027.mil")
    period = compare.Period.years(2026, 2030)
    compare.compare_rows(table.slice(0, 1000), baseline, reform, period)  # warm-up
    for length in args.lengths:
        best = float("inf")
        for _ in range(2):
            start = time.process_time()
            for first in range(0, args.rows, length):
                compare.compare_rows(table.slice(first, min(length, args.rows - first)), baseline, reform, period)
            best = min(best, time.process_time() - start)
        print(f"chunks of {length} rows: {best:.2f} s of CPU for {args.rows} rows", flush=True)


if __name__ == "__main__":
    main()
