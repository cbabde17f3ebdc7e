"""Every error as RFC 9457 problem+json: a title, the status, one line of detail, and for bad input the
field that was wrong (``body.sources.0``, ``query.limit``), the way the CLI names a field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncoxide import errors

MEDIA_TYPE = "application/problem+json"
DETAIL_MAX = 500

STATUS_OF: tuple[tuple[type[errors.SyncoxideError], int], ...] = (
    (errors.NotFound, 404),
    (errors.RepositoryNotFound, 404),
    (errors.RepositoryExists, 409),
    (errors.RepositoryLocked, 409),
    (errors.WrongPassphrase, 422),
    (errors.SecretUnavailable, 422),
    (errors.InvalidInput, 422),
    (errors.ServiceUnavailable, 503),
)
"""a core error's HTTP status, first match wins; any other core error is a 500 with its one line"""

TITLES = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    410: "gone",
    413: "too large",
    415: "unsupported media type",
    422: "invalid input",
    429: "too many requests",
    500: "internal error",
    503: "unavailable",
}


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="for invalid input: where it was (body.x, query.y, path.z)")
    problems: list[str] | None = Field(None, description="every problem found, one line each (policy files)")


class ApiProblem(Exception):
    """Raised by a route to answer with a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        problems: list[str] | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers, self.problems = status, detail, field, headers, problems


def problem(
    status: int,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> JSONResponse:
    one_line = " ".join(detail.split())[:DETAIL_MAX]
    body = Problem(title=TITLES.get(status, "error"), status=status, detail=one_line, field=field, problems=problems)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: errors.SyncoxideError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(exc, kind)), 500)


def _field(location: tuple) -> str:
    return ".".join(str(part) for part in location)


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = _field(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    detail = f"{where}: {message[:1].lower()}{message[1:]}" + (f" (and {more} more)" if more > 0 else "")
    return problem(422, detail, field=where or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    @app.exception_handler(ApiProblem)
    async def _raised(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, field=exc.field, headers=exc.headers, problems=exc.problems)

    @app.exception_handler(errors.SyncoxideError)
    async def _core(request: Request, exc: errors.SyncoxideError) -> JSONResponse:
        return problem(status_of(exc), str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))
