"""The policy file's reference (docs/policy-reference.md) and editors' JSON Schema (docs/policy.schema.json) are
generated from its models: they are current, every field says what it is and shows an example that the file's
reader takes, and the policy files the docs show are valid by the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from syncoxide.models import Retention
from syncoxide.policies import reference
from syncoxide.policies.loader import SECTIONS
from syncoxide.policies.schema import (
    CheckCadence,
    HooksSpec,
    NotifySpec,
    PolicyFile,
    PolicySpec,
    RepositorySpec,
    ScheduleSpec,
    SourceSpec,
    SyncPairSpec,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCHEMA = reference.json_schema()
DEFS = SCHEMA["$defs"]
MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (
        PolicyFile,
        RepositorySpec,
        Retention,
        CheckCadence,
        SourceSpec,
        PolicySpec,
        ScheduleSpec,
        HooksSpec,
        NotifySpec,
        SyncPairSpec,
    )
}
DROP = object()
BASE: dict[str, dict[str, Any]] = {
    "RepositorySpec": {"engine": "borg", "location": "/srv/borg", "passphrase": "env:PASSPHRASE"},
    "CheckCadence": {"every": "1d"},
    "SourceSpec": {"paths": ["/home/me"]},
    "PolicySpec": {"source": "home", "repository": "nas", "schedule": {"every": "1h"}},
    "ScheduleSpec": {"every": "1h"},
    "SyncPairSpec": {"source": "/a", "destination": "/b"},
}
"""a valid entry of each model, into which each field's example is put in turn"""
BESIDE: dict[tuple[str, str], dict[str, Any]] = {
    ("SourceSpec", "database"): {"paths": DROP, "database_url": "env:DB_URL"},
    ("SourceSpec", "database_url"): {"paths": DROP, "database": "shop"},
    ("ScheduleSpec", "cron"): {"every": DROP},
    ("SyncPairSpec", "time_zone"): {"cron": "0 3 * * *"},
    ("SyncPairSpec", "backup_keep"): {"backup_dir": ".versions"},
}
"""what an example needs beside it (or must not have), for the fields that go with others"""


def fields() -> list[tuple[str, str, dict[str, Any]]]:
    """(model, field, schema) of every field in the schema, the top level's included."""
    models = [("PolicyFile", SCHEMA)] + [(name, d) for name, d in DEFS.items() if "properties" in d]
    return [(model, field, prop) for model, d in models for field, prop in d["properties"].items()]


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


def test_the_checked_in_reference_and_schema_are_what_the_models_make():
    for path, text in reference.outputs(DOCS).items():
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run {reference.REGENERATE}"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} is stale (the policy models changed): run {reference.REGENERATE}"
        )
    assert reference.main(["--check"]) == 0


def test_check_names_a_stale_file_in_one_line_and_writing_makes_it_current(tmp_path, capsys):
    assert reference.main(["--docs", str(tmp_path)]) == 0
    (tmp_path / reference.SCHEMA).write_text("{}\n")
    capsys.readouterr()
    assert reference.main(["--check", "--docs", str(tmp_path)]) == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and reference.SCHEMA in message and reference.REFERENCE not in message
    assert f"regenerate with {reference.REGENERATE}" in message
    assert reference.main(["--docs", str(tmp_path)]) == 0
    assert reference.main(["--check", "--docs", str(tmp_path)]) == 0


def test_the_schema_is_a_2020_12_schema_of_the_whole_file():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert set(SCHEMA["properties"]) == set(SECTIONS)
    assert {name for name, d in DEFS.items() if "properties" in d} | {"PolicyFile"} == set(MODELS)


def test_every_field_has_a_description_and_an_example():
    missing = [
        f"{model}.{field}" for model, field, prop in fields() if not prop.get("description") or not prop.get("examples")
    ]
    assert not missing, f"give these fields description= and examples=[...] in their Field: {missing}"
    assert len(fields()) >= 80


def test_the_reference_has_every_section_and_field():
    text = (DOCS / reference.REFERENCE).read_text(encoding="utf-8")
    for model, field, prop in fields():
        title = reference._title(model)
        section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
        row = next((line for line in section.splitlines() if line.startswith(f"| `{field}` |")), None)
        assert row is not None, f"{model}.{field} is not in the reference"
        assert reference._cell(prop["description"]) in row


@pytest.mark.parametrize("model, field, prop", fields(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_example_is_valid_by_the_schema_and_by_the_model(model, field, prop):
    check = validator({"$defs": DEFS, **prop})
    for example in prop["examples"]:
        problems = [e.message for e in check.iter_errors(example)]
        assert not problems, f"{model}.{field} example {example!r}: {problems}"
        entry = {**BASE.get(model, {}), field: example}
        for key, value in BESIDE.get((model, field), {}).items():
            entry.pop(key) if value is DROP else entry.__setitem__(key, value)
        MODELS[model].model_validate(entry)


def policy_files_in_docs() -> list[tuple[str, Any]]:
    """(where, document) of each YAML block in the docs that is a policy file (its keys are sections)."""
    found = []
    for path in sorted([*DOCS.glob("*.md"), ROOT / "README.md"]):
        for number, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)):
            document = yaml.safe_load(block)
            if isinstance(document, dict) and document and set(document) <= set(SECTIONS):
                found.append((f"{path.name} block {number + 1}", document))
    return found


def test_the_policy_files_in_the_docs_are_valid_by_the_schema():
    found = policy_files_in_docs()
    where = {w.split(" ")[0] for w, _ in found}
    assert {"user-guide.md", "sync.md", reference.REFERENCE} <= where, where
    check = validator(json.loads((DOCS / reference.SCHEMA).read_text(encoding="utf-8")))
    for name, document in found:
        problems = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(document)]
        assert not problems, f"{name}: {problems}"
        PolicyFile.model_validate(document)  # (and the file's reader agrees)


@pytest.mark.parametrize(
    "document, where",
    [
        (
            {"repositories": {"nas": {"engine": "borg", "location": "/srv", "passphrase": "hunter2"}}},
            "repositories.nas.passphrase",
        ),
        ({"sources": {"Home": {"paths": ["/home"]}}}, "sources"),
        ({"sources": {"home": {"paths": ["home"]}}}, "sources.home.paths.0"),
        (
            {"policies": {"p": {"source": "s", "repository": "r", "schedule": {"every": "1h"}, "colour": "red"}}},
            "policies.p",
        ),
        ({"sync": {"x": {"source": "/a", "destination": "/b", "transfers": 0}}}, "sync.x.transfers"),
        (
            {
                "sync": {
                    "x": {"source": "/a", "destination": "s3://b", "destination_secrets": {"access_key_id": "AKIA"}}
                }
            },
            "sync.x.destination_secrets.access_key_id",
        ),
    ],
)
def test_an_editor_sees_what_the_reader_refuses(document, where):
    errors = list(validator(SCHEMA).iter_errors(document))
    assert [".".join(map(str, e.absolute_path)) for e in errors] == [where]
    with pytest.raises(ValueError):
        PolicyFile.model_validate(document)
