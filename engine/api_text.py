"""The engine's messages, in French, for the HTTP API and the simulator page.

The engine and the CLI speak English to analysts (`millesime eval` says « physician.sector:
input should be less than or equal to 2 (got 3) »); a physician using the simulator page reads
French. The API translates here, at its edge, what a request can provoke: case validation
problems (engine/case.py, pydantic's messages), evaluation errors (engine/expressions.py,
engine/interpreter.py), hypothesis files that are wrong (dsl/parser.py, engine/unknowns.py,
engine/compiler.py). Each translation keeps what names the place (field path, line and
column, the declaration) and says what is expected. A message no pattern knows is not
shown in English: it becomes a generic French sentence (tests list the messages a case can
provoke, tests/test_api_text.py).
"""
from __future__ import annotations

import datetime as dt
import re

from dsl.errors import RulesetError

from . import values as V
from .values import EvaluationError

# ---------------------------------------------------------------- case validation


def _given(text: str) -> str:
    """A value as pydantic quotes it (Python repr) → as the client wrote it (JSON)."""
    text = _plain_decimals(text)
    return {"None": "null", "True": "true", "False": "false"}.get(text, text)


def _plain_decimals(text: str) -> str:
    """`Decimal('0')` (or `decimal('0')`, once pydantic's message is lower-cased) → `0`."""
    return re.sub(r"[Dd]ecimal\('([^']*)'\)", r"\1", text)


# dsl.errors.did_you_mean's hint (French since the DSL's diagnostics are), or the English one.
_DID_YOU_MEAN = r"(?:did you mean|vouliez-vous dire) `([^`]*)` ?\?"


def _suggestion(rest: str) -> str:
    """`; did you mean `x`?` (or dsl's `vouliez-vous dire `x` ?`) → ` ; vouliez-vous dire « x » ?`"""
    m = re.fullmatch(_DID_YOU_MEAN, rest[2:]) if rest.startswith("; ") else None
    return f" ; vouliez-vous dire « {m.group(1)} » ?" if m else ""


_VALUE_PATTERNS: list[tuple[re.Pattern, object]] = [
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
    (re.compile(r"a yes/no value is not a number"), lambda m: "une valeur oui/non n'est pas un nombre"),
    (re.compile(r"(input should be a valid date.*|datetimes provided to dates.*)"),
     lambda m: "une date AAAA-MM-JJ est attendue"),
    (re.compile(r"input should be a valid (dictionary|mapping).*"), lambda m: "un objet de champs est attendu"),
    (re.compile(r"input should be a valid list.*"), lambda m: "une liste est attendue"),
    (re.compile(r"input should be a valid string.*"), lambda m: "un texte est attendu"),
]


def problem(text: str) -> str:
    """One problem of engine/case.py (`path: message`), in French; the path is kept as is."""
    if text.startswith("a case is a mapping of fields"):
        kind = text.rsplit(" ", 1)[-1]
        shown = {"list": "une liste", "str": "un texte", "int": "un nombre", "Decimal": "un nombre",
                 "bool": "un booléen", "NoneType": "null"}.get(kind, "une autre valeur")
        return f"un cas est un objet de champs (physician, contract, …), pas {shown}"
    path, sep, message = text.partition(": ")
    if not sep:
        return "valeur invalide"
    return f"{path}: {_message(message)}"


def _message(message: str) -> str:
    m = re.fullmatch(r"unknown field(;.*)?", message)
    if m:
        rest = m.group(1) or ""
        if rest.startswith("; known fields here: "):
            return "champ inconnu ; champs connus ici : " + rest[len("; known fields here: "):]
        return "champ inconnu" + _suggestion(rest)
    m = re.fullmatch(r"required field missing( \((.*)\))?", message)
    if m:
        return "champ obligatoire manquant" + (f" ({m.group(2)})" if m.group(2) else "")
    m = re.fullmatch(r"(.*) is not a known (\w+)(;.*)", message, re.S)
    if m:
        value, enum, rest = _given(m.group(1)), m.group(2), m.group(3)
        if rest.startswith("; expected one of: "):
            tail = " ; valeurs possibles : " + rest[len("; expected one of: "):]
        else:
            tail = _suggestion(rest)
        return f"{value} n'est pas une valeur possible ({enum}){tail}"
    got = ""
    m = re.fullmatch(r"(.*) \(got (.*)\)", message, re.S)
    if m:
        message, got = m.group(1), f" (reçu : {_given(m.group(2))})"
    message = _plain_decimals(message)
    for pattern, french in _VALUE_PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return french(found) + got
    return "valeur invalide" + got


