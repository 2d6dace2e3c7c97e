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

from fastapi import FastAPI, Path as PathParam, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from dsl.errors import RulesetError

from . import api_text, values as V
from .api_io import (INVALID, MAX_BODY, MAX_EXPONENT, ApiError, Gate, date_field, envelope, flag,  # noqa: F401
                     http_error_text, json_kind, output_name, outputs_field, read_json, suggest, texts)
from .case import CaseError, validate
from .interpreter import Result, evaluate
from .journeys import (CONTRACT_EXTRAS, OPTIONS_OUTPUTS, NoContract, contract_view, options_json,
                       readings_to_choose, why)
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

_ASSUME = ("Fichiers d'hypothèses, sous forme de textes (la syntaxe de `millesime eval --assume FILE`, "
           "docs/dsl.md) : chaque `assume` retient une lecture ou fixe une valeur inconnue dans ses bornes, avec "
           "sa justification. Les résultats qui utilisent une hypothèse la citent dans `reliance` (grade "
           "`hypothesis`) et leur `fingerprint` la couvre. Une hypothèse erronée donne un 422 dont les "
           "`problems` la nomment : `assume[i]: ligne L, colonne C : …`.")
_OFFICIAL = ("Écarter chaque chiffre qui repose sur une source secondaire (grade `secondary`, ou sans grade) : "
             "il devient inconnu dans les bornes que donnent les sources officielles, si bien qu'un chiffre peut "
             "devenir un intervalle ou n'être pas établi. Comme `--official-only` à la ligne de commande.")
_PARTIAL = ("Accepter un cas auquel manquent des données obligatoires, pourvu que l'évaluation ne les lise pas "
            "(POST /questions dit lesquelles elle lit) : les valeurs sont alors les mêmes, de quelque façon que "
            "le cas soit complété. Une donnée obligatoire que l'évaluation lit et que le cas ne donne pas est un "
            "422 qui la nomme.")


# Titles are what the API's documentation shows above each schema and field: in French, given here
# (pydantic and FastAPI would make English ones from the identifiers, « Official Only »).
class _Assumed(BaseModel):
    official_only: bool = Field(False, title="Sources officielles seules", description=_OFFICIAL)
    assume: list[str] = Field([], title="Hypothèses", description=_ASSUME)


class EvaluateRequest(_Assumed):
    model_config = ConfigDict(title="Requête : évaluer un cas")
    case: dict = Field(title="Cas", description="Le cas, comme dans un fichier de cas : physician, contract, …")
    on: Optional[dt.date] = Field(None, title="Date",
                                  description="Date d'effet (AAAA-MM-JJ) ; aujourd'hui si elle est omise.")
    outputs: Optional[list[str]] = Field(None, title="Résultats",
                                         description="Ne calculer que ces résultats (tous si la liste est omise).")
    explain: bool = Field(True, title="Explication",
                          description="Inclure l'arbre d'explication (`explanation`, ≈ 80 Ko) ; `reliance` est "
                                      "donné dans tous les cas.")
    partial: bool = Field(False, title="Cas partiel", description=_PARTIAL)


class OptionsRequest(_Assumed):
    model_config = ConfigDict(title="Requête : les options d'un médecin sans contrat")
    physician: dict = Field(title="Médecin", description="Les champs du médecin (specialty, sector, optam, "
                                                         "patients_mt, file_active, percentile, …).")
    on: Optional[dt.date] = Field(None, title="Date", description="Date de signature envisagée (AAAA-MM-JJ) ; "
                                                                   "aujourd'hui si elle est omise.")
    explain: bool = Field(True, title="Explication", description="Inclure l'arbre d'explication de chaque chiffre "
                                                                  "(`why`).")
    partial: bool = Field(False, title="Cas partiel", description=_PARTIAL)


class ContractRequest(_Assumed):
    model_config = ConfigDict(title="Requête : un contrat en cours")
    case: dict = Field(title="Cas",
                       description="Un cas avec son contrat (signed_on, option, patientèles de départ, objectifs "
                                   "écrits dans le contrat, patientèles constatées par année de contrat, date de "
                                   "bascule).")
    on: Optional[dt.date] = Field(None, title="Date", description="Date d'évaluation (AAAA-MM-JJ) : ce qui est dû "
                                                                   "à cette date est `paid`, le reste `to_come` ; "
                                                                   "aujourd'hui si elle est omise.")
    partial: bool = Field(False, title="Cas partiel", description=_PARTIAL)


class QuestionsRequest(_Assumed):
    model_config = ConfigDict(title="Requête : les données qui manquent")
    case: dict = Field(title="Cas", description="Un cas partiel : tout champ peut être omis.")
    on: Optional[dt.date] = Field(None, title="Date", description="Date d'évaluation (AAAA-MM-JJ) ; aujourd'hui si "
                                                                   "elle est omise.")
    outputs: Optional[list[str]] = Field(None, title="Résultats", description="Les résultats à calculer (tous si la "
                                                                              "liste est omise).")


