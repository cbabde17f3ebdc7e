"""The syncoxide command line (Typer). Failures print one line and exit non-zero; --debug shows tracebacks.

Every command lives in the module of its concern: a command group is that module's `app`, the top-level commands
it owns are its `commands` (a Typer without a name, whose commands join the top level). The two lists below
register them all, in the order `syncoxide --help` lists them.
"""

from __future__ import annotations

import atexit
import os
import sys
import traceback
from typing import TYPE_CHECKING, Annotated, TypeGuard

import typer

from syncoxide.cli import catalog, cleanup, dev, keys, policy, repository, runs, services, source, sync, tokens
from syncoxide.cli.common import err
from syncoxide.errors import SyncoxideError

if TYPE_CHECKING:
    from temporalio.service import RPCError

app = typer.Typer(
    help="syncoxide: encrypted, deduplicated backups orchestrated by Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

COMMANDS: tuple[typer.Typer, ...] = (
    services.commands,  # worker, codec-server, serve, dashboard, dashboard-password
    runs.commands,  # backup, restore, cancel, runs
    dev.commands,  # demo
    repository.commands,  # snapshots, ls, diff, export, forget, check, unlock, db-list, db-restore
    policy.commands,  # status
    catalog.commands,  # scan, search, versions, stats
)
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("dev", dev.app),
    ("repo", repository.app),
    ("keys", keys.app),
    ("policy", policy.app),
    ("source", source.app),
    ("catalog", catalog.app),
    ("cleanup", cleanup.app),
    ("sync", sync.app),
    ("token", tokens.app),
)

for _commands in COMMANDS:
    app.add_typer(_commands)
for _name, _group in GROUPS:
    app.add_typer(_group, name=_name)


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on failure.")] = False) -> None:
    pass


def main() -> None:
    from syncoxide.fs.modes import go_private

    go_private()  # also when started as `python -m syncoxide.cli` (dev up's worker, codec server), not via entry
    debug = "--debug" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        err.print("error: aborted")
        code = 130
    except typer.TyperException as exc:  # usage errors: a missing option, a bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err.print(f"error: {message}", markup=False, highlight=False)
        code = getattr(exc, "exit_code", 2)
    except SyncoxideError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"error: {exc}", markup=False, highlight=False)
        code = 1
    except KeyboardInterrupt:
        err.print("error: interrupted")
        code = 130
    except Exception as exc:  # Temporal's refusals, and the last resort: still one line, traceback on --debug
        if debug:
            traceback.print_exc()
        if _is_rpc_error(exc):
            err.print(f"error: Temporal refused the request: {exc.message}", markup=False, highlight=False)
        else:
            detail = str(exc).splitlines()[0] if str(exc) else ""
            err.print(f"error: unexpected {type(exc).__name__}: {detail} (--debug shows more)", markup=False)
        code = 1
    _exit(code if isinstance(code, int) else 0)


def _is_rpc_error(exc: BaseException) -> TypeGuard[RPCError]:
    """An RPCError of Temporal's SDK, without importing the SDK for commands that never loaded it."""
    service = sys.modules.get("temporalio.service")
    return service is not None and isinstance(exc, service.RPCError)


def _exit(code: int) -> None:
    """Leave without interpreter finalization, which can crash while the Temporal client's Rust
    threads are still alive (temporalio/sdk-python#300): a finished backup must not exit -11."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    main()
