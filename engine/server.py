"""`millesime serve`: the engine over HTTP, and the simulator page that uses it.

    POST /evaluate        a case and a date → the JSON of `millesime eval --json` (`explain: false`:
                          without the explanation tree, still with `reliance`)
    POST /options         a physician without contract → every option, amounts by year and their
                          five-year total, targets; each figure with what it rests on and, unless
                          `explain: false`, its own explanation ("pourquoi ?")
    POST /contract        a case with a contract → where it stands: contract year, the amount of each
                          year (evaluated on the anniversary that opens it), targets and achievement,
                          aid due, payment calendar (due and to come), five-year total, next anniversary
    POST /questions       a partial case → the inputs the rules still need for it, in their order
    POST /why             one output's explanation, as the page shows it
    GET  /rulesets        the timeline of rulesets
    GET  /rulesets/{id}   one ruleset: its inputs (with French labels), enums, outputs, references
    GET  /                the simulator page (engine/web/), in French
    GET  /openapi.json    the API's OpenAPI description

Every POST takes `official_only` (secondary sources set aside) and `assume` (hypothesis files, as
texts); every POST but /questions takes `partial` (a case may lack required inputs the
evaluation does not read). Requests are read by engine/api_io.py (exact decimals, French
errors, Host and size limits); the engine's messages are reworded for the page by engine/api_text.py;
the journeys are engine/journeys.py's, the questions engine/questions.py's. How the server is
run (timeouts, connection limit, workers, logs) is engine/serving.py's.
"""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from dsl.errors import RulesetError

from . import api_text, values as V
from .api_io import (INVALID, MAX_BODY, MAX_EXPONENT, ApiError, Gate, date_field, envelope, flag,  # noqa: F401
                     http_error_text, json_kind, output_name, outputs_field, read_json, suggest, texts)
from .case import CaseError, validate
from .interpreter import Result, evaluate
from .journeys import CONTRACT_EXTRAS, OPTIONS_OUTPUTS, NoContract, contract_view, options_json, why
from .questions import evaluate_partial, questions_json
from .registry import NoRulesetError, Registry
from .unknowns import load_assumptions
from .values import EvaluationError

log = logging.getLogger("millesime.server")


def web_dir() -> Path:
    """The static page (index.html, app.js, style.css), packaged with the engine."""
    return Path(str(resources.files("engine"))) / "web"


# ---------------------------------------------------------------- request bodies (OpenAPI only)
# The bodies are parsed by hand (exact decimals); these models only describe them.

_ASSUME = ("Hypothesis files, as texts (the syntax of `millesime eval --assume FILE`, docs/dsl.md): each "
           "`assume` picks a reading or fixes an unknown value within its bounds, with its justification. "
           "Results that use one list it in `reliance` (grade `hypothesis`) and their `fingerprint` covers "
           "it. A wrong hypothesis is a 422 whose `problems` name it: `assume[i]: ligne L, colonne C : …`.")
_OFFICIAL = ("Set aside every figure resting on a secondary source (graded `secondary`, or not graded): it "
             "becomes unknown within the bounds official sources give, so a figure may become a range or "
             "not established. As `--official-only` on the command line.")
_PARTIAL = ("Accept a case without some required inputs, provided the evaluation does not read them (POST "
            "/questions says which it reads): the values are then those of any completion. A required input "
            "the evaluation reads and the case lacks is a 422 naming it.")


class _Assumed(BaseModel):
    official_only: bool = Field(False, description=_OFFICIAL)
    assume: list[str] = Field([], description=_ASSUME)


class EvaluateRequest(_Assumed):
    case: dict = Field(description="The case, as in a case file: physician, contract, …")
    on: Optional[dt.date] = Field(None, description="Effective date (YYYY-MM-DD); today when left out.")
    outputs: Optional[list[str]] = Field(None, description="Compute only these outputs (all when left out).")
    explain: bool = Field(True, description="Include the explanation tree (`explanation`, ≈ 80 KB); `reliance` "
                                            "is given either way.")
    partial: bool = Field(False, description=_PARTIAL)


class OptionsRequest(_Assumed):
    physician: dict = Field(description="The physician's fields (specialty, sector, optam, "
                                        "patients_mt, file_active, percentile, …).")
    on: Optional[dt.date] = Field(None, description="Date of signature considered (YYYY-MM-DD); today when left out.")
    explain: bool = Field(True, description="Include each figure's explanation tree (`why`).")
    partial: bool = Field(False, description=_PARTIAL)