class WhyRequest(_Assumed):
    model_config = ConfigDict(title="Requête : l'explication d'un résultat")
    case: dict = Field(title="Cas", description="Le cas, comme pour POST /evaluate.")
    on: Optional[dt.date] = Field(None, title="Date", description="Date d'évaluation (AAAA-MM-JJ) ; aujourd'hui si "
                                                                   "elle est omise.")
    output: str = Field(title="Résultat", description="Le résultat à expliquer (`annual_aid`, `options`, …).")
    partial: bool = Field(False, title="Cas partiel", description=_PARTIAL)


class ErrorBody(BaseModel):
    model_config = ConfigDict(title="Erreur")
    error: str = Field(title="Message", description="Ce qui ne va pas, en français.")
    problems: Optional[list[str]] = Field(None, title="Problèmes", description="Chaque champ erroné : son chemin et "
                                                                               "ce qui ne va pas.")


def _body_doc(model: type[BaseModel], example: dict) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(), "example": example}}}}


_ERRORS = {400: {"model": ErrorBody, "description": "Pas un objet JSON, ou un Host que le serveur ne sert pas"},
           413: {"model": ErrorBody, "description": "Corps trop volumineux"},
           415: {"model": ErrorBody, "description": "Le corps n'est pas déclaré comme JSON (Content-Type)"},
           422: {"model": ErrorBody, "description": "Un champ est erroné (messages en français), une hypothèse est "
                                                    "erronée (sa ligne et sa colonne), ou aucun texte n'est en "
                                                    "vigueur à cette date (les dates couvertes)"}}
_OK = "Réponse en cas de succès"  # FastAPI's default description of a 200 is English

_EXAMPLE_PHYSICIAN = {"specialty": "medecine_generale", "sector": 1, "optam": False,
                      "patients_mt": 900, "file_active": 1500}
_EXAMPLE_CONTRACT = {"signed_on": "2023-06-15", "option": "full", "initial_patients_mt": 980,
                     "initial_file_active": 1500, "target_patients_mt": 1180, "target_file_active": 1750,
                     "observed": {"3": {"patients_mt": 1130, "file_active": 1700}}}
_ASSUMED_FIELDS = {"official_only": False, "assume": False}

