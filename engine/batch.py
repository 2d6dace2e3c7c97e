"""Many cases at once: flat files (CSV, JSON Lines, Parquet) and Arrow tables / Polars frames.

A case of the public schema is flattened into columns, one row per case:

- the fields of the `physician` group lose their prefix: `physician.sector` → `sector`;
- every other nested field joins its path with `_`: `contract.signed_on` → `contract_signed_on`;
- a map, list, set or record field (`contract.observed`) is one column holding JSON text,
  e.g. `{"3": {"patients_mt": 900, "file_active": 1500}}` (a native Arrow map/struct/list
  column is accepted too);
- an empty cell (or null) leaves the field out; an optional group (`contract`) is present
  when at least one of its columns is filled.

Each row is validated by the same pydantic schema as `millesime eval`, so a bad row gets the
same message, named by its column; it is reported (row number, column, reason) and the other
rows are still computed. Rows are evaluated through the explanation-free fast path, reading
and writing stream chunk by chunk, so memory stays flat whatever the number of rows.

Outputs are typed in Parquet and in the Arrow / Polars API (engine/typed.py: money as
decimal128, dates, enumerations as dictionaries, lists of structs, a value not established
null beside its reason and bounds); CSV and JSON Lines keep the JSON form of `millesime eval
--json` as text: money "21000.00", booleans true/false, lists and records as JSON text, "not
established" as {"not_established": …}.

    evaluate_table(table, on)      # pyarrow.Table or polars.DataFrame → the same type
    evaluate_batches(batches, on)  # iterator of pyarrow.RecordBatch → iterator (Spark mapInArrow)
    run_file(input, on, out)       # the `millesime batch` command

Reading and writing the files themselves is engine/io/ (readers.py, writers.py).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

from . import french, memory, parallel, typed as TY, values as V
from .case import CaseError
from .flat import ROW, FlatSchema
from .interpreter import evaluate
from .io import BatchError
from .io.readers import BAD, ReadAgain, estimate_rows, file_format, read_columns, read_rows, twice, widen_floats
from .io.writers import Writer as _Writer, sweep
from .plan import outputs_hint, unknown_outputs
from .registry import Registry
from .values import EvaluationError

ERROR = "error"              # evaluate_table: the reasons a row could not be computed, else null
CHUNK = 25_600               # rows read, evaluated and written at a time (memory stays flat): a
# process's peak is that of one chunk, never longer than this; `parallel.chunk_rows` shares a file
# evenly between the workers, so that 100 000 rows and 1 000 000 both get chunks of ≈ 25 500 rows
# and one peak (bench/RESULTS.md; with 32 768, a million rows got chunks 25 % longer)
ENGINES = ("auto", "vector", "row")  # engine/vector/ (columns at once) or the row engine
VECTOR_MIN_ROWS = 64         # `auto`: a smaller chunk costs less row by row than set up as columns
VECTOR_CHUNK = 1 << 18       # evaluate_table: rows evaluated as columns at a time


# ---------------------------------------------------------------- evaluating rows

@dataclass
class Batch:
    """A prepared batch run: one ruleset in force, its flat schema and the outputs."""
    registry: Registry
    on: dt.date
    outputs: list[str]
    schema: FlatSchema
    types: dict = field(default_factory=dict)  # output → its declared type (dsl.types.Type)
    enums: dict = field(default_factory=dict)  # enumeration → its members, in order
    errors: int = 0
    done: int = 0

    @classmethod
    def prepare(cls, on: dt.date, registry: Registry | None = None, outputs: list[str] | None = None) -> "Batch":
        if registry is None:
            from . import shipped_registry
            registry = shipped_registry()
        entry = registry.in_force(on)
        model = entry.model
        names = list(outputs or model.outputs)
        unknown = [n for n in names if model.value_declaration(n)[0] is None]
        if unknown:
            raise BatchError(f"{unknown_outputs(model, unknown)} ; {outputs_hint(model, unknown)}")
        types = {name: t for name, _, t in entry.plan.output_slots(tuple(names))}
        enums = {name: [m.name for m in decl.members] for name, decl in model.enums.items()}
        return cls(registry, on, names, FlatSchema.of(model), types, enums)

    def typed(self, name: str) -> "TY.Columns":
        """The typed columns of output `name` (engine/typed.py)."""
        cache = self.__dict__.setdefault("_typed", {})
        if name not in cache:
            cache[name] = TY.Columns(name, self.types[name], self.enums)
        return cache[name]

    def output_fields(self, typed: bool) -> list:
        """The Arrow fields of the outputs: typed (each with its not-established columns), or text."""
        import pyarrow as pa
        if typed:
            return [f for name in self.outputs for f in self.typed(name).fields]
        return [pa.field(name, pa.string()) for name in self.outputs]

    def output_arrays(self, values: dict[str, list], typed: bool) -> list:
        """Arrays for `output_fields`, from each output's JSON-form values (one per row)."""
        return [a for name in self.outputs for a in self.arrays_of(name, values[name], typed)]

    def arrays_of(self, name: str, values: list, typed: bool) -> list:
        import pyarrow as pa
        if typed:
            return self.typed(name).arrays(values)
        return [pa.array([cell(v) for v in values], pa.string())]

    def row(self, row: dict) -> tuple[dict | None, list[tuple[str, str]]]:
        """(output name → JSON-form value, []) or (None, [(column, reason), …])."""
        case, unreadable = self.schema.case(row)
        try:
            result = evaluate(case, self.on, self.registry, self.outputs, explain=False)
        except CaseError as exc:
            seen = {name for name, _ in unreadable}
            return None, unreadable + [p for p in map(self._problem, exc.problems) if p[0] not in seen]
        except EvaluationError as exc:
            return None, unreadable or [(exc.rule or "", " ".join(exc.render().split()))]
        if unreadable:
            return None, unreadable
        return result.json_values(), []

    def _problem(self, text: str) -> tuple[str, str]:
        path, sep, reason = text.partition(": ")
        if not sep:
            return "", text
        name = self.schema.field(path)
        if name != path:
            reason = reason if path == self.schema.columns[name].path else f"{path}: {reason}"
        return name, reason


