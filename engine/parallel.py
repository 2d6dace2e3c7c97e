"""A file's chunks evaluated in several worker processes: `millesime batch --jobs N` and
`millesime compare --jobs N`.

    for out in ordered_map(setup, args, chunks, jobs):   # fn = setup(*args) in each worker;
        ...                                                # fn(chunk) for each chunk, in order

One evaluation of a chunk is a pure function of the chunk (engine/batch.py, engine/compare.py), so
the chunks can go to other processes and the results come back in the file's order: the output
files hold the rows of a single process, in the same order (a CSV byte for byte; a Parquet file's
row groups follow the chunks, as many of one size as the workers share evenly: `chunk_rows`).

- Workers are started fresh (`spawn`), never forked from a process that already runs Arrow's
  thread pools; each builds its registries once, again from their files (`Rebuilt`: the
  registry's `Recipe`, the same files — checked by a digest of their bytes — and assumptions).
- Chunks travel to the workers as Arrow record batches or tables (pickled), and at most
  `2 × jobs` are in flight: memory stays bounded as in a single process, times the workers.
- A worker's answer that is an Arrow table or record batch comes back as a file, not through the
  pool's pipe (`_spool`): the worker writes it in Arrow's IPC file format to a folder of the
  parent's, and the parent maps that file into memory (no copy) and removes it at once. Through
  the pipe, a 60 MB table of `compare` made the worker wait, unable to start its next chunk, until
  the busy parent had read it all (a second per chunk, measured), and the answers waiting their
  turn were held unpickled in the parent (≈ 120 MiB for `batch`'s record batches: its peak memory
  then grew with the chunks' length, bench/RESULTS.md); the folder is removed at the end,
  whatever happens, and a folder a killed run left behind is removed by the next (a run holds
  the lock of a file in its folder while it lasts; a process number alone could be another's).
- The standard library's `concurrent.futures.ProcessPoolExecutor` runs them (a real pool: a worker
  that dies is reported, not waited for). A worker ignores Ctrl-C; on an interruption the parent
  cancels the chunks not started, lets each worker finish the one it computes, and removes its
  temporaries as a single process does.
- An error of Millésime in a worker (an invalid reform, a changed file) reaches the caller as the
  same exception with the same message.
"""
from __future__ import annotations

import os
from collections import deque
from typing import Callable, Iterable, Iterator

from dsl.errors import MillesimeError

from . import memory
from .io.writers import LOCKS, lock_at_once  # where there are no locks (Windows), a spool is known by its process number

AUTO_MIN_BYTES = 8 << 20  # `--jobs` left out: worker processes for input files of at least this size
AUTO_MAX_JOBS = 8
WORKER_BYTES = 768 << 20  # what a worker may hold at its peak (a 32 768-row chunk of compare, every output)


class WorkerError(MillesimeError):
    """A worker process stopped without an answer (killed, out of memory)."""


class SpoolError(MillesimeError):
    """The temporary folder of the workers' answers cannot be made or written (full, read-only)."""


def _spool_problem(folder: str, exc: OSError) -> str:
    from .french import os_problem
    return (f"{folder} : le dossier temporaire des résultats des processus de calcul ne peut être écrit "
            f"({os_problem(exc)}) ; libérez de la place, donnez un autre dossier par la variable TMPDIR, "
            "ou relancez avec --jobs 1")


