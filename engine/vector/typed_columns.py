"""Typed result columns (engine/typed.py) built straight from the vector back-end's columns.

`engine.typed.Columns.arrays` builds an output's Arrow arrays from JSON-form values, one Python
value per row. The batch path used to write each output's `Vec` as JSON-form text cells
(outputs.cells), decode every distinct cell back to JSON form and convert it: cheap for scalars
(few distinct values), but a payment calendar is distinct on nearly every row, so that was
Python per row. Here the same arrays come from the columns themselves:

- numbers are int64 columns at a fixed decimal scale: money becomes `decimal128(18, 2)` and
  decimals/percents `decimal128(38, 32)` by Arrow casts of the integers (int64 → decimal128(38, 0)
  → decimal128(P, S − scale), whose unscaled integers, read at scale S, are the values exactly:
  no float anywhere); a value the type cannot hold exactly (a cent fraction, too many digits)
  makes the builder give up, and the JSON-form path raises its own error;
- dates are days since 1970 (date32 as is), texts and enum members codes of the interning table
  (a string or dictionary array from the distinct codes);
- not-established rows: null value, their reason, bounds (numbers and dates) and the names of
  their deciders, from `why`, `rng`/`iv` and `dby` (distinct codes converted once);
- a list is a length per row and a column per position: each record field's position columns are
  stacked and flattened row-major with numpy (row i's first `length[i]` elements), converted as
  one column of elements, and the list is `ListArray.from_arrays(offsets, StructArray)`.

`arrays` gives exactly what `Columns(name, t, enums).arrays(json_form_values)` would give for
the same rows (tests/test_typed_vector.py compares whole tables), or None when it does not
handle the column — Python values ("obj" columns), records outside lists, lists of lists, enum
members inside lists (whose dictionary the JSON-form path builds from the values it meets), and
any doubt about a value (garbage codes, out-of-range dates): the caller then takes the
JSON-form path for that output. Rows handed back (`use` false) are null here; the caller puts
their values in place (`place`).
"""
from __future__ import annotations

import numpy as np

from .. import typed as TY
from .columns import Vec, _NAMES, _REASONS, wide
from .open import Interval, deciders

_OPEN_PREFIX = '{"not_established"'  # a text cell starting so is read back as a value not established
_DAY_FIRST = -719162   # 0001-01-01 in days since 1970-01-01
_DAY_LAST = 2932896    # 9999-12-31
_VEC_KIND = {"bool": "bool", "int": "num", "money": "num", "decimal": "num", "percent": "num", "date": "date",
             "text": "sym", "enum": "sym"}


class Mismatch(Exception):
    """Arrays that cannot be placed together as the JSON-form path would build them (an
    enumeration's dictionary differs): the caller builds the whole output that way."""


def _pa():
    import pyarrow as pa
    return pa


class Built:
    """An output's typed arrays over all the rows of a batch (outputs.run_columns)."""
    __slots__ = ("arrays",)

    def __init__(self, arrays: list):
        self.arrays = arrays


def arrays(v: Vec, name: str, t, members: list | None, n: int, use=None) -> list | None:
    """The arrays of `engine.typed.output_fields(name, t)` for the `n` rows of `v` (rows where
    `use` is false left null), or None: the JSON-form path must build them. `members`: an
    enumeration's members, in order (`engine.typed.Columns.enum_members`)."""
    use = np.ones(n, bool) if use is None else use
    if v.defer is not None and (v.defer & use).any():
        return None
    kind = TY._kind(t)
    try:
        if kind in TY.SCALAR:
            if kind == "enum" and members is None:
                return None
            parts = _scalar(v, kind, n, use, members, top=True)
        elif kind == "list":
            parts = _list(v, t, n, use)
        else:
            return None
    except _GiveUp:
        return None
    except _pa().ArrowInvalid:  # a value its type cannot hold exactly: the JSON-form path says which
        return None
    out = [parts[f.name[len(name):]] for f in TY.output_fields(name, t)]
    for array, f in zip(out, TY.output_fields(name, t)):
        if array.type != f.type:  # never expected: rather the slow path than a wrong schema
            return None
    return out


