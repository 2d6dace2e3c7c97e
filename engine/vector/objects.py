"""Columns of the row engine's own Python values (`Vec` kind "obj"), for the results that do not
fit a fixed-scale int64: a quotient, kept to 28 significant digits (engine.values.divide), and what
is computed from it until it is rounded — an attainment rate, the readings of two rates, the bounds
of a rate whose target is not established.

Each row holds the value the row engine would hold (an int, a Decimal, a NotEstablished with its
bounds), and each operation applies, row by row, the row engine's own operator: the Decimal
arithmetic of engine/values.py, or engine/uncertain.py where an operand is not established. The
results are the row engine's by construction, at the cost of a Python call per row and operation —
still far from a case evaluated alone, and only on the rows and operations that meet a quotient.
`settle` turns a column back into int64 form as soon as its values fit (after `round … to cent`).
"""
from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal

import numpy as np

from .. import uncertain as U
from .. import values as V
from ..values import NotEstablished
from . import open as open_
from .columns import _NAMES, EPOCH, LIMIT, MAX_SCALE, NOT, OR, Vec, _scaled, reason_code, wide




class _Err(Exception):
    """The row engine raises an error on this row: the row is handed back."""


_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}


# ---------------------------------------------------------------- to and from Python values

def python_values(v: Vec, n: int, rows) -> np.ndarray:
    """Each row's value as the row engine holds it, on the rows of `rows` (None elsewhere)."""
    out = np.empty(n, object)
    if v.kind == "obj":
        data = wide(v.data, n) if np.ndim(v.data) == 0 else v.data
        out[rows] = data[rows]
        return out
    value_rows = rows & ~open_._full(OR(v.ne, v.none, v.defer), n)
    if value_rows.any() and v.kind in ("num", "bool", "date", "sym"):
        d = wide(v.data, n)[value_rows].tolist()
        if v.kind == "num":
            if v.isint:
                f = 10 ** v.scale
                vals = d if f == 1 else [x // f for x in d]
            else:
                vals = [Decimal(x).scaleb(-v.scale) for x in d]
        elif v.kind == "bool":
            vals = [bool(x) for x in d]
        elif v.kind == "date":
            vals = [dt.date.fromordinal(x + EPOCH) for x in d]
        else:
            vals = [_NAMES.items[x] for x in d]
        out[value_rows] = vals
    ne_rows = rows & open_._full(v.ne, n)
    if ne_rows.any():
        values, inverse, _ = open_.python_open(v, ne_rows, n)
        table = np.empty(len(values), object)
        table[:] = values
        out[ne_rows] = table[inverse]
    return out


def from_values(n: int, data: np.ndarray, rows, defer=None) -> Vec:
    """The column of Python values `data` on `rows` (values, none, not established), settled into
    int64 form where they fit."""
    rows = np.asarray(rows) & ~open_._full(defer, n)
    idx = np.flatnonzero(rows)
    values = data[idx]
    none = np.zeros(n, bool)
    ne = np.zeros(n, bool)
    why = np.zeros(n, np.int32)
    dby = np.zeros(n, np.int32)
    if len(idx):
        classes = _CLASS(values)
        none[idx] = classes == _NONE
        opened = classes == NotEstablished
        if opened.any():
            at = idx[opened]
            ne[at] = True
            found = values[opened].tolist()
            reasons = [x.reason for x in found]
            deciders = [x.decided_by for x in found]
            codes = {r: reason_code(r) for r in set(reasons)}  # a few reasons and deciders, many rows
            why[at] = [codes[r] for r in reasons]
            codes = {d: open_.dby_code(d) for d in set(deciders)}
            dby[at] = [codes[d] for d in deciders]
    v = Vec("obj", data, none=none if none.any() else None, ne=ne if ne.any() else None, defer=defer,
            why=why, dby=dby)
    return settle(v, n, rows)


_NONE = type(None)
_CLASS = np.frompyfunc(lambda x: x.__class__, 1, 1)  # each Python value's class, in one numpy call
_EXPONENT = np.frompyfunc(lambda x: x.as_tuple().exponent, 1, 1)


def settle(v: Vec, n: int, rows) -> Vec:
    """`v` in int64 form (num, bool, date) when every value and bound on `rows` fits one; else `v`."""
    idx = np.flatnonzero(rows & ~open_._full(OR(v.defer, v.none), n))
    array = v.data[idx]
    classes = _CLASS(array)
    fast = _settle_plain(v, n, idx, array, classes)
    if fast is not None:
        return fast
    is_open = classes == NotEstablished
    plain = array[~is_open]
    plain_classes = classes[~is_open]
    decimals = plain_classes == Decimal
    if decimals.any():  # the usual end in a second pass, decided before the bounds are looked at:
        if (plain_classes == int).any():  # ints and Decimals mixed (see below), or
            return v
        finite = [e for e in _EXPONENT(plain[decimals]).tolist() if isinstance(e, int)]
        if finite and -min(finite) > MAX_SCALE:  # more places than a column holds (a 28-digit quotient)
            return v
    values = array.tolist()
    opened = array[is_open].tolist()
    if any(x.shape == "set" for x in opened):
        return v
    bounds = [b for x in opened if x.shape == "range" for b in (x.low, x.high) if b is not None]
    if not len(plain) and not bounds:  # nothing but none and values not established without bounds
        return Vec("any", none=v.none, ne=v.ne, defer=v.defer, why=v.why, dby=v.dby)
    if (plain_classes == bool).all() and not bounds:
        data = np.zeros(n, bool)
        data[idx] = [bool(x) if not isinstance(x, NotEstablished) else False for x in values]
        return v.replace(kind="bool", data=data)
    number_classes = np.concatenate([plain_classes, _CLASS(np.array(bounds + [None], object))[:-1]])
    ints, decimals = number_classes == int, number_classes == Decimal
    if not (ints | decimals).all():
        return v  # a boolean, a date or a text among numbers
    isint = bool(ints.all())
    if not isint and ints.any():
        return v  # ints and Decimals mixed: the row engine writes them differently (1 and "1")
    scale = 0
    if not isint:
        numbers = np.concatenate([plain, np.array(bounds + [None], object)[:-1]])
        exponents = [e for e in _EXPONENT(numbers).tolist() if isinstance(e, int)]  # finite ones
        scale = max(0, -min(exponents)) if exponents else 0
    if scale > MAX_SCALE:
        return v

    def scaled(x):
        if isinstance(x, int):
            y = x * 10 ** scale
            return y if abs(y) < LIMIT else None
        if x.is_zero() and x.is_signed():
            return None  # -0 is written as such: left as a Python value
        s = _scaled(x, scale)
        return None if s is None else s[0]
    data = np.zeros(n, np.int64)
    lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
    loinf, hiinf, loopen, hiopen = (np.zeros(n, bool) for _ in range(4))
    rng = np.zeros(n, bool)
    for i, x in zip(idx.tolist(), values):
        if isinstance(x, NotEstablished):
            if x.shape != "range":
                continue
            for b, arr, inf in ((x.low, lo, loinf), (x.high, hi, hiinf)):
                if b is None:
                    inf[i] = True
                else:
                    s = scaled(b)
                    if s is None:
                        return v
                    arr[i] = s
            loopen[i], hiopen[i] = x.low_open, x.high_open
            rng[i] = True
            continue
        s = scaled(x)
        if s is None:
            return v
        data[i] = s
    iv = open_.Interval(n, lo, hi, *(m if m.any() else None for m in (loinf, hiinf, loopen, hiopen))) \
        if rng.any() else None
    return Vec("num", data, scale, isint, v.none, v.ne, v.defer, v.why, v.dby, rng if rng.any() else None, iv)


def _settle_plain(v: Vec, n: int, idx, values, classes):
    """settle's common cases in a few numpy calls — every value on `idx` (`values`, of `classes`) a
    Decimal, every one an int, or every one a boolean: `v` in int64 form, or `v` itself when its
    values do not fit one. None (anything else: a value not established, classes mixed, an
    infinity): settle decides value by value."""
    if not len(idx):
        return None
    if (classes == bool).all():
        data = np.zeros(n, bool)
        data[idx] = values.astype(bool)
        return v.replace(kind="bool", data=data)
    if (classes == Decimal).all():
        exponents = set(_EXPONENT(values).tolist())
        if not all(isinstance(e, int) for e in exponents):
            return None  # an infinity or a NaN
        scale = max(0, -min(exponents))
        if scale > MAX_SCALE:
            return v
        scaled = values * Decimal(1).scaleb(scale)  # exact: a power of ten moves the exponent only
        ints = _INT(scaled)
        if (ints == 0).any() and any(x.is_zero() and x.is_signed() for x in values.tolist()):
            return v  # -0 is written as such: left as Python values
        isint = False
    elif (classes == int).all():
        ints, scale, isint = values, 0, True
    else:
        return None
    if (np.abs(ints) >= LIMIT).any():
        return v
    data = np.zeros(n, np.int64)
    data[idx] = ints.astype(np.int64)
    return Vec("num", data, scale, isint, v.none, v.ne, v.defer, v.why, v.dby)


_INT = np.frompyfunc(int, 1, 1)


class _Failed:
    """A row where the row engine errs (strict's rule answers `_FAILED`, not an exception)."""


_FAILED = _Failed()


_ERRORS = (_Err, ArithmeticError, ValueError, TypeError, OverflowError, U.Empty)  # ZeroDivisionError too


def _row_rule(compute, abstract, operation):
    """What a strict operation gives on one row (expressions._Compiler._strict and _strict_open): `compute` of
    values; `abstract` where an operand is not established (nothing known when it has none or
    finds no world); `_FAILED` where the row engine errs. What `abstract` gives is kept by
    `operation` and operands (`_KNOWN`): the same bounds meet the same operations in many rows,
    and in each of `compare`'s evaluations."""
    def rule(*values):
        try:
            if any(x.__class__ is NotEstablished for x in values):
                key = (operation, *((x.__class__, x) for x in values))
                try:
                    found = _KNOWN.get(key, _MISSING)
                except TypeError:  # an operand that cannot be hashed
                    key, found = None, _MISSING
                if found is not _MISSING:
                    return found
                if abstract is None:
                    found = _open(values)
                else:
                    try:
                        found = abstract(*values)
                    except U.Empty:
                        found = _open(values)
                if key is not None:
                    if len(_KNOWN) >= _KNOWN_MAX:
                        _KNOWN.clear()
                    _KNOWN[key] = found
                return found
            return compute(*values)
        except _ERRORS:
            return _FAILED
    return rule


_MISSING = object()
_KNOWN: dict = {}  # (operation, operands) → what uncertain.py gives: pure functions of their operands
_KNOWN_MAX = 1 << 16


def forget() -> None:
    """Empty `_KNOWN`. `millesime batch` calls it before each chunk (engine/batch.py, `next_chunk`):
    what it holds is then bounded by the operands of one chunk, and a process's memory stays flat
    however long the file (filled up to _KNOWN_MAX, it held ≈ 75 MiB more at 1 000 000 rows than
    at 100 000)."""
    _KNOWN.clear()


def _open(values) -> NotEstablished:
    first = next(x for x in values if isinstance(x, NotEstablished))
    return U.top(first.reason, U.decided_by(*values), first.loc)


# ---------------------------------------------------------------- operations, row by row

def strict(n: int, operands: list, compute, abstract=None, operation=None) -> Vec:
    """A strict operation (expressions._Compiler._strict and _strict_open) on operands some of which are Python
    values: `compute(*values)` where every operand has a value, `abstract(*values)` where one is not
    established and the others have a value or are not established; a row where the row engine
    errs (`_Err`, or an exception of the operation) is handed back. One numpy call applies the
    row's rule (`_row_rule`) to every row."""
    scan = open_.Scan(operands, n)
    live = NOT(OR(scan.defer, scan.ne), n)
    rows = live | open_._full(scan.opened, n)
    cols = [python_values(v, n, rows) for v in operands]
    out = np.empty(n, object)
    bad = np.zeros(n, bool)
    idx = np.flatnonzero(rows)
    if len(idx):
        got = np.frompyfunc(_row_rule(compute, abstract, operation or (compute, abstract)), len(cols), 1)(
            *(c[idx] for c in cols))
        failed = _CLASS(got) == _Failed
        if failed.any():
            bad[idx[failed]] = True
            got[failed] = None
        out[idx] = got
    topped = open_._full(scan.topped, n)
    result = from_values(n, out, rows, OR(scan.defer, bad if bad.any() else None))
    if not topped.any():
        return result
    top = Vec("any", ne=topped, why=scan.why, dby=scan.dby)
    from .columns import merge
    return merge(n, [(NOT(topped, n), result), (topped, top)])


def divide(n: int, a: Vec, b: Vec) -> Vec:
    """`a / b` (uncertain.quotient and quotient_open, as expressions._Compiler._Arith): by zero, the row
    engine's error."""
    return strict(n, [a, b], U.quotient, U.quotient_open, ("/",))


def arith(n: int, op: str, a: Vec, b: Vec) -> Vec:
    fn = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]
    return strict(n, [a, b], fn, lambda x, y: U.arith(op, x, y), (op,))