def auto_jobs(size: int) -> int:
    """Worker processes for an input of `size` bytes when the user did not say: one per core (at
    most AUTO_MAX_JOBS, and as many as the available memory holds at WORKER_BYTES each) for a
    large file, none for a small one (starting them costs about a second)."""
    if size < AUTO_MIN_BYTES:
        return 1
    return max(1, min(_cores(), AUTO_MAX_JOBS, _memory() // WORKER_BYTES))


def _memory() -> int:
    """Bytes of memory available now (Linux: MemAvailable), or a large number where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 62


def chunk_rows(chunk: int, jobs: int, rows: int | None = None) -> int:
    """Rows per chunk, at most `chunk` (the memory of a process), for an input of about `rows`
    rows (None: not known): as many chunks of one size as the workers share evenly — each chunk
    costs a fixed part of an evaluation whatever its length (a second per `compare` of a chunk on
    the bench machine), so chunks are as long as allowed, and a short last one does not leave a
    worker waiting for the others. Never under a quarter of `chunk`: an estimate far too low (a
    CSV whose sampled lines are much longer than the others) costs four times the chunks at most.
    Not known: `chunk`, halved for several workers so that they finish closer together."""
    if rows is None or rows <= 0:
        return chunk if jobs <= 1 else max(1, chunk // 2)
    count = jobs * -(-rows // (chunk * jobs))
    size = -(-rows * 51 // (50 * count))  # 2 % more: an estimate a little short adds no chunk
    return max(1, chunk // 4, min(chunk, size))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Rebuilt:
    """A registry as a worker receives it: its recipe (files and their digest) and assumptions,
    built again there once (`resolve`)."""

    def __init__(self, registry):
        self.recipe, self.assumptions = registry.recipe, registry.assumptions

    def build(self):
        return self.recipe.build().with_assumptions(self.assumptions)


def portable(registry, jobs: int):
    """`registry` as `ordered_map`'s setup receives it: itself in this process, a `Rebuilt` for workers."""
    return registry if jobs <= 1 else Rebuilt(registry)


def resolve(registry):
    """The registry of `portable`'s answer."""
    return registry.build() if isinstance(registry, Rebuilt) else registry


def usable_jobs(registries, jobs: int) -> int:
    """`jobs`, or 1 when a registry was not read from files (built in memory: nothing to read again)."""
    return jobs if all(r.recipe is not None for r in registries) else 1


# ---------------------------------------------------------------- in the worker processes

_STATE: dict = {}


def _start(setup: Callable, args: tuple, spool: str | None = None) -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    memory.tune()  # before the first chunk arrives (engine/memory.py)
    _STATE["spool"] = spool
    try:
        _STATE["fn"] = setup(*args)
    except MillesimeError as exc:  # said with the first chunk's answer (an initializer's error breaks the pool)
        _STATE["error"] = (type(exc), str(exc))


def _run(item):
    if "error" in _STATE:
        return False, _STATE["error"]
    try:
        value = _STATE["fn"](item)
    except MillesimeError as exc:
        return False, (type(exc), str(exc))
    try:
        return True, _spooled(value)
    except OSError as exc:  # the spool folder full, or gone
        return False, (SpoolError, _spool_problem(_STATE["spool"], exc))


class Spooled:
    """An Arrow table (or record batch: `batch`) a worker wrote to a file of the parent's spool folder."""

    def __init__(self, path: str, batch: bool = False):
        self.path, self.batch = path, batch


def _spooled(value):
    """`value`, or a `Spooled` file holding it when it is an Arrow table or record batch and the
    parent gave a folder."""
    folder = _STATE.get("spool")
    if folder is None:
        return value
    import pyarrow as pa
    if not isinstance(value, (pa.Table, pa.RecordBatch)):
        return value
    _STATE["count"] = _STATE.get("count", 0) + 1
    path = os.path.join(folder, f"{os.getpid()}-{_STATE['count']}.arrow")
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, value.schema) as writer:
            writer.write(value)
    except OSError:
        try:
            os.unlink(path)  # what was written of it
        except OSError:
            pass
        raise
    return Spooled(path, isinstance(value, pa.RecordBatch))


def _unspooled(value):
    """The table (or record batch) of a `Spooled` answer, mapped into memory (no copy); its file
    removed at once (the mapping keeps its pages until the table is released)."""
    if not isinstance(value, Spooled):
        return value
    import pyarrow as pa
    try:
        with pa.memory_map(value.path) as source:
            reader = pa.ipc.open_file(source)
            table = reader.get_batch(0) if value.batch else reader.read_all()
    except OSError as exc:  # the folder removed under the run
        raise SpoolError(_spool_problem(os.path.dirname(value.path), exc)) from None
    try:
        os.unlink(value.path)
    except OSError:  # a system that keeps a mapped file: removed with the folder
        pass
    return table


# ---------------------------------------------------------------- in the parent

def ordered_map(setup: Callable, args: tuple, items: Iterable, jobs: int) -> Iterator:
    """`fn(item)` for each item, in order, where `fn = setup(*args)` is built once per worker
    process (`setup` and `args` picklable: a module-level function and plain values). `jobs`
    worker processes; with 1, in this process."""
    if jobs <= 1:
        fn = setup(*args)
        for item in items:
            yield fn(item)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    spool, held = _new_spool()
    pool = None
    pending: deque = deque()
    try:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=(setup, args, spool))
        for item in items:
            pending.append(pool.submit(_run, item))
            if len(pending) >= 2 * jobs:
                yield _answer(pending.popleft())
        while pending:
            yield _answer(pending.popleft())
    except BrokenProcessPool:
        _stop(pool, pending)
        raise WorkerError("un processus de calcul s'est arrêté sans répondre (mémoire épuisée ?) ; "
                          "relancez avec --jobs 1 ou moins de processus") from None
    except BaseException:  # an error, Ctrl-C, or the caller stopped reading
        if pool is not None:
            _stop(pool, pending)
        raise
    finally:
        import shutil
        if pool is not None:
            pool.shutdown(wait=True)
        shutil.rmtree(spool, ignore_errors=True)
        if held is not None:
            os.close(held)