class _GiveUp(Exception):
    pass


# ---------------------------------------------------------------- scalars

def _scalar(v: Vec, kind: str, n: int, use, members=None, top: bool = False) -> dict:
    """{field suffix: array} of `_fields` for a scalar column (`typed._parts` over rows)."""
    pa = _pa()
    if v.kind not in (_VEC_KIND[kind], "any"):
        raise _GiveUp
    if v.kind == "num" and kind == "int" and not (v.isint and v.scale == 0):
        raise _GiveUp  # written as a decimal text, which an int64 column refuses
    none = _mask(v.none, n)
    ne = _mask(v.ne, n) & use
    value = use & ~none & ~ne & ~_mask(v.defer, n)
    if v.kind == "any":
        if value.any() or v.rng is not None:
            raise _GiveUp
        if kind == "enum":  # the JSON-form path gives the members as dictionary even to nulls
            out = {"": pa.DictionaryArray.from_arrays(pa.nulls(n, pa.int32()), pa.array(members, pa.string()))}
        else:
            out = {"": pa.nulls(n, _scalar_type(kind))}
    else:
        data = wide(v.data, n)
        out = {"": _values(data, v.scale, kind, value, n, members, top, use)}
    out.update(_open_parts(v, kind, n, ne))
    return out


def _values(data, scale: int, kind: str, valid, n: int, members=None, top=False, use=None):
    pa = _pa()
    if kind == "bool":
        return pa.array(np.asarray(data, bool), pa.bool_(), mask=~valid)
    if kind == "int":
        return pa.array(np.asarray(data, np.int64), pa.int64(), mask=~valid)
    if kind in ("money", "decimal", "percent"):
        return decimal_array(np.asarray(data, np.int64), scale, TY.MONEY_TYPE if kind == "money" else TY.DECIMAL_TYPE,
                        valid)
    if kind == "date":
        days = np.asarray(data, np.int64)
        inside = (days >= _DAY_FIRST) & (days <= _DAY_LAST)  # outside: written as none (outputs._json)
        ok = valid & inside
        return pa.array(np.where(ok, days, 0).astype(np.int32), pa.int32(), mask=~ok).view(pa.date32())
    if kind == "text":
        return _texts(data, valid, top)
    if kind == "enum":
        return _members(data, valid, members, use)
    raise _GiveUp


def decimal_array(data, scale: int, target: tuple, valid):
    """Integers at `scale` → decimal128(P, S), exactly (Arrow's casts check every value fits;
    `_GiveUp` when one does not), null where not `valid`."""
    pa = _pa()
    precision, s = target
    x = np.where(valid, data, 0)
    if scale > s:  # more decimals than the type: only whole multiples fit
        f = np.int64(10 ** (scale - s))
        if (x % f).any():
            raise _GiveUp
        x, scale = x // f, s
    # |x| / 10**scale < 10**(precision - s), checked here: Arrow's rescaling cast to precision 38
    # wraps around int128 instead of refusing (pyarrow 26: 16847379987 → 0.744…)
    limit = 10 ** (precision - s + scale)
    if limit <= np.iinfo(np.int64).max and ((x >= limit) | (x <= -limit)).any():
        raise _GiveUp
    arr = pa.array(x, pa.int64(), mask=~valid).cast(pa.decimal128(38, 0)).cast(pa.decimal128(precision, s - scale))
    return pa.Array.from_buffers(pa.decimal128(precision, s), len(arr), arr.buffers(), null_count=arr.null_count,
                                 offset=arr.offset)


