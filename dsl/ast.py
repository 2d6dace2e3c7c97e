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

@dataclass(slots=True)
class Source:
    reference: str  # a declared reference name, or an instrument written in full
    is_reference_name: bool
    article: str | None
    quote: str | None
    url: str | None
    loc: Loc


@dataclass(slots=True)
class Reference:
    name: str
    title: str
    url: str | None
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
    value: Expr
    notes: list[str]
    sources: list[Source]

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
    kind: str  # value | no_value | unknown
    expr: Expr | None
    text: str
    loc: Loc


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

    @property
    def key(self):
        return ("table", self.name)


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
    expr: Expr
    notes: list[str]
    sources: list[Source]
    exceptions: list[RuleException]

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
