"""Reading the input of `millesime batch`: CSV, JSON Lines or Parquet, lazily, chunk by chunk.

Two ways in, the same rows out:

- `read_rows`: rows as dicts of column → cell (a CSV's cells as text, exactly as written);
- `read_columns`: Arrow record batches (a CSV's cells as text), when pyarrow reads the file.
  When Arrow's CSV reader refuses a file, or meets a cell too long for the row reader,
  reading raises `ReadAgain`: the caller reads the file again with `read_rows`, which says
  what is wrong with which line.

A row that cannot be read as a case — more or fewer cells than the header, a header naming
a column twice, a cell longer than CELL_LIMIT, a JSON line that is not an object — is not
dropped and not guessed at: it comes out as a *bad row*, {BAD: [(column or "", reason)]}, the
reason naming its line, and counts as a row like any other.
"""
from __future__ import annotations

import contextlib
import csv
import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import french
from . import BatchError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
BAD = "\0bad"          # the key of a bad row: its [(column or "", reason)]
CELL_LIMIT = 131_072   # characters in a CSV cell: the csv module's own limit (128 KiB)
CSV_BLOCK = 1 << 20    # bytes of CSV text Arrow's reader parses at a time (see read_columns)
TOO_LONG = f"une cellule dépasse {french.number(CELL_LIMIT)} caractères"


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        kind = f"« {path.suffix} »" if path.suffix else "(sans extension)"
        raise BatchError(f"{path} : type de fichier inconnu {kind} ; employez " + french.listed(sorted(FORMATS), "ou"))
    return fmt


def read_rows(path: Path, chunk: int) -> tuple[list[str], int | None, "Reader"]:
    """(column names, number of rows if known, chunks of at most `chunk` rows), read lazily."""
    fmt = file_format(path)
    if not path.is_file():
        raise BatchError(f"{path} : ce fichier n'existe pas")
    if fmt == "parquet":
        return _read_parquet(path, chunk)
    if fmt == "csv":
        return _read_csv(path, chunk)
    return _read_jsonl(path, chunk)


class Reader:
    """Chunks of a file read lazily; `close` releases the file whether reading began or not
    (a generator that never started does not run its `finally`)."""

    def __init__(self, chunks: Iterator, release: Callable[[], None] | None = None):
        self.chunks, self.release = chunks, release

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)  # a generator: its `finally` runs if it began
        if close is not None:
            close()
        if self.release is not None:
            self.release()


def _chunks(rows: Iterable[dict], handle, chunk: int) -> Iterator[list[dict]]:
    try:
        part = []
        with _utf8(handle):
            for row in rows:
                part.append(row)
                if len(part) == chunk:
                    yield part
                    part = []
        if part:
            yield part
    finally:
        handle.close()


@contextlib.contextmanager
def _utf8(handle):
    """A text file that is not UTF-8 is refused whole, with its name, never with a traceback
    (found by tests/fuzz/test_batch_fuzz.py). A row's boundaries cannot be trusted past a bad byte."""
    try:
        yield
    except UnicodeDecodeError as exc:
        handle.close()
        raise BatchError(f"{handle.name} : {french.os_problem(exc)} ; enregistrez le fichier en UTF-8") from None


def twice(names: list[str], where: str) -> list[tuple[str, str]]:
    """(column, reason) for each column the header names more than once: which cell would hold
    its value cannot be told, so every row is in error."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(i)
    problems = []
    for name, at in positions.items():
        if len(at) > 1:
            count = "deux fois" if len(at) == 2 else f"{len(at)} fois"
            problems.append((name, f"{where} nomme la colonne « {name} » {count} (colonnes {french.listed(at)})"))
    return problems


# ---------------------------------------------------------------- CSV, row by row

class _Lines:
    """The lines of a text file, counted, with whether a quoted cell is left open at the end of
    the last one (an odd number of quotes since the record began): after a record the csv module
    refuses, reading resumes after the line that closes it."""

    def __init__(self, handle):
        self.handle, self.number, self.quoted = handle, 0, False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.number += 1
        if line.count('"') & 1:
            self.quoted = not self.quoted
        return line

    def skip_record(self) -> None:
        while self.quoted:
            try:
                next(self)
            except StopIteration:
                return


def _read_csv(path: Path, chunk: int):
    handle = open(path, newline="", encoding="utf-8-sig")
    lines = _Lines(handle)
    try:
        with _utf8(handle):
            names, line = _csv_header(lines)
    except BaseException:
        handle.close()
        raise
    problem = f"{path}:{line}: l'en-tête a une cellule de plus de {french.number(CELL_LIMIT)} caractères" \
        if any(len(name) > CELL_LIMIT for name in names) else None
    if problem:
        handle.close()
        raise BatchError(problem)
    return names, None, Reader(_chunks(_csv_rows(lines, names), handle, chunk), handle.close)


def _csv_header(lines: _Lines) -> tuple[list[str], int]:
    """The first record that is not a blank line, and its line: blank lines before the header
    are skipped, as Arrow's reader does, so that both number the rows alike."""
    reader = csv.reader(lines)
    while True:
        start = lines.number + 1
        try:
            fields = next(reader)
        except StopIteration:
            return [], start
        except csv.Error as exc:
            raise BatchError(f"{lines.handle.name}:{start}: l'en-tête est illisible ({french.csv_problem(exc)})") \
                from None
        if fields:
            return fields, start


