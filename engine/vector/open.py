"""What is known of not-established rows, in columns: engine/uncertain.py mirrored.

A column's not-established rows (`Vec.ne`) carry, besides their reason (`why`), the unknowns
that would decide them (`dby`: codes of interned sets of `values.Unknown`) and, on the rows
known to lie within bounds (`Vec.rng`), those bounds: `lo`, `hi` at the column's scale (days
for dates), `loinf`/`hiinf` where a side is unbounded, `loopen`/`hiopen` where a bound is
excluded. A row not established without bounds is `top`. Sets of possible values (enums,
texts) are not kept in columns: the rows that would need one are handed to the row engine.

Each function here is the column form of the function of engine/uncertain.py with the same
name, row by row: the same bounds, the same unknowns, the same reasons (tests compare them on
random cases). Intervals are computed for every row of the operands (an established row is
the interval [value, value]), then `settle` turns a closed interval whose bounds meet back
into an established value, as `uncertain.make_range` does.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from .. import uncertain as U
from ..values import NotEstablished
from .columns import (_REASONS, AND, ANDNOT, LIMIT, NOT, OR, Vec, _Interner, _scaled, const, deferred, first_why,
                      reason_code, rescale, select, wide)

# decided-by sets as codes: 0 is the empty set
_DECIDERS = _Interner(frozenset())
_UNIONS: dict = {}      # (code, code) → code of the union
_DESCRIBED: dict = {}   # code → reason code of « dépend de : … »


def dby_code(unknowns) -> int:
    return _DECIDERS.code(frozenset(unknowns))


def deciders(code: int) -> frozenset:
    return _DECIDERS.items[int(code)]


def union(a, b):
    """Elementwise union of two code columns (or scalars)."""
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        return np.int32(_union(int(a), int(b)))
    if np.ndim(a) == 0 and int(a) == 0:
        return b
    if np.ndim(b) == 0 and int(b) == 0:
        return a
    a, b = np.broadcast_arrays(np.asarray(a, np.int64), np.asarray(b, np.int64))
    out = np.where(a == 0, b, a).astype(np.int32)
    both = (a != b) & (a != 0) & (b != 0)  # only those need a union looked up
    if both.any():
        pairs = a[both] * (1 << 31) + b[both]
        uniq, inverse = np.unique(pairs, return_inverse=True)
        codes = np.array([_union(int(p) >> 31, int(p) & ((1 << 31) - 1)) for p in uniq], np.int32)
        out[both] = codes[inverse.reshape(-1)]
    return out


def _union(a: int, b: int) -> int:
    if a == b or b == 0:
        return a
    if a == 0:
        return b
    key = (a, b)
    code = _UNIONS.get(key)
    if code is None:
        code = _UNIONS[key] = _DECIDERS.code(_DECIDERS.items[a] | _DECIDERS.items[b])
    return code


def union_where(n, *pairs):
    """Per row, the union of the codes of every pair (mask, codes) whose mask holds there."""
    out = np.zeros(n, np.int32)
    for m, codes in pairs:
        if m is None or codes is None:
            continue
        out = select(m, union(out, codes), out)
    return out


def described(dby):
    """The reason codes of « dépend de : … » for the decided-by codes given (a join's reason)."""
    if np.ndim(dby) == 0:
        return np.int32(_described(int(dby)))
    uniq, inverse = np.unique(np.asarray(dby), return_inverse=True)
    return np.array([_described(int(c)) for c in uniq], np.int32)[inverse.reshape(-1)]


def _described(code: int) -> int:
    found = _DESCRIBED.get(code)
    if found is None:
        found = _DESCRIBED[code] = reason_code(U.describe(_DECIDERS.items[code]))
    return found


# ---------------------------------------------------------------- constants

def constant(value, n: int):
    """The column of a value of the ruleset known before any case — established, or not (a `?`
    within bounds, readings folded together…); a deferred column where this back-end keeps no
    such value (a set of possible values)."""
    if not isinstance(value, NotEstablished):
        v = const(value)
        return v if v is not None else deferred(n)
    why, dby = np.int32(reason_code(value.reason)), np.int32(dby_code(value.decided_by))
    ne = np.ones(n, bool)
    if value.shape == "top":
        return Vec("any", ne=ne, why=why, dby=dby)
    if value.shape != "range":
        return deferred(n)
    bounds = [b for b in (value.low, value.high) if b is not None]
    if all(isinstance(b, dt.date) for b in bounds):
        kind, scale, isint = "date", 0, False
        to_int = [None if b is None else np.int64(b.toordinal() - _EPOCH) for b in (value.low, value.high)]
    else:
        kind = "num"
        isint = all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        scale = max((max(0, -Decimal(b).as_tuple().exponent) for b in bounds), default=0)
        to_int = []
        for b in (value.low, value.high):
            if b is None:
                to_int.append(None)
                continue
            scaled = _scaled(Decimal(b), scale)
            if scaled is None:
                return deferred(n)
            to_int.append(np.int64(scaled[0]))
    lo, hi = to_int
    iv = Interval(n, lo if lo is not None else np.int64(0), hi if hi is not None else np.int64(0),
                  ne if lo is None else None, ne if hi is None else None,
                  ne if value.low_open else None, ne if value.high_open else None)
    return Vec(kind, np.int64(0), scale, isint, ne=ne, why=why, dby=dby, rng=ne, iv=iv)


_EPOCH = dt.date(1970, 1, 1).toordinal()


# ---------------------------------------------------------------- intervals over rows

class Interval:
    """Bounds of every row of a column: lo/hi (meaningless where unbounded), unbounded sides,
    excluded bounds. None masks: no row."""
    __slots__ = ("n", "lo", "hi", "loinf", "hiinf", "loopen", "hiopen")

    def __init__(self, n, lo, hi, loinf=None, hiinf=None, loopen=None, hiopen=None):
        self.n, self.lo, self.hi = n, lo, hi
        self.loinf, self.hiinf, self.loopen, self.hiopen = loinf, hiinf, loopen, hiopen

    def take(self, idx) -> "Interval":
        def t(x):
            return x[idx] if isinstance(x, np.ndarray) and x.ndim == 1 else x
        return Interval(len(idx), t(self.lo), t(self.hi), t(self.loinf), t(self.hiinf), t(self.loopen),
                        t(self.hiopen))

    def rescaled(self, s0: int, s1: int):
        """At a larger scale, and the rows whose bounds would leave the int64 range."""
        lo, o1 = rescale(self.lo, s0, s1, self.n)
        hi, o2 = rescale(self.hi, s0, s1, self.n)
        over = OR(ANDNOT(o1, self.loinf), ANDNOT(o2, self.hiinf))
        return Interval(self.n, lo, hi, self.loinf, self.hiinf, self.loopen, self.hiopen), over


def span(v, n: int, scale: int | None = None) -> Interval:
    """The interval of every row of `v` (at `scale`): an established row is [value, value], a
    ranged row its bounds, any other row unbounded."""
    scale = v.scale if scale is None else scale
    data = wide(v.data if v.data is not None else np.int64(0), n).astype(np.int64, copy=False)
    lo = hi = data
    loinf = hiinf = OR(ANDNOT(v.ne, v.rng), v.none, v.defer)
    loopen = hiopen = None
    if v.rng is not None:
        iv = v.iv
        lo, hi = select(v.rng, wide(iv.lo, n), lo), select(v.rng, wide(iv.hi, n), hi)
        loinf = OR(loinf, _and(v.rng, iv.loinf, n))
        hiinf = OR(hiinf, _and(v.rng, iv.hiinf, n))
        loopen, hiopen = _and(v.rng, iv.loopen, n), _and(v.rng, iv.hiopen, n)
    out = Interval(n, lo, hi, loinf, hiinf, loopen, hiopen)
    if v.kind == "num" and scale != v.scale:
        out, _ = out.rescaled(v.scale, scale)
    return out


def shrink(v, n: int):
    """`v` at the smallest scale that holds every value and bound of it exactly (a rate of [0, 1]
    computed at scale 16 is at scale 0): products add their operands' scales."""
    if v.kind != "num" or v.scale == 0:
        return v
    values = [wide(v.data, n)[~_full(OR(v.ne, v.none, v.defer), n)]]
    if v.rng is not None:
        iv = v.iv
        values.append(wide(iv.lo, n)[v.rng & ~_full(iv.loinf, n)])
        values.append(wide(iv.hi, n)[v.rng & ~_full(iv.hiinf, n)])
    every = np.concatenate(values)
    k = 0
    while k < v.scale and not (every % np.int64(10 ** (k + 1))).any():
        k += 1
    if k == 0:
        return v
    f = np.int64(10 ** k)
    iv = v.iv
    if iv is not None:
        iv = Interval(n, iv.lo // f, iv.hi // f, iv.loinf, iv.hiinf, iv.loopen, iv.hiopen)
    return Vec("num", np.asarray(v.data) // f, v.scale - k, v.isint, v.none, v.ne, v.defer, v.why, v.dby, v.rng, iv)


def _and(m, x, n):
    if m is None or x is None:
        return None
    return m & wide(x, n)


# ---------------------------------------------------------------- arithmetic on bounds

_POS = np.int64(LIMIT * 4)  # stands for +∞ while bounds are combined (beyond every value)
_NEG = -_POS


def _ext_lo(iv: Interval):
    return iv.lo if iv.loinf is None else np.where(iv.loinf, _NEG, iv.lo)


def _ext_hi(iv: Interval):
    return iv.hi if iv.hiinf is None else np.where(iv.hiinf, _POS, iv.hi)


def _from_ext(n, lo, hi) -> tuple[Interval, object]:
    """Bounds back from the extended form, and the rows where a finite bound left the int64 range."""
    loinf, hiinf = lo <= _NEG, hi >= _POS
    over = ((np.abs(lo) >= LIMIT) & ~loinf) | ((np.abs(hi) >= LIMIT) & ~hiinf)
    return Interval(n, np.where(loinf, 0, lo), np.where(hiinf, 0, hi), _some(loinf), _some(hiinf)), _some(over)


def _some(m):
    return m if m is not None and m.any() else None


def add(a: Interval, b: Interval, n):
    lo = np.clip(_ext_lo(a), _NEG, _POS) + np.clip(_ext_lo(b), _NEG, _POS)
    hi = np.clip(_ext_hi(a), _NEG, _POS) + np.clip(_ext_hi(b), _NEG, _POS)
    return _from_ext(n, np.where((_ext_lo(a) <= _NEG) | (_ext_lo(b) <= _NEG), _NEG, lo),
                     np.where((_ext_hi(a) >= _POS) | (_ext_hi(b) >= _POS), _POS, hi))


def negate(a: Interval, n):
    return Interval(n, -a.hi, -a.lo, a.hiinf, a.loinf, a.hiopen, a.loopen)


def sub(a: Interval, b: Interval, n):
    return add(a, negate(b, n), n)


def mul(a: Interval, b: Interval, n):
    """The four corner products (an unbounded side times 0 is 0, as in engine/uncertain.py)."""
    corners = []
    too_big = None  # a finite corner beyond the int64 range: the row is handed back, never unbounded
    for x in (_ext_lo(a), _ext_hi(a)):
        for y in (_ext_lo(b), _ext_hi(b)):
            xinf, yinf = np.abs(x) >= _POS, np.abs(y) >= _POS
            sign = np.sign(x) * np.sign(y)
            infinite = np.where(sign > 0, _POS, np.where(sign < 0, _NEG, 0))
            big = np.abs(x.astype(np.float64)) * np.abs(y.astype(np.float64)) >= float(LIMIT)
            too_big = OR(too_big, _some(big & ~xinf & ~yinf))
            finite = np.where(big, np.where(sign > 0, _POS, _NEG), x * np.where(big | xinf | yinf, 0, y))
            corners.append(np.where(xinf | yinf, infinite, finite))
    lo = np.minimum.reduce(corners)
    hi = np.maximum.reduce(corners)
    out, over = _from_ext(n, lo, hi)
    return out, OR(over, too_big, _some((lo > _NEG) & (lo <= -LIMIT)), _some((hi < _POS) & (hi >= LIMIT)))


def round_data(x, scale: int, target: int, mode: str):
    """`round … to …` of values at `scale` (> target) to `target` places, in integer arithmetic with
    the row engine's modes: nearest is ROUND_HALF_UP (half away from zero), up ROUND_CEILING,
    down ROUND_FLOOR. Values, bounds (`rounded`) and near values (near.py) are rounded by it."""
    d = np.int64(10 ** (scale - target))
    if mode == "nearest":
        q = (np.abs(x) + d // 2) // d
        return select(x < 0, -q, q)
    if mode == "up":
        return -((-x) // d)
    return x // d


def rounded(iv: Interval, scale: int, target: int, mode: str, n):
    """Each bound rounded the way the rule rounds (the same integer arithmetic as exact values)."""
    def r(x):
        if scale <= target:
            return rescale(x, scale, target, n)[0]
        return round_data(wide(x, n), scale, target, mode)
    return Interval(n, r(iv.lo), r(iv.hi), iv.loinf, iv.hiinf)  # rounded bounds are included


def hull(n, parts):
    """The interval containing every part's (mask, Interval) on the rows of its mask, with the
    openness of `uncertain._hull`: a bound is excluded where every part reaching it excludes it."""
    lo = np.full(n, _POS)
    hi = np.full(n, _NEG)
    for m, iv in parts:
        lo = np.where(m, np.minimum(lo, _ext_lo(iv)), lo)
        hi = np.where(m, np.maximum(hi, _ext_hi(iv)), hi)
    loopen = np.ones(n, bool)
    hiopen = np.ones(n, bool)
    for m, iv in parts:
        at_lo = m & (_ext_lo(iv) == lo)
        at_hi = m & (_ext_hi(iv) == hi)
        loopen &= ~at_lo | _full(iv.loopen, n)
        hiopen &= ~at_hi | _full(iv.hiopen, n)
    out, _ = _from_ext(n, lo, hi)
    out.loopen = _some(loopen & ~_full(out.loinf, n))
    out.hiopen = _some(hiopen & ~_full(out.hiinf, n))
    return out


def _full(m, n):
    return np.zeros(n, bool) if m is None else wide(m, n)


# ---------------------------------------------------------------- comparisons

def compare(op: str, a: Interval, b: Interval, n):
    """(decided true, decided false) masks of `a op b` by bounds (uncertain.compare)."""
    if op in (">", ">="):
        a, b = b, a
        op = "<" if op == ">" else "<="
    alo, ahi, blo, bhi = _ext_lo(a), _ext_hi(a), _ext_lo(b), _ext_hi(b)
    ahi_open, blo_open = _full(a.hiopen, n), _full(b.loopen, n)
    alo_open, bhi_open = _full(a.loopen, n), _full(b.hiopen, n)
    finite_ahi, finite_blo = ahi < _POS, blo > _NEG
    finite_alo, finite_bhi = alo > _NEG, bhi < _POS
    if op == "<":
        true = finite_ahi & finite_blo & ((ahi < blo) | ((ahi == blo) & (ahi_open | blo_open)))
        false = finite_alo & finite_bhi & (alo >= bhi)
    else:
        true = finite_ahi & finite_blo & (ahi <= blo)
        false = finite_alo & finite_bhi & ((alo > bhi) | ((alo == bhi) & (alo_open | bhi_open)))
    return true, false


def equal(a: Interval, b: Interval, n):
    """(decided equal, decided different) for ordered values: equal when both are the same
    established value; different when the intervals do not meet (uncertain._equal)."""
    alo, ahi, blo, bhi = _ext_lo(a), _ext_hi(a), _ext_lo(b), _ext_hi(b)
    exact_a = (alo == ahi) & ~_full(a.loinf, n) & ~_full(a.loopen, n) & ~_full(a.hiopen, n)
    exact_b = (blo == bhi) & ~_full(b.loinf, n) & ~_full(b.loopen, n) & ~_full(b.hiopen, n)
    same = exact_a & exact_b & (alo == blo)
    apart = ((ahi < _POS) & (blo > _NEG) & ((ahi < blo) | ((ahi == blo) & (_full(a.hiopen, n) | _full(b.loopen, n))))) | \
            ((bhi < _POS) & (alo > _NEG) & ((bhi < alo) | ((bhi == alo) & (_full(b.hiopen, n) | _full(a.loopen, n)))))
    return same, apart


# ---------------------------------------------------------------- narrowing

def refine(iv: Interval, op: str, other: Interval, holds: bool, integer: bool, n):
    """`iv` narrowed to where `iv op other` holds (fails when `holds` is False), and the rows where
    it never can (uncertain.refine; `=` narrows only to an established value)."""
    if not holds:
        op = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}[op]
    lo, hi = iv.lo.copy() if isinstance(iv.lo, np.ndarray) else np.full(n, iv.lo), \
        iv.hi.copy() if isinstance(iv.hi, np.ndarray) else np.full(n, iv.hi)
    loinf, hiinf = _full(iv.loinf, n).copy(), _full(iv.hiinf, n).copy()
    loopen, hiopen = _full(iv.loopen, n).copy(), _full(iv.hiopen, n).copy()
    if op in ("<", "<="):
        cap_ok = ~_full(other.hiinf, n)
        strict = np.full(n, op == "<") | _full(other.hiopen, n)
        cap = wide(other.hi, n).astype(np.int64)
        if integer:
            cap = np.where(strict, cap - 1, cap)
            strict = np.zeros(n, bool)
        tighter = cap_ok & (hiinf | (cap < hi) | ((cap == hi) & strict & ~hiopen))
        hi, hiopen, hiinf = np.where(tighter, cap, hi), np.where(tighter, strict, hiopen), hiinf & ~tighter
    elif op in (">", ">="):
        floor_ok = ~_full(other.loinf, n)
        strict = np.full(n, op == ">") | _full(other.loopen, n)
        floor = wide(other.lo, n).astype(np.int64)
        if integer:
            floor = np.where(strict, floor + 1, floor)
            strict = np.zeros(n, bool)
        tighter = floor_ok & (loinf | (floor > lo) | ((floor == lo) & strict & ~loopen))
        lo, loopen, loinf = np.where(tighter, floor, lo), np.where(tighter, strict, loopen), loinf & ~tighter
    else:
        return iv, None
    empty = ~loinf & ~hiinf & ((lo > hi) | ((lo == hi) & (loopen | hiopen)))
    return Interval(n, lo, hi, _some(loinf), _some(hiinf), _some(loopen), _some(hiopen)), _some(empty)


def settle(iv: Interval, n):
    """Rows whose closed bounds meet: their value is established (uncertain.make_range)."""
    exact = (iv.lo == iv.hi) & ~_full(iv.loinf, n) & ~_full(iv.hiinf, n) & ~_full(iv.loopen, n) & \
        ~_full(iv.hiopen, n)
    return exact


def empty(iv: Interval, n):
    """Rows whose bounds exclude each other (uncertain.Empty)."""
    return ~_full(iv.loinf, n) & ~_full(iv.hiinf, n) & ((iv.lo > iv.hi) | ((iv.lo == iv.hi) &
                                                                           (_full(iv.loopen, n) | _full(iv.hiopen, n))))


# ---------------------------------------------------------------- operands of a strict operation

class Scan:
    """The row engine's evaluation of a strict operation's operands (expressions._Compiler._strict and
    _strict_open), row by row:

    - `defer`: rows handed back — an operand this back-end could not compute, or a missing value
      (`none`) before any operand not established (the row engine stops there with an error);
    - `ne`: rows where an operand is not established: so is the result; `why` the reason of the
      first, `dby` the unknowns of all those met before a missing value, if one follows;
    - `opened`: those of them where every operand has a value or is not established: what is known
      of the result is computed from the operands (`topped`, the others, know nothing)."""
    __slots__ = ("defer", "ne", "why", "dby", "opened", "topped")

    def __init__(self, vecs, n):
        defer = OR(*(v.defer for v in vecs))
        seen = missing = topped = None
        reasons, deciders = [], []
        for v in vecs:
            missing = OR(missing, ANDNOT(v.none, seen))
            topped = OR(topped, AND(seen, v.none))
            reasons.append((ANDNOT(v.ne, seen), v.why))
            deciders.append((ANDNOT(v.ne, topped), v.dby))
            seen = OR(seen, v.ne)
        self.defer = OR(defer, missing)
        self.ne = ANDNOT(seen, self.defer)
        self.why = first_why(n, *reasons) if self.ne is not None else None
        self.dby = union_where(n, *deciders) if self.ne is not None else None
        self.topped = AND(self.ne, topped)
        self.opened = ANDNOT(self.ne, topped)


def result(n, kind, data, scale, isint, scan: Scan, iv: Interval | None = None, rows=None, over=None,
           none=None) -> Vec:
    """An operation's column: `data` on the rows where every operand has a value, and on the
    `rows` (among `scan.opened`) where bounds `iv` were computed, those bounds — or the value, where
    closed bounds meet; every other not-established row knows nothing of its value (`top`)."""
    defer = OR(scan.defer, AND(over, NOT(scan.ne, n)))
    ne, why, dby = scan.ne, scan.why, scan.dby
    rng = None
    if iv is not None and rows is not None:
        rows = AND(rows, scan.opened)
        defer = OR(defer, AND(over, rows))
        rows = ANDNOT(rows, defer)
        if rows is not None:  # unbounded both ways: nothing is known (top)
            rows = rows & ~(_full(iv.loinf, n) & _full(iv.hiinf, n))
        if rows is not None and rows.any():
            exact = rows & settle(iv, n)
            if exact.any():
                data = select(exact, wide(iv.lo, n), wide(data, n))
                ne = ANDNOT(ne, exact)
            rng = ANDNOT(rows, exact)
    return Vec(kind, data, scale, isint, none, ne, defer, why, dby, rng, iv if rng is not None else None)


# ---------------------------------------------------------------- joins

def join(n, rows, outcomes, deciding, objects=None) -> Vec:
    """`_join`, with the near values (near.py) of outcomes that have some."""
    out = _join(n, rows, outcomes, deciding, objects)
    if not any(v.near is not None for _, v in outcomes):
        return out
    from . import near
    return near.join(n, rows, outcomes, deciding, out,
                     lambda k, r, o, d: _join(k, r, o, d, objects))


def _join(n, rows, outcomes, deciding, objects=None) -> Vec:
    """What is known of a value that is, on each of `rows`, one of the outcomes (active mask, Vec)
    whose mask holds there, the choice made by the unknowns `deciding` (uncertain.join and
    compiler.either): their value where they agree; else their hull for numbers and dates, with
    the reason « dépend de : … »; `top` with the reason of the first `top` among them; a boolean
    that may be either is `top`. A row some outcome defers, or with no outcome (every possibility
    errs), is handed back; so are sets of texts and a value that may be none — unless `objects`
    (run.PythonValues) allows, as in a run's second pass: those rows are then joined as Python
    values (objects.join)."""
    rows = wide(rows, n) if rows is not None else np.zeros(n, bool)
    active = [(wide(m, n) & rows, v) for m, v in outcomes if m is not None]
    defer = rows & ~np.logical_or.reduce([m for m, _ in active]) if active else rows.copy()
    for m, v in active:
        if v.defer is not None:
            defer |= m & v.defer
    kinds = {v.kind for _, v in active if v.kind != "any"}
    if kinds and kinds <= {"list", "record", "const"} and kinds != {"const"}:  # element by element
        from .lists import join_nested
        return join_nested(n, rows, active, deciding, objects, defer)
    if "obj" in kinds and kinds <= {"obj", "num", "bool", "date"}:  # Python values: uncertain.join per row
        from .objects import join as join_objects
        return join_objects(n, rows, active, deciding)
    if len(kinds) > 1 or kinds & {"opaque", "const"}:
        return Vec("any", defer=rows)
    kind = kinds.pop() if kinds else "any"
    scale = max((v.scale for _, v in active if v.kind == "num"), default=0)
    isint = all(v.isint for _, v in active if v.kind == "num")
    live = rows & ~defer
    # the first active outcome of each row, and whether every active one is a value equal to it
    first_data = np.zeros(n, np.bool_ if kind == "bool" else np.int64)
    first_none = np.zeros(n, bool)
    taken = np.zeros(n, bool)
    over = None
    datas = []
    for m, v in active:
        d = wide(v.data if v.data is not None else np.int64(0), n)
        if v.kind == "num" and v.scale != scale:
            d, o = rescale(d, v.scale, scale, n)
            over = OR(over, AND(m, o))
        datas.append(d)
        first = m & ~taken
        first_data = np.where(first, d, first_data)
        first_none = np.where(first, _full(v.none, n), first_none)
        taken |= m
    defer |= _full(over, n) & live
    live &= ~defer
    all_exact = np.ones(n, bool)
    all_equal = np.ones(n, bool)
    any_top = np.zeros(n, bool)
    top_why = np.zeros(n, np.int32)
    top_seen = np.zeros(n, bool)
    any_none = np.zeros(n, bool)
    any_ne = np.zeros(n, bool)
    value_seen = np.zeros(n, bool)  # the first outcome with a value, and whether the others equal it
    value_data = np.zeros(n, np.bool_ if kind == "bool" else np.int64)
    values_equal = np.ones(n, bool)
    dby = wide(np.asarray(deciding if deciding is not None else 0, np.int32), n).copy()
    for (m, v), d in zip(active, datas):
        ne, none = _full(v.ne, n), _full(v.none, n)
        value = m & ~ne & ~none
        values_equal &= ~(value & value_seen) | (d == value_data)
        value_data = np.where(value & ~value_seen, d, value_data)
        value_seen |= value
        any_ne |= m & ne
        exact = ~ne
        all_exact &= ~m | exact
        same = np.where(none | first_none, none & first_none, d == first_data)
        all_equal &= ~m | (exact & same)
        top = m & ne & ~_full(v.rng, n)
        any_top |= top
        top_why = np.where(top & ~top_seen, wide(v.why if v.why is not None else 0, n), top_why)
        top_seen |= top
        any_none |= m & none
        if v.ne is not None:
            dby = np.where(m & ne, union(dby, wide(v.dby if v.dby is not None else 0, n)), dby)
    agree = live & all_exact & all_equal
    # not established alike on every active outcome (the same value of the ruleset): that very value
    same_open = live & ~agree & _same_open(n, active)
    differ = live & ~agree & ~same_open
    # a set of texts or symbols, or none among values: not kept in columns
    sets = differ & ~any_top & (any_none | (kind in ("sym", "any")))
    defer |= sets
    differ &= ~defer
    ne = differ
    why = np.where(any_top, top_why, described(dby))
    rng = iv = None
    ordered = differ & ~any_top
    if kind in ("num", "date") and ordered.any():
        iv = hull(n, [(m & ordered, span(v, n, scale if v.kind == "num" else None)) for m, v in active])
        rng = ordered
    data = first_data
    out = Vec(kind, data, scale, isint, first_none & agree, ne, _some(defer), why, dby, rng, iv)
    if same_open.any():
        first = next(v for _, v in active)
        out = _overlay(n, out, same_open, first, scale)
    if objects is not None and kind in ("num", "bool", "date", "sym", "any") and objects(sets):
        from .columns import merge
        from .objects import join as join_objects
        joined = join_objects(n, sets, [(m & sets, v) for m, v in active], deciding)
        return merge(n, [(~sets, out.replace(defer=ANDNOT(out.defer, sets))), (sets, joined)])
    maybe = sets & ~any_ne & values_equal & value_seen
    if kind in ("num", "bool", "date") and maybe.any():  # one value or none: a near value (near.py)
        from .near import maybe_none
        return maybe_none(n, out, maybe, Vec(kind, value_data, scale, isint, ne=np.ones(n, bool), why=why,
                                             dby=dby))
    return out


def _same_open(n, active):
    """Rows where every active outcome is the same not-established value (reason, deciders, bounds)."""
    ref = None
    same = np.ones(n, bool)
    for m, v in active:
        ne = _full(v.ne, n)
        key = (wide(v.why if v.why is not None else 0, n),
               wide(v.dby if v.dby is not None else 0, n), _full(v.rng, n))
        if ref is None:
            ref, ref_v = key, v
            same &= ~m | ne
            continue
        eq = (key[0] == ref[0]) & (key[1] == ref[1]) & (key[2] == ref[2])
        if v.rng is not None or ref_v.rng is not None:  # the same bounds by value, whatever the scales
            scale = max(v.scale, ref_v.scale) if v.kind == ref_v.kind == "num" else None
            if v.kind != ref_v.kind:
                eq &= False
            else:
                a, b = span(v, n, scale), span(ref_v, n, scale)
                eq &= (a.lo == b.lo) & (a.hi == b.hi) & (_full(a.loinf, n) == _full(b.loinf, n)) & \
                    (_full(a.hiinf, n) == _full(b.hiinf, n)) & (_full(a.loopen, n) == _full(b.loopen, n)) & \
                    (_full(a.hiopen, n) == _full(b.hiopen, n))
        same &= ~m | (ne & eq)
    return same


def _overlay(n, out: Vec, rows, v: Vec, scale: int) -> Vec:
    """`out` with the rows of `rows` taken from `v` (not established there)."""
    from .columns import merge
    return merge(n, [(~rows, out), (rows, v)])


# ---------------------------------------------------------------- narrowing by a condition

class Narrowing:
    """The column form of compiler.Narrowing: a condition's comparisons of rule parameters
    (`p >= 90 and p < 95`); the branch where it holds sees each compared parameter narrowed there,
    the branch where it fails only a single undecided comparison's negation."""

    def __init__(self, tests):
        self.tests = tests  # (local name, operator seen from the local, other side fn, comparison fn)

    def narrow(self, ctx, env, rows, holds: bool):
        """(env narrowed on `rows`, rows where the branch cannot be taken)."""
        if not self.tests or not any(getattr(env.get(t[0]), "rng", None) is not None or (
                getattr(env.get(t[0]), "kind", None) == "obj" and env[t[0]].ne is not None) for t in self.tests):
            return env, None
        n = ctx.n
        if holds:
            chosen = [(t, rows) for t in self.tests]
        else:
            undecided = [(t, _full(t[3](ctx, env).ne, n)) for t in self.tests]
            count = sum(u.astype(np.int8) for _, u in undecided)
            chosen = [(t, rows & u & (count == 1)) for t, u in undecided]
        scope = dict(env)
        impossible = None
        for (name, op, other, _), where in chosen:
            value = scope.get(name)
            if value is not None and value.kind == "obj" and value.ne is not None:  # uncertain.refine per row
                from .objects import refine as refine_objects
                scope[name], never = refine_objects(n, value, op, other(ctx, scope), holds, where & value.ne)
                impossible = OR(impossible, never)
                continue
            if value is None or value.rng is None or value.kind not in ("num", "date"):
                continue
            where = where & value.rng
            if not where.any():
                continue
            o = other(ctx, scope)
            if o.kind != value.kind:
                continue
            scale = max(value.scale, o.scale) if value.kind == "num" else 0
            mine = span(value, n, scale)
            narrowed, empty_rows = refine(mine, op, span(o, n, scale), holds, value.isint and value.kind == "num"
                                          and o.isint and scale == 0, n)
            empty_rows = _some(_full(empty_rows, n) & where)
            impossible = OR(impossible, empty_rows)
            keep = where & ~_full(empty_rows, n)
            iv = _select_interval(keep, narrowed, value.iv if value.kind != "num" or value.scale == scale
                                  else value.iv.rescaled(value.scale, scale)[0], n)
            data = value.data
            if value.kind == "num" and value.scale != scale:
                data = rescale(wide(data, n), value.scale, scale, n)[0]
            exact = keep & settle(iv, n)
            if exact.any():
                data = select(exact, wide(iv.lo, n), wide(data, n))
            scope[name] = Vec(value.kind, data, scale, value.isint, value.none, ANDNOT(value.ne, exact), value.defer,
                              value.why, value.dby, ANDNOT(value.rng, exact), iv)
        return scope, impossible


def _select_interval(m, a: Interval, b: Interval, n) -> Interval:
    def pick(x, y):
        return np.where(m, wide(x, n), wide(y, n))

    def flag(x, y):
        return _some(np.where(m, _full(x, n), _full(y, n)))
    return Interval(n, pick(a.lo, b.lo), pick(a.hi, b.hi), flag(a.loinf, b.loinf), flag(a.hiinf, b.hiinf),
                    flag(a.loopen, b.loopen), flag(a.hiopen, b.hiopen))


# ---------------------------------------------------------------- back to Python values

def bound_value(v: Vec, x: int):
    """A bound of `v`'s column as the Python value the row engine would hold."""
    if v.kind == "date":
        return dt.date.fromordinal(int(x) + _EPOCH)
    if v.isint and v.scale == 0:
        return int(x)
    return Decimal(int(x)).scaleb(-v.scale)


def to_python(v: Vec, row, why: int = 0, dby: int = 0) -> NotEstablished:
    """The abstract value of one ranged row: (lo, hi, loinf, hiinf, loopen, hiopen) as stacked."""
    lo, hi, loinf, hiinf, loopen, hiopen = map(int, row)
    low = None if loinf else bound_value(v, lo)
    high = None if hiinf else bound_value(v, hi)
    reason = _REASONS.items[why] if why else ""
    return NotEstablished(reason, None, deciders(dby), "range", low, high, bool(loopen) and low is not None,
                          bool(hiopen) and high is not None)


def python_open(v: Vec, rows_mask, n):
    """(distinct abstract values, each row's index among them) for the not-established rows of
    `rows_mask`: every row's reason, deciders and bounds."""
    why = wide(v.why if v.why is not None else 0, n).astype(np.int64)
    dby = wide(v.dby if v.dby is not None else 0, n).astype(np.int64)
    rng = _full(v.rng, n)
    if v.rng is not None:
        s = span(v, n)
        cols = [why, dby, rng, wide(s.lo, n), wide(s.hi, n), _full(s.loinf, n),
                _full(s.hiinf, n), _full(s.loopen, n), _full(s.hiopen, n)]
    else:
        cols = [why, dby, rng]
    stacked = np.stack([np.asarray(c, np.int64) for c in cols], axis=1)[rows_mask]
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    values = []
    for row in uniq.tolist():  # Python ints: no numpy scalar per field
        w, d, r = row[0], row[1], row[2]
        if r:
            values.append(to_python(v, row[3:], w, d))
        else:
            values.append(NotEstablished(_REASONS.items[w] or "", None, deciders(d)))
    return values, inverse.reshape(-1), uniq[:, 0]
