"""The vectorised back-end: a ruleset's expressions as column operations over a whole batch.

The row engine (engine/compiler.py + engine/interpreter.py) evaluates one case at a time
through a closure tree. Here the same ruleset is compiled a second time, into closures that
take a *context* (a ruleset, an evaluation date per row, a set of rows) and return a `Vec`:
one numpy column for the whole batch, never a Python object per row.

Exact values, no float:

- money, decimals and percents are int64 columns in a fixed decimal scale per column
  (`value = data / 10**scale`): 21 000,00 € is 2100000 at scale 2, 7,5 % is 75 at scale 3;
  additions align scales, products add them, `round … to cent|euro|unit` is integer
  arithmetic with the row engine's modes (half-up away from zero, ceiling, floor);
- dates are int64 days since 1970-01-01; enum members and texts are codes of one interning
  table; booleans are numpy booleans.

Every column carries three row masks besides its data, which reproduce the row engine's
lazy semantics without evaluating lazily:

- `none`: the value is `none` (a missing optional input, `none` written in a rule);
- `ne`: the value is *not established*; `why` holds each such row's reason (a code of a table
  of reasons), the first one met in the row engine's order of evaluation;
- `defer`: the row engine would do something this back-end does not reproduce on that row —
  raise an error (a missing value used, a table without that row, a division by zero), or
  compute something not vectorised (a division, a list, a record, a value out of the int64
  range or with a negative-zero Decimal sign). Deferring is always safe.

Branches are evaluated for all rows (or skipped when no row takes them), and each operator
combines its operands' masks exactly as the row engine's evaluation order would: `if` only
sees the errors of the branch a row takes, `and`/`or` stop at the first decisive operand
(Kleene logic), rule exceptions raise a conflict error when two apply, waivers lift a
requirement, strict operators propagate *not established* from their first operand that is.

`x as of D` splits the rows by the ruleset in force on each row's D, evaluates x for each
group under that ruleset with `on` = D, and scatters the values back. A ruleset consulted
through `as of` validates the case with its own schema (as the row engine does): rows its
schema rejects are deferred.

A row whose requested outputs have no `defer` takes the vectorised values (a not-established
output is written with its reason); every other row is evaluated again, alone, by the row engine
(`engine.batch.Batch.row`), so a batch result is always identical to the row engine's.
"""
from __future__ import annotations

import datetime as dt
import math
import threading
from decimal import Decimal
from typing import Annotated, Callable

import numpy as np

from dsl import ast, types as T
from dsl.checks import bare_member_enum, resolve

from . import fastcase, memory, values as V

LIMIT = 1 << 60          # |data| of every value row stays below: sums never wrap an int64
FLIMIT = float(LIMIT)
MAX_SCALE = 18           # decimal places a column may carry
INPUT_SCALE = 9          # an input with more decimal places is handed back to the row engine
MAX_DEPTH = 48           # rules nested deeper (recursive parameterised rules) are deferred
EPOCH = dt.date(1970, 1, 1).toordinal()
DAY_MIN = dt.date.min.toordinal() - EPOCH
DAY_MAX = dt.date.max.toordinal() - EPOCH
SCALAR_KINDS = {"int", "decimal", "money", "percent", "bool", "date", "text", "enum"}

Fn = Callable[["Ctx", dict], "Vec"]

# ---------------------------------------------------------------- symbols (enum members, texts)

class _Interner:
    """Texts as small integer codes, so that text columns are int64 columns. A text a ruleset
    names (`code`) keeps its code for the life of the process; a text met in a run's input
    columns (`hold`) keeps it while a run holds it, then its code is reused: a long-lived
    worker keeps the texts of its rulesets, not every text its inputs ever held."""

    def __init__(self, *first):
        self.items: list = list(first)
        self.codes: dict = {item: i for i, item in enumerate(first)}
        self.held: dict = {}   # code of an input text → number of runs holding it
        self.free: list = []   # codes no run holds any more
        self.lock = threading.Lock()

    def code(self, text) -> int:
        code = self.codes.get(text)
        if code is None or code in self.held:
            with self.lock:
                code = self.codes.get(text)
                if code is None:
                    code = self._new(text)
                self.held.pop(code, None)  # named by a ruleset now: kept for good
        return code

    def hold(self, text, held: set) -> int:
        """The code of a text of one run's input; the run lists it in `held` for `release`."""
        with self.lock:
            code = self.codes.get(text)
            if code is None:
                code = self._new(text)
                self.held[code] = 0
            if code in self.held and code not in held:
                self.held[code] += 1
                held.add(code)
            return code

    def release(self, held: set) -> None:
        with self.lock:
            for code in held:
                count = self.held.get(code)
                if count is None:
                    continue  # named by a ruleset meanwhile
                if count > 1:
                    self.held[code] = count - 1
                    continue
                del self.held[code]
                del self.codes[self.items[code]]
                self.items[code] = None
                self.free.append(code)
            held.clear()

    def _new(self, text) -> int:
        if self.free:
            code = self.free.pop()
            self.items[code] = text
        else:
            code = len(self.items)
            self.items.append(text)
        self.codes[text] = code
        return code


_NAMES = _Interner()
# not-established reasons: code 0 is "some reason this back-end did not follow" (handed back)
_REASONS = _Interner(None)


def sym(text: str) -> int:
    return _NAMES.code(text)


def reason_code(text: str) -> int:
    return _REASONS.code(text)



def _pair_masks(n, a, b):
    """Rows deferred by either operand; rows not established by either (and not deferred), with
    the reason of the first operand that is not established."""
    defer = OR(a.defer, b.defer)
    ne = ANDNOT(OR(a.ne, b.ne), defer)
    why = first_why(n, (a.ne, a.why), (b.ne, b.why)) if ne is not None else None
    return defer, ne, why

def select(m, x, y):
    """`x` on the rows of mask `m`, `y` on the others (scalars or columns of the same kind).
    np.where branches on each row: cheap when the mask is nearly uniform, several times a pass
    of arithmetic when it is mixed (mispredictions) — there, int64 arithmetic, which wraps
    exactly (y + (x − y)·1 is x on every row), or boolean algebra."""
    if np.ndim(m) == 0:
        return x if m else y
    if np.asarray(x).dtype == np.bool_:
        return (m & x) | (y & ~m)
    taken = np.count_nonzero(m)
    if taken == 0 and np.ndim(y) == 1:
        return y
    if taken == len(m) and np.ndim(x) == 1:
        return x
    if min(taken, len(m) - taken) < len(m) >> 4:
        return np.where(m, x, y)
    return y + (x - y) * m


def first_why(n, *pairs):
    """The reason of each not-established row: pairs (mask, reason codes) in the row engine's
    order of evaluation, the first mask that holds for a row giving its reason."""
    out = taken = None
    for m, w in pairs:
        if m is None:
            continue
        if out is None:
            out = np.zeros(n, np.int32)
        sel = ANDNOT(m, taken)
        out = select(sel, np.int32(0) if w is None else w, out)
        taken = OR(taken, m)
    return out


# ---------------------------------------------------------------- masks (None = no row)

def OR(*masks):
    out = None
    for m in masks:
        if m is None:
            continue
        out = m if out is None else (out | m)
    return out


def AND(a, b):
    if a is None or b is None:
        return None
    return a & b


def ANDNOT(a, b):
    if a is None:
        return None
    if b is None:
        return a
    return a & ~b


def NOT(m, n):
    return np.ones(n, bool) if m is None else ~m


def some(m) -> bool:
    return m is not None and bool(m.any())


def rows_where(m, n):
    """A numpy bool (scalar or array) as a mask: None when it holds on no row."""
    m = as_mask(m, n)
    return m if m is not None and m.any() else None


def as_mask(m, n):
    """A numpy bool (scalar or array) as a mask: None when no row is set."""
    if m is None:
        return None
    if np.ndim(m) == 0:
        return np.ones(n, bool) if bool(m) else None
    return m


# ---------------------------------------------------------------- a column value

