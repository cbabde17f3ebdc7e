"""When a sync pair's passes run: once, ``every`` so long after the last one, or at the times of a ``cron``.

A continuous pair is one long-running SyncWorkflow either way (signals, status query, resume from the
journal): with ``every`` it waits that long after each pass, with ``cron`` until the expression's next
time in ``time_zone`` (``syncoxide/cron.py``, computed from ``workflow.now()``). A pair on a cron runs its
first pass at the first such time, not when it starts; ``run-now`` runs one at once either way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator, model_validator

from syncoxide import cron as crontab

SPAN_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def span(seconds: float) -> str:
    """3600 -> '1h', 5400 -> '1h30min' (units that parse_duration reads back)."""
    left, text = round(seconds), ""
    for unit, size in SPAN_UNITS:
        if left >= size:
            text += f"{left // size}{unit}"
            left %= size
    return text or "0s"


class Cadence(BaseModel):
    interval_s: float | None = Field(default=None, gt=0, description="continuous: run again this long after a run")
    cron: str | None = Field(default=None, description="continuous: run at this cron expression's times")
    time_zone: str = Field(default="UTC", description="the time zone of the cron expression")

    _cron = field_validator("cron")(crontab.valid_cron)
    _zone = field_validator("time_zone")(crontab.valid_zone)

    @model_validator(mode="after")
    def _one_way(self) -> Cadence:
        if self.interval_s is not None and self.cron is not None:
            raise ValueError("give every or cron, not both")
        return self

    @property
    def continuous(self) -> bool:
        return self.interval_s is not None or self.cron is not None

    def next_pass(self, after: datetime) -> datetime | None:
        """When the pass after one that ended at ``after`` is due (UTC); None for a one-shot pair."""
        if self.interval_s is not None:
            return after + timedelta(seconds=self.interval_s)
        if self.cron is not None:
            return crontab.parse(self.cron).next_after(after, crontab.zone(self.time_zone))
        return None

    def describe(self) -> str:
        if self.interval_s is not None:
            return f"every {span(self.interval_s)}"
        if self.cron is not None:
            return f"cron {self.cron} ({self.time_zone})"
        return "once"