class ContractRequest(_Assumed):
    case: dict = Field(description="A case with its contract (signed_on, option, initial patients, targets "
                                   "written in the contract, patients observed by contract year, switch date).")
    on: Optional[dt.date] = Field(None, description="Evaluation date (YYYY-MM-DD): what is due by then is "
                                                    "`paid`, the rest `to_come`; today when left out.")
    partial: bool = Field(False, description=_PARTIAL)


class QuestionsRequest(_Assumed):
    case: dict = Field(description="A partial case: any field may be left out.")
    on: Optional[dt.date] = Field(None, description="Evaluation date (YYYY-MM-DD); today when left out.")
    outputs: Optional[list[str]] = Field(None, description="The outputs to compute (all when left out).")


class WhyRequest(_Assumed):
    case: dict = Field(description="The case, as for POST /evaluate.")
    on: Optional[dt.date] = Field(None, description="Evaluation date (YYYY-MM-DD); today when left out.")
    output: str = Field(description="The output to explain (`annual_aid`, `options`, …).")
    partial: bool = Field(False, description=_PARTIAL)


class ErrorBody(BaseModel):
    error: str
    problems: Optional[list[str]] = None


def _body_doc(model: type[BaseModel], example: dict) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(), "example": example}}}}


_ERRORS = {400: {"model": ErrorBody, "description": "Not a JSON object, or a Host the server does not serve"},
           413: {"model": ErrorBody, "description": "Body too large"},
           415: {"model": ErrorBody, "description": "The body is not declared as JSON (Content-Type)"},
           422: {"model": ErrorBody, "description": "A field is wrong (messages in French), a hypothesis is wrong "
                                                    "(its line and column), or no ruleset is in force on that date "
                                                    "(the dates covered)"}}

_EXAMPLE_PHYSICIAN = {"specialty": "medecine_generale", "sector": 1, "optam": False,
                      "patients_mt": 900, "file_active": 1500}
_EXAMPLE_CONTRACT = {"signed_on": "2023-06-15", "option": "full", "initial_patients_mt": 980,
                     "initial_file_active": 1500, "target_patients_mt": 1180, "target_file_active": 1750,
                     "observed": {"3": {"patients_mt": 1130, "file_active": 1700}}}
_ASSUMED_FIELDS = {"official_only": False, "assume": False}

_DESCRIPTION = """Aide à l'emploi d'un assistant médical : évaluation datée, options et explications, figure par
figure, avec leurs sources juridiques.

**What is not established.** A value the texts read do not establish is given as what is known of it:
`{"not_established": REASON, "between": [LO, HI]}` (a side may be `null`: at least / at most) or
`{"not_established": REASON, "one_of": [...]}`, always with `"decided_by": [{"name", "label", "reason"}]`.
Money is a string (`"22000.00"`), never a float.

**What a figure rests on.** `reliance` maps each output to the declarations graded `secondary` or
`hypothesis` its value used. Every POST takes `official_only` (secondary sources set aside) and `assume`
(hypothesis files as texts); the result's `fingerprint` covers the rulesets consulted and these assumptions.

**Lean answers.** `explain: false` leaves the explanation trees out; `POST /why` gives one output's tree.

**Questions.** `POST /questions` evaluates a partial case and answers `{"ready", "missing": [{"path", "label",
"type", "required", …}], "read": [...]}`: the inputs the evaluation of this case on that date reads and lacks,
in the order the rules read them (an optional one only when it can change a figure).
"""


# ---------------------------------------------------------------- the app

