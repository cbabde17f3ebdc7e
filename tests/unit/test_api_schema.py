"""The checked-in OpenAPI schema is what the API serves, and it describes every error as problem+json."""

from __future__ import annotations

import json

from syncoxide.api import schema


def test_the_checked_in_schema_is_what_the_code_serves():
    assert schema.main(["--check"]) == 0, "docs/openapi.json is stale: run python -m syncoxide.api.schema"


def test_every_api_operation_declares_its_problems_and_no_fastapi_validation_shape():
    served = json.loads(schema.rendered())
    assert served["openapi"].startswith("3.1")
    assert "HTTPValidationError" not in served["components"]["schemas"]
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            wanted = {"401", "403", "422", "429", "503"} if path.startswith("/api/") else {"503"}
            assert wanted <= set(answers), (method, path)
            for status in wanted:
                assert set(answers[status]["content"]) == {"application/problem+json"}, (method, path, status)


def test_only_healthz_is_reachable_without_a_token():
    served = json.loads(schema.rendered())
    open_paths = [path for path in served["paths"] if not path.startswith("/api/v1/")]
    assert open_paths == ["/healthz"]
    for path, operations in served["paths"].items():
        for operation in operations.values():
            secured = "security" in operation
            assert secured == (path != "/healthz"), path


def test_the_schema_is_valid_openapi_and_names_each_calls_scope():
    from openapi_spec_validator import validate

    served = json.loads(schema.rendered())
    validate(served)
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            wanted = None if path == "/healthz" else {"read", "operate", "admin"}
            scope = operation.get("x-syncoxide-scope")
            assert (scope in wanted) if wanted else scope is None, (method, path, scope)
