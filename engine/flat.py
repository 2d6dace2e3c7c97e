"""The flat form of a case: one row of a file (or of a table), one case.

A case's inputs become columns (`physician.sector` → `sector`, `contract.signed_on` →
`contract_signed_on`); a cell's text is read the way the case schema expects (`read_cell`).
Both the batch (engine/batch.py) and the vector back-end (engine/vector/) read rows through
this module, so that neither depends on the other.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable

from dsl.model import Ruleset

from . import french
from .case import shown
from .io import BatchError
from .io.readers import loads_json

UNPREFIXED = ("physician",)  # groups whose fields keep their bare name as column
ROW = "row"                  # 1-based number of the case in the input (header excluded)


# ---------------------------------------------------------------- the flat schema

@dataclass(frozen=True)
class Column:
    name: str   # flat column name
    path: str   # dotted input path
    kind: str   # int | decimal | date | bool | text | json


@dataclass
class FlatSchema:
    """The columns of a ruleset's case schema, and how a row becomes a case."""
    columns: dict[str, Column]
    groups: dict[str, bool]  # group path → optional

    @classmethod
    def of(cls, model: Ruleset) -> "FlatSchema":
        columns, groups = {}, {}
        for path, decl in model.inputs.items():
            ref = decl.type
            optional = ref.kind == "optional"
            base = ref.args[0] if optional else ref
            if base.kind == "group":
                groups[path] = optional
                continue
            name = column_name(path)
            columns[name] = Column(name, path, column_kind(model, base))
        return cls(columns, groups)

    def check_columns(self, names: Iterable[str]) -> None:
        unknown = [n for n in names if n not in self.columns and n != ROW]
        if unknown:
            word = "colonne inconnue" if len(unknown) == 1 else "colonnes inconnues"
            raise BatchError(f"{word} {french.quoted(shown(n)[1:-1] for n in unknown)}" + self._hints(unknown)
                             + " ; les colonnes d'un cas sont : " + ", ".join(self.columns))

    def _hints(self, unknown: list[str]) -> str:
        spaced = [n for n in unknown if n.strip() != n and n.strip() in self.columns]
        if spaced and all(n.startswith(" ") for n in spaced):
            return (" (les noms de colonnes commencent par une espace : séparez les colonnes par une virgule seule, "
                    "sans espace après)")
        if spaced:
            return " (les espaces autour d'un nom de colonne en font partie : retirez-les)"
        hints = [h for h in (french.suggestion(n, list(self.columns)) for n in unknown if len(n) <= 100) if h]
        return f" ({' ; '.join(hints)})" if hints else ""

    def case(self, row: dict) -> tuple[dict, list[tuple[str, str]]]:
        """A flat row → the nested case, and the cells that could not even be read."""
        case: dict = {}
        problems = []
        for name, raw in row.items():
            column = self.columns.get(name)
            if column is None:  # a key of a JSON line (the file's columns were checked at its start)
                if name != ROW:
                    problems.append((name, "colonne inconnue" + self._hints([name])))
                continue
            if raw is None or raw == "":
                continue
            try:
                value = read_cell(column.kind, raw)
            except ValueError as exc:  # the raw cell still goes to validation, for the other fields
                problems.append((name, str(exc)))
                value = raw
            target = case
            parts = column.path.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
        for group, optional in self.groups.items():
            if not optional and "." not in group:
                case.setdefault(group, {})
        return case, problems

    def field(self, problem_path: str) -> str:
        """The column a validation problem (`contract.observed.3.file_active`) is about."""
        parts = problem_path.split(".")
        for i in range(len(parts), 0, -1):
            name = column_name(".".join(parts[:i]))
            if name in self.columns:
                return name
        return problem_path


def column_name(path: str) -> str:
    head, _, rest = path.partition(".")
    if rest and head in UNPREFIXED:
        return rest.replace(".", "_")
    return path.replace(".", "_")


def column_kind(model: Ruleset, ref) -> str:
    if ref.kind != "named":
        return "json"
    if ref.name in ("int", "date", "bool", "text"):
        return ref.name
    if ref.name in ("decimal", "money", "percent"):
        return "decimal"
    return "text"  # an enum member, by its name


_TRUE, _FALSE = {"true", "1", "yes", "oui"}, {"false", "0", "no", "non"}


def read_cell(kind: str, raw):
    """One cell → the value pydantic will check. Text is handed over as is (pydantic reads
    `"12"` as an int, `"2024-09-01"` as a date, and says why it cannot); floats from typed
    files become the Decimal of their shortest text, never a binary approximation."""
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError(f"{raw} n'est pas un nombre qu'un cas puisse contenir")
        raw = Decimal(repr(raw))
        if kind == "int" and raw == raw.to_integral_value():
            return int(raw)
        return raw
    if kind == "bool" and isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"true ou false est attendu (reçu : {shown(raw)})")
    if kind == "decimal" and isinstance(raw, str):
        try:
            return Decimal(raw.strip())
        except InvalidOperation:
            raise ValueError(f"un nombre décimal est attendu, comme 0.15 (reçu : {shown(raw)})") from None
    if kind == "json":
        if isinstance(raw, str):
            try:
                return loads_json(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"JSON invalide : {french.json_message(exc.msg)}, au caractère {exc.pos + 1} "
                                 f"(reçu : {shown(raw)})") from None
        if isinstance(raw, list) and raw and all(isinstance(x, tuple) and len(x) == 2 for x in raw):
            return dict(raw)  # an Arrow map column
    return raw