def negate(n: int, v: Vec) -> Vec:
    return strict(n, [v], operator.neg, U.negate, ("neg",))


def round_(n: int, v: Vec, mode: str, unit: str) -> Vec:
    return strict(n, [v], lambda x: V.round_value(x, mode, unit), lambda x: U.round_range(x, mode, unit),
                  ("round", mode, unit))


def function(n: int, name: str, values: list) -> Vec:
    """min, max, abs (expressions._Compiler._Call with the row engine's own functions)."""
    from ..expressions import _FUNCTIONS
    fn = _FUNCTIONS[name]
    return strict(n, values, fn, lambda *xs: U.function(name, fn, list(xs)), ("function", name))


def compare(n: int, op: str, a: Vec, b: Vec) -> Vec:
    """`a op b` (expressions._Compiler._Compare), a boolean column."""
    equality = op in ("=", "!=")
    fn = _COMPARE[op]
    rows = NOT(OR(a.defer, b.defer), n)
    x, y = python_values(a, n, rows), python_values(b, n, rows)
    out = np.empty(n, object)
    bad = np.zeros(n, bool)
    for i in np.flatnonzero(rows).tolist():
        p, q = x[i], y[i]
        try:
            if isinstance(p, NotEstablished) or isinstance(q, NotEstablished):
                out[i] = _open([p, q]) if not equality and (p is None or q is None) else U.compare(op, p, q)
            elif not equality and (p is None or q is None):
                raise _Err
            else:
                out[i] = fn(p, q)
        except (_Err, TypeError, ArithmeticError):
            bad[i] = True
    return from_values(n, out, rows, OR(a.defer, b.defer, bad if bad.any() else None))


