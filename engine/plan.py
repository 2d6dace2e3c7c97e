"""The evaluation plan of a ruleset: every rule, condition, parameter and table cell compiled
once into a Python closure (engine/expressions.py), each with its number (its slot).

A closure takes the running evaluation and the local names in scope and returns a value;
`Plan` holds them with what the evaluators need besides (types, groups of the case, constants
folded at compile time). engine/compiler.py builds it; engine/interpreter.py and
engine/fastcase.py run it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Callable, Mapping

from dsl import ast, types as T
from dsl.model import Ruleset

from . import french
from .unknowns import Decision, Openness
from .values import EvaluationError

NO_HEADING_HINT = "ajoutez l'intitulé qui manque, ou vérifiez la valeur cherchée"


def unknown_outputs(model: Ruleset, unknown: list[str]) -> str:
    """« résultat inconnu « aide » dans le texte demo_base »."""
    word = "résultat inconnu" if len(unknown) == 1 else "résultats inconnus"
    return f"{word} {french.quoted(unknown)} dans le texte {model.id}"


def outputs_hint(model: Ruleset, unknown: list[str]) -> str:
    """What was meant (« vouliez-vous dire « aid » ? »), or the outputs there are."""
    hints = [french.suggestion(n, model.value_names()) for n in unknown]
    return " ; ".join(h for h in hints if h) or "résultats : " + ", ".join(model.outputs)


def no_heading(table: str, dim, key) -> str:
    """A table looked up with a key none of its headings meets."""
    axis = "ligne" if dim.axis == "rows" else "colonne"
    return f"le barème « {table} » n'a pas de {axis} pour {dim.name} = {key}"

if TYPE_CHECKING:
    from .expressions import Narrowing

Fn = Callable[["object", dict], object]  # (evaluation, locals) → value
NO_LOCALS: Mapping[str, object] = MappingProxyType({})  # the scope of what has no parameters (never written)


@dataclass
class CompiledException:
    decl: ast.RuleException
    when: Fn
    value: Fn
    narrowing: "Narrowing | None" = None  # how the exception's condition narrows the rule's parameters


@dataclass
class CompiledRule:
    decl: ast.RuleDecl
    type: T.Type
    body: Fn
    exceptions: list[CompiledException]
    decision: Decision | None = None  # known, readings, picked (by a hypothesis) or unknown (--official-only)

    def __post_init__(self):
        self.param_names = tuple(p.name for p in self.decl.params)


@dataclass
class CompiledRequirement:
    decl: ast.Requirement
    test: Fn
    waivers: list[tuple[ast.Waiver, Fn]]


@dataclass
class CompiledTable:
    decl: ast.TableDecl
    type: T.Type
    cells: list[list[Fn | None]]
    constants: list[list] = field(default_factory=list)  # each cell's value when constant, else UNSET
    decisions: list[list[Decision]] = field(default_factory=list)  # how each cell is evaluated

    def __post_init__(self):
        decl = self.decl
        self.axes = [_Headings(decl.row_keys), _Headings(decl.column_keys)]

    def locate(self, keys: list) -> tuple[int, int]:
        rows, columns = self.axes
        row = rows.find(keys[0])
        col = columns.find(keys[1]) if len(keys) > 1 else 0
        if row is None or col is None:
            decl = self.decl
            which = 0 if row is None else 1
            dim = decl.dims[which]
            raise EvaluationError(no_heading(decl.name, dim, keys[which]), decl.loc, hint=NO_HEADING_HINT)
        return row, col


class _Headings:
    """The headings of one axis of a table, to find the first that matches a key: the exact
    ones (`1`, `full`) by value, the ranges (`3+`, `90..95`) tried in order."""

    def __init__(self, headings: list[ast.TableKey]):
        self.exact: dict = {}
        for i, heading in enumerate(headings):
            if heading.kind == "exact":
                self.exact.setdefault(heading.value, i)
        self.ranges = [(i, heading) for i, heading in enumerate(headings) if heading.kind != "exact"]

    def find(self, key) -> int | None:
        try:
            first = self.exact.get(key)
        except TypeError:  # a key no exact heading can equal (a list, a record)
            first = None
        for i, heading in self.ranges:
            if first is not None and i > first:
                break
            if heading.matches(key):
                return i
        return first


UNSET = object()  # a slot whose value is not known before a case is evaluated


def slot_numbers(model: Ruleset) -> dict[str, int]:
    """The number of each rule, condition and parameter of `model`: the index of its value."""
    names = [*model.rules, *model.conditions, *model.parameters]
    return {name: slot for slot, name in enumerate(names)}


@dataclass
class Plan:
    """Everything needed to evaluate one ruleset, built once and reused for every case."""
    model: Ruleset
    rule_types: dict[str, T.Type]
    expression_types: dict[int, T.Type]
    rules: dict[str, CompiledRule] = field(default_factory=dict)
    conditions: dict[str, list[CompiledRequirement]] = field(default_factory=dict)
    parameters: dict[str, Fn] = field(default_factory=dict)
    tables: dict[str, CompiledTable] = field(default_factory=dict)
    slots: dict[str, int] = field(default_factory=dict)  # rule, condition or parameter name → its slot
    declarations: list[tuple[str, str, object]] = field(default_factory=list)  # slot → (kind, name, compiled)
    constants: list = field(default_factory=list)  # slot → a parameter's value known at compile time, else UNSET
    _foreign: dict[int, Fn] = field(default_factory=dict)  # `as of` targets compiled for this ruleset
    outputs: dict[tuple, list] = field(default_factory=dict)  # names asked → [(name, slot, type)]
    openness: Openness | None = None  # how each declaration is evaluated under the run's assumptions
    parameter_decisions: dict[str, Decision] = field(default_factory=dict)
    groups: list[tuple] = field(default_factory=list)  # 1, 2…: (path, its group's number, name, an absent one)
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)  # input path → (its group's number, name)
    fast_steps: list | None = None  # how the fast evaluation computes each slot, made on its first use

    def expression(self, expr: ast.Expr, local_names: frozenset[str]) -> Fn:
        """Compile an expression written in another ruleset, to evaluate it under this one."""
        fn = self._foreign.get(id(expr))
        if fn is None:
            from .expressions import _Compiler  # (engine/expressions.py builds on this module's classes)
            compiler = _Compiler(self.model, self.slots, self.fields, self.openness)
            fn = self._foreign[id(expr)] = compiler.expr(expr, local_names)
        return fn

    def output_slots(self, names: tuple[str, ...]) -> list[tuple[str, int, T.Type]]:
        """(name, slot, type) of each value asked for, or an error naming those this ruleset lacks."""
        known = self.outputs.get(names)
        if known is None:
            model = self.model
            unknown = [n for n in names if model.value_declaration(n)[0] is None]
            if unknown:
                raise EvaluationError(unknown_outputs(model, unknown), hint=outputs_hint(model, unknown))
            known = self.outputs[names] = [(name, self.slots[name], self.value_type(name)) for name in names]
        return known

    def value_type(self, name: str) -> T.Type:
        kind, decl = self.model.value_declaration(name)
        if kind == "rule":
            return self.rule_types.get(name, T.ANY)
        if kind == "condition":
            return T.BOOL
        if kind == "parameter":
            return self.model.resolve_type(decl.type)
        return T.ANY