def _csv_rows(lines: _Lines, names: list[str]) -> Iterator[dict]:
    width = len(names)
    duplicated = twice(names, "l'en-tête")
    reader = csv.reader(lines)
    while True:
        start = lines.number + 1
        lines.quoted = False
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell over the field limit: this record only
            lines.skip_record()
            reader = csv.reader(lines)
            reason = TOO_LONG if "field limit" in str(exc) else f"CSV illisible ({french.csv_problem(exc)})"
            yield {BAD: [("", f"ligne {start} : {reason}")]}
            continue
        if not fields:
            continue  # a blank line is no row
        if len(fields) != width:
            cells = "1 cellule" if len(fields) == 1 else f"{len(fields)} cellules"
            columns = "1 colonne" if width == 1 else f"{width} colonnes"
            yield {BAD: [("", f"ligne {start} : {cells}, alors que l'en-tête nomme {columns}")]}
        elif max(map(len, fields)) > CELL_LIMIT:  # whatever csv.field_size_limit() says
            yield {BAD: [("", f"ligne {start} : {TOO_LONG}")]}
        elif duplicated:
            yield {BAD: [(name, f"ligne {start} : {reason}") for name, reason in duplicated]}
        else:
            yield dict(zip(names, fields))


# ---------------------------------------------------------------- JSON Lines

