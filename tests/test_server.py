"""The HTTP API (`millesime serve`): expected values worked out by hand from the rulesets' tables.

Needs the `serve` extra (fastapi, httpx); skipped without it.
"""
import datetime as dt
import json
import re
import os

import pytest

pytest.importorskip("fastapi", reason="the `serve` extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="the `serve` extra (httpx, for TestClient) is not installed")

import warnings  # noqa: E402

with warnings.catch_warnings():  # starlette's notice about its future test client, not ours to fix
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from engine import evaluate, shipped_registry  # noqa: E402
from engine.server import create_app  # noqa: E402

GP = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 900, "file_active": 1500}
# Avenant 7 still requires these three (optional from the règlement arbitral on).
AV7 = {"priority_zone": False, "group_practice": True, "coordinated_practice": True}


BASE = "http://localhost"  # the Host header must be one the server serves (localhost names by default)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(shipped_registry()), base_url=BASE) as c:
        yield c


def options(client, physician, on):
    r = client.post("/options", json={"physician": physician, "on": on})
    assert r.status_code == 200, r.text
    return r.json()


def money(*amounts):
    return [f"{a}.00" for a in amounts]


# ---------------------------------------------------------------- /options

def test_gp_2024_both_options_with_the_2024_amounts(client):
    out = options(client, GP, "2024-07-01")
    assert out["ruleset"]["id"] == "convention_2024"
    assert out["eligible"] is True and out["ineligibility_reasons"] == []
    # 900 patients: above P30 (775), at or under P50 (1 045) → percentile 30, no majoration.
    assert [(o["option"], o["label"], o["amounts"]) for o in out["options"]] == [
        ("half", "1/2 ETP", money(19000, 14000, 11000, 11000, 11000)),
        ("full", "1 ETP", money(38000, 28000, 22000, 22000, 22000)),
    ]
    half = out["options"][0]
    assert half["display"]["amounts"][0] == "19\u202f000,00 €"
    # The 2024 target table was not read: each rate is unknown and at least 0 %, so the targets are
    # not established, at least 0 patients, decided by the cell of the band (P30–50) and option.
    for target in ("additional_patients_mt", "additional_file_active"):
        assert half[target]["between"] == [0, None]
        assert [u["name"] for u in half[target]["decided_by"]] == ["target_table[30..50, half]"]


def test_each_figure_has_its_own_explanation_with_sources(client):
    half = options(client, GP, "2024-07-01")["options"][0]
    year1 = half["why"]["amounts"][0]
    assert year1["name"] == "amount" and year1["label"].endswith("(half, 1, 30)") and year1["value"] == "19000.00"
    cell = next(n for n in year1["inputs"] if n["kind"] == "table")
    assert cell["name"] == "aid_amount" and cell["value"] == "19000.00"
    assert any("19 000 € · 38 000 €" in (s["quote"] or "") for s in cell["sources"])
    year3 = half["why"]["amounts"][2]
    assert year3["label"].endswith("(half, 3, 30)") and year3["value"] == "11000.00"
    target = half["why"]["additional_patients_mt"]
    assert target["name"] == "additional_for" and "not_established" in target["value"]
    assert "defined_at" not in json.dumps(half["why"])  # no server paths in the page's trees


def test_gp_under_p30_is_ineligible_with_the_requirement_at_fault(client):
    out = options(client, {**GP, "patients_mt": 700}, "2024-07-01")
    assert out["eligible"] is False
    assert [r["requirement"] for r in out["ineligibility_reasons"]] == ["eligibility.patientele"]
    assert out["options"] == []
    assert out["why"]["eligible"]["value"] is False


def test_avenant7_three_options_and_targets_from_the_table(client):
    # 2020: avenant 7. Percentile 40 → row 30..50: +20 % (1/3), +25 % (1/2), +35 % (1 ETP).
    physician = {**GP, **AV7, "patients_mt": 1000, "file_active": 1500, "percentile": 40, "priority_zone": True}
    out = options(client, physician, "2020-03-01")
    assert out["ruleset"]["id"] == "avenant7_2019"
    got = {o["option"]: (o["amounts"], o["additional_patients_mt"], o["additional_file_active"]) for o in out["options"]}
    assert got == {
        "third": (money(12000, 9000, 7000, 7000, 7000), 200, 300),
        "half": (money(18000, 13500, 10500, 10500, 10500), 250, 375),
        "full": (money(36000, 27000, 21000, 21000, 21000), 350, 525),
    }
    half = next(o for o in out["options"] if o["option"] == "half")
    assert half["why"]["additional_patients_mt"]["value"] == 250
    assert half["why"]["additional_file_active"]["value"] == 375