cell = V.text_cell  # an output value (already in JSON form) as one text cell


# ---------------------------------------------------------------- Arrow / Polars API

def evaluate_table(table, on: dt.date, registry: Registry | None = None, outputs: list[str] | None = None,
                   engine: str = "auto", typed: bool = True):
    """Evaluate every row of a pyarrow.Table or polars.DataFrame; return the same type with the
    columns of each output and an `error` column (null, or the row's reasons as JSON text).

    `typed` (default): each output under its declared type, with its not-established columns
    (engine/typed.py, docs/batch.md); `typed=False`: one text column per output, the JSON form
    of `millesime eval --json` (what a CSV result holds).

    `engine`: "vector" computes whole columns at once (engine/vector/) and hands the rows it
    does not reproduce back to the row engine; "row" evaluates row by row; "auto" (default)
    takes the vector back-end when every output is a scalar and numpy is installed. The
    results are the same whichever engine runs.

    Same length and order as the input, pure function of its arguments: it runs unchanged
    as the function of Dask `map_partitions` (through Polars/Arrow) or Spark `mapInArrow`
    (see `evaluate_batches` and docs/batch.md)."""
    import pyarrow as pa
    polars = _polars_module(table)
    arrow = table.to_arrow() if polars is not None else table
    if not isinstance(arrow, pa.Table):
        raise TypeError(f"evaluate_table prend un pyarrow.Table ou un polars.DataFrame, pas un {type(table).__name__}")
    batch = Batch.prepare(on, registry, outputs)
    vector = _use_vector(batch, engine)
    if vector and arrow.num_rows:
        record_batches = arrow.combine_chunks().to_batches(max_chunksize=VECTOR_CHUNK)
    else:
        record_batches = arrow.to_batches()
    out = pa.Table.from_batches(list(_evaluate_record_batches(record_batches, batch, engine if vector else "row",
                                                              typed)),
                                schema=output_schema(arrow.schema, on, registry, outputs, batch, typed))
    return polars.from_arrow(out) if polars is not None else out