def join(n: int, rows, active: list, deciding) -> Vec:
    """open.join where an outcome holds Python values: uncertain.join on each row."""
    defer = rows & ~np.logical_or.reduce([m for m, _ in active]) if active else rows.copy()
    for m, v in active:
        if v.defer is not None:
            defer |= m & v.defer
    live = rows & ~defer
    cols = [(m, python_values(v, n, m & live)) for m, v in active]
    deciding = wide(np.asarray(deciding if deciding is not None else 0), n)
    out = np.empty(n, object)
    for i in np.flatnonzero(live).tolist():
        outcomes = [c[i] for m, c in cols if m[i]]
        key = ("join", int(deciding[i]), *((x.__class__, x) for x in outcomes))
        try:
            found = _KNOWN.get(key, _MISSING)
        except TypeError:  # an outcome that cannot be hashed
            key, found = None, _MISSING
        if found is _MISSING:
            found = U.join(outcomes, open_.deciders(deciding[i]))
            if key is not None:
                if len(_KNOWN) >= _KNOWN_MAX:
                    _KNOWN.clear()
                _KNOWN[key] = found
        out[i] = found
    return from_values(n, out, live, defer if defer.any() else None)


def merged(n: int, parts: list, ne, why, dby, defer) -> Vec:
    """columns.merge of parts one of which holds Python values."""
    data = np.empty(n, object)
    for m, v in parts:
        m = wide(m, n)
        values = python_values(v, n, m)
        data[m] = values[m]
    taken = np.logical_or.reduce([wide(m, n) for m, _ in parts])
    out = from_values(n, data, taken & ~open_._full(OR(defer, ne), n), OR(defer, *(
        wide(m, n) & v.defer for m, v in parts if v.defer is not None)))
    if ne is None:
        return out
    from .columns import merge
    return merge(n, [(NOT(ne, n), out)], ne=ne, why=why, dby=dby)