_DESCRIPTION = """Aide à l'emploi d'un assistant médical : évaluation datée, options et explications, chiffre par
chiffre, avec leurs sources juridiques.

**Ce qui n'est pas établi.** Une valeur que les textes lus n'établissent pas est donnée avec ce que l'on en sait :
`{"not_established": REASON, "between": [LO, HI]}` (une borne peut être `null` : au moins / au plus) ou
`{"not_established": REASON, "one_of": [...]}`, toujours avec `"decided_by": [{"name", "label", "reason"}]`.
Les montants sont des chaînes (`"22000.00"`), jamais des nombres à virgule flottante.

**Ce sur quoi repose un chiffre.** `reliance` associe à chaque résultat les déclarations de grade `secondary` ou
`hypothesis` que sa valeur a utilisées. Chaque POST prend `official_only` (sources secondaires écartées) et `assume`
(fichiers d'hypothèses sous forme de textes) ; l'empreinte du résultat (`fingerprint`) couvre les textes consultés
et ces hypothèses.

**Réponses allégées.** `explain: false` laisse de côté les arbres d'explication ; `POST /why` donne l'arbre d'un
résultat.

**Questions.** `POST /questions` évalue un cas partiel et répond `{"ready", "missing": [{"path", "label", "type",
"required", …}], "read": [...]}` : les données que l'évaluation de ce cas à cette date lit et qui lui manquent,
dans l'ordre où les règles les lisent (une donnée facultative seulement quand elle peut changer un chiffre).
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

    # Each route's summary and docstring are its OpenAPI description, read by the API's users: in French.
    async def body_of(request: Request, fields: dict[str, bool]) -> dict:
        return envelope(await read_json(request, max_body), {**fields, **_ASSUMED_FIELDS})

    @app.post("/evaluate", response_model=None, responses=_ERRORS,
              summary="Évaluer un cas à une date", response_description=_OK,
              openapi_extra=_body_doc(EvaluateRequest, {"case": {"physician": {
                  **_EXAMPLE_PHYSICIAN, "priority_zone": False}, "contract": None}, "on": "2024-07-01",
                  "explain": False}))
    async def evaluate_endpoint(request: Request) -> dict:
        """Le même JSON que `millesime eval --json` : le texte en vigueur, chaque résultat, ce sur quoi chacun
        repose (`reliance`) et, sauf `explain: false`, l'explication."""
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

    @app.post("/options", response_model=None, responses=_ERRORS,
              summary="Ce que chaque option apporterait à un médecin sans contrat",
              response_description=_OK,
              openapi_extra=_body_doc(OptionsRequest, {"physician": _EXAMPLE_PHYSICIAN, "on": "2024-07-01",
                                                       "explain": False}))
    async def options_endpoint(request: Request) -> dict:
        """L'éligibilité avec ses motifs, et chaque option ouverte ce jour-là : l'aide maximale des années de
        contrat 1 à 5 et leur total, les patients à ajouter ; chaque chiffre affiché en français, avec ce sur
        quoi il repose (`figures`) et, sauf `explain: false`, son explication et ses sources juridiques
        (`why`)."""
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

    @app.post("/contract", response_model=None, responses=_ERRORS,
              summary="Où en est un contrat en cours, année par année",
              response_description=_OK,
              openapi_extra=_body_doc(ContractRequest, {"case": {"physician": _EXAMPLE_PHYSICIAN,
                                                                 "contract": _EXAMPLE_CONTRACT},
                                                        "on": "2025-09-01", "partial": True}))
    async def contract_endpoint(request: Request) -> dict:
        """L'année de contrat à cette date ; pour chacune de ses cinq années, le montant (selon le texte en
        vigueur à l'anniversaire qui l'ouvre), l'aide due et le taux d'atteinte ; les objectifs ; le calendrier
        des versements (date, nature : versement unique, avance ou solde, montant ; `paid` quand il est dû à
        cette date, sinon `to_come`) ; le total sur cinq ans ; ce que change le prochain anniversaire. Les
        chiffres comme dans /options."""
        body = await body_of(request, {"case": True, "on": False, "partial": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        partial = flag(body, "partial", False)
        reg = await _registry(registry, body)
        return await run_in_threadpool(_contract, reg, case, on, partial)

    @app.post("/questions", response_model=None, responses=_ERRORS,
              summary="Les données qui manquent encore aux règles pour un cas partiel",
              response_description=_OK,
              openapi_extra=_body_doc(QuestionsRequest, {"case": {"physician": {"specialty": "chirurgie_generale"}},
                                                         "on": "2024-07-01"}))
    async def questions_endpoint(request: Request) -> dict:
        """Évalue le cas partiel (une donnée obligatoire absente vaut pour chaque valeur qu'elle peut prendre) et
        liste les données que l'évaluation a lues et que le cas ne donne pas, dans l'ordre où les règles les
        lisent : les obligatoires, et les facultatives qui peuvent changer un chiffre (la part CCAM d'un
        chirurgien, un percentile qui rendrait inutiles des seuils non établis). `ready` : aucune donnée
        obligatoire ne manque. `read` : chaque donnée lue."""
        body = await body_of(request, {"case": True, "on": False, "outputs": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        outputs = outputs_field(body.get("outputs"))
        reg = await _registry(registry, body)
        return await run_in_threadpool(_questions, reg, case, on, outputs)

    @app.post("/why", response_model=None, responses=_ERRORS,
              summary="L'explication d'un résultat, telle que la page la montre",
              response_description=_OK,
              openapi_extra=_body_doc(WhyRequest, {"case": {"physician": _EXAMPLE_PHYSICIAN,
                                                            "contract": _EXAMPLE_CONTRACT},
                                                   "on": "2025-09-01", "output": "annual_aid", "partial": True}))
    async def why_endpoint(request: Request) -> dict:
        """L'arbre d'explication d'un résultat : chaque nœud avec son affichage en français, sa formule, ses
        sources et son grade."""
        body = await body_of(request, {"case": True, "on": False, "output": True, "partial": False})
        case = _case(body["case"], "case")
        on = date_field(body.get("on"), "on")
        output = output_name(body.get("output"), "output")
        partial = flag(body, "partial", False)
        reg = await _registry(registry, body)
        result = await run_in_threadpool(_evaluate, reg, case, on, [output], "case", partial)
        return {"date": on.isoformat(), "output": output, "fingerprint": result.fingerprint,
                "why": why(result.explanation[output], result.references(), result.labels())}

    @app.get("/rulesets", response_model=None, summary="La chronologie des textes de règles", response_description=_OK)
    async def rulesets_endpoint() -> list[dict]:
        return [_ruleset_row(m) for m in registry.timeline()]

    @app.get("/rulesets/{ruleset_id}", response_model=None, summary="Un texte de règles", response_description=_OK,
             # a 422 of its own: FastAPI would add one for the path parameter, with English schemas
             responses={404: {"model": ErrorBody, "description": "Aucun texte de ce nom"},
                        422: {"model": ErrorBody, "description": "Erreur de validation"}})
    async def ruleset_endpoint(ruleset_id: str = PathParam(title="Identifiant du texte",
                                                           description="Par exemple `convention_2024`.")) -> dict:
        """Ses dates et sa description, les données qu'un cas fournit (types, bornes, libellés français), ses
        énumérations avec leurs libellés français, ses résultats et ses références juridiques."""
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
            view = contract_view(registry, case, on, main=found)
        except NoContract:
            raise ApiError(422, INVALID, ["case.contract: un contrat est attendu (signed_on, option, …) ; sans "
                                          "contrat, POST /options dit ce que chaque option apporterait"]) from None
        view["readings"] = readings_to_choose(registry, view)
        return view


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
