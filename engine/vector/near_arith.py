"""The numbers of near values (engine/vector/near.py): their error bounds, one per row, worked out
without overflow (`times_ten` saturates, `upper` bounds float64 work from above); how many places a
column of quotients keeps (`quotient_places`: as many as int64 holds with room to spare); and
products whose factors would add up past a column's places — rounded to fewer places to fit
(`_fit_product`, `coarsen`), then, where each factor is a value or a closed bounded range, worked
out again exactly in Python integers (`_exact_products`). near.py decides what the bounds allow.
"""
from __future__ import annotations

import numpy as np

from .columns import LIMIT, MAX_SCALE, Vec, wide
from .quotients import KMAX

MIN_PLACES = KMAX  # a near value rounded to fewer places (for a product) keeps at least these


ERR_MAX = LIMIT      # an err this large stands for any larger one: such a row keeps no near value


def errs_of(err, k: int):
    """An err (a Python int, or one per row) as k int64 values."""
    e = np.asarray(err, np.int64)
    return np.full(k, e, np.int64) if e.ndim == 0 else e


def times_ten(e, d: int):
    """e · 10^d (d ≥ 0): an err in units of a scale d places finer, saturated at ERR_MAX."""
    if d <= 0:
        return e
    if d >= 19:
        return np.where(e > 0, ERR_MAX, 0).astype(np.int64)
    f = np.int64(10 ** d)
    return np.where(e >= ERR_MAX // f, ERR_MAX, e * f)


def upper(x):
    """An int64 upper bound of the nonnegative quantities x, worked out in float64 (products of
    values and errs overflow int64): a few operations err by far less than 2^-40 of the result,
    which the margin covers; saturated at ERR_MAX."""
    y = np.ceil(np.asarray(x, np.float64) * (1 + 2.0 ** -40)) + 1
    return np.where(y >= float(ERR_MAX), ERR_MAX, np.minimum(y, float(ERR_MAX)).astype(np.int64))


def _scale(v: Vec) -> int:
    return v.scale if v.kind == "num" else 0


def magnitude(v: Vec, k: int) -> int:
    """The largest |value| and |bound| of the rows (units of v.scale), a Python int."""
    if v.kind != "num":
        return 0
    parts = [np.abs(wide(v.data, k).astype(np.int64))]
    if v.rng is not None:
        parts += [np.abs(wide(v.iv.lo, k)), np.abs(wide(v.iv.hi, k))]
    return max(int(p.max()) if len(p) else 0 for p in parts)


def magnitudes(v: Vec, k: int):
    """Each row's largest |value| or |bound| (units of v.scale), as float64 (an upper bound's part)."""
    if v.kind != "num":
        return np.zeros(k)
    out = np.abs(wide(v.data, k).astype(np.float64))
    if v.rng is not None:
        rng = wide(v.rng, k)
        for end in (v.iv.lo, v.iv.hi):
            out = np.where(rng, np.maximum(out, np.abs(wide(end, k).astype(np.float64))), out)
    return out


def coarsen(v: Vec, err, places: int, k: int):
    """`v` (near values of k rows) rounded half-even to `places` decimal places, and its err (per
    row) then."""
    if v.kind != "num" or v.scale <= places:
        return v, err
    from .open import Interval
    f = 10 ** (v.scale - places)

    def r(x):
        return _half_even(wide(x, k).astype(np.int64), np.int64(f))
    iv = v.iv
    if iv is not None:
        iv = Interval(k, r(iv.lo), r(iv.hi), iv.loinf, iv.hiinf, iv.loopen, iv.hiopen)
    out = Vec("num", r(v.data), places, v.isint, v.none, v.ne, v.defer, v.why, v.dby, v.rng, iv)
    return out, -(-errs_of(err, k) // np.int64(f)) + 1


def _half_even(x, d):
    """x / d rounded half to even (d > 0), on int64 columns."""
    a = np.abs(x)
    q, r = a // d, a % d
    up = (2 * r > d) | ((2 * r == d) & (q % 2 == 1))
    q = q + up
    return np.where(x < 0, -q, q)


QUOTIENT_PLACES = 15   # at most, for a quotient's near value (more places: a smaller err)


HEADROOM = 10 ** 2     # a quotient's near value leaves room for sums with values this many times larger


def _room(ra: Vec, rb: Vec, ok, rng, k: int) -> int:
    """`quotient_places` for `ra / rb` on the rows `ok` (`rb` an established value)."""
    idx = np.flatnonzero(ok)
    if not len(idx):
        return 0
    x = np.abs(wide(ra.data, k)[idx].astype(np.float64))
    r = wide(rng, k)[idx]
    if r.any():
        for end in (ra.iv.lo, ra.iv.hi):
            x = np.where(r, np.maximum(x, np.abs(wide(end, k)[idx].astype(np.float64))), x)
    y = np.abs(wide(rb.data, k)[idx].astype(np.float64))
    y = np.where(y == 0, 1.0, y)
    return quotient_places(float(x.max()), float((x / y).max()) * 10.0 ** (rb.scale - ra.scale),
                           rb.scale - ra.scale)


def quotient_places(top_x: float, top_q: float, extra: int) -> int:
    """The most decimal places (KMAX to QUOTIENT_PLACES) for the near values of a column of
    quotients: numerators (at most top_x) times 10^(places + extra) stay within int64, a digit to
    spare, and quotients (at most top_q) HEADROOM times below a column's limit — a rate of patients
    at 13 or 14 places, where 9 would make its err 10^4 times larger."""
    p = min(np.floor(np.log10(float(LIMIT) / max(top_x, 1.0))) - 1 - extra,
            np.floor(np.log10(float(LIMIT) / HEADROOM / max(top_q, 1e-300))), QUOTIENT_PLACES)
    return int(max(p, KMAX))


def _half_even_objects(p, d: int):
    """Python integers p (an object array) / d rounded half to even, as an object array (d > 0)."""
    a = np.abs(p)
    q, r = a // d, a % d
    q = q + ((2 * r > d) | ((2 * r == d) & (q % 2 == 1))).astype(np.int64)
    return np.where(p < 0, -q, q)


def _exact_products(r: Vec, err, operands: list, errs: list, k: int):
    """A product whose factors were first rounded to fewer places (`_fit_product`) worked out again,
    on the rows where each factor is a value or a closed bounded range, exactly in Python integers:
    the value, or the smallest and largest of the four corner products (open.mul's bounds where
    no side is infinite), rounded half-even to r's scale. Its err is then that of the factors' own
    (|a|·err(b) + |b|·err(a) + err(a)·err(b)) plus that rounding — two rates at 14 places give a
    product within 2e-14, not 2e-9."""
    from .open import Interval
    a, b = operands
    if r.kind != "num" or a.kind != "num" or b.kind != "num":
        return r, err
    d = a.scale + b.scale - r.scale
    if d <= 0:
        return r, err
    rows = np.ones(k, bool)
    for v in (a, b, r):
        for m in (v.none, v.defer):
            if m is not None:
                rows &= ~wide(m, k)
    ends, ranged = [], np.zeros(k, bool)
    for v in (a, b):
        ne = wide(v.ne, k) if v.ne is not None else np.zeros(k, bool)
        rng = wide(v.rng, k) if v.rng is not None else np.zeros(k, bool)
        rows &= ~ne | (rng & ~_any_flag(v.iv, k) if v.rng is not None else False)
        ranged |= rng
        data = wide(v.data, k)
        ends.append((np.where(rng, wide(v.iv.lo, k), data) if v.rng is not None else data,
                     np.where(rng, wide(v.iv.hi, k), data) if v.rng is not None else data))
    r_rng = wide(r.rng, k) if r.rng is not None else np.zeros(k, bool)
    r_ne = wide(r.ne, k) if r.ne is not None else np.zeros(k, bool)
    r_flags = _any_flag(r.iv, k) if r.rng is not None else np.zeros(k, bool)
    rows &= np.where(ranged, r_rng & ~r_flags, ~r_ne)
    idx = np.flatnonzero(rows)
    if not len(idx):
        return r, err
    f = 10 ** d
    (alo, ahi), (blo, bhi) = ([e[idx].astype(object) for e in pair] for pair in ends)  # Python integers
    if ranged[idx].any():  # the four corners (a value's two ends are the same)
        corners = [_half_even_objects(x * y, f) for x in (alo, ahi) for y in (blo, bhi)]
        lows, highs = np.minimum.reduce(corners), np.maximum.reduce(corners)
    else:
        lows = highs = _half_even_objects(alo * blo, f)
    fits = ((np.abs(lows) < LIMIT) & (np.abs(highs) < LIMIT)).astype(bool)
    if not fits.any():
        return r, err
    at, lows, highs = idx[fits], lows[fits].astype(np.int64), highs[fits].astype(np.int64)
    values = ~ranged[at]
    data = np.array(wide(r.data, k), np.int64, copy=True)
    data[at[values]] = lows[values]
    iv = r.iv
    if r.rng is not None and (~values).any():
        lo, hi = np.array(wide(iv.lo, k), np.int64, copy=True), np.array(wide(iv.hi, k), np.int64, copy=True)
        lo[at[~values]], hi[at[~values]] = lows[~values], highs[~values]
        iv = Interval(k, lo, hi, iv.loinf, iv.hiinf, iv.loopen, iv.hiopen)
    ea, eb = (e.astype(np.float64) for e in errs)
    bound = magnitudes(a, k) * eb + magnitudes(b, k) * ea + ea * eb
    err = np.array(err, np.int64, copy=True)
    err[at] = np.minimum(upper(bound / 10.0 ** d)[at] + 1, ERR_MAX)
    return Vec("num", data, r.scale, r.isint, r.none, r.ne, r.defer, r.why, r.dby, r.rng, iv), err


def _any_flag(iv, k):
    out = np.zeros(k, bool)
    for m in (iv.loinf, iv.hiinf, iv.loopen, iv.hiopen):
        if m is not None:
            out |= wide(m, k)
    return out


def _fit_product(revealed, errs, k):
    """Near operands of a product rounded to fewer places (never under MIN_PLACES) where the scales
    would add up past a column's, or the product leave the int64 range (an amount times a rate
    at 18 places)."""
    revealed, errs = list(revealed), list(errs)
    for _ in range(2):
        scales = [_scale(v) for v in revealed]
        size = magnitude(revealed[0], k) * magnitude(revealed[1], k)
        places = max(0, sum(scales) - MAX_SCALE)
        while size // 10 ** places >= LIMIT:
            places += 1
        if not places:
            return revealed, errs
        near_ones = [i for i in (0, 1) if errs[i].any() and scales[i] > MIN_PLACES]
        if not near_ones:
            return None, None
        i = max(near_ones, key=lambda j: scales[j])
        revealed[i], errs[i] = coarsen(revealed[i], errs[i], max(MIN_PLACES, scales[i] - places), k)
    scales = [_scale(v) for v in revealed]
    size = magnitude(revealed[0], k) * magnitude(revealed[1], k)
    if sum(scales) > MAX_SCALE or size >= LIMIT:
        return None, None
    return revealed, errs