def test_avenant7_full_time_only_in_priority_zones(client):
    out = options(client, {**GP, **AV7, "patients_mt": 1000, "percentile": 40}, "2020-03-01")
    assert [o["option"] for o in out["options"]] == ["third", "half"]


def test_high_patientele_amounts_2024(client):
    # P95 and above: year 1's amount every year; P90–P95: majored from year 3.
    top = {o["option"]: o["amounts"] for o in options(client, {**GP, "percentile": 96}, "2024-07-01")["options"]}
    assert top == {"half": money(*[19000] * 5), "full": money(*[38000] * 5)}
    high = {o["option"]: o["amounts"] for o in options(client, {**GP, "percentile": 92}, "2024-07-01")["options"]}
    assert high == {"half": money(19000, 14000, 13000, 13000, 13000), "full": money(38000, 28000, 26000, 26000, 26000)}


def test_decimals_are_exact_never_floats(client):
    # A surgeon must stay under 20 % of CCAM fees. As a float, 0.19999999999999999999 is 0.2.
    surgeon = {"specialty": "chirurgie_generale", "sector": 1, "optam": False, "patients_mt": 0,
               "file_active": 2000, "percentile": 50}
    def body(share: str) -> str:  # the number written as is in the JSON text
        return '{"on": "2024-07-01", "physician": ' + json.dumps(surgeon)[:-1] + f', "ccam_fee_share": {share}}}}}'
    json_type = {"content-type": "application/json"}
    under = client.post("/options", content=body("0.19999999999999999999"), headers=json_type)
    at = client.post("/options", content=body("0.20"), headers=json_type)
    assert under.json()["eligible"] is True
    assert at.json()["eligible"] is False
    assert [r["requirement"] for r in at.json()["ineligibility_reasons"]] == ["eligibility.technical_acts"]


def test_not_established_eligibility_is_a_result_not_an_error(client):
    # Avenant 7's list of eligible specialties was not read: a cardiologist's eligibility is not established.
    out = options(client, {**AV7, "specialty": "cardiologie", "sector": 1, "optam": False, "patients_mt": 0,
                           "file_active": 3000, "percentile": 60}, "2021-01-15")
    assert "annexe 3" in out["eligible"]["not_established"]
    assert "not_established" in out["options"]


# ---------------------------------------------------------------- /evaluate

CONTRACT_CASE = {
    "physician": GP,
    "contract": {"signed_on": "2024-07-01", "option": "full", "initial_patients_mt": 900,
                 "initial_file_active": 1500, "target_patients_mt": 1000, "target_file_active": 1600},
}


def test_evaluate_a_running_contract(client):
    r = client.post("/evaluate", json={"case": CONTRACT_CASE, "on": "2025-09-01"})
    assert r.status_code == 200, r.text
    out = r.json()
    res = out["results"]
    assert out["ruleset"]["id"] == "convention_2024"
    assert res["eligible"] is True
    assert res["contract_year"] == 2
    assert res["annual_aid"] == "28000.00"  # year 2, 1 ETP, 2024 table
    assert (res["additional_patients_mt"], res["additional_file_active"]) == (100, 100)
    assert (res["target_patients_mt"], res["target_file_active"]) == (1000, 1600)
    assert res["qualification_deadline"] == "2026-07-01"  # two years under the 2024 convention
    assert res["payments"] == [
        {"year": 1, "date": "2024-08-01", "kind": "single", "amount": "38000.00"},
        {"year": 2, "date": "2025-07-01", "kind": "single", "amount": "28000.00"},
    ]
    assert out["explanation"]["annual_aid"]["sources"]


def test_evaluate_gives_the_cli_json(client):
    body = client.post("/evaluate", json={"case": CONTRACT_CASE, "on": "2025-09-01"}).json()
    direct = evaluate(CONTRACT_CASE | {"contract": {**CONTRACT_CASE["contract"],
                                                   "signed_on": dt.date(2024, 7, 1)}},
                      dt.date(2025, 9, 1)).to_json()
    assert body == json.loads(json.dumps(direct))


def test_evaluate_selected_outputs(client):
    r = client.post("/evaluate", json={"case": {"physician": {**GP, "patients_mt": 700}}, "on": "2024-07-01",
                                       "outputs": ["eligible", "ineligibility_reasons"]})
    res = r.json()["results"]
    assert set(res) == {"eligible", "ineligibility_reasons"}
    assert res["eligible"] is False
    assert res["ineligibility_reasons"][0]["requirement"] == "eligibility.patientele"


