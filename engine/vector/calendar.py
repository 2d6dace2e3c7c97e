"""The calendar in integer arithmetic over columns of days (the calendar of `datetime.date`)."""
from __future__ import annotations


import numpy as np



# ---------------------------------------------------------------- dates

# Proleptic Gregorian calendar in integer arithmetic (H. Hinnant's civil_from_days and
# days_from_civil), the calendar of Python's `datetime.date`.

def on_span(fn, *args):
    """`fn(*args)` for an elementwise integer function of scalars and columns, computed once per
    point of the columns' span and looked up: a batch's dates span a few years and its contract
    years a handful, so the calendar arithmetic runs on a few thousand points instead of every
    row (same values; the span is used only when it is well below the number of rows)."""
    columns = [i for i, a in enumerate(args) if np.ndim(a) == 1]
    if not columns or len(args[columns[0]]) <= 64:
        return fn(*args)
    n = len(args[columns[0]])
    size, bounds = 1, []
    for i in columns:
        lo, hi = int(args[i].min()), int(args[i].max())
        size *= hi - lo + 1
        if size > n // 4:
            return fn(*args)
        bounds.append((i, lo, hi - lo + 1))
    grid = np.arange(size, dtype=np.int64)
    points, index, stride = list(args), None, size
    for i, lo, span in bounds:
        stride //= span
        points[i] = lo + (grid // stride) % span
        offset = args[i] - lo if stride == 1 else (args[i] - lo) * stride
        index = offset if index is None else index + offset
    out = fn(*points)
    if isinstance(out, tuple):
        return tuple(o[index] for o in out)
    return out[index]


def _ymd(days):
    return on_span(_civil, np.asarray(days, np.int64))


def _civil(days):
    z = np.asarray(days, np.int64) + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _from_ymd(year, month, day):
    month = np.asarray(month, np.int64)
    y = np.asarray(year, np.int64) - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + np.asarray(day, np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _month_length(year, month):
    year = np.asarray(year, np.int64)
    month = np.asarray(month, np.int64)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)


def _add_months(days, months):
    """V.add_months: same day `months` later, the 31st becoming the month's last day; and the
    rows whose result is in or after December 9999 (where the row engine cannot compute the
    month's length): they defer. Counted in months since year 0, each looked up on its span."""
    month, day = on_span(_month_and_day, days)
    first, length, bad = on_span(_month_bounds, month + months)
    return first + np.minimum(day, length) - 1, bad


def _month_and_day(days):
    """(months since January of year 0, day of the month)."""
    y, m, d = _civil(days)
    return y * 12 + m - 1, d


def _month_bounds(months):
    """(first day, length) of a month counted from January of year 0, and whether it is out of
    the row engine's calendar (before year 1, or December 9999 and later)."""
    year, month = np.divmod(months, 12)
    month = month + 1
    bad = (year < 1) | (year > 9999) | ((year == 9999) & (month == 12))
    year = np.clip(year, 1, 9999)
    return _from_ymd(year, month, 1), _month_length(year, month), bad


def _first_day_of_next_month(days):
    y, m, _ = _civil(days)
    return _add_months(_from_ymd(y, m, 1), 1)


def _years_between(a, b):
    ya, ma, da = _civil(a)
    yb, mb, db = _civil(b)
    return yb - ya - ((mb * 100 + db) < (ma * 100 + da)).astype(np.int64)


def _months_between(a, b):
    ya, ma, da = _civil(a)
    yb, mb, db = _civil(b)
    return (yb - ya) * 12 + mb - ma - (db < da).astype(np.int64)