def _distinct(codes, valid):
    """(distinct codes, each valid row's index among them as an Arrow index array, nulls elsewhere)."""
    pa = _pa()
    uniq, inverse = np.unique(np.asarray(codes, np.int64)[valid], return_inverse=True)
    idx = np.zeros(len(valid), np.int64)
    idx[valid] = inverse.reshape(-1)
    return uniq, pa.array(idx, pa.int64(), mask=~valid)


def _texts(codes, valid, top: bool):
    pa = _pa()
    uniq, idx = _distinct(codes, valid)
    texts = [_NAMES.items[int(c)] for c in uniq]
    if any(not isinstance(x, str) for x in texts):
        raise _GiveUp
    if top and any(x.startswith(_OPEN_PREFIX) for x in texts):  # decode_cell would read it as open
        raise _GiveUp
    return pa.array(texts, pa.string()).take(idx)


def _members(codes, valid, members, use):
    """An enumeration as the JSON-form path builds it: the members as dictionary, when every
    value it is given is a member — including what outputs.cells writes for rows without a value
    (their codes are whatever the column holds there)."""
    pa = _pa()
    codes = np.asarray(codes, np.int64)
    index = {m: i for i, m in enumerate(members)}
    for c in np.unique(codes[use]).tolist():
        x = _NAMES.items[c] if 0 <= c < len(_NAMES.items) else None
        if x is not None and x not in index:
            raise _GiveUp
    uniq, inverse = np.unique(codes[valid], return_inverse=True)
    positions = np.zeros(len(valid), np.int32)
    if len(uniq):
        lookup = np.array([index[_NAMES.items[int(c)]] for c in uniq], np.int32)
        positions[valid] = lookup[inverse.reshape(-1)]
    return pa.DictionaryArray.from_arrays(pa.array(positions, pa.int32(), mask=~valid), pa.array(members, pa.string()))


def _open_parts(v: Vec, kind: str, n: int, ne) -> dict:
    """The not-established fields: reason, bounds (ordered kinds), one_of (scalars), decided_by."""
    pa = _pa()
    out = {TY.NE: _reasons(v.why, n, ne), TY.DECIDED: _decided(v.dby, n, ne)}
    if kind in TY.ORDERED:
        out[TY.LOW], out[TY.HIGH] = _bounds(v, kind, n, ne)
    if kind in TY.SCALAR:
        out[TY.ONE_OF] = pa.nulls(n, pa.list_(_scalar_type(kind)))  # sets are handed back, never in columns
    return out


def _reasons(why, n, ne):
    pa = _pa()
    if not ne.any():
        return pa.nulls(n, pa.string())
    uniq, idx = _distinct(wide(why if why is not None else 0, n), ne)
    return pa.array([_REASONS.items[int(c)] or "" for c in uniq], pa.string()).take(idx)


def _decided(dby, n, ne):
    pa = _pa()
    if not ne.any():
        return pa.nulls(n, pa.list_(pa.string()))
    uniq, idx = _distinct(wide(dby if dby is not None else 0, n), ne)
    names = [[u.name for u in sorted(deciders(int(c)), key=lambda u: (u.name, u.key))] for c in uniq]
    return pa.array(names, pa.list_(pa.string())).take(idx)


def _bounds(v: Vec, kind: str, n: int, ne):
    pa = _pa()
    typ = _scalar_type(kind)
    rng = _mask(v.rng, n) & ne
    if not rng.any():
        return pa.nulls(n, typ), pa.nulls(n, typ)
    if v.kind not in ("num", "date"):
        raise _GiveUp
    iv = v.iv
    out = []
    for b, inf in ((iv.lo, iv.loinf), (iv.hi, iv.hiinf)):
        known = rng & ~_mask(inf, n)
        data = wide(b, n)
        if kind == "date":
            d = np.asarray(data, np.int64)[known]
            if ((d < _DAY_FIRST) | (d > _DAY_LAST)).any():
                raise _GiveUp  # the JSON-form path cannot write that date either
        out.append(_values(data, v.scale, kind, known, n))
    return out


