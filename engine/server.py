"""`millesime serve`: the engine over HTTP, and the simulator page that uses it.

    POST /evaluate        a case and a date → the JSON of `millesime eval --json`
    POST /options         a physician without contract → every option, amounts by year, targets,
                          each figure with its own explanation ("pourquoi ?")
    GET  /rulesets        the timeline of rulesets
    GET  /rulesets/{id}   one ruleset: its inputs (with French labels), enums, outputs, references
    GET  /                the simulator page (engine/web/), in French
    GET  /openapi.json    the API's OpenAPI description

Bodies are read as raw bytes (at most `max_body` bytes, 413 beyond) and parsed with
`json.loads(parse_float=Decimal)`: a decimal never goes through a float. Bad input gets a 4xx
with `{"error": "...", "problems": ["field.path: what is wrong"]}` — never a 500; `error` is in
French (the simulator page shows it). A body must say it is JSON (`Content-Type:
application/json`, 415 otherwise: a web page cannot then post to a local server without the
browser asking it first), and the `Host` header must be one the server is configured for
(localhost names and `allowed_hosts`, 400 otherwise: a DNS-rebinding page cannot read answers).
A client that leaves in the middle of its upload is no error of ours: dropped, without a log.
How the server is run (timeouts, connection limit, workers, logs) is engine/serving.py's.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import re
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from dsl import types as T
from dsl.errors import MillesimeError

from . import explain, values as V
from .case import CaseError
from .interpreter import Result, evaluate
from .registry import NoRulesetError, Registry
from .values import EvaluationError

_MONEY = T.MONEY
MAX_BODY = 64 * 1024  # bytes of a request body; a case is a few hundred
MAX_EXPONENT = 60  # |exponent| of a JSON number; 1e999999999 is not a patient count
OPTIONS_OUTPUTS = ["eligible", "ineligibility_reasons", "options"]
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")  # the Host headers always accepted

log = logging.getLogger("millesime.server")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def web_dir() -> Path:
    """The static page (index.html, app.js, style.css), packaged with the engine."""
    return Path(str(resources.files("engine"))) / "web"


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


# ---------------------------------------------------------------- request bodies (OpenAPI only)
# The bodies are parsed by hand (exact decimals); these models only describe them.

class EvaluateRequest(BaseModel):
    case: dict[str, Any] = Field(description="The case, as in a case file: physician, contract, …")
    on: Optional[dt.date] = Field(None, description="Effective date (YYYY-MM-DD); today when left out.")
    outputs: Optional[list[str]] = Field(None, description="Compute only these outputs (all when left out).")


class OptionsRequest(BaseModel):
    physician: dict[str, Any] = Field(description="The physician's fields (specialty, sector, optam, "
                                                  "patients_mt, file_active, percentile, …).")
    on: Optional[dt.date] = Field(None, description="Date of signature considered (YYYY-MM-DD); today when left out.")


class ErrorBody(BaseModel):
    error: str
    problems: Optional[list[str]] = None


def _body_doc(model: type[BaseModel], example: dict) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(), "example": example}}}}


_ERRORS = {400: {"model": ErrorBody, "description": "Not a JSON object, or a Host the server does not serve"},
           413: {"model": ErrorBody, "description": "Body too large"},
           415: {"model": ErrorBody, "description": "The body is not declared as JSON (Content-Type)"},
           422: {"model": ErrorBody, "description": "A field is wrong, or no ruleset is in force on that date"}}

_EXAMPLE_PHYSICIAN = {"specialty": "medecine_generale", "sector": 1, "optam": False,
                      "patients_mt": 900, "file_active": 1500}


# ---------------------------------------------------------------- the app

def create_app(registry: Registry | None = None, max_body: int = MAX_BODY,
               allowed_hosts: tuple[str, ...] | list[str] = ()) -> FastAPI:
    """The HTTP API and the simulator page over `registry` (the shipped agreements by default).
    `allowed_hosts`: the names, besides localhost's, that a request's Host header may give
    (`*`: any — only behind a proxy that checks it)."""
    if registry is None:
        from . import shipped_registry
        registry = shipped_registry()

    app = FastAPI(
        title="Millésime",
        version="0.1.0",
        description="Aide à l'emploi d'un assistant médical : évaluation datée, options et explications, "
                    "figure par figure, avec leurs sources juridiques.",
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN: the spec is at /openapi.json
    )
    app.state.registry = registry
    app.state.max_body = max_body

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        # keep the exception's headers: a 405 must say which methods are allowed (`Allow`, RFC 9110)
        return JSONResponse({"error": _http_error_text(request, exc)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, not bad input
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "erreur interne : le serveur n'a pas pu traiter cette requête"},
                            status_code=500)

    app.add_middleware(_Gate, allowed_hosts=allowed_hosts, max_body=max_body)

    @app.post("/evaluate", responses=_ERRORS, summary="Evaluate a case on a date",
              openapi_extra=_body_doc(EvaluateRequest, {"case": {"physician": {
                  **_EXAMPLE_PHYSICIAN, "priority_zone": False}, "contract": None}, "on": "2024-07-01"}))
    async def evaluate_endpoint(request: Request) -> dict:
        """The same JSON as `millesime eval --json`: the ruleset in force, every output, the explanation."""
        body = _object(await read_json(request, max_body), {"case": True, "on": False, "outputs": False})
        case = body["case"]
        if not isinstance(case, dict):
            raise ApiError(422, INVALID, [f"case: un cas est un objet (physician, contract, …), "
                                          f"pas {_json_kind(case)}"])
        on = _date(body.get("on"), "on")
        outputs = _outputs(body.get("outputs"))
        result = await run_in_threadpool(_evaluate, registry, case, on, outputs, "case")
        return result.to_json()

    @app.post("/options", responses=_ERRORS, summary="What each option would bring a physician without contract",
              openapi_extra=_body_doc(OptionsRequest, {"physician": _EXAMPLE_PHYSICIAN, "on": "2024-07-01"}))
    async def options_endpoint(request: Request) -> dict:
        """Eligibility with its reasons, and every option open that day: maximum aid for contract years 1 to 5,
        patients to add; each figure with its explanation and legal sources."""
        body = _object(await read_json(request, max_body), {"physician": True, "on": False})
        physician = body["physician"]
        if not isinstance(physician, dict):
            raise ApiError(422, INVALID, [f"physician: un objet de champs est attendu, "
                                          f"pas {_json_kind(physician)}"])
        on = _date(body.get("on"), "on")
        result = await run_in_threadpool(_evaluate, registry, {"physician": physician}, on, OPTIONS_OUTPUTS, "")
        return options_json(result)

    @app.get("/rulesets", summary="The timeline of rulesets")
    async def rulesets_endpoint() -> list[dict]:
        return [_ruleset_row(m) for m in registry.timeline()]

    @app.get("/rulesets/{ruleset_id}", responses={404: {"model": ErrorBody}}, summary="One ruleset")
    async def ruleset_endpoint(ruleset_id: str) -> dict:
        """Its dates and description, the inputs a case gives (types, bounds, French labels),
        its enums with their French labels, its outputs and legal references."""
        if ruleset_id not in registry.entries:
            raise ApiError(404, f"aucun texte « {ruleset_id} »" + _suggest(ruleset_id, registry.entries))
        return ruleset_detail(registry.entries[ruleset_id].model)

    web = web_dir()

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(web / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=web), name="static")
    return app


# ---------------------------------------------------------------- reading requests

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
                raise ApiError(413, _too_large(limit))
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
        raise ApiError(400, f"JSON invalide, ligne {exc.lineno}, colonne {exc.colno} : {_json_message(exc.msg)}") from None
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
_JSON_MESSAGES = {  # json.JSONDecodeError's messages, in French
    "Expecting value": "une valeur est attendue",
    "Expecting property name enclosed in double quotes": "un nom de champ entre guillemets est attendu",
    "Expecting ',' delimiter": "une virgule est attendue",
    "Expecting ':' delimiter": "deux-points (:) sont attendus",
    "Unterminated string starting at": "texte non terminé",
    "Invalid control character at": "caractère de contrôle interdit dans un texte",
    "Invalid \\escape": "séquence d'échappement invalide",
    "Invalid \\uXXXX escape": "séquence \\uXXXX invalide",
    "Extra data": "données en trop après l'objet JSON",
    "Illegal trailing comma before end of object": "virgule en trop avant la fin de l'objet",
    "Illegal trailing comma before end of array": "virgule en trop avant la fin de la liste",
}


def _json_message(msg: str) -> str:
    return _JSON_MESSAGES.get(msg, msg)


def _too_large(limit: int) -> str:
    return f"corps de la requête trop volumineux : au plus {limit} octets"


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" ; vouliez-vous dire « {close[0]} » ?" if close else ""


def _http_error_text(request: Request, exc: StarletteHTTPException) -> str:
    if exc.status_code == 404:
        return f"introuvable : {request.url.path}"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"méthode {request.method} non autorisée ici" + (f" (acceptée : {allowed})" if allowed else "")
    return str(exc.detail)


class _Gate:
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
            return await ApiError(413, _too_large(self.max_body)).response()(scope, receive, send)
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


def _json_kind(value: object) -> str:
    return {dict: "un objet", list: "une liste", str: "un texte", bool: "un booléen", type(None): "null"}.get(
        type(value), "un nombre")


def _object(data: object, fields: dict[str, bool]) -> dict:
    """Check the envelope: an object with known fields, the required ones present."""
    if not isinstance(data, dict):
        raise ApiError(422, INVALID, [f"le corps est un objet de champs {', '.join(fields)}, "
                                      f"pas {_json_kind(data)}"])
    problems = []
    for key in data:
        if key not in fields:
            problems.append(f"{key}: champ inconnu" + (_suggest(key, fields) or f" ; champs connus : {', '.join(fields)}"))
    for key, required in fields.items():
        if required and key not in data:
            problems.append(f"{key}: champ obligatoire manquant")
    if problems:
        raise ApiError(422, INVALID, problems)
    return data


def _date(value: object, field: str) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ApiError(422, INVALID, [f"{field}: une date AAAA-MM-JJ est attendue, pas {json.dumps(value, default=str)}"])


def _outputs(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise ApiError(422, INVALID, ["outputs: une liste non vide de noms de résultats est attendue"])
    return value


def _evaluate(registry: Registry, case: dict, on: dt.date, outputs: list[str] | None, where: str) -> Result:
    """The engine's evaluation, its refusals turned into 422s naming the field at fault."""
    prefix = f"{where}." if where else ""
    try:
        return evaluate(case, on, registry, outputs)
    except CaseError as exc:
        raise ApiError(422, "cas invalide" if where else INVALID, [prefix + p for p in exc.problems]) from None
    except NoRulesetError:
        spans = ", ".join(f"{m.id} (du {V.display(m.effective_from)}"
                          + (f" au {V.display(m.effective_until)})" if m.effective_until else ", sans date de fin)")
                          for m in registry.timeline())
        text = f"aucun texte n'est en vigueur le {V.display(on)} ; les textes couvrent : {spans}"
        raise ApiError(422, text, [f"on: {text}"]) from None
    except EvaluationError as exc:
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
        if exc.message.startswith("unknown output"):
            raise ApiError(422, INVALID, [f"outputs: {text}"]) from None
        raise ApiError(422, f"le texte ne donne pas de valeur pour ce cas : {text}") from None
    except MillesimeError as exc:
        raise ApiError(422, str(exc)) from None


