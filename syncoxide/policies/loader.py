"""Reading policy files: every problem reported at once as `file:line path: message`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from syncoxide.errors import InvalidInput
from syncoxide.policies import yaml_reader
from syncoxide.policies.schema import PolicyFile, PolicySpec, RepositorySpec, SourceSpec, SyncPairSpec
from syncoxide.sync import inputs
from syncoxide.sync.models import SyncRequest

SECTIONS = ("repositories", "sources", "policies", "sync")


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
    sync: dict[str, SyncPairSpec] = field(default_factory=dict)
    sync_requests: dict[str, SyncRequest] = field(default_factory=dict)
    """each sync pair as the request its SyncWorkflow runs (sides parsed, relative paths from its file)"""
    origin: dict[tuple[str, str], str] = field(default_factory=dict)


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    text = error["msg"].removeprefix("Value error, ")
    return text[0].lower() + text[1:] if text else text


def _where(path: Path, line: int | None, keys: tuple = ()) -> str:
    where = f"{path.name}:{line}" if line else path.name
    return f"{where} {'.'.join(str(k) for k in keys)}" if keys else where


def _parse(path: Path, problems: list[str]) -> tuple[PolicyFile | None, dict[tuple, int]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror}")
        return None, {}
    try:
        document, lines = yaml_reader.read(data)
    except yaml_reader.YamlRefused as exc:
        problems.append(f"{_where(path, exc.line, exc.path)}: {exc.message}")
        return None, {}
    except yaml_reader.YamlProblems as exc:
        problems.extend(f"{_where(path, p.line, p.path)}: {p.message}" for p in exc.problems)
        return None, {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(f"{_where(path, mark.line + 1 if mark else None)}: not valid YAML: {problem}")
        return None, {}
    if document is None:
        return PolicyFile(), lines
    if not isinstance(document, dict):
        problems.append(f"{path.name}:1: expected a mapping with {', '.join(SECTIONS)}")
        return None, lines
    try:
        return PolicyFile.model_validate(document), lines
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            line = _line_of(lines, loc)
            where = f"{path.name}:{line}" if line else path.name
            problems.append(f"{where} {'.'.join(str(p) for p in loc)}: {_message(error)}")
        return None, lines


def _sync_request(name: str, pair: SyncPairSpec, base: Path) -> tuple[SyncRequest | None, list[tuple[str, str]]]:
    """The pair's request, or the fields that are wrong and why."""
    sides, failures = {}, []
    for key in ("source", "destination"):
        try:
            sides[key] = inputs.parse_side(
                getattr(pair, key), getattr(pair, f"{key}_options"), getattr(pair, f"{key}_secrets"), base=base
            )
        except InvalidInput as exc:
            failures.append((key, str(exc)))
    if failures:
        return None, failures
    try:
        return inputs.build_request(sides["source"], sides["destination"], pair.mode, name, pair.options()), []
    except InvalidInput as exc:
        return None, [("destination", str(exc))]


def _relative_side(text: str) -> bool:
    """A local side or spec file that names no absolute path (it would be read from where the file lies)."""
    if text.startswith("@"):
        return not text[1:].startswith("/")
    split = inputs.split_side(text)
    return split is not None and split[0] == "local" and not split[1].startswith("/")


def pair_request(name: str, pair: SyncPairSpec) -> SyncRequest:
    """One pair given on its own (over the API), with absolute sides; InvalidInput names the field."""
    for key in ("source", "destination"):
        if _relative_side(getattr(pair, key)):
            raise InvalidInput(f"{key}: a pair sent over the API lies nowhere: give an absolute path")
    request, failures = _sync_request(name, pair, Path("/"))
    if request is None:
        key, message = failures[0]
        raise InvalidInput(f"{key}: {message}")
    return request


def load(paths: list[Path], *, relative_to_files: bool = True) -> Desired:
    """Parse, validate and merge the files; PolicyErrors lists every problem found. Without
    ``relative_to_files`` (files sent over the API, which lie nowhere) a relative local side is a problem."""
    if not paths:
        raise InvalidInput("no policy file given")
    problems: list[str] = []
    desired = Desired()
    for path in paths:
        parsed, lines = _parse(path, problems)
        if parsed is None:
            continue
        for section in SECTIONS:
            for name, spec in getattr(parsed, section).items():
                where = f"{path.name}:{lines.get((section, name), '?')}"
                if (section, name) in desired.origin:
                    problems.append(f"{where} {section}.{name}: also defined at {desired.origin[(section, name)]}")
                    continue
                getattr(desired, section)[name] = spec
                desired.origin[(section, name)] = where
        for name, pair in parsed.sync.items():
            relative = [key for key in ("source", "destination") if _relative_side(getattr(pair, key))]
            for key in relative if not relative_to_files else []:
                problems.append(
                    f"{path.name}:{_line_of(lines, ('sync', name, key))} sync.{name}.{key}: a policy sent over the"
                    " API lies nowhere: give an absolute path"
                )
            if relative and not relative_to_files:
                continue
            request, failures = _sync_request(name, pair, path.parent)
            for key, message in failures:
                problems.append(f"{path.name}:{_line_of(lines, ('sync', name, key))} sync.{name}.{key}: {message}")
            if request is not None:
                desired.sync_requests[name] = request
    for name, policy in desired.policies.items():
        where = desired.origin[("policies", name)].split(" ")[0]
        if policy.source not in desired.sources:
            problems.append(f"{where} policies.{name}.source: no source named {policy.source!r}")
        if policy.repository not in desired.repositories:
            problems.append(f"{where} policies.{name}.repository: no repository named {policy.repository!r}")
        elif policy.retention and desired.repositories[policy.repository].retention:
            problems.append(
                f"{where} policies.{name}.retention: repository {policy.repository} has a retention"
                " of its own over all its snapshots; set retention on one of them"
            )
    if problems:
        raise PolicyErrors(problems)
    return desired
