"""How the command line is put together: every command group a module-level Typer in its own module, every
top-level command in the module of its concern, all of them registered from the lists in cli/app.py; and the
quick path of search and scan loads the standard library alone."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import typer

import syncoxide.cli
from syncoxide.cli import app as cli_app
from syncoxide.cli.quick import scan as scan_cli
from syncoxide.cli.quick import search as search_cli
from syncoxide.cli.quick import worker_socket
from syncoxide.cli.quick.args import OneLineParser, parse

CLI_DIR = Path(syncoxide.cli.__file__).parent

TOP_LEVEL = [
    "worker",
    "codec-server",
    "serve",
    "dashboard",
    "dashboard-password",  # services
    "backup",
    "restore",
    "cancel",
    "runs",  # runs
    "demo",  # dev
    "snapshots",
    "ls",
    "diff",
    "export",
    "forget",
    "check",
    "unlock",
    "db-list",
    "db-restore",  # repository
    "status",  # policy
    "scan",
    "search",
    "versions",
    "stats",  # catalog
]
GROUPS = ["dev", "repo", "keys", "policy", "source", "catalog", "cleanup", "sync", "token"]


def test_the_root_lists_the_top_level_commands_then_the_groups_in_their_order() -> None:
    root = typer.main.get_command(cli_app.app)
    assert list(root.commands) == TOP_LEVEL + GROUPS
    assert [name for name, _ in cli_app.GROUPS] == GROUPS
    assert all(not hasattr(root.commands[name], "commands") for name in TOP_LEVEL)
    assert all(hasattr(root.commands[name], "commands") for name in GROUPS)


def test_each_group_is_the_app_of_its_own_module_and_the_top_level_commands_join_unnamed() -> None:
    modules = {group.registered_commands[0].callback.__module__ for _, group in cli_app.GROUPS}
    assert len(modules) == len(GROUPS)  # one module a group
    for _, group in cli_app.GROUPS:
        module = sys.modules[group.registered_commands[0].callback.__module__]
        assert module.app is group
    for commands in cli_app.COMMANDS:
        assert not isinstance(commands.info.name, str) and not commands.registered_groups  # no name
        assert sys.modules[commands.registered_commands[0].callback.__module__].commands is commands
    registered = {id(t) for t in cli_app.COMMANDS} | {id(t) for _, t in cli_app.GROUPS}
    assert [g.typer_instance for g in cli_app.app.registered_groups] == [
        *cli_app.COMMANDS,
        *(t for _, t in cli_app.GROUPS),
    ]
    assert len(registered) == len(cli_app.app.registered_groups)
    assert not cli_app.app.registered_commands  # app.py itself defines no command


def test_no_module_registers_commands_from_a_function() -> None:
    for path in sorted(CLI_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.name != "register", f"{path.name}: register()"
                for inner in (n for statement in node.body for n in ast.walk(statement)):
                    if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                        decorators = [ast.unparse(d) for d in inner.decorator_list]
                        assert not any(".command" in d for d in decorators), f"{path.name}: {inner.name} in a function"
                    if isinstance(inner, ast.Call) and ast.unparse(inner.func).endswith(("add_typer", ".command")):
                        raise AssertionError(f"{path.name}:{inner.lineno}: registers inside {node.name}()")
        assert "noqa: C901" not in path.read_text(), path.name


def test_the_quick_path_loads_the_standard_library_alone() -> None:
    code = (
        "import json, sys; before = set(sys.modules); import syncoxide.entry, syncoxide.cli.quick.search,"
        " syncoxide.cli.quick.scan; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    ours = {
        "syncoxide",
        "syncoxide.entry",
        "syncoxide.home",
        "syncoxide.fs",
        "syncoxide.fs.names",
        "syncoxide.cli",
        "syncoxide.cli.quick",
        "syncoxide.cli.quick.args",
        "syncoxide.cli.quick.search",
        "syncoxide.cli.quick.scan",
        "syncoxide.cli.quick.worker_socket",
    }
    third_party = [
        m
        for m in loaded
        if m not in ours
        and m.split(".")[0].lstrip("_") not in sys.stdlib_module_names
        and m.split(".")[0] not in sys.stdlib_module_names
    ]
    assert not third_party
    assert {m for m in loaded if m.startswith("syncoxide")} == ours


def test_parse_makes_the_request_with_the_callers_folder_and_keeps_json_apart(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    parser = OneLineParser(prog="syncoxide thing")
    parser.add_argument("what")
    parser.add_argument("--json", dest="as_json", action="store_true")
    assert parse(parser, ["x", "--json"]) == ({"what": "x", "cwd": str(tmp_path)}, True)
    assert parse(parser, ["y"]) == ({"what": "y", "cwd": str(tmp_path)}, False)
    assert list(scan_cli.request_from(["here"])[0]) == ["op", "source", "one_file_system", "cwd"]
    assert search_cli.request_from(["x"])[0]["cwd"] == str(tmp_path)


def test_a_workers_answer_is_shown_with_exit_0_and_its_error_is_one_line_with_exit_1(capsys) -> None:
    shown: list[dict] = []
    assert worker_socket.answered({"hits": []}, shown.append) == 0
    assert shown == [{"hits": []}]
    assert worker_socket.answered({"error": "no such source 'x'"}, shown.append) == 1
    assert shown == [{"hits": []}]
    assert capsys.readouterr().err == "error: no such source 'x'\n"