# ---------------------------------------------------------------- responses

def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _ruleset_row(m) -> dict:
    return {"id": m.id, "title": m.header.title, "effective_from": _iso(m.effective_from),
            "effective_until": _iso(m.effective_until), "amends": m.header.amends, "fingerprint": m.fingerprint}


def ruleset_detail(m) -> dict:
    inputs = []
    for path, decl in m.inputs.items():
        t = m.resolve_type(decl.type)
        item = {"path": path, "label": decl.label, "type": str(t.base) if t.kind != "group" else "group",
                "optional": t.kind == "optional"}
        for bound in decl.bounds:
            item[bound.kind] = V.to_json(bound.value)
        if t.base.kind == "enum":
            item["enum"] = t.base.name
        inputs.append(item)
    return {
        **_ruleset_row(m),
        "instrument": m.header.instrument,
        "published": m.header.published,
        "description": m.header.description,
        "inputs": inputs,
        "enums": {name: {"label": e.label, "members": [{"name": x.name, "label": x.label} for x in e.members]}
                  for name, e in m.enums.items()},
        "outputs": list(m.outputs),
        "references": [{"name": r.name, "title": r.title, "url": r.url} for r in m.references.values()],
    }


def options_json(result: Result) -> dict:
    """Eligibility and the options, each figure with a self-contained explanation tree."""
    labels = result.labels()
    refs = result.references()
    base = result.to_json(with_explanation=False)
    values = result.values
    out: dict[str, Any] = {
        "date": base["date"],
        "ruleset": base["ruleset"],
        "eligible": base["results"]["eligible"],
        "ineligibility_reasons": base["results"]["ineligibility_reasons"],
        "options": base["results"]["options"],
    }
    if "not_established" in base:
        out["not_established"] = base["not_established"]
    out["why"] = {"eligible": why(result.explanation["eligible"], refs, labels)}
    offers = values["options"]
    if isinstance(offers, list):
        offer_nodes = [c for c in result.explanation["options"].children if c.kind == "rule"]
        for item, offer in zip(out["options"], offers):
            item["label"] = labels.get(offer["option"], offer["option"])
            item["display"] = {
                "amounts": [V.display(a, _MONEY, labels) for a in offer["amounts"]],
                "additional_patients_mt": V.display(offer.get("additional_patients_mt"), None, labels),
                "additional_file_active": V.display(offer.get("additional_file_active"), None, labels),
            }
            node = next((n for n in offer_nodes if isinstance(n.value, dict) and n.value.get("option") ==
                         offer["option"] and n.value == offer), None)
            item["why"] = _offer_why(offer, node, refs, labels)
    return out


