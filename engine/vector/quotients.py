"""Division in columns (expressions._Compiler._Arith's `/`, engine.values.divide and uncertain.divide).

The row engine divides Decimals to 28 significant digits. A quotient that terminates within
KMAX more decimal places than its operands (the denominator, once the fraction is reduced, is
2^i·5^j) is that very value at a fixed scale, and stays in int64 columns; so are the bounds of a
quotient of ranges whose corners are such quotients, 0 or unbounded (`(0, ∞)` divided into a
count: the attainment of a target that is not established). A row whose quotient does not
terminate (1/3) is the row engine's alone to write to 28 digits: the first pass of a run hands it
back, the second (engine/vector/run.py) computes it as a Python value (objects.py).
"""
from __future__ import annotations

import numpy as np

from . import open as open_
from .columns import LIMIT, NOT, OR, Vec, rescale, wide

KMAX = 9   # decimal places a quotient may add to its operands' and stay in columns
_POS, _NEG = 2, -2  # corner kinds besides 0 (finite): unbounded above, below


def exact(x, sx: int, y, sy: int, n: int, places: int | None = None):
    """(q, S, ok): where `ok`, (x·10^-sx) / (y·10^-sy) = q·10^-S exactly, one scale S for all
    rows; a quotient of -0 (0 divided by a negative, which Decimal writes -0) is not ok. With
    `places`, every quotient rounded half-even to that many places (near.py's near values)."""
    x = wide(np.asarray(x, np.int64), n)
    y = wide(np.asarray(y, np.int64), n)
    num, o1 = rescale(x, 0, sy, n)
    den, o2 = rescale(y, 0, sx, n)
    num, den = wide(num, n), wide(den, n)
    ok = ~open_._full(OR(o1, o2), n) & (den != 0) & ~((num == 0) & (den < 0))
    if places is not None:
        from .near_arith import _half_even
        f = np.int64(10 ** places)
        ok &= np.abs(num) < LIMIT // f
        q = _half_even(np.where(ok, num, 0) * f * np.sign(den), np.abs(np.where(ok, den, 1)))
        return q, places, ok & (np.abs(q) < LIMIT)
    an, ad = np.abs(np.where(ok, num, 0)), np.abs(np.where(ok, den, 1))
    g = np.gcd(an, ad)
    g[g == 0] = 1
    an, ad = an // g, ad // g
    # terminating within KMAX places: the reduced denominator divides 10^KMAX; the scale is the
    # fewest places that serve every row
    ok &= (np.int64(10 ** KMAX) % ad) == 0
    scale = 0
    if ok.any():
        d = ad[ok]
        while scale < KMAX and ((np.int64(10 ** scale) % d) != 0).any():
            scale += 1
    mult = np.where(ok, np.int64(10 ** scale) // np.where(ok, ad, 1), 0)
    ok &= an < LIMIT // np.maximum(mult, 1)
    q = np.where(ok, an * mult, 0) * np.sign(num) * np.sign(den)
    return q, scale, ok


def divide(n: int, a: Vec, b: Vec, objects) -> Vec:
    """`a / b` on every row: in columns where the quotient (or each corner of a quotient of ranges)
    is exact; the other rows as Python values when `objects` (run.PythonValues) allows, else handed back."""
    scan = open_.Scan([a, b], n)
    if a.kind not in ("num", "any") or b.kind not in ("num", "any"):
        return Vec("any", ne=scan.ne, why=scan.why, dby=scan.dby, defer=OR(scan.defer, NOT(OR(scan.defer, scan.ne), n)))
    live = NOT(OR(scan.defer, scan.ne), n)
    zero = live & (wide(b.data, n) == 0) if b.kind == "num" else np.zeros(n, bool)
    q, scale, ok = np.zeros(n, np.int64), 0, np.zeros(n, bool)
    if b.kind == "num" and a.kind == "num" and live.any():  # worked out on the rows with values only
        idx = np.flatnonzero(live)
        q_idx, scale, ok_idx = exact(wide(a.data, n)[idx], a.scale, wide(b.data, n)[idx],
                                     b.scale, len(idx))
        q[idx], ok[idx] = q_idx, ok_idx
    iv = rows = near_bounds = None
    lost = live & ~ok & ~zero  # a quotient that does not terminate here
    opened = open_._full(scan.opened, n)
    if opened.any():  # on the opened rows only, then put back in place
        idx = np.flatnonzero(opened)
        k = len(idx)
        iv_k, rows_k, q_scale, lost_k, zero_k = _ranges(k, a.take(idx), b.take(idx), np.ones(k, bool), scale)
        lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
        lo[idx], hi[idx] = wide(iv_k.lo, k), wide(iv_k.hi, k)
        flags = []
        for f in (iv_k.loinf, iv_k.hiinf):
            full = np.zeros(n, bool)
            if f is not None:
                full[idx] = f
            flags.append(open_._some(full))
        iv = open_.Interval(n, lo, hi, *flags)
        if rows_k is not None:
            rows = np.zeros(n, bool)
            rows[idx] = rows_k
        if q_scale != scale:  # the bounds need more places than the values: the values follow
            q, _ = rescale(q, scale, q_scale, n)
            scale = q_scale
        lost[idx] |= lost_k
        zero = zero.copy()
        zero[idx] |= zero_k
        near_bounds = idx[lost_k] if lost_k.any() else None
    hand = zero | lost  # by zero: the row engine's error; not exact: its 28 digits
    if objects(lost):
        from .objects import divide as divide_objects
        return divide_objects(n, a, b)
    out = open_.result(n, "num", q, scale, False, scan, iv, rows)
    out = out.replace(defer=OR(out.defer, hand if hand.any() else None))
    if lost.any() or a.near is not None:  # carried on close to the row engine's (near.py)
        from .near import divide as divide_near
        out = divide_near(n, a, b, out, lost if lost.any() else None)
    if near_bounds is not None:  # bounds that do not terminate: near bounds (near.py)
        out = _near_bounds(n, a, b, out, near_bounds)
    return out


def _near_bounds(n, a: Vec, b: Vec, out: Vec, idx) -> Vec:
    """`out` with near values on the rows `idx`, whose bounds are quotients that do not terminate:
    `_ranges` with each corner rounded to KMAX places (within 1 of the row engine's 28 digits)."""
    from . import near
    k = len(idx)
    ak, bk = a.take(idx), b.take(idx)
    iv, rows, places, lost, _ = _ranges(k, ak, bk, np.ones(k, bool), 0, places=_corner_places(ak, bk, k))
    if rows is None:
        return out
    value = open_.result(k, "num", np.zeros(k, np.int64), places, False, open_.Scan([ak, bk], k), iv, rows)
    keep = rows & ~lost & near.shape_ok(value, k, 1, unbounded=True)  # infinite sides: from exact signs
    positive = keep & (wide(iv.lo, k) - 1 >= 0) & ~open_._full(iv.loinf, k)
    return near.attach(out, n, idx, value, 1, keep, near._facts(np.zeros(k, bool), positive))


def _corner_places(a: Vec, b: Vec, k: int) -> int:
    """near.quotient_places for the corners of `a / b` (their finite ends; a divisor's end of 0
    left out, it gives no finite corner)."""
    from .near_arith import quotient_places
    x, y = open_.span(a, k), open_.span(b, k)
    xs = [np.abs(e.astype(np.float64))[~open_._full(inf, k)] for e, inf in ((x.lo, x.loinf), (x.hi, x.hiinf))]
    ys = [np.abs(e.astype(np.float64))[~open_._full(inf, k) & (e != 0)] for e, inf in ((y.lo, y.loinf), (y.hi, y.hiinf))]
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    top_x = float(xs.max()) if len(xs) else 1.0
    least_y = float(ys.min()) if len(ys) else 1.0
    sa = a.scale if a.kind == "num" else 0
    sb = b.scale if b.kind == "num" else 0
    return quotient_places(top_x, top_x / least_y * 10.0 ** (sb - sa), sb)


def _ranges(n, a: Vec, b: Vec, opened, scale: int, places: int | None = None):
    """uncertain.divide on the opened rows: (bounds at one scale, rows with bounds, that scale,
    rows whose bounds are not exact here, rows where every world divides by zero). With `places`,
    each corner rounded half-even to that many places (near.py)."""
    x = _span(a, n)
    y = _span(b, n)
    b_value = opened & ~open_._full(b.ne, n)
    # an established divisor of 0: nothing is known of the quotient (compiler's arith_open)
    top = b_value & (y.lo == 0)
    bzero = opened & ~b_value & ~open_._full(y.loinf, n) & ~open_._full(y.hiinf, n) & (y.lo == 0) & (y.hi == 0)
    blo_inf, bhi_inf = open_._full(y.loinf, n), open_._full(y.hiinf, n)
    side = np.where(~blo_inf & (y.lo >= 0), 1, np.where(~bhi_inf & (y.hi <= 0), -1, 0))
    top |= opened & (side == 0)
    work = opened & ~top & ~bzero
    corners = []  # (kind: 0 finite, _POS, _NEG; value, its scale; exact)
    xs = [(np.where(open_._full(x.loinf, n), _NEG, 0), x.lo), (np.where(open_._full(x.hiinf, n), _POS, 0), x.hi)]
    ys = [(np.where(blo_inf, _NEG, 0), y.lo), (np.where(bhi_inf, _POS, 0), y.hi)]
    for xk, xv in xs:
        for yk, yv in ys:
            corners.extend(_corner(n, xk, xv, a, yk, yv, b, side, places))
    scale_out = max([scale] + [s for _, _, s, ok in corners if ok is not None and (ok & work).any()])
    lo_kind = np.full(n, 3)
    hi_kind = np.full(n, -3)
    lo = np.zeros(n, np.int64)
    hi = np.zeros(n, np.int64)
    lost = np.zeros(n, bool)
    for kind, value, s, ok in corners:
        if ok is not None:
            lost |= work & ~ok
            value, over = rescale(value, s, scale_out, n)
            if over is not None:
                lost |= work & over
        value = wide(value, n)
        # min and max by (−∞ < finite < +∞), finite values by their value
        key_lo = np.where(kind == 0, 0, kind)
        better_lo = (key_lo < lo_kind) | ((key_lo == lo_kind) & (key_lo == 0) & (value < lo))
        lo_kind, lo = np.where(better_lo, key_lo, lo_kind), np.where(better_lo, value, lo)
        better_hi = (key_lo > hi_kind) | ((key_lo == hi_kind) & (key_lo == 0) & (value > hi))
        hi_kind, hi = np.where(better_hi, key_lo, hi_kind), np.where(better_hi, value, hi)
    rows = work & ~lost
    iv = open_.Interval(n, lo, hi, open_._some(rows & (lo_kind == _NEG)), open_._some(rows & (hi_kind == _POS)))
    return iv, (rows if rows.any() else None), scale_out, work & lost, bzero


def _span(v: Vec, n: int):
    if v.kind == "any":  # nothing known: unbounded both ways
        return open_.Interval(n, np.zeros(n, np.int64), np.zeros(n, np.int64), np.ones(n, bool), np.ones(n, bool))
    s = open_.span(v, n)
    return open_.Interval(n, wide(s.lo, n), wide(s.hi, n), s.loinf, s.hiinf)


def _sign(kind, value):
    return np.where(kind == _POS, 1, np.where(kind == _NEG, -1, np.sign(value)))


def _corner(n, xk, xv, a, yk, yv, b, side, places=None):
    """uncertain._quotients at one corner: a list of (kind, value, scale, exact mask or None)."""
    x_inf, y_inf = xk != 0, yk != 0
    y_zero = ~y_inf & (yv == 0)
    sx = _sign(xk, xv)
    sy = _sign(yk, yv)
    # y = 0, approached from `side`: 0 or unbounded, by the sign of x
    s0 = sx * side
    k0 = np.where(s0 > 0, _POS, np.where(s0 < 0, _NEG, 0))
    # y unbounded: 0, and, when x is unbounded too, unbounded by the signs
    k_inf = np.where(sx * sy > 0, _POS, _NEG)
    q, scale, ok = exact(np.where(x_inf, 0, xv), a.scale if a.kind == "num" else 0, np.where(y_inf | y_zero, 1, yv),
                         b.scale if b.kind == "num" else 0, n, places)
    finite = ~x_inf & ~y_inf & ~y_zero
    kind = np.where(y_zero, k0, np.where(y_inf, 0, np.where(x_inf, k_inf, 0)))
    value = np.where(finite, q, 0)
    first = (kind, value, scale, ok | ~finite)
    out = [first]
    both_inf = x_inf & y_inf
    if both_inf.any():  # the second candidate of two unbounded sides: unbounded by the signs
        out.append((np.where(both_inf, k_inf, kind), value, scale, ok | ~finite))
    return out
