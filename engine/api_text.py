"""The engine's messages, as the HTTP API and the simulator page word them.

The engine writes its messages in French, for analysts at the command line: a case's problems
come out of engine/case.py as the API shows them (`physician.sector: doit être inférieur ou
égal à 2 (reçu : 3)`). A physician using the simulator page reads shorter sentences, without
file positions or hints meant for the author of a ruleset: the API rewords here, at its edge,
what a request can provoke — evaluation errors (engine/expressions.py, engine/interpreter.py)
and hypothesis files that are wrong (dsl/parser.py, engine/unknowns.py, engine/compiler.py).
Each keeps what names the place (line and column, the declaration) and says what is expected.
A message no pattern knows is not shown as is: it becomes a generic French sentence.
"""
from __future__ import annotations

import datetime as dt
import re

from dsl.errors import RulesetError

from . import values as V
from .registry import coverage as _coverage
from .values import EvaluationError

# The « did you mean » hint: dsl.errors.did_you_mean's (`x`) or engine/french.py's (« x »).
_DID_YOU_MEAN = r"vouliez-vous dire (?:`([^`]*)`|« ([^»]*) ») \?"


def _meant(hint: str | None) -> list[str]:
    """The names a hint suggests."""
    return [a or b for a, b in re.findall(_DID_YOU_MEAN, hint or "")]


# ---------------------------------------------------------------- dates and evaluation errors

def no_ruleset(registry, day: dt.date) -> str:
    """No ruleset in force that day: which dates the rulesets cover."""
    return f"aucun texte n'est en vigueur le {V.display(day)} ; les textes couvrent : {coverage(registry)}"


def coverage(registry) -> str:
    return _coverage(registry.timeline())


def _AS_WRITTEN(m: re.Match) -> str:
    """The engine's sentence is the API's."""
    return m[0]

_EVALUATION_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"« (.*) » n'a pas de valeur ici"), lambda m: f"« {m[1]} » n'a pas de valeur pour ce cas"),
    (re.compile(r"« (.*) » n'a pas d'entrée pour (.*)"), _AS_WRITTEN),
    (re.compile(r"le barème « (.*) » ne donne pas de valeur pour (.*) \(la case indique « — »\)"),
     lambda m: f"le barème « {m[1]} » ne donne pas de valeur pour {m[2].replace(' = ', ' ')} (case « — »)"),
    (re.compile(r"le barème « (.*) » n'a pas de (ligne|colonne) pour (\w+) = (.*)"),
     lambda m: f"le barème « {m[1]} » n'a pas de {m[2]} pour {m[3]} {m[4]}"),
    (re.compile(r"division par zéro dans « (.*) »"), _AS_WRITTEN),
    (re.compile(r"« (.*) » ne peut pas être calculé exactement .*"),
     lambda m: f"« {m[1]} » ne peut pas être calculé exactement : un chiffre du cas est hors limites"),
    (re.compile(r"des règles dépendent les unes des autres en boucle : (.*)"), _AS_WRITTEN),
    (re.compile(r"deux exceptions de la règle « (.*) » s'appliquent à la fois : (« .* ») \(.*\) et (« .* ») \(.*\)"),
     lambda m: f"deux exceptions de la règle « {m[1]} » s'appliquent à la fois : {m[2]} et {m[3]}"),
    (re.compile(r"« (.*) » est trop imbriqué pour être calculé"), _AS_WRITTEN),
]


def evaluation_error(exc: EvaluationError, registry=None) -> str:
    """An evaluation that stopped, in French: what could not be computed."""
    m = re.fullmatch(r"(« .* » renvoie au \d{2}/\d{2}/\d{4}, date à laquelle aucun texte n'est en vigueur) ; .*",
                     exc.message, re.S)
    if m:
        return m[1] + (f" ; les textes couvrent : {coverage(registry)}" if registry is not None else "")
    for pattern, french in _EVALUATION_PATTERNS:
        found = pattern.fullmatch(exc.message)
        if found:
            return french(found)
    return "le calcul s'est arrêté sur une règle du texte"


def unknown_outputs(exc: EvaluationError) -> str | None:
    """« résultat inconnu « aide » dans le texte … » with what was meant, or None for another error."""
    if not re.fullmatch(r"résultats? inconnus? .* dans le texte .*", exc.message):
        return None
    suggestions = _meant(exc.hint)
    if suggestions:
        return exc.message + " ; vouliez-vous dire " + ", ".join(f"« {s} »" for s in suggestions) + " ?"
    listed = re.fullmatch(r"résultats : (.*)", exc.hint or "")
    return exc.message + (f" ; résultats : {listed[1]}" if listed else "")


# ---------------------------------------------------------------- hypothesis files

_HYPOTHESIS_PATTERNS: list[tuple[re.Pattern, object]] = [
    # engine/compiler.py and engine/unknowns.py
    (re.compile(r"(.+) est hors des bornes de « (.*) » : sa valeur est (comprise entre \S+ et \S+|au moins \S+|"
                r"au plus \S+)"), _AS_WRITTEN),
    (re.compile(r"« (.*) » est établi dans le texte (.*) \((.*)\)"),
     lambda m: f"{m[0]} : une hypothèse ne fixe que ce que les textes laissent ouvert"),
    (re.compile(r"« (.*) » ne désigne rien que les textes laissent ouvert"), _AS_WRITTEN),
    (re.compile(r"aucun texte « (.*) »"), _AS_WRITTEN),
    (re.compile(r"« (.*) » fait l'objet de deux hypothèses \(l'autre en (.*)\)"), _AS_WRITTEN),
    (re.compile(r"« (.*) » a plusieurs lectures : choisissez-en une avec « reading NOM »"), _AS_WRITTEN),
    (re.compile(r"« (.*) » n'a pas de lecture « (.*) »"), _AS_WRITTEN),
    (re.compile(r"« (.*) » n'a pas de lectures : fixez sa valeur avec « = VALEUR »"), _AS_WRITTEN),
    (re.compile(r"« (.*) » est un pourcentage ici : écrivez « (.*) »"), _AS_WRITTEN),
    (re.compile(r"« (.*) » est de type (.*), « (.*) » de type (.*)"), _AS_WRITTEN),
    (re.compile(r"« (.*) » n'est pas une valeur que « (.*) » peut prendre"), _AS_WRITTEN),
    # dsl/parser.py's syntax errors (in French)
    (re.compile(r"le fichier s'arrête trop tôt"), lambda m: "le texte s'arrête trop tôt"),
    (re.compile(r"(caractère inattendu .*|élément inattendu : .*|un texte entre guillemets doit être fermé sur la "
                r"même ligne)"), lambda m: m[1]),
    (re.compile(r"le fichier n'est pas en UTF-8 valide.*"), lambda m: "le texte n'est pas de l'UTF-8 valide"),
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
        hint = _meant(d.hint)
        if hint:
            text += f" ; vouliez-vous dire « {hint[0]} » ?"
        out.append(f"{where}: ligne {d.loc.line}, colonne {d.loc.column} : {text}")
    return out