def evaluate_batches(batches: Iterable, on: dt.date, registry: Registry | None = None,
                     outputs: list[str] | None = None, engine: str = "auto", typed: bool = True,
                     dictionaries: bool = True) -> Iterator:
    """Iterator of pyarrow.RecordBatch → iterator of RecordBatch (the shape of Spark's mapInArrow).
    `dictionaries=False`: enumerations as plain strings (Spark reads no dictionary column)."""
    batch = Batch.prepare(on, registry, outputs)
    evaluated = _evaluate_record_batches(batches, batch, engine if _use_vector(batch, engine) else "row", typed)
    if dictionaries:
        yield from evaluated
        return
    for record_batch in evaluated:
        yield record_batch.cast(plain_strings(record_batch.schema))


def output_schema(input_schema, on: dt.date, registry: Registry | None = None, outputs: list[str] | None = None,
                  batch: Batch | None = None, typed: bool = True, dictionaries: bool = True):
    """The Arrow schema `evaluate_table`/`evaluate_batches` return: the input's, the outputs'
    columns (typed, or text) and `error`."""
    import pyarrow as pa
    batch = batch or Batch.prepare(on, registry, outputs)
    schema = input_schema
    for f in batch.output_fields(typed) + [pa.field(ERROR, pa.string())]:
        schema = schema.append(f)
    return schema if dictionaries else plain_strings(schema)


def plain_strings(schema):
    """`schema` with every dictionary type (at any depth) replaced by its value type."""
    import pyarrow as pa

    def plain(t):
        if pa.types.is_dictionary(t):
            return plain(t.value_type)
        if pa.types.is_list(t):
            return pa.list_(plain(t.value_type))
        if pa.types.is_large_list(t):
            return pa.large_list(plain(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, plain(f.type), f.nullable) for f in t])
        return t
    return pa.schema([pa.field(f.name, plain(f.type), f.nullable) for f in schema], metadata=schema.metadata)


def _use_vector(batch: Batch, engine: str) -> bool:
    """Whether to run the vector back-end: `vector` always (it hands back what it does not
    compute, so any output is right), `auto` when every output is a scalar."""
    if engine not in ENGINES:
        raise BatchError(f"moteur inconnu « {engine} » ; moteurs : " + french.listed(ENGINES, "ou"))
    if engine == "row":
        return False
    try:
        from . import vector
    except ImportError as exc:
        if engine == "vector":
            raise BatchError(f"le moteur vector a besoin de {exc.name}, qui n'est pas installé ; il fait partie de "
                             "l'option « vector » de Millésime : pip install 'millesime[vector]'") from None
        return False
    return engine == "vector" or vector.supported_outputs(batch.registry, batch.on, batch.outputs)


def _vector_chunk(batch: Batch, engine: str, rows: int) -> bool:
    return engine == "vector" or (engine == "auto" and rows >= VECTOR_MIN_ROWS)


def _evaluate_record_batches(batches: Iterable, batch: Batch, engine: str = "row", typed: bool = True) -> Iterator:
    import pyarrow as pa
    checked = False
    for record_batch in batches:
        if not checked:
            names = record_batch.schema.names
            batch.schema.check_columns(names)
            if len(set(names)) != len(names):
                raise BatchError(" ; ".join(reason for _, reason in twice(names, "la table")))
            checked = True
        readable = widen_floats(record_batch)  # what is read; the input columns are returned as they are
        if _vector_chunk(batch, engine, record_batch.num_rows):
            yield _vector_record_batch(record_batch, batch, readable, typed)
            continue
        values: dict[str, list] = {name: [] for name in batch.outputs}
        errors = []
        for row in readable.to_pylist():
            computed, problems = batch.row(row)
            for name in batch.outputs:
                values[name].append(computed[name] if computed is not None else None)
            errors.append(json.dumps([{"field": f, "reason": r} for f, r in problems], ensure_ascii=False)
                          if problems else None)
        arrays = list(record_batch.columns) + batch.output_arrays(values, typed) + [pa.array(errors, pa.string())]
        names = list(record_batch.schema.names) + [f.name for f in batch.output_fields(typed)] + [ERROR]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


