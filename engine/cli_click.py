"""Click's own messages about the command line (« Missing argument », « No such option », a value
its types refuse), in French.

Click marks these messages for translation with gettext (`_("No such option {name!r}.")`,
`ngettext(...)`, imported into each of its modules) and translates them through the catalogue
of the user's locale. Millésime speaks French whatever the locale, and ships no compiled
catalogue: `install()` gives click's modules a translation whose catalogue is the table below —
click's own message identifiers, so that a message click adds or rewords stays in English rather
than being mistranslated. Only the `millesime` command line installs it (engine/cli.py).
"""
from __future__ import annotations

import gettext
import importlib

# click's message identifiers (click 8.1 to 8.5) → French; the same placeholders, `!r` kept
# where the value is quoted by click itself (a path's kind, « File », click capitalises: left out)
CATALOGUE = {
    "Error: {message}": "erreur : {message}",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "Usage:": "Utilisation :",
    "Missing argument": "argument manquant",
    "Missing option": "option manquante",
    "Missing parameter": "paramètre manquant",
    "Missing {param_type}": "{param_type} manquant",
    "Missing parameter: {param_name}": "paramètre manquant : {param_name}",
    "Missing command.": "commande manquante.",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "No such command {name!r}.": "commande inconnue {name!r}.",
    "No such option {name!r}.": "option inconnue {name!r}.",
    "No such option: {name}": "option inconnue : {name}",
    "Could not open file {filename!r}: {message}": "impossible d'ouvrir le fichier {filename!r} : {message}",
    "Aborted!": "Interrompu.",
    "unknown error": "erreur inconnue",
    "Value must be an iterable.": "la valeur doit être une suite de valeurs.",
    "Option {name!r} does not take a value.": "l'option {name!r} ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "l'argument {name!r} prend {nargs} valeurs.",
    "Invalid start character for option ({option})": "caractère initial invalide pour une option ({option})",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{value!r} is not a valid UUID.": "{value!r} n'est pas un UUID valide.",
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "{name} {filename!r} does not exist.": "{filename!r} n'existe pas.",
    "{name} {filename!r} is a file.": "{filename!r} est un fichier.",
    "{name} {filename!r} is a directory.": "{filename!r} est un dossier.",
    "{name} {filename!r} is not readable.": "{filename!r} n'est pas lisible.",
    "{name} {filename!r} is not writable.": "{filename!r} n'est pas accessible en écriture.",
    "{name} {filename!r} is not executable.": "{filename!r} n'est pas exécutable.",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "Commands": "Commandes",
    "Options": "Options",
    "Positional arguments": "Arguments",
    "default: {default}": "par défaut : {default}",
    "required": "obligatoire",
    "deprecated": "obsolète",
    "env var: {var}": "variable d'environnement : {var}",
}

# (singular, plural) identifiers → French (singular, plural)
PLURALS = {
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire : {possibilities} ?)"),
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("argument en trop ({args})", "arguments en trop ({args})"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("l'option {name!r} demande une valeur.", "l'option {name!r} demande {nargs} valeurs."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} n'est pas {choice}.", "{value!r} n'est pas l'une des valeurs {choices}."),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        ("{value!r} n'est pas une date au format {format} (AAAA-MM-JJ).",
         "{value!r} ne correspond à aucun des formats {formats}."),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("demande {nargs} valeurs, mais 1 a été donnée.", "demande {nargs} valeurs, mais {len} ont été données."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("{len_type} valeurs sont demandées, mais {len_value} a été donnée.",
         "{len_type} valeurs sont demandées, mais {len_value} ont été données."),
}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


class French(gettext.NullTranslations):
    """The catalogue above as a gettext translation; a message it lacks stays as click words it."""

    def gettext(self, message: str) -> str:
        return CATALOGUE.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = PLURALS.get((singular, plural))
        if found is None:
            return singular if n == 1 else plural
        return found[0] if n == 1 else found[1]


def install() -> None:
    """Click's modules translate through `French` (the names `_` and `ngettext` they imported
    from gettext)."""
    french = French()
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = french.gettext
        if hasattr(module, "ngettext"):
            module.ngettext = french.ngettext
