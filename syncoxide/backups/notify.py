"""Telling people about runs through apprise (email, Slack, ntfy, Matrix, webhooks, ...).

Events: failure (a run failed), recovery (a run succeeded after a failed one), success (every
success, if asked for), late (from `syncoxide status`). A URL may be a secret reference
(env:, file:, command:), resolved only where the notification is sent.
"""

from __future__ import annotations

import apprise

from syncoxide.errors import SyncoxideError
from syncoxide.models import Notify, Run, RunStatus
from syncoxide.secrets import SecretRef

_REFERENCE_PREFIXES = ("env:", "file:", "command:")


class NotifyFailed(SyncoxideError):
    retryable = True


def events_for(run_status: RunStatus, previous: Run | None, wanted: list[str]) -> list[str]:
    """Which of the wanted events a finished run makes."""
    events = []
    if run_status == RunStatus.failed:
        events.append("failure")
    elif run_status == RunStatus.succeeded:
        if previous is not None and previous.status == RunStatus.failed:
            events.append("recovery")
        events.append("success")
    return [e for e in events if e in wanted]


def _resolve(url: str) -> str:
    return SecretRef.parse(url).resolve() if url.startswith(_REFERENCE_PREFIXES) else url


def send(notify: Notify, *, title: str, body: str, failure: bool) -> None:
    sender = apprise.Apprise()
    for url in notify.urls:
        if not sender.add(_resolve(url)):
            raise NotifyFailed(f"notification URL #{notify.urls.index(url) + 1} is not one apprise understands")
    kind = apprise.NotifyType.FAILURE if failure else apprise.NotifyType.SUCCESS
    if not sender.notify(title=title, body=body, notify_type=kind):
        raise NotifyFailed(f"could not deliver the notification {title!r} to every URL")