SPOOL_PREFIX = "millesime-spool-"
SPOOL_LOCK = ".lock"       # a file of the folder its run holds locked while it lasts
SPOOL_UNLOCKED_AGE = 86400  # seconds after which a folder without its lock file is a leftover


def _new_spool() -> tuple[str, int | None]:
    """A new folder for the workers' tables and the descriptor of its lock file (held until the end
    of the run), after removing the folders of runs that are over — killed before they could remove
    their own: nobody holds their lock (a process number could be another's, in another container
    sharing the folder, or the same on every start)."""
    import tempfile
    base = tempfile.gettempdir()
    _sweep_spools(base)
    try:
        folder = tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-", dir=base)
        if not LOCKS:
            return folder, None
        held = os.open(os.path.join(folder, SPOOL_LOCK), os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise SpoolError(_spool_problem(base, exc)) from None
    lock_at_once(held)  # a new file of a new folder: nobody else holds it
    return folder, held


def _sweep_spools(base: str) -> None:
    import shutil
    import time
    try:
        entries = [e for e in os.scandir(base) if e.name.startswith(SPOOL_PREFIX) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in entries:
        if not LOCKS:  # the process number says whether the run lasts
            pid = entry.name[len(SPOOL_PREFIX):].split("-")[0]
            over = pid.isdigit() and not _alive(int(pid))
        else:
            over = _unheld(entry.path, time.time())
        if over:
            shutil.rmtree(entry.path, ignore_errors=True)


def _unheld(folder: str, now: float) -> bool:
    """Whether no run holds `folder`: its lock file free, or missing for a day (a run killed between
    making the folder and its lock file, or a folder of an older version)."""
    try:
        fd = os.open(os.path.join(folder, SPOOL_LOCK), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        try:
            return now - os.stat(folder).st_mtime > SPOOL_UNLOCKED_AGE
        except OSError:
            return False
    try:
        return lock_at_once(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _stop(pool, pending) -> None:
    """Cancel what waits and let each worker end the chunk it computes (a few seconds at most):
    a worker killed while it sends its answer leaves the pool's thread waiting for the rest of
    that message for ever (CPython 3.11), so no worker is killed here."""
    for future in pending:
        future.cancel()
    pool.shutdown(wait=True, cancel_futures=True)


def _answer(future):
    ok, value = future.result()
    if ok:
        return _unspooled(value)
    cls, message = value
    try:
        exc = cls(message)
    except Exception:  # noqa: BLE001 — a class that takes other arguments: the message is what counts
        exc = MillesimeError(message)
    raise exc