class Vec:
    """One value per row of a context. kinds: bool num date sym (numpy data, scalar or per row);
    const (a Python collection, the same on every row); opaque (a value this back-end does not
    compute: using it defers the row); any (no row holds a value)."""
    __slots__ = ("kind", "data", "scale", "isint", "none", "ne", "defer", "why")

    def __init__(self, kind, data=None, scale=0, isint=False, none=None, ne=None, defer=None, why=None):
        self.kind, self.data, self.scale, self.isint = kind, data, scale, isint
        self.defer = defer
        self.ne = ANDNOT(ne, defer)
        self.none = ANDNOT(none, OR(defer, self.ne))
        self.why = why if self.ne is not None else None  # reason codes, read where `ne`

    def bad(self):
        """Rows without a value."""
        return OR(self.defer, self.ne, self.none)

    def take(self, idx) -> "Vec":
        data = self.data
        if isinstance(data, np.ndarray) and data.ndim == 1:
            data = data[idx]
        why = self.why[idx] if isinstance(self.why, np.ndarray) and self.why.ndim == 1 else self.why
        return Vec(self.kind, data, self.scale, self.isint,
                   *(m[idx] if m is not None else None for m in (self.none, self.ne, self.defer)), why=why)


def deferred(n) -> Vec:
    return Vec("any", defer=np.ones(n, bool))


def only(v: Vec, kinds, n) -> Vec:
    """`v` if its values are of these kinds; else the same rows, each value row deferred."""
    if v.kind in kinds or v.kind == "any":
        return v
    return Vec("any", none=v.none, ne=v.ne, defer=OR(v.defer, NOT(v.bad(), n)), why=v.why)


def const(value) -> Vec:
    """A literal or a constant of the ruleset."""
    if value is None:
        return Vec("any")  # `none` on every row: the mask is filled by `none_vec`
    if isinstance(value, bool):
        return Vec("bool", np.bool_(value))
    if isinstance(value, int):
        if abs(value) >= LIMIT:
            return None
        return Vec("num", np.int64(value), 0, True)
    if isinstance(value, Decimal):
        scaled = _scaled(value)
        if scaled is None:
            return None
        data, scale = scaled
        return Vec("num", np.int64(data), scale, False)
    if isinstance(value, dt.date):
        return Vec("date", np.int64(value.toordinal() - EPOCH))
    if isinstance(value, str):
        return Vec("sym", np.int64(sym(value)))
    return None


def _scaled(value: Decimal, scale: int | None = None):
    """(integer, scale) with value = integer / 10**scale, exactly; None if out of range."""
    if not value.is_finite() or (value.is_zero() and value.is_signed()):
        return None
    sign, digits, exponent = value.as_tuple()
    own = max(0, -exponent)
    if scale is None:
        scale = own
    if own > scale or scale > MAX_SCALE:
        return None
    coefficient = int("".join(map(str, digits))) if digits else 0
    data = coefficient * 10 ** (exponent + scale)
    data = -data if sign else data
    if abs(data) >= LIMIT:
        return None
    return data, scale


