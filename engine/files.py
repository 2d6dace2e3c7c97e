"""Reading case and test files (YAML or JSON) without ever producing a float.

Decimals in a file become `Decimal` from their exact text; a syntax error is reported
as `file:line:col`.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import yaml

from dsl.errors import MillesimeError


class FileError(MillesimeError):
    pass


class _ExactLoader(yaml.SafeLoader):
    """YAML's safe loader, but `0.15` is Decimal("0.15"), not a float, and only true/false are
    booleans: YAML 1.1 would read a key `on:` (the evaluation date) or `no:` as a boolean."""


_ExactLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ExactLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    if text.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        raise yaml.constructor.ConstructorError(None, None, f"{text} is not a number a case can hold",
                                                node.start_mark)
    return Decimal(text)


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def load_data(path: str | Path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"{path}: cannot be read ({exc})") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise FileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return yaml.load(text, Loader=_ExactLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise FileError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise FileError(f"{path}: invalid YAML: {exc}") from None
