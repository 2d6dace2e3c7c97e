"""Diagnostics an analyst can act on: `file:line:col: erreur : message`, the line, a caret.

The message, the hint and the severity word are in French (what analysts and editors show);
`as_json()` keeps its field names and the `error` / `warning` severities that tools map."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from .ast import Loc


# The severity as a reader sees it; `as_json()` keeps "error" / "warning" / "info" for tools. An
# "info" is neither a defect nor a risk: what a reader should know (a ruleset the registry added).
SEVERITY_WORDS = {"error": "erreur", "warning": "avertissement", "info": "note"}


@dataclass
class Diagnostic:
    loc: Loc
    message: str
    severity: str = "error"  # error | warning | info
    hint: str | None = None
    code: str = "ruleset"
    source_text: str | None = field(default=None, repr=False, compare=False)  # when not on disk

    def render(self) -> str:
        head = f"{self.loc}: {SEVERITY_WORDS.get(self.severity, self.severity)} : {self.message}"
        lines = [head]
        text = self.source_text if self.source_text is not None else _read(self.loc.file)
        line = source_line(text, self.loc.line) if text is not None else None
        if line is not None:
            lines.append(f"    {line}")
            lines.append("    " + _caret_padding(line, self.loc.column) + "^")
        if self.hint:
            lines.append(f"  = {self.hint}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "file": self.loc.file,
            "line": self.loc.line,
            "column": self.loc.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


# The lines of the last texts rendered, by identity: a file with thousands of diagnostics is
# split once, not once per diagnostic (which made `millesime check` quadratic).
_LINES: dict[int, tuple[str, list[str]]] = {}


def source_line(text: str, number: int) -> str | None:
    """Line `number` (1-based) of `text`, or None when there is no such line."""
    cached = _LINES.get(id(text))
    if cached is None or cached[0] is not text:
        if len(_LINES) >= 8:
            _LINES.pop(next(iter(_LINES)))
        cached = _LINES[id(text)] = (text, text.splitlines())
    lines = cached[1]
    return lines[number - 1].rstrip("\r") if 1 <= number <= len(lines) else None


def _caret_padding(line: str, column: int) -> str:
    # Keep tabs so that the caret lines up under the offending character.
    prefix = line[: max(column - 1, 0)]
    return "".join("\t" if ch == "\t" else " " for ch in prefix)


_FILE_CACHE: dict[str, str | None] = {}


def _read(path: str) -> str | None:
    if path not in _FILE_CACHE:
        try:
            _FILE_CACHE[path] = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            _FILE_CACHE[path] = None
    return _FILE_CACHE[path]


class MillesimeError(Exception):
    """Base of every error the tool reports to a user instead of a traceback."""

    def render(self) -> str:
        return str(self)


@dataclass
class RulesetError(MillesimeError):
    """One or more problems in ruleset files."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self):
        Exception.__init__(self, self.diagnostics)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


def did_you_mean(name: str, candidates) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.7)
    return f"vouliez-vous dire `{matches[0]}` ?" if matches else None