def _scalar_type(kind: str):
    pa = _pa()
    return {"int": pa.int64(), "money": pa.decimal128(*TY.MONEY_TYPE), "decimal": pa.decimal128(*TY.DECIMAL_TYPE),
            "percent": pa.decimal128(*TY.DECIMAL_TYPE), "bool": pa.bool_(), "date": pa.date32(), "text": pa.string(),
            "enum": pa.dictionary(pa.int32(), pa.string())}[kind]


def _mask(m, n):
    if m is None:
        return np.zeros(n, bool)
    return wide(m, n)


# ---------------------------------------------------------------- lists

def _list(v: Vec, t, n: int, use) -> dict:
    """{field suffix: array} for a list column: the lists (offsets from each row's length, the
    elements flattened row by row), and whether the list itself is established."""
    pa = _pa()
    inner = t.base.args[0]
    ikind = TY._kind(inner)
    if v.kind not in ("list", "any"):
        raise _GiveUp
    none = _mask(v.none, n)
    ne = _mask(v.ne, n) & use
    value = use & ~none & ~ne & ~_mask(v.defer, n)
    out = {TY.NE: _reasons(v.why, n, ne), TY.DECIDED: _decided(v.dby, n, ne)}
    vtype = TY.value_type(t)
    if v.kind == "any":
        if value.any():
            raise _GiveUp
        out[""] = pa.nulls(n, vtype)
        return out
    items = v.data.items
    length = np.where(value, wide(np.asarray(v.data.length, np.int64), n), 0)
    k_max = int(length.max()) if n else 0
    if k_max > len(items):
        raise _GiveUp
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(length, out=offsets[1:])
    if offsets[-1] >= 2 ** 31:
        raise _GiveUp
    at = np.arange(k_max)[:, None] < length[None, :]  # (position, row): an element there
    m = int(offsets[-1])
    if ikind == "record":
        if any(fname == "not_established" for fname, _ in inner.base.fields):
            raise _GiveUp  # typed._value would read such an element as not established
        for k in range(k_max):
            item = items[k]
            if item.kind != "record" or (item.bad() is not None and (item.bad() & at[k]).any()):
                raise _GiveUp  # an element none or not established as a whole: the JSON-form path's way
        children, fields = [], []
        for fname, ft in inner.base.fields:
            fkind = TY._kind(ft)
            if fkind not in TY.SCALAR or fkind == "enum":
                raise _GiveUp
            flat = _flatten([items[k].data.get(fname) for k in range(k_max)], at, m)
            parts = _scalar(flat, fkind, m, np.ones(m, bool))
            for f in TY._fields(fname, ft):
                children.append(parts[f.name[len(fname):]])
                fields.append(f)
    elif ikind in TY.SCALAR and ikind != "enum":
        flat = _flatten(items[:k_max], at, m)
        parts = _scalar(flat, ikind, m, np.ones(m, bool))
        fields = TY._fields("value", inner)
        children = [parts[f.name[len("value"):]] for f in fields]
    else:
        raise _GiveUp
    if not fields:
        raise _GiveUp
    struct = pa.StructArray.from_arrays(children, fields=fields)
    out[""] = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32), pa.int32()), struct,
                                       type=vtype, mask=pa.array(~value))
    return out


