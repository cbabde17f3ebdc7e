"""The policy file's reference, generated from its models (``PolicyFile.model_json_schema()``):

- ``docs/policy-reference.md``: every section and field with its type, default, constraints, description and
  example, and a whole file made of the examples;
- ``docs/policy.schema.json``: the same as a JSON Schema (draft 2020-12) for editors, e.g. with the YAML
  language server: ``# yaml-language-server: $schema=<path or URL of docs/policy.schema.json>``.

    python -m syncoxide.policies.reference           # write both
    python -m syncoxide.policies.reference --check   # exit 1, naming the file, when one is stale

A description or an example is changed in the models (``syncoxide/policies/schema.py``, ``Retention`` in
``syncoxide/models.py``), never in the generated files; ``tests/unit/test_policy_reference.py`` fails when they
are stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, NoDefault
from pydantic_core import core_schema

from syncoxide.policies.schema import PolicyFile

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:syncoxide:policy-file"
TITLE = "syncoxide policy file"
DOCS = Path(__file__).resolve().parents[2] / "docs"
REFERENCE = "policy-reference.md"
SCHEMA = "policy.schema.json"
REGENERATE = "python -m syncoxide.policies.reference"
ROOT = "PolicyFile"


class _Generator(GenerateJsonSchema):
    """pydantic's generator, but a field's default made by a factory (``[]``, ``{}``) is said too, and examples
    keep the order they are written in."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return cast(Callable[[], Any], factory)()  # one that takes no data, as just asked
        return super().get_default_value(schema) if "default" in schema else NoDefault

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        return _sorted(value, parent_key)


def _sorted(value: Any, parent_key: str | None) -> Any:
    if parent_key in ("examples", "default"):
        return value
    if isinstance(value, dict):
        keys = value if parent_key == "properties" else sorted(value)  # (fields stay in the order they are declared)
        return {key: _sorted(value[key], key) for key in keys}
    if isinstance(value, list):
        return [_sorted(item, parent_key) for item in value]
    return value


def json_schema() -> dict[str, Any]:
    """The policy file's JSON Schema, as editors take it."""
    schema = PolicyFile.model_json_schema(schema_generator=_Generator)
    schema.pop("title", None)
    return {"$schema": DRAFT, "$id": SCHEMA_ID, "title": TITLE, **schema}


def schema_text(schema: dict[str, Any] | None = None) -> str:
    return json.dumps(schema or json_schema(), indent=2, ensure_ascii=False) + "\n"


# --- the Markdown reference


def _title(name: str) -> str:
    """``SyncPairSpec`` -> ``Sync pair``."""
    if name == ROOT:
        return "Top level"
    words = re.findall(r"[A-Z][a-z0-9]*", name.removesuffix("Spec"))
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def _anchor(name: str) -> str:
    return _title(name).lower().replace(" ", "-")


