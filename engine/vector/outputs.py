"""Output columns: each output's `Vec` written as the row engine's JSON-form cells."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from dsl import types as T

from .. import values as V
from . import open as open_
from .columns import EPOCH, Vec, _NAMES, select
from .run import Run, engine_for

# ---------------------------------------------------------------- outputs

def cells(v: Vec, t: T.Type, rows, n: int):
    """The JSON-form cells of `v` (what `engine.values.text_cell` writes) for the rows given (a slice
    of the `n` rows, or their indices): (distinct cells, index of each row's cell among them)."""
    cell = V.text_cell
    size = len(range(n)[rows]) if isinstance(rows, slice) else len(rows)
    if v.kind not in ("bool", "num", "date", "sym"):
        texts, codes = [None], np.zeros(size, np.int64)
    else:
        d = np.full(size, v.data) if np.ndim(v.data) == 0 else v.data[rows]
        uniq, codes = _distinct(d)
        texts = [cell(V.to_json(_python(v, u), t)) for u in uniq]
        if v.none is not None:
            nn = v.none[rows]
            if nn.any():
                texts.append(None)
                codes = select(nn, len(texts) - 1, codes)
    if v.ne is not None:
        ne = v.ne[rows]
        if ne.any():  # each row's reason, deciders and bounds, as the row engine writes them
            sub = v.take(np.arange(n)[rows]) if not isinstance(rows, slice) or rows != slice(None) else v
            values, inverse, _ = open_.python_open(sub, ne, size)
            base = len(texts)
            texts.extend(cell(V.to_json(value, t)) for value in values)
            ne_codes = np.zeros(size, np.int64)
            ne_codes[ne] = base + inverse
            codes = select(ne, ne_codes, codes)
    return texts, codes


def run_columns(batch, columns: dict, n: int):
    """Evaluate a batch's columns: per output (distinct cells, each row's index among them or -1),
    and the rows (indices) the row engine must compute instead."""
    run = Run(engine_for(batch.registry), batch.schema, columns, n, batch.on)
    try:
        values, back = run.evaluate(batch.outputs)
        rows = slice(None) if back is None else np.flatnonzero(~back)
        plan = run.main.plan
        out = {}
        for name in batch.outputs:
            texts, codes = cells(values[name], plan.value_type(name), rows, n)
            if back is not None:  # the rows handed back have no cell yet (-1)
                full = np.full(n, -1, np.int64)
                full[rows] = codes
                codes = full
            out[name] = (texts, codes)
    finally:
        _NAMES.release(run.texts)  # the cells are texts now: the codes of the input's texts are free
    return out, np.flatnonzero(back) if back is not None else np.zeros(0, np.int64)


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

