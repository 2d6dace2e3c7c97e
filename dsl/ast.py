"""The ruleset syntax tree: what the parser builds, before names and types are checked.

Every node carries a `Loc` so that any later stage (checks, evaluation, documentation)
can point an analyst at the exact place in the ruleset file.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Loc:
    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# ---------------------------------------------------------------- types

@dataclass(frozen=True, slots=True)
class TypeRef:
    """A type as written: `money`, `optional date`, `map int to {a: int}`, an enum name..."""
    kind: str  # named | optional | list | set | map | record | group
    name: str = ""
    args: tuple["TypeRef", ...] = ()
    fields: tuple[tuple[str, "TypeRef"], ...] = ()
    loc: Loc | None = field(default=None, compare=False)


# ---------------------------------------------------------------- expressions

@dataclass(slots=True)
class Expr:
    loc: Loc
    text: str  # the expression exactly as written, for explanations and docs


@dataclass(slots=True)
class Literal(Expr):
    kind: str  # number | money | percent | date | string | bool | none
    value: object


@dataclass(slots=True)
class NotEstablished(Expr):
    reason: str


@dataclass(slots=True)
class Unknown(Expr):
    """`?`, `? between A and B`, `? at least A`, `? at most B`: a value the sources do not
    establish, within what is known of it. Only the whole value of a parameter or a table cell."""
    low: Expr | None
    high: Expr | None


@dataclass(slots=True)
class ReadingsValue(Expr):
    """`= readings`: the value is given by the `reading` lines of its declaration."""


@dataclass(slots=True)
class Name(Expr):
    name: str


@dataclass(slots=True)
class Field(Expr):
    target: Expr
    name: str


@dataclass(slots=True)
class Call(Expr):
    function: str
    args: list[Expr]


@dataclass(slots=True)
class Index(Expr):
    target: Expr
    keys: list[Expr]


@dataclass(slots=True)
class If(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(slots=True)
class Arith(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(slots=True)
class Negate(Expr):
    operand: Expr


@dataclass(slots=True)
class Logic(Expr):
    op: str  # and | or
    operands: list[Expr]


@dataclass(slots=True)
class Not(Expr):
    operand: Expr


@dataclass(slots=True)
class Compare(Expr):
    op: str  # = != < <= > >=
    left: Expr
    right: Expr


@dataclass(slots=True)
class Member(Expr):
    item: Expr
    collection: Expr
    negated: bool


@dataclass(slots=True)
class IsSet(Expr):
    operand: Expr
    negated: bool


@dataclass(slots=True)
class AsOf(Expr):
    """`rule as of date`: the value under the ruleset in force on that date."""
    target: Expr
    date: Expr


@dataclass(slots=True)
class Comprehension(Expr):
    element: Expr
    variable: str
    iterable: Expr
    condition: Expr | None


@dataclass(slots=True)
class ListLiteral(Expr):
    items: list[Expr]


@dataclass(slots=True)
class SetLiteral(Expr):
    items: list[Expr]


@dataclass(slots=True)
class RecordLiteral(Expr):
    entries: list[tuple[str, Expr]]


@dataclass(slots=True)
class Round(Expr):
    mode: str  # nearest | up | down
    operand: Expr
    unit: str  # euro | cent | unit


@dataclass(slots=True)
class Range(Expr):
    low: Expr
    high: Expr


# ---------------------------------------------------------------- legal sources

GRADES = ("official", "secondary", "hypothesis")  # from the strongest to the weakest


@dataclass(slots=True)
class Source:
    reference: str  # a declared reference name, or an instrument written in full
    is_reference_name: bool
    article: str | None
    quote: str | None
    url: str | None
    loc: Loc
    grade: str | None = None  # `grade …` on a source written in full (a reference carries its own)


@dataclass(slots=True)
class Reference:
    name: str
    title: str
    url: str | None
    loc: Loc
    grade: str | None = None  # official | secondary | hypothesis; None: not graded (a warning)


@dataclass(slots=True)
class BoundsClause:
    """`bounds between A and B` under a known figure: what holds whatever that figure's source is worth."""
    low: Expr | None
    high: Expr | None
    notes: list[str]
    sources: list[Source]
    loc: Loc


@dataclass(slots=True)
class Reading:
    """One reading the sources admit: `reading lowest "Le plus faible des deux taux" : min(a, b)`."""
    name: str
    label: str
    expr: Expr
    notes: list[str]
    sources: list[Source]
    loc: Loc


# ---------------------------------------------------------------- declarations

@dataclass(slots=True)
class Declaration:
    loc: Loc

    @property
    def key(self) -> tuple[str, str]:
        """(kind, name): how amendments address this declaration."""
        raise NotImplementedError