def _offer_why(offer: dict, node, refs, labels) -> dict:
    """One explanation per figure of an offer: the node that computed it when it can be found
    among the offer's dependencies (same value, expected rule), else the whole offer."""
    if node is None:
        return {}
    whole = None

    def fallback():
        nonlocal whole
        if whole is None:
            whole = why(node, refs, labels)
        return whole

    def pick(candidates, value):
        match = next((c for c in candidates if c.value == value), None)
        return why(match, refs, labels) if match is not None else fallback()

    amount_nodes = [c for c in node.children if c.kind == "rule" and c.name == "amount"]
    if len(amount_nodes) == len(offer["amounts"]):
        amounts = [why(n, refs, labels) if n.value == a else fallback()
                   for n, a in zip(amount_nodes, offer["amounts"])]
    else:
        amounts = [fallback() for _ in offer["amounts"]]
    additional = [c for c in node.children if c.kind == "rule" and c.name == "additional_for"]
    mt, fa = offer.get("additional_patients_mt"), offer.get("additional_file_active")
    return {
        "amounts": amounts,
        "additional_patients_mt": None if mt is None else pick(additional[:1] or additional, mt),
        "additional_file_active": None if fa is None else pick(list(reversed(additional)), fa),
    }


def why(node: explain.Node, refs: dict, labels: dict, seen: set | None = None) -> dict:
    """A node as explain.to_json gives it, with its French display and without server paths."""
    seen = set() if seen is None else seen
    out = {"kind": node.kind, "name": node.name, "label": node.label,
           "value": V.to_json(node.value, node.type), "display": V.display(node.value, node.type, labels),
           "ruleset": node.ruleset}
    if id(node) in seen:
        out["see_above"] = True
        return out
    seen.add(id(node))
    if node.expr is not None and node.kind not in ("input", "table"):
        out["expression"] = " ".join(node.expr.split())
    if node.sources:
        out["sources"] = [explain.source_json(s, refs.get(node.ruleset, {})) for s in node.sources]
    if node.note:
        out["note"] = node.note
    if node.children:
        out["inputs"] = [why(c, refs, labels, seen) for c in node.children]
    return out
