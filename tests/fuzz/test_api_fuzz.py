"""API fuzzing (issue 8): whatever request `millesime serve` gets, the answer is a result or a
clear 4xx — never a 5xx.

Our own bodies, posted in process over ASGI (no network) with TestClient: valid cases and
physicians, the mutated cases of test_case_fuzz, broken envelopes and broken JSON text. A 200 of
/evaluate is exactly the engine's JSON for the same case; a 422 names the same fields as the
engine's refusal. They need the `serve` extra only; the fuzzer driven by the OpenAPI description
(schemathesis, the `fuzz` extra) is test_api_openapi_fuzz.py, skipped alone without it.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import warnings
from decimal import Decimal
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi", reason="the `serve` extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="the `serve` extra (httpx, for TestClient) is not installed")

from hypothesis import given, strategies as st  # noqa: E402

with warnings.catch_warnings():  # starlette's notice about its future test client, not ours to fix
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from engine.case import CaseError  # noqa: E402
from engine.interpreter import evaluate  # noqa: E402
from engine.registry import NoRulesetError  # noqa: E402
from engine.server import MAX_BODY, MAX_EXPONENT, create_app  # noqa: E402
from engine.values import EvaluationError  # noqa: E402

from .conftest import fuzz, tried  # noqa: E402
from .test_case_fuzz import BASES, REGISTRY, mutated_cases  # noqa: E402
from .test_properties import valid_cases  # noqa: E402

APP = create_app(REGISTRY, allowed_hosts=["testserver"])  # TestClient's Host
CLIENT = TestClient(APP, raise_server_exceptions=False)  # a bug must show as a 500, not as an exception here
STATUSES = {200, 400, 404, 413, 422}


# ---------------------------------------------------------------- our own bodies

def to_json(value) -> str:
    """JSON text of a case, Decimals written as they are (never through a float), dates as text."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set)):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return "NaN" if value.is_nan() else str(value)  # Infinity too: the server must refuse both
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    if isinstance(value, float):
        return json.dumps(value)  # nan and inf as NaN / Infinity: the server must refuse them
    return json.dumps(value)


def parsed(text: str):
    """What the server reads from `text` (numbers with a fraction as exact Decimals); NaN and
    Infinity are no numbers a case can hold, nor 1e999 (ValueError, as for broken JSON)."""
    return json.loads(text, parse_float=_number, parse_constant=_no_constant)


def _number(text: str) -> Decimal:
    value = Decimal(text)
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise ValueError(text)
    return value


def _no_constant(name: str):
    raise ValueError(name)


def post(path: str, text: str | bytes):
    content = text.encode("utf-8") if isinstance(text, str) else text
    response = CLIENT.post(path, content=content, headers={"content-type": "application/json"})
    tried(f"api: own bodies → {response.status_code}")
    assert response.status_code in STATUSES, (path, content[:500], response.status_code, response.text[:2000])
    assert "Traceback" not in response.text
    body = response.json()
    if response.status_code != 200:
        assert isinstance(body, dict) and set(body) <= {"error", "problems"}, body
        assert isinstance(body["error"], str) and body["error"].strip(), body
        if "problems" in body:
            assert body["problems"] and all(isinstance(p, str) and p.strip() for p in body["problems"]), body
    return response.status_code, body


def engine_outcome(case, on: dt.date):
    """What the engine itself says of the case: ("ok", JSON) or ("invalid", problems) or ("refused", None)."""
    try:
        return "ok", json.loads(json.dumps(evaluate(case, on, REGISTRY).to_json(), ensure_ascii=False))
    except CaseError as exc:
        return "invalid", exc.problems
    except (NoRulesetError, EvaluationError):
        return "refused", None


def check_evaluate(case, on) -> None:
    """/evaluate agrees with the engine on the case the server reads from the same JSON text."""
    text = '{"case": ' + to_json(case) + ', "on": ' + to_json(on) + "}"
    status, body = post("/evaluate", text)
    sent = parsed(text) if _parses(text) else None
    if sent is None or not isinstance(sent.get("case"), dict):
        assert status in (400, 422)
        return
    kind, expected = engine_outcome(sent["case"], on)
    if kind == "ok":
        assert status == 200 and body == expected
    elif kind == "invalid":
        # the engine's problems, in French (engine/case.py), as the engine words them
        assert status == 422 and body["problems"] == [f"case.{p}" for p in expected]
        assert not any(p.endswith(": valeur invalide") or ": valeur invalide (reçu" in p for p in body["problems"]), \
            (expected, body["problems"])
    else:
        assert status == 422