# ---------------------------------------------------------------- bad input: a clear 4xx naming the field

def problems(r, status=422):
    assert r.status_code == status, r.text
    return r.json()["problems"]


def test_bad_field_value_is_named(client):
    got = problems(client.post("/options", json={"physician": {**GP, "sector": 3}, "on": "2024-07-01"}))
    # the engine's words (« input should be less than or equal to 2 (got 3) »), in French at the API's edge
    assert got == ["physician.sector: doit être inférieur ou égal à 2 (reçu : 3)"]


def test_unknown_and_missing_fields(client):
    physician = {k: v for k, v in GP.items() if k != "optam"} | {"sectr": 1}
    got = problems(client.post("/evaluate", json={"case": {"physician": physician}, "on": "2024-07-01"}))
    assert "case.physician.optam: champ obligatoire manquant (Adhésion à l'OPTAM ou à l'OPTAM-CO)" in got
    assert "case.physician.sectr: champ inconnu ; vouliez-vous dire « sector » ?" in got
    got = problems(client.post("/options", json={"physicien": GP}))
    assert got[0] == "physicien: champ inconnu ; vouliez-vous dire « physician » ?"
    assert "physician: champ obligatoire manquant" in got


def test_bad_enum_value(client):
    got = problems(client.post("/options", json={"physician": {**GP, "specialty": "generaliste"}, "on": "2024-07-01"}))
    assert got[0].startswith("physician.specialty: 'generaliste' n'est pas une valeur possible (specialty) ; "
                             "valeurs possibles : medecine_generale, pediatrie, ")


def test_dates(client):
    r = client.post("/options", json={"physician": GP, "on": "2010-01-01"})
    assert r.status_code == 422 and r.json()["error"] == (
        "aucun texte n'est en vigueur le 01/01/2010 ; les textes couvrent : avenant7_2019 (du 21/08/2019 au "
        "30/04/2023), reglement_arbitral_2023 (du 01/05/2023 au 21/06/2024), convention_2024 (du 22/06/2024, "
        "sans date de fin)")
    assert problems(client.post("/options", json={"physician": GP, "on": "01/07/2024"})) == \
        ['on: une date AAAA-MM-JJ est attendue, pas "01/07/2024"']
    assert problems(client.post("/options", json={"physician": GP, "on": "2024-02-30"}))[0].startswith("on:")


def test_unknown_output(client):
    got = problems(client.post("/evaluate", json={"case": {"physician": GP}, "on": "2024-07-01", "outputs": ["aide"]}))
    assert got == ["outputs: résultat inconnu « aide » dans le texte convention_2024 ; vouliez-vous dire « aid_due » ?"]
    got = problems(client.post("/evaluate", json={"case": {"physician": GP}, "on": "2024-07-01", "outputs": ["xyz"]}))
    assert got[0].startswith("outputs: résultat inconnu « xyz » dans le texte convention_2024 ; résultats : eligible, ")


