"""Reading policy files: every problem reported at once as `file:line path: message`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from syncoxide.errors import InvalidInput
from syncoxide.policies.schema import PolicyFile, PolicySpec, RepositorySpec, SourceSpec


class PolicyErrors(InvalidInput):
    """One line per problem; nothing is applied when there is any."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Desired:
    """The merged contents of all files, each entry with the file it came from."""

    repositories: dict[str, RepositorySpec] = field(default_factory=dict)
    sources: dict[str, SourceSpec] = field(default_factory=dict)
    policies: dict[str, PolicySpec] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)


def _line_map(node: yaml.Node, path: tuple = (), lines: dict | None = None) -> dict[tuple, int]:
    lines = {} if lines is None else lines
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines[child] = key.start_mark.line + 1
            _line_map(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _line_map(item, (*path, index), lines)
    return lines


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _message(error: dict) -> str:
    text = error["msg"].removeprefix("Value error, ")
    return text[0].lower() + text[1:] if text else text


def _parse(path: Path, problems: list[str]) -> tuple[PolicyFile | None, dict[tuple, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror}")
        return None, {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        problems.append(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}")
        return None, {}
    lines = _line_map(node) if node is not None else {}
    if data is None:
        return PolicyFile(), lines
    if not isinstance(data, dict):
        problems.append(f"{path.name}:1: expected a mapping with repositories, sources and policies")
        return None, lines
    try:
        return PolicyFile.model_validate(data), lines
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            line = _line_of(lines, loc)
            where = f"{path.name}:{line}" if line else path.name
            problems.append(f"{where} {'.'.join(str(p) for p in loc)}: {_message(error)}")
        return None, lines


def load(paths: list[Path]) -> Desired:
    """Parse, validate and merge the files; PolicyErrors lists every problem found."""
    if not paths:
        raise InvalidInput("no policy file given")
    problems: list[str] = []
    desired = Desired()
    for path in paths:
        parsed, lines = _parse(path, problems)
        if parsed is None:
            continue
        for section in ("repositories", "sources", "policies"):
            for name, spec in getattr(parsed, section).items():
                where = f"{path.name}:{lines.get((section, name), '?')}"
                if (section, name) in desired.origin:
                    problems.append(f"{where} {section}.{name}: also defined at {desired.origin[(section, name)]}")
                    continue
                getattr(desired, section)[name] = spec
                desired.origin[(section, name)] = where
    for name, policy in desired.policies.items():
        where = desired.origin[("policies", name)].split(" ")[0]
        if policy.source not in desired.sources:
            problems.append(f"{where} policies.{name}.source: no source named {policy.source!r}")
        if policy.repository not in desired.repositories:
            problems.append(f"{where} policies.{name}.repository: no repository named {policy.repository!r}")
        elif policy.retention and desired.repositories[policy.repository].retention:
            problems.append(f"{where} policies.{name}.retention: repository {policy.repository} has a retention"
                            " of its own over all its snapshots; set retention on one of them")  # fmt: skip
    if problems:
        raise PolicyErrors(problems)
    return desired
