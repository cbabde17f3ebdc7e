"""The Temporal contract is said once: every workflow and activity exists under its contract name with its
contract types, nothing names one by a string literal, and the layers import only downwards."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from workers.main import WORKFLOWS, activities_on, implementations

ROOT = Path(__file__).resolve().parents[2]
TEMPORAL_CALLS = {
    "execute_activity",
    "start_activity",
    "start_workflow",
    "execute_workflow",
    "start_child_workflow",
    "execute_child_workflow",
    "signal",
    "query",
    "ScheduleActionStartWorkflow",
    "signal_with_start",
}


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_every_activity_of_the_contract_is_implemented_once_on_its_queue():
    found = implementations(Settings())
    names = [contract.spec_of(a).name for a in found]
    assert sorted(names) == sorted(spec.name for spec in contract.ACTIVITIES)
    for queue in contract.Queue:
        assert {contract.spec_of(a).name for a in activities_on(queue, found)} == {
            spec.name for spec in contract.ACTIVITIES if spec.queue is queue
        }


def test_implements_refuses_an_implementation_of_other_types():
    with pytest.raises(TypeError, match="activity finish_run: .* the contract says"):

        @contract.implements(contract.FINISH_RUN)
        def finish(data: str) -> None: ...


@pytest.mark.parametrize("workflow_class", WORKFLOWS, ids=lambda w: w.__name__)
def test_every_workflow_runs_under_its_contract_name_with_its_types(workflow_class):
    definition = workflow_class.__temporal_workflow_definition
    spec = {w.name: w for w in contract.WORKFLOWS}[definition.name]
    hints = typing.get_type_hints(definition.run_fn)
    result = hints.pop("return")
    assert list(hints.values()) == [spec.input]
    assert result == spec.result
    assert {w.name for w in contract.WORKFLOWS} == {w.__temporal_workflow_definition.name for w in WORKFLOWS}


def test_sync_signals_and_query_are_the_contracts():
    from workflows.sync import SyncWorkflow

    definition = SyncWorkflow.__temporal_workflow_definition
    assert set(definition.signals) == {signal.name for signal in contract.SYNC_SIGNALS}
    assert set(definition.queries) == {contract.SYNC_STATUS.name}
    assert typing.get_type_hints(definition.queries["status"].fn)["return"] is contract.SYNC_STATUS.result


def test_no_workflow_activity_signal_or_query_is_named_by_a_string_literal():
    offenders = []
    for path in python_files("syncoxide", "workflows", "activities", "workers", "dashboard"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            first = node.args[0]
            if name in TEMPORAL_CALLS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}({first.value!r})")
    assert not offenders, "name them through syncoxide.contract.temporal:\n" + "\n".join(offenders)


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_core_imports_no_worker_workflow_activity_dashboard_or_streamlit():
    above = ("workers", "workflows", "activities", "dashboard", "streamlit")
    offenders = []
    for path in python_files("syncoxide"):
        relative = path.relative_to(ROOT)
        allowed = {"workers"} if relative.parts[1] == "cli" else set()  # `syncoxide worker` runs the worker
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in above and top not in allowed:
                offenders.append(f"{relative}: imports {module}")
    assert not offenders, "\n".join(offenders)


def test_the_contract_and_the_payloads_import_nothing_that_runs():
    for path in python_files("syncoxide/contract"):
        for module in imported_modules(path):
            assert not module.startswith(
                (
                    "syncoxide.orchestration",
                    "syncoxide.store",
                    "syncoxide.engines",
                    "syncoxide.backups",
                    "syncoxide.catalog",
                    "temporalio.client",
                    "temporalio.worker",
                    "psycopg",
                )
            ), f"{path.name} imports {module}"