def rescale(data, s0: int, s1: int, n):
    """Data at scale s0 → scale s1 ≥ s0, and the rows that would leave the int64 range."""
    if s0 == s1:
        return data, None
    f = 10 ** (s1 - s0)
    over = as_mask(np.abs(data) >= LIMIT // f, n)
    return data * np.int64(f), over


# ---------------------------------------------------------------- merging branches

def merge(n, parts, ne=None, defer=None, why=None) -> Vec:
    """Rows taken from several values: parts are (mask, Vec) with disjoint masks; `ne`/`why`:
    rows already not established (before any part is looked at) and their reasons."""
    parts = [(m, v) for m, v in parts if m is not None and v is not None]
    kinds = {v.kind for _, v in parts if v.kind != "any"}
    none = OR(*(AND(m, v.none) for m, v in parts))
    pairs = [(ne, why)] + [(AND(m, v.ne), v.why) for m, v in parts]
    ne = OR(*(m for m, _ in pairs))
    why = first_why(n, *pairs) if ne is not None else None
    defer = OR(defer, *(AND(m, v.defer) for m, v in parts))
    if not kinds:
        return Vec("any", none=none, ne=ne, defer=defer, why=why)
    if len(kinds) > 1 or "opaque" in kinds:
        return Vec("opaque", none=none, ne=ne, defer=defer, why=why)
    kind = kinds.pop()
    if kind == "const":
        values = {id(v.data) for _, v in parts if v.kind == "const"}
        if len(values) > 1:
            return Vec("opaque", none=none, ne=ne, defer=defer, why=why)
        return Vec("const", next(v.data for _, v in parts if v.kind == "const"), none=none, ne=ne, defer=defer,
                   why=why)
    typed = [(m, v) for m, v in parts if v.kind == kind]
    scale = max(v.scale for _, v in typed) if kind == "num" else 0
    isint = all(v.isint for _, v in typed)
    data = None
    for m, v in reversed(typed):  # the last part's values are the base: rows of no part have no value
        d = v.data
        if kind == "num" and v.scale != scale:
            d, over = rescale(d, v.scale, scale, n)
            defer = OR(defer, AND(m, over))
        data = d if data is None else select(m, d, data)
    return Vec(kind, data, scale, isint, none, ne, defer, why)


def scatter(n, parts, ne=None, defer=None, why=None) -> Vec:
    """Values computed on subsets of rows (index arrays) → one value for all n rows."""
    kinds = {v.kind for _, v in parts if v.kind != "any"}
    masks = {}
    for name in ("none", "ne", "defer"):
        acc = None
        for idx, v in parts:
            m = getattr(v, name)
            if m is not None:
                if acc is None:
                    acc = np.zeros(n, bool)
                acc[idx] = m
        masks[name] = acc
    if masks["ne"] is not None:
        inner = np.zeros(n, np.int32)
        for idx, v in parts:
            if v.ne is not None and v.why is not None:
                inner[idx] = v.why
        why = first_why(n, (ne, why), (masks["ne"], inner))
    ne, defer = OR(ne, masks["ne"]), OR(defer, masks["defer"])
    if not kinds:
        return Vec("any", none=masks["none"], ne=ne, defer=defer, why=why)
    if len(kinds) > 1 or kinds & {"opaque", "const"}:
        if kinds == {"const"} and len({id(v.data) for _, v in parts if v.kind == "const"}) == 1:
            return Vec("const", next(v.data for _, v in parts if v.kind == "const"),
                       none=masks["none"], ne=ne, defer=defer, why=why)
        return Vec("opaque", none=masks["none"], ne=ne, defer=defer, why=why)
    kind = kinds.pop()
    typed = [(idx, v) for idx, v in parts if v.kind == kind]
    scale = max(v.scale for _, v in typed) if kind == "num" else 0
    data = np.zeros(n, np.bool_ if kind == "bool" else np.int64)
    for idx, v in typed:
        d = v.data
        if kind == "num" and v.scale != scale:
            d, over = rescale(d, v.scale, scale, len(idx))
            if over is not None:
                extra = np.zeros(n, bool)
                extra[idx] = over
                defer = OR(defer, extra)
        data[idx] = d
    return Vec(kind, data, scale, all(v.isint for _, v in typed), masks["none"], ne, defer, why)


# ---------------------------------------------------------------- strict operands

def strict(vecs, n):
    """The row engine's `_strict`: operands in order; the first not established makes the
    result not established, a missing one raises (defer); later operands are not evaluated
    on those rows. Returns (defer, ne, why): the rows left have a value for every operand."""
    stopped = defer = ne = None
    pairs = []
    for v in vecs:
        d = ANDNOT(OR(v.defer, v.none), stopped)
        e = ANDNOT(v.ne, stopped)
        defer, ne = OR(defer, d), OR(ne, e)
        pairs.append((e, v.why))
        stopped = OR(stopped, d, e)
    return defer, ne, (first_why(n, *pairs) if ne is not None else None)


def truth(v: Vec, n):
    """Rows where `if v` takes the `then` branch (Python truthiness of a bool or none)."""
    if v.kind == "bool":
        t = v.data if v.none is None else (v.data & ~v.none)
        return as_mask(t, n) if np.ndim(t) == 0 else t
    return None


def is_true(v: Vec, n):
    """Rows where `v is True` (value rows only)."""
    if v.kind != "bool":
        return None
    return ANDNOT(as_mask(v.data, n) if np.ndim(v.data) == 0 else v.data.copy(), v.bad())


def is_false(v: Vec, n):
    if v.kind != "bool":
        return None
    return ANDNOT(as_mask(~v.data, n) if np.ndim(v.data) == 0 else ~v.data, v.bad())


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


# ---------------------------------------------------------------- the compiler

class Unsupported(Exception):
    pass


class VPlan:
    """The vector closures of one ruleset, compiled on first use and kept."""

    def __init__(self, entry):
        self.entry, self.model = entry, entry.model
        self.c = _Compiler(self.model)
        self._rules, self._conditions, self._parameters, self._tables, self._foreign = {}, {}, {}, {}, {}

    def rule(self, name):
        r = self._rules.get(name)
        if r is None:
            decl = self.model.rules[name]
            L = frozenset(p.name for p in decl.params)
            r = self._rules[name] = (decl, self.c.expr(decl.expr, L),
                                     [(self.c.expr(e.when, L), self.c.expr(e.value, L)) for e in decl.exceptions])
        return r

    def condition(self, name):
        c = self._conditions.get(name)
        if c is None:
            decl = self.model.conditions[name]
            c = self._conditions[name] = [(self.c.expr(r.expr, frozenset()),
                                           [self.c.expr(w.when, frozenset()) for w in r.waivers])
                                          for r in decl.requirements]
        return c

    def parameter(self, name):
        p = self._parameters.get(name)
        if p is None:
            p = self._parameters[name] = self.c.expr(self.model.parameters[name].value, frozenset())
        return p

    def table(self, name):
        t = self._tables.get(name)
        if t is None:
            decl = self.model.tables[name]
            money = self.model.resolve_type(decl.type).kind == "money"
            row_cells = self.entry.plan.tables[name].cells  # `?` cells: the row engine's own reason
            cells = [[("none", None) if cell.kind == "no_value" else
                      ("ne", np.int32(reason_code(row_cells[i][j](None, {}).reason))) if cell.kind == "unknown"
                      else ("value", self.c.expr(cell.expr, frozenset())) for j, cell in enumerate(row)]
                     for i, row in enumerate(decl.cells)]
            axes = [Axis(decl.row_keys)] + ([Axis(decl.column_keys)] if decl.column_keys else [])
            t = self._tables[name] = (decl, money, cells, axes)
        return t

    def foreign(self, expr: ast.Expr, local_names: frozenset):
        key = (id(expr), local_names)
        fn = self._foreign.get(key)
        if fn is None:
            fn = self._foreign[key] = (expr, self.c.expr(expr, local_names))
        return fn[1]


class _Compiler:
    def __init__(self, model):
        self.model = model

    def expr(self, e: ast.Expr, L: frozenset) -> Fn:
        try:
            return getattr(self, "_" + type(e).__name__)(e, L)
        except Unsupported:
            return lambda ctx, env: deferred(ctx.n)

    # -- leaves
    def _Literal(self, e, L):
        if e.kind == "none":
            return lambda ctx, env: Vec("any", none=np.ones(ctx.n, bool))
        v = const(e.value)
        if v is None:
            raise Unsupported(e.text)
        return lambda ctx, env: v

    def _NotEstablished(self, e, L):
        code = np.int32(reason_code(e.reason))
        return lambda ctx, env: Vec("any", ne=np.ones(ctx.n, bool), why=code)

    def _Name(self, e, L):
        return self._reference(e, L)

    def _Field(self, e, L):
        return self._reference(e, L)

    def _reference(self, e, L):
        ref = resolve(self.model, e, L)
        name = ref.name
        if ref.kind == "local":
            return lambda ctx, env: env[name]
        if ref.kind in ("rule", "condition", "parameter"):
            kind = ref.kind
            return lambda ctx, env: ctx.value(kind, name)
        if ref.kind == "builtin":
            if name == "on":
                return lambda ctx, env: ctx.on
            return lambda ctx, env: Vec("sym", np.int64(sym(ctx.model.id)))
        if ref.kind == "input":
            return lambda ctx, env: ctx.input(name)
        if ref.kind == "enum_member":
            v = const(ref.member)
            return lambda ctx, env: v
        raise Unsupported(e.text)  # record fields: records are not vectorised

    # -- calls
    def _Call(self, e, L):
        name = e.function
        if name in self.model.rules and name not in L:
            args = [self.expr(a, L) for a in e.args]
            return lambda ctx, env: ctx.value("rule", name, tuple(a(ctx, env) for a in args))
        if name not in _FUNCTIONS:
            raise Unsupported(name)
        fn = _FUNCTIONS[name]
        args = [self.expr(a, L) for a in e.args]

        def call(ctx, env):
            n = ctx.n
            values = []
            stopped = defer = ne = None
            pairs = []
            for a in args:  # operands in order; stop at the first not established or missing
                if stopped is not None and stopped.all():
                    break
                v = a(ctx, env)
                d = ANDNOT(OR(v.defer, v.none), stopped)
                x = ANDNOT(v.ne, stopped)
                defer, ne = OR(defer, d), OR(ne, x)
                pairs.append((x, v.why))
                stopped = OR(stopped, d, x)
                values.append(v)
            why = first_why(n, *pairs) if ne is not None else None
            if len(values) < len(args):
                return Vec("any", ne=ne, defer=defer, why=why)
            return _why(fn(n, values, defer, ne), why)
        return call

    def _Index(self, e, L):
        keys = [self.expr(k, L) for k in e.keys]
        if isinstance(e.target, ast.Name) and e.target.name in self.model.tables and e.target.name not in L:
            table = e.target.name

            def lookup(ctx, env):
                return ctx.table(table, [k(ctx, env) for k in keys])
            return lookup
        raise Unsupported(e.text)  # maps are not vectorised

    # -- control and logic
    def _If(self, e, L):
        cond, then, otherwise = self.expr(e.condition, L), self.expr(e.then, L), self.expr(e.otherwise, L)

        def if_(ctx, env):
            n = ctx.n
            c = cond(ctx, env)
            if c.kind not in ("bool", "any"):
                c = only(c, ("bool",), n)
            taken = ANDNOT(truth(c, n), OR(c.defer, c.ne))
            rest = ANDNOT(NOT(taken, n), OR(c.defer, c.ne))
            parts = []
            if some(taken):
                parts.append((taken, then(ctx, env)))
            if some(rest):
                parts.append((rest, otherwise(ctx, env)))
            return merge(n, parts, ne=c.ne, defer=c.defer, why=c.why)
        return if_

    def _Logic(self, e, L):
        operands = [self.expr(o, L) for o in e.operands]
        decisive = e.op == "or"

        def logic(ctx, env):
            n = ctx.n
            stopped = defer = unknown = decided = None
            pairs = []
            for operand in operands:
                if stopped is not None and stopped.all():
                    break
                v = operand(ctx, env)
                d = ANDNOT(v.defer, stopped)
                defer = OR(defer, d)
                stopped = OR(stopped, d)
                x = ANDNOT(v.ne, stopped)  # Kleene logic: the first not established is kept
                pairs.append((x, v.why))
                unknown = OR(unknown, x)
                hit = is_true(v, n) if decisive else is_false(v, n)
                hit = ANDNOT(hit, stopped)
                decided = OR(decided, hit)
                stopped = OR(stopped, hit)
            data = np.bool_(not decisive) if decided is None else (decided if decisive else ~decided)
            why = first_why(n, *pairs) if unknown is not None else None
            return Vec("bool", data, ne=ANDNOT(unknown, decided), defer=defer, why=why)
        return logic

    def _Not(self, e, L):
        operand = self.expr(e.operand, L)

        def not_(ctx, env):
            v = operand(ctx, env)
            if v.kind == "any":  # none → `not none` is true
                return Vec("bool", np.bool_(True), ne=v.ne, defer=v.defer, why=v.why)
            if v.kind != "bool":
                return only(v, ("bool",), ctx.n)
            data = ~v.data if v.none is None else (~v.data | v.none)
            return Vec("bool", data, ne=v.ne, defer=v.defer, why=v.why)
        return not_

    def _Compare(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), e.op
        equality = op in ("=", "!=")

        def compare(ctx, env):
            n = ctx.n
            a, b = left(ctx, env), right(ctx, env)
            defer, ne, why = _pair_masks(n, a, b)
            if not equality:
                defer = OR(defer, ANDNOT(OR(a.none, b.none), OR(defer, ne)))
            data, extra = _compare_values(a, b, op, n)
            if extra is not None:  # rows where both have a value, and this back-end cannot compare them
                defer = OR(defer, ANDNOT(extra, OR(a.bad(), b.bad())))
            if equality and (a.none is not None or b.none is not None):
                an = a.none if a.none is not None else np.zeros(n, bool)
                bn = b.none if b.none is not None else np.zeros(n, bool)
                same = an & bn
                one = an ^ bn
                data = select(same, np.bool_(op == "="), select(one, np.bool_(op == "!="), data))
            return Vec("bool", data, ne=ne, defer=defer, why=why)
        return compare

    def _Member(self, e, L):
        item, collection, negated = self.expr(e.item, L), self.expr(e.collection, L), e.negated
        memberships: dict = {}  # id of a constant collection → (it, its lookup by symbol code)

        def member(ctx, env):
            n = ctx.n
            v, coll = item(ctx, env), collection(ctx, env)
            defer, ne, why = _pair_masks(n, v, coll)
            defer = OR(defer, ANDNOT(coll.none, OR(defer, ne)))
            if coll.kind != "const":
                return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
            items = coll.data
            if v.kind == "sym":
                lookup = memberships.get(id(items))
                if lookup is None or lookup[0] is not items:
                    lookup = memberships[id(items)] = (items, symbol_lookup({sym(x): True for x in items
                                                                              if isinstance(x, str)}, False))
                data = lookup[1][np.minimum(v.data, len(lookup[1]) - 1)]
            elif v.kind == "num":
                if any(isinstance(x, bool) or not isinstance(x, (int, Decimal)) for x in items):
                    return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
                data = np.zeros(np.shape(v.data), bool)
                for x in items:
                    c = const(x)
                    if c is None:
                        return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
                    eq, over = _num_cmp(v, c, "=", n)
                    defer = OR(defer, ANDNOT(over, v.bad()))
                    data = data | eq
            elif v.kind == "any":
                data = np.bool_(False)
            else:
                return Vec("bool", np.bool_(False), ne=ne, defer=OR(defer, NOT(OR(defer, ne), n)), why=why)
            if v.none is not None:
                data = select(v.none, np.bool_(None in items), data)
            if negated:
                data = ~np.asarray(data)
            return Vec("bool", data, ne=ne, defer=defer, why=why)
        return member

    def _IsSet(self, e, L):
        operand, negated = self.expr(e.operand, L), e.negated

        def is_set(ctx, env):
            v = operand(ctx, env)
            none = v.none
            if none is None:  # no row is none: every row is set
                data = np.bool_(not negated)
            else:
                data = none if negated else ~none
            return Vec("bool", data, defer=v.defer)
        return is_set

    def _Arith(self, e, L):
        left, right, op = self.expr(e.left, L), self.expr(e.right, L), e.op

        def arith(ctx, env):
            n = ctx.n
            a = left(ctx, env)
            b = right(ctx, env)
            defer, ne, why = strict([a, b], n)
            a, b = only(a, ("num",), n), only(b, ("num",), n)
            if a.kind != "num" or b.kind != "num":
                return _fail(n, defer, ne, why)
            if op == "/":  # exact 28-digit division is left to the row engine
                return _fail(n, defer, ne, why)
            isint = a.isint and b.isint
            if op in "+-":
                scale = max(a.scale, b.scale)
                da, oa = rescale(a.data, a.scale, scale, n)
                db, ob = rescale(b.data, b.scale, scale, n)
                data = da + db if op == "+" else da - db
                over = OR(oa, ob, as_mask(np.abs(data) >= LIMIT, n))
            else:
                scale = a.scale + b.scale
                if scale > MAX_SCALE:
                    return _fail(n, defer, ne, why)
                est = np.abs(np.asarray(a.data, np.float64)) * np.abs(np.asarray(b.data, np.float64))
                big = est >= FLIMIT
                data = (a.data * ~big) * (b.data * ~big)
                over = OR(as_mask(big, n), as_mask(np.abs(data) >= LIMIT, n))
                if not isint:  # Decimal keeps the sign of a zero product: -0 is handed back
                    over = OR(over, as_mask((data == 0) & ((a.data < 0) | (b.data < 0)), n))
            return Vec("num", data, scale, isint, ne=ne, why=why, defer=OR(defer, ANDNOT(over, OR(defer, ne))))
        return arith

    def _Negate(self, e, L):
        operand = self.expr(e.operand, L)

        def negate(ctx, env):
            n = ctx.n
            v = operand(ctx, env)
            defer, ne, why = strict([v], n)
            if v.kind != "num":
                return _fail(n, defer, ne, why)
            return Vec("num", -v.data, v.scale, v.isint, ne=ne, why=why, defer=defer)
        return negate

    def _Round(self, e, L):
        operand, mode, unit = self.expr(e.operand, L), e.mode, e.unit
        target = 2 if unit == "cent" else 0

        def round_(ctx, env):
            n = ctx.n
            v = operand(ctx, env)
            defer, ne, why = strict([v], n)
            if v.kind != "num":
                return _fail(n, defer, ne, why)
            if v.scale <= target:
                data, over = rescale(v.data, v.scale, target, n)
            else:
                d = np.int64(10 ** (v.scale - target))
                x = v.data
                if mode == "nearest":  # ROUND_HALF_UP: half away from zero
                    q = (np.abs(x) + d // 2) // d
                    data = select(x < 0, -q, q)
                elif mode == "up":     # ROUND_CEILING
                    data = -((-x) // d)
                else:                  # ROUND_FLOOR
                    data = x // d
                over = None
                if unit != "unit":  # a Decimal rounded to zero from below is -0: handed back
                    over = as_mask((data == 0) & (x < 0), n)
            return Vec("num", data, target, unit == "unit", ne=ne, why=why, defer=OR(defer, ANDNOT(over, OR(defer, ne))))
        return round_

    def _AsOf(self, e, L):
        date = self.expr(e.date, L)

        def as_of(ctx, env):
            return ctx.as_of(date(ctx, env), e, L, env)
        return as_of

    # -- collections: constants only
    def _SetLiteral(self, e, L):
        if bare_member_enum(self.model, e.items, L):
            members = frozenset(i.name for i in e.items)
            return lambda ctx, env: Vec("const", members)
        items = self._constant_items(e.items, L)
        value = frozenset(items)
        return lambda ctx, env: Vec("const", value)

    def _ListLiteral(self, e, L):
        value = tuple(self._constant_items(e.items, L))
        return lambda ctx, env: Vec("const", value)

    def _constant_items(self, items, L):
        out = []
        for i in items:
            if isinstance(i, ast.Literal) and i.kind != "none":
                out.append(i.value)
            elif isinstance(i, (ast.Name, ast.Field)) and resolve(self.model, i, L).kind == "enum_member":
                out.append(resolve(self.model, i, L).member)
            else:
                raise Unsupported(i.text)
        return out

    def _Comprehension(self, e, L):
        raise Unsupported(e.text)

    def _RecordLiteral(self, e, L):
        raise Unsupported(e.text)

    def _Range(self, e, L):
        raise Unsupported(e.text)


def _why(v: Vec, why) -> Vec:
    """`v` with the reasons of its not-established rows (set by the operands, in order)."""
    if v.ne is not None and why is not None:
        v.why = why
    return v


def _num_cmp(a: Vec, b: Vec, op: str, n):
    scale = max(a.scale, b.scale)
    da, oa = rescale(a.data, a.scale, scale, n)
    db, ob = rescale(b.data, b.scale, scale, n)
    return _OPS[op](da, db), OR(oa, ob)


_OPS = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
        ">=": np.greater_equal}


def _compare_values(a: Vec, b: Vec, op: str, n):
    """(data, rows to defer among those where both have a value)."""
    if a.kind == "any" or b.kind == "any":
        return np.bool_(False), None
    if a.kind != b.kind or a.kind in ("opaque", "const"):
        return np.bool_(False), np.ones(n, bool)
    if a.kind == "num":
        return _num_cmp(a, b, op, n)
    if op in ("=", "!="):
        return _OPS[op](a.data, b.data), None
    if a.kind == "date":
        return _OPS[op](a.data, b.data), None
    return np.bool_(False), np.ones(n, bool)  # ordering booleans or texts: left to the row engine


# ---------------------------------------------------------------- built-in functions

def _fail(n, defer, ne, why=None):
    """No value this back-end computes: the rows with one are deferred to the row engine; those
    not established (reasons `why`) or deferred already stay so."""
    return Vec("any", ne=ne, why=why, defer=OR(defer, NOT(OR(defer, ne), n)))


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
    # sum, count, any, all, flatten work on lists and `failed` builds one: not vectorised
}


# ---------------------------------------------------------------- evaluation contexts

class Ctx:
    """A ruleset evaluated on a subset of the batch's rows, each row with its own `on`."""

    def __init__(self, run: "Run", entry, rows, on: Vec, depth: int = 0):
        self.run, self.entry, self.model = run, entry, entry.model
        self.vplan = run.engine.vplan(entry)
        self.rows = rows  # indices into the batch, None for all rows
        self.n = run.n if rows is None else len(rows)
        self.on = on
        self.depth = depth
        self.memo: dict = {}
        self.keep: list = []       # values whose id() is part of a memo key
        self.active: set = set()
        self.children: dict = {}

    # -- what compiled closures call
    def value(self, kind: str, name: str, args: tuple = ()) -> Vec:
        key = (kind, name, tuple(map(id, args)))
        v = self.memo.get(key)
        if v is not None:
            return v
        if key in self.active or len(self.active) > MAX_DEPTH:
            return deferred(self.n)  # a cycle, or recursion: the row engine decides
        self.active.add(key)
        try:
            if kind == "rule":
                v = self._rule(name, args)
            elif kind == "condition":
                v = self._condition(name)
            else:
                v = self.vplan.parameter(name)(self, {})
        finally:
            self.active.discard(key)
        self.memo[key] = v
        self.keep.append(args)
        return v

    def input(self, path: str) -> Vec:
        key = ("input", path)
        v = self.memo.get(key)
        if v is None:
            full = self.run.input(self.entry, path)
            v = self.memo[key] = full if self.rows is None else full.take(self.rows)
        return v

    def table(self, name: str, keys: list[Vec]) -> Vec:
        """`name[keys]`; looked up once per key columns (rule exceptions often read the same
        cells as the rule's value, with the same parameters)."""
        memo_key = ("lookup", name, tuple(map(id, keys)))
        v = self.memo.get(memo_key)
        if v is None:
            v = self.memo[memo_key] = self._lookup(name, keys)
            self.keep.append(keys)
        return v

    def _lookup(self, name: str, keys: list[Vec]) -> Vec:
        n = self.n
        decl, money, cells, axes = self.vplan.table(name)
        defer = OR(*(k.defer for k in keys))  # every key is computed before any is looked at
        stopped, ne = defer, None
        pairs = []
        for k in keys:
            x = ANDNOT(k.ne, stopped)
            d = ANDNOT(k.none, stopped)
            ne, defer = OR(ne, x), OR(defer, d)
            pairs.append((x, k.why))
            stopped = OR(stopped, x, d)
        why = first_why(n, *pairs) if ne is not None else None
        index = []
        for k, axis in zip(keys, axes):
            idx, extra = axis.locate(k, n)
            defer = OR(defer, ANDNOT(extra, stopped))
            index.append(idx)
        grid = self._grid(name, cells, money)
        if grid is not None:
            # one gather: the cell of each row, a row without a heading landing on the grid's
            # last row or column (an error, as in the row engine)
            data, state, reasons, kind, scale, isint = grid
            flat = index[0] * state.shape[1] + index[1] if len(index) > 1 else index[0] * state.shape[1]
            s = state.ravel()[flat]
            if s.any():  # a `?` or `—` cell, or a key without a heading, on some row
                cell_ne = ANDNOT(rows_where(s == 1, n), stopped)
                if cell_ne is not None:
                    why = first_why(n, (ne, why), (cell_ne, reasons.ravel()[flat]))
                    ne = OR(ne, cell_ne)
                defer = OR(defer, ANDNOT(rows_where(s == 2, n), stopped))
            return Vec(kind, data.ravel()[flat], scale, isint, ne=ne, defer=defer, why=why)
        # cells computed per row: merged cell by cell
        live = NOT(stopped, n)
        r = index[0]
        c = index[1] if len(index) > 1 else np.zeros((), np.int64)
        found = live & (r < len(cells)) & (c < (len(decl.column_keys) if decl.column_keys else 1))
        defer = OR(defer, ANDNOT(live, found))
        parts = []
        for i, row in enumerate(cells):
            for j, (status, code) in enumerate(row):
                m = found & (r == i) & (c == j)
                if not m.any():
                    continue
                if status == "none":
                    defer = OR(defer, m)
                elif status == "ne":
                    parts.append((m, Vec("any", ne=m, why=code)))
                else:
                    parts.append((m, self._cell(name, i, j, code)))
        return merge(n, parts, ne=ne, defer=defer, why=why)

    def _grid(self, name: str, cells, money: bool):
        """A table whose cells are all constants of one kind, as arrays (value, state: 0 a value,
        1 not established, 2 an error; reason), with one more row and column for keys that no
        heading matches; None when a cell depends on the row."""
        key = ("grid", name)
        if key in self.memo:
            return self.memo[key]
        vals = [[self._cell(name, i, j, fn) if status == "value" else None for j, (status, fn) in enumerate(row)]
                for i, row in enumerate(cells)]
        values = [v for row in vals for v in row if v is not None]
        kinds = {v.kind for v in values if v.kind != "any"}
        grid = None
        if len(kinds) == 1 and kinds <= {"num", "bool", "date", "sym"} and all(
                (np.ndim(v.data) == 0 and v.bad() is None) or (v.kind == "any" and v.why is not None
                                                                and np.ndim(v.why) == 0) for v in values):
            kind = kinds.pop()
            scale = max(v.scale for v in values if v.kind == kind)
            height, width = len(cells), max(len(row) for row in cells)
            data = np.zeros((height + 1, width + 1), np.bool_ if kind == "bool" else np.int64)
            state = np.full((height + 1, width + 1), 2, np.int8)
            reasons = np.zeros((height + 1, width + 1), np.int32)
            for i, row in enumerate(cells):
                for j, (status, code) in enumerate(row):
                    v = vals[i][j]
                    if status == "none":
                        continue
                    if status == "ne":
                        state[i, j], reasons[i, j] = 1, code
                    elif v.kind == "any" and v.ne is not None:
                        state[i, j], reasons[i, j] = 1, v.why
                    elif v.kind == "any":
                        continue
                    elif kind == "num":
                        scaled = _scaled(Decimal(int(v.data)).scaleb(-v.scale), scale)
                        if scaled is not None:
                            state[i, j], data[i, j] = 0, scaled[0]
                    else:
                        state[i, j], data[i, j] = 0, v.data
            isint = all(v.isint for v in values if v.kind == "num") and not money
            grid = (data, state, reasons, kind, scale, isint)
        self.memo[key] = grid
        return grid

    def _cell(self, table: str, i: int, j: int, fn) -> Vec:
        key = ("cell", table, i, j)
        v = self.memo.get(key)
        if v is None:
            v = self.memo[key] = fn(self, {})
        return v

    def as_of(self, day: Vec, expr: ast.AsOf, L: frozenset, env: dict) -> Vec:
        n = self.n
        defer, ne, why = strict([day], n)
        if day.kind != "date":
            return _fail(n, defer, ne, why)
        groups, outside = self._split(day, NOT(OR(defer, ne), n))
        parts = []
        for child, idx, invalid in groups:
            sub_env = {k: v.take(idx) for k, v in env.items()} if len(idx) != n else env
            v = child.vplan.foreign(expr.target, L)(child, sub_env)
            if invalid is not None:
                v = Vec(v.kind, v.data, v.scale, v.isint, v.none, v.ne, OR(v.defer, invalid), v.why)
            parts.append((idx, v))
        defer = OR(defer, outside)  # no ruleset in force that day
        if len(parts) == 1 and len(parts[0][0]) == n:
            v = parts[0][1]
            return Vec(v.kind, v.data, v.scale, v.isint, v.none, OR(ne, v.ne), OR(defer, v.defer),
                       first_why(n, (ne, why), (v.ne, v.why)) if OR(ne, v.ne) is not None else None)
        return scatter(n, parts, ne=ne, defer=defer, why=why)

    def _split(self, day: Vec, ok):
        """The rows with a date, grouped by the ruleset in force on it — per group its context,
        its rows and those the ruleset's case schema rejects — and the rows no ruleset covers.
        Once per date column: `x as of contract_start` is written in many rules."""
        key = ("split", id(day))
        found = self.memo.get(key)
        if found is not None:
            return found
        n = self.n
        days = np.broadcast_to(day.data, (n,))
        groups = []
        left = ok.copy()
        for entry, lo, hi in self.run.engine.timeline:
            m = left & (days >= lo) & (days <= hi)
            if not m.any():
                continue
            left &= ~m
            idx = np.flatnonzero(m)
            child = self._child(day, entry, idx, days)
            invalid = self.run.invalid(entry)
            if invalid is not None:
                invalid = rows_where(invalid if child.rows is None else invalid[child.rows], len(idx))
            groups.append((child, idx, invalid))
        found = self.memo[key] = (groups, rows_where(left, n))
        self.keep.append(day)
        return found

    def _child(self, day: Vec, entry, idx, days) -> "Ctx":
        key = (id(day), entry.model.id)
        child = self.children.get(key)
        if child is None:
            if self.depth >= MAX_DEPTH:
                raise RecursionError
            whole = len(idx) == self.n
            rows = self.rows if whole else (idx if self.rows is None else self.rows[idx])
            on = Vec("date", day.data if whole else days[idx])
            child = self.children[key] = Ctx(self.run, entry, rows, on, self.depth + 1)
            self.keep.append(day)
        return child

    # -- rules and conditions
    def _rule(self, name: str, args: tuple) -> Vec:
        n = self.n
        decl, body, exceptions = self.vplan.rule(name)
        env = {p.name: a for p, a in zip(decl.params, args)}
        if not exceptions:
            return body(self, env)
        stopped = defer = ne = None
        pairs = []
        count = np.zeros(n, np.int8)
        first = np.full(n, -1, np.int8)
        for i, (when, _) in enumerate(exceptions):
            h = when(self, env)
            d = ANDNOT(h.defer, stopped)
            x = ANDNOT(h.ne, stopped)
            defer, ne = OR(defer, d), OR(ne, x)
            pairs.append((x, h.why))
            stopped = OR(stopped, d, x)
            if h.kind not in ("bool", "any"):
                defer = OR(defer, ANDNOT(NOT(h.bad(), n), stopped))
                stopped = OR(stopped, defer)
                continue
            hit = ANDNOT(truth(h, n), stopped)
            if hit is not None:
                count += hit
                first = select(hit & (first < 0), np.int8(i), first)
        conflict = ANDNOT(as_mask(count > 1, n), stopped)
        defer = OR(defer, conflict)
        stopped = OR(stopped, conflict)
        live = NOT(stopped, n)
        parts = []
        for i, (_, value) in enumerate(exceptions):
            m = live & (first == i)
            if m.any():
                parts.append((m, value(self, env)))
        m = live & (first < 0)
        if m.any():
            parts.append((m, body(self, env)))
        return merge(n, parts, ne=ne, defer=defer, why=first_why(n, *pairs) if ne is not None else None)

    def _condition(self, name: str) -> Vec:
        n = self.n
        defer = ne = false = None
        pairs = []
        for test, waivers in self.vplan.condition(name):
            v = test(self, {})
            if v.kind not in ("bool", "any"):  # a value that is not a boolean: left to the row engine
                v = only(v, ("bool",), n)
            defer = OR(defer, v.defer)
            waived = None
            remaining = ANDNOT(NOT(is_true(v, n), n), v.defer)  # `value is not True`
            for w in waivers:
                if not some(remaining):
                    break
                wv = w(self, {})
                defer = OR(defer, AND(remaining, wv.defer))
                remaining = ANDNOT(remaining, wv.defer)
                hit = AND(remaining, is_true(wv, n))
                waived = OR(waived, hit)
                remaining = ANDNOT(remaining, hit)
            false = OR(false, ANDNOT(is_false(v, n), waived))
            x = ANDNOT(v.ne, waived)
            pairs.append((x, v.why))
            ne = OR(ne, x)
        # all_hold: false if one fails, else the first not established, else true
        data = np.bool_(True) if false is None else ~false
        why = first_why(n, *pairs) if ne is not None else None
        return Vec("bool", data, ne=ANDNOT(ne, false), defer=defer, why=why)


# ---------------------------------------------------------------- table headings

def symbol_lookup(values: dict, default):
    """An array indexed by symbol code: `values[code]`, and `default` for every other code — at
    its last slot too, where codes interned later are clipped (`lookup[min(code, len - 1)]`)."""
    lookup = np.full(max(values, default=-1) + 2, default, np.asarray(default).dtype)
    for code, value in values.items():
        lookup[code] = value
    return lookup


def _ceil_scaled(value, scale: int):
    """(the least integer ≥ value · 10**scale, whether it is exactly value · 10**scale), in
    integer arithmetic (a Decimal product would round past 28 digits)."""
    sign, digits, exponent = Decimal(value).as_tuple()
    coefficient = int("".join(map(str, digits))) if digits else 0
    coefficient = -coefficient if sign else coefficient
    shift = exponent + scale
    if shift >= 0:
        return coefficient * 10 ** shift, True
    unit = 10 ** -shift
    return -(-coefficient // unit), coefficient % unit == 0


class Axis:
    """Where each row's key falls among a table's row (or column) headings: the index of the
    first heading that matches it, as the row engine looks them up, or len(headings) when none
    does. One lookup per key column, whatever the number of headings: an array indexed by symbol
    code for enum and text keys, a binary search among the bands' boundaries for numbers."""

    def __init__(self, headings: list[ast.TableKey]):
        self.headings = headings
        self.missing = len(headings)
        self._symbols = None
        self._numbers: dict = {}  # key scale → (boundaries, heading of each segment between them)

    def locate(self, key: Vec, n):
        """(heading index of each row, rows to defer)."""
        if key.kind == "sym":
            lookup = self._symbol_lookup()
            return lookup[np.minimum(key.data, len(lookup) - 1)], None
        if key.kind == "num":
            boundaries, segments = self._number_lookup(key.scale)
            return on_span(lambda k: segments[np.searchsorted(boundaries, k, side="right")], key.data), None
        if key.kind == "bool":
            if any(h.kind == "exact" and not isinstance(h.value, bool) and isinstance(h.value, (int, Decimal))
                   and h.value in (0, 1) for h in self.headings):
                return self.missing, np.ones(n, bool)  # True == 1 in Python: left to the row engine
            lookup = np.array([self._first(lambda h, b=b: h.kind == "exact" and h.value is b)
                               for b in (False, True)], np.int64)
            return lookup[np.asarray(key.data, np.int64)], None
        if key.kind == "any":  # no row has a key: nothing to look up
            return self.missing, None
        return self.missing, np.ones(n, bool)

    def _first(self, matches) -> int:
        return next((i for i, h in enumerate(self.headings) if matches(h)), self.missing)

    def _symbol_lookup(self):
        if self._symbols is None:
            first: dict = {}
            for i, h in enumerate(self.headings):
                if h.kind == "exact" and isinstance(h.value, str):
                    first.setdefault(sym(h.value), i)
            self._symbols = symbol_lookup(first, self.missing)
        return self._symbols

    def _number_lookup(self, scale: int):
        found = self._numbers.get(scale)
        if found is None:
            found = self._numbers[scale] = self._segments(scale)
        return found

    def _segments(self, scale: int):
        """Each heading as an interval [low, high) of integers at the key's scale (exactly: a key
        k stands for k / 10**scale), the boundaries of all of them sorted, and for each segment
        between two boundaries the first heading that contains it."""
        edge = LIMIT + 1  # beyond every key

        def at_scale(bound) -> int:  # the least integer ≥ bound · 10**scale, clamped
            return max(-edge, min(edge, _ceil_scaled(bound, scale)[0]))

        intervals = []
        for h in self.headings:
            if h.kind == "exact":
                value = h.value
                if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not Decimal(value).is_finite():
                    intervals.append(None)  # a text or boolean heading: no number equals it
                    continue
                k, exact = _ceil_scaled(value, scale)
                intervals.append((k, k + 1) if exact and abs(k) < edge else None)
            elif h.kind == "at_least":
                intervals.append((at_scale(h.low), edge))
            elif h.kind == "below":
                intervals.append((-edge, at_scale(h.high)))
            else:
                intervals.append((at_scale(h.low), at_scale(h.high)))
        boundaries = sorted({b for iv in intervals if iv is not None for b in iv})
        starts = [-edge - 1] + boundaries  # segment k is [starts[k], boundaries[k])
        segments = [next((i for i, iv in enumerate(intervals) if iv is not None and iv[0] <= start < iv[1]),
                         self.missing) for start in starts]
        return np.array(boundaries, np.int64), np.array(segments, np.int64)


# ---------------------------------------------------------------- the engine and a run

class Engine:
    """The vector plans of a registry's rulesets, and its timeline in days."""

    def __init__(self, registry):
        self.registry = registry
        self._plans: dict[str, VPlan] = {}
        self.timeline = []
        for model in registry.timeline():
            lo = (model.effective_from.toordinal() - EPOCH) if model.effective_from else DAY_MIN
            hi = (model.effective_until.toordinal() - EPOCH) if model.effective_until else DAY_MAX
            self.timeline.append((registry.entries[model.id], lo, hi))

    def vplan(self, entry) -> VPlan:
        plan = self._plans.get(entry.model.id)
        if plan is None:
            plan = self._plans[entry.model.id] = VPlan(entry)
        return plan


def engine_for(registry) -> Engine:
    engine = registry.__dict__.get("_vector_engine")
    if engine is None:
        engine = registry.__dict__["_vector_engine"] = Engine(registry)
    return engine


def supported_outputs(registry, on: dt.date, outputs: list[str]) -> bool:
    """True when every output is a scalar (or optional scalar): what this back-end computes."""
    plan = registry.in_force(on).plan
    for name in outputs:
        t = plan.value_type(name).base
        if t.kind not in SCALAR_KINDS:
            return False
    return True


class Run:
    """One batch: its columns converted once per ruleset consulted, then evaluated."""

    def __init__(self, engine: Engine, schema, columns: dict, n: int, on: dt.date):
        self.engine, self.schema, self.n, self.on = engine, schema, n, on
        memory.keep_freed_columns()
        self.columns = columns  # flat column name → pyarrow Array / ChunkedArray / list
        self._inputs: dict = {}
        self._invalid: dict = {}
        self._present: dict = {}
        self._encoded: dict = {}
        self.main = engine.registry.in_force(on)
        self.texts: set = set()  # codes of the input texts this run holds (_NAMES.hold)

    # -- columns
    def present(self, name: str):
        p = self._present.get(name)
        if p is None:
            raw = self.columns.get(name)
            if raw is None:
                p = np.zeros(self.n, bool)
            else:
                p = _present(raw, self.n)
            self._present[name] = p
        return p

    def group_present(self, group: str):
        key = "\0group " + group
        p = self._present.get(key)
        if p is None:
            p = np.zeros(self.n, bool)
            prefix = group + "."
            for name, column in self.schema.columns.items():
                if column.path.startswith(prefix):
                    p = p | self.present(name)
            if "." not in group and self.schema.groups.get(group) is False:
                p = np.ones(self.n, bool)  # a required top-level group is always in the case
            self._present[key] = p
        return p

    def encoded(self, name: str):
        """(codes per row, -1 when empty; the distinct raw values)."""
        e = self._encoded.get(name)
        if e is None:
            e = self._encoded[name] = _encode(self.columns[name], self.present(name))
        return e

    def input(self, entry, path: str) -> Vec:
        key = (entry.model.id, path)
        v = self._inputs.get(key)
        if v is None:
            v, _ = self._convert(entry, path)
            self._inputs[key] = v
        return v

    def invalid(self, entry):
        """Rows the case schema of this ruleset rejects (None: none)."""
        key = entry.model.id
        if key not in self._invalid:
            self._invalid[key] = self._validate(entry)
        return self._invalid[key]

    def _validate(self, entry):
        model = entry.model
        invalid = None
        main_columns = {c.path: name for name, c in self.schema.columns.items()}
        main_groups = set(self.schema.groups)
        for path, decl in model.inputs.items():
            parent = path.rpartition(".")[0]
            parent_present = self.group_present(parent) if parent else None
            is_group = decl.type.kind == "group" or (decl.type.kind == "optional" and decl.type.args[0].kind == "group")
            if is_group:
                present = self.group_present(path)
                if path in main_columns:  # a scalar where this ruleset expects a group
                    invalid = OR(invalid, self.present(main_columns[path]))
            else:
                if path in main_groups:
                    invalid = OR(invalid, self.group_present(path))
                    present = np.zeros(self.n, bool)
                elif path in main_columns:
                    present = self.present(main_columns[path])
                    _, bad = self._convert(entry, path)
                    invalid = OR(invalid, bad)
                else:
                    present = np.zeros(self.n, bool)
            if decl.type.kind != "optional":
                missing = ~present if parent_present is None else (parent_present & ~present)
                invalid = OR(invalid, missing)
        return invalid if some(invalid) else None

    def _convert(self, entry, path: str):
        # shared by the rulesets that declare the input alike (same type, enum members and bounds)
        key = ("convert", fastcase.declaration_signature(entry.model, path), path)
        got = self._inputs.get(key)
        if got is not None:
            return got
        model = entry.model
        n = self.n
        t = model.input_type(path)
        base = t.base
        if base.kind == "group":
            v = Vec("opaque", none=~self.group_present(path))
            got = (v, None)
        else:
            name = next((nm for nm, c in self.schema.columns.items() if c.path == path), None)
            if name is None or name not in self.columns:
                got = (Vec("any", none=np.ones(n, bool)), None)
            else:
                got = _convert_column(self, entry, path, name, base)
        self._inputs[key] = got
        return got

    # -- evaluation
    def evaluate(self, outputs: list[str]):
        """Per output its Vec over all rows, and the rows to hand back to the row engine."""
        with np.errstate(all="ignore"):
            ctx = Ctx(self, self.main, None, Vec("date", np.int64(self.on.toordinal() - EPOCH)))
            back = self.invalid(self.main)
            values = {}
            for name in outputs:
                kind, _ = self.main.model.value_declaration(name)
                try:
                    v = ctx.value(kind, name)
                except RecursionError:
                    v = deferred(self.n)
                if v.kind in ("opaque", "const"):
                    v = only(v, (), self.n)
                values[name] = v
                unknown = None  # not established for a reason this back-end did not follow
                if v.ne is not None:
                    unknown = v.ne if v.why is None else (v.ne & (np.broadcast_to(v.why, (self.n,)) == 0))
                back = OR(back, v.defer, unknown)
        return values, back


# ---------------------------------------------------------------- input conversion

def _present(raw, n):
    if isinstance(raw, list):
        return np.fromiter((v is not None and not (isinstance(v, str) and v == "") for v in raw), bool, n)
    import pyarrow as pa
    import pyarrow.compute as pc
    arr = _array(raw, decode=False)
    if pa.types.is_dictionary(arr.type):  # a categorical column: emptiness read off its dictionary
        codes = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return _texts_present(arr.dictionary.to_pylist())[codes]
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        p = pc.not_equal(arr, "")
        p = pc.fill_null(p, False) if arr.null_count else p
    elif arr.null_count == 0:
        return np.ones(n, bool)
    else:
        p = arr.is_valid()
    return p.to_numpy(zero_copy_only=False)


def _texts_present(values: list):
    """Per distinct value whether a cell holding it is filled, and False last (code -1: null)."""
    return np.array([v is not None and v != "" for v in values] + [False], bool)


def _array(raw, decode: bool = True):
    """One Arrow array; a dictionary-encoded (categorical) one decoded unless `decode` is False."""
    import pyarrow as pa
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks() if raw.num_chunks != 1 else raw.chunk(0)
    if decode and pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    return raw


def _encode(raw, present):
    """Distinct raw values and each row's index among them (-1 for an empty cell)."""
    if not isinstance(raw, list):
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = _array(raw, decode=False)
        try:  # a categorical column (Parquet, Polars) is encoded already
            enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
        except Exception:  # noqa: BLE001 — nested types: per row
            raw = arr.to_pylist()
        else:
            codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            return select(present, codes, -1), enc.dictionary.to_pylist()
    index: dict = {}
    uniques: list = []
    codes = np.full(len(raw), -1, np.int64)
    for i, v in enumerate(raw):
        if not present[i]:
            continue
        try:
            k = (v.__class__, v)
            code = index.get(k)
        except TypeError:  # unhashable (a JSON list or object): its own entry
            code = None
            k = None
        if code is None:
            code = len(uniques)
            uniques.append(v)
            if k is not None:
                index[k] = code
        codes[i] = code
    return codes, uniques


def _adapter(entry, path: str):
    """A pydantic validator of one field, with the constraints of the ruleset's case schema."""
    import pydantic
    cache = entry.__dict__.setdefault("_vector_adapters", {})
    if path in cache:
        return cache[path]
    model = entry.lenient_schema
    parts = path.split(".")
    info = None
    for i, part in enumerate(parts):
        info = model.model_fields[part]
        if i < len(parts) - 1:
            ann = info.annotation
            model = next((a for a in getattr(ann, "__args__", ()) if isinstance(a, type)), ann)
    adapter = pydantic.TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
    cache[path] = adapter
    return adapter


def _native(arr, base, n):
    """Fast paths for typed Arrow columns: (data, bad) or None when the generic path applies."""
    import pyarrow as pa
    t = arr.type
    kind = base.kind

    def filled(fill):  # the values, empty cells as `fill` (they are read as none)
        return (arr.fill_null(fill) if arr.null_count else arr).to_numpy(zero_copy_only=False)
    if kind in ("int", "decimal", "money", "percent") and pa.types.is_integer(t) and not pa.types.is_uint64(t):
        return filled(0).astype(np.int64, copy=False), None
    if kind == "bool" and pa.types.is_boolean(t):
        return filled(False), None
    if kind == "date" and pa.types.is_date32(t):
        return (arr.fill_null(0) if arr.null_count else arr).cast(pa.int32()).to_numpy(
            zero_copy_only=False).astype(np.int64), None
    if kind == "int" and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return _plain_integers(arr)
    return None


def _plain_integers(arr):
    """A text column (a CSV's) whose cells are all plain integers — ASCII digits, an optional
    minus, no leading zero, at most 15 digits — or empty: (values, None); pydantic reads each
    such text as that very integer. None when some cell is written otherwise (it then goes,
    with every distinct text, through pydantic)."""
    import pyarrow.compute as pc
    plain = pc.match_substring_regex(arr, r"^(-?[1-9][0-9]{0,14}|0)?$")
    if not pc.all(pc.fill_null(plain, True)).as_py():
        return None
    digits = pc.if_else(pc.equal(arr, ""), "0", arr)  # an empty cell is none: its value is not read
    return pc.cast(pc.fill_null(digits, "0"), "int64").to_numpy(zero_copy_only=False), None


def _convert_column(run: Run, entry, path: str, name: str, base: T.Type):
    """The column of input `path` as the ruleset `entry` validates it: (Vec, rows it rejects)."""
    from .batch import _read  # the row path's own reading of a cell
    n = run.n
    present = run.present(name)
    decl = entry.model.inputs[path]
    kind = base.kind
    vkind = {"int": "num", "decimal": "num", "money": "num", "percent": "num", "bool": "bool", "date": "date",
             "text": "sym", "enum": "sym"}.get(kind)
    if vkind is None:  # a list, set, map or record: not vectorised, the rows holding one go back
        return Vec("opaque", none=~present), present.copy()
    raw = run.columns[name]
    native = None if isinstance(raw, list) else _native(_array(raw), base, n)
    if native is not None:
        data, bad = native
        if vkind == "num":  # the `between`/`at least`/`at most` of the declaration, within ±2⁶⁰
            low, high = 1 - LIMIT, LIMIT - 1
            for b in decl.bounds:
                if b.kind == "min":
                    low = max(low, math.ceil(b.value))
                else:
                    high = min(high, math.floor(b.value))
            bad = OR(bad, (data < low) | (data > high))
        elif vkind == "date":
            bad = OR(bad, (data < DAY_MIN) | (data > DAY_MAX))
        none = rows_where(~present, n)
        return Vec(vkind, data, 0, kind == "int", none=none), rows_where(ANDNOT(bad, none), n)
    codes, uniques = run.encoded(name)
    adapter = _adapter(entry, path)
    column_kind = run.schema.columns[name].kind
    validated = []
    for raw_value in uniques:
        try:
            value = adapter.validate_python(_read(column_kind, raw_value))
        except (ValueError, TypeError, ArithmeticError):
            value = _BAD
        validated.append(value)
    ok = np.zeros(len(uniques) + 1, bool)  # the last entry: empty cells (code -1), none, not refused
    ok[-1] = True
    udata = np.zeros(len(uniques) + 1, np.bool_ if vkind == "bool" else np.int64)
    scale = 0
    if vkind == "num":
        good = [v for v in validated if isinstance(v, (int, Decimal)) and not isinstance(v, bool)]
        scale = max((max(0, -v.as_tuple().exponent) for v in good
                     if isinstance(v, Decimal) and v.is_finite()), default=0)
        scale = min(scale, INPUT_SCALE)
    for i, v in enumerate(validated):
        if v is _BAD:
            continue
        if vkind == "num":
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
                continue
            if (kind == "int") != isinstance(v, int):
                continue
            s = (v, 0) if isinstance(v, int) and abs(v) < LIMIT else None
            if isinstance(v, int):
                s = (v * 10 ** scale, scale) if abs(v * 10 ** scale) < LIMIT else None
            else:
                s = _scaled(v, scale)
            if s is None:
                continue
            udata[i] = s[0]
        elif vkind == "bool":
            if not isinstance(v, bool):
                continue
            udata[i] = v
        elif vkind == "date":
            if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
                continue
            udata[i] = v.toordinal() - EPOCH
        else:
            if not isinstance(v, str):
                continue
            udata[i] = _NAMES.hold(v, run.texts)
        ok[i] = True
    data = udata[codes]
    refused = None if ok.all() else rows_where((~ok)[codes], n)
    return Vec(vkind, data, scale, kind == "int", none=rows_where(~present, n)), refused


_BAD = object()


# ---------------------------------------------------------------- outputs

def cells(v: Vec, t: T.Type, rows, n: int):
    """The JSON-form cells of `v` (what `engine.batch.cell` writes) for the rows given (a slice
    of the `n` rows, or their indices): (distinct cells, index of each row's cell among them)."""
    from .batch import cell
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
        if ne.any():
            why = np.broadcast_to(v.why, (len(v.ne),))[rows]
            for code in np.unique(why[ne]).tolist():
                texts.append(cell(V.to_json(V.NotEstablished(_REASONS.items[code]), t)))
                codes = select(ne & (why == code), len(texts) - 1, codes)
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
