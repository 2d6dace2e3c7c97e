"""The built-in functions of the language (years_between, add_months, min, …) on columns: each takes
the row count, its operands' columns and the rows already deferred or not established, and gives
a column; `_fail` is what an operation this back-end cannot compute gives."""
from __future__ import annotations

import numpy as np

from .calendar import _add_months, _first_day_of_next_month, _from_ymd, _month_length, _months_between, _years_between, _ymd, on_span
from .columns import ANDNOT, DAY_MAX, DAY_MIN, NOT, OR, Vec, as_mask, rescale, rows_where, select

# ---------------------------------------------------------------- built-in functions

def _fail(n, defer, ne, why=None, dby=None):
    """No value this back-end computes: the rows with one are deferred to the row engine; those
    not established (reasons `why`, deciders `dby`) or deferred already stay so."""
    return Vec("any", ne=ne, why=why, dby=dby, defer=OR(defer, NOT(OR(defer, ne), n)))


def _dates(values, n, defer, ne, kinds):
    for v, kind in zip(values, kinds):
        if v.kind != kind or (kind == "num" and (not v.isint or v.scale)):
            return None
    bad = OR(defer, ne)
    if bad is None:
        return [v.data for v in values]
    # garbage in rows without a value must not reach the calendar arithmetic: they take the
    # value of a row that has one (which keeps the dates' span, see `on_span`)
    first = int(np.argmin(bad))
    return [select(bad, v.data[first], v.data) if np.ndim(v.data) else v.data for v in values]


def _f_years_between(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "date"))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", on_span(_years_between, d[0], d[1]), 0, True, ne=ne, defer=defer)


def _f_months_between(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "date"))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", on_span(_months_between, d[0], d[1]), 0, True, ne=ne, defer=defer)


def _f_days_between(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "date"))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", d[1] - d[0], 0, True, ne=ne, defer=defer)


def _f_add_months(factor):
    def fn(n, values, defer, ne):
        d = _dates(values, n, defer, ne, ("date", "num"))
        if d is None:
            return _fail(n, defer, ne)
        months = d[1] * factor
        huge = rows_where(np.abs(months) > 200000, n)
        if huge is not None:
            months = months * ~huge
        result, bad = on_span(_add_months, d[0], months)
        bad = rows_where(bad, n)
        return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(OR(huge, bad), OR(defer, ne))))
    return fn


def _f_add_days(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date", "num"))
    if d is None:
        return _fail(n, defer, ne)
    days = np.clip(d[1], -(1 << 40), 1 << 40)
    result = d[0] + days
    bad = as_mask((result < DAY_MIN) | (result > DAY_MAX) | (np.abs(d[1]) >= (1 << 40)), n)
    return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(bad, OR(defer, ne))))


def _f_first_day_of_next_month(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date",))
    if d is None:
        return _fail(n, defer, ne)
    result, bad = on_span(_first_day_of_next_month, d[0])
    bad = rows_where(bad, n)
    return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(bad, OR(defer, ne))))


def _f_year(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("date",))
    if d is None:
        return _fail(n, defer, ne)
    return Vec("num", _ymd(d[0])[0], 0, True, ne=ne, defer=defer)


def _f_date(n, values, defer, ne):
    d = _dates(values, n, defer, ne, ("num", "num", "num"))
    if d is None:
        return _fail(n, defer, ne)
    y, m, day = (np.asarray(x) for x in d)
    ok = (y >= 1) & (y <= 9999) & (m >= 1) & (m <= 12) & (day >= 1)
    ys, ms = np.where(ok, y, 2000), np.where(ok, m, 1)
    ok = ok & (day <= _month_length(ys, ms))
    result = _from_ymd(ys, ms, np.where(ok, day, 1))
    return Vec("date", result, ne=ne, defer=OR(defer, ANDNOT(as_mask(~ok, n), OR(defer, ne))))


def _f_min_max(pick_min):
    def fn(n, values, defer, ne):
        if not values or any(v.kind not in ("num", "date") for v in values) or len({v.kind for v in values}) > 1:
            return _fail(n, defer, ne)  # a list argument, or mixed kinds
        kind = values[0].kind
        scale = max(v.scale for v in values) if kind == "num" else 0
        over = None
        best = None
        for v in values:
            d = v.data
            if kind == "num":
                d, o = rescale(d, v.scale, scale, n)
                over = OR(over, o)
            if best is None:
                best = d
            else:  # Python's min/max keep the first of equal values: equal values print the same
                best = np.minimum(d, best) if pick_min else np.maximum(d, best)
        return Vec(kind, best, scale, all(v.isint for v in values), ne=ne,
                   defer=OR(defer, ANDNOT(over, OR(defer, ne))))
    return fn


def _f_abs(n, values, defer, ne):
    if len(values) != 1 or values[0].kind != "num":
        return _fail(n, defer, ne)
    v = values[0]
    return Vec("num", np.abs(v.data), v.scale, v.isint, ne=ne, defer=defer)


_FUNCTIONS = {
    "years_between": _f_years_between,
    "months_between": _f_months_between,
    "days_between": _f_days_between,
    "add_years": _f_add_months(12),
    "add_months": _f_add_months(1),
    "add_days": _f_add_days,
    "first_day_of_next_month": _f_first_day_of_next_month,
    "year": _f_year,
    "date": _f_date,
    "min": _f_min_max(True),
    "max": _f_min_max(False),
    "abs": _f_abs,
    # sum, count, any, all of a list: not vectorised (flatten and failed: engine/vector/lists.py)
}