# typed outputs from the vector back-end's columns where engine/vector/typed_columns.py builds them
# (False: every output through its JSON-form cells; the tests compare both ways)
TYPED_FROM_COLUMNS = True


def _vector_record_batch(record_batch, batch: Batch, readable, typed: bool = True):
    """One record batch through the vector back-end (reading `readable`, the same rows with
    float32 columns widened); the rows it hands back through `Batch.row`. Typed outputs are built
    from the columns where engine/vector/typed_columns.py can; every other output is converted
    once per distinct value (typed or text), then spread over the rows."""
    if typed and TYPED_FROM_COLUMNS:
        from .vector.typed_columns import Mismatch
        try:
            return _vector_record_batch_with(record_batch, batch, readable, typed, from_columns=True)
        except Mismatch:  # an enumeration's dictionary the JSON-form path builds otherwise: build it that way
            pass
    return _vector_record_batch_with(record_batch, batch, readable, typed, from_columns=False)


def _vector_record_batch_with(record_batch, batch: Batch, readable, typed: bool, from_columns: bool):
    import pyarrow as pa

    from . import vector
    from .vector.typed_columns import Built, place
    names = list(record_batch.schema.names)
    columns = {name: readable.column(i) for i, name in enumerate(names)}
    out, back = vector.run_columns(batch, columns, record_batch.num_rows, typed=from_columns)
    errors_texts, errors_codes = [None], None
    handed: dict[str, list] = {name: [] for name in batch.outputs}  # JSON-form values of the rows handed back
    if len(back):
        errors_codes = [0] * record_batch.num_rows
        for i, row in zip(back.tolist(), readable.take(pa.array(back)).to_pylist()):
            values, problems = batch.row(row)
            for name in batch.outputs:
                handed[name].append(values[name] if values is not None else None)
                if not isinstance(out[name], Built):
                    texts, codes = out[name]
                    codes[i] = len(texts) + len(handed[name]) - 1
            if problems:
                errors_texts.append(json.dumps([{"field": f, "reason": r} for f, r in problems], ensure_ascii=False))
                errors_codes[i] = len(errors_texts) - 1
    arrays = list(record_batch.columns)
    for name in batch.outputs:
        if isinstance(out[name], Built):  # typed over every row; the rows handed back put in place
            arrays.extend(place(out[name].arrays, back, batch.typed(name).arrays(handed[name])) if len(back)
                          else out[name].arrays)
            continue
        texts, codes = out[name]
        indices = pa.array(codes)
        if typed:
            distinct = [TY.decode_cell(text, batch.types[name]) for text in texts] + handed[name]
            arrays.extend(array.take(indices) for array in batch.typed(name).arrays(distinct))
        else:
            arrays.append(pa.array(texts + [cell(v) for v in handed[name]], pa.string()).take(indices))
    arrays.append(pa.nulls(record_batch.num_rows, pa.string()) if errors_codes is None
                  else pa.array(errors_texts, pa.string()).take(pa.array(errors_codes)))
    return pa.RecordBatch.from_arrays(arrays, names=names + [f.name for f in batch.output_fields(typed)] + [ERROR])