@pytest.mark.parametrize("body, status, needle", [
    (b"", 400, "corps vide : un objet JSON est attendu"),
    (b"{not json", 400, "JSON invalide, ligne 1, colonne 2 : un nom de champ entre guillemets est attendu"),
    (b"[1, 2]", 422, "pas une liste"),
    (b'{"physician": {"patients_mt": NaN}}', 422, "NaN : pas un nombre qu'un cas puisse contenir"),
    (b'{"physician": {"patients_mt": 1e999999}}', 422, "1e999999 : nombre hors limites"),
    (b'{"physician": [' + b"[" * 20000 + b"]" * 20000 + b"]}", 400, "JSON invalide : imbrication trop profonde"),
    (b'{"physician": {"patients_mt": ' + b"9" * 5000 + b"}}", 400, "JSON invalide : nombre entier trop long"),
    (b"\xff\xfe", 400, "le corps n'est pas du texte UTF-8"),
    # a lone surrogate is JSON syntax but no character: echoed in "unknown field", it gave a 500
    (b'{"\\ud800physician": {}}', 400, "\\\\ud800 est la moitié d'une paire de substitution UTF-16"),
    (b'{"physician": {"specialty": ["\\udfff"]}}', 400, "\\\\udfff est la moitié"),
])
def test_malformed_bodies_get_4xx_never_500(client, body, status, needle):
    r = client.post("/options", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in json.dumps(r.json(), ensure_ascii=False)


def test_body_over_the_limit_is_413():
    with TestClient(create_app(shipped_registry(), max_body=1024), base_url=BASE) as small:
        r = small.post("/options", json={"physician": {**GP, "padding": "x" * 2000}})
        assert r.status_code == 413
        assert r.json() == {"error": "corps de la requête trop volumineux : au plus 1024 octets"}

        def chunks():  # no Content-Length: counted while read
            yield b'{"physician": {"x": "'
            yield b"x" * 2000
            yield b'"}}'
        r = small.post("/options", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


# ---------------------------------------------------------------- rulesets, spec, page

def test_rulesets_timeline(client):
    rows = client.get("/rulesets").json()
    assert [(r["id"], r["effective_from"], r["effective_until"]) for r in rows] == [
        ("avenant7_2019", "2019-08-21", "2023-04-30"),
        ("reglement_arbitral_2023", "2023-05-01", "2024-06-21"),
        ("convention_2024", "2024-06-22", None),
    ]


def test_ruleset_detail_gives_inputs_and_french_labels(client):
    detail = client.get("/rulesets/convention_2024").json()
    assert detail["amends"] == "reglement_arbitral_2023"
    inputs = {i["path"]: i for i in detail["inputs"]}
    assert inputs["physician.sector"] == {"path": "physician.sector", "label": "Secteur conventionnel",
                                          "type": "int", "optional": False, "min": "1", "max": "2"}
    assert inputs["physician.priority_zone"]["optional"] is True  # no longer required since 2023
    assert inputs["physician.specialty"]["enum"] == "specialty"
    members = {m["name"]: m["label"] for m in detail["enums"]["option"]["members"]}
    assert members["double"] == "2 ETP (second assistant)"
    assert "options" in detail["outputs"]
    r = client.get("/rulesets/convention_2042")
    assert r.status_code == 404
    assert r.json() == {"error": "aucun texte « convention_2042 » ; vouliez-vous dire « convention_2024 » ?"}


def test_openapi_describes_the_endpoints(client):
    spec = client.get("/openapi.json").json()
    assert {"/evaluate", "/options", "/rulesets", "/rulesets/{ruleset_id}"} <= set(spec["paths"])
    body = spec["paths"]["/evaluate"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == {"case", "on", "outputs", "explain", "partial", "official_only",
                                                 "assume"}
    assert {"/contract", "/questions", "/why"} <= set(spec["paths"])
    options_body = json.dumps(spec["paths"]["/options"]["post"]["requestBody"], ensure_ascii=False)
    assert "Fichiers d'hypothèses, sous forme de textes" in options_body
    assert {"413", "415"} <= set(spec["paths"]["/options"]["post"]["responses"])


def test_the_api_documentation_s_titles_are_french(client):
    # pydantic and FastAPI title every schema and field from its identifier (« Official Only »,
    # « Response Evaluate Endpoint Evaluate Post », « HTTPValidationError »): the titles are given
    spec = json.dumps(client.get("/openapi.json").json(), ensure_ascii=False)
    assert set(re.findall(r'"title": "([^"]*)"', spec)) == {
        "Millésime", "Requête : évaluer un cas", "Requête : les options d'un médecin sans contrat",
        "Requête : un contrat en cours", "Requête : les données qui manquent", "Requête : l'explication d'un résultat",
        "Erreur", "Message", "Problèmes", "Cas", "Cas partiel", "Date", "Explication", "Hypothèses", "Médecin",
        "Résultat", "Résultats", "Sources officielles seules", "Identifiant du texte"}
    assert "ValidationError" not in spec


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css")]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert client.get("/static/nothing.js").status_code == 404


def test_a_wrong_method_gets_405_with_the_allowed_methods(client):
    # found by the API fuzzer (tests/fuzz/test_api_fuzz.py): the 405 lost its `Allow` header
    r = client.put("/evaluate", json={})
    assert r.status_code == 405 and r.json() == {"error": "méthode PUT non autorisée ici (acceptée : POST)"}
    assert r.headers["allow"] == "POST"
    assert client.delete("/rulesets").headers["allow"] == "GET"


# ---------------------------------------------------------------- hostile clients (issue 16)

@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_body_not_declared_as_json_gets_415(client, content_type):
    # what a web page can post to a local server without the browser asking it first (no preflight)
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/options", content=json.dumps({"physician": GP, "on": "2024-07-01"}), headers=headers)
    assert r.status_code == 415
    given = f"« {content_type.split(';')[0].lower()} »" if content_type else "aucun"
    assert r.json() == {"error": f"type de contenu non pris en charge ({given}) : envoyez le corps en JSON, avec "
                                 "l'en-tête Content-Type: application/json"}


def test_json_content_types_are_accepted(client):
    for content_type in ["application/json", "application/json; charset=utf-8", "Application/JSON",
                         "application/problem+json"]:
        r = client.post("/options", content=json.dumps({"physician": GP, "on": "2024-07-01"}),
                        headers={"content-type": content_type})
        assert r.status_code == 200, (content_type, r.text)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.2",
                                  "[::2]:8000", ""])
def test_a_host_the_server_does_not_serve_is_refused(client, host):
    # DNS rebinding: a remote page whose name now points at 127.0.0.1 sends its own name as Host
    r = client.get("/rulesets", headers={"host": host})
    assert r.status_code == 400
    named = {"evil.example:8000": "evil.example", "[::2]:8000": "::2"}.get(host, host)
    shown = f"« {named} »" if host else "absent"
    assert r.json() == {"error": f"hôte non autorisé ({shown}) : ce serveur ne répond qu'aux noms pour lesquels il "
                                 "est lancé (localhost, et ceux donnés par millesime serve --allowed-host)"}
    assert client.post("/options", json={"physician": GP}, headers={"host": host}).status_code == 400
    assert client.get("/", headers={"host": host}).status_code == 400


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "LOCALHOST.", "127.0.0.1:8000", "[::1]:8000"])
def test_localhost_names_are_served(client, host):
    assert client.get("/rulesets", headers={"host": host}).status_code == 200


