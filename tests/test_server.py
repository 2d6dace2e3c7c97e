"""The HTTP API (`millesime serve`): expected values worked out by hand from the rulesets' tables.

Needs the `serve` extra (fastapi, httpx); skipped without it.
"""
import datetime as dt
import json

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


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(shipped_registry())) as c:
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
    under = client.post("/options", content=body("0.19999999999999999999"))
    at = client.post("/options", content=body("0.20"))
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
    assert got == ["physician.sector: input should be less than or equal to 2 (got 3)"]


def test_unknown_and_missing_fields(client):
    physician = {k: v for k, v in GP.items() if k != "optam"} | {"sectr": 1}
    got = problems(client.post("/evaluate", json={"case": {"physician": physician}, "on": "2024-07-01"}))
    assert any(p.startswith("case.physician.optam: required field missing") for p in got)
    assert any(p.startswith("case.physician.sectr: unknown field") and "sector" in p for p in got)
    got = problems(client.post("/options", json={"physicien": GP}))
    assert got[0].startswith("physicien: unknown field") and "physician" in got[0]
    assert "physician: required field missing" in got


def test_bad_enum_value(client):
    got = problems(client.post("/options", json={"physician": {**GP, "specialty": "generaliste"}, "on": "2024-07-01"}))
    assert got[0].startswith("physician.specialty: 'generaliste' is not a known specialty")


def test_dates(client):
    r = client.post("/options", json={"physician": GP, "on": "2010-01-01"})
    assert r.status_code == 422 and r.json()["error"].startswith("no ruleset in force on 2010-01-01")
    assert problems(client.post("/options", json={"physician": GP, "on": "01/07/2024"})) == \
        ['on: expected a date YYYY-MM-DD, got "01/07/2024"']
    assert problems(client.post("/options", json={"physician": GP, "on": "2024-02-30"}))[0].startswith("on:")


def test_unknown_output(client):
    got = problems(client.post("/evaluate", json={"case": {"physician": GP}, "on": "2024-07-01", "outputs": ["aide"]}))
    assert got[0].startswith("outputs: unknown output `aide`")


@pytest.mark.parametrize("body, status, needle", [
    (b"", 400, "empty body"),
    (b"{not json", 400, "invalid JSON at line 1, column 2"),
    (b"[1, 2]", 422, "not a list"),
    (b'{"physician": {"patients_mt": NaN}}', 422, "NaN: not a number"),
    (b'{"physician": {"patients_mt": 1e999999}}', 422, "number out of range"),
    (b'{"physician": [' + b"[" * 20000 + b"]" * 20000 + b"]}", 400, "invalid JSON"),
    (b"\xff\xfe", 400, "not UTF-8"),
    # a lone surrogate is JSON syntax but no character: echoed in "unknown field", it gave a 500
    (b'{"\\ud800physician": {}}', 400, "\\\\ud800 is half of a UTF-16 surrogate pair"),
    (b'{"physician": {"specialty": ["\\udfff"]}}', 400, "\\\\udfff is half"),
])
def test_malformed_bodies_get_4xx_never_500(client, body, status, needle):
    r = client.post("/options", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in json.dumps(r.json(), ensure_ascii=False)


def test_body_over_the_limit_is_413():
    with TestClient(create_app(shipped_registry(), max_body=1024)) as small:
        r = small.post("/options", json={"physician": {**GP, "padding": "x" * 2000}})
        assert r.status_code == 413 and "at most 1024 bytes" in r.json()["error"]

        def chunks():  # no Content-Length: counted while read
            yield b'{"physician": {"x": "'
            yield b"x" * 2000
            yield b'"}}'
        r = small.post("/options", content=chunks())
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
    assert r.status_code == 404 and "no ruleset `convention_2042`" in r.json()["error"]


def test_openapi_describes_the_endpoints(client):
    spec = client.get("/openapi.json").json()
    assert {"/evaluate", "/options", "/rulesets", "/rulesets/{ruleset_id}"} <= set(spec["paths"])
    body = spec["paths"]["/evaluate"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == {"case", "on", "outputs"}
    assert "413" in spec["paths"]["/options"]["post"]["responses"]


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
    assert r.status_code == 405 and r.json() == {"error": "Method Not Allowed"}
    assert r.headers["allow"] == "POST"
    assert client.delete("/rulesets").headers["allow"] == "GET"