def _vector_rows(batch: Batch, chunk: list[dict]):
    """A chunk of rows (dicts) through the vector back-end: per row, its output cells, or None
    when the row engine must compute it (`Batch.row`)."""
    from . import vector
    known = batch.schema.columns.keys() | {ROW}
    readable = [BAD not in row and row.keys() <= known for row in chunk]  # else Batch.row says why not
    rows = [row for row, ok in zip(chunk, readable) if ok]
    if not rows:
        return [None] * len(chunk)
    columns = {name: [row.get(name) for row in rows] for name in batch.schema.columns}
    out, back = vector.run_columns(batch, columns, len(rows))
    handed = set(back.tolist())
    results, k = [], 0
    for row, ok in zip(chunk, readable):
        if not ok:
            results.append(None)
            continue
        results.append(None if k in handed else {name: out[name][0][out[name][1][k]] for name in batch.outputs})
        k += 1
    return results


def _polars_module(table):
    module = type(table).__module__ or ""
    if module.startswith("polars"):
        import polars
        return polars
    return None


# ---------------------------------------------------------------- files

@dataclass
class Summary:
    rows: int = 0
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0
    out: Path | None = None
    errors_file: Path | None = None
    outputs: list[str] = field(default_factory=list)


def errors_path(out: Path) -> Path:
    return out.with_name(out.name + ".errors.csv")


def default_out(path: Path) -> Path:
    return path.with_name(path.stem + ".results" + path.suffix)


