"""Cleanup plans and their items: the journal that makes apply and undo resumable after a crash."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from syncoxide.catalog.cleanup import Candidate, CleanupSpec
from syncoxide.errors import NotFound


class PlanItem(BaseModel):
    plan_id: str
    seq: int
    path: str
    reason: str
    size: int
    mtime_ns: int
    hash_kind: str | None = None
    hash: str | None = None
    keep_path: str | None = None
    state: str
    note: str | None = None


class Plan(BaseModel):
    id: str
    created_at: datetime
    status: str
    trash_dir: str
    keep_until: datetime | None
    spec: CleanupSpec
    summary: dict

    @property
    def root(self) -> str:
        """The source root the plan's items are below: trash_dir is <root>/<trash folder>/<plan id>."""
        return os.path.dirname(os.path.dirname(self.trash_dir.rstrip("/")))


def create(conn: psycopg.Connection, spec: CleanupSpec, candidates: list[Candidate], trash_root: str) -> Plan:
    plan_id = f"cleanup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    summary: dict[str, dict[str, int]] = {}
    for c in candidates:
        entry = summary.setdefault(c.reason, {"items": 0, "bytes": 0})
        entry["items"] += 1
        entry["bytes"] += c.size
    with conn.transaction():
        conn.execute(
            "INSERT INTO cleanup_plans (id, status, trash_dir, spec, summary) VALUES (%s, 'planned', %s, %s, %s)",
            (plan_id, f"{trash_root}/{plan_id}", Jsonb(spec.model_dump()), Jsonb(summary)),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO cleanup_items (plan_id, seq, path, reason, size, mtime_ns, hash_kind, hash, keep_path)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (plan_id, i, c.path, c.reason, c.size, c.mtime_ns, c.hash_kind, c.hash, c.keep_path)
                    for i, c in enumerate(candidates)
                ],
            )
    return get(conn, plan_id)


def _plans(conn: psycopg.Connection, where: str, args: tuple) -> list[Plan]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT id, created_at, status, trash_dir, keep_until, spec, summary FROM cleanup_plans {where}", args
        ).fetchall()
    return [Plan.model_validate(r) for r in rows]


def get(conn: psycopg.Connection, plan_id: str) -> Plan:
    found = _plans(conn, "WHERE id = %s", (plan_id,))
    if not found:
        raise NotFound(f"no cleanup plan {plan_id} (see: syncoxide cleanup list)")
    return found[0]


def list_plans(conn: psycopg.Connection, limit: int = 50) -> list[Plan]:
    return _plans(conn, "ORDER BY created_at DESC LIMIT %s", (limit,))


def items(
    conn: psycopg.Connection,
    plan_id: str,
    states: list[str] | None = None,
    *,
    after: int | None = None,
    limit: int | None = None,
) -> list[PlanItem]:
    """A plan's items by seq; only those past seq ``after``, at most ``limit`` (a page)."""
    query = "SELECT * FROM cleanup_items WHERE plan_id = %s"
    args: list = [plan_id]
    if states:
        query += " AND state = ANY(%s)"
        args.append(states)
    if after is not None:
        query += " AND seq > %s"
        args.append(after)
    query += " ORDER BY seq"
    if limit is not None:
        query += " LIMIT %s"
        args.append(limit)
    with conn.cursor(row_factory=dict_row) as cur:
        return [PlanItem.model_validate(r) for r in cur.execute(query, args)]


def set_item(conn: psycopg.Connection, item: PlanItem, state: str, note: str | None = None) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE cleanup_items SET state = %s, note = %s WHERE plan_id = %s AND seq = %s",
            (state, note, item.plan_id, item.seq),
        )
    item.state, item.note = state, note


def set_status(conn: psycopg.Connection, plan: Plan, status: str) -> None:
    keep_until = plan.keep_until
    if status == "applied":
        keep_until = datetime.now(UTC) + timedelta(days=plan.spec.keep_days)
    with conn.transaction():
        conn.execute(
            "UPDATE cleanup_plans SET status = %s, keep_until = %s WHERE id = %s", (status, keep_until, plan.id)
        )
    plan.status, plan.keep_until = status, keep_until


def expired(conn: psycopg.Connection, now: datetime) -> list[Plan]:
    return _plans(conn, "WHERE status = 'applied' AND keep_until < %s ORDER BY keep_until", (now,))
