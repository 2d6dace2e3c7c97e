"""Case validation: the inputs a ruleset declares become a pydantic model.

A case is checked whole before anything is evaluated; every bad field is reported by
its dotted path (`physician.percentile`), with what was expected and what was given, in
French (pydantic's messages are put in French here: `_value_problem`).
"""
from __future__ import annotations

import datetime as dt
import re
import reprlib
import sys
from decimal import Decimal
from typing import Annotated, Literal, Optional

import pydantic
from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, create_model
from pydantic_core import PydanticCustomError

from dsl.errors import MillesimeError
from dsl.model import Ruleset

from . import fastcase, french

def _not_a_boolean(value):
    """pydantic reads `true` as 1 for an int; a count, an amount or a percentile is a number."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "une valeur oui/non n'est pas un nombre")
    return value


_SCALARS = {"int": Annotated[int, BeforeValidator(_not_a_boolean)], "decimal": Decimal, "money": Decimal, "percent": Decimal, "date": dt.date,
            "text": str, "bool": StrictBool}


class CaseError(MillesimeError):
    """The case itself is wrong: one line per field at fault."""

    def __init__(self, problems: list[str], where: str = "case"):
        self.problems, self.where = problems, where
        super().__init__(self.render())

    def render(self) -> str:
        what = "cas invalide" if self.where == "case" else f"{self.where} invalide"
        return f"{what} :\n" + "\n".join(f"  - {p}" for p in self.problems)


def case_model(model: Ruleset, extra: str = "forbid", every_optional: bool = False) -> type[pydantic.BaseModel]:
    """The case schema of a ruleset. `extra="ignore"` serves a ruleset consulted through
    `as of`: the case was already checked whole against the ruleset in force. `every_optional`
    checks the fields a partial case gives and lets any be absent (engine/questions.py)."""
    name = f"Case_{model.id}" + ("_partial" if every_optional else "")
    return _group_model(model, "", name, extra, every_optional)


def _group_model(model: Ruleset, prefix: str, class_name: str, extra: str,
                 every_optional: bool = False) -> type[pydantic.BaseModel]:
    fields = {}
    for path, decl in model.inputs.items():
        head, _, name = path.rpartition(".")
        if head != prefix.rstrip("."):
            continue
        python_type = _python_type(model, decl.type, path, class_name, extra, every_optional)
        if every_optional and decl.type.kind != "optional":
            python_type = Optional[python_type]
        constraints = {b.kind: b.value for b in decl.bounds}
        field = Field(
            default=None if decl.type.kind == "optional" or every_optional else ...,
            description=decl.label,
            ge=constraints.get("min"),
            le=constraints.get("max"),
        )
        fields[name] = (python_type, field)
    return create_model(class_name, __config__=ConfigDict(extra=extra, frozen=True), **fields)


def _python_type(model: Ruleset, ref, path: str, class_name: str, extra: str, every_optional: bool = False):
    if ref.kind == "optional":
        return Optional[_python_type(model, ref.args[0], path, class_name, extra, every_optional)]
    if ref.kind == "group":
        return _group_model(model, path + ".", f"{class_name}_{path.replace('.', '_')}", extra, every_optional)
    if ref.kind == "named":
        if ref.name in _SCALARS:
            return _SCALARS[ref.name]
        members = tuple(m.name for m in model.enums[ref.name].members)
        return Literal[members]  # type: ignore[valid-type]
    if ref.kind in ("list", "set"):
        return list[_python_type(model, ref.args[0], path, class_name, extra)]
    if ref.kind == "map":
        return dict[_python_type(model, ref.args[0], path, class_name, extra),
                    _python_type(model, ref.args[1], path, class_name, extra)]
    if ref.kind == "record":
        fields = {name: (_python_type(model, t, path, class_name, extra), ...) for name, t in ref.fields}
        return create_model(f"{class_name}_{path.replace('.', '_')}_record",
                            __config__=ConfigDict(extra=extra, frozen=True), **fields)
    raise TypeError(f"no case type for {ref}")


def validate(model: Ruleset, schema: type[pydantic.BaseModel], raw: object) -> dict:
    """The case as plain Python values (Decimal, date, …), or CaseError naming each bad field."""
    if not isinstance(raw, dict):
        raise CaseError([f"un cas est un objet de champs (physician, contract, …), pas {_kind(raw)}"])
    quick = fastcase.checker(model, schema)
    if quick is not None:
        checked = quick(raw)  # a case in canonical form, without pydantic; None: pydantic decides
        if checked is not None:
            return checked
    try:
        validated = schema.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise CaseError([_problem(model, e) for e in exc.errors(include_url=False)]) from None
    return validated.model_dump()  # plain dicts; Decimal and date stay as they are


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 3, 60, 60, 40
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = _SHOWN.maxfrozenset = 6
SHOWN_MAX = 200  # characters of a value quoted in a message


def shown(value) -> str:
    """A value as a message quotes it (`repr`), cut short: a 5 000-character cell or a
    structure of 10⁹ shared parts makes a line of a message, not megabytes."""
    try:
        text = _SHOWN.repr(value)
    except ValueError:  # an int past the interpreter's digit limit has no decimal text
        text = f"<un nombre de plus de {sys.get_int_max_str_digits()} chiffres>"
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 1] + "…"


def _nested_fields(model: Ruleset, path: str) -> list[str]:
    """The fields of the record at `path` inside an input (`contract.observed.3`: the record a map
    holds for key 3), for a message about an unknown field there."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        decl = model.inputs.get(".".join(parts[:i]))
        if decl is None:
            continue
        t, rest = model.resolve_type(decl.type).base, parts[i:]
        while rest:
            if t.kind in ("map", "list", "set"):
                t, rest = t.args[-1].base, rest[1:]
            elif t.kind == "record":
                t, rest = dict(t.fields).get(rest[0]), rest[1:]
                if t is None:
                    return []
                t = t.base
            else:
                return []
        return [name for name, _ in t.fields] if t.kind == "record" else []
    return []