class _Twice(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set = set()
        raise _Twice(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


TOO_DEEP = "JSON invalide : imbrication trop profonde"


def given_twice(key: str) -> str:
    return f"la clé « {key} » est donnée deux fois"


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # the escape of a UTF-16 surrogate, \ud800 to \udfff


def _whole_characters(value) -> None:
    """ValueError if a text of `value` holds half a UTF-16 surrogate pair (`"\ud800"` alone):
    no UTF-8 file can hold it, so no result or error file could be written with it."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        half = f"\\u{ord(exc.object[exc.start]):04x}"
        raise ValueError(f"JSON invalide : {half} est la moitié d'une paire de substitution UTF-16, pas un "
                         "caractère") from None
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def loads_json(text: str):
    """JSON text → Python values, numbers exact (int, Decimal), a key given twice refused.
    json.JSONDecodeError for broken text (its position is the caller's to show); ValueError
    with a short reason for text that parses but cannot be held: nested past the parser's
    depth, an integer over the interpreter's digit limit, a key given twice, half a UTF-16
    surrogate pair."""
    try:
        value = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_pairs)
    except _Twice as exc:
        raise ValueError(f"JSON invalide : {given_twice(exc.key)}") from None
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise ValueError(f"JSON invalide : un nombre de plus de {sys.get_int_max_str_digits()} chiffres") from None
        raise ValueError(f"JSON invalide : {exc}") from None
    if _SURROGATE.search(text):
        _whole_characters(value)
    return value


def _top_level_twice(text: str) -> list[str]:
    """The keys a JSON object gives twice at its top level (the columns of a row)."""
    try:
        pairs = json.loads(text, parse_float=Decimal, object_pairs_hook=list)
    except (ValueError, RecursionError):
        return []
    if not isinstance(pairs, list) or not all(isinstance(p, tuple) for p in pairs):
        return []
    seen: set = set()
    return list(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))


def json_row(text: str, number: int) -> dict:
    """One JSON line → a row, or a bad row naming the line."""
    try:
        row = loads_json(text)
    except json.JSONDecodeError as exc:
        return {BAD: [("", f"ligne {number} : JSON invalide : {french.json_message(exc.msg)}")]}
    except ValueError as exc:
        keys = _top_level_twice(text)
        if keys:
            return {BAD: [(k, f"ligne {number} : {given_twice(k)}") for k in keys]}
        return {BAD: [("", f"ligne {number} : {exc}")]}
    if not isinstance(row, dict):
        return {BAD: [("", f"ligne {number} : ce n'est pas un objet JSON")]}
    return row


def _read_jsonl(path: Path, chunk: int):
    handle = open(path, encoding="utf-8")
    try:
        number, first = 0, ""
        with _utf8(handle):
            for first in handle:  # the first line that is not blank names the columns
                number += 1
                if first.strip():
                    break
        if not first.strip():
            head = {}
        else:
            try:
                head = loads_json(first)
            except json.JSONDecodeError as exc:
                raise BatchError(f"{path}:{number}: JSON invalide : {french.json_message(exc.msg)}") from None
            except ValueError as exc:
                if not _top_level_twice(first):
                    raise BatchError(f"{path}:{number}: {exc}") from None
                head = json.loads(first, parse_float=Decimal)  # a column given twice: its row says so
        if not isinstance(head, dict):
            raise BatchError(f"{path}:{number}: chaque ligne est un cas, un objet JSON de colonnes")
    except BaseException:
        handle.close()
        raise
    return list(head), None, Reader(_chunks(_jsonl(first, number, handle), handle, chunk), handle.close)


def _jsonl(first: str, number: int, handle) -> Iterator[dict]:
    if first.strip():
        yield json_row(first, number)
    for number, line in enumerate(handle, start=number + 1):
        if line.strip():
            yield json_row(line, number)


# ---------------------------------------------------------------- Parquet and Arrow

def widen_floats(record_batch):
    """float32 (and float16) columns as float64 columns holding the shortest decimal of their own
    width: a float32 0.1 is read as 0.1, not as 0.10000000149011612 (its value in float64)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    narrow = [i for i, f in enumerate(record_batch.schema)
              if pa.types.is_float32(f.type) or pa.types.is_float16(f.type)]
    if not narrow:
        return record_batch
    columns = list(record_batch.columns)
    for i in narrow:
        column = columns[i] if pa.types.is_float32(columns[i].type) else pc.cast(columns[i], pa.float32())
        columns[i] = pc.cast(pc.cast(column, pa.string()), pa.float64())  # Arrow writes the shortest text
    return pa.RecordBatch.from_arrays(columns, names=record_batch.schema.names)


def _read_parquet(path: Path, chunk: int):
    import pyarrow.parquet as pq
    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 — pyarrow raises several types for a bad file
        raise BatchError(f"{path} : fichier Parquet illisible ({exc})") from None
    names = list(source.schema_arrow.names)
    duplicated = twice(names, "le fichier")

    def chunks():
        try:
            for record_batch in source.iter_batches(batch_size=chunk):
                if duplicated:
                    yield [{BAD: duplicated} for _ in range(record_batch.num_rows)]
                else:
                    yield widen_floats(record_batch).to_pylist()
        finally:
            source.close()
    return names, source.metadata.num_rows, Reader(chunks(), source.close)


CSV_MAX_RECORD = 1 << 26  # bytes a record may span before the file is read row by row (which says why)


def estimate_rows(path: Path) -> int | None:
    """About how many rows the file holds, without reading it: a Parquet file's own count; a
    CSV's size over the length of its first lines (a quoted newline counts as a line here); None
    for JSON Lines or a file that cannot be read so."""
    try:
        fmt = file_format(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq
            return pq.ParquetFile(path).metadata.num_rows
        if fmt != "csv":
            return None
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(CSV_BLOCK)
            tail = b""
            if size > 2 * CSV_BLOCK:  # the last lines too: the first ones may not be typical
                handle.seek(size - CSV_BLOCK)
                tail = handle.read(CSV_BLOCK)
    except Exception:  # noqa: BLE001 — only an estimate: the reading itself says what is wrong
        return None
    header_end = head.find(b"\n") + 1
    lines = head.count(b"\n", header_end)
    if header_end == 0 or lines == 0:
        return None
    sampled = head.rfind(b"\n") + 1 - header_end
    if tail:
        first, last = tail.find(b"\n") + 1, tail.rfind(b"\n") + 1
        if 0 < first < last:  # whole lines of the tail
            lines += tail.count(b"\n", first, last)
            sampled += last - first
    return max(1, round((size - header_end) * lines / sampled))


def _csv_blocks(path: Path) -> Iterator[tuple[bytes, bool]]:
    """The bytes of a CSV file in blocks of about CSV_BLOCK that end on a record boundary — a
    newline outside quotes: an even number of `"` before it, since an escaped quote is `""` — with
    whether the block is the first (it holds the header). ReadAgain when a record outgrows
    CSV_MAX_RECORD (an unclosed quote, most likely)."""
    with open(path, "rb") as handle:
        pending, first = b"", True
        while True:
            data = handle.read(CSV_BLOCK)
            if not data:
                if pending.strip():
                    yield pending, first
                return
            pending += data
            cut = _record_boundary(pending)
            if cut == 0:
                if len(pending) > CSV_MAX_RECORD:
                    raise ReadAgain
                continue
            yield pending[:cut], first
            pending, first = pending[cut:], False


def _record_boundary(data: bytes) -> int:
    """The index just after the last newline of `data` that ends a record (0: none)."""
    end, total = len(data), data.count(b'"')
    after = 0  # quotes from the newline tried to the end of the data
    while True:
        newline = data.rfind(b"\n", 0, end)
        if newline < 0:
            return 0
        after += data.count(b'"', newline, end)
        if (total - after) % 2 == 0:
            return newline + 1
        end = newline


class ReadAgain(Exception):
    """Arrow's CSV reader refused the file, or met a cell too long: read it again row by row."""


def read_columns(path: Path, names: list[str], chunk: int) -> Reader | None:
    """The file's record batches of at most `chunk` rows, read lazily — a CSV's cells as text —
    or None when it is read row by row (JSON Lines, pyarrow missing, a header naming a column
    twice)."""
    fmt = file_format(path)
    if fmt == "jsonl" or len(set(names)) != len(names):
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    if fmt == "parquet":
        import pyarrow.parquet as pq
        source = pq.ParquetFile(path)
        return Reader((widen_floats(b) for b in source.iter_batches(batch_size=chunk)), source.close)

    def too_long(record_batch) -> bool:  # in bytes, at least as many as characters: the row reader decides
        for column in record_batch.columns:
            longest = pc.max(pc.binary_length(column)).as_py()
            if longest is not None and longest > CELL_LIMIT:
                return True
        return False

    def csv_batches():
        # The file is cut into blocks at record boundaries here, and each block parsed whole by
        # Arrow: Arrow's streaming reader (open_csv) reads up to dozens of blocks ahead, so that its
        # memory grew with the file up to that read-ahead; one block at a time, it stays flat.
        read_options = pacsv.ReadOptions(use_threads=False)
        parse_options = pacsv.ParseOptions(newlines_in_values=True)
        convert_options = pacsv.ConvertOptions(column_types={name: pa.string() for name in names},
                                               strings_can_be_null=False, quoted_strings_can_be_null=False)
        # The blocks' rows are then grouped into chunks of `chunk` rows exactly (the last one
        # shorter): an evaluation's cost per chunk is paid once for 25 600 rows rather than for the
        # 8 000 of a block, and chunks of one size keep worker processes busy alike to the end.
        pending, rows = [], 0
        try:
            for part, first in _csv_blocks(path):
                options = read_options if first else pacsv.ReadOptions(use_threads=False, column_names=names)
                table = pacsv.read_csv(pa.BufferReader(part), read_options=options, parse_options=parse_options,
                                       convert_options=convert_options)
                if first and table.schema.names != names:
                    raise ReadAgain
                for record_batch in table.to_batches(max_chunksize=chunk):
                    if too_long(record_batch):
                        raise ReadAgain
                    while rows + record_batch.num_rows >= chunk:
                        need = chunk - rows
                        pending.append(record_batch.slice(0, need))
                        yield _joined(pending)
                        pending, rows = [], 0
                        record_batch = record_batch.slice(need)
                    if record_batch.num_rows:
                        pending.append(record_batch)
                        rows += record_batch.num_rows
            if pending:
                yield _joined(pending)
        except pa.ArrowException:
            raise ReadAgain from None
    return Reader(csv_batches())


def _joined(record_batches):
    """Record batches of the same schema as one (its columns contiguous)."""
    if len(record_batches) == 1:
        return record_batches[0]
    import pyarrow as pa
    return pa.Table.from_batches(record_batches).combine_chunks().to_batches()[0]
