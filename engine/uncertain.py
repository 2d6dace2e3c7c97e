"""What is known of a value the law does not establish: one meaning for every back-end.

A ruleset may leave things open — a `?` (within bounds or not), competing `reading`s, a
`not established "…"`, or (under `--official-only`) a figure that rests on a secondary
source. Evaluation does not stop there: each value is computed for every admissible
possibility at once, as an *abstract value* (`values.NotEstablished`):

- for numbers, money, percents and dates, a range `[low, high]` (a side may be unbounded,
  a bound may be excluded);
- for booleans, enumerations and texts, the set of possible values (`members`);
- `top` when nothing is known but its type;

each carrying `decided_by`, the unknowns it depends on. A value whose possibilities all
agree is an ordinary, established value: `if x <= P70 then 50 else 70` with an unknown P70
is the range [50, 70], and `amount(p)` with p in [50, 70] is exact when no exception reaches
those percentiles — « les lectures concordent ».

The operations (this module; the row compiler calls them, the vector back-end mirrors them
column by column) are sound: for every admissible world (each reading picked, each unknown
fixed within its bounds) the concrete value lies within the abstract one. They are not
always tight (interval arithmetic forgets that x − x = 0): a value used twice may get a
wider range than any world gives. Precisely:

- arithmetic, rounding, min/max and the date functions work on the bounds (monotone);
- a comparison is decided when the ranges do not overlap, else it is an unknown boolean;
- `if` on an unknown condition is the join of both branches (the deciding unknowns added);
  when the condition compares a rule parameter (`p >= 90`), each branch sees that parameter
  narrowed to where the condition holds or fails (`refine`);
- an exception whose condition is unknown may apply: the rule's value is the join of its
  body and of every exception that may apply; two that certainly apply are a conflict;
- a table looked up with an uncertain key is the join of the cells whose headings meet it;
- `and`/`or` follow Kleene's logic: a certain false (true) operand decides;
- a possibility in which the rules raise an error (a division by zero, a lookup out of the
  table, a missing value) is left out; when every possibility errs, the error is raised.
  An abstract value thus covers every admissible world in which the rules give a value.

Joins of lists and records are taken element by element when their shapes agree (a payment
calendar whose balance is uncertain stays a calendar); otherwise the result is `top`. A set
of possible values holds at most MAX_MEMBERS values, beyond which it becomes `top`.

Reasons: a value computed from not-established operands keeps the reason of the first one
met in evaluation order (as before ranges existed); a join says what it depends on
(« dépend de : … », from `decided_by`), unless one of its possibilities is `top`, whose
reason it keeps.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import values as V
from .values import NotEstablished, Unknown, depends_on, round_value

NO_VALUE_TO_CHOOSE = "aucune valeur parmi laquelle choisir"  # min() or max() of an empty list

MAX_MEMBERS = 32  # a set of possible values larger than this is `top` (documented in docs/dsl.md)
_BOTH = frozenset([True, False])  # a boolean that may be either: nothing is known of it
_ORDERED = (int, Decimal, dt.date)


# ---------------------------------------------------------------- building abstract values

def is_open(value) -> bool:
    return isinstance(value, NotEstablished)


def unknown_value(unknown: Unknown, low=None, high=None, low_open=False, high_open=False,
                  reason: str | None = None) -> object:
    """The value of an unknown itself: its bounds, decided by it."""
    return make_range(low, high, frozenset([unknown]), reason or unknown.reason, low_open, high_open)


def top(reason: str, decided_by: frozenset = frozenset(), loc=None) -> NotEstablished:
    return NotEstablished(reason, loc, decided_by)


def make_range(low, high, decided_by: frozenset, reason: str, low_open: bool = False,
               high_open: bool = False, loc=None):
    """A range, or the value itself when both bounds are the same included value."""
    if low is not None and high is not None:
        if low == high and not (low_open or high_open):
            return low
        if low > high or (low == high and (low_open or high_open)):
            raise Empty
    if low is None and high is None:
        return NotEstablished(reason, loc, decided_by)
    return NotEstablished(reason, loc, decided_by, "range", low, high, low is not None and low_open,
                          high is not None and high_open)


def make_set(members, decided_by: frozenset, reason: str, loc=None):
    """One of `members`, or the value itself when there is one."""
    members = frozenset(members)
    if not members:
        raise Empty
    if len(members) == 1:
        return next(iter(members))
    if len(members) > MAX_MEMBERS or (members == _BOTH and all(isinstance(m, bool) for m in members)):
        return NotEstablished(reason, loc, decided_by)
    return NotEstablished(reason, loc, decided_by, "set", members=members)


class Empty(Exception):
    """No admissible value: the possibility that leads here cannot happen (or only errs)."""


def with_reason(value: NotEstablished, reason: str, decided_by: frozenset) -> NotEstablished:
    return NotEstablished(reason, value.loc, value.decided_by | decided_by, value.shape, value.low, value.high,
                          value.low_open, value.high_open, value.members)


def decided_by(*values) -> frozenset:
    out = frozenset()
    for v in values:
        if isinstance(v, NotEstablished):
            out = out | v.decided_by
    return out


def first_reason(values) -> str:
    for v in values:
        if isinstance(v, NotEstablished):
            return v.reason
    raise StopIteration  # as next() of no value did (the callers pass one at least)


def describe(unknowns) -> str:
    """« dépend de : … » in French, the unknowns by their labels, in a stable order."""
    return depends_on(unknowns) or "non établi"


# ---------------------------------------------------------------- what is known of a value

def ordered(value) -> bool:
    return isinstance(value, _ORDERED) and not isinstance(value, bool)


def interval(value):
    """(low, high, low_open, high_open) of an ordered value or range; None when not ordered.
    `top` is unbounded both ways."""
    if isinstance(value, NotEstablished):
        if value.shape == "range":
            return value.low, value.high, value.low_open, value.high_open
        if value.shape == "set" and value.members and all(ordered(m) for m in value.members):
            return min(value.members), max(value.members), False, False
        if value.shape == "top":
            return None, None, False, False
        return None
    if ordered(value):
        return value, value, False, False
    return None


def possible(value):
    """The possible values as a frozenset, or None when they cannot be listed."""
    if isinstance(value, NotEstablished):
        return value.members if value.shape == "set" else None
    try:
        return frozenset([value])
    except TypeError:
        return None


def truth(value):
    """True, False, or None when a boolean is not established."""
    if value is True or value is False:
        return value
    return None


# ---------------------------------------------------------------- joins

def join(outcomes: list, deciding: frozenset = frozenset(), loc=None):
    """What is known of a value that is one of `outcomes`, the choice among them being made
    by the unknowns `deciding`. Equal outcomes give that very value."""
    if not outcomes:
        raise Empty
    first = outcomes[0]
    if all(_same(first, o) for o in outcomes[1:]):
        return first
    deciders = deciding | decided_by(*outcomes)
    tops = [o for o in outcomes if isinstance(o, NotEstablished) and o.shape == "top"]
    if tops:
        return NotEstablished(tops[0].reason, tops[0].loc, deciders)
    reason = describe(deciders)
    if all(isinstance(o, (list, tuple)) and not isinstance(o, NotEstablished) for o in outcomes):
        if len({len(o) for o in outcomes}) == 1:
            return [join([o[i] for o in outcomes], deciding, loc) for i in range(len(first))]
        return NotEstablished(reason, loc, deciders)
    if all(isinstance(o, dict) for o in outcomes):
        if len({tuple(o) for o in outcomes}) == 1:
            return {k: join([o[k] for o in outcomes], deciding, loc) for k in first}
        return NotEstablished(reason, loc, deciders)
    spans = [interval(o) for o in outcomes]
    if all(s is not None for s in spans) and all(
            ordered(o) or (isinstance(o, NotEstablished) and o.shape in ("range", "top")) for o in outcomes):
        return _hull(spans, deciders, reason, loc)
    sets = [possible(o) for o in outcomes]
    if all(s is not None for s in sets):
        return make_set(frozenset().union(*sets), deciders, reason, loc)
    return NotEstablished(reason, loc, deciders)


def _same(a, b) -> bool:
    if type(a) is not type(b) and not (ordered(a) and ordered(b) and not isinstance(a, dt.date)
                                       and not isinstance(b, dt.date)):
        return False
    try:
        return a == b
    except TypeError:
        return False


def _hull(spans, deciders, reason, loc):
    low, low_open = _extreme(spans, 0, 2, min)
    high, high_open = _extreme(spans, 1, 3, max)
    return make_range(low, high, deciders, reason, low_open, high_open, loc)


def _extreme(spans, at, open_at, pick):
    if any(s[at] is None for s in spans):
        return None, False
    value = pick(s[at] for s in spans)
    return value, all(s[open_at] for s in spans if s[at] == value)


# ---------------------------------------------------------------- arithmetic

_POS, _NEG = "+inf", "-inf"  # the unbounded sides, while computing bounds (None in a range)
# (told apart from a bound by identity: a bound is an int, a Decimal or a date, never one of these
# two strings — and `is` spares a Decimal's comparison with a string on every corner)


def _lo(bound):
    return _NEG if bound is None else bound


def _hi(bound):
    return _POS if bound is None else bound


def _sign(x):
    if x is _POS:
        return 1
    if x is _NEG:
        return -1
    return (x > 0) - (x < 0)


def _add(a, b):
    if a is _POS or a is _NEG:
        return a
    if b is _POS or b is _NEG:
        return b
    return a + b


def _mul(a, b):
    if a is _POS or a is _NEG or b is _POS or b is _NEG:
        s = _sign(a) * _sign(b)
        return 0 if s == 0 else (_POS if s > 0 else _NEG)
    return a * b


def _key(x):
    return (0, 0) if x is _NEG else (2, 0) if x is _POS else (1, x)


def _finite(x):
    return None if x is _POS or x is _NEG else x


def arith(op: str, a, b):
    """`a op b` where at least one operand is not established (+, -, *)."""
    ia, ib = interval(a), interval(b)
    deciders = decided_by(a, b)
    reason = first_reason([a, b])
    if ia is None or ib is None:
        return NotEstablished(reason, None, deciders)
    (alo, ahi, _, _), (blo, bhi, _, _) = ia, ib
    if op == "+":
        low, high = _add(_lo(alo), _lo(blo)), _add(_hi(ahi), _hi(bhi))
    elif op == "-":
        low, high = _add(_lo(alo), _neg(_hi(bhi))), _add(_hi(ahi), _neg(_lo(blo)))
    else:
        products = [_mul(x, y) for x in (_lo(alo), _hi(ahi)) for y in (_lo(blo), _hi(bhi))]
        low, high = min(products, key=_key), max(products, key=_key)
    return make_range(_finite(low), _finite(high), deciders, reason)


def _neg(x):
    if x is _POS:
        return _NEG
    if x is _NEG:
        return _POS
    return -x


def divide(a, b, exact_divide):
    """`a / b` where at least one operand is not established. Worlds where b is 0 err: left out."""
    ia, ib = interval(a), interval(b)
    deciders = decided_by(a, b)
    reason = first_reason([a, b])
    if ia is None or ib is None:
        return NotEstablished(reason, None, deciders)
    alo, ahi, _, _ = ia
    blo, bhi, _, _ = ib
    if blo is not None and bhi is not None and blo == 0 == bhi:
        raise Empty  # every world divides by zero
    if blo is not None and blo >= 0:
        side = 1
    elif bhi is not None and bhi <= 0:
        side = -1
    else:  # b may be on both sides of 0: a / b is unbounded
        return NotEstablished(reason, None, deciders)
    corners = []
    for x in (_lo(alo), _hi(ahi)):
        for y in (_lo(blo), _hi(bhi)):
            corners.extend(_quotients(x, y, side, exact_divide))
    low, high = min(corners, key=_key), max(corners, key=_key)
    return make_range(_finite(low), _finite(high), deciders, reason)


def quotient(a, b):
    """`a / b` of two values (the language's division, every engine's): 28 significant digits;
    ZeroDivisionError when b is 0."""
    if b == 0:
        raise ZeroDivisionError
    return V.divide(a, b)


def quotient_open(a, b):
    """`a / b` where an operand is not established: nothing known when b is an established 0
    (some world may not divide at all), else the quotient of the ranges; ZeroDivisionError when
    every world divides by 0."""
    if b == 0 and not isinstance(b, NotEstablished):
        return top(a.reason, a.decided_by, a.loc)
    try:
        return divide(a, b, V.divide)
    except Empty:
        raise ZeroDivisionError from None


def _quotients(x, y, side, exact_divide) -> list:
    """The values x / y tends to at a corner of the two ranges (y = 0 is approached from `side`)."""
    if y == 0:
        s = _sign(x) * side
        return [0 if s == 0 else (_POS if s > 0 else _NEG)]
    if y is _POS or y is _NEG:
        if x is _POS or x is _NEG:
            return [0, _POS if _sign(x) * _sign(y) > 0 else _NEG]
        return [0]
    if x is _POS or x is _NEG:
        return [_POS if _sign(x) * _sign(y) > 0 else _NEG]
    return [exact_divide(x, y)]


def negate(a):
    span = interval(a)
    if span is None:
        return NotEstablished(a.reason, a.loc, a.decided_by)
    low, high, low_open, high_open = span
    return make_range(None if high is None else -high, None if low is None else -low, a.decided_by, a.reason,
                      high_open, low_open)


def round_range(a, mode: str, unit: str):
    """Each bound rounded the way the rule rounds (rounding is monotone)."""
    span = interval(a)
    if span is None:
        return NotEstablished(a.reason, a.loc, a.decided_by)
    low, high, _, _ = span
    return make_range(None if low is None else round_value(low, mode, unit),
                      None if high is None else round_value(high, mode, unit), a.decided_by, a.reason)


# ---------------------------------------------------------------- comparisons and membership

def compare(op: str, a, b):
    """True, False, or an unknown boolean when the possibilities of a and b disagree."""
    deciders = decided_by(a, b)
    reason = first_reason([a, b])
    if op in ("=", "!="):
        equal = _equal(a, b)
        if equal is None:
            return NotEstablished(reason, None, deciders)
        return equal if op == "=" else not equal
    ia, ib = interval(a), interval(b)
    if ia is None or ib is None:
        return NotEstablished(reason, None, deciders)
    if op in (">", ">="):
        ia, ib = ib, ia
        op = "<" if op == ">" else "<="
    (alo, ahi, alo_open, ahi_open), (blo, bhi, blo_open, bhi_open) = ia, ib
    if op == "<":
        if ahi is not None and blo is not None and (ahi < blo or (ahi == blo and (ahi_open or blo_open))):
            return True
        if alo is not None and bhi is not None and alo >= bhi:
            return False
    else:  # <=
        if ahi is not None and blo is not None and ahi <= blo:
            return True
        if alo is not None and bhi is not None and (alo > bhi or (alo == bhi and (alo_open or bhi_open))):
            return False
    return NotEstablished(reason, None, deciders)


def _equal(a, b):
    sa, sb = possible(a), possible(b)
    if sa is not None and sb is not None:
        if not (sa & sb):
            return False
        if len(sa) == 1 and len(sb) == 1:
            return True
        return None
    ia, ib = interval(a), interval(b)
    if ia is not None and ib is not None:
        (alo, ahi, alo_open, ahi_open), (blo, bhi, blo_open, bhi_open) = ia, ib
        if ahi is not None and blo is not None and (ahi < blo or (ahi == blo and (ahi_open or blo_open))):
            return False
        if bhi is not None and alo is not None and (bhi < alo or (bhi == alo and (bhi_open or alo_open))):
            return False
    return None


def member(item, collection, negated: bool):
    """`item in collection` when item or collection is not established."""
    deciders = decided_by(item, collection)
    reason = first_reason([item, collection])
    if isinstance(collection, NotEstablished):
        return NotEstablished(reason, None, deciders)
    items = possible(item)
    if items is not None:
        inside = {m in collection for m in items}
        if len(inside) == 1:
            return inside.pop() != negated
        return NotEstablished(reason, None, deciders)
    span = interval(item)
    if span is not None and all(ordered(c) for c in collection):
        hits = [c for c in collection if _within(c, span)]
        if not hits:
            return negated
    return NotEstablished(reason, None, deciders)


def _within_span(inner, outer) -> bool:
    low, high, low_open, high_open = inner
    o_low, o_high, o_low_open, o_high_open = outer
    if o_low is not None and (low is None or low < o_low or (low == o_low and o_low_open and not low_open)):
        return False
    if o_high is not None and (high is None or high > o_high or (high == o_high and o_high_open and not high_open)):
        return False
    return True


def _within(x, span) -> bool:
    low, high, low_open, high_open = span
    if low is not None and (x < low or (x == low and low_open)):
        return False
    if high is not None and (x > high or (x == high and high_open)):
        return False
    return True


# ---------------------------------------------------------------- narrowing by a condition

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}


def refine(value, op: str, other, holds: bool):
    """`value` narrowed to where `value op other` holds (or fails, `holds=False`). Raises Empty
    when it never can. Only ranges narrow; anything else is returned as it is."""
    if not holds:
        op = _NEGATE[op]
    span, bound = interval(value), interval(other)
    if span is None or bound is None or not isinstance(value, NotEstablished) or value.shape != "range":
        return value
    low, high, low_open, high_open = span
    blo, bhi, blo_open, bhi_open = bound
    integer = all(isinstance(x, int) for x in (low, high) if x is not None)
    if op in ("<", "<="):  # value < other ≤ bhi
        if bhi is not None:
            strict = op == "<" or bhi_open
            if integer and strict and isinstance(bhi, int):
                cap, cap_open = bhi - 1, False
            else:
                cap, cap_open = bhi, strict
            if high is None or cap < high or (cap == high and cap_open and not high_open):
                high, high_open = cap, cap_open
    elif op in (">", ">="):
        if blo is not None:
            strict = op == ">" or blo_open
            if integer and strict and isinstance(blo, int):
                floor, floor_open = blo + 1, False
            else:
                floor, floor_open = blo, strict
            if low is None or floor > low or (floor == low and floor_open and not low_open):
                low, low_open = floor, floor_open
    elif op == "=" and blo is not None and blo == bhi and not (blo_open or bhi_open):
        if not _within(blo, span):
            raise Empty
        return blo
    else:
        return value
    return make_range(low, high, value.decided_by, value.reason, low_open, high_open, value.loc)


def flip(op: str) -> str:
    """The comparison seen from its right operand: `a < b` is `b > a`."""
    return _FLIP[op]


# ---------------------------------------------------------------- functions

# How each function of the language moves with its arguments: +1 increasing, -1 decreasing,
# 0 the argument must be established. A function absent here gives `top` on an unknown argument.
MONOTONE = {
    "years_between": (-1, +1),
    "months_between": (-1, +1),
    "days_between": (-1, +1),
    "add_years": (+1, +1),
    "add_months": (+1, +1),
    "add_days": (+1, +1),
    "first_day_of_next_month": (+1,),
    "year": (+1,),
}


def function(name: str, fn, args: list):
    """`name(args)` where an argument is not established (min, max, abs, sum, monotone functions)."""
    deciders = decided_by(*args)
    reason = first_reason(args) if any(isinstance(a, NotEstablished) for a in args) else "non établi"
    if name in ("min", "max"):
        values = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple, frozenset)) else args
        if not values:
            raise ValueError(NO_VALUE_TO_CHOOSE)
        spans = [interval(v) for v in values]
        if any(s is None for s in spans):
            return NotEstablished(reason, None, deciders)
        pick = min if name == "min" else max
        low = _pick_bound(spans, 0, 2, pick, unbounded_wins=name == "min")
        high = _pick_bound(spans, 1, 3, pick, unbounded_wins=name == "max")
        return make_range(low[0], high[0], deciders, reason, low[1], high[1])
    if name == "abs":
        span = interval(args[0])
        if span is None:
            return NotEstablished(reason, None, deciders)
        low, high, _, _ = span
        if low is not None and low >= 0:
            return make_range(low, high, deciders, reason)
        if high is not None and high <= 0:
            return make_range(-high, None if low is None else -low, deciders, reason)
        top_ = None if low is None or high is None else max(-low, high)
        return make_range(0, top_, deciders, reason)
    if name == "sum":
        if isinstance(args[0], NotEstablished):  # the list itself: nothing known of its sum
            return NotEstablished(reason, None, deciders)
        total = 0
        for v in args[0]:
            total = v + total if not isinstance(v, NotEstablished) and not isinstance(total, NotEstablished) \
                else arith("+", total, v)
        return total
    directions = MONOTONE.get(name)
    if directions is None or len(directions) != len(args):
        return NotEstablished(reason, None, deciders)
    spans = [interval(a) for a in args]
    if any(s is None for s in spans):
        return NotEstablished(reason, None, deciders)
    lows, highs = [], []
    for (low, high, _, _), direction in zip(spans, directions):
        if low is None or high is None:
            return NotEstablished(reason, None, deciders)
        lows.append(low if direction > 0 else high)
        highs.append(high if direction > 0 else low)
    return make_range(fn(*lows), fn(*highs), deciders, reason)


def _pick_bound(spans, at, open_at, pick, unbounded_wins):
    bounds = [s[at] for s in spans]
    if any(b is None for b in bounds):
        if unbounded_wins:
            return None, False
        bounds = [b for b in bounds if b is not None]
        candidates = [s for s in spans if s[at] is not None]
        if not bounds:
            return None, False
    else:
        candidates = spans
    value = pick(bounds)
    return value, all(s[open_at] for s in candidates if s[at] == value)


# ---------------------------------------------------------------- tables

def headings_met(headings, key) -> list[int]:
    """The headings of one axis (ast.TableKey) that an uncertain key may match, in order."""
    items = possible(key)
    if items is not None:
        return [i for i, h in enumerate(headings) if any(_matches(h, k) for k in items)]
    span = interval(key)
    if span is None:
        return list(range(len(headings)))
    return [i for i, h in enumerate(headings) if _meets(h, span)]


def _matches(heading, key) -> bool:
    try:
        return heading.matches(key)
    except TypeError:
        return False


def _meets(heading, span) -> bool:
    low, high, low_open, high_open = span
    if heading.kind == "exact":
        value = heading.value
        return ordered(value) and _within(value, span)
    h_low = heading.low if heading.kind in ("at_least", "band") else None
    h_high = heading.high if heading.kind in ("below", "band") else None  # excluded
    if h_low is not None and high is not None and (high < h_low or (high == h_low and high_open)):
        return False
    if h_high is not None and low is not None and low >= h_high:
        return False
    return True


def narrow_to_heading(key, heading):
    """The key where it matches `heading` (so that a lookup inside a band is exact there)."""
    if not isinstance(key, NotEstablished) or key.shape != "range":
        return key
    if heading.kind == "exact":
        return heading.value
    value = key
    if heading.kind in ("at_least", "band"):
        value = refine(value, ">=", heading.low, True)
    if heading.kind in ("below", "band"):
        value = refine(value, "<", heading.high, True)
    return value


# ---------------------------------------------------------------- meaning

def admits(abstract, concrete) -> bool:
    """Whether `concrete` (a value of one admissible world) is among what `abstract` says is
    possible: what the abstract values mean, and what the soundness tests check."""
    if isinstance(abstract, NotEstablished):
        if abstract.shape == "top":
            return True
        if isinstance(concrete, NotEstablished):  # still open in that world (a `not established` left):
            inner = possible(concrete)              # what it admits must be admitted here too
            if inner is not None:
                return all(admits(abstract, m) for m in inner)
            span = interval(concrete)
            return concrete.shape == "range" and span is not None and abstract.shape == "range" and \
                _within_span(span, interval(abstract))
        if abstract.shape == "set":
            try:
                return concrete in abstract.members
            except TypeError:
                return False
        return ordered(concrete) and _within(concrete, interval(abstract))
    if isinstance(concrete, NotEstablished):
        return False
    if isinstance(abstract, (list, tuple)) and isinstance(concrete, (list, tuple)):
        return len(abstract) == len(concrete) and all(admits(a, c) for a, c in zip(abstract, concrete))
    if isinstance(abstract, dict) and isinstance(concrete, dict):
        return abstract.keys() == concrete.keys() and all(admits(abstract[k], concrete[k]) for k in abstract)
    return _same(abstract, concrete) or abstract == concrete
