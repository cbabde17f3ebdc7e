"""Sync pairs, their state (the last in-sync signatures of both sides), runs, and the journal."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from syncoxide.errors import InvalidInput
from syncoxide.secrets.in_locations import redacted
from syncoxide.sync.compare import Signature
from syncoxide.sync.state import FileState, PairState

StateRow = tuple[str, int, int, str | None, int, int, str | None]
"""a file's sync_state columns: path, src size, src mtime ns, src md5, dst size, dst mtime ns, dst md5"""

DIR_MARK = "/"
"""a directory's row: its path and this (no file path ends with it), sizes -1"""


# -- pairs -----------------------------------------------------------------------------------------


def ensure_pair(conn: psycopg.Connection, pair_id: str, mode: str, source: dict, destination: dict) -> None:
    with conn.transaction():
        row = conn.execute(
            "SELECT mode, source, destination FROM sync_pairs WHERE id = %s FOR UPDATE", (pair_id,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO sync_pairs (id, mode, source, destination) VALUES (%s, %s, %s, %s)",
                (pair_id, mode, Jsonb(source), Jsonb(destination)),
            )
        elif (row[1], row[2]) != (source, destination) or row[0] != mode:
            was, to = redacted(row[1].get("location")), redacted(row[2].get("location"))
            raise InvalidInput(
                f"sync pair {pair_id!r} already exists as {row[0]} from {was} to {to}; choose another --pair name"
            )


def get_pair(conn: psycopg.Connection, pair_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, mode, source, destination, baseline_at, spec_hash, origin FROM sync_pairs WHERE id = %s",
            (pair_id,),
        ).fetchone()


def declared_pairs(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Pairs applied from policy files, by name."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, mode, source, destination, baseline_at, spec_hash, origin FROM sync_pairs"
            " WHERE spec_hash IS NOT NULL ORDER BY id"
        ).fetchall()
    return {row["id"]: row for row in rows}


def declare_pair(
    conn: psycopg.Connection, pair_id: str, mode: str, source: dict, destination: dict, *, spec_hash: str, origin: str
) -> None:
    """Record a pair as applied from a policy file. New sides or a new mode make it a new pair under the old
    name: its state (and bisync baseline) is dropped, its runs stay."""
    with conn.transaction():
        row = conn.execute(
            "SELECT mode, source, destination FROM sync_pairs WHERE id = %s FOR UPDATE", (pair_id,)
        ).fetchone()
        if row is not None and (row[0], row[1], row[2]) != (mode, source, destination):
            conn.execute("DELETE FROM sync_state WHERE pair_id = %s", (pair_id,))
            conn.execute(
                "UPDATE sync_pairs SET mode = %s, source = %s, destination = %s, baseline_at = NULL WHERE id = %s",
                (mode, Jsonb(source), Jsonb(destination), pair_id),
            )
        conn.execute(
            "INSERT INTO sync_pairs (id, mode, source, destination, spec_hash, origin) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET spec_hash = EXCLUDED.spec_hash, origin = EXCLUDED.origin",
            (pair_id, mode, Jsonb(source), Jsonb(destination), spec_hash, origin),
        )


def undeclare_pair(conn: psycopg.Connection, pair_id: str) -> None:
    """The pair is no longer in any policy file; its state and runs stay."""
    conn.execute("UPDATE sync_pairs SET spec_hash = NULL, origin = NULL WHERE id = %s", (pair_id,))


def _held_locks(conn: psycopg.Connection) -> set[int]:
    """The advisory lock keys some session holds now (a bigint key is classid:objid, objsubid 1)."""
    rows = conn.execute(
        "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks"
        " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    ).fetchall()
    return {row[0] for row in rows}


def _settled(conn: psycopg.Connection, rows: list[dict[str, Any]], status: str, pair: str) -> list[dict[str, Any]]:
    """A run still marked running whose pair nobody holds the lock of died with its process: interrupted."""
    if not any(row[status] == "running" for row in rows):
        return rows
    held = _held_locks(conn)
    for row in rows:
        if row[status] == "running" and pair_lock_key(row[pair]) not in held:
            row[status] = "interrupted"
    return rows


def pairs_with_last_run(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every pair with its latest run's id, status, times, summary and error (None without a run), newest first;
    a run whose process died shows as interrupted."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT p.id, p.mode, p.source, p.destination, p.baseline_at, p.origin, p.created_at,"
            " r.id AS last_run, r.status AS last_status, r.dry_run AS last_dry_run, r.started_at AS last_started_at,"
            " r.finished_at AS last_finished_at, r.summary AS last_summary, r.error AS last_error FROM sync_pairs p"
            " LEFT JOIN LATERAL (SELECT * FROM sync_runs WHERE pair_id = p.id ORDER BY started_at DESC LIMIT 1) r"
            " ON true"
            " ORDER BY coalesce(r.started_at, p.created_at) DESC"
        ).fetchall()
    return _settled(conn, rows, "last_status", "id")


def baseline_at(conn: psycopg.Connection, pair_id: str) -> datetime | None:
    row = conn.execute("SELECT baseline_at FROM sync_pairs WHERE id = %s", (pair_id,)).fetchone()
    return row[0] if row else None


def pair_lock_key(pair_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"sync:{pair_id}".encode()).digest()[:8], "big", signed=True)


def try_lock(conn: psycopg.Connection, pair_id: str) -> bool:
    """A session-level advisory lock: one run per pair at a time, released if the process dies."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (pair_lock_key(pair_id),)).fetchone()
    assert row is not None  # a SELECT of a function answers one row
    return bool(row[0])


def unlock(conn: psycopg.Connection, pair_id: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (pair_lock_key(pair_id),))


# -- state -----------------------------------------------------------------------------------------


def _load_rows(conn: psycopg.Connection, pair_id: str) -> tuple[dict[str, StateRow], set[str]]:
    """The files both sides last agreed on, by path, and the directories both had (bisync's baseline), as stored;
    ``PgStateStore.load_state`` gives them as ``FileState``s."""
    files: dict[str, StateRow] = {}
    dirs: set[str] = set()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT path, src_size, src_mtime_ns, src_md5, dst_size, dst_mtime_ns, dst_md5"
            " FROM sync_state WHERE pair_id = %s",
            (pair_id,),
        )
        for row in cur:
            if row[0].endswith(DIR_MARK):
                dirs.add(row[0][: -len(DIR_MARK)])
            else:
                files[row[0]] = row
    return files, dirs


def replace_state(
    conn: psycopg.Connection,
    pair_id: str,
    rows: Iterable[StateRow],
    *,
    baseline: bool = False,
    dirs: Iterable[str] = (),
) -> None:
    """Swap in the new state in one transaction (and mark the baseline as made, for bisync)."""
    with conn.transaction():
        conn.execute("DELETE FROM sync_state WHERE pair_id = %s", (pair_id,))
        with conn.cursor().copy(
            "COPY sync_state (pair_id, path, src_size, src_mtime_ns, src_md5, dst_size, dst_mtime_ns, dst_md5)"
            " FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row((pair_id, *row))
            for folder in dirs:
                copy.write_row((pair_id, folder + DIR_MARK, -1, 0, None, -1, 0, None))
        if baseline:
            conn.execute("UPDATE sync_pairs SET baseline_at = now() WHERE id = %s", (pair_id,))


# -- runs ------------------------------------------------------------------------------------------


def start_run(conn: psycopg.Connection, run_id: str, pair_id: str, mode: str, dry_run: bool) -> int:
    """Record a run; runs of the pair still marked running (their process died) become interrupted."""
    with conn.transaction():
        stale = conn.execute(
            "UPDATE sync_runs SET status = 'interrupted', finished_at = now()"
            " WHERE pair_id = %s AND status = 'running'",
            (pair_id,),
        ).rowcount
        conn.execute(
            "INSERT INTO sync_runs (id, pair_id, mode, status, dry_run) VALUES (%s, %s, %s, 'running', %s)",
            (run_id, pair_id, mode, dry_run),
        )
    return stale


def finish_run(conn: psycopg.Connection, run_id: str, status: str, summary: dict, error: str | None = None) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE sync_runs SET status = %s, finished_at = now(), summary = %s, error = %s WHERE id = %s",
            (status, Jsonb(summary), error, run_id),
        )


def recent_runs(conn: psycopg.Connection, pair_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs (of one pair), newest first; a run whose process died shows as interrupted."""
    where = "WHERE pair_id = %s" if pair_id else ""
    params: list[Any] = [pair_id] if pair_id else []
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT id, pair_id, mode, status, dry_run, started_at, finished_at, summary, error FROM sync_runs"
            f" {where} ORDER BY started_at DESC LIMIT %s",
            [*params, limit],
        ).fetchall()
    return _settled(conn, rows, "status", "pair_id")


# -- journal ---------------------------------------------------------------------------------------


def open_actions(conn: psycopg.Connection, pair_id: str) -> list[dict[str, Any]]:
    """Actions of earlier runs that were planned but never marked done (a crash, a failure)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT run_id, seq, action, state, progress, error FROM sync_journal"
            " WHERE pair_id = %s AND state IN ('planned', 'running', 'failed') ORDER BY run_id, seq",
            (pair_id,),
        ).fetchall()


def write_plan(
    conn: psycopg.Connection,
    run_id: str,
    pair_id: str,
    actions: Iterable[tuple[int, dict, dict]],
    supersede: bool = True,
) -> None:
    """Record every action before any runs; earlier open actions are superseded in the same transaction."""
    with conn.transaction():
        if supersede:
            conn.execute(
                "UPDATE sync_journal SET state = 'superseded', updated_at = now()"
                " WHERE pair_id = %s AND state IN ('planned', 'running', 'failed')",
                (pair_id,),
            )
        with conn.cursor().copy("COPY sync_journal (run_id, seq, pair_id, action, progress) FROM STDIN") as copy:
            for seq, action, progress in actions:
                copy.write_row((run_id, seq, pair_id, Jsonb(action), Jsonb(progress)))


def mark(conn: psycopg.Connection, run_id: str, seqs: list[int], state: str, error: str | None = None) -> None:
    if not seqs:
        return
    with conn.transaction():
        conn.execute(
            "UPDATE sync_journal SET state = %s, error = %s, updated_at = now() WHERE run_id = %s AND seq = ANY(%s)",
            (state, error, run_id, seqs),
        )


def checkpoint(conn: psycopg.Connection, run_id: str, seq: int, progress: dict) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE sync_journal SET state = 'running', progress = %s, updated_at = now()"
            " WHERE run_id = %s AND seq = %s",
            (Jsonb(progress), run_id, seq),
        )


def journal(conn: psycopg.Connection, run_id: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT seq, action, state, progress, error FROM sync_journal WHERE run_id = %s ORDER BY seq", (run_id,)
        ).fetchall()


# -- the runner's store ----------------------------------------------------------------------------


def _file_state(row: StateRow) -> FileState:
    path, size1, mtime1, md5_1, size2, mtime2, md5_2 = row
    return FileState(path, Signature(size1, mtime1, md5_1), Signature(size2, mtime2, md5_2))


def _state_row(file: FileState) -> StateRow:
    one, two = file.path1, file.path2
    return (file.path, one.size, one.mtime_ns, one.md5, two.size, two.mtime_ns, two.md5)


class PgStateStore:
    """The runner's ``StateStore`` (``syncoxide.sync.state_store``) on one connection; the pair's lock is a
    session-level advisory lock of that connection."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def ensure_pair(self, pair: str, mode: str, source: dict, destination: dict) -> None:
        ensure_pair(self.conn, pair, mode, source, destination)

    def try_lock(self, pair: str) -> bool:
        return try_lock(self.conn, pair)

    def unlock(self, pair: str) -> None:
        unlock(self.conn, pair)

    def has_baseline(self, pair: str) -> bool:
        return baseline_at(self.conn, pair) is not None

    def start_run(self, run_id: str, pair: str, mode: str, dry_run: bool) -> int:
        return start_run(self.conn, run_id, pair, mode, dry_run)

    def finish_run(self, run_id: str, status: str, summary: dict, error: str | None = None) -> None:
        finish_run(self.conn, run_id, status, summary, error)

    def load_state(self, pair: str) -> PairState:
        rows, dirs = _load_rows(self.conn, pair)
        return PairState({path: _file_state(row) for path, row in rows.items()}, frozenset(dirs))

    def save_state(
        self, pair: str, files: Iterable[FileState], *, baseline: bool = False, dirs: Iterable[str] = ()
    ) -> None:
        replace_state(self.conn, pair, (_state_row(file) for file in files), baseline=baseline, dirs=dirs)

    def open_actions(self, pair: str) -> list[dict[str, Any]]:
        return open_actions(self.conn, pair)

    def write_plan(self, run_id: str, pair: str, actions: Iterable[tuple[int, dict, dict]]) -> None:
        write_plan(self.conn, run_id, pair, actions)

    def mark(self, run_id: str, seqs: list[int], state: str, error: str | None = None) -> None:
        mark(self.conn, run_id, seqs, state, error)

    def checkpoint(self, run_id: str, seq: int, progress: dict[str, Any]) -> None:
        checkpoint(self.conn, run_id, seq, progress)