@dataclass(slots=True)
class EnumMember:
    name: str
    label: str
    loc: Loc


@dataclass(slots=True)
class EnumDecl(Declaration):
    name: str
    label: str
    members: list[EnumMember]

    @property
    def key(self):
        return ("enum", self.name)


@dataclass(slots=True)
class Bound:
    kind: str  # min | max
    value: Decimal


@dataclass(slots=True)
class InputDecl(Declaration):
    path: str
    type: TypeRef
    label: str
    bounds: list[Bound]
    sources: list[Source]

    @property
    def key(self):
        return ("input", self.path)


@dataclass(slots=True)
class ParameterDecl(Declaration):
    name: str
    label: str
    type: TypeRef
    value: Expr  # an expression, an `Unknown`, or `ReadingsValue` (then `readings` lists them)
    notes: list[str]
    sources: list[Source]
    bounds: list[BoundsClause] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)

    @property
    def key(self):
        return ("parameter", self.name)


@dataclass(slots=True)
class TableKey:
    """A row or column heading: an exact value, an open range `3+`, or a band `90..95`."""
    kind: str  # exact | at_least | band | below
    value: object = None
    low: Decimal | None = None
    high: Decimal | None = None
    text: str = ""
    loc: Loc | None = None

    def matches(self, key: object) -> bool:
        if self.kind == "exact":
            return key == self.value
        if isinstance(key, bool) or not isinstance(key, (int, Decimal)):
            return False
        if self.kind == "at_least":
            return key >= self.low
        if self.kind == "below":
            return key < self.high
        return self.low <= key < self.high


@dataclass(slots=True)
class TableCell:
    kind: str  # value | no_value | unknown | readings
    expr: Expr | None  # the value; for an unknown cell, its `Unknown` (bounds)
    text: str
    loc: Loc


@dataclass(slots=True)
class TableOrder:
    """`increasing along percentile`: along that axis, the cells never decrease (or increase)."""
    direction: str  # increasing | decreasing
    axis: str  # the name of the rows or columns heading
    notes: list[str]
    sources: list[Source]
    loc: Loc


@dataclass(slots=True)
class CellClause:
    """`cell [90..95, half] …`: what one cell rests on, when it differs from its table."""
    keys: list[str]  # the headings as written, row first
    row: int  # filled in by the parser, once the headings are known
    column: int
    notes: list[str]
    sources: list[Source]
    bounds: list[BoundsClause]
    readings: list[Reading]
    loc: Loc
    # A cell replaced by `replace cell`: it rests on the replacement's own sources, even none
    # (never on the sources of the table it was copied from, which state the old figure).
    replaced: bool = False


@dataclass(slots=True)
class TableDim:
    axis: str  # rows | columns
    name: str
    type: TypeRef
    loc: Loc


@dataclass(slots=True)
class TableDecl(Declaration):
    name: str
    label: str
    type: TypeRef
    dims: list[TableDim]
    column_keys: list[TableKey]
    row_keys: list[TableKey]
    cells: list[list[TableCell]]  # cells[row][column]
    notes: list[str]
    sources: list[Source]
    orders: list[TableOrder] = field(default_factory=list)
    cell_clauses: list[CellClause] = field(default_factory=list)

    @property
    def key(self):
        return ("table", self.name)

    def clause(self, row: int, column: int) -> CellClause | None:
        for c in self.cell_clauses:
            if c.row == row and c.column == column:
                return c
        return None

    def cell_sources(self, row: int, column: int) -> list[Source]:
        """What a cell rests on: its own sources when it has some, else the table's."""
        clause = self.clause(row, column)
        return clause.sources if clause is not None and (clause.sources or clause.replaced) else self.sources

    def cell_name(self, row: int, column: int) -> str:
        """`gp_threshold[70]`, `aid_amount[3+, full]`: the cell by its headings as written."""
        keys = [self.row_keys[row].text] + ([self.column_keys[column].text] if self.column_keys else [])
        return f"{self.name}[{', '.join(keys)}]"


@dataclass(slots=True)
class RuleParam:
    name: str
    type: TypeRef
    loc: Loc


@dataclass(slots=True)
class RuleException:
    """An exception to a rule, as the law writes it: `exception "…" when C = V`."""
    label: str
    when: Expr
    value: Expr
    notes: list[str]
    sources: list[Source]
    loc: Loc


@dataclass(slots=True)
class RuleDecl(Declaration):
    name: str
    params: list[RuleParam]
    label: str
    type: TypeRef | None
    expr: Expr  # an expression, or `ReadingsValue` (then `readings` lists them)
    notes: list[str]
    sources: list[Source]
    exceptions: list[RuleException]
    readings: list[Reading] = field(default_factory=list)

    @property
    def key(self):
        return ("rule", self.name)


