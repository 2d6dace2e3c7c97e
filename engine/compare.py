"""Cost a reform on a population: the baseline and the reform evaluated on the same rows.

    compare_rows(table, baseline, reform, Period.years(2027, 2031))  → pyarrow.Table, one row a case
    summarize(rows, period, weight=None, by=())                      → the summary (a JSON-able dict)

`compare_rows` is a pure function of a table (an Arrow table or Polars frame, one case a row as
for `evaluate_table`): it runs unchanged on the partitions of a distributed engine, and
`summarize` of the concatenated rows gives the whole population's figures (tests/test_distributed.py).

**Which payments fall in a year.** `payments` lists the payments of the contract years up to the
one in force on the evaluation date, each with its date; the rules that compute them are those of
the ruleset in force on that date (amounts follow anniversaries through `as of`, but the share of
the advance, the modulation or the calendar of payments do not). So each payment is taken from an
evaluation under the ruleset in force on its own date: the years asked are cut into *segments* at
every date a ruleset of the timeline takes effect (a reform from 1 January cuts nothing), each
segment is evaluated on its last day, and the payments dated within it are kept. Evaluating once,
on the last day, would apply the last ruleset's rules to payments made years before it; on the
last day of each segment, every payment dated within the segment is listed (a payment is dated on
or after the start of its contract year). A year's figure is the sum of the payments dated in it.

With `Period.on(DATE)`, the population is evaluated on that one date and the payments listed then
are summed by the calendar year of their date (from the first year of the timeline to the year
after DATE, when the balance of the current contract year falls due).

**What is not established.** A payment whose amount is not established counts with its bounds: a
row's figure is then not established, between the sum of the lows and the sum of the highs (no
bound on a side as soon as one payment has none on it, or when the whole list is not established).
A payment without amount (a balance whose patient counts are not observed yet) counts for nothing
and is counted apart (`payments_without_amount`). Money is Decimal, never float.

**In columns.** The figures of every row are computed on whole columns, in exact int64 cents
(engine/compare_columns.py); `Figure`, one figure's arithmetic, is their reference
(`compare_rows(..., in_columns=False)`, and the fallback for values those columns cannot hold
exactly), and it sums the summary's totals.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation

from dsl.errors import MillesimeError

from .registry import Registry

ZERO = Decimal("0.00")
SIDES = ("baseline", "reform")
PAYMENTS = "payments"
ELIGIBLE = "eligible"


class CompareError(MillesimeError):
    """A comparison that cannot be run as asked (unknown column, bad range of years…): said in French."""


# ---------------------------------------------------------------- the period

@dataclasses.dataclass(frozen=True)
class Period:
    """The years compared: `years` (each year's payments, evaluated segment by segment), or one
    evaluation date `on` (the payments listed then, by year)."""
    first: int
    last: int
    on: dt.date | None = None

    @classmethod
    def years(cls, first: int, last: int) -> "Period":
        if first > last:
            raise CompareError(f"--years {first}..{last} : la première année doit précéder la dernière")
        if first < 1900 or last > 2200:
            raise CompareError(f"--years {first}..{last} : années hors de portée (1900 à 2200)")
        return cls(first, last)

    @classmethod
    def parse_years(cls, text: str) -> "Period":
        """`2025..2030` (or a single year `2027`)."""
        first, sep, last = text.partition("..")
        try:
            a, b = int(first), int(last if sep else first)
        except ValueError:
            raise CompareError(f"--years {text} : écrire deux années séparées par « .. », par exemple "
                               "2025..2030") from None
        return cls.years(a, b)

    @classmethod
    def at(cls, on: dt.date, registries: list[Registry]) -> "Period":
        first = min((m.effective_from for r in registries for m in r.timeline() if m.effective_from),
                    default=on).year
        return cls(first, on.year + 1, on)

    @property
    def year_list(self) -> list[int]:
        return list(range(self.first, self.last + 1))

    @property
    def last_day(self) -> dt.date:
        return self.on or dt.date(self.last, 12, 31)

    def segments(self, registry: Registry) -> list[tuple[dt.date, dt.date]]:
        """(first day, last day) of each stretch of the years within which one ruleset is in force."""
        if self.on is not None:
            return [(dt.date(self.first, 1, 1), dt.date(self.last, 12, 31))]
        start, end = dt.date(self.first, 1, 1), dt.date(self.last, 12, 31)
        cuts = sorted({m.effective_from for m in registry.timeline()
                       if m.effective_from and start < m.effective_from <= end})
        bounds = [start] + cuts + [end + dt.timedelta(days=1)]
        return [(a, b - dt.timedelta(days=1)) for a, b in zip(bounds, bounds[1:])]

    def as_json(self) -> dict:
        return {"on": self.on.isoformat()} if self.on else {"years": [self.first, self.last]}


# ---------------------------------------------------------------- a figure, possibly open

@dataclasses.dataclass(slots=True)
class Figure:
    """A sum of money: established (`value`), or not, between `low` and `high` (None: no bound)."""
    value: Decimal | None = ZERO
    low: Decimal | None = None
    high: Decimal | None = None
    reason: str | None = None
    deciders: frozenset = frozenset()

    @property
    def established(self) -> bool:
        return self.reason is None

    def bounds(self) -> tuple[Decimal | None, Decimal | None]:
        return (self.value, self.value) if self.established else (self.low, self.high)

    def __add__(self, other: "Figure") -> "Figure":
        if self.reason is None and other.reason is None:  # both established (the common case, first)
            return Figure(self.value + other.value)
        (a, b), (c, d) = self.bounds(), other.bounds()
        return Figure(None, _add(a, c), _add(b, d), self.reason or other.reason, self.deciders | other.deciders)

    def minus(self, other: "Figure") -> "Figure":
        if self.reason is None and other.reason is None:
            return Figure(self.value - other.value)
        (a, b), (c, d) = self.bounds(), other.bounds()
        return Figure(None, _sub(a, d), _sub(b, c), self.reason or other.reason, self.deciders | other.deciders)

    def times(self, weight: Decimal) -> "Figure":
        if self.established:
            return Figure(self.value * weight)
        return Figure(None, None if self.low is None else self.low * weight,
                      None if self.high is None else self.high * weight, self.reason, self.deciders)

    def sign(self) -> str:
        """winner, loser, unchanged (for a difference), or undetermined when its bounds straddle."""
        low, high = self.bounds()
        if low is not None and low > 0:
            return "winner"
        if high is not None and high < 0:
            return "loser"
        if low is not None and high is not None and low == high == 0:
            return "unchanged"
        return "undetermined"


def _add(a, b):
    return None if a is None or b is None else a + b


def _sub(a, b):
    return None if a is None or b is None else a - b


def open_figure(reason: str, deciders=()) -> Figure:
    return Figure(None, None, None, reason, frozenset(deciders))


# ---------------------------------------------------------------- evaluating both sides

def _evaluate(table, on: dt.date, registry: Registry, outputs: list[str], engine: str):
    from .batch import evaluate_table
    return evaluate_table(table, on, registry, outputs, engine=engine)


def money_outputs(registry: Registry, on: dt.date) -> list[str]:
    """The scalar money outputs of the ruleset in force (annual_aid, aid_due…)."""
    entry = registry.in_force(on)
    return [name for name, _, t in entry.plan.output_slots(tuple(entry.model.outputs)) if t.base.kind == "money"]


def year_figures(evaluated, period: Period, segment: tuple[dt.date, dt.date]) -> list[dict[int, Figure]]:
    """Per row, {year: the sum of its payments dated within `segment`} (a Figure per year), and the
    number of payments without amount (key None)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    n = evaluated.num_rows
    out: list[dict] = [dict() for _ in range(n)]
    payments = evaluated.column(PAYMENTS).combine_chunks()
    whole_open = evaluated.column(PAYMENTS + "__not_established").to_pylist()
    deciders = evaluated.column(PAYMENTS + "__decided_by").to_pylist()
    years = period.year_list
    for i, reason in enumerate(whole_open):
        if reason is not None:  # the list itself is not established: every year of the segment is open
            for year in range(max(segment[0].year, period.first), min(segment[1].year, period.last) + 1):
                out[i][year] = open_figure(reason, deciders[i] or ())
    flat = pc.list_flatten(payments)
    if len(flat) == 0:
        return out
    parents = pc.list_parent_indices(payments).to_numpy(zero_copy_only=False)
    dates = pc.struct_field(flat, "date")  # (StructArray.field ignores the slice offset)
    keep = pc.and_(pc.greater_equal(dates, pa.scalar(segment[0], pa.date32())),
                   pc.less_equal(dates, pa.scalar(segment[1], pa.date32())))
    keep = pc.and_(keep, pc.and_(pc.greater_equal(pc.year(dates), years[0]), pc.less_equal(pc.year(dates), years[-1])))
    keep = pc.fill_null(keep, False)
    index = pc.indices_nonzero(keep)
    parents = pa.array(parents).take(index).to_pylist()
    chosen = flat.take(index)
    ys = pc.year(pc.struct_field(chosen, "date")).to_pylist()
    amounts = pc.struct_field(chosen, "amount").to_pylist()
    reasons = pc.struct_field(chosen, "amount__not_established").to_pylist()
    lows = pc.struct_field(chosen, "amount__between_low").to_pylist()
    highs = pc.struct_field(chosen, "amount__between_high").to_pylist()
    names = pc.struct_field(chosen, "amount__decided_by").to_pylist()
    for row, year, amount, reason, low, high, who in zip(parents, ys, amounts, reasons, lows, highs, names):
        figures = out[row]
        if reason is not None:
            figure = Figure(None, low, high, reason, frozenset(who or ()))
        elif amount is None:
            figures[None] = figures.get(None, 0) + 1
            continue
        else:
            figure = Figure(amount)
        figures[year] = figures[year] + figure if year in figures else figure
    return out


def compare_rows(table, baseline: Registry, reform: Registry, period: Period, weight: str | None = None,
                 engine: str = "auto", by: list[str] | tuple = (), *, in_columns: bool = True):
    """Per case: the payments of each year and their total under both registries, and their
    differences; the money outputs and eligibility on the last day (`period.last_day`). Returns a
    pyarrow.Table: the input columns, then the comparison's (docs/batch.md). The `weight` and `by`
    columns may be other than a case's (they are carried, not evaluated); any other unknown column
    is refused, as by `millesime batch`. The figures are computed on whole columns
    (engine/compare_columns.py); `in_columns=False`, or values those columns cannot hold exactly,
    computes them row by row with `Figure` (the reference the column path is tested on)."""
    import pyarrow as pa
    from .batch import _polars_module
    polars = _polars_module(table)
    arrow = table.to_arrow() if polars is not None else table
    if weight is not None and weight not in arrow.column_names:
        raise CompareError(_unknown_column("--weight", weight, arrow.column_names))
    for column in by:
        if column not in arrow.column_names:
            raise CompareError(_unknown_column("--by", column, arrow.column_names))
    carried = {c for c in [weight, *by] if c is not None}
    case_columns = _case_columns(arrow, carried, baseline, period.last_day)
    last = period.last_day
    money = money_outputs(baseline, last)
    segments = {side: [] for side in SIDES}  # side → [(segment, its evaluation)]
    finals = {}
    for side, registry in zip(SIDES, (baseline, reform)):
        for segment in period.segments(registry):
            day = period.on or segment[1]
            final = day == last
            outputs = [PAYMENTS] + ([ELIGIBLE] + money if final else [])
            evaluated = _evaluate(case_columns, day, registry, outputs, engine)
            if final:
                finals[side] = evaluated
            segments[side].append((segment, evaluated))
        if side not in finals:
            finals[side] = _evaluate(case_columns, last, registry, [ELIGIBLE] + money, engine)
    columns = None
    if in_columns:
        columns = _in_columns(arrow.num_rows, period, money, segments, finals)
    if columns is None:
        columns = {name: pa.array(values, _field(name).type)
                   for name, values in _by_row(arrow.num_rows, period, money, segments, finals).items()}
    out = arrow
    for name, values in columns.items():
        out = out.append_column(_field(name), values)
    return polars.from_arrow(out) if polars is not None else out


def _in_columns(n: int, period: Period, money: list[str], segments: dict, finals: dict) -> dict | None:
    """The comparison's columns computed on whole columns, or None where only the rows are exact."""
    import importlib.util
    if importlib.util.find_spec("numpy") is None:
        return None
    from . import compare_columns
    try:
        return compare_columns.comparison_columns(n, period, money, segments, finals)
    except compare_columns.Unsupported:
        return None


def _by_row(n: int, period: Period, money: list[str], segments: dict, finals: dict) -> dict[str, list]:
    """The comparison's columns computed row by row with `Figure` (name → Python values)."""
    years = period.year_list
    figures = {side: [dict() for _ in range(n)] for side in SIDES}
    for side in SIDES:
        for segment, evaluated in segments[side]:
            for row, found in zip(figures[side], year_figures(evaluated, period, segment)):
                for key, figure in found.items():  # key None: the number of payments without amount
                    row[key] = figure if key not in row else row[key] + figure
    columns: dict[str, list] = {}
    errors = [_error(a, b) for a, b in zip(finals["baseline"].column("error").to_pylist(),
                                            finals["reform"].column("error").to_pylist())]
    totals = {side: [] for side in SIDES}
    for year in years:
        per_side = {side: [row.get(year, Figure()) for row in figures[side]] for side in SIDES}
        _money_columns(columns, f"payments_{year}", per_side)
    for side in SIDES:
        totals[side] = [_total(row, years) for row in figures[side]]
    _money_columns(columns, "payments_total", totals)
    for side in SIDES:
        columns[f"payments_without_amount__{side}"] = [row.get(None, 0) for row in figures[side]]
    for name in money:
        _money_columns(columns, name, {side: _figures(finals[side], name) for side in SIDES})
    eligible = {side: finals[side].column(ELIGIBLE).to_pylist() for side in SIDES}
    columns["eligible__baseline"], columns["eligible__reform"] = eligible["baseline"], eligible["reform"]
    columns["eligibility_change"] = [_change(a, b) for a, b in zip(eligible["baseline"], eligible["reform"])]
    differences = [b.minus(a) for a, b in zip(totals["baseline"], totals["reform"])]
    columns["outcome"] = [None if e else d.sign() for d, e in zip(differences, errors)]
    columns["error"] = errors
    return columns


def _case_columns(arrow, carried: set, registry: Registry, on: dt.date):
    """The columns evaluated: all but the carried ones that are not columns of a case."""
    from .flat import ROW, FlatSchema
    known = FlatSchema.of(registry.in_force(on).model).columns
    unknown = [c for c in arrow.column_names if c not in known and c not in carried and c != ROW]
    if unknown:
        listed = ", ".join(f"« {c} »" for c in unknown)
        raise CompareError(f"colonne{'s' if len(unknown) > 1 else ''} inconnue{'s' if len(unknown) > 1 else ''} "
                           f"{listed} : " + ("ni des données du dossier, ni des colonnes nommées" if len(unknown) > 1
                                             else "ni une donnée du dossier, ni une colonne nommée")
                           + " par --weight ou --by ; "
                           "les données d'un dossier sont : " + ", ".join(known))
    dropped = [c for c in carried if c not in known]
    return arrow.drop_columns(dropped) if dropped else arrow


def _error(a, b) -> str | None:
    if a is None and b is None:
        return None
    import json
    reasons = json.loads(a) if a else json.loads(b)
    return json.dumps(reasons, ensure_ascii=False)


def _total(row: dict, years: list[int]) -> Figure:
    total = Figure()
    for year in years:
        if year in row:
            total = total + row[year]
    return total


def _figures(table, name: str) -> list[Figure]:
    """A money output's typed columns (engine/typed.py) → a Figure per row; an absent amount counts 0."""
    def column(suffix: str) -> list:
        full = name + suffix
        return table.column(full).to_pylist() if full in table.column_names else [None] * table.num_rows
    values, reasons = column(""), column("__not_established")
    if not any(r is not None for r in reasons):
        return [Figure(ZERO if v is None else v) for v in values]
    lows, highs, deciders = column("__between_low"), column("__between_high"), column("__decided_by")
    return [Figure(ZERO if v is None else v) if r is None else Figure(None, lo, hi, r, frozenset(who or ()))
            for v, r, lo, hi, who in zip(values, reasons, lows, highs, deciders)]


def _change(before, after) -> str | None:
    if before is False and after is True:
        return "newly_eligible"
    if before is True and after is False:
        return "no_longer_eligible"
    return None


MONEY_SUFFIXES = ("", "__not_established", "__between_low", "__between_high", "__decided_by")


def _money_columns(columns: dict, name: str, per_side: dict[str, list[Figure]]) -> None:
    sides = dict(per_side)
    sides["difference"] = [b.minus(a) for a, b in zip(per_side["baseline"], per_side["reform"])]
    for side, figures in sides.items():
        base = f"{name}__{side}"
        reasons = [f.reason for f in figures]
        columns[base + "__not_established"] = reasons
        if not any(r is not None for r in reasons):  # every figure established: the bounds are empty
            columns[base] = [f.value for f in figures]
            columns[base + "__between_low"] = columns[base + "__between_high"] = \
                columns[base + "__decided_by"] = [None] * len(figures)
            continue
        columns[base] = [f.value if r is None else None for f, r in zip(figures, reasons)]
        columns[base + "__between_low"] = [None if r is None else f.low for f, r in zip(figures, reasons)]
        columns[base + "__between_high"] = [None if r is None else f.high for f, r in zip(figures, reasons)]
        columns[base + "__decided_by"] = [None if r is None else sorted(f.deciders) for f, r in zip(figures, reasons)]


def _field(name: str):
    import pyarrow as pa
    if name.endswith("__not_established") or name in ("eligibility_change", "outcome", "error"):
        return pa.field(name, pa.string())
    if name.startswith("eligible__"):
        return pa.field(name, pa.bool_())
    if name.startswith("payments_without_amount__"):
        return pa.field(name, pa.int64())
    if name.endswith("__decided_by"):
        return pa.field(name, pa.list_(pa.string()))
    return pa.field(name, pa.decimal128(24, 2))  # sums of five years of a population's amounts


def _unknown_column(option: str, name: str, columns: list[str]) -> str:
    import difflib
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
    return f"{option} {name} : la population n'a pas de colonne « {name} »{hint} ; ses colonnes sont : " + \
        ", ".join(columns)


# ---------------------------------------------------------------- the summary

def read_weight(value, row: int, column: str) -> Decimal:
    """A weight cell → an exact non-negative Decimal (a float is read by its shortest decimal)."""
    if value is None or value == "":
        raise CompareError(f"--weight {column} : la ligne {row} n'a pas de poids")
    try:
        weight = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise CompareError(f"--weight {column} : la ligne {row} a pour poids « {value} », qui n'est pas un "
                           "nombre") from None
    if not weight.is_finite() or weight < 0:
        raise CompareError(f"--weight {column} : la ligne {row} a pour poids « {value} » ; un poids est un "
                           "nombre positif ou nul")
    return weight


def summarize(rows, period: Period, weight: str | None = None, by: list[str] | tuple = ()) -> dict:
    """The summary of `compare_rows`'s table: totals by year (weighted by column `weight`), winners,
    losers, eligibility changes, the distribution of the differences, and the same by group of the
    `by` columns."""
    summary = Summary(period, weight, list(by))
    summary.add(rows)
    return summary.as_json()


class Summary:
    """The summary, accumulated table after table (a population read chunk by chunk)."""

    def __init__(self, period: Period, weight: str | None = None, by: list[str] | None = None,
                 in_columns: bool = True):
        """`in_columns=False`: every row added one by one (the reference the column path is tested on)."""
        self.period, self.weight, self.by, self.in_columns = period, weight, list(by or []), in_columns
        self.total = _Totals(period.year_list)
        self.groups: dict[tuple, _Totals] = {}
        self.differences: list[tuple[Decimal, Decimal]] = []  # (established total difference, weight)
        self.number = 0

    def check_columns(self, names: list[str]) -> None:
        for column in self.by + ([self.weight] if self.weight else []):
            if column not in names:
                raise CompareError(_unknown_column("--by" if column in self.by else "--weight", column, names))

    def add(self, rows) -> None:
        """Add the rows of a `compare_rows` table: sums, counts and the bounds of the figures not
        established in columns (exact decimals, by group)."""
        from .batch import _polars_module
        polars = _polars_module(rows)
        arrow = rows.to_arrow() if polars is not None else rows
        self.check_columns(arrow.column_names)
        n = arrow.num_rows
        first = self.number + 1
        self.number += n
        weights = _weights(arrow.column(self.weight)) if self.weight else None
        if not self.in_columns or (self.weight and weights is None):
            self._add_rows(arrow, first)
            return
        if self.weight:
            for number, w in enumerate(arrow.column(self.weight).to_pylist(), start=first):
                read_weight(w, number, self.weight)  # the refusals of the row-by-row path
        self._add_columns(arrow, weights)

    def _add_rows(self, arrow, first: int) -> None:
        """Row by row (weights that no decimal column holds exactly; the reference of the tests)."""
        needed = [f"{key}{suffix}" for key in _figure_names(self.period.year_list) for suffix in MONEY_SUFFIXES]
        needed += ["error", "outcome", "eligibility_change"] + [f"payments_without_amount__{s}" for s in SIDES]
        needed += [c for c in [self.weight, *self.by] if c is not None and c not in needed]
        for number, row in enumerate(arrow.select(needed).to_pylist(), start=first):
            w = read_weight(row[self.weight], number, self.weight) if self.weight else None
            self.total.add(row, w)
            if self.by:
                key = tuple(row[c] for c in self.by)
                self.groups.setdefault(key, _Totals(self.period.year_list)).add(row, w)
            if row["error"] is None and row["payments_total__difference__not_established"] is None:
                self.differences.append((row["payments_total__difference"], Decimal(1) if w is None else w))

    def _add_columns(self, table, w) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc
        weighted = w is not None
        ok = pc.is_null(table.column("error"))
        zero = pa.scalar(Decimal(0), pa.decimal128(1, 0))
        columns = {}
        opened = {}  # figure → the rows where it is not established
        for key in _figure_names(self.period.year_list):
            is_open = pc.and_(ok, pc.is_valid(table.column(key + "__not_established")))
            established = pc.and_(ok, pc.invert(is_open))
            value = pc.if_else(established, table.column(key), zero.cast(table.column(key).type))
            columns[key] = pc.multiply(value, w) if weighted else value
            if not pc.any(is_open).as_py():
                continue
            opened[key] = is_open
            columns[f"open:{key}"] = pc.cast(is_open, pa.int64())
            for side in ("low", "high"):  # the bounds of the open cells, summed; unbounded if one has none
                bound = table.column(f"{key}__between_{side}")
                value = pc.if_else(is_open, pc.fill_null(bound, zero.cast(bound.type)), zero.cast(bound.type))
                columns[f"{side}:{key}"] = pc.multiply(value, w) if weighted else value
                columns[f"{side}_missing:{key}"] = pc.cast(pc.and_(is_open, pc.is_null(bound)), pa.int64())
        for name, values in (("outcome", ("winner", "loser", "unchanged", "undetermined")),
                             ("eligibility_change", ("newly_eligible", "no_longer_eligible"))):
            for value in values:
                hit = pc.fill_null(pc.equal(table.column(name), value), False)
                columns[f"count:{value}"] = pc.cast(hit, pa.int64())
                if weighted:
                    columns[f"weighted:{value}"] = pc.if_else(hit, w, zero.cast(w.type))
        for side in SIDES:
            columns[f"without:{side}"] = pc.fill_null(table.column(f"payments_without_amount__{side}"), 0)
        columns["count:rows"] = pa.array([1] * table.num_rows, pa.int64())
        columns["count:errors"] = pc.cast(pc.invert(ok), pa.int64())
        if weighted:
            columns["weighted:rows"] = pc.if_else(ok, w, zero.cast(w.type))
        keys = list(self.by) or ["__all"]
        data = {k: table.column(k) for k in self.by} if self.by else {"__all": pa.array([0] * table.num_rows)}
        data.update(columns)
        deciders = self._deciders(table, opened)
        for result in pa.table(data).group_by(keys).aggregate([(name, "sum") for name in columns]).to_pylist():
            sums = {name: result[f"{name}_sum"] for name in columns}
            group = tuple(result[k] for k in self.by)
            targets = [self.total] + ([self._group(group)] if self.by else [])
            for totals in targets:
                totals.absorb(sums, weighted)
            for key in opened:
                count = sums[f"open:{key}"]
                if not count:
                    continue
                low = None if sums[f"low_missing:{key}"] else sums[f"low:{key}"]
                high = None if sums[f"high_missing:{key}"] else sums[f"high:{key}"]
                figure = Figure(None, low, high, "open", frozenset(deciders.get((key, group), ())))
                self.total.absorb_open(key, figure, count)
                if self.by:
                    self._group(group).absorb_open(key, figure, count)
        established = pc.and_(ok, pc.is_null(table.column("payments_total__difference__not_established")))
        differences = table.column("payments_total__difference").filter(established).to_pylist()
        ws = w.filter(established).to_pylist() if weighted else [Decimal(1)] * len(differences)
        self.differences.extend(zip(differences, ws))

    def _group(self, key: tuple) -> "_Totals":
        totals = self.groups.get(key)
        if totals is None:
            totals = self.groups[key] = _Totals(self.period.year_list)
        return totals

    def _deciders(self, table, opened: dict) -> dict:
        """(figure, group) → the names of the unknowns that would decide its open cells."""
        import pyarrow as pa
        import pyarrow.compute as pc
        out: dict[tuple, set] = {}
        for key, is_open in opened.items():
            rows = table.select(list(dict.fromkeys([f"{key}__decided_by", *self.by]))).filter(is_open)  # not all
            names = rows.column(f"{key}__decided_by").combine_chunks()
            flat = pc.list_flatten(names)
            if not len(flat):
                continue
            parents = pc.list_parent_indices(names)
            pairs = {"name": flat}
            for k in self.by:
                pairs[k] = rows.column(k).combine_chunks().take(parents)
            distinct = pa.table(pairs).group_by(list(self.by) + ["name"]).aggregate([]).to_pylist()
            for item in distinct:
                out.setdefault((key, tuple(item[k] for k in self.by)), set()).add(item["name"])
        return out

    def as_json(self) -> dict:
        out = {"period": self.period.as_json(), "weight": self.weight, **self.total.as_json(),
               "distribution": distribution(self.differences)}
        if self.by:
            out["by"] = self.by
            out["groups"] = {", ".join("—" if v is None or v == "" else str(v) for v in key): {
                "values": dict(zip(self.by, [v if v is None or isinstance(v, (int, bool)) else str(v) for v in key])),
                **g.as_json()} for key, g in sorted(self.groups.items(), key=lambda kv: tuple(str(v) for v in kv[0]))}
        return out


def distribution(differences: list[tuple[Decimal, Decimal]], bins: int = 20) -> list[dict]:
    """The established total differences in bins of a round width: [{from, to, rows}] (rows
    weighted when the rows are; `from` included, `to` excluded, the zero difference a bin alone)."""
    nonzero = [(d, w) for d, w in differences if d != 0]
    out = []
    zero = sum((w for d, w in differences if d == 0), Decimal(0))
    if not nonzero:
        return [{"from": "0.00", "to": "0.00", "rows": _plain(zero)}] if differences else []
    low, high = min(d for d, _ in nonzero), max(d for d, _ in nonzero)
    width = _round_width((high - low) / bins if high > low else abs(high))
    start = (low / width).to_integral_value(rounding="ROUND_FLOOR") * width
    counts: dict[Decimal, Decimal] = {}
    for d, w in nonzero:
        edge = start + ((d - start) / width).to_integral_value(rounding="ROUND_FLOOR") * width
        counts[edge] = counts.get(edge, Decimal(0)) + w
    for edge in sorted(counts):
        out.append({"from": _money(edge), "to": _money(edge + width), "rows": _plain(counts[edge])})
    if zero:
        out.append({"from": "0.00", "to": "0.00", "rows": _plain(zero)})
        out.sort(key=lambda b: (Decimal(b["from"]), Decimal(b["to"])))
    return out


def _round_width(raw: Decimal) -> Decimal:
    """1, 2 or 5 times a power of ten, at least the raw width (at least one cent)."""
    raw = max(raw, Decimal("0.01"))
    power = Decimal(10) ** (raw.adjusted())
    for step in (1, 2, 5, 10):
        if step * power >= raw:
            return step * power
    return 10 * power


class _Totals:
    def __init__(self, years: list[int]):
        self.years = years
        self.sums = {(y, s): Figure() for y in years for s in SIDES + ("difference",)}
        self.sums.update({("total", s): Figure() for s in SIDES + ("difference",)})
        self.open_rows = {k: 0 for k in self.sums}
        self.established = {k: Decimal(0) for k in self.sums}  # the sum of the rows whose figure is established
        self.counts = {k: 0 for k in ("rows", "errors", "winners", "losers", "unchanged", "undetermined",
                                      "newly_eligible", "no_longer_eligible")}
        self.weighted = {k: Decimal(0) for k in ("rows", "winners", "losers", "unchanged", "undetermined",
                                                 "newly_eligible", "no_longer_eligible")}
        self.without_amount = {s: 0 for s in SIDES}
        self.is_weighted = False

    def add(self, row: dict, weight: Decimal | None) -> None:
        self.counts["rows"] += 1
        if row["error"] is not None:
            self.counts["errors"] += 1
            return
        w = Decimal(1) if weight is None else weight
        self.is_weighted = self.is_weighted or weight is not None
        self.weighted["rows"] += w
        for year in self.years + ["total"]:
            name = f"payments_{year}"
            for side in SIDES + ("difference",):
                figure = _row_figure(row, f"{name}__{side}")
                figure = figure.times(w) if weight is not None else figure
                if figure.established:
                    self.established[(year, side)] += figure.value
                else:
                    self.open_rows[(year, side)] += 1
                self.sums[(year, side)] = self.sums[(year, side)] + figure
        for side in SIDES:
            self.without_amount[side] += row[f"payments_without_amount__{side}"]
        outcome = row["outcome"]
        self.counts[outcome + "s" if outcome in ("winner", "loser") else outcome] += 1
        self.weighted[outcome + "s" if outcome in ("winner", "loser") else outcome] += w
        if row["eligibility_change"]:
            self.counts[row["eligibility_change"]] += 1
            self.weighted[row["eligibility_change"]] += w

    def absorb(self, sums: dict, weighted: bool) -> None:
        """Add the sums and counts computed in columns (`Summary._add_columns`): the established
        figures' sums (the others come through `absorb_open`)."""
        self.is_weighted = self.is_weighted or weighted
        for key in self.sums:
            value = sums[_figure_name(key)]
            self.sums[key] = self.sums[key] + Figure(value)
            self.established[key] += value
        for name in ("winners", "losers", "unchanged", "undetermined", "newly_eligible", "no_longer_eligible"):
            value = name[:-1] if name in ("winners", "losers") else name
            self.counts[name] += sums[f"count:{value}"]
            self.weighted[name] += sums[f"weighted:{value}"] if weighted else sums[f"count:{value}"]
        self.counts["rows"] += sums["count:rows"]
        self.counts["errors"] += sums["count:errors"]
        self.weighted["rows"] += sums["weighted:rows"] if weighted else sums["count:rows"] - sums["count:errors"]
        for side in SIDES:
            self.without_amount[side] += sums[f"without:{side}"]

    def absorb_open(self, name: str, figure: Figure, rows: int) -> None:
        """Add the sum of `rows` figures not established (weighted) to the sum of column `name`."""
        year, _, side = name[len("payments_"):].partition("__")
        key = (int(year) if year != "total" else "total", side)
        self.open_rows[key] += rows
        self.sums[key] = self.sums[key] + figure

    def as_json(self) -> dict:
        def figure(key):
            return _figure_json(self.sums[key], self.open_rows[key], self.established[key])
        out = {"by_year": {str(y): {s: figure((y, s)) for s in SIDES + ("difference",)} for y in self.years},
               "total": {s: figure(("total", s)) for s in SIDES + ("difference",)}}
        out.update({k: self.counts[k] for k in ("winners", "losers", "unchanged", "undetermined", "newly_eligible",
                                                "no_longer_eligible", "rows", "errors")})
        out["payments_without_amount"] = dict(self.without_amount)
        if self.is_weighted:
            out["weighted"] = {k: _plain(v) for k, v in self.weighted.items()}
        return out


def _figure_names(years: list[int]) -> list[str]:
    return [f"payments_{y}__{s}" for y in years + ["total"] for s in SIDES + ("difference",)]


def _figure_name(key: tuple) -> str:
    return f"payments_{key[0]}__{key[1]}"


def _weights(column):
    """A weight column as exact decimals (decimal128(13, 6): its products with the figures fit 38
    digits), or None when it cannot be (a float,
    a text that is not a number, more decimals): then read row by row, which says why."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        if pa.types.is_floating(column.type):
            return None
        out = pc.cast(column, pa.decimal128(13, 6))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if out.null_count or (len(out) and pc.min(out).as_py() < 0):
        return None
    return out.combine_chunks() if hasattr(out, "combine_chunks") else out


def _row_figure(row: dict, name: str) -> Figure:
    reason = row[name + "__not_established"]
    if reason is not None:
        return Figure(None, row[name + "__between_low"], row[name + "__between_high"], reason,
                      frozenset(row[name + "__decided_by"] or ()))
    return Figure(row[name])


def _plain(value: Decimal) -> str:
    from .values import _plain_decimal
    return _plain_decimal(value)


def _money(value: Decimal | None) -> str | None:
    from .values import format_money
    return None if value is None else format_money(value)


def _figure_json(figure: Figure, open_rows: int, established: Decimal):
    """An established sum as money text; otherwise as the JSON contract writes a value not
    established (reason, bounds — null where a side is unbounded — and what would decide it), with
    the number of rows not established and the sum of the others."""
    if figure.established:
        return _money(figure.value)
    return {"not_established": f"montant non établi pour {open_rows} ligne{'s' if open_rows > 1 else ''}",
            "between": [_money(figure.low), _money(figure.high)], "decided_by": sorted(figure.deciders),
            "rows_not_established": open_rows, "established_rows_sum": _money(established)}
