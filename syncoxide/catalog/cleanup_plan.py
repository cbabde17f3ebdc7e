"""Making a cleanup plan: what the rules find in a source's latest scan, written down as a plan to review
(nothing on disk is touched until CleanupWorkflow applies it). The CLI and the API both make plans here."""

from __future__ import annotations

import os
import time

from syncoxide.catalog import walk
from syncoxide.catalog.cleanup import CleanupSpec, find_candidates
from syncoxide.catalog.query import CatalogReader
from syncoxide.config import Settings
from syncoxide.models import Source
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store


def make_plan(
    settings: Settings, source: Source, spec: CleanupSpec, reader: CatalogReader | None = None
) -> tuple[plans.Plan, list[plans.PlanItem]]:
    """The plan, and its items; ``reader`` is a catalog reader to use instead of opening one."""
    if reader is None:
        with CatalogReader.open(settings) as opened:
            candidates = find_candidates(opened, spec, time.time_ns())
    else:
        candidates = find_candidates(reader, spec, time.time_ns())
    with open_store(settings) as conn:
        plan = plans.create(conn, spec, candidates, os.path.join(source.root, walk.TRASH_DIR_NAME))
        return plan, plans.items(conn, plan.id)