@dataclass(slots=True)
class Waiver:
    """`unless "…": C` — the requirement does not apply when C holds."""
    label: str
    when: Expr
    notes: list[str]
    sources: list[Source]
    loc: Loc


@dataclass(slots=True)
class Requirement:
    name: str
    label: str
    expr: Expr
    notes: list[str]
    sources: list[Source]
    waivers: list[Waiver]
    loc: Loc


@dataclass(slots=True)
class ConditionDecl(Declaration):
    """A condition holds when all its requirements hold; failing ones are the reasons."""
    name: str
    label: str
    notes: list[str]
    sources: list[Source]
    requirements: list[Requirement]

    @property
    def key(self):
        return ("condition", self.name)


@dataclass(slots=True)
class OutputDecl(Declaration):
    names: list[tuple[str, Loc]]

    @property
    def key(self):
        return ("output", ",".join(n for n, _ in self.names))


# ---------------------------------------------------------------- amendments

@dataclass(slots=True)
class Replace(Declaration):
    declaration: Declaration

    @property
    def key(self):
        return self.declaration.key


@dataclass(slots=True)
class ExtendEnum(Declaration):
    name: str
    members: list[EnumMember]

    @property
    def key(self):
        return ("enum", self.name)


@dataclass(slots=True)
class RequirementChange(Declaration):
    """`add requirement c.r …` or `replace requirement c.r …`."""
    action: str  # add | replace
    condition: str
    requirement: Requirement

    @property
    def key(self):
        return ("requirement", f"{self.condition}.{self.requirement.name}")


@dataclass(slots=True)
class CellReplacement(Declaration):
    """`replace cell aid_amount[3+, full] = 24 000`: one cell of an inherited table, changed; the
    table is copied with that cell only (its other cells, unknown ones included, are kept)."""
    table: str
    keys: list[str]  # the headings as written, row first
    value: Expr  # an expression, an `Unknown` (`?`, `? between A and B`) or `ReadingsValue`
    notes: list[str]
    sources: list[Source]
    bounds: list[BoundsClause]
    readings: list[Reading]

    @property
    def key(self):
        return ("cell", f"{self.table}[{', '.join(self.keys)}]")

    @property
    def label(self) -> str:
        return self.key[1]


@dataclass(slots=True)
class Remove(Declaration):
    kind: str
    name: str
    because: str | None
    sources: list[Source]

    @property
    def key(self):
        return (self.kind, self.name)


# ---------------------------------------------------------------- the file

@dataclass(slots=True)
class Header:
    id: str
    title: str
    instrument: str | None
    published: str | None
    effective_from: dt.date | None
    effective_until: dt.date | None
    amends: str | None
    description: str | None
    sources: list[Source]
    loc: Loc
    amends_loc: Loc | None = None  # where `amends ID` is written, for diagnostics about the base
    # `after gap "why"`: the ruleset says that no ruleset is in force between the end of the
    # previous one and its own start (without it, such a gap is an error of `millesime check`).
    gap_reason: str | None = None


@dataclass(slots=True)
class RulesetFile:
    header: Header
    references: list[Reference]
    declarations: list[Declaration]
    path: str
    text: str


# ---------------------------------------------------------------- hypotheses (`--assume FILE`)

@dataclass(slots=True)
class Assumption:
    """`assume gp_threshold[70] = 1 250 because "…"`, `assume combined_rate reading lowest because "…"`."""
    name: str  # a parameter, a table, or a rule with readings
    keys: list[str]  # a table cell's headings as written, row first (empty otherwise)
    ruleset: str | None  # `in RULESET`: only there (every ruleset where the name is open, otherwise)
    reading: str | None  # the reading picked, or
    value: Expr | None  # the value fixed
    because: str
    notes: list[str]
    sources: list[Source]
    loc: Loc

    @property
    def target(self) -> str:
        return f"{self.name}[{', '.join(self.keys)}]" if self.keys else self.name


@dataclass(slots=True)
class HypothesisFile:
    title: str
    notes: list[str]
    sources: list[Source]
    assumptions: list[Assumption]
    path: str
    text: str


def type_text(t: "TypeRef | None") -> str:
    """A type as written in a ruleset (`optional map int to {a: int}`), for pages and hovers."""
    if t is None:
        return "déduit"
    if t.kind == "named":
        return t.name
    if t.kind == "optional":
        return "optional " + type_text(t.args[0])
    if t.kind in ("list", "set"):
        return f"{t.kind} of {type_text(t.args[0])}"
    if t.kind == "map":
        return f"map {type_text(t.args[0])} to {type_text(t.args[1])}"
    if t.kind == "record":
        return "{" + ", ".join(f"{k}: {type_text(v)}" for k, v in t.fields) + "}"
    return t.kind
