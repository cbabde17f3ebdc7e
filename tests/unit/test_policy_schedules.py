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


@pytest.mark.parametrize(
    "schedule, message",
    [
        ('cron: "0 25 * * *"', "cron: '0 25 * * *': hour 25 is not in 0-23"),
        (
            'cron: "0 3 * *"',
            "cron: '0 3 * *': needs five fields (minute hour day-of-month month day-of-week), or @hourly,"
            " @daily, @weekly, @monthly, @yearly",
        ),
        (
            'cron: "0 3 ? * fri#1"',
            "cron: '0 3 ? * fri#1': L, W, # and ? are for sync pairs; a Temporal Schedule does not take them",
        ),
        (
            'cron: "0 3 L * *"',
            "cron: '0 3 L * *': L, W, # and ? are for sync pairs; a Temporal Schedule does not take them",
        ),
        (
            '{cron: "0 3 * * *", time_zone: Mars/Olympus}',
            "time_zone: time zone 'Mars/Olympus' is not known (say e.g. UTC or Europe/Berlin)",
        ),
    ],
)
def test_a_schedule_temporal_would_refuse_is_one_line_naming_file_line_and_field(tmp_path, schedule, message):
    assert_refused(tmp_path, schedule, message)


def assert_refused(tmp_path, schedule: str, message: str) -> None:
    """``schedule`` (one line, or ``{a: 1, b: 2}`` for several keys) is refused with ``message`` at its line."""
    if schedule.startswith("{"):
        schedule = schedule.replace("{", "").replace("}", "").replace(", ", "\n      ")
    with pytest.raises(PolicyErrors) as caught:
        load_with(tmp_path, schedule)
    line = line_of(tmp_path, message.split(":")[0])
    assert caught.value.problems == [f"policies.yaml:{line} policies.home-nightly.schedule.{message}"]


@pytest.mark.parametrize("schedule", ['cron: "30 2 * jul mon-fri"', "cron: '@daily'", "every: 1h"])
def test_a_schedule_temporal_takes_loads(tmp_path, schedule):
    assert load_with(tmp_path, schedule).policies["home-nightly"].schedule is not None


@pytest.mark.parametrize(
    "schedule, message",
    [
        ("every: 0s", "every: interval '0s': must be at least 1s (Temporal refuses a shorter one)"),
        ("every: 0d0h", "every: interval '0d0h': must be at least 1s (Temporal refuses a shorter one)"),
        ("every: -1d", "every: duration '-1d': use numbers with y, m, w, d, h, min, s (e.g. 7d, 1m2w, 15min)"),
        ("every: 101y", "every: interval '101y': at most 100y (Temporal never fires a longer one)"),
        ("every: 99999999999999999999d", "every: duration '99999999999999999999d': too long to be a duration"),
        ("{every: 1d, jitter: 200y}", "jitter: duration '200y': at most 100y for a schedule"),
    ],
)
def test_an_interval_temporal_would_refuse_is_refused_when_the_file_is_read(tmp_path, schedule, message):
    assert_refused(tmp_path, schedule, message)


@pytest.mark.parametrize(
    "extra, field, message",
    [
        (
            "    catchup_window: 1000y\n",
            "policies.home-nightly.catchup_window",
            "duration '1000y': at most 100y for a schedule",
        ),
        (
            "    grace: 9999999999d\n",
            "policies.home-nightly.grace",
            "duration '9999999999d': too long to be a duration",
        ),
    ],
)
def test_a_policy_span_beyond_a_schedule_is_refused(tmp_path, extra, field, message):
    path = tmp_path / "policies.yaml"
    path.write_text(FILE.format(schedule="every: 1d") + extra)
    with pytest.raises(PolicyErrors) as caught:
        load([path])
    assert caught.value.problems == [f"policies.yaml:{len(path.read_text().splitlines())} {field}: {message}"]


def test_a_check_or_a_sync_pair_every_0s_is_refused(tmp_path):
    path = tmp_path / "policies.yaml"
    path.write_text(f"""\
repositories:
  nas:
    engine: restic
    location: /srv/nas
    passphrase: env:NAS_PASSPHRASE
    metadata_check: {{every: 0s}}
sync:
  mirror:
    source: {tmp_path}/a
    destination: {tmp_path}/b
    every: 0s
""")
    with pytest.raises(PolicyErrors) as caught:
        load([path])
    assert caught.value.problems == [
        "policies.yaml:6 repositories.nas.metadata_check.every: interval '0s': must be at least 1s (Temporal refuses "
        "a shorter one)",
        "policies.yaml:11 sync.mirror.every: interval '0s': must be at least 1s (Temporal refuses a shorter one)",
    ]
