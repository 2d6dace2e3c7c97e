"""Column values of the vector back-end: `Vec` (one value per row, with its masks), the masks' algebra,
constants at a fixed decimal scale, and how branches and subsets of rows are merged back."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from .context import Ctx  # noqa: F401 — named in the type of a compiled closure



LIMIT = 1 << 60          # |data| of every value row stays below: sums never wrap an int64
FLIMIT = float(LIMIT)
MAX_SCALE = 18           # decimal places a column may carry
INPUT_SCALE = 9          # an input with more decimal places is handed back to the row engine
MAX_DEPTH = 48           # rules nested deeper (recursive parameterised rules) are deferred
EPOCH = dt.date(1970, 1, 1).toordinal()
DAY_MIN = dt.date.min.toordinal() - EPOCH
DAY_MAX = dt.date.max.toordinal() - EPOCH
SCALAR_KINDS = {"int", "decimal", "money", "percent", "bool", "date", "text", "enum"}
NESTED = ("list", "record", "map")  # Vec kinds whose data is per position or per field (engine/vector/lists.py)

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

def wide(x, n):
    """`x` as a column of n rows: `x` itself when it is one already, else a read-only broadcast
    view. np.broadcast_to costs microseconds per call, and a chunk makes about 10^5 of these."""
    if x.__class__ is np.ndarray and x.ndim == 1 and x.shape[0] == n:
        return x
    return np.broadcast_to(x, (n,))


def select(m, x, y):
    """`x` on the rows of mask `m`, `y` on the others (scalars or columns of the same kind).
    np.where branches on each row: cheap when the mask is nearly uniform, several times a pass
    of arithmetic when it is mixed (mispredictions) — there, int64 arithmetic, which wraps
    exactly (y + (x − y)·1 is x on every row), or boolean algebra."""
    if m.__class__ is not np.ndarray or m.ndim == 0:
        return x if m else y
    if (x.dtype if x.__class__ is np.ndarray else np.asarray(x).dtype) == np.bool_:
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

class Unsupported(Exception):
    """An expression this back-end does not compile: the rows that evaluate it are handed back."""


class Vec:
    """One value per row of a context. kinds: bool num date sym (numpy data, scalar or per row);
    list, record, map (engine/vector/lists.py: a column per position, field or key); const (a
    Python collection, the same on every row); opaque (a value this back-end does not compute:
    using it defers the row); any (no row holds a value).

    Not-established rows (`ne`) carry their reason (`why`), what would decide them (`dby`) and,
    where they are known to lie within bounds (`rng`), those bounds (`iv`, an open.Interval at the
    column's scale): see engine/vector/open.py."""
    __slots__ = ("kind", "data", "scale", "isint", "none", "ne", "defer", "why", "dby", "rng", "iv", "near")

    def __init__(self, kind, data=None, scale=0, isint=False, none=None, ne=None, defer=None, why=None,
                 dby=None, rng=None, iv=None, near=None):
        self.kind, self.data, self.scale, self.isint = kind, data, scale, isint
        self.defer = defer
        self.ne = ANDNOT(ne, defer)
        self.none = ANDNOT(none, OR(defer, self.ne))
        self.why = why if self.ne is not None else None  # reason codes, read where `ne`
        self.dby = dby if self.ne is not None else None  # decided-by codes, read where `ne` (None: 0)
        self.rng = AND(rng, self.ne) if iv is not None else None
        if self.rng is not None and not self.rng.any():
            self.rng = None
        self.iv = iv if self.rng is not None else None
        # near values of deferred rows (engine/vector/near.py): on deferred rows only
        self.near = near.within(defer) if near is not None else None

    def bad(self):
        """Rows without a value."""
        return OR(self.defer, self.ne, self.none)

    def take(self, idx) -> "Vec":
        data = self.data
        if self.kind in NESTED:
            from .lists import take
            data = take(self, idx)
        elif isinstance(data, np.ndarray) and data.ndim == 1:
            data = data[idx]
        why = _rows(self.why, idx)
        return Vec(self.kind, data, self.scale, self.isint,
                   *(m[idx] if m is not None else None for m in (self.none, self.ne, self.defer)), why=why,
                   dby=_rows(self.dby, idx), rng=self.rng[idx] if self.rng is not None else None,
                   iv=self.iv.take(idx) if self.iv is not None else None,
                   near=self.near.take(idx) if self.near is not None else None)

    def replace(self, **changes) -> "Vec":
        """This value with some fields changed. Its near values (near.py) are dropped unless given:
        a near value is true of the data it was computed with, and an operation that does not
        know them leaves its rows deferred."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields["near"] = None
        fields.update(changes)
        return Vec(**fields)


def _rows(x, idx):
    return x[idx] if isinstance(x, np.ndarray) and x.ndim == 1 else x


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

def merge(n, parts, ne=None, defer=None, why=None, dby=None) -> Vec:
    """Rows taken from several values: parts are (mask, Vec) with disjoint masks; `ne`/`why`/`dby`:
    rows already not established (before any part is looked at), their reasons and deciders."""
    out = _merge(n, parts, ne, defer, why, dby)
    if not any(v is not None and v.near is not None for _, v in parts):
        return out
    pieces = []
    for m, v in parts:
        if m is None or v is None or v.near is None:
            continue
        idx = np.flatnonzero(wide(m, n) & v.near.rows)
        if len(idx):
            pieces.append((idx, v.near.take(idx)))
    return _with_near(n, out, pieces, OR(ne, defer))


def _with_near(n, out: Vec, pieces: list, stopped) -> Vec:
    """`out` with the near values (near.py) of its parts: pieces (rows, Near of those rows), the
    rows `stopped` (not established or deferred before any part) left out."""
    from .near import Near
    pieces = [(idx, near) for idx, near in pieces if near is not None]
    if not pieces:
        return out
    idx = np.concatenate([i for i, _ in pieces])
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    k = len(idx)
    value = _scatter(k, [(np.searchsorted(idx, i), near.value) for i, near in pieces])
    scale = value.scale if value.kind == "num" else 0
    err = np.concatenate([near.at_scale(scale) for _, near in pieces])[order]
    facts = np.concatenate([np.zeros(len(i), np.int8) if near.facts is None else near.facts
                            for i, near in pieces])[order]
    rows = np.zeros(n, bool)
    rows[idx] = True
    if stopped is not None:
        keep = ~wide(stopped, n)[idx]
        rows[idx[~keep]] = False
        value, facts, err = value.take(np.flatnonzero(keep)), facts[keep], err[keep]
    return out.replace(near=Near.of(rows, value, err, facts)) if rows.any() else out


def _merge(n, parts, ne=None, defer=None, why=None, dby=None) -> Vec:
    parts = [(m, v) for m, v in parts if m is not None and v is not None]
    kinds = {v.kind for _, v in parts if v.kind != "any"}
    if kinds == {"list", "const"}:  # `[]` and a list computed per row
        from .lists import as_list
        parts = [(m, as_list(v)) for m, v in parts]
        kinds = {v.kind for _, v in parts if v.kind != "any"}
    none = OR(*(AND(m, v.none) for m, v in parts))
    pairs = [(ne, why)] + [(AND(m, v.ne), v.why) for m, v in parts]
    ne = OR(*(m for m, _ in pairs))
    why = first_why(n, *pairs) if ne is not None else None
    if ne is not None:
        dby = _pick(n, [(pairs[0][0], dby)] + [(AND(m, v.ne), v.dby) for m, v in parts])
    defer = OR(defer, *(AND(m, v.defer) for m, v in parts))
    if not kinds:
        return Vec("any", none=none, ne=ne, defer=defer, why=why, dby=dby)
    if "obj" in kinds and kinds <= {"obj", "num", "bool", "date", "sym"}:  # Python values (objects.py)
        from .objects import merged
        return merged(n, parts, pairs[0][0], pairs[0][1], dby if pairs[0][0] is not None else None, defer)
    if len(kinds) > 1 or "opaque" in kinds:
        return Vec("opaque", none=none, ne=ne, defer=defer, why=why, dby=dby)
    kind = kinds.pop()
    if kind == "const":
        values = {id(v.data) for _, v in parts if v.kind == "const"}
        if len(values) > 1:
            return Vec("opaque", none=none, ne=ne, defer=defer, why=why, dby=dby)
        return Vec("const", next(v.data for _, v in parts if v.kind == "const"), none=none, ne=ne, defer=defer,
                   why=why, dby=dby)
    typed = [(m, v) for m, v in parts if v.kind == kind]
    if kind in NESTED:
        from .lists import merge_nested
        data, extra = merge_nested(n, kind, typed)
        return Vec(kind if data is not None else "opaque", data, none=none, ne=ne, defer=OR(defer, extra), why=why,
                   dby=dby)
    scale = max(v.scale for _, v in typed) if kind == "num" else 0
    isint = all(v.isint for _, v in typed)
    data = None
    for m, v in reversed(typed):  # the last part's values are the base: rows of no part have no value
        d = v.data
        if kind == "num" and v.scale != scale:
            d, over = rescale(d, v.scale, scale, n)
            defer = OR(defer, AND(m, over))
        data = d if data is None else select(m, d, data)
    rng, iv, over = _merge_bounds(n, scale, [(m, v) for m, v in typed if v.rng is not None])
    return Vec(kind, data, scale, isint, none, ne, OR(defer, over), why, dby, rng, iv)


def _pick(n, pairs):
    """Per row, the codes of the pair (mask, codes) whose mask holds there (masks disjoint, or the
    first one wins); 0 elsewhere — as `first_why` does for reasons."""
    return first_why(n, *pairs)


def _merge_bounds(n, scale, parts):
    """The bounds of ranged rows taken from several values (mask, Vec), at one scale."""
    if not parts:
        return None, None, None
    from .open import Interval
    lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
    flags = [np.zeros(n, bool) for _ in range(4)]
    rng = np.zeros(n, bool)
    over = None
    for m, v in parts:
        mm = wide(m, n) & v.rng
        iv = v.iv
        if v.kind == "num" and v.scale != scale:
            iv, o = iv.rescaled(v.scale, scale)
            over = OR(over, AND(mm, o))
        lo = select(mm, wide(iv.lo, n), lo)
        hi = select(mm, wide(iv.hi, n), hi)
        for k, f in enumerate((iv.loinf, iv.hiinf, iv.loopen, iv.hiopen)):
            if f is not None:
                flags[k] = select(mm, wide(f, n), flags[k])
        rng |= mm
    return rng, Interval(n, lo, hi, *(f if f.any() else None for f in flags)), over


def _scatter_bounds(n, scale, parts):
    """`_merge_bounds` for values computed on subsets of rows (index arrays)."""
    if not parts:
        return None, None, None
    from .open import Interval
    lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
    flags = [np.zeros(n, bool) for _ in range(4)]
    rng = np.zeros(n, bool)
    over = None
    for idx, v in parts:
        iv = v.iv
        if v.kind == "num" and v.scale != scale:
            iv, o = iv.rescaled(v.scale, scale)
            if o is not None:
                extra = np.zeros(n, bool)
                extra[idx] = o & v.rng
                over = OR(over, extra)
        k_rows = idx[v.rng]
        lo[k_rows] = np.broadcast_to(iv.lo, (len(idx),))[v.rng]
        hi[k_rows] = np.broadcast_to(iv.hi, (len(idx),))[v.rng]
        for k, f in enumerate((iv.loinf, iv.hiinf, iv.loopen, iv.hiopen)):
            if f is not None:
                flags[k][k_rows] = np.broadcast_to(f, (len(idx),))[v.rng]
        rng[k_rows] = True
    return rng, Interval(n, lo, hi, *(f if f.any() else None for f in flags)), over


def scatter(n, parts, ne=None, defer=None, why=None, dby=None) -> Vec:
    """Values computed on subsets of rows (index arrays) → one value for all n rows."""
    out = _scatter(n, parts, ne, defer, why, dby)
    if not any(v.near is not None for _, v in parts):
        return out
    return _with_near(n, out, [(idx[v.near.rows], v.near) for idx, v in parts if v.near is not None],
                      OR(ne, defer))


def _scatter(n, parts, ne=None, defer=None, why=None, dby=None) -> Vec:
    kinds = {v.kind for _, v in parts if v.kind != "any"}
    if "obj" in kinds and kinds <= {"obj", "num", "bool", "date", "sym"}:  # Python values (objects.py)
        from .objects import scattered
        out = scattered(n, parts)
        if ne is None and defer is None:
            return out
        return merge(n, [(NOT(OR(ne, defer), n), out)], ne=ne, defer=defer, why=why, dby=dby)
    if kinds == {"list", "const"}:
        from .lists import as_list
        parts = [(idx, as_list(v)) for idx, v in parts]
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
        inner_dby = np.zeros(n, np.int32)
        for idx, v in parts:
            if v.ne is not None and v.why is not None:
                inner[idx] = v.why
            if v.ne is not None and v.dby is not None:
                inner_dby[idx] = v.dby
        why = first_why(n, (ne, why), (masks["ne"], inner))
        dby = _pick(n, [(ne, dby), (masks["ne"], inner_dby)])
    ne, defer = OR(ne, masks["ne"]), OR(defer, masks["defer"])
    if not kinds:
        return Vec("any", none=masks["none"], ne=ne, defer=defer, why=why, dby=dby)
    if len(kinds) > 1 or kinds & {"opaque", "const"}:
        if kinds == {"const"} and len({id(v.data) for _, v in parts if v.kind == "const"}) == 1:
            return Vec("const", next(v.data for _, v in parts if v.kind == "const"),
                       none=masks["none"], ne=ne, defer=defer, why=why, dby=dby)
        return Vec("opaque", none=masks["none"], ne=ne, defer=defer, why=why, dby=dby)
    kind = kinds.pop()
    typed = [(idx, v) for idx, v in parts if v.kind == kind]
    if kind in NESTED:
        from .lists import scatter_nested
        data = scatter_nested(n, kind, typed)
        return Vec(kind if data is not None else "opaque", data, none=masks["none"], ne=ne,
                   defer=OR(defer, None if data is not None else NOT(OR(ne, masks["none"], defer), n)), why=why,
                   dby=dby)
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
    rng, iv, over = _scatter_bounds(n, scale, [(idx, v) for idx, v in typed if v.rng is not None])
    return Vec(kind, data, scale, all(v.isint for _, v in typed), masks["none"], ne, OR(defer, over), why, dby,
               rng, iv)


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


