"""Writing the results of `millesime batch`: whole files or nothing, safe to open.

- A file is written to a hidden temporary next to its target, `.<name>.<random>.tmp`, created
  with the user's umask (as any new file, not 0600), locked while it is written, and renamed
  over the target by `commit`; `discard` removes it. A run killed outright (SIGKILL, power
  cut) cannot remove its own: `sweep` removes the temporaries of the same target that no
  running process holds any more, at the start of the next run.
- In a CSV file, a text cell that starts like a spreadsheet formula (`=`, `+`, `-`, `@`, a tab
  or a carriage return) and is not a plain number is written after an apostrophe, as OWASP
  advises against CSV injection: `=HYPERLINK(…)` is written `'=HYPERLINK(…)`, `-12.5` stays.
"""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover — not on Windows: temporaries are not swept there
    fcntl = None

_FORMULA_START = re.compile(r"^[=+\-@\t\r]", re.MULTILINE)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def spreadsheet_safe(text):
    """A CSV cell a spreadsheet will not run as a formula (None and other values unchanged)."""
    if isinstance(text, str) and text and text[0] in "=+-@\t\r" and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _safe_column(values: list) -> list:
    """`spreadsheet_safe` over a column, cell by cell only when some cell may need it (one pass
    in C over the column otherwise)."""
    try:
        text = "\n".join(filter(None, values))
    except TypeError:  # not only text: cell by cell
        return [spreadsheet_safe(v) for v in values]
    if not _FORMULA_START.search(text):
        return values
    return [spreadsheet_safe(v) for v in values]


def _temp_pattern(target: Path) -> re.Pattern:
    return re.compile(re.escape(f".{target.name}.") + r"[A-Za-z0-9_]{6,16}\.tmp")


LOCKS = fcntl is not None  # whether `lock_at_once` can tell a held file (not on Windows)


def lock_at_once(fd: int) -> bool:
    """An exclusive lock on an open file, without waiting; False when another process holds it
    (True where there are no locks: see LOCKS)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def sweep(target: Path) -> list[Path]:
    """Remove the temporaries of `target` left by runs that ended without removing them (killed,
    or from before temporaries were locked); keep those a running process still holds."""
    if fcntl is None:
        return []
    pattern, removed = _temp_pattern(target), []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if lock_at_once(fd) and os.path.samestat(os.fstat(fd), os.stat(entry.path, follow_symlinks=False)):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new file next to `target`, mode 0666 less the umask (what any new file gets), locked."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        lock_at_once(fd)
        return fd, path
    raise FileExistsError(f"{target.parent} : aucun nom libre pour un fichier temporaire")


class Writer:
    """Rows to a temp file next to the target; `commit` renames it over the target."""

    def __init__(self, target: Path, fmt: str, columns: list[str], row_column: str = "row", schema=None):
        """`schema`: the Arrow schema of a Parquet file (by default `row_column` int64, the others text)."""
        self.target, self.fmt, self.columns = target, fmt, columns
        self.fd, self.temp = _create_temp(target)  # the fd holds the lock until the end
        self.handle = None
        self.parquet = None
        try:
            if fmt == "parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq
                self.arrow_schema = schema if schema is not None else pa.schema(
                    [pa.field(c, pa.int64() if c == row_column else pa.string()) for c in columns])
                self.parquet = pq.ParquetWriter(self.temp, self.arrow_schema)
            else:
                self.handle = open(os.dup(self.fd), "w", newline="", encoding="utf-8")
                if fmt == "csv":
                    self.csv = csv.writer(self.handle)
                    self.csv.writerow(columns)
        except BaseException:
            self.discard()
            raise

    def write(self, columns: dict[str, list]) -> None:
        """Rows given as columns (lists or, for Parquet, Arrow arrays of the same length; None is an
        empty cell)."""
        if self.parquet is not None:
            import pyarrow as pa
            self.parquet.write_table(pa.table({c: columns[c] for c in self.columns}, schema=self.arrow_schema))
        elif self.fmt == "csv":
            self.csv.writerows(zip(*(_safe_column(columns[c]) for c in self.columns)))  # None → ""
        else:
            self.handle.writelines(json.dumps(dict(zip(self.columns, row)), ensure_ascii=False) + "\n"
                                   for row in zip(*(columns[c] for c in self.columns)))

    def write_rows(self, rows: list[dict]) -> None:
        self.write({c: [r.get(c) for r in rows] for c in self.columns})

    def _finish(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
            self.parquet = None
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def _release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def commit(self) -> None:
        """Rename the whole file over the target; the lock is held until then, so that no
        `sweep` of another run can take it for a stale one."""
        try:
            self._finish()
            os.replace(self.temp, self.target)
        finally:
            self._release()

    def discard(self) -> None:
        try:
            self._finish()
        finally:
            try:
                self.temp.unlink(missing_ok=True)
            finally:
                self._release()