# ---------------------------------------------------------------- dates and evaluation errors

def no_ruleset(registry, day: dt.date) -> str:
    """No ruleset in force that day: which dates the rulesets cover."""
    return f"aucun texte n'est en vigueur le {V.display(day)} ; les textes couvrent : {coverage(registry)}"


def coverage(registry) -> str:
    return ", ".join(f"{m.id} (du {V.display(m.effective_from)}"
                     + (f" au {V.display(m.effective_until)})" if m.effective_until else ", sans date de fin)")
                     for m in registry.timeline())


_EVALUATION_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"`(.*)` has no value here(.*)"), lambda m: f"« {m[1]} » n'a pas de valeur pour ce cas"),
    (re.compile(r"`(.*)` has no entry for (.*)"), lambda m: f"« {m[1]} » n'a pas d'entrée pour {m[2]}"),
    (re.compile(r"table `(.*)` gives no value for (.*) \(the cell reads `—`\)"),
     lambda m: f"le barème « {m[1]} » ne donne pas de valeur pour {m[2].replace(' = ', ' ')} (case « — »)"),
    (re.compile(r"table `(.*)` has no (row|column) for (\w+) = (.*)"),
     lambda m: f"le barème « {m[1]} » n'a pas de {'ligne' if m[2] == 'row' else 'colonne'} pour {m[3]} {m[4]}"),
    (re.compile(r"division by zero in `(.*)`"), lambda m: f"division par zéro dans « {m[1]} »"),
    (re.compile(r"`(.*)` cannot be computed exactly .*"),
     lambda m: f"« {m[1]} » ne peut pas être calculé exactement : un chiffre du cas est hors limites"),
    (re.compile(r"rules depend on each other in a cycle: (.*)"),
     lambda m: f"des règles dépendent les unes des autres en boucle : {m[1]}"),
    (re.compile(r"two exceptions of rule `(.*)` apply at once: (« .* ») \(.*\) and (« .* ») \(.*\)"),
     lambda m: f"deux exceptions de la règle « {m[1]} » s'appliquent à la fois : {m[2]} et {m[3]}"),
    (re.compile(r"`(.*)` nests too deeply to compute"), lambda m: f"« {m[1]} » est trop imbriqué pour être calculé"),
]


def evaluation_error(exc: EvaluationError, registry=None) -> str:
    """An evaluation that stopped, in French: what could not be computed."""
    m = re.fullmatch(r"`(.*)` looks at (\d{4}-\d{2}-\d{2}), but .*", exc.message, re.S)
    if m:
        day = dt.date.fromisoformat(m[2])
        text = f"« {m[1]} » renvoie au {V.display(day)}, date à laquelle aucun texte n'est en vigueur"
        return text + (f" ; les textes couvrent : {coverage(registry)}" if registry is not None else "")
    for pattern, french in _EVALUATION_PATTERNS:
        found = pattern.fullmatch(exc.message)
        if found:
            return french(found)
    return "le calcul s'est arrêté sur une règle du texte"


def unknown_outputs(exc: EvaluationError) -> str | None:
    """`unknown output `aide`` → « résultat inconnu « aide » … », or None for another error."""
    m = re.fullmatch(r"unknown output (.*) in ruleset `(.*)`", exc.message)
    if not m:
        return None
    names = re.findall(r"`([^`]*)`", m[1])
    text = ("résultat inconnu " if len(names) == 1 else "résultats inconnus ") + ", ".join(f"« {n} »" for n in names)
    text += f" dans le texte {m[2]}"
    suggestions = re.findall(_DID_YOU_MEAN, exc.hint or "")
    if suggestions:
        return text + " ; vouliez-vous dire " + ", ".join(f"« {s} »" for s in suggestions) + " ?"
    listed = re.fullmatch(r"outputs are (.*)", exc.hint or "")
    return text + (f" ; résultats : {listed[1]}" if listed else "")


# ---------------------------------------------------------------- hypothesis files