def create_app(registry: Registry | None = None, max_body: int = MAX_BODY,
               allowed_hosts: tuple[str, ...] | list[str] = ()) -> FastAPI:
    """The HTTP API and the simulator page over `registry` (the shipped agreements by default).
    `allowed_hosts`: the names, besides localhost's, that a request's Host header may give
    (`*`: any — only behind a proxy that checks it)."""
    if registry is None:
        from . import shipped_registry
        registry = shipped_registry()

    app = FastAPI(title="Millésime", version="0.2.0", description=_DESCRIPTION,
                  docs_url=None, redoc_url=None)  # their pages load scripts from a CDN: the spec is at /openapi.json
    app.state.registry = registry
    app.state.max_body = max_body

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        # keep the exception's headers: a 405 must say which methods are allowed (`Allow`, RFC 9110)
        return JSONResponse({"error": http_error_text(request, exc)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, not bad input
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "erreur interne : le serveur n'a pas pu traiter cette requête"},
                            status_code=500)

    app.add_middleware(Gate, allowed_hosts=allowed_hosts, max_body=max_body)

    async def body_of(request: Request, fields: dict[str, bool]) -> dict:
        return envelope(await read_json(request, max_body), {**fields, **_ASSUMED_FIELDS})

    @app.post("/evaluate", responses=_ERRORS, summary="Evaluate a case on a date",
              openapi_extra=_body_doc(EvaluateRequest, {"case": {"physician": {
                  **_EXAMPLE_PHYSICIAN, "priority_zone": False}, "contract": None}, "on": "2024-07-01",
                  "explain": False}))
    async def evaluate_endpoint(request: Request) -> dict:
        """The same JSON as `millesime eval --json`: the ruleset in force, every output, what each rests on
        (`reliance`) and, unless `explain: false`, the explanation."""
        body = await body_of(request, {"case": True, "on": False, "outputs": False, "explain": False,
                                       "partial": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        outputs = outputs_field(body.get("outputs"))
        explain = flag(body, "explain", True)
        partial = flag(body, "partial", False)
        reg = await _registry(registry, body)
        result = await run_in_threadpool(_evaluate, reg, case, on, outputs, "case", partial)
        return await run_in_threadpool(result.to_json, explain)

    @app.post("/options", responses=_ERRORS, summary="What each option would bring a physician without contract",
              openapi_extra=_body_doc(OptionsRequest, {"physician": _EXAMPLE_PHYSICIAN, "on": "2024-07-01",
                                                       "explain": False}))
    async def options_endpoint(request: Request) -> dict:
        """Eligibility with its reasons, and every option open that day: maximum aid for contract years 1 to 5
        and their total, patients to add; each figure displayed in French, with what it rests on (`figures`)
        and, unless `explain: false`, its explanation and legal sources (`why`)."""
        body = await body_of(request, {"physician": True, "on": False, "explain": False, "partial": False})
        physician = body["physician"]
        if not isinstance(physician, dict):
            raise ApiError(422, INVALID, [f"physician: un objet de champs est attendu, "
                                          f"pas {json_kind(physician)}"])
        on = date_field(body.get("on"), "on")
        explain = flag(body, "explain", True)
        partial = flag(body, "partial", False)
        reg = await _registry(registry, body)
        result = await run_in_threadpool(_evaluate, reg, {"physician": physician}, on, OPTIONS_OUTPUTS, "", partial)
        return await run_in_threadpool(options_json, result, explain)

    @app.post("/contract", responses=_ERRORS, summary="Where a running contract stands, year by year",
              openapi_extra=_body_doc(ContractRequest, {"case": {"physician": _EXAMPLE_PHYSICIAN,
                                                                 "contract": _EXAMPLE_CONTRACT},
                                                        "on": "2025-09-01", "partial": True}))
    async def contract_endpoint(request: Request) -> dict:
        """The contract year on that date; for each of its five years, the amount (from the ruleset in force on
        the anniversary that opens it), the aid due and the achievement rate; the targets; the payment
        calendar (date, kind: single, advance or balance, amount; `paid` when due by that date, else
        `to_come`); the five-year total; what the next anniversary changes. Figures as in /options."""
        body = await body_of(request, {"case": True, "on": False, "partial": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        partial = flag(body, "partial", False)
        reg = await _registry(registry, body)
        return await run_in_threadpool(_contract, reg, case, on, partial)

    @app.post("/questions", responses=_ERRORS, summary="The inputs the rules still need for a partial case",
              openapi_extra=_body_doc(QuestionsRequest, {"case": {"physician": {"specialty": "chirurgie_generale"}},
                                                         "on": "2024-07-01"}))
    async def questions_endpoint(request: Request) -> dict:
        """Evaluates the partial case (an absent required input stands for every value it may take) and lists
        the inputs the evaluation read and the case lacks, in the order the rules read them: required ones,
        and optional ones that can change a figure (a surgeon's CCAM share, a percentile that would bypass
        thresholds not established). `ready`: no required input is missing. `read`: every input read."""
        body = await body_of(request, {"case": True, "on": False, "outputs": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        outputs = outputs_field(body.get("outputs"))
        reg = await _registry(registry, body)
        return await run_in_threadpool(_questions, reg, case, on, outputs)

    @app.post("/why", responses=_ERRORS, summary="One output's explanation, as the page shows it",
              openapi_extra=_body_doc(WhyRequest, {"case": {"physician": _EXAMPLE_PHYSICIAN,
                                                            "contract": _EXAMPLE_CONTRACT},
                                                   "on": "2025-09-01", "output": "annual_aid", "partial": True}))
    async def why_endpoint(request: Request) -> dict:
        """The explanation tree of one output: each node with its French display, formula, sources and grade."""
        body = await body_of(request, {"case": True, "on": False, "output": True, "partial": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        output = output_name(body.get("output"), "output")
        partial = flag(body, "partial", False)
        reg = await _registry(registry, body)
        result = await run_in_threadpool(_evaluate, reg, case, on, [output], "case", partial)
        return {"date": on.isoformat(), "output": output, "fingerprint": result.fingerprint,
                "why": why(result.explanation[output], result.references(), result.labels())}

    @app.get("/rulesets", summary="The timeline of rulesets")
    async def rulesets_endpoint() -> list[dict]:
        return [_ruleset_row(m) for m in registry.timeline()]

    @app.get("/rulesets/{ruleset_id}", responses={404: {"model": ErrorBody}}, summary="One ruleset")
    async def ruleset_endpoint(ruleset_id: str) -> dict:
        """Its dates and description, the inputs a case gives (types, bounds, French labels),
        its enums with their French labels, its outputs and legal references."""
        if ruleset_id not in registry.entries:
            raise ApiError(404, f"aucun texte « {ruleset_id} »" + suggest(ruleset_id, registry.entries))
        return ruleset_detail(registry.entries[ruleset_id].model)

    web = web_dir()

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(web / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=web), name="static")
    return app


# ---------------------------------------------------------------- running the engine

def _case(value: object, field: str) -> dict:
    if not isinstance(value, dict):
        raise ApiError(422, INVALID, [f"{field}: un cas est un objet (physician, contract, …), pas {json_kind(value)}"])
    return value


async def _registry(registry: Registry, body: dict) -> Registry:
    """The registry under the request's assumptions (compiled once per set of them, a few kept)."""
    official_only = flag(body, "official_only", False)
    hypotheses = texts(body, "assume")
    if not official_only and not hypotheses:
        return registry
    try:
        assumptions = load_assumptions(official_only=official_only, texts=hypotheses)
        return await run_in_threadpool(registry.with_assumptions, assumptions)
    except RulesetError as exc:
        raise ApiError(422, "hypothèse invalide", api_text.hypothesis_problems(exc)) from None


@contextmanager
def _refusals(registry: Registry, on: dt.date, where: str):
    """The engine's refusals as ApiErrors naming the field at fault, in French."""
    prefix = f"{where}." if where else ""
    try:
        yield
    except CaseError as exc:
        raise ApiError(422, "cas invalide" if where else INVALID,
                       [prefix + p for p in exc.problems]) from None
    except NoRulesetError:
        text = api_text.no_ruleset(registry, on)
        raise ApiError(422, text, [f"on: {text}"]) from None
    except EvaluationError as exc:
        unknown = api_text.unknown_outputs(exc)
        if unknown is not None:
            raise ApiError(422, INVALID, [f"outputs: {unknown}"]) from None
        raise ApiError(422, "le texte ne donne pas de valeur pour ce cas : "
                       + api_text.evaluation_error(exc, registry)) from None


def _evaluate(registry: Registry, case: dict, on: dt.date, outputs: list[str] | None, where: str,
              partial: bool = False) -> Result:
    """The engine's evaluation (with explanations: `reliance` needs them), its refusals in French."""
    with _refusals(registry, on, where):
        if not partial:
            return evaluate(case, on, registry, outputs)
        found = evaluate_partial(registry, case, on, outputs, stop_on_error=True)
        _refuse_missing(found, where, registry)
        return found.result


def _refuse_missing(found, where: str, registry: Registry) -> None:
    missing = found.missing_required()
    if missing:
        prefix = f"{where}." if where else ""
        raise ApiError(422, "cas incomplet", [
            f"{prefix}{r.path}: champ obligatoire manquant ({registry.entries[r.ruleset].model.inputs[r.path].label})"
            for r in missing])


def _contract(registry: Registry, case: dict, on: dt.date, partial: bool) -> dict:
    with _refusals(registry, on, "case"):
        if not partial:  # the case checked whole, as /evaluate checks it
            entry = registry.in_force(on)
            validate(entry.model, entry.schema, case)
        found = evaluate_partial(registry, case, on, stop_on_error=True, extras=CONTRACT_EXTRAS)
        _refuse_missing(found, "case", registry)
        try:
            return contract_view(registry, case, on, main=found)
        except NoContract:
            raise ApiError(422, INVALID, ["case.contract: un contrat est attendu (signed_on, option, …) ; sans "
                                          "contrat, POST /options dit ce que chaque option apporterait"]) from None


def _questions(registry: Registry, case: dict, on: dt.date, outputs: list[str] | None) -> dict:
    with _refusals(registry, on, "case"):
        found = evaluate_partial(registry, case, on, outputs)
    m = found.result.ruleset
    out = {"date": on.isoformat(),
           "ruleset": {"id": m.id, "title": m.header.title, "effective_from": _iso(m.effective_from),
                       "effective_until": _iso(m.effective_until)},
           **questions_json(found, registry)}
    if found.errors:
        out["errors"] = {name: api_text.evaluation_error(exc, registry) for name, exc in found.errors.items()}
    return out


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
