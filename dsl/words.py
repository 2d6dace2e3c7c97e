"""The French words of diagnostics: a kind of declaration named with its article, the agreement
of what is said about it, and counts with their plural. Analysts read the messages in French;
the DSL's keywords, names and types stay as written, in backticks."""
from __future__ import annotations

# kind of declaration → (its noun with the definite article, whether it is feminine)
_KINDS = {
    "rule": ("la règle", True),
    "parameter": ("le paramètre", False),
    "table": ("le barème", False),
    "condition": ("la condition", True),
    "input": ("la donnée", True),
    "requirement": ("l'exigence", True),
    "enum": ("la liste de valeurs", True),
    "output": ("le résultat", False),
    "cell": ("la case", True),
    "reference": ("la référence", True),
}

# a table's dimension (`rows`, `columns`) → (one heading of it, several)
AXIS = {"rows": ("ligne", "lignes"), "columns": ("colonne", "colonnes")}


def the(kind: str, name: str) -> str:
    """`rule`, `aid` → la règle `aid`."""
    return f"{_KINDS[kind][0]} `{name}`" if kind in _KINDS else f"{kind} `{name}`"


def agreed(word: str, kind: str) -> str:
    """A past participle or adjective agreed with a kind: `utilisé`, `rule` → utilisée."""
    return word + "e" if _KINDS.get(kind, ("", False))[1] else word


def it(kind: str) -> str:
    """The object pronoun for a kind: la for a rule, le for a table."""
    return "la" if _KINDS.get(kind, ("", False))[1] else "le"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`2 arguments`, `1 argument`, `0 argument` (French counts 0 and 1 in the singular)."""
    return f"{n} {singular if abs(n) < 2 else plural or singular + 's'}"


def axis(dim_axis: str, n: int = 1) -> str:
    """`rows` → ligne (lignes for several); a dimension's headings are its lines or its columns."""
    one, many = AXIS.get(dim_axis, (dim_axis, dim_axis))
    return one if n < 2 else many
