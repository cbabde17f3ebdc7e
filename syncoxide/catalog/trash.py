"""Carrying out a cleanup plan: move listed items into the trash, put them back, empty the trash.

Every item goes through journaled states (planned -> moving -> trashed, trashed -> restored),
each written before and after its rename, so an apply or undo interrupted at any point (even by
SIGKILL) is resumed by running it again: nothing is lost and nothing moves twice. Before a
move, the item is checked to be exactly what the plan saw (type, size, mtime and, when the plan
knows it, the content hash); a changed item is skipped and reported. Nothing that is not in the
plan is touched.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syncoxide.catalog.hashing import hash_file
from syncoxide.config import Settings
from syncoxide.engines.process import Cancelled
from syncoxide.errors import InvalidInput
from syncoxide.models import Progress
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store

ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


@dataclass
class Outcome:
    moved: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def trash_path(plan: plans.Plan, item: plans.PlanItem) -> str:
    """Where an item waits in the trash: its path kept below the plan's trash dir."""
    return os.path.join(plan.trash_dir, item.path.lstrip("/"))


def _still_as_planned(item: plans.PlanItem) -> str | None:
    """None when the item is as the plan saw it, else why not."""
    try:
        st = os.lstat(item.path)
    except FileNotFoundError:
        return "no longer exists"
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if item.reason == "empty folder":
        if not stat.S_ISDIR(st.st_mode):
            return "is no longer a folder"
        return None if not os.listdir(item.path) else "is no longer empty"
    if not stat.S_ISREG(st.st_mode):
        return "is no longer a regular file"
    if st.st_size != item.size or st.st_mtime_ns != item.mtime_ns:
        return "changed since the plan was made"
    if item.hash_kind and item.hash:
        digests = hash_file(item.path, [item.hash_kind])
        if digests is None or digests[item.hash_kind] != item.hash:
            return "content changed since the plan was made"
    if item.keep_path:
        kept = hash_file(item.keep_path, [item.hash_kind]) if item.hash_kind else None
        if kept is None or kept[item.hash_kind] != item.hash:
            return f"the copy it duplicates ({item.keep_path}) is gone or changed"
    return None


def _move_in(plan: plans.Plan, item: plans.PlanItem, conn) -> bool:
    """planned/moving -> trashed (or skipped); True when it is in the trash now."""
    target = trash_path(plan, item)
    if item.state == "moving":  # an earlier run died around the rename: see which side of it we are on
        if os.path.lexists(target) and not os.path.lexists(item.path):
            plans.set_item(conn, item, "trashed")
            return True
    problem = _still_as_planned(item)
    if problem:
        plans.set_item(conn, item, "skipped", problem)
        return False
    plans.set_item(conn, item, "moving")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.rename(item.path, target)
    except OSError as exc:
        plans.set_item(conn, item, "skipped", f"could not be moved: {exc.strerror}")
        return False
    plans.set_item(conn, item, "trashed")
    return True


def apply(
    settings: Settings, plan_id: str, *, progress: ProgressFn = lambda _: None, cancelled: CancelFn = lambda: False
) -> Outcome:
    outcome = Outcome()
    with open_store(settings) as conn:
        plan = plans.get(conn, plan_id)
        if plan.status not in ("planned", "applying"):
            raise InvalidInput(f"cleanup plan {plan_id} is {plan.status}; only a planned plan can be applied")
        plans.set_status(conn, plan, "applying")
        todo = plans.items(conn, plan_id, ["planned", "moving"])
        state = Progress(phase="cleanup", files_total=len(todo), bytes_total=sum(i.size for i in todo))
        for item in todo:
            if cancelled():
                raise Cancelled()
            if _move_in(plan, item, conn):
                outcome.moved += 1
                outcome.bytes += item.size
            else:
                outcome.skipped.append(f"{item.path}: {item.note}")
            state.files_done += 1
            state.bytes_done += item.size
            state.current_path = item.path
            progress(state.model_copy())
        plans.set_status(conn, plan, "applied")
    return outcome


def undo(
    settings: Settings, plan_id: str, *, progress: ProgressFn = lambda _: None, cancelled: CancelFn = lambda: False
) -> Outcome:
    """Put every trashed item back where it was; an item whose place is taken now stays in the trash."""
    outcome = Outcome()
    with open_store(settings) as conn:
        plan = plans.get(conn, plan_id)
        if plan.status not in ("applying", "applied", "undoing"):
            raise InvalidInput(f"cleanup plan {plan_id} is {plan.status}; only an applied plan can be undone")
        plans.set_status(conn, plan, "undoing")
        for item in plans.items(conn, plan_id, ["moving"]):  # an apply that died around a rename
            if os.path.lexists(trash_path(plan, item)) and not os.path.lexists(item.path):
                plans.set_item(conn, item, "trashed")
            else:
                plans.set_item(conn, item, "planned")
        todo = plans.items(conn, plan_id, ["trashed"])
        state = Progress(phase="undo", files_total=len(todo))
        for item in todo:
            if cancelled():
                raise Cancelled()
            source = trash_path(plan, item)
            if os.path.lexists(item.path):
                outcome.skipped.append(f"{item.path}: something else is there now; left in {source}")
                plans.set_item(conn, item, "trashed", "not restored: its place is taken")
                continue
            os.makedirs(os.path.dirname(item.path), exist_ok=True)
            os.rename(source, item.path)
            plans.set_item(conn, item, "restored")
            outcome.moved += 1
            outcome.bytes += item.size
            state.files_done += 1
            progress(state.model_copy())
        if not plans.items(conn, plan_id, ["trashed"]):
            shutil.rmtree(plan.trash_dir, ignore_errors=True)
        plans.set_status(conn, plan, "undone")
    return outcome


def purge_expired(settings: Settings, now: datetime | None = None) -> list[str]:
    """Empty the trash of plans whose keep time has passed; returns their ids."""
    now = now or datetime.now(UTC)
    done = []
    with open_store(settings) as conn:
        for plan in plans.expired(conn, now):
            shutil.rmtree(plan.trash_dir, ignore_errors=True)
            for item in plans.items(conn, plan.id, ["trashed"]):
                plans.set_item(conn, item, "purged")
            plans.set_status(conn, plan, "purged")
            done.append(plan.id)
    return done
