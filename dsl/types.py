"""The value types of the rules language and how operators combine them.

Money never mixes with a bare number by addition (write `500 €`), a percent never
compares with a count, and a date only moves with the date functions.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Type:
    kind: str  # int decimal money percent bool date text none any reason | enum list set map record optional group
    name: str = ""
    args: tuple["Type", ...] = ()
    fields: tuple[tuple[str, "Type"], ...] = ()

    def __str__(self) -> str:
        if self.kind == "enum":
            return self.name
        if self.kind == "optional":
            return f"optional {self.args[0]}"
        if self.kind in ("list", "set"):
            return f"{self.kind} of {self.args[0]}"
        if self.kind == "map":
            return f"map {self.args[0]} to {self.args[1]}"
        if self.kind == "record":
            return "{" + ", ".join(f"{k}: {v}" for k, v in self.fields) + "}"
        if self.kind == "group":
            return f"group {self.name}"
        return self.kind

    @property
    def base(self) -> "Type":
        """The type without `optional`."""
        return self.args[0] if self.kind == "optional" else self

    def field(self, name: str) -> "Type | None":
        return dict(self.fields).get(name)


INT = Type("int")
DECIMAL = Type("decimal")
MONEY = Type("money")
PERCENT = Type("percent")
BOOL = Type("bool")
DATE = Type("date")
TEXT = Type("text")
NONE = Type("none")
ANY = Type("any")  # `not established`, or a value whose type could not be worked out
# Why a condition failed: which requirement, in words, and the legal text it comes from.
REASON = Type("reason", fields=(("condition", TEXT), ("requirement", TEXT), ("label", TEXT), ("source", TEXT)))

SCALARS = {t.kind: t for t in (INT, DECIMAL, MONEY, PERCENT, BOOL, DATE, TEXT)}
NUMERIC = {"int", "decimal", "money", "percent"}
PLAIN_NUMBERS = {"int", "decimal"}


def optional(t: Type) -> Type:
    if t.kind in ("optional", "none", "any"):
        return t
    return Type("optional", args=(t,))


def list_of(t: Type) -> Type:
    return Type("list", args=(t,))


def set_of(t: Type) -> Type:
    return Type("set", args=(t,))


def record(fields: dict[str, Type]) -> Type:
    return Type("record", fields=tuple(fields.items()))


def assignable(value: Type, target: Type) -> bool:
    """Can a value of type `value` stand where `target` is declared?"""
    if value == target or value.kind == "any" or target.kind == "any":
        return True
    if target.kind == "optional":
        return value.kind == "none" or assignable(value.base, target.args[0])
    if value.kind == "int" and target.kind == "decimal":
        return True
    if value.kind in ("list", "set") and target.kind == value.kind:
        return assignable(value.args[0], target.args[0])
    if value.kind == "record" and target.kind in ("record", "reason"):
        return all(name in dict(value.fields) and assignable(dict(value.fields)[name], t)
                   for name, t in target.fields)
    return False


def unify(a: Type, b: Type) -> Type | None:
    """The type of `if c then a else b`; None when the branches cannot agree."""
    if a == b:
        return a
    if a.kind == "any":
        return b
    if b.kind == "any":
        return a
    if a.kind == "none":
        return optional(b)
    if b.kind == "none":
        return optional(a)
    if a.kind == "optional" or b.kind == "optional":
        inner = unify(a.base, b.base)
        return optional(inner) if inner else None
    if {a.kind, b.kind} == {"int", "decimal"}:
        return DECIMAL
    if a.kind == b.kind and a.kind in ("list", "set"):
        inner = unify(a.args[0], b.args[0])
        return Type(a.kind, args=(inner,)) if inner else None
    if a.kind == b.kind == "record" and dict(a.fields).keys() == dict(b.fields).keys():
        fields = {}
        for name, t in a.fields:
            u = unify(t, dict(b.fields)[name])
            if u is None:
                return None
            fields[name] = u
        return record(fields)
    return None


def arithmetic(op: str, a: Type, b: Type) -> Type | str:
    """The result type of `a op b`, or a message (in French, a diagnostic's) saying why it makes no sense."""
    if a.kind == "any" or b.kind == "any":
        return ANY
    if a.kind == "optional" or b.kind == "optional":
        return f"impossible de calculer `{op}` avec une valeur qui peut manquer (`{a} {op} {b}`) ; " \
               f"testez d'abord sa présence avec `is set`"
    ka, kb = a.kind, b.kind
    if ka not in NUMERIC or kb not in NUMERIC:
        what = "une date" if "date" in (ka, kb) else f"`{a}` et `{b}`"
        hint = " (utilisez years_between, add_years, add_months)" if "date" in (ka, kb) else ""
        return f"impossible de calculer `{op}` avec {what}{hint}"
    if op in "+-":
        if ka == kb:
            return a
        if {ka, kb} == {"int", "decimal"}:
            return DECIMAL
        if "money" in (ka, kb):
            return f"impossible d'additionner un montant et une valeur de type `{b if ka == 'money' else a}` : " \
                   "écrivez un montant en euros, par exemple `500 €`"
        return f"impossible de calculer `{op}` avec `{a}` et `{b}`"
    if op == "*":
        if ka == "money" and kb == "money":
            return "impossible de multiplier un montant par un montant"
        if "money" in (ka, kb):
            return MONEY
        if ka == kb == "percent":
            return PERCENT
        if ka == kb == "int":
            return INT
        return DECIMAL
    # division
    if kb == "money":
        return DECIMAL if ka == "money" else "impossible de diviser un nombre par un montant"
    if ka == "money":
        return MONEY
    return DECIMAL


def comparable(a: Type, b: Type) -> bool:
    a, b = a.base, b.base
    if a.kind in ("any", "none") or b.kind in ("any", "none"):
        return True
    if a.kind in PLAIN_NUMBERS and b.kind in PLAIN_NUMBERS:
        return True
    return a == b


def ordered(t: Type) -> bool:
    return t.base.kind in NUMERIC | {"date", "any"}
