"""Reading case and test files (YAML or JSON) without ever producing a float.

Decimals in a file become `Decimal` from their exact text; a syntax error is reported
as `file:line:col`.

A plain YAML number means what its digits show, in base 10 (YAML 1.2's core rules for
decimals): `017` is 17, `1e2` is 100. The forms YAML 1.1 would read in another base —
`0x1F` (31), `0o17`, `0b101` (5), `1:30` (base 60: 90) — are refused, with the field and
the line, rather than read as a number nobody wrote; quoted, they are text. A date that
does not exist (`2023-02-30`), a number past the interpreter's digit limit, a structure
nested past the parser's depth and aliases that expand past MAX_EXPANDED values (a
600-byte "alias bomb" expands to 10⁹) are errors too, never a traceback.
"""
from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import yaml

from dsl.errors import MillesimeError

from . import french


class FileError(MillesimeError):
    pass


MAX_EXPANDED = 100_000  # values a file may hold once its aliases are expanded

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NOT_DECIMAL = "tag:millesime,2024:not-decimal"  # a number YAML 1.1 or 1.2 reads in another base
_KEPT = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge", _TIMESTAMP}
_DIGITS = list("-+0123456789")


class _ExactLoader(yaml.SafeLoader):
    """YAML's safe loader, but `0.15` is Decimal("0.15"), not a float, a number is read in
    base 10 or refused, and only true/false are booleans: YAML 1.1 would read a key `on:`
    (the evaluation date) or `no:` as a boolean."""

    def construct_document(self, node):
        _inspect(self, node)
        return super().construct_document(node)


_ExactLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in _KEPT]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ExactLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_ExactLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+(?:_[0-9]+)*$"), _DIGITS)
_ExactLoader.add_implicit_resolver(_FLOAT, re.compile(r"""^(?:
      [-+]?(?:[0-9]+(?:_[0-9]+)*)?\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9]+(?:_[0-9]+)*\.?(?:[eE][-+]?[0-9]+)?
    | [-+]?\.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN))$""", re.X), _DIGITS + ["."])
_ExactLoader.add_implicit_resolver(_NOT_DECIMAL, re.compile(r"""^(?:
      [-+]?0[xX][0-9a-fA-F_]+
    | [-+]?0[oO][0-7_]+
    | [-+]?0[bB][01_]+
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$""", re.X), _DIGITS)


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    return int(loader.construct_scalar(node).replace("_", ""))  # base 10: `017` is 17


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(loader.construct_scalar(node).replace("_", ""))


_ExactLoader.add_constructor(_INT, _int)
_ExactLoader.add_constructor(_FLOAT, _decimal)


class _Problem(Exception):
    """A value of the file that cannot be read: where, which field, why."""

    def __init__(self, mark, field: str, message: str):
        super().__init__(message)
        self.mark, self.field, self.message = mark, field, message


def _inspect(loader: yaml.SafeLoader, root: yaml.Node) -> None:
    """Before anything is built: the aliases do not expand past MAX_EXPANDED values, and each
    scalar that looks like a number or a date is one (first problem in reading order)."""
    _expansion(root)
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            children = []
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                field = f"{path}.{name}" if path else str(name)
                children += [(key, field), (value, field)]
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed([(item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(node.value)]))
        else:
            _check_scalar(loader, node, path)


def _check_scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode, path: str) -> None:
    text = node.value
    if node.tag == _NOT_DECIMAL:
        raise _Problem(node.start_mark, path, f"« {text} » n'est pas un nombre décimal ({_other_base(text)}) ; "
                                              "écrivez-le en chiffres décimaux, ou entre guillemets si c'est un texte")
    if node.tag == _TIMESTAMP:
        try:
            loader.construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise _Problem(node.start_mark, path, f"{text} n'est pas une date ({french.date_problem(exc)})") from None
    elif node.tag == _INT:
        digits = len(text.lstrip("+-").replace("_", ""))
        if digits > sys.get_int_max_str_digits():
            raise _Problem(node.start_mark, path, f"un nombre de {digits} chiffres ; "
                                                  f"au plus {sys.get_int_max_str_digits()} sont lus")
    elif node.tag == _FLOAT and text.lower().lstrip("+-") in (".inf", ".nan"):
        raise _Problem(node.start_mark, path, f"{text} n'est pas un nombre qu'un cas puisse contenir")


def _other_base(text: str) -> str:
    """What YAML would have made of a number not written in base 10."""
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    digits = digits.replace("_", "")
    if ":" in digits:
        value = Decimal(0)
        for part in digits.split(":"):
            value = value * 60 + Decimal(part)
        return f"YAML 1.1 le lit en base 60, comme {sign * value}"
    base = {"x": 16, "o": 8, "b": 2}[digits[1].lower()]
    version = {16: "YAML", 8: "YAML 1.2", 2: "YAML 1.1"}[base]
    return f"{version} le lit en base {base}, comme {sign * int(digits[2:], base)}"


def _expansion(root: yaml.Node) -> None:
    """The number of values the document holds once each alias is replaced by what it names,
    counted over the distinct nodes (never by expanding them); refused past MAX_EXPANDED, or
    when an alias names a node that contains it."""
    size: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if closing:
            open_.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] > MAX_EXPANDED and size[key] > len(size):
                raise _Problem(node.start_mark, "", f"ses alias portent le fichier au-delà de "
                                                    f"{french.number(MAX_EXPANDED)} valeurs (une « bombe d'alias » "
                                                    "?) ; écrivez les valeurs en entier")
            continue
        if key in size:
            continue
        if key in open_:
            raise _Problem(node.start_mark, "", "un alias désigne une valeur qui le contient (une structure "
                                                "récursive)")
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_data(path: str | Path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileError(f"{path} : ce fichier n'existe pas") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"{path} : fichier illisible ({french.os_problem(exc)})") from None
    if path.suffix.lower() == ".json":
        return _load_json(path, text)
    loader = _ExactLoader(text)
    try:
        return loader.get_single_data()
    except _Problem as exc:
        where = f"{path}:{exc.mark.line + 1}:{exc.mark.column + 1}"
        raise FileError(f"{where}: {exc.field}: {exc.message}" if exc.field else f"{where}: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}:" if mark else f"{path} :"
        raise FileError(f"{where} YAML invalide : {french.yaml_problem(exc.problem or exc.context)}") from None
    except yaml.YAMLError as exc:
        raise FileError(f"{path} : YAML invalide : {exc}") from None
    except RecursionError:
        mark = loader.get_mark()
        raise FileError(f"{path}:{mark.line + 1}:{mark.column + 1}: YAML invalide : imbrication trop profonde") \
            from None
    finally:
        loader.dispose()


def _load_json(path: Path, text: str):
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FileError(f"{path}:{exc.lineno}:{exc.colno}: JSON invalide : {french.json_message(exc.msg)}") from None
    except RecursionError:
        raise FileError(f"{path} : JSON invalide : imbrication trop profonde") from None
    except ValueError:  # an integer past the interpreter's digit limit
        raise FileError(f"{path} : JSON invalide : un nombre de plus de {sys.get_int_max_str_digits()} chiffres") \
            from None