def _flatten(vecs: list, at, m: int) -> Vec:
    """The columns of positions 0..K-1 (each over the n rows) as one column of the `m` elements,
    row by row: row i's positions where `at[k, i]`. A position without a column (a record
    without that field) holds none."""
    n = at.shape[1]
    present = [x for x in vecs if x is not None and x.kind != "any"]
    kinds = {x.kind for x in present}
    if len(kinds) > 1 or kinds & {"obj", "opaque", "const", "list", "record", "map"}:
        raise _GiveUp
    if any(x is not None and x.kind == "any" and x.rng is not None for x in vecs):
        raise _GiveUp
    kind = kinds.pop() if kinds else "any"
    scale = max((x.scale for x in present), default=0) if kind == "num" else 0
    isint = all(x.isint for x in present) if kind == "num" else False

    def rows(get, dtype, absent, missing=None):
        """Per element, `get(x)` of its position's column (`absent` where that gives None, `missing`
        where the position has no column)."""
        stack = np.empty((len(vecs), n), dtype)
        for k, x in enumerate(vecs):
            value = get(x) if x is not None else None
            if value is None:
                value = missing if x is None and missing is not None else absent
            stack[k] = wide(value, n)
        return stack.T[at.T]

    def data(x):
        if x.kind == "any":
            return None
        if x.kind != "num" or x.scale == scale:
            return x.data
        return _rescaled(x.data, x.scale, scale, x.bad(), n)

    def bound(x, which):
        if x.rng is None:
            return None
        b = getattr(x.iv, which)
        if x.kind != "num" or x.scale == scale:
            return b
        inf = x.iv.loinf if which == "lo" else x.iv.hiinf
        return _rescaled(b, x.scale, scale, inf, n, only=x.rng)

    flat_data = rows(data, np.int64 if kind != "bool" else np.bool_, 0)
    # a position without a column, or an "any" column, holds none where it is not established
    # (outputs.cells writes none for every other row of a column without values)
    none = rows(lambda x: x.none if x.kind != "any" else True, bool, False, missing=True)
    ne = rows(lambda x: x.ne, bool, False)
    defer = rows(lambda x: x.defer, bool, False)
    none = none & ~ne & ~defer
    why = rows(lambda x: x.why, np.int64, 0)
    dby = rows(lambda x: x.dby, np.int64, 0)
    rng = rows(lambda x: x.rng, bool, False)
    iv = None
    if rng.any():
        iv = Interval(m, rows(lambda x: bound(x, "lo"), np.int64, 0), rows(lambda x: bound(x, "hi"), np.int64, 0),
                      rows(lambda x: x.iv.loinf if x.rng is not None else None, bool, False),
                      rows(lambda x: x.iv.hiinf if x.rng is not None else None, bool, False))
    if defer.any():
        raise _GiveUp
    return Vec(kind, flat_data if kind != "any" else None, scale, isint, none=none, ne=ne, why=why, dby=dby,
               rng=rng if iv is not None else None, iv=iv)


def _rescaled(data, s0: int, s1: int, skip, n: int, only=None):
    """Data at scale s0 → s1 > s0, exactly; rows that would overflow int64 make the builder give up
    (on the rows that matter: not `skip`, and within `only`)."""
    f = 10 ** (s1 - s0)
    data = wide(np.asarray(data, np.int64), n)
    over = np.abs(data) >= (1 << 62) // f
    matter = np.ones(n, bool) if skip is None else ~wide(skip, n)
    if only is not None:
        matter = matter & wide(only, n)
    if (over & matter).any():
        raise _GiveUp
    return np.where(over, 0, data) * np.int64(f)


# ---------------------------------------------------------------- placing rows computed elsewhere

def place(base: list, rows, patch: list) -> list:
    """`base` (arrays over all rows) with the rows `rows` (indices) taken from `patch` (arrays of
    the same fields, one row per index, in that order)."""
    pa = _pa()
    if len(rows) == 0:
        return base
    n = len(base[0])
    index = np.arange(n, dtype=np.int64)
    index[np.asarray(rows, np.int64)] = n + np.arange(len(rows), dtype=np.int64)
    index = pa.array(index)
    out = []
    for a, b in zip(base, patch):
        if a.type != b.type:
            raise Mismatch(f"{a.type} / {b.type}")
        if pa.types.is_dictionary(a.type) and not a.dictionary.equals(b.dictionary):
            raise Mismatch("dictionary")
        out.append(pa.concat_arrays([a, b]).take(index))
    return out
