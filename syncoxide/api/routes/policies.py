"""Policy files over HTTP (admin): ``plan`` shows, as data, what ``apply`` would create, change or remove,
and names the plan with a digest; ``apply`` applies only the plan that digest names, so what is applied
is what was reviewed (a plan that changed meanwhile is a 409). The files are sent in the body: they are
validated exactly as `syncoxide policy plan` validates files on disk (every problem, with file and line),
except that a sync side must be an absolute path, since a file sent over HTTP lies nowhere.

An admin token can do what a policy file can, which includes hooks and stream commands the workers run."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from syncoxide.api.auth import Admin
from syncoxide.api.context import Ctx
from syncoxide.api.problems import ApiProblem
from syncoxide.fs.private import write_private

router = APIRouter(prefix="/api/v1/policies", tags=["policies"])

FILE_MAX = 1024 * 1024


class PolicyFileUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$",
        description="its name, for messages",
        examples=["home.yaml"],
    )
    content: str = Field(max_length=FILE_MAX, description="the YAML text")


class PolicyFiles(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[PolicyFileUpload] = Field(min_length=1, max_length=100)


class PlannedChange(BaseModel):
    kind: str = Field(description="repository, policy, check or sync")
    name: str
    action: str = Field(description="create, update, remove or unchanged")
    detail: str = ""


class Plan(BaseModel):
    plan: str = Field(description="this plan's digest: give it to apply")
    changes: list[PlannedChange]


class ApplyRequest(PolicyFiles):
    plan: str = Field(pattern=r"^[0-9a-f]{64}$", description="the digest plan answered for these files")


class Applied(BaseModel):
    applied: list[PlannedChange]


async def _planned(ctx: Ctx, body: PolicyFiles):
    from syncoxide.policies import apply as policy_apply
    from syncoxide.policies import loader

    names = [f.name for f in body.files]
    if len(set(names)) != len(names):
        raise ApiProblem(422, "body.files: two files of the same name", field="body.files")
    with tempfile.TemporaryDirectory(prefix="sx-policy-") as folder:
        paths = []
        for upload in body.files:
            path = Path(folder) / upload.name
            write_private(path, upload.content.encode())
            paths.append(path)
        try:
            desired = loader.load(paths, relative_to_files=False)
        except loader.PolicyErrors as exc:
            raise ApiProblem(
                422, f"{len(exc.problems)} problem(s): {exc.problems[0]}", field="body.files", problems=exc.problems
            ) from None
    changes = await policy_apply.plan(ctx.settings, desired)
    rows = [PlannedChange(**row) for row in policy_apply.as_rows(changes)]
    digest = hashlib.sha256(
        json.dumps([body.model_dump(include={"files"}), [r.model_dump() for r in rows]], sort_keys=True).encode()
    ).hexdigest()
    return desired, changes, Plan(plan=digest, changes=rows)


@router.post("/plan", response_model=Plan, summary="What applying these policy files would change")
async def plan_policies(body: PolicyFiles, ctx: Ctx, caller: Admin) -> Plan:
    return (await _planned(ctx, body))[2]


@router.post("/apply", response_model=Applied, summary="Apply the plan these files gave")
async def apply_policies(body: ApplyRequest, ctx: Ctx, caller: Admin) -> Applied:
    from syncoxide.policies import apply as policy_apply

    desired, changes, now = await _planned(ctx, body)
    if now.plan != body.plan:
        raise ApiProblem(
            409, "body.plan: the plan changed since it was made; plan again and review it", field="body.plan"
        )
    done = await policy_apply.apply(ctx.settings, desired, changes, yes=True)
    return Applied(applied=[PlannedChange(**row) for row in policy_apply.as_rows(done)])