def test_allowed_hosts_are_added_to_localhost():
    app = create_app(shipped_registry(), allowed_hosts=["millesime.example.org"])
    with TestClient(app, base_url="http://millesime.example.org") as c:
        assert c.get("/rulesets").status_code == 200
        assert c.get("/rulesets", headers={"host": "localhost:8000"}).status_code == 200
        assert c.get("/rulesets", headers={"host": "example.org"}).status_code == 400


@pytest.mark.parametrize("field", ["patients_mt", "file_active", "sector"])
def test_a_boolean_is_not_a_number(client, field):
    # `true` was read as 1: a count, a sector, an amount take numbers only
    got = problems(client.post("/options", json={"physician": {**GP, field: True}, "on": "2024-07-01"}))
    assert got == [f"physician.{field}: une valeur oui/non n'est pas un nombre (reçu : true)"]
    got = problems(client.post("/evaluate", json={"case": {"physician": {**GP, field: False}}, "on": "2024-07-01"}))
    assert got == [f"case.physician.{field}: une valeur oui/non n'est pas un nombre (reçu : false)"]


def test_the_in_force_cache_stays_bounded():
    # a long-lived server is asked about any date: the dates remembered must not grow without end
    from engine.registry import IN_FORCE_CACHE_SIZE, Registry
    registry = Registry.load()
    day = dt.date(2019, 9, 1)
    for n in range(3 * IN_FORCE_CACHE_SIZE):
        assert registry.in_force(day + dt.timedelta(days=n % 20000)).model.id
    assert 0 < len(registry._in_force_cache) <= IN_FORCE_CACHE_SIZE
    assert registry.in_force(dt.date(2020, 1, 1)).model.id == "avenant7_2019"
    assert registry.in_force(dt.date(2024, 6, 22)).model.id == "convention_2024"


def test_the_api_fuzzers_run_without_schemathesis(tmp_path):
    # the whole module used to be skipped when schemathesis was missing, our own fuzzers with it
    import subprocess
    import sys
    from pathlib import Path
    blocker = tmp_path / "schemathesis"
    blocker.mkdir()
    (blocker / "__init__.py").write_text(  # as if it were not installed
        'raise ModuleNotFoundError("No module named \'schemathesis\'", name="schemathesis")\n')
    repo = Path(__file__).parents[1]
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider",
                           "-p", "no:schemathesis", "tests/fuzz/test_api_fuzz.py",
                           "tests/fuzz/test_api_openapi_fuzz.py", "-rs"],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    collected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert {line.split("::")[1] for line in collected} == {
        "test_valid_cases_give_the_engine_json", "test_mutated_cases_give_a_result_or_name_the_fields",
        "test_mutated_physicians_on_options", "test_any_envelope_gets_a_result_or_a_clear_4xx",
        "test_broken_json_text_gets_a_clear_4xx", "test_any_ruleset_id_is_found_or_404"}, proc.stdout + proc.stderr
    assert "the `fuzz` extra (schemathesis) is not installed" in proc.stdout
