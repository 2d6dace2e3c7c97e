"""Runtime values: exact decimals, explicit rounding, 'not established', and their JSON form.

Numbers are Python `int` (whole numbers) or `Decimal` (decimals, money, percents as
fractions: 20 % is Decimal("0.20")). No float is ever produced.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, getcontext, localcontext

from dsl import types as T
from dsl.ast import Loc
from dsl.errors import MillesimeError

# Half-up, the rounding of French public accounting; `up`/`down` are ceiling/floor.
ROUNDING_MODES = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}
ROUNDING_UNITS = {"euro": Decimal("1"), "cent": Decimal("0.01"), "unit": Decimal("1")}
PRECISION = 28  # significant digits kept by divisions before any explicit rounding


@dataclass(frozen=True, slots=True)
class Unknown:
    """Something the law leaves open, by its place in a ruleset: a `?` (bounded or not), a set of
    readings, a `not established "…"`, or (under `--official-only`) a figure resting on a
    secondary source. The same declaration is the same unknown in every ruleset that inherits it."""
    key: tuple  # (kind, file, line, column): identity
    name: str = field(compare=False)  # `gp_threshold[70]`, `combined_rate`
    label: str = field(compare=False)  # the declaration's label, in French
    reason: str = field(compare=False)  # why it is open, in French
    kind: str = field(default="unknown", compare=False)  # unknown | bounded | readings | secondary
    group: str = field(default="", compare=False)  # for a table cell: the table's label (shown once)
    detail: str = field(default="", compare=False)  # … and the cell's headings

    def as_json(self) -> dict:
        return {"name": self.name, "label": self.label, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class NotEstablished:
    """A value the law (as encoded so far) does not establish, with what is known of it.

    `shape` says what is known: "top" nothing (any value of its type), "range" that it lies
    between `low` and `high` (None: no bound on that side; `*_open`: the bound itself excluded),
    "set" that it is one of `members`. `decided_by` lists the unknowns that would decide it.
    It propagates, never guesses: the operations of engine/uncertain.py say what is known of
    a result."""
    reason: str
    loc: Loc | None = None
    decided_by: frozenset = frozenset()
    shape: str = "top"  # top | range | set
    low: object = None
    high: object = None
    low_open: bool = False
    high_open: bool = False
    members: frozenset | None = None

    def __str__(self) -> str:
        return f"non établi ({self.reason})"


class EvaluationError(MillesimeError):
    """A ruleset cannot give a value for this case: says where in the ruleset, and why."""

    def __init__(self, message: str, loc: Loc | None = None, hint: str | None = None, rule: str | None = None):
        self.message, self.loc, self.hint, self.rule = message, loc, hint, rule
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""  # file:line:col, as a diagnostic of the rulesets
        text = f"{where}erreur : {self.message}"
        if self.rule:
            text += f" (lors du calcul de « {self.rule} »)"
        if self.hint:
            text += f"\n  = {self.hint}"
        return text


def round_value(value, mode: str, unit: str):
    """`round x to euro|cent` keeps money a Decimal; `to unit` gives a whole number (int)."""
    result = Decimal(value).quantize(ROUNDING_UNITS[unit], rounding=ROUNDING_MODES[mode])
    return int(result) if unit == "unit" else result


def divide(a, b) -> Decimal:
    if getcontext().prec == PRECISION:  # the usual case: the very division, without copying the context
        return Decimal(a) / Decimal(b)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return Decimal(a) / Decimal(b)


# ---------------------------------------------------------------- dates

def years_between(start: dt.date, end: dt.date) -> int:
    """Whole years from `start` to `end` (an anniversary counts on its day)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def months_between(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return months


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` later; the 31st becomes the month's last day when it has none."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def first_day_of_next_month(day: dt.date) -> dt.date:
    return add_months(day.replace(day=1), 1)


# ---------------------------------------------------------------- JSON form

def to_json(value, t: T.Type | None = None):
    """Money as a string with two decimals at least ("21000.00"), dates ISO, booleans JSON. A value not
    established: {"not_established": REASON, "between": [LOW, HIGH] | "one_of": [...], "decided_by": [...]}
    (a side without bound is null)."""
    if isinstance(value, NotEstablished):
        out: dict = {"not_established": value.reason}
        if value.shape == "range":
            out["between"] = [None if value.low is None else to_json(value.low, t),
                              None if value.high is None else to_json(value.high, t)]
        elif value.shape == "set":
            out["one_of"] = sorted((to_json(m, t) for m in value.members), key=_json_order)
        out["decided_by"] = [u.as_json() for u in sorted(value.decided_by, key=lambda u: (u.name, u.key))]
        return out
    if value is None or isinstance(value, bool):
        return value
    t = t.base if t is not None else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if t is not None and t.kind == "money":
            return format_money(value)
        return _plain_decimal(value)
    if isinstance(value, int):
        if t is not None and t.kind == "money":
            return format_money(Decimal(value))
        if t is not None and t.kind in ("decimal", "percent"):
            return _plain_decimal(Decimal(value))  # by its type, as a Decimal of the same value is written
        return value
    if isinstance(value, (list, tuple)):
        inner = t.args[0] if t is not None and t.kind in ("list", "set") else None
        return [to_json(v, inner) for v in value]
    if isinstance(value, frozenset):
        inner = t.args[0] if t is not None and t.kind in ("list", "set") else None
        return sorted((to_json(v, inner) for v in value), key=str)
    if isinstance(value, dict):
        fields = dict(t.fields) if t is not None and t.kind in ("record", "reason") else {}
        return {k: to_json(v, fields.get(k)) for k, v in value.items()}
    return value


def _json_order(value) -> tuple:
    return (value is not None, str(value))


def text_cell(value) -> str | None:
    """An output value already in JSON form as one text cell (CSV, text columns); None stays None."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def format_money(value: Decimal) -> str:
    """Two decimals, more only if the value has more (money is never rounded silently)."""
    if value == value.quantize(Decimal("0.01")):
        return str(value.quantize(Decimal("0.01")))
    return _plain_decimal(value)


def _plain_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text


def display(value, t: T.Type | None = None, labels: dict[str, str] | None = None) -> str:
    """A value for people, French style: 21 000,00 €, 20 %, 22/06/2024, oui/non; a value not
    established with what is known of it: « entre 22 000,00 € et 38 000,00 € — dépend de : … »."""
    if isinstance(value, NotEstablished):
        return display_open(value, t, labels)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    kind = t.base.kind if t is not None else None
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if kind == "money" and isinstance(value, (int, Decimal)):
        return _french_number(format_money(Decimal(value))) + " €"
    if kind == "percent" and isinstance(value, Decimal):
        return _french_number(_plain_decimal(value * 100)) + " %"
    if isinstance(value, (int, Decimal)):
        return _french_number(_plain_decimal(Decimal(value)) if isinstance(value, Decimal) else str(value))
    if isinstance(value, str) and labels and value in labels:
        return labels[value]
    if isinstance(value, frozenset):  # a set has no order: show it sorted, the same on every run
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        inner = t.base.args[0] if t is not None and t.base.kind in ("list", "set") else None
        return "[" + ", ".join(display(v, inner, labels) for v in value) + "]"
    if isinstance(value, dict):
        fields = dict(t.base.fields) if t is not None and t.base.kind in ("record", "reason") else {}
        return "{" + ", ".join(f"{k}: {display(v, fields.get(k), labels)}" for k, v in value.items()) + "}"
    return str(value)


def display_open(value: NotEstablished, t: T.Type | None = None, labels: dict[str, str] | None = None) -> str:
    """What is known of a value not established, and what would decide it."""
    depends = dependence(value)
    if value.shape == "range":
        low = None if value.low is None else display(value.low, t, labels)
        high = None if value.high is None else display(value.high, t, labels)
        known = (f"entre {low} et {high}" if low is not None and high is not None else
                 f"au moins {low}" if low is not None else f"au plus {high}")
        return f"{known} — {depends or value.reason}"
    if value.shape == "set":
        shown = sorted(display(m, t, labels) for m in value.members)
        return f"l'une des valeurs {', '.join(shown)} — {depends or value.reason}"
    text = f"non établi ({value.reason})"
    if depends and not value.reason.startswith("dépend de"):
        labels_ = {u.label for u in value.decided_by}
        if labels_ - {value.reason}:
            text += f" — {depends}"
    return text


def dependence(value: NotEstablished) -> str | None:
    """« dépend de : … » — the unknowns that would decide a value, by their labels (the cells of
    one table together: « Seuils … (percentile 50, percentile 90) »)."""
    return depends_on(value.decided_by)


def depends_on(unknowns) -> str | None:
    groups: dict[str, list[str]] = {}
    for u in sorted(unknowns, key=lambda u: (u.group or u.label, u.key[1:])):
        details = groups.setdefault(u.group or u.label, [])
        if u.group and u.detail not in details:
            details.append(u.detail)
    if not groups:
        return None
    return "dépend de : " + " ; ".join(f"{g} : {', '.join(d)}" if d else g for g, d in groups.items())


def _french_number(text: str) -> str:
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + "\u202f".join(groups) + ("," + frac if frac else "")