def _definition(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _yaml(value: Any) -> str:
    """``value`` as YAML on one line (flow style)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, sort_keys=False, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _code(value: Any) -> str:
    return f"`{_yaml(value)}`"


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = _definition(prop["$ref"])
        target = defs[name]
        if "enum" in target:
            return "one of " + _either([_code(v) for v in target["enum"]])
        return f"[{_title(name)}](#{_anchor(name)})"
    if "anyOf" in prop:
        return _either([_type(alt, defs) for alt in prop["anyOf"] if alt.get("type") != "null"])
    if "enum" in prop:
        return "one of " + _either([_code(v) for v in prop["enum"]])
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items", {})
        if "enum" in items:
            return "list of " + _either([_code(v) for v in items["enum"]])
        return f"list of {_type(items, defs)}"
    if kind == "object":
        values = prop.get("additionalProperties")
        return f"mapping of names to {_type(values, defs)}" if isinstance(values, dict) else "mapping"
    return str(kind or "any")


def _default(name: str, prop: dict[str, Any], required: list[str]) -> str:
    if name in required:
        return "**required**"
    if "default" not in prop:
        return ""
    return "*unset*" if prop["default"] is None else _code(prop["default"])


_BOUNDS = {
    "exclusiveMinimum": ">",
    "minimum": "≥",
    "maximum": "≤",
    "exclusiveMaximum": "<",
    "minLength": "length ≥",
    "maxLength": "length ≤",
    "minItems": "items ≥",
    "maxItems": "items ≤",
}


def _constraints(prop: dict[str, Any], what: str = "") -> Iterator[str]:
    for key, sign in _BOUNDS.items():
        if key in prop:
            yield f"{what}{sign} {prop[key]}"
    if "pattern" in prop:
        yield f"{what}matches `{prop['pattern']}`"
    if "propertyNames" in prop and "pattern" in prop["propertyNames"]:
        yield f"names match `{prop['propertyNames']['pattern']}`"
    for alt in prop.get("anyOf", []):
        yield from _constraints(alt, what)
    if isinstance(prop.get("items"), dict):
        yield from _constraints(prop["items"], "each ")
    if isinstance(prop.get("additionalProperties"), dict):
        yield from _constraints(prop["additionalProperties"], "each value ")


def _targets(prop: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(definition, path) for each model a property holds, with the path a file writes it at."""
    if "$ref" in prop:
        yield _definition(prop["$ref"]), path
    for alt in prop.get("anyOf", []):
        yield from _targets(alt, path)
    if isinstance(prop.get("items"), dict):
        yield from _targets(prop["items"], f"{path}[]")
    if isinstance(prop.get("additionalProperties"), dict):
        yield from _targets(prop["additionalProperties"], f"{path}.<name>")


def _sections(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(name, schema, paths) of the top level and of each model below it, each model after the one that holds it."""
    defs = schema.get("$defs", {})
    found: dict[str, list[str]] = {ROOT: []}

    def visit(model: dict[str, Any], prefix: str) -> None:
        for field, prop in model.get("properties", {}).items():
            for name, path in _targets(prop, f"{prefix}{field}"):
                if "properties" not in defs[name]:
                    continue  # an enum: said in the field's type
                if name in found:
                    found[name] += [path] if path not in found[name] else []
                else:
                    found[name] = [path]
                    visit(defs[name], f"{path}.")

    visit(schema, "")
    return [(name, schema if name == ROOT else defs[name], paths) for name, paths in found.items()]


def example_file(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A whole policy file made of the sections' first examples."""
    schema = schema or json_schema()
    return {field: prop["examples"][0] for field, prop in schema["properties"].items() if prop.get("examples")}


_INTRO = f"""\
<!-- Generated by `{REGENERATE}` from the policy file's models (syncoxide/policies/schema.py and
Retention in syncoxide/models.py): change a description or an example there, then regenerate. -->

# Policy file reference

Every section and field of a policy file (`syncoxide policy plan|apply FILE...`), generated from the
pydantic models that read it. How apply turns the files into repositories, schedules and sync pairs is in
the [user guide](user-guide.md#policies-backups-on-a-schedule-as-code) and in
[sync.md](sync.md#sync-pairs-in-policy-files).

**Editors.** [policy.schema.json](policy.schema.json) is the same as a JSON Schema (draft 2020-12). With
the YAML language server (VS Code's YAML extension, Neovim, Helix, ...) make this the first line of a
policy file, with the path of `docs/policy.schema.json` relative to the file (or its URL):

```yaml
# yaml-language-server: $schema=../docs/policy.schema.json
```

The schema has the models' types, defaults, descriptions, examples and bounds, and also refuses unknown
fields (as the reader does: everywhere but in a retention), names that are not names, and inline secrets
where a reference is wanted. What needs more than a
schema (durations, sizes, cron expressions, time zones, a name that must exist in another section, fields
that go together) is checked when the file is read: `policy plan` lists every problem with its file and
line.

## Example

A whole file, made of the examples below:

"""


def _table(model: dict[str, Any], defs: dict[str, Any], *, root: bool) -> list[str]:
    required = model.get("required", [])
    lines = ["| Field | Type | Default | Constraints | Description | Example |", "|---|---|---|---|---|---|"]
    for field, prop in model.get("properties", {}).items():
        constraints = "; ".join(dict.fromkeys(_constraints(prop)))
        examples = "[above](#example)" if root else ", ".join(_code(e) for e in prop.get("examples", []))
        row = [
            f"`{field}`",
            _type(prop, defs),
            _default(field, prop, required),
            constraints,
            prop.get("description", ""),
            examples,
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return lines


def markdown(schema: dict[str, Any] | None = None) -> str:
    schema = schema or json_schema()
    defs = schema.get("$defs", {})
    example = yaml.safe_dump(example_file(schema), sort_keys=False, allow_unicode=True, width=100)
    lines = [_INTRO + f"```yaml\n{example}```"]
    for name, model, paths in _sections(schema):
        lines += ["", f"## {_title(name)}", ""]
        if paths:
            lines += ["At " + ", ".join(f"`{p}`" for p in paths) + ".", ""]
        if model.get("description"):
            lines += [model["description"].replace("\n", " "), ""]
        if "additionalProperties" not in model:
            lines += ["Unknown fields are ignored here.", ""]
        lines += _table(model, defs, root=name == ROOT)
    return "\n".join(lines) + "\n"


# --- writing and checking


def outputs(docs: Path = DOCS) -> dict[Path, str]:
    """Each generated file and what it should hold."""
    schema = json_schema()
    return {docs / REFERENCE: markdown(schema), docs / SCHEMA: schema_text(schema)}


def stale(docs: Path = DOCS) -> list[Path]:
    """The generated files that differ from what the models make now (or are missing)."""
    return [
        path for path, text in outputs(docs).items() if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncoxide.policies.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    parser.add_argument("--docs", type=Path, default=DOCS, help=f"the folder of the generated files (default {DOCS})")
    args = parser.parse_args(argv)
    if not args.docs.is_dir():
        parser.error(f"{args.docs}: no such folder")
    if args.check:
        behind = stale(args.docs)
        if behind:
            names = ", ".join(_shown(p) for p in behind)
            print(f"{names} {'is' if len(behind) == 1 else 'are'} stale: regenerate with {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    for path, text in outputs(args.docs).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