_HYPOTHESIS_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"(.+) is outside the bounds of `(.*)`: it lies between (\S+) and (\S+)"),
     lambda m: f"{m[1]} est hors des bornes de « {m[2]} » : sa valeur est comprise entre {m[3]} et {m[4]}"),
    (re.compile(r"(.+) is outside the bounds of `(.*)`: it lies at least (\S+)"),
     lambda m: f"{m[1]} est hors des bornes de « {m[2]} » : sa valeur est au moins {m[3]}"),
    (re.compile(r"(.+) is outside the bounds of `(.*)`: it lies at most (\S+)"),
     lambda m: f"{m[1]} est hors des bornes de « {m[2]} » : sa valeur est au plus {m[3]}"),
    (re.compile(r"`(.*)` is established in `(.*)` \((.*)\)"),
     lambda m: f"« {m[1]} » est établi dans le texte {m[2]} ({m[3]}) : une hypothèse ne fixe que ce que les "
               "textes laissent ouvert"),
    (re.compile(r"`(.*)` names nothing the rulesets leave open"),
     lambda m: f"« {m[1]} » ne désigne rien que les textes laissent ouvert"),
    (re.compile(r"no ruleset `(.*)`"), lambda m: f"aucun texte « {m[1]} »"),
    (re.compile(r"`(.*)` is assumed twice \(also at (.*)\)"),
     lambda m: f"« {m[1]} » fait l'objet de deux hypothèses (l'autre en {m[2]})"),
    (re.compile(r"`(.*)` has readings: pick one with `reading NAME`"),
     lambda m: f"« {m[1]} » a plusieurs lectures : choisissez-en une avec « reading NOM »"),
    (re.compile(r"`(.*)` has no reading `(.*)`"), lambda m: f"« {m[1]} » n'a pas de lecture « {m[2]} »"),
    (re.compile(r"`(.*)` has no readings: fix its value with `= VALUE`"),
     lambda m: f"« {m[1]} » n'a pas de lectures : fixez sa valeur avec « = VALEUR »"),
    (re.compile(r"`(.*)` is a percent here: write `(.*)`"),
     lambda m: f"« {m[1]} » est un pourcentage ici : écrivez « {m[2]} »"),
    (re.compile(r"`(.*)` is (.*), `(.*)` is (.*)"),
     lambda m: f"« {m[1]} » est de type {m[2]}, « {m[3]} » de type {m[4]}"),
    (re.compile(r"`(.*)` is not a value `(.*)` can take"),
     lambda m: f"« {m[1]} » n'est pas une valeur que « {m[2]} » peut prendre"),
    (re.compile(r"the file ends too early|le fichier s'arrête trop tôt"), lambda m: "le texte s'arrête trop tôt"),
    # dsl/parser.py's syntax errors, already in French
    (re.compile(r"(caractère inattendu .*|élément inattendu : .*|un texte entre guillemets doit être fermé sur la "
                r"même ligne)"), lambda m: m[1]),
    (re.compile(r"le fichier n'est pas en UTF-8 valide.*"), lambda m: "le texte n'est pas de l'UTF-8 valide"),
    (re.compile(r"unexpected character (.*)"), lambda m: f"caractère inattendu {m[1]}"),
    (re.compile(r"unexpected (.*)"), lambda m: f"élément inattendu : {m[1]}"),
    (re.compile(r"a text in double quotes must be closed on the same line"),
     lambda m: "un texte entre guillemets doit être fermé sur la même ligne"),
    (re.compile(r"the file is not valid UTF-8.*"), lambda m: "le texte n'est pas de l'UTF-8 valide"),
]


def hypothesis_problems(exc: RulesetError) -> list[str]:
    """Each diagnostic of wrong hypotheses as `assume[i]: ligne L, colonne C : message`, i counted
    from 0 in the order of the request's `assume` list (load_assumptions names them
    `<hypothèses i+1>`)."""
    out = []
    for d in exc.diagnostics:
        m = re.fullmatch(r"<hypothèses (\d+)>", d.loc.file or "")
        where = f"assume[{int(m[1]) - 1}]" if m else "assume"
        text = "hypothèse invalide"
        for pattern, french in _HYPOTHESIS_PATTERNS:
            found = pattern.fullmatch(d.message)
            if found:
                text = french(found)
                break
        hint = re.search(_DID_YOU_MEAN, d.hint or "")
        if hint:
            text += f" ; vouliez-vous dire « {hint[1]} » ?"
        out.append(f"{where}: ligne {d.loc.line}, colonne {d.loc.column} : {text}")
    return out
