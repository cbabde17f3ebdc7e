"""A client of the REST API that knows it only through its OpenAPI schema: each call names an operation by
method and path template, and every answer is validated against what the schema declares for that
operation and status (JSON Schema 2020-12, problem+json for errors). An answer the schema does not
describe fails the test, so the schema is proven by a client that did not write it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema


class SchemaMismatch(AssertionError):
    pass


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, *, verify: Any = True):
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60, verify=verify)
        self.schema = self.http.get("/api/v1/openapi.json").raise_for_status().json()
        self.token = token

    def with_token(self, token: str | None) -> ApiClient:
        other = object.__new__(ApiClient)
        other.__dict__.update(self.__dict__)
        other.token = token
        return other

    def _operation(self, method: str, template: str) -> dict[str, Any]:
        operations = self.schema["paths"].get(template)
        if operations is None or method.lower() not in operations:
            raise SchemaMismatch(f"the schema has no {method} {template}")
        return operations[method.lower()]

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def call(
        self,
        method: str,
        template: str,
        *,
        path: dict[str, str] | None = None,
        params: Any = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        operation = self._operation(method, template)
        url = re.sub(r"\{(\w+)\}", lambda m: quote(path[m.group(1)], safe=""), template) if path else template
        answer = self.http.request(
            method, url, params=params, json=body, content=content, headers=self._headers(headers)
        )
        self.check(operation, answer, f"{method} {template}")
        return answer

    def check(self, operation: dict[str, Any], answer: httpx.Response, what: str) -> None:
        declared = operation["responses"].get(str(answer.status_code))
        if declared is None:
            raise SchemaMismatch(f"{what} answered {answer.status_code}, which the schema does not declare")
        media = answer.headers.get("content-type", "").split(";")[0]
        content = declared.get("content")
        if not content:
            return
        if media not in content:
            raise SchemaMismatch(f"{what} answered {media!r}; the schema says {sorted(content)}")
        schema = content[media].get("schema")
        if schema is None or media == "text/event-stream":
            return
        whole = {**schema, "components": self.schema.get("components", {})}
        try:
            jsonschema.validate(answer.json(), whole, cls=jsonschema.Draft202012Validator)
        except jsonschema.ValidationError as exc:
            raise SchemaMismatch(f"{what} {answer.status_code}: {exc.message} at {list(exc.absolute_path)}") from None

    def events(self, template: str, path: dict[str, str]) -> Iterator[tuple[str, Any]]:
        """A Server-Sent Events stream as (event, data) pairs, read to its end."""
        self._operation("GET", template)
        url = re.sub(r"\{(\w+)\}", lambda m: quote(path[m.group(1)], safe=""), template)
        with self.http.stream("GET", url, headers=self._headers(None), timeout=300) as answer:
            assert answer.status_code == 200, answer.read()
            assert answer.headers["content-type"].startswith("text/event-stream")
            event, data = None, []
            for line in answer.iter_lines():
                if line == "":
                    if event is not None:
                        yield event, json.loads("\n".join(data))
                    event, data = None, []
                elif line.startswith(":"):
                    continue
                elif line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    data.append(line[len("data: ") :])
