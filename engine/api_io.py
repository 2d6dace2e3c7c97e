"""Reading the API's requests: the body as exact JSON, the envelope's fields, the Host header.

Bodies are read as raw bytes (at most `max_body` bytes, 413 beyond) and parsed with
`json.loads(parse_float=Decimal)`: a decimal never goes through a float. Bad input gets a 4xx
with `{"error": "...", "problems": ["field.path: what is wrong"]}` — never a 500; every text
is in French (the simulator page shows it). A body must say it is JSON (`Content-Type:
application/json`, 415 otherwise: a web page cannot then post to a local server without the
browser asking it first), and the `Host` header must be one the server is configured for
(localhost names and `allowed_hosts`, 400 otherwise: a DNS-rebinding page cannot read answers).
A client that leaves in the middle of its upload is no error of ours: dropped, without a log.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from .french import json_message

MAX_BODY = 64 * 1024  # bytes of a request body; a case is a few hundred
MAX_EXPONENT = 60  # |exponent| of a JSON number; 1e999999999 is not a patient count
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")  # the Host headers always accepted
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiError(Exception):
    """A request the API refuses: HTTP status, one-line message, one line per field at fault."""

    def __init__(self, status: int, error: str, problems: list[str] | None = None):
        self.status, self.error, self.problems = status, error, problems or []
        super().__init__(error)

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.error}
        if self.problems:
            body["problems"] = self.problems
        return JSONResponse(body, status_code=self.status)



async def read_json(request: Request, limit: int) -> object:
    """The body as JSON, numbers with a fraction or exponent as exact Decimals."""
    media = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        given = f"« {media} »" if media else "aucun"
        raise ApiError(415, f"type de contenu non pris en charge ({given}) : envoyez le corps en JSON, avec "
                            "l'en-tête Content-Type: application/json")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, too_large(limit))
            chunks.append(chunk)
    except ClientDisconnect:  # the client left mid-upload: nobody to answer, nothing to log
        raise ApiError(400, "requête interrompue par le client") from None
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "corps vide : un objet JSON est attendu")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "le corps n'est pas du texte UTF-8") from None
    try:
        data = json.loads(text, parse_float=_exact_number, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"JSON invalide, ligne {exc.lineno}, colonne {exc.colno} : {json_message(exc.msg)}") from None
    except _BadNumber as exc:
        raise ApiError(422, INVALID, [str(exc)]) from None
    except RecursionError:
        raise ApiError(400, "JSON invalide : imbrication trop profonde") from None
    except ValueError:  # an integer of thousands of digits
        raise ApiError(400, "JSON invalide : nombre entier trop long") from None
    lone = _lone_surrogate(data)
    if lone is not None:
        raise ApiError(400, f"JSON invalide : \\u{ord(lone):04x} est la moitié d'une paire de substitution "
                            "UTF-16, pas un caractère")
    return data


INVALID = "requête invalide"


def too_large(limit: int) -> str:
    return f"corps de la requête trop volumineux : au plus {limit} octets"


def suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" ; vouliez-vous dire « {close[0]} » ?" if close else ""


def http_error_text(request: Request, exc: StarletteHTTPException) -> str:
    if exc.status_code == 404:
        return f"introuvable : {request.url.path}"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"méthode {request.method} non autorisée ici" + (f" (acceptée : {allowed})" if allowed else "")
    return str(exc.detail)


class Gate:
    """Before any route: the Host header (against DNS rebinding), the declared body size, and the
    page's security headers. A plain ASGI middleware: it never reads the body."""

    def __init__(self, app, allowed_hosts=(), max_body: int = MAX_BODY):
        self.app = app
        self.hosts = frozenset(h.lower().rstrip(".") for h in (*LOCAL_HOSTS, *allowed_hosts))
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k: v for k, v in scope["headers"] if k in (b"host", b"content-length")}
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if "*" not in self.hosts and host not in self.hosts:
            named = f"« {host} »" if host else "absent"
            error = ApiError(400, f"hôte non autorisé ({named}) : ce serveur ne répond qu'aux noms pour lesquels il "
                                  "est lancé (localhost, et ceux donnés par millesime serve --allowed-host)")
            return await error.response()(scope, receive, send)
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await ApiError(413, too_large(self.max_body)).response()(scope, receive, send)
        path = scope["path"]
        if path in ("/", "/index.html") or path.startswith("/static/"):
            async def send_with_headers(message):
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *_PAGE_HEADERS]}
                await send(message)
            return await self.app(scope, receive, send_with_headers)
        return await self.app(scope, receive, send)


_PAGE_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"connect-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
]


def host_name(header: str) -> str:
    """The name in a Host header, without port, lower case: `[::1]:8000` → `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    name, _, port = header.rpartition(":")
    if name and port.isdigit() and ":" not in name:
        header = name
    return header.rstrip(".")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(data: object) -> str | None:
    """The first lone surrogate among the keys and strings of `data`, else None. `"\\ud800"` is
    JSON syntax but no character: echoed in a message, it could not be written back as UTF-8
    (a 500, found by tests/fuzz/test_api_fuzz.py). A well-formed pair is one character by now."""
    stack = [data]
    while stack:  # no recursion: the nesting may be as deep as json.loads allows
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class _BadNumber(ValueError):
    pass


def _exact_number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - json only hands over number syntax
        raise _BadNumber(f"{text} : pas un nombre") from None
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise _BadNumber(f"{text} : nombre hors limites")
    return value


def _no_constant(name: str):
    raise _BadNumber(f"{name} : pas un nombre qu'un cas puisse contenir")


def json_kind(value: object) -> str:
    return {dict: "un objet", list: "une liste", str: "un texte", bool: "un booléen", type(None): "null"}.get(
        type(value), "un nombre")


def envelope(data: object, fields: dict[str, bool]) -> dict:
    """Check the envelope: an object with known fields, the required ones present."""
    if not isinstance(data, dict):
        raise ApiError(422, INVALID, [f"le corps est un objet de champs {', '.join(fields)}, "
                                      f"pas {json_kind(data)}"])
    problems = []
    for key in data:
        if key not in fields:
            problems.append(f"{key}: champ inconnu" + (suggest(key, fields) or f" ; champs connus : {', '.join(fields)}"))
    for key, required in fields.items():
        if required and key not in data:
            problems.append(f"{key}: champ obligatoire manquant")
    if problems:
        raise ApiError(422, INVALID, problems)
    return data


def date_field(value: object, field: str) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ApiError(422, INVALID, [f"{field}: une date AAAA-MM-JJ est attendue, pas {json.dumps(value, default=str)}"])


def outputs_field(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise ApiError(422, INVALID, ["outputs: une liste non vide de noms de résultats est attendue"])
    return value



def flag(body: dict, field: str, default: bool) -> bool:
    """A yes/no field of the envelope (`explain`, `official_only`, `partial`); null is no yes/no."""
    if field not in body:
        return default
    value = body[field]
    if isinstance(value, bool):
        return value
    raise ApiError(422, INVALID, [f"{field}: true ou false est attendu, pas {json_kind(value)}"])


def texts(body: dict, field: str) -> list[str]:
    """A list of texts (`assume`: hypothesis files, as text)."""
    if field not in body:
        return []
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(422, INVALID, [f"{field}: une liste de textes est attendue (le contenu de fichiers "
                                      "d'hypothèses)"])
    return value


def output_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(422, INVALID, [f"{field}: un nom de résultat est attendu"])
    return value