def _parses(text: str) -> bool:
    try:
        parsed(text)
    except ValueError:
        return False
    return True


@fuzz(80, deadline_ms=5000)
@given(valid_cases())
def test_valid_cases_give_the_engine_json(sample):
    tried("api: valid cases (/evaluate, /options)")
    case, on = sample
    check_evaluate(case, on)
    status, body = post("/options", '{"physician": ' + to_json(case["physician"]) + ', "on": ' + to_json(on) + "}")
    assert status == 200 and body["ruleset"]["id"] == REGISTRY.in_force(on).model.id


@fuzz(150, deadline_ms=5000)
@given(mutated_cases())
def test_mutated_cases_give_a_result_or_name_the_fields(sample):
    tried("api: mutated cases (/evaluate)")
    check_evaluate(*sample)


@fuzz(60, deadline_ms=5000)
@given(mutated_cases())
def test_mutated_physicians_on_options(sample):
    tried("api: mutated physicians (/options)")
    case, on = sample
    physician = case.get("physician", {})
    status, body = post("/options", '{"physician": ' + to_json(physician) + ', "on": ' + to_json(on) + "}")
    if status == 200:
        assert body["eligible"] is not None and "why" in body


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**40, 10**40), st.text(max_size=20),
              st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str).map(Decimal),
              st.sampled_from(["2024-07-01", "2024-02-30", "01/07/2024", "convention_2024", "annual_aid", "eligible"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
ENVELOPE_KEYS = ["case", "physician", "on", "outputs", "physicien", "date", ""]


@st.composite
def envelopes(draw):
    """A body of the right, wrong or mixed shape: known and unknown fields with any JSON value."""
    case, on = draw(st.sampled_from(BASES))
    body = {}
    if draw(st.booleans()):
        body["case" if draw(st.booleans()) else "physician"] = copy.deepcopy(
            case if draw(st.booleans()) else case.get("physician", {}))
    if draw(st.booleans()):
        body["on"] = on
    for key in draw(st.lists(st.sampled_from(ENVELOPE_KEYS), max_size=3)):
        body[key] = draw(JSON_VALUES)
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)  # not even an object
    return body


@fuzz(150, deadline_ms=5000)
@given(envelopes(), st.sampled_from(["/evaluate", "/options"]))
def test_any_envelope_gets_a_result_or_a_clear_4xx(body, path):
    tried("api: envelopes of any shape")
    post(path, to_json(body))


BYTES_TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"\\ud800", b"NaN", b"-Infinity", b"1e99999",
                b"9" * 5000, b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"null", b"true", b" " * 100,
                b"[" * 5000, b'{"a":' * 900]


@fuzz(150, deadline_ms=5000)
@given(st.sampled_from(BASES), st.sampled_from(["/evaluate", "/options"]),
       st.lists(st.tuples(st.integers(0, 4000), st.sampled_from(BYTES_TOKENS), st.integers(0, 3)), min_size=1,
                max_size=4))
def test_broken_json_text_gets_a_clear_4xx(sample, path, edits):
    tried("api: broken JSON text")
    case, on = sample
    body = {"case": case, "on": on} if path == "/evaluate" else {"physician": case.get("physician", {}), "on": on}
    raw = to_json(body).encode("utf-8")
    for at, token, cut in edits:
        at = min(at, len(raw))
        raw = raw[:at] + token + raw[at + cut:]  # insert, or replace a few bytes
    post(path, raw[:MAX_BODY + 100])


@fuzz(60, deadline_ms=5000)
@given(st.text(max_size=40).filter(lambda n: n not in ("", ".", "..")))  # those are other URLs
def test_any_ruleset_id_is_found_or_404(name):
    tried("api: ruleset ids")
    response = CLIENT.get("/rulesets/" + quote(name, safe=""))
    assert response.status_code in (200, 404, 405), response.text
    assert response.status_code != 200 or name in REGISTRY.entries
    if response.status_code == 404:
        assert set(response.json()) == {"error"}
