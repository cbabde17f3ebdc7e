"""A backup policy's Temporal Schedule is checked when the file is read, so apply never stops half-way on a
cron or time zone that Temporal would refuse (or, for ``#``, silently read as a comment)."""

from __future__ import annotations

import pytest

from syncoxide.policies.loader import PolicyErrors, load

FILE = """\
repositories:
  nas:
    engine: restic
    location: /srv/nas
    passphrase: env:NAS_PASSPHRASE
sources:
  home:
    paths: [/home/me]
policies:
  home-nightly:
    source: home
    repository: nas
    schedule:
      {schedule}
"""


def load_with(tmp_path, schedule: str):
    path = tmp_path / "policies.yaml"
    path.write_text(FILE.format(schedule=schedule))
    return load([path])


def line_of(tmp_path, field: str) -> int:
    lines = (tmp_path / "policies.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.strip().startswith(f"{field}:"))


@pytest.mark.parametrize("schedule, message", [
    ('cron: "0 25 * * *"', "cron: '0 25 * * *': hour 25 is not in 0-23"),
    ('cron: "0 3 * *"', "cron: '0 3 * *': needs five fields (minute hour day-of-month month day-of-week), or @hourly,"
                        " @daily, @weekly, @monthly, @yearly"),
    ('cron: "0 3 ? * fri#1"', "cron: '0 3 ? * fri#1': L, W, # and ? are for sync pairs; a Temporal Schedule does "
                              "not take them"),
    ('cron: "0 3 L * *"', "cron: '0 3 L * *': L, W, # and ? are for sync pairs; a Temporal Schedule does not take "
                          "them"),
    ('{cron: "0 3 * * *", time_zone: Mars/Olympus}', "time_zone: time zone 'Mars/Olympus' is not known (say e.g. UTC"
                                                    " or Europe/Berlin)"),
])
def test_a_schedule_temporal_would_refuse_is_one_line_naming_file_line_and_field(tmp_path, schedule, message):
    if schedule.startswith("{"):
        schedule = schedule.replace("{", "").replace("}", "").replace(", ", "\n      ")
    with pytest.raises(PolicyErrors) as caught:
        load_with(tmp_path, schedule)
    line = line_of(tmp_path, message.split(":")[0])
    assert caught.value.problems == [f"policies.yaml:{line} policies.home-nightly.schedule.{message}"]


@pytest.mark.parametrize("schedule", ['cron: "30 2 * jul mon-fri"', "cron: '@daily'", "every: 1h"])
def test_a_schedule_temporal_takes_loads(tmp_path, schedule):
    assert load_with(tmp_path, schedule).policies["home-nightly"].schedule is not None
