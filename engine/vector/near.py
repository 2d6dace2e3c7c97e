"""Quotients that do not terminate, carried in columns close to the row engine's value until a
rounding decides them — so that the rows meeting one need not wait for a run's second pass.

The row engine divides to 28 significant digits (1/3 is 0.3333333333333333333333333333), and a
column holds at most 18 decimal places: such a quotient's row is *deferred* (quotients.py) and
computed again in a run's second pass as a Python value (objects.py), a Python call per row and
operation. Yet most of these quotients are rates on their way to `round (amount * rate) to
cent`, and a rounding does not need the 28 digits: any value within a small distance of the
rate's rounds the same way, unless a rounding boundary lies within that distance.

So a deferred row may carry a *near value* (`Vec.near`, a `Near`): the row computed as if the
approximations were exact — its value, or its bounds when it is not established — at a fixed
scale, and `err`, a bound on the distance between that and what the row engine holds (for a
value and for each bound), in units of the last decimal place — each row its own (a row of
large amounts does not loosen the bound of a row of small ones). The row stays deferred: every
operation that does not know near values (compare, `as of`, outputs, …) hands it back as before,
and only the operations below carry it on, each with its own bound:

- a quotient that does not terminate (`divide`): rounded half-even at KMAX places or more — as
  many as the column's int64 holds with room to spare, up to 15 (near_arith.quotient_places) —,
  err 1 (half a unit for that rounding, far less for the row engine's 28th digit); a near value
  divided by an established one too (a range's bounds each divided); bounds of a quotient of
  ranges whose corners do not terminate (quotients._near_bounds: each corner so rounded);
- `+`, `-`: the errors add up; `*`: |a|·err(b) + |b|·err(a) + err(a)·err(b) (|a| and |b| the
  row's largest value or bound; worked out in float64 with a margin that covers its rounding, as
  an upper bound: `upper`), the operands first rounded to fewer places where the scales would add
  up past a column's, then, where each is a value or a closed bounded range, the product worked
  out again exactly in Python integers from the operands as they were (near_arith); `min`, `max`:
  the larger error (they move no value by more than that);
- a join (the readings of an unknown, an undecided condition): the hull, the largest error of
  the outcomes the row may take —
  except where every outcome is not established alike within 2·err (the row engine may find
  them the same value, and keep it rather than their hull);
- the rounding (`round … to cent|euro|unit`, `settle_round`): where rounding the value (each
  bound) minus err and plus err gives one result, the row engine's value rounds to it too (the
  rounding is monotone): the row is established and leaves the deferred rows. Elsewhere it stays
  deferred — for the second pass.

An exact operand of which nothing is known (`top`, unbounded both ways) makes a sum, a product
by a value apart from 0 by more than its err, and a join `top` whatever the near values hold:
established at once (`_blind`). Not min and max: min(q, top) is (-∞, q].

A near value may also be the row engine's own (`facts`: EXACT): `max(0, q)` where q is negative
beyond its bound, an exact value divided without remainder, and *one value or none* — the join of
a value and `none` (an `if` on an undecided condition), which the row engine holds as the set of
the two. No interval holds none, so every strict operation on it gives nothing known (`top`, with
its reason and deciders), and `x is set` is not established: those results are the row engine's
and leave the deferred rows at once (`lift`, `settle_round`, compiler._IsSet). An output holding
it (money, int, bool, date: types written alike whatever a Decimal's exponent) is written as the
row engine writes that set, « l'un de : aucune, 384 » (`one_value_or_none`, outputs._pass).

Each operation also keeps a row only where the *shape* of its result cannot differ from the row
engine's: a range whose bounds lie more than 2·err apart (the row engine's cannot meet), closed
and bounded — or unbounded on a side where that side is the row engine's own: a quotient by a
range that reaches 0 (x / [0, h], the attainment of a target that may equal its starting point)
has its infinite side from exact signs, and min, max, `+`, `-`, a join, a rounding and a product
by a factor whose sign is known (an exact value, or one apart from 0 by more than its err:
`_sides_exact`, which also keeps `top` times a near value that shows 0 deferred) keep such a side
as it is (every other operation leaves the row deferred);
a value where no operand was a range; a join of values only where the outcomes are
more than 2·err apart (equal near values may be different Decimals). Anything else — an
unbounded or excluded bound, a value not established without bounds, `none` — and the row is
simply deferred, as it would be without this module. Every operation here computes its near
values with the same column code as established values (engine/vector/compiler.py and open.py),
on the near rows alone: there is one meaning of each operator, and the property tests
(tests/test_vector.py, tests/test_vector_near.py) compare the outcome with the row engine's.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from .columns import LIMIT, MAX_SCALE, OR, Vec, wide
from .near_arith import (ERR_MAX, _any_flag, _exact_products, _fit_product, _half_even, _room, _scale, errs_of,
                         magnitudes, times_ten, upper)
from .quotients import KMAX  # places of a quotient's near value: at least as many as an exact one may add
class Near:
    """The near values of a column's deferred rows: `rows` (a mask of the column's rows), `value`
    (a Vec of those rows only, in order), `err` (one int64 per such row, in units of value.scale:
    a row's bound is its own, not the column's largest) and
    `facts` (None, or int8 flags of those rows: EXACT where the value is the row engine's own —
    `max(0, q)` where q is negative by more than its err —, NONNEG where the row engine's value
    and bounds are known not to be negative, so that a zero they round to is not -0)."""
    __slots__ = ("rows", "value", "err", "facts")

    def __init__(self, rows, value: Vec, err, facts=None):
        self.rows, self.value = rows, value
        self.err = errs_of(err, int(np.count_nonzero(rows)))
        self.facts = facts if facts is not None and facts.any() else None

    @staticmethod
    def of(rows, value: Vec, err, facts=None) -> "Near | None":
        if rows is None or not rows.any():
            return None
        return Near(rows, value, err, facts)

    def facts_at(self, local):
        return np.zeros(len(local), np.int8) if self.facts is None else self.facts[local]

    def take(self, idx) -> "Near | None":
        """These near values on the rows `idx` of the column (indices or a mask)."""
        if isinstance(idx, np.ndarray) and idx.dtype == np.bool_:
            idx = np.flatnonzero(idx)
        rows = self.rows[idx]
        if not rows.any():
            return None
        local = (np.cumsum(self.rows) - 1)[idx[rows]]
        return Near(rows, self.value.take(local), self.err[local], self.facts_at(local))

    def within(self, mask) -> "Near | None":
        """Only the rows of `mask` (a Vec keeps near values on its deferred rows alone)."""
        if mask is None:
            return None
        keep = self.rows & wide(mask, len(self.rows))
        if (keep == self.rows).all():
            return self
        if not keep.any():
            return None
        local = np.flatnonzero(keep[self.rows])
        return Near(keep, self.value.take(local), self.err[local], self.facts_at(local))

    def at_scale(self, scale: int):
        """err (per row) in units of a larger scale."""
        return times_ten(self.err, scale - _scale(self.value))


def has(*vecs) -> bool:
    return any(v is not None and v.near is not None for v in vecs)


# ---------------------------------------------------------------- near rows of several operands

def reveal(n: int, operands: list, rows=None, unbounded: bool = False):
    """The rows where some operand is near and every other has a value or is near, and each
    operand on those rows as if its near values were its own: (mask, idx, revealed Vecs, each
    one's err in units of its scale, each one's facts per row) — None when no row is left.
    A near range unbounded on a side is left out (deferred) unless `unbounded` (min and max)."""
    from .columns import scatter
    near = None
    bad = None
    for v in operands:
        if v.near is not None:
            usable = v.near.rows if unbounded else v.near.rows & ~_unbounded_rows(v.near, n)
            near = OR(near, usable)
            bad = OR(bad, v.defer & ~usable)
        else:
            bad = OR(bad, v.defer)
    if near is None:
        return None
    mask = near if bad is None else near & ~bad
    if rows is not None:
        mask = mask & wide(rows, n)
    if not mask.any():
        return None
    idx = np.flatnonzero(mask)
    k = len(idx)
    out, errs, facts = [], [], []
    for v in operands:
        if v.near is None:
            r = v.take(idx)
            out.append(r)
            errs.append(np.zeros(k, np.int64))
            facts.append(EXACT | np.where(nonneg(r, k), NONNEG, 0).astype(np.int8))
            continue
        inside = v.near.rows[idx]
        local = (np.cumsum(v.near.rows) - 1)[idx[inside]]
        if inside.all():
            r = v.near.value.take(local)
        else:
            r = scatter(k, [(np.flatnonzero(inside), v.near.value.take(local)),
                            (np.flatnonzero(~inside), v.take(idx[~inside]))])
        f = EXACT | np.where(nonneg(r, k), NONNEG, 0).astype(np.int8)
        f[inside] = v.near.facts_at(local)
        out.append(r)
        e = np.zeros(k, np.int64)
        e[inside] = v.near.at_scale(_scale(r))[local]
        errs.append(e)
        facts.append(f)
    return mask, idx, out, errs, facts


def _unbounded_rows(near: "Near", n: int):
    """The rows (of n) whose near value is a range unbounded on a side."""
    v = near.value
    out = np.zeros(n, bool)
    sides = OR(v.iv.loinf, v.iv.hiinf) if v.rng is not None else None
    if sides is None:
        return out
    m = int(np.count_nonzero(near.rows))
    out[np.flatnonzero(near.rows)[wide(v.rng, m) & wide(sides, m)]] = True
    return out


EXACT, NONNEG, MAYBE_NONE = np.int8(1), np.int8(2), np.int8(4)


def nonneg(v: Vec, k: int):
    """Rows whose value, or lower bound, is 0 or more (a column's own values: exact)."""
    if v.kind != "num":
        return np.zeros(k, bool)
    out = wide(v.data, k) >= 0
    if v.none is not None:
        out = out & ~wide(v.none, k)
    if v.ne is not None:
        ne = wide(v.ne, k)
        out = out & ~ne
        if v.rng is not None:
            iv = v.iv
            low = wide(v.rng, k) & (wide(iv.lo, k) >= 0)
            if iv.loinf is not None:
                low &= ~wide(iv.loinf, k)
            out = out | low
    return out


def _facts(exact, positive):
    return np.where(exact, EXACT, 0).astype(np.int8) | np.where(positive, NONNEG, 0).astype(np.int8)


def attach(result: Vec, n: int, idx, value: Vec, err, keep, facts=None) -> Vec:
    """`result` with the near values `value` (of its deferred rows `idx`) where `keep` holds,
    and their `facts`."""
    if keep is None or not keep.any():
        return result
    rows = np.zeros(n, bool)
    rows[idx[keep]] = True
    err = errs_of(err, len(idx))
    if not keep.all():
        local = np.flatnonzero(keep)
        value, facts, err = value.take(local), (facts[local] if facts is not None else None), err[local]
    near = Near(rows, value, err, facts)
    if result.near is None:
        return result.replace(near=near)
    from .columns import _with_near  # near values of other rows already (a join's one value or none)
    return _with_near(n, result, [(np.flatnonzero(result.near.rows), result.near), (idx[keep], near)], None)


def shape_ok(r: Vec, k: int, err, ranged=None, exact=None, unbounded: bool = False):
    """The rows of an operation's near result whose shape the row engine's shares: a value (where
    no operand was a range), or a closed bounded range more than 2·err wide — or anything on the
    `exact` rows, which are the row engine's; never a deferred row, `none`, or a value not
    established without bounds. `unbounded`: a range may also be unbounded on a side (then it
    cannot collapse to a value), where that side comes from exact signs (quotients._near_bounds)."""
    if r.kind != "num":
        return np.zeros(k, bool)
    err = errs_of(err, k)
    keep = err < LIMIT // 4
    for m in (r.defer, r.none):
        if m is not None:
            keep &= ~wide(m, k)
    shaped = keep.copy()
    if r.ne is not None:
        ne = wide(r.ne, k)
        rng = np.zeros(k, bool) if r.rng is None else wide(r.rng, k)
        keep &= ~(ne & ~rng)  # nothing known: top
        if r.rng is not None:
            iv = r.iv
            for f in ((iv.loopen, iv.hiopen) if unbounded else (iv.loinf, iv.hiinf, iv.loopen, iv.hiopen)):
                if f is not None:
                    keep &= ~(rng & wide(f, k))
            sides = OR(iv.loinf, iv.hiinf)
            finite = rng if sides is None else rng & ~wide(sides, k)
            keep &= ~(finite & (wide(iv.hi, k) - wide(iv.lo, k) <= 2 * err))
        values = ~ne
    else:
        values = np.ones(k, bool)
    if ranged is not None:
        keep &= ~(values & ranged)
    if exact is not None:
        keep |= shaped & exact
    return keep


def ranged_rows(operands: list, k: int):
    """Rows where some operand is a range."""
    out = np.zeros(k, bool)
    for v in operands:
        if v.rng is not None:
            out |= wide(v.rng, k)
    return out


# ---------------------------------------------------------------- operations

def divide(n: int, a: Vec, b: Vec, out: Vec, lost) -> Vec:
    """`a / b` (quotients.divide's `out`): near values on the rows whose quotient does not
    terminate (`lost`) and on the rows where `a` is near and `b` an established value other than 0."""
    if b.kind != "num" or b.near is not None or a.kind not in ("num", "any"):
        return out
    b_ok = wide(b.data, n) != 0
    bad = OR(b.defer, b.ne, b.none)
    if bad is not None:
        b_ok = b_ok & ~bad
    pieces = []  # (rows, a on them, its err, its rows not negative, its rows exact)
    if lost is not None and (lost & b_ok).any():  # a quotient that does not terminate: never exact
        i = np.flatnonzero(lost & b_ok)
        ra = a.take(i)
        pieces.append((i, ra, np.zeros(len(i), np.int64), nonneg(ra, len(i)), np.zeros(len(i), bool)))
    if a.near is not None:
        shown = reveal(n, [a], b_ok)
        if shown is not None:
            _, i, (ra,), (ea,), (fa,) = shown
            pieces.append((i, ra, ea, (fa & NONNEG) != 0, (fa & EXACT) != 0))
    found = []
    for i, ra, ea, positive, exact in pieces:
        q, err, ok, whole = _quotient(ra, b.take(i), ea, len(i))
        if q is not None:  # an exact value divided without remainder: the row engine's quotient
            found.append((i, q, err, ok, positive & (wide(b.data, n)[i] > 0), exact & whole))
    if not found:
        return out
    from .columns import scatter
    idx = np.sort(np.concatenate([f[0] for f in found]))
    k = len(idx)
    value = scatter(k, [(np.searchsorted(idx, i), q) for i, q, _, _, _, _ in found])
    err = np.zeros(k, np.int64)
    keep, sign, exact = np.zeros(k, bool), np.zeros(k, bool), np.zeros(k, bool)
    for i, q, e, ok, positive, whole in found:
        at = np.searchsorted(idx, i)
        keep[at], sign[at], exact[at] = ok, positive, whole
        err[at] = times_ten(e, value.scale - q.scale)
    return attach(out, n, idx, value, err, keep, _facts(exact, sign))


def _quotient(ra: Vec, rb: Vec, ea, k: int):
    """(near quotient, its err, rows it holds, rows divided without remainder) of `ra / rb` on k rows
    (`ra` within `ea` of the row engine's, a value or a closed bounded range; `rb` an established
    value): rounded half-even at KMAX places or `ra`'s — a range's bounds each so divided, swapped
    by a negative divisor (uncertain.divide's corners); (None, 0, None, None) if none."""
    if ra.kind != "num" or not k:
        return None, 0, None, None
    from .open import Interval
    rng = wide(ra.rng, k) if ra.rng is not None else np.zeros(k, bool)
    if ra.rng is not None:
        rng = rng & ~_any_flag(ra.iv, k)
    bad = OR(ra.defer, ra.none)
    ok = np.ones(k, bool) if bad is None else ~wide(bad, k)
    if ra.ne is not None:
        ok &= ~wide(ra.ne, k) | rng
    sa, sb = ra.scale, rb.scale
    places = min(MAX_SCALE, max(KMAX, sa, _room(ra, rb, ok, rng, k)))
    shift = places + sb - sa
    if shift > MAX_SCALE:
        return None, 0, None, None
    y = wide(rb.data, k).astype(np.int64)
    f = np.int64(10 ** shift)
    den = np.where(ok, y, 1)

    def divided(x):
        x = wide(x, k).astype(np.int64)
        fits = np.abs(x) < LIMIT // f
        num = np.where(fits, x, 0) * f
        q = _half_even(num * np.sign(den), np.abs(den))
        return q, fits & (np.abs(q) < LIMIT), num % np.abs(den) == 0
    q, fits, whole = divided(ra.data)
    ok &= fits | rng
    iv = None
    if rng.any():
        lo, lo_fits, _ = divided(ra.iv.lo)
        hi, hi_fits, _ = divided(ra.iv.hi)
        ok &= ~rng | (lo_fits & hi_fits)
        negative = den < 0
        iv = Interval(k, np.where(negative, hi, lo), np.where(negative, lo, hi))
        whole = whole & ~rng
    if not ok.any():
        return None, 0, None, None
    ea = errs_of(ea, k)
    # ea (units of ra's scale) divided by |b|, at the quotient's places, plus the half-even rounding
    err = np.where(ea > 0, upper(ea * 10.0 ** shift / np.abs(den).astype(np.float64)), 0) + 1
    value = Vec("num", q, places, False, ne=ra.ne, why=ra.why, dby=ra.dby, rng=rng if rng.any() else None, iv=iv)
    return value, err, ok & shape_ok(value, k, err), whole


def lift(n: int, operands: list, result: Vec, compute, kind: str, op_sign: str = "+") -> Vec:
    """`result` of an operation (`compute(k, operands)`) with near values where an operand has
    some: computed by `compute` itself on the near rows, with the error bound of `kind`
    ("add", "mul", or the function: "min", "max", "abs")."""
    # a range unbounded on a side keeps that side exactly through min, max, + and - (1-Lipschitz
    # on the finite ends), and through * by an exact value (its sign is known): see _sides_exact
    unbounded = kind in ("min", "max", "add", "mul")
    shown = reveal(n, operands, unbounded=unbounded)
    if shown is None:
        return result
    mask, idx, revealed, errs, facts = shown
    k = len(idx)
    if any(v.kind not in ("num", "any") for v in revealed):
        return result
    before = revealed, errs
    if kind == "mul":
        revealed, errs = _fit_product(revealed, errs, k)
        if revealed is None:
            return result
    r = compute(k, revealed)
    if r.kind != "num":
        return result
    s = r.scale
    if kind == "add":
        err = np.minimum(sum(times_ten(e, s - _scale(v)) for v, e in zip(revealed, errs)) + 1, ERR_MAX)
    elif kind == "mul":  # |a|·err(b) + |b|·err(a) + err(a)·err(b), row by row, at the product's scale
        (a, b), (ea, eb) = revealed, errs
        total = _scale(a) + _scale(b)
        fa, fb = ea.astype(np.float64), eb.astype(np.float64)
        bound = magnitudes(a, k) * fb + magnitudes(b, k) * fa + fa * fb + 1
        err = upper(bound / 10.0 ** (total - s) if total >= s else bound * 10.0 ** (s - total))
        if any(v is not w for v, w in zip(revealed, before[0])):  # factors rounded to fit: exactly again
            r, err = _exact_products(r, err, *before, k)
    else:
        err = np.maximum.reduce([times_ten(e, s - _scale(v)) for v, e in zip(revealed, errs)])
    exact = [(f & EXACT) != 0 for f in facts]
    positive = [(f & NONNEG) != 0 for f in facts]
    every = np.logical_and.reduce(exact)
    if kind in ("min", "max"):
        every = every | _picked_exactly(kind, r, revealed, errs, exact, k)
    if kind == "mul":  # an exact 0 times a value not negative: 0 (not -0), whatever the value
        for i in (0, 1):
            v = revealed[i]
            zero = exact[i] & (wide(v.data, k) == 0)
            if v.ne is not None:
                zero &= ~wide(v.ne, k)
            every = every | (zero & positive[1 - i])
    if kind in ("add", "mul", "min") and op_sign != "-":
        sign = np.logical_and.reduce(positive)
    elif kind == "max":
        sign = np.logical_or.reduce(positive)
    elif kind == "abs":
        sign = np.ones(k, bool)
    else:
        sign = np.zeros(k, bool)
    # nothing known, as the row engine says (uncertain.arith, uncertain.function: an operand of
    # which nothing is known gives nothing known, whatever the others): established here
    done = (every | _blind(kind, revealed, errs, exact, k)) & _top(r, k)
    keep = shape_ok(r, k, err, ranged_rows(revealed, k), every, unbounded=unbounded) & ~done
    if kind == "mul":
        keep &= _sides_exact(revealed, errs, exact, k)
    out = attach(result, n, idx, r, err, keep, _facts(every, sign | (every & nonneg(r, k))))
    return establish(n, out, idx, r, done)


def _blind(kind: str, revealed: list, errs: list, exact: list, k: int):
    """Rows where the row engine's result is `top` whatever the near operands hold: an exact
    operand of which nothing is known (unbounded both ways, uncertain.interval) added to anything,
    or multiplied by something that is not 0 by more than its err (0 times it would be 0).
    Not min and max: min(q, top) is (-∞, q]."""
    out = np.zeros(k, bool)
    if kind not in ("add", "mul"):
        return out
    tops = [x & _top(v, k) for v, x in zip(revealed, exact)]
    if kind == "add":
        return np.logical_or.reduce(tops)
    for i in (0, 1):
        other, e = revealed[1 - i], errs[1 - i]
        out |= tops[i] & (tops[1 - i] | _apart_from_zero(other, e, k))
    return out


def _apart_from_zero(v: Vec, e: int, k: int):
    """Rows whose value, or whole range, lies more than e from 0 (e in units of v's scale)."""
    if v.kind != "num":
        return np.zeros(k, bool)
    bad = OR(v.defer, v.none)
    out = np.abs(wide(v.data, k).astype(np.int64)) > e
    if v.ne is not None:
        out &= ~wide(v.ne, k)
        if v.rng is not None:
            iv, rng = v.iv, wide(v.rng, k)
            lo_ok = ~wide(iv.loinf, k) if iv.loinf is not None else np.ones(k, bool)
            hi_ok = ~wide(iv.hiinf, k) if iv.hiinf is not None else np.ones(k, bool)
            out |= rng & ((lo_ok & (wide(iv.lo, k) > e)) | (hi_ok & (wide(iv.hi, k) < -e)))
    return out & ~wide(bad, k) if bad is not None else out


def _sides_exact(revealed: list, errs: list, exact: list, k: int):
    """Rows of a product whose infinite sides — and whether it is 0 at all — are the row engine's:
    wherever an operand reaches infinity (a side unbounded, or nothing known of it: unbounded both
    ways), the other is an exact value or lies apart from 0 by more than its err, so that its sign
    is known. A near value that shows 0, or lies within its err of 0, may be a number of the other
    sign, or not 0, in the row engine: the sides would flip, or top × it would not be 0."""
    out = np.ones(k, bool)
    for i in (0, 1):
        infinite = _reaches_infinity(revealed[i], k)
        if not infinite.any():
            continue
        other = revealed[1 - i]
        value = exact[1 - i] & (~wide(other.ne, k) if other.ne is not None else True)
        out &= ~infinite | value | _apart_from_zero(other, errs[1 - i], k)
    return out | np.logical_and.reduce(exact)


def _reaches_infinity(v: Vec, k: int):
    """Rows not established whose bounds reach infinity on a side (nothing known — `top`, of any
    kind — both)."""
    if v.ne is None:
        return np.zeros(k, bool)
    ne = wide(v.ne, k)
    if v.kind != "num" or v.rng is None:
        return ne
    rng = wide(v.rng, k)
    sides = OR(v.iv.loinf, v.iv.hiinf)
    return ne & (~rng | (rng & wide(sides, k) if sides is not None else False))


def _top(r: Vec, k: int):
    """Rows not established with nothing known of them (no bounds), not deferred."""
    if r.ne is None:
        return np.zeros(k, bool)
    top = wide(r.ne, k).copy()
    if r.rng is not None:
        top &= ~wide(r.rng, k)
    if r.defer is not None:
        top &= ~wide(r.defer, k)
    return top


def maybe_none(n: int, result: Vec, rows, value: Vec) -> Vec:
    """`result` (deferred on `rows`) with near values there that are the row engine's own: one
    value or none (uncertain.join's set of the two: its reason and deciders in `value`'s `why` and
    `dby`, the value in its data). Strict operations give nothing known of it (`top`), as the row
    engine does (no interval holds none): `lift` and `settle_round` establish those rows; `x is
    set` is not established (compiler._IsSet); every other operation leaves it deferred."""
    idx = np.flatnonzero(rows)
    facts = np.full(len(idx), EXACT | MAYBE_NONE, np.int8)
    return result.replace(near=Near(rows, value.take(idx), 0, facts))


def maybe_none_rows(v: Vec):
    """The rows (a mask of v's) whose near value is one value or none, or None."""
    near = v.near
    if near is None or near.facts is None:
        return None
    m = (near.facts & MAYBE_NONE) != 0
    if not m.any():
        return None
    rows = np.zeros(len(near.rows), bool)
    rows[np.flatnonzero(near.rows)[m]] = True
    return rows


WRITTEN_KINDS = ("money", "int", "bool", "date")  # types whose values write alike whatever their exponent


def one_value_or_none(v: Vec, t, deferred):
    """The rows of an output deferred only for holding one value or none, written as the row
    engine writes that set, and those values (uncertain.make_set of the value and None, its
    reason and deciders): (row indices, Python values) — None when there are none. Only for
    types whose values write alike whatever their Decimal exponent (money: two places)."""
    from .. import uncertain as U
    from .columns import EPOCH, _REASONS
    from .open import deciders
    rows = maybe_none_rows(v)
    if rows is None or deferred is None or t is None or t.base.kind not in WRITTEN_KINDS:
        return None
    rows &= deferred
    if not rows.any():
        return None
    value = v.near.value
    m = int(np.count_nonzero(v.near.rows))
    data, why, dby = (wide(x if x is not None else 0, m) for x in (value.data, value.why, value.dby))
    out = []
    for i in np.flatnonzero(rows[v.near.rows]).tolist():
        x = data[i].item()
        if value.kind == "bool":
            x = bool(x)
        elif value.kind == "date":
            x = dt.date.fromordinal(x + EPOCH)
        elif not (value.isint and value.scale == 0):
            x = Decimal(x).scaleb(-value.scale)
        out.append(U.make_set({x, None}, deciders(dby[i]), _REASONS.items[int(why[i])]))
    return np.flatnonzero(rows), out


def establish(n: int, result: Vec, idx, r: Vec, done) -> Vec:
    """`result` with the rows `idx[done]` taken from `r` (of the rows `idx`): no longer deferred."""
    from .columns import NOT, merge, scatter
    if not done.any():
        return result
    rows = np.zeros(n, bool)
    rows[idx[done]] = True
    exact = scatter(n, [(idx[done], r.take(np.flatnonzero(done)))])
    return merge(n, [(NOT(rows, n), result), (rows, exact)])


def _picked_exactly(kind, r: Vec, revealed, errs, exact, k):
    """Rows where min/max gives an exact operand's value and every near operand lies beyond it by
    more than its err: the row engine picks that very value."""
    if any(v.kind != "num" for v in revealed):
        return np.zeros(k, bool)
    s = r.scale
    got = wide(r.data, k)
    hit = np.zeros(k, bool)
    clear = np.ones(k, bool)
    if r.ne is not None:  # the pick a value, row by row; an operand a value or a closed range
        clear &= ~wide(r.ne, k)
    for v in revealed:
        if v.none is not None:
            clear &= ~wide(v.none, k)
        if v.ne is not None:
            clear &= ~wide(v.ne, k) | (wide(v.rng, k) if v.rng is not None else False)
    for v, e, x in zip(revealed, errs, exact):
        if _scale(v) > s:
            return np.zeros(k, bool)
        f = np.int64(10 ** (s - _scale(v)))
        d = wide(v.data, k) * f
        e = times_ten(e, s - _scale(v))
        clear &= e < LIMIT
        hit |= x & (d == got)
        # a near operand beyond the pick by more than its err; a range wholly beyond it (closed, bounded)
        near_end = d
        if v.rng is not None:  # the end of the range nearer the pick must be finite
            rng = wide(v.rng, k)
            end_inf = v.iv.loinf if kind == "min" else v.iv.hiinf
            bounded = rng if end_inf is None else rng & ~wide(end_inf, k)
            near_end = np.where(rng, wide(v.iv.lo if kind == "min" else v.iv.hi, k) * f, d)
            clear &= ~rng | bounded | x
        beyond = (near_end - e > got) if kind == "min" else (near_end + e < got)
        clear &= x | beyond
    return hit & clear


def join(n: int, rows, outcomes: list, deciding, result: Vec, compute) -> Vec:
    """open.join's `result` with near values: the join of the outcomes as if their near values
    were theirs, kept where each of them is a value and they lie more than 2·err apart."""
    vecs = [v for _, v in outcomes]
    shown = reveal(n, vecs, rows, unbounded=True)  # a hull keeps the outcomes' infinite sides
    if shown is None:
        return result
    mask, idx, revealed, errs, facts = shown
    k = len(idx)
    masks = [wide(m, n)[idx] for m, _ in outcomes]
    for m, v in zip(masks, revealed):
        if v.kind not in ("num", "any"):
            return result
    d = deciding[idx] if isinstance(deciding, np.ndarray) and deciding.ndim == 1 else deciding
    r = compute(k, np.ones(k, bool), list(zip(masks, revealed)), d)
    if r.kind != "num":
        return result
    s = r.scale
    # each row's largest err among the outcomes it may take
    err = np.maximum.reduce([np.where(m, times_ten(e, s - _scale(v)), 0) for m, v, e in zip(masks, revealed, errs)])
    keep = shape_ok(r, k, err, unbounded=True)
    active = np.zeros(k, np.int64)
    maybe_none = np.zeros(k, bool)
    for m, v, f in zip(masks, revealed, facts):
        active += m
        maybe_none |= m & ((f & MAYBE_NONE) != 0)  # one value or none: a set, joined as such
    same = _maybe_same_open(k, masks, revealed, s, err)
    keep &= ~maybe_none & ~same
    values = ~wide(r.ne, k) if r.ne is not None else np.ones(k, bool)
    every, sign, blind = np.ones(k, bool), np.ones(k, bool), np.zeros(k, bool)
    for m, v, f in zip(masks, revealed, facts):
        exact = (f & EXACT) != 0
        every &= ~m | exact
        sign &= ~m | ((f & NONNEG) != 0)
        blind |= m & exact & _top(v, k)
    keep &= ~(values & (active > 1)) | every  # outcomes equal here may be different Decimals there
    # nothing known, as the row engine says: every outcome exact, or one of which nothing is known
    # (the hull of the outcomes is then unbounded whatever the others)
    done = _top(r, k) & ~maybe_none & (every | (blind & ~same))
    out = attach(result, n, idx, r, err, keep & ~done, _facts(every, sign))
    return establish(n, out, idx, r, done)


def _maybe_same_open(k, masks, revealed, scale, err):
    """Rows where the row engine may find every outcome the same value not established (open._join's
    `_same_open`: the first outcome itself, not their hull): every one not established, with the
    same reason and deciders, and bounds within 2·err of the first's."""
    from .open import _full as open_full, span
    out = np.ones(k, bool)
    first = None
    for m, v in zip(masks, revealed):
        ne = wide(v.ne, k) if v.ne is not None else np.zeros(k, bool)
        key = (wide(v.why if v.why is not None else 0, k), wide(v.dby if v.dby is not None else 0, k),
               span(v, k, scale) if v.kind == "num" else None)
        if first is None:
            first = key
            out &= ~m | ne
            continue
        same = ne & (key[0] == first[0]) & (key[1] == first[1])
        if key[2] is not None and first[2] is not None:
            for end, inf in (("lo", "loinf"), ("hi", "hiinf")):  # both unbounded there, or both close
                a_inf, b_inf = open_full(getattr(key[2], inf), k), open_full(getattr(first[2], inf), k)
                close = np.abs(getattr(key[2], end) - getattr(first[2], end)) <= 2 * err
                same &= (a_inf & b_inf) | (~a_inf & ~b_inf & close)
        out &= ~m | same
    return out


def settle_round(n: int, v: Vec, result: Vec, compute, rounding) -> Vec:
    """`round … to …` of `v` (`result`): the near rows where rounding decides the row engine's
    value — the value (each bound) minus err and plus err round alike, and not to a zero that
    might be negative — established with that rounding, and so are the rows exact already (a value
    that may be absent rounds to nothing known); the others stay deferred."""
    shown = reveal(n, [v], unbounded=True)  # an infinite side rounds to itself
    if shown is None:
        return result
    mask, idx, (rv,), (e,), (f,) = shown
    k = len(idx)
    if rv.kind != "num":
        return result
    exact, positive = (f & EXACT) != 0, (f & NONNEG) != 0
    r = compute(k, rv)
    if r.kind != "num":
        return result
    done = exact & _top(r, k)
    if rounding(np.zeros(1, np.int64), rv.scale) is not None:  # else nothing rounded off: 28 digits matter
        keep = shape_ok(r, k, 0, unbounded=True)
        ne = wide(rv.ne, k) if rv.ne is not None else np.zeros(k, bool)

        def decided(x, inf=None):
            out = _decided(lambda y: rounding(y, rv.scale), wide(x, k).astype(np.int64), e, positive)
            return out if inf is None else out | wide(inf, k)
        loose = e > 0  # rows exact here need no check
        keep &= ~loose | (~ne & decided(rv.data)) | ne | exact
        if rv.rng is not None:
            keep &= ~loose | ~wide(rv.rng, k) | (decided(rv.iv.lo, rv.iv.loinf) & decided(rv.iv.hi, rv.iv.hiinf)) | exact
        if rv.rng is None:
            keep &= ~ne  # not established without bounds: nothing decided
        else:
            keep &= ~(ne & ~wide(rv.rng, k))
        done |= keep
    else:  # nothing to round off: only the row engine's own values (exact here) are decided
        done |= exact & shape_ok(r, k, 0, unbounded=True)
    return establish(n, result, idx, r, done)


def _decided(rounding, x, e, positive):
    """Rows where every value within e of x rounds alike, and not to a zero a negative value gives
    (none is, on the rows `positive`)."""
    lo, hi = rounding(x - e), rounding(x + e)
    return (lo == hi) & ~((hi == 0) & (x - e < 0) & ~positive)
