"""Recorded workflow histories: opening their sealed payloads, saving them, loading them for the replayer.

Histories are checked in with every payload opened (plain ``json/plain`` payloads, failures' encoded attributes
too), and replayed with the plain pydantic converter (``plain_converter``) rather than sealed under a test key
checked in beside them. Why:

- a history is what the workflow code read; what the codec did to it on the wire is another test's business
  (tests/unit/test_payload_codec.py). Replaying plaintext keeps this test about determinism: a change of the
  codec's format, or of its keys, does not turn every recorded history into a false "non-deterministic" alarm;
- a re-recording then shows as a reviewable diff of the payloads' JSON (base64 in the proto JSON, but stable),
  not as every byte changing because each seal draws a fresh nonce;
- no key sits in the repository that looks like a payload key, so nobody copies it into a deployment;
- the recorded runs pass references, ids and paths of throw-away folders, never secrets (the contract's rule),
  so opening them exposes nothing.

temporalio 1.35 ships a payload visitor (``temporalio.bridge._visitor.PayloadVisitor``), but it is private and
covers only the worker's activation and completion messages, not ``temporal.api.history.v1``. So
``payloads_in`` walks any proto message by its descriptor: every ``Payload`` field, single, repeated or a map
value (memo, header, search attributes, failures' ``encoded_attributes``, nested failures and payloads), and
``open_sealed`` opens those the codec sealed (search attributes are never sealed and stay as they are).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from syncoxide.orchestration.codec import ENCODING

HISTORIES = Path(__file__).parent / "histories"


def plain_converter() -> DataConverter:
    """The production converter without its codec: pydantic payloads, failures' attributes encoded."""
    return dataclasses.replace(
        pydantic_data_converter, failure_converter_class=DefaultFailureConverterWithEncodedAttributes
    )


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload inside ``message``, outermost first."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    yield from payloads_in(item)
        elif field.is_repeated:
            for item in value:
                yield from payloads_in(item)
        else:
            yield from payloads_in(value)


def is_sealed(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


async def open_sealed(message: Message, codec: PayloadCodec) -> int:
    """Replace every sealed payload inside ``message`` by what it holds; returns how many were opened."""
    opened = 0
    for payload in list(payloads_in(message)):
        if is_sealed(payload):
            (plain,) = await codec.decode([payload])
            payload.CopyFrom(plain)
            opened += 1
    return opened


@dataclasses.dataclass
class Recorded:
    path: Path
    workflow_id: str
    workflow_type: str
    scenario: str
    history: WorkflowHistory


def save(path: Path, history: WorkflowHistory, scenario: str) -> None:
    """Write a history with every payload already opened (``open_sealed``), in Temporal's JSON plus three keys."""
    sealed = [p for event in history.events for p in payloads_in(event) if is_sealed(p)]
    if sealed:
        raise ValueError(f"{path.name}: {len(sealed)} payloads are still sealed")
    first = history.events[0].workflow_execution_started_event_attributes
    document: dict[str, Any] = {
        "workflowId": history.workflow_id,
        "workflowType": first.workflow_type.name,
        "scenario": scenario,
        **history.to_json_dict(),
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")


def load(path: Path) -> Recorded:
    document = json.loads(path.read_text())
    history = WorkflowHistory.from_json(document["workflowId"], {"events": document["events"]})
    return Recorded(path, document["workflowId"], document["workflowType"], document["scenario"], history)


def recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))