def run_file(path: Path, on: dt.date, out: Path | None = None, registry: Registry | None = None,
             outputs: list[str] | None = None, progress: bool | None = None, engine: str = "auto",
             jobs: int | None = None) -> Summary:
    """Evaluate every row of `path` into `out` (CSV, JSON Lines or Parquet, by its suffix) and
    the bad rows into `<out>.errors.csv` (row, field, reason). Both files appear whole or not
    at all: written to temp files in the same folder, renamed at the end, removed on any
    interruption (KeyboardInterrupt, SIGTERM and SIGHUP included); the temp files a killed run
    left for the same output are removed first. `engine`: see `evaluate_table`.

    A CSV or Parquet file is read as Arrow columns, CHUNK rows at a time (a CSV's cells as
    text, exactly as written), and each chunk evaluated as columns; a CSV that Arrow's reader
    refuses (a row with more or fewer cells than the header, a byte that is not UTF-8…) is read
    again from the start by Python's csv module, which reports each such row by its line. JSON
    Lines are read row by row.

    `jobs`: worker processes evaluating the chunks read as columns (engine/parallel.py), the
    results the same and in the same order; None: one per core for a file of at least
    parallel.AUTO_MIN_BYTES, else none."""
    path = Path(path)
    out = Path(out) if out is not None else default_out(path)
    out_fmt = file_format(out)
    if _same(out, path):
        raise BatchError(f"{out} : le fichier de résultats écraserait l'entrée")
    if _same(errors_path(out), path):
        raise BatchError(f"{errors_path(out)} : le fichier d'erreurs de {out} écraserait l'entrée ; "
                         "renommez l'entrée ou choisissez un autre --out")
    if not out.parent.is_dir():
        raise BatchError(f"{out.parent} : ce dossier n'existe pas")
    batch = Batch.prepare(on, registry, outputs)
    engine = engine if _use_vector(batch, engine) else "row"
    memory.tune()  # before the first column is read (engine/memory.py)
    names, total, chunks = read_rows(path, CHUNK)
    inputs = [n for n in names if n != ROW]
    bar = columns = None
    start = time.perf_counter()
    try:
        batch.schema.check_columns(names)
        with _signals_as_interrupt():
            sweep(out)
            sweep(errors_path(out))
            bar = Progress(total) if (progress if progress is not None else sys.stderr.isatty()) else None
            jobs = _jobs(jobs, path, batch.registry)
            columns = read_columns(path, names, parallel.chunk_rows(CHUNK, jobs, total or estimate_rows(path)))
            if columns is not None:
                chunks.close()
                try:
                    summary = _write(out, out_fmt, _column_chunks(columns, batch, engine, inputs, out_fmt,
                                                                  jobs), batch, inputs, bar)
                except ReadAgain:
                    names, total, chunks = read_rows(path, CHUNK)
                    columns = None
            if columns is None:
                summary = _write(out, out_fmt, _row_chunks(chunks, batch, engine, inputs, out_fmt), batch, inputs,
                                 bar)
    finally:
        chunks.close()
        if columns is not None:
            columns.close()
        if bar is not None:
            bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP during `run_file`: handled as Ctrl-C (KeyboardInterrupt) is."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _signals_as_interrupt():
    """While a run writes, SIGTERM and SIGHUP raise `Terminated` as SIGINT raises
    KeyboardInterrupt, so that the run removes its temporaries on the way out. Only in the main
    thread (where Python runs signal handlers) and for signals still at their default action:
    an application's own handlers are left alone. A second signal does not cut the clean-up
    short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum, frame):
        if not received:
            received.append(signum)
            raise Terminated(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _write(out: Path, out_fmt: str, evaluated: Iterator, batch: Batch, inputs: list[str], bar) -> Summary:
    """Chunks of (result columns, problems, rows read) into `out` and its errors file, both
    committed at the end or discarded."""
    summary = Summary(out=out, errors_file=errors_path(out), outputs=batch.outputs)
    if out_fmt == "parquet":  # typed results (engine/typed.py); the inputs as read
        import pyarrow as pa
        fields = [pa.field(ROW, pa.int64())] + [pa.field(n, pa.string()) for n in inputs] + batch.output_fields(True)
        writer = _Writer(out, out_fmt, [f.name for f in fields], schema=pa.schema(fields))
    else:
        writer = _Writer(out, out_fmt, [ROW] + inputs + batch.outputs)
    errors = None
    try:
        errors = _Writer(summary.errors_file, "csv", [ROW, "field", "reason"])
        for results, problems, failed, rows in evaluated:
            writer.write(results)
            errors.write_rows(problems)
            del results  # the chunk's last reference here (_column_chunks frees it and gives its pages back)
            summary.rows += rows
            summary.failed += failed
            summary.computed += rows - failed
            if bar is not None:
                bar.update(summary.rows)
        if bar is not None:
            bar.update(summary.rows, force=True)
        writer.commit()
        errors.commit()
    except BaseException:
        writer.discard()
        if errors is not None:
            errors.discard()
        raise
    return summary


def _row_chunks(chunks: Iterator[list[dict]], batch: Batch, engine: str, inputs: list[str], out_fmt: str):
    """Rows read as dicts, evaluated chunk by chunk (a chunk as columns when `engine` says so):
    (result columns, problems, rows failed, rows read) per chunk. Outputs are typed arrays for
    Parquet, text cells otherwise."""
    typed = out_fmt == "parquet"
    number = 0
    for chunk in chunks:
        next_chunk()  # JSON Lines, a CSV read again row by row: chunks of 64 rows or more go to the vector engine
        results = {name: [] for name in [ROW] + inputs + batch.outputs}
        problems, failed = [], 0
        vectorised = _vector_rows(batch, chunk) if _vector_chunk(batch, engine, len(chunk)) else None
        for k, row in enumerate(chunk):
            number += 1
            if BAD in row:
                problems.extend({ROW: number, "field": f, "reason": r} for f, r in row[BAD])
                failed += 1
                continue
            cells = vectorised[k] if vectorised is not None else None
            if cells is None:
                values, reasons = batch.row(row)
                if values is None:
                    problems.extend({ROW: number, "field": f, "reason": r} for f, r in reasons)
                    failed += 1
                    continue
                cells = {name: values[name] if typed else cell(values[name]) for name in batch.outputs}
            elif typed:
                cells = {name: TY.decode_cell(cells[name], batch.types[name]) for name in batch.outputs}
            results[ROW].append(number if typed else str(number))
            for name in inputs:
                results[name].append(_text(row.get(name)))
            for name in batch.outputs:
                results[name].append(cells[name])
        if typed:
            for name in batch.outputs:
                arrays = batch.arrays_of(name, results.pop(name), True)
                results.update(zip((f.name for f in batch.typed(name).fields), arrays))
        yield results, problems, failed, len(chunk)
        results = vectorised = cells = None  # written: freed before next_chunk gives the pages back


def _jobs(jobs: int | None, path: Path, registry: Registry) -> int:

    if jobs is None:
        try:
            jobs = parallel.auto_jobs(path.stat().st_size)
        except OSError:
            jobs = 1
    return parallel.usable_jobs([registry], jobs)


def _chunk_evaluator(registry, on: dt.date, outputs: list[str], engine: str, typed: bool):
    """The function of one record batch `_column_chunks` applies (built once per worker process)."""
    from .parallel import resolve
    batch = Batch.prepare(on, resolve(registry), outputs)

    def evaluate(record_batch):
        next_chunk()
        return next(_evaluate_record_batches([record_batch], batch, engine, typed))
    return evaluate


def next_chunk() -> None:
    """Before each chunk of a batch, in the process that evaluates it: what the last one left is
    let go — the vector back-end's memo of uncertain operations, and the heap's free pages — so
    that a process's peak memory is that of one chunk, whatever the file's length. (`compare`
    does not: its chunks are few and long, and its memo serves all of them.)"""
    try:
        from .vector import objects
    except ImportError:  # numpy absent: the row engine only
        pass
    else:
        objects.forget()
    memory.give_back()


def _column_chunks(record_batches: Iterator, batch: Batch, engine: str, inputs: list[str], out_fmt: str,
                   jobs: int = 1):
    """Arrow record batches evaluated as `evaluate_table` does — in `jobs` worker processes when
    more than one (engine/parallel.py) — : the same per-chunk tuples as `_row_chunks`, the rows with
    an error column reported instead of written. For Parquet the typed output arrays go to the
    writer as they are."""
    import pyarrow as pa


    typed = out_fmt == "parquet"
    names = [f.name for f in batch.output_fields(typed)]
    number = 0
    args = (parallel.portable(batch.registry, jobs), batch.on, batch.outputs, engine, typed)
    for evaluated in parallel.ordered_map(_chunk_evaluator, args, record_batches, jobs):
        n = evaluated.num_rows
        problems, bad = [], set()
        reasons = evaluated.column(ERROR)
        if reasons.null_count < n:
            for i, text in enumerate(reasons.to_pylist()):
                if text is not None:
                    bad.add(i)
                    problems.extend({ROW: number + i + 1, "field": p["field"], "reason": p["reason"]}
                                    for p in json.loads(text))
        kept = [i for i in range(n) if i not in bad] if bad else None
        if kept is not None:
            evaluated = evaluated.take(pa.array(kept, pa.int64()))
        rows = range(number + 1, number + n + 1) if kept is None else [number + 1 + i for i in kept]
        results = {ROW: list(rows) if typed else [str(r) for r in rows]}
        for name in inputs:
            column = evaluated.column(name)
            if typed and pa.types.is_string(column.type):
                results[name] = column
            elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                results[name] = column.to_pylist()
            else:
                results[name] = [_text(v) for v in column.to_pylist()]
        for name in names:
            results[name] = evaluated.column(name) if typed else evaluated.column(name).to_pylist()
        number += n
        yield results, problems, len(bad), n
        del results, evaluated, reasons  # written: the chunk is freed here, then its pages given back
        if jobs > 1:  # (with one process, next_chunk does it before the next chunk)
            memory.give_back()


def _text(value) -> str | None:
    """An input cell as text, exactly as read (Decimal and dates without float detours)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, Decimal, int)):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(V.to_json(value), ensure_ascii=False, default=str)


class Progress:
    """A one-line progress bar on stderr (only drawn when stderr is a terminal)."""

    def __init__(self, total: int | None, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.start = self.last = time.perf_counter()

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            share = min(done / self.total, 1.0)
            filled = int(share * 30)
            line = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} {round(share * 100):3d} %"
        else:
            line = f"{done} ligne{'s' if done > 1 else ''}"
        self.stream.write(f"\r{line}  {french.number(round(rate))} lignes/s ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
