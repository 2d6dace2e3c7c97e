"""`millesime compare`: a population file in, a folder of results out (rows, summary, report).

The population is read as `millesime batch` reads it (CSV cells as text, Parquet, JSON Lines),
chunk by chunk; each chunk is compared (engine/compare.py) and its rows written to
`rows.parquet`; the summary is accumulated. The three files are written to hidden temporaries
in the folder and renamed at the end: an interruption or an error leaves none of them, and no
temporary (engine/io/writers.py).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .compare import CompareError, Period, Summary, compare_rows
from .flat import ROW
from .io.readers import BAD, ReadAgain, estimate_rows, file_format, read_columns, read_rows
from .io.writers import Writer, sweep
from .registry import Registry

CHUNK = 1 << 15
FILES = ("rows.parquet", "summary.json", "report.html")


def period_of(on: dt.date | None, years: str | None, registries: list[Registry]) -> Period:
    if on is not None:
        return Period.at(on, registries)
    return Period.parse_years(years)


def run(path: Path, baseline: Registry, reform: Registry, on: dt.date | None, years: str | None,
        weight: str | None, by: list[str], out: Path, engine: str = "auto", jobs: int | None = None) -> dict:
    """Compare the population of `path` into the folder `out`; return the summary. `jobs`: worker
    processes comparing the chunks (engine/parallel.py; None: one per core for a large file)."""
    import importlib
    importlib.import_module("pyarrow.parquet")  # a missing pyarrow is said before anything is written
    period = period_of(on, years, [baseline, reform])
    path, out = Path(path), Path(out)
    if out.exists() and not out.is_dir():
        raise CompareError(f"--out {out} : ce n'est pas un dossier")
    from .batch import _signals_as_interrupt
    with _signals_as_interrupt():  # SIGTERM and SIGHUP as Ctrl-C: the temporaries are removed on the way out
        return _run(path, baseline, reform, period, weight, by, out, engine, jobs)


def _comparer(baseline, reform, period: Period, weight: str | None, engine: str, by: tuple):
    """The function of one table `_run` applies (built once per worker process)."""
    from .parallel import resolve
    baseline, reform = resolve(baseline), resolve(reform)

    def compare(table):
        return compare_rows(table, baseline, reform, period, weight, engine, by)
    return compare


def _run(path: Path, baseline: Registry, reform: Registry, period: Period, weight: str | None, by: list[str],
         out: Path, engine: str, jobs: int | None = None) -> dict:
    from . import memory, parallel, report_html
    memory.tune()  # before the first column is read (engine/memory.py)
    names, _, chunks = read_rows(path, CHUNK)
    chunks.close()
    summary = Summary(period, weight, by)
    summary.check_columns([n for n in names if n != ROW])
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        sweep(out / name)
    writers: list[Writer] = []
    try:
        rows_writer = None
        if jobs is None:
            jobs = parallel.auto_jobs(path.stat().st_size)
        jobs = parallel.usable_jobs([baseline, reform], jobs)
        args = (parallel.portable(baseline, jobs), parallel.portable(reform, jobs), period, weight, engine, tuple(by))
        tables = _tables(path, names, _known(baseline, period, weight, by),
                         parallel.chunk_rows(CHUNK, jobs, estimate_rows(path)))
        for rows in parallel.ordered_map(_comparer, args, tables, jobs):
            if rows_writer is None:
                rows_writer = Writer(out / "rows.parquet", "parquet", rows.column_names, schema=rows.schema)
                writers.append(rows_writer)
            rows_writer.write({c: rows.column(c) for c in rows.column_names})
            summary.add(rows)
            del rows
            memory.give_back()  # what writing the chunk freed (engine/memory.py), before the next one
        if rows_writer is None:
            raise CompareError(f"{path} : la population ne compte aucune ligne")
        result = summary.as_json()
        result["baseline"] = _describe(baseline)
        result["reform"] = _describe(reform)
        text = Writer(out / "summary.json", "text", [])
        writers.append(text)
        text.handle.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        page = Writer(out / "report.html", "text", [])
        writers.append(page)
        page.handle.write(report_html.render(result))
        for writer in writers:
            writer.commit()
    except BaseException:
        for writer in writers:
            writer.discard()
        raise
    return result


def _known(registry: Registry, period: Period, weight: str | None, by: list[str]) -> list[str]:
    from .flat import FlatSchema
    flat = list(FlatSchema.of(registry.in_force(period.last_day).model).columns)
    return flat + [c for c in [weight, *by] if c is not None and c not in flat]


def _describe(registry: Registry) -> dict:
    timeline = registry.timeline()
    return {"reforms": list(registry.reforms),
            "timeline": [{"id": m.id, "from": m.effective_from.isoformat() if m.effective_from else None,
                          "until": m.effective_until.isoformat() if m.effective_until else None,
                          "title": m.header.title} for m in timeline]}


def _tables(path: Path, names: list[str], known: list[str], chunk: int = CHUNK):
    """The population as Arrow tables of at most CHUNK rows (cells of a CSV as text). Read row by row
    (JSON Lines, or a CSV Arrow's reader refuses), every cell becomes text and the columns are
    `names`, then those of `known` (a case's columns, the --weight and --by ones) the first line did
    not name: the same in every table, a key of a later line filled where given."""
    import pyarrow as pa
    from .batch import _text
    done = 0
    columns = read_columns(path, names, chunk)
    if columns is not None:
        try:
            for record_batch in columns:
                done += record_batch.num_rows
                yield pa.Table.from_batches([record_batch])
            return
        except ReadAgain:
            pass  # read again row by row, after the rows already compared
        finally:
            columns.close()
    # a CSV's header names every column (as Arrow's tables had them); a JSON line may add keys
    every = list(names) + ([c for c in known if c not in names] if file_format(path) == "jsonl" else [])
    allowed = set(every)
    _, _, chunks = read_rows(path, CHUNK)
    try:
        number = 0
        for chunk in chunks:
            rows = []
            for row in chunk:
                number += 1
                if BAD in row:
                    field, reason = row[BAD][0]
                    raise CompareError(f"{path} : ligne illisible ({reason}" + (f", colonne « {field} »" if field
                                       else "") + ") ; « millesime batch » donne chacune de ces lignes")
                unknown = [k for k in row if k not in allowed]
                if unknown:
                    raise CompareError(f"{path} : la ligne {number} donne la colonne inconnue « {unknown[0]} »")
                if number > done:  # every cell as text, as a CSV's (numbers and dates exactly, JSON for the rest)
                    rows.append({c: _text(row.get(c)) for c in every})
            if rows:
                yield pa.Table.from_pylist(rows, schema=pa.schema([pa.field(c, pa.string()) for c in every]))
    finally:
        chunks.close()