def _problem(model: Ruleset, error: dict) -> str:
    path = ".".join(str(p) for p in error["loc"])
    given = error.get("input")
    if error["type"] == "extra_forbidden":
        head, _, name = path.rpartition(".")
        siblings = [p.rpartition(".")[2] for p in model.inputs if p.rpartition(".")[0] == head] or \
            _nested_fields(model, head)
        hint = french.suggestion(name, siblings)
        return f"{path}: champ inconnu" + (f" ; {hint}" if hint else
                                           f" ; champs connus ici : {', '.join(siblings)}")
    if error["type"] == "missing":
        decl = model.inputs.get(path)
        label = f" ({decl.label})" if decl else ""
        return f"{path}: champ obligatoire manquant{label}"
    if error["type"] == "literal_error":
        decl = model.inputs.get(path)
        if decl is not None and decl.type.kind == "named" and decl.type.name in model.enums:
            members = [m.name for m in model.enums[decl.type.name].members]
            hint = french.suggestion(given, members) if isinstance(given, str) and len(given) <= 100 else None
            return f"{path}: {_given(shown(given))} n'est pas une valeur possible ({decl.type.name})" + (
                f" ; {hint}" if hint else f" ; valeurs possibles : {', '.join(members)}")
    return f"{path}: {_value_problem(error['msg'])} (reçu : {_given(shown(given))})"


def _kind(value) -> str:
    return {"list": "une liste", "str": "un texte", "int": "un nombre", "Decimal": "un nombre", "bool": "un booléen",
            "NoneType": "null"}.get(type(value).__name__, "une autre valeur")


def _given(text: str) -> str:
    """A value as Python quotes it (repr) → as the case's author wrote it (JSON): null, true, 1.5."""
    text = _plain_decimals(text)
    return {"None": "null", "True": "true", "False": "false"}.get(text, text)


def _plain_decimals(text: str) -> str:
    """`Decimal('0')` (or `decimal('0')`, once pydantic's message is lower-cased) → `0`."""
    return re.sub(r"[Dd]ecimal\('([^']*)'\)", r"\1", text)


# pydantic's messages on a value (lower-cased), and what they say in French
_VALUE_PROBLEMS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"input should be less than or equal to (\S+)"), lambda m: f"doit être inférieur ou égal à {m[1]}"),
    (re.compile(r"input should be less than (\S+)"), lambda m: f"doit être inférieur à {m[1]}"),
    (re.compile(r"input should be greater than or equal to (\S+)"), lambda m: f"doit être supérieur ou égal à {m[1]}"),
    (re.compile(r"input should be greater than (\S+)"), lambda m: f"doit être supérieur à {m[1]}"),
    (re.compile(r"input should be a valid integer, got a number with a fractional part"),
     lambda m: "un nombre entier est attendu, sans décimales"),
    (re.compile(r"input should be a valid integer.*"), lambda m: "un nombre entier est attendu"),
    (re.compile(r"(decimal input should be|input should be a valid (decimal|number)).*"),
     lambda m: "un nombre est attendu (décimales séparées par un point)"),
    (re.compile(r"input should be a valid boolean.*"), lambda m: "oui ou non est attendu (true ou false)"),
    (re.compile(r"une valeur oui/non n'est pas un nombre"), lambda m: m[0]),  # ours (_not_a_boolean)
    (re.compile(r"(input should be a valid date.*|datetimes provided to dates.*)"),
     lambda m: "une date AAAA-MM-JJ est attendue"),
    (re.compile(r"input should be a valid (dictionary|mapping).*"), lambda m: "un objet de champs est attendu"),
    (re.compile(r"input should be a valid list.*"), lambda m: "une liste est attendue"),
    (re.compile(r"input should be a valid string.*"), lambda m: "un texte est attendu"),
]


def _value_problem(message: str) -> str:
    """pydantic's message on a bad value, in French (« valeur invalide » for one not listed)."""
    message = _plain_decimals(message.lower())
    for pattern, text in _VALUE_PROBLEMS:
        found = pattern.fullmatch(message)
        if found:
            return text(found)
    return "valeur invalide"
