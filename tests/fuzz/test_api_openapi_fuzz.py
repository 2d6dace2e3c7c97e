"""API fuzzing from the OpenAPI description (issue 8): schemathesis, driven by the app's own
/openapi.json — every operation, valid and invalid requests (bodies, path parameters, wrong
methods), in process over ASGI. Checked: no server error, status codes, content types, headers
and bodies as declared, invalid data refused. Not checked: that every schema-valid body is
accepted — the spec describes a case as any object (its fields depend on the ruleset in force on
the date), so most schema-valid bodies are not valid cases and a 422 is the right answer.

Needs the `fuzz` extra (schemathesis); skipped without it. The other API fuzzers
(test_api_fuzz.py) do not need it.
"""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the `serve` extra (fastapi) is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="the `fuzz` extra (schemathesis) is not installed")

from engine.server import create_app  # noqa: E402

from .conftest import fuzz, tried  # noqa: E402
from .test_case_fuzz import REGISTRY  # noqa: E402

APP = create_app(REGISTRY, allowed_hosts=["testserver", "localhost"])  # the Host schemathesis's client sends

SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
SCHEMA.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])


@SCHEMA.parametrize()
@fuzz(60, deadline_ms=5000)
def test_openapi_operations_never_give_a_server_error(case):
    response = case.call()
    tried("api: schemathesis requests")
    tried(f"api: schemathesis → {response.status_code}")
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
    # every check schemathesis has, but one: a case is "any object" in the spec (see the docstring)
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