def scattered(n: int, parts: list) -> Vec:
    """columns.scatter of parts one of which holds Python values."""
    data = np.empty(n, object)
    rows = np.zeros(n, bool)
    defer = np.zeros(n, bool)
    for idx, v in parts:
        k = len(idx)
        values = python_values(v, k, np.ones(k, bool))
        data[idx] = values
        rows[idx] = True
        if v.defer is not None:
            defer[idx] = v.defer
    return from_values(n, data, rows, defer if defer.any() else None)


def refine(n: int, value: Vec, op: str, other: Vec, holds: bool, where):
    """Narrowing of a parameter holding Python values (uncertain.refine on each row): (the value
    narrowed on `where`, rows where the branch cannot be taken)."""
    mine = python_values(value, n, where)
    theirs = python_values(other, n, where)
    data = python_values(value, n, NOT(value.defer, n))
    never = np.zeros(n, bool)
    for i in np.flatnonzero(where & open_._full(value.ne, n)).tolist():
        try:
            data[i] = U.refine(mine[i], op, theirs[i], holds)
        except U.Empty:
            never[i] = True
    return from_values(n, data, NOT(value.defer, n), value.defer), (never if never.any() else None)


def settled_or_none(v: Vec, n: int):
    """`v` in int64 form, or None when its values do not fit one."""
    if v.kind != "obj":
        return v
    s = settle(v, n, NOT(v.defer, n))
    return s if s.kind != "obj" else None

