"""Output columns: each output's `Vec` written as the row engine's JSON-form cells."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np

from dsl import types as T

from .. import values as V
from . import open as open_
from . import near
from .columns import ANDNOT, EPOCH, NESTED, OR, Vec, _NAMES, select, wide
from . import typed_columns
from .run import Run, engine_for
from .typed_columns import Built, place

# ---------------------------------------------------------------- outputs

def cells(v: Vec, t: T.Type, rows, n: int, cell=V.text_cell):
    """The JSON-form cells of `v` (what `engine.values.text_cell` writes) for the rows given (a slice
    of the `n` rows, or their indices): (distinct cells, index of each row's cell among them).
    `cell` writes a value in JSON form as text (`json_text` inside a list or a record)."""
    size = len(range(n)[rows]) if isinstance(rows, slice) else len(rows)
    whole = isinstance(rows, slice) and rows == slice(None)
    if v.kind in NESTED:
        sub = v if whole else v.take(np.arange(n)[rows])
        enc = json_texts(sub, t, size).dictionary_encode()
        texts = enc.dictionary.to_pylist()
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    elif v.kind == "obj":  # the row engine's own values (objects.py), bounds of those not established included
        return _object_cells(v, t, rows, n, size, cell)
    elif v.kind not in ("bool", "num", "date", "sym"):
        texts, codes = [cell(None)], np.zeros(size, np.int64)
    else:
        d = np.full(size, v.data) if np.ndim(v.data) == 0 else v.data[rows]
        uniq, codes = _distinct(d)
        if v.kind == "date" and len(uniq) > 64:  # ISO texts by Arrow, not one Python date each
            texts = _iso_dates(uniq, cell)
        else:
            texts = [cell(_json(v, u, t)) for u in uniq]
    if v.none is not None:
        nn = v.none[rows]
        if nn.any():
            texts.append(cell(None))
            codes = select(nn, len(texts) - 1, codes)
    if v.ne is not None:
        ne = v.ne[rows]
        if ne.any():  # each row's reason, deciders and bounds, as the row engine writes them
            sub = v if whole else v.take(np.arange(n)[rows])
            values, inverse, _ = open_.python_open(sub, ne, size)
            base = len(texts)
            texts.extend(cell(V.to_json(value, t)) for value in values)
            ne_codes = np.zeros(size, np.int64)
            ne_codes[ne] = base + inverse
            codes = select(ne, ne_codes, codes)
    return texts, codes


def _object_cells(v: Vec, t, rows, n, size, cell):
    data = wide(v.data, n)[rows]
    skip = np.zeros(n, bool) if v.defer is None else v.defer
    skip = skip[rows]
    index: dict = {}
    texts: list = []
    codes = np.zeros(size, np.int64)
    for i, x in enumerate(data.tolist()):
        if skip[i]:
            continue
        key = (type(x), x) if not isinstance(x, V.NotEstablished) else ("ne", id(x))
        code = index.get(key)
        if code is None:
            code = index[key] = len(texts)
            texts.append(cell(V.to_json(x, t)))
        codes[i] = code
    return texts or [cell(None)], codes


def json_text(value) -> str:
    """A value in JSON form as it is written inside a list or a record (json.dumps)."""
    return json.dumps(value, ensure_ascii=False)


def json_texts(v: Vec, t, n: int):
    """Each row's value as the text `json.dumps` writes for the row engine's value (an Arrow
    string array), a list or record assembled by Arrow's string kernels from its elements' texts;
    rows without a value (or past a list's length) hold some text, never read."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from .lists import lengths
    t = t.base if t is not None else None
    if v.kind == "record":
        fields = dict(t.fields) if t is not None and t.kind in ("record", "reason") else {}
        if not v.data:
            return pa.array(["{}"] * n, pa.string())
        pieces = []
        for i, (name, f) in enumerate(v.data.items()):
            pieces.append(pa.scalar(("{" if i == 0 else ", ") + json_text(name) + ": "))
            pieces.append(json_texts(f, fields.get(name), n))
        pieces.append(pa.scalar("}"))
        return pc.binary_join_element_wise(*pieces, "")
    if v.kind == "list":
        inner = t.args[0] if t is not None and t.kind in ("list", "set") else None
        length = lengths(v, n)
        if not v.data.items:
            return pa.array(["[]"] * n, pa.string())
        # element by element: binary_join_element_wise skipping nulls dropped all-null rows (pyarrow 26)
        body = None
        for k, item in enumerate(v.data.items):
            text = json_texts(item, inner, n)
            if body is None:
                body = pc.if_else(pa.array(length > 0), text, pa.scalar(""))
            else:
                body = pc.if_else(pa.array(length > k), pc.binary_join_element_wise(body, text, ", "), body)
        return pc.binary_join_element_wise(pa.scalar("["), body, pa.scalar("]"), "")
    texts, codes = cells(v, t, slice(None), n, json_text)
    return pa.array(texts, pa.string()).take(pa.array(codes))


def run_columns(batch, columns: dict, n: int, typed: bool = False):
    """Evaluate a batch's columns: per output (distinct cells, each row's index among them or -1),
    and the rows (indices) the row engine must compute instead.

    `typed`: per output, where typed_columns.py builds them, its typed arrays over all rows
    instead (a `typed_columns.Built`; the rows handed back hold nulls there); the other outputs
    as cells. May raise typed_columns.Mismatch: the caller then runs again without `typed`.

    Two passes: every row in int64 columns first; then the rows that needed a value those cannot
    hold (a quotient that does not terminate, written to 28 digits) again, alone, with such values
    kept as the row engine's own (objects.py) — slower, so only where needed: those rows, and the
    outputs the first pass did not compute on them (the others keep the first pass's values)."""
    first = []  # the first pass's run, whose converted inputs the second takes (Run.inherit)
    try:
        return _two_passes(batch, columns, n, typed, first)
    finally:
        if first:
            _NAMES.release(first[0].texts)  # the cells are texts now: the codes of the input's texts are free


def _two_passes(batch, columns: dict, n: int, typed: bool, first: list):
    out, back, invalid, needed, deferred = _pass(batch, columns, n, objects=False,
                                                 typed=set(batch.outputs) if typed else set(), keep=first)
    again = np.setdiff1d(back, invalid) if needed else np.zeros(0, np.int64)
    if len(again):
        again_mask = np.zeros(n, bool)
        again_mask[again] = True
        redo = [name for name in batch.outputs if deferred[name] is not None and (deferred[name] & again_mask).any()]
        sub = {name: _take(col, again) for name, col in columns.items()}
        built = {name for name in redo if isinstance(out[name], Built)}
        # each output on the rows the first pass did not compute it on: its others keep their values
        rows_for = {name: deferred[name][again] for name in redo}
        out2, back2, _, _, deferred2 = _pass(batch, sub, len(again), objects=True, typed=built, outputs=redo,
                                             rows_for=rows_for, before=(first[0], again))
        for name in redo:
            done = rows_for[name] if deferred2[name] is None else rows_for[name] & ~deferred2[name]
            _patch(batch, out, name, again[done], out2[name], done)
        back = np.union1d(np.setdiff1d(back, again), again[back2])
    return out, back


def _patch(batch, out: dict, name: str, where, second, done) -> None:
    """Output `name`'s rows `where` (indices) written with what a later step computed for them:
    `second` (cells — texts and each row's index — or typed arrays) on its rows `done` (a mask)."""
    if isinstance(out[name], Built):  # in place, typed the JSON-form way where it wrote cells
        patch = second.arrays if isinstance(second, Built) else _typed_cells(batch, name, *second)
        picked = pa_indices(np.flatnonzero(done))
        out[name].arrays = place(out[name].arrays, where, [a.take(picked) for a in patch])
        return
    texts, codes = out[name]
    texts2, codes2 = second
    base = len(texts)
    texts.extend(texts2)
    codes[where] = codes2[done] + base


def _typed_cells(batch, name: str, texts: list, codes) -> list:
    """Typed arrays of cells (texts, each row's index or -1) as engine/batch.py builds them."""
    import pyarrow as pa
    from ..typed import decode_cell
    distinct = [decode_cell(text, batch.types[name]) for text in texts]
    indices = pa.array(np.where(codes >= 0, codes, 0), pa.int64(), mask=codes < 0)
    return [array.take(indices) for array in batch.typed(name).arrays(distinct)]


def _take(column, idx):
    if isinstance(column, list):
        return [column[i] for i in idx.tolist()]
    import pyarrow as pa
    return column.take(pa.array(idx))


def pa_indices(idx):
    import pyarrow as pa
    return pa.array(idx, pa.int64())


def _pass(batch, columns: dict, n: int, objects: bool, typed: set = frozenset(), outputs: list | None = None,
          rows_for: dict | None = None, keep: list | None = None, before=None):
    """One pass over the rows: per output its cells (or typed arrays) on the rows it computed,
    the rows to compute again or hand back, those the case schema rejects, whether a row needed
    Python values, and per output the rows it did not compute (None: none).

    `keep`: a list the run is appended to, its input texts held for the caller to release (its
    converted inputs serve the second pass); `before`: (a run, its rows that are these) whose
    converted inputs this one takes."""
    run = Run(engine_for(batch.registry), batch.schema, columns, n, batch.on, objects)
    if before is not None:
        run.inherit(*before)
    if keep is not None:
        keep.append(run)
    outputs = batch.outputs if outputs is None else outputs
    try:
        values, back = run.evaluate(outputs, rows_for)
        invalid = run.invalid(run.main)
        plan = run.main.plan
        out = {}
        for name in outputs:
            own = run.deferred[name]  # this output's rows handed back; its other rows are computed
            if name in typed:  # built before the input's texts are released
                columns_of = batch.typed(name)
                arrays = typed_columns.arrays(values[name], name, columns_of.t, columns_of.enum_members, n,
                                              None if own is None else ~own)
                if arrays is not None:
                    out[name] = Built(arrays)
                    continue
            rows = slice(None) if own is None else np.flatnonzero(~own)
            texts, codes = cells(values[name], plan.value_type(name), rows, n)
            if own is not None:  # the rows handed back have no cell yet (-1)
                full = np.full(n, -1, np.int64)
                full[rows] = codes
                codes = full
            out[name] = (list(texts), codes)
        written = False
        for name in outputs if rows_for is None else ():  # one value or none (near.py): written here
            found = near.one_value_or_none(values[name], plan.value_type(name), ANDNOT(run.deferred[name], invalid))
            if found is not None:
                where, values_of = found
                _patch(batch, out, name, where, _python_cells(values_of, plan.value_type(name)),
                       np.ones(len(where), bool))
                run.deferred[name] = run.deferred[name].copy()
                run.deferred[name][where] = False
                written = True
        if written:  # a first pass: every output on every row
            back = OR(invalid, *(run.deferred[name] for name in outputs))
    finally:
        if keep is None:
            _NAMES.release(run.texts)  # the cells are texts now: the codes of the input's texts are free
    return (out, np.flatnonzero(back) if back is not None else np.zeros(0, np.int64),
            np.flatnonzero(invalid) if invalid is not None else np.zeros(0, np.int64), run.objects.needed,
            run.deferred)


def _python_cells(values: list, t) -> tuple:
    """(distinct cells, each value's index among them) of Python values, as the row engine writes them."""
    index: dict = {}
    texts: list = []
    codes = np.zeros(len(values), np.int64)
    for i, x in enumerate(values):
        text = V.text_cell(V.to_json(x, t))
        code = index.get(text)
        if code is None:
            code = index[text] = len(texts)
            texts.append(text)
        codes[i] = code
    return texts, codes


def _distinct(d):
    """(distinct values, each row's index among them), by hashing (Arrow) rather than sorting;
    a boolean column's values are their own index."""
    if d.dtype == np.bool_:
        return np.array([False, True]), d.astype(np.int64)
    try:
        import pyarrow as pa
    except ImportError:
        uniq, inverse = np.unique(d, return_inverse=True)
        return uniq, inverse.astype(np.int64).reshape(-1)
    enc = pa.array(d).dictionary_encode()
    return enc.dictionary.to_numpy(zero_copy_only=False), enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _iso_dates(days, cell) -> list:
    """`cell` of each date (days since 1970-01-01) as the row engine writes it (ISO 8601); a day
    outside years 1–9999 (a row past a list's end holds any value) is written as none."""
    import pyarrow as pa
    inside = (days >= _DAY_FIRST) & (days <= _DAY_LAST)
    iso = pa.array(np.where(inside, days, 0).astype(np.int32), pa.date32()).cast(pa.string()).to_pylist()
    if cell is V.text_cell:
        return [x if ok else None for x, ok in zip(iso, inside.tolist())]
    return ['"' + x + '"' if ok else "null" for x, ok in zip(iso, inside.tolist())]


_DAY_FIRST = dt.date(1, 1, 1).toordinal() - EPOCH
_DAY_LAST = dt.date(9999, 12, 31).toordinal() - EPOCH


def _json(v: Vec, u, t):
    """The JSON form of one column value (a row past a list's end may hold any value: a date
    out of range there writes as none)."""
    try:
        return V.to_json(_python(v, u), t)
    except (ValueError, OverflowError):
        return None


def _python(v: Vec, u):
    if v.kind == "bool":
        return bool(u)
    if v.kind == "num":
        u = int(u)
        if v.isint and v.scale == 0:
            return u
        return Decimal(u).scaleb(-v.scale)
    if v.kind == "date":
        return dt.date.fromordinal(int(u) + EPOCH)
    return _NAMES.items[int(u)]

