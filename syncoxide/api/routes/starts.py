"""Starting long work: ``POST /api/v1/backups`` and ``POST /api/v1/restores`` start a workflow and answer
202 with the run id, a ``Location`` (the run) and where its events stream.

An ``Idempotency-Key`` header makes a retried POST start nothing twice: the key (with the token that
sent it) names the workflow, Temporal refuses a second workflow of that id even after the first one
ended, and the retry gets the first run back. The same key with a different body is refused (422).

What may be started here is narrower than a policy file: files only (no stream command, database URL,
hooks or passphrase reference in the request), so an operate token cannot make a worker run a command.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from temporalio.exceptions import WorkflowAlreadyStartedError

from syncoxide.api.audit import note
from syncoxide.api.auth import Caller, Operator
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.api.problems import ApiProblem
from syncoxide.api.routes.repositories import find
from syncoxide.contract.payloads import BackupRequest, RestoreRequest
from syncoxide.errors import InvalidInput
from syncoxide.models import BackupOptions, Overwrite, Repository, RunKind

router = APIRouter(prefix="/api/v1", tags=["runs"])

IDEMPOTENCY_PATTERN = r"^[\x21-\x7e]{1,255}$"
IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=IDEMPOTENCY_PATTERN,
        description="any 1-255 printable ASCII characters; a retry with the same key starts nothing new",
    ),
]
MEMO_REQUEST = "syncoxide-request"


class BackupStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(description="the repository's name or id", examples=["nas"])
    sources: list[str] = Field(
        min_length=1, description="absolute paths of folders or files to back up", examples=[["/home/me"]]
    )
    options: BackupOptions = Field(default_factory=BackupOptions)


class RestoreStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(description="the repository's name or id", examples=["nas"])
    snapshot: str = Field(min_length=1, description="the snapshot's id (borg: the archive name)")
    target: str = Field(description="an absolute folder inside the allowed restore roots", examples=["/tmp/r"])
    paths: list[str] = Field(
        default_factory=list, description="only these absolute paths of the snapshot (stored form of names)"
    )
    strip_components: int = Field(0, ge=0, le=1000, description="leading path components to drop")
    overwrite: Overwrite = Overwrite.never


class Started(BaseModel):
    run_id: str
    kind: RunKind
    run: str = Field(description="the run's URL")
    events: str = Field(description="its Server-Sent Events")
    replayed: bool = Field(False, description="true when an Idempotency-Key found a run started before")


def _absolute(field: str, paths: list[str]) -> None:
    for index, path in enumerate(paths):
        if not path.startswith("/"):
            raise ApiProblem(422, f"{field}.{index}: must be an absolute path", field=f"{field}.{index}")


def _invalid(field: str, exc: InvalidInput) -> ApiProblem:
    return ApiProblem(422, f"{field}: {exc}", field=field)


async def start_run(
    ctx: ApiContext,
    request: Request,
    response: Response,
    caller: Caller,
    kind: RunKind,
    repository: Repository | None,
    payload: BaseModel,
    body: BaseModel,
    key: str | None,
    *,
    source_id: str | None = None,
) -> Started:
    """Start the run's workflow (once per idempotency key), note it in the audit entry, answer where it is."""
    from syncoxide.orchestration import client as temporal

    client = await ctx.temporal()
    digest = hashlib.sha256(f"{kind}\0{body.model_dump_json()}".encode()).hexdigest()
    run_id = None
    if key is not None:
        keyed = hashlib.sha256(caller.token_id.encode() + b"\0" + key.encode()).hexdigest()[:32]
        run_id = f"{kind}-key-{keyed}"
    replayed = False
    try:
        handle = await temporal.start(
            client,
            ctx.settings,
            kind,
            repository,
            payload,
            run_id=run_id,
            memo={MEMO_REQUEST: digest},
            source_id=source_id,
        )
        run_id = handle.id
    except WorkflowAlreadyStartedError:
        assert run_id is not None  # only a chosen id can have been started before
        described = await client.get_workflow_handle(run_id).describe()
        if await described.memo_value(MEMO_REQUEST, None, type_hint=str) != digest:
            raise ApiProblem(
                422, "header.Idempotency-Key: used before for a different request", field="header.Idempotency-Key"
            ) from None
        replayed = True
    note(request, run_id=run_id, replayed=replayed)
    run = str(request.url_for("show_run", run_id=run_id))
    response.headers["Location"] = run
    return Started(
        run_id=run_id,
        kind=kind,
        run=run,
        events=str(request.url_for("run_events", run_id=run_id)),
        replayed=replayed,
    )


@router.post("/backups", status_code=202, response_model=Started, summary="Start a backup")
async def start_backup(
    body: BackupStart,
    request: Request,
    response: Response,
    ctx: Ctx,
    caller: Operator,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    from syncoxide.engines import compression

    _absolute("body.sources", body.sources)
    if body.options.policy is not None:
        raise ApiProblem(422, "body.options.policy: set by policies, not by a request", field="body.options.policy")
    try:
        compression.parse(body.options.compression)
    except InvalidInput as exc:
        raise _invalid("body.options.compression", exc) from None
    repository = await find(ctx, body.repository)
    payload = BackupRequest(repository_id=repository.id, sources=body.sources, options=body.options)
    return await start_run(ctx, request, response, caller, RunKind.backup, repository, payload, body, idempotency_key)


@router.post("/restores", status_code=202, response_model=Started, summary="Start a restore")
async def start_restore(
    body: RestoreStart,
    request: Request,
    response: Response,
    ctx: Ctx,
    caller: Operator,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    """The target must lie inside the restore roots the dashboard uses (SYNCOXIDE_RESTORE_ROOTS); the restore
    never writes through a symlink and verifies every file against the snapshot's listing."""
    from syncoxide.backups.restore_destination import check_destination

    try:
        target = check_destination(body.target, ctx.settings.restore_roots)
    except InvalidInput as exc:
        raise _invalid("body.target", exc) from None
    _absolute("body.paths", body.paths)
    repository = await find(ctx, body.repository)
    payload = RestoreRequest(
        repository_id=repository.id,
        snapshot_id=body.snapshot,
        target=str(target),
        paths=body.paths,
        strip_components=body.strip_components,
        overwrite=body.overwrite,
    )
    return await start_run(ctx, request, response, caller, RunKind.restore, repository, payload, body, idempotency_key)
