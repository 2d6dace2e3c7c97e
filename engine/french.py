"""The French wording the engine's messages share: every text a user reads is in French.

Suggestions (« vouliez-vous dire … ? »), lists (« a, b et c »), numbers and dates as a French
reader writes them, and the messages of the libraries a file goes through (json, PyYAML, csv,
the operating system) when they reach a user: the most common ones are put in French, the
others are quoted as the library words them.
"""
from __future__ import annotations

import datetime as dt
import difflib
import errno
import re


def suggestion(name: str, candidates) -> str | None:
    """« vouliez-vous dire « x » ? » for the closest candidate, or None (as dsl.errors.did_you_mean)."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.7)
    return f"vouliez-vous dire « {matches[0]} » ?" if matches else None


def listed(items, last: str = "et") -> str:
    """`a`, `a et b`, `a, b et c` (`last="ou"`: a, b ou c)."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} {items[-1]}"


def quoted(names) -> str:
    """« a », « b » — names as the messages quote them."""
    return ", ".join(f"« {n} »" for n in names)


def number(n: int) -> str:
    """12 345: thousands apart by a narrow no-break space, as values.display writes them."""
    return f"{n:,}".replace(",", "\u202f")


def date(day: dt.date) -> str:
    """22/06/2024 (the year in four digits, even before 1000)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def kind(value) -> str:
    """What a value is, with its article: « une liste », « un texte », « un nombre »…"""
    if value is None:
        return "rien"
    if isinstance(value, bool):
        return "un booléen"
    if isinstance(value, dict):
        return "un objet"
    if isinstance(value, (list, tuple)):
        return "une liste"
    if isinstance(value, str):
        return "un texte"
    if isinstance(value, dt.date):
        return "une date"
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return "un nombre"
    return "une autre valeur"


# ---------------------------------------------------------------- the libraries' messages

JSON_MESSAGES = {  # json.JSONDecodeError's messages
    "Expecting value": "une valeur est attendue",
    "Expecting property name enclosed in double quotes": "un nom de champ entre guillemets est attendu",
    "Expecting ',' delimiter": "une virgule est attendue",
    "Expecting ':' delimiter": "un deux-points (:) est attendu",
    "Unterminated string starting at": "texte non terminé",
    "Invalid control character at": "caractère de contrôle interdit dans un texte",
    "Invalid \\escape": "séquence d'échappement invalide",
    "Invalid \\uXXXX escape": "séquence \\uXXXX invalide",
    "Extra data": "données en trop après l'objet JSON",
    "Illegal trailing comma before end of object": "virgule en trop avant la fin de l'objet",
    "Illegal trailing comma before end of array": "virgule en trop avant la fin de la liste",
}


def json_message(msg: str) -> str:
    return JSON_MESSAGES.get(msg, msg)


def _token(text: str) -> str:
    """A token as PyYAML quotes it ('<stream end>', ']') → as a French reader would say it."""
    named = {"'<stream end>'": "la fin du fichier", "'<block end>'": "la fin du bloc",
             "'<document start>'": "un début de document", "'<block mapping start>'": "un nouvel objet",
             "'<block sequence start>'": "une nouvelle liste", "'?'": "une clé"}
    return named.get(text, f"« {text[1:-1]} »" if len(text) >= 2 and text[0] == text[-1] == "'" else text)


_YAML_PROBLEMS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"expected ',' or '([}\]])', but got (.*)"),
     lambda m: f"il manque « , » ou « {m[1]} » avant {_token(m[2])}"),
    (re.compile(r"expected <block end>, but found (.*)"),
     lambda m: f"élément inattendu : {_token(m[1])} (une indentation décalée ?)"),
    (re.compile(r"expected '<document start>', but found (.*)"),
     lambda m: f"élément en trop après la fin du document : {_token(m[1])}"),
    (re.compile(r"expected the node content, but found (.*)"),
     lambda m: f"une valeur est attendue avant {_token(m[1])}"),
    (re.compile(r"mapping values are not allowed here"),
     lambda m: "« : » n'est pas permis ici (une valeur contenant « : » s'écrit entre guillemets)"),
    (re.compile(r"could not find expected ':'"), lambda m: "« : » attendu"),
    (re.compile(r"found character (.*) that cannot start any token"),
     lambda m: f"le caractère {_token(m[1])} ne peut pas commencer une valeur"
               + (" (une tabulation n'indente pas en YAML : utilisez des espaces)" if m[1] == "'\\t'" else "")),
    (re.compile(r"found undefined alias (.*)"), lambda m: f"alias non défini {_token(m[1])}"),
    (re.compile(r"found unknown escape character (.*)"),
     lambda m: f"caractère d'échappement inconnu {_token(m[1])}"),
    (re.compile(r"found unexpected end of stream"), lambda m: "fin du fichier inattendue (un guillemet non fermé ?)"),
    (re.compile(r"but found another document"),
     lambda m: "un seul document est attendu, le fichier en contient un autre"),
    (re.compile(r"found unhashable key"), lambda m: "une liste ou un objet ne peut pas être une clé"),
    (re.compile(r"second occurrence"), lambda m: "la même ancre est déclarée deux fois"),
    (re.compile(r"could not determine a constructor for the tag (.*)"), lambda m: f"étiquette inconnue {_token(m[1])}"),
]


def yaml_problem(text: str) -> str:
    """A PyYAML problem in French when it is a common one, else as PyYAML words it."""
    for pattern, french in _YAML_PROBLEMS:
        found = pattern.fullmatch(text)
        if found:
            return french(found)
    return text


def _reworded(text: str, table: tuple) -> str | None:
    """The French of the first library message in `table` (words it contains, French) that `text`
    holds; None when it holds none."""
    return next((french for words, french in table if words in text), None)


_DATE_PROBLEMS = (("day is out of range for month", "ce jour n'existe pas dans ce mois"),
                  ("month must be in 1..12", "le mois doit être compris entre 1 et 12"),
                  ("out of range", "date hors limites"))


def date_problem(exc: Exception) -> str:
    """Why datetime refuses a date (2023-02-30), in French."""
    text = str(exc)
    return _reworded(text, _DATE_PROBLEMS) or ("date hors limites" if isinstance(exc, OverflowError) else text)


_OS_ERRORS = {errno.EISDIR: "c'est un dossier", errno.EACCES: "permission refusée", errno.EPERM: "permission refusée",
              errno.ENOTDIR: "un élément du chemin n'est pas un dossier", errno.ELOOP: "trop de liens symboliques",
              errno.ENAMETOOLONG: "nom trop long", errno.ENOSPC: "plus de place sur le disque",
              errno.ENOENT: "il n'existe pas", errno.EROFS: "système de fichiers en lecture seule",
              errno.EDQUOT: "quota de disque dépassé"}


def os_problem(exc: BaseException) -> str:
    """Why a file cannot be read, in French."""
    if isinstance(exc, UnicodeDecodeError):
        return f"ce n'est pas du texte UTF-8 (octet {exc.object[exc.start]:#04x} à la position {exc.start})"
    if isinstance(exc, OSError):
        return _OS_ERRORS.get(exc.errno, exc.strerror or str(exc))
    return str(exc)


_CSV_PROBLEMS = (("field larger than field limit", "une cellule est trop longue"),
                 ("NUL", "la ligne contient un caractère NUL"),
                 ("new-line character seen in unquoted field", "un retour à la ligne hors guillemets dans une cellule"),
                 ("unexpected end of data", "fin du fichier inattendue (un guillemet non fermé ?)"))


def csv_problem(exc: Exception) -> str:
    """A csv.Error in French when it is a common one."""
    text = str(exc)
    return _reworded(text, _CSV_PROBLEMS) or text
