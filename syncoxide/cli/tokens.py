"""`syncoxide token create|list|revoke`: the tokens the REST API (`syncoxide serve`) lets in, and their scopes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Column, Table

from syncoxide.api.tokens import ID_CHARS, Scope, token_key
from syncoxide.cli.common import JsonOpt, emit_json, err, out, settings
from syncoxide.models import parse_duration
from syncoxide.store import audit, open_store, tokens
from syncoxide.store.tokens import ApiToken

app = typer.Typer(help="API tokens: who may call the REST API (`syncoxide serve`), with scope read, operate or admin.")


def _view(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "scope": token.scope.value,
        "state": token.state,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def _when(at: object) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else ""


@app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="What to call it (1-64 of A-Z a-z 0-9 . _ -); one live a name.")],
    scope: Annotated[
        Scope, typer.Option("--scope", help="read: look; operate: also start and cancel runs; admin: everything.")
    ],
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 90d, 12h, 1y (m is months, min minutes).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a token. It is printed now and never again: only a keyed hash of it is stored."""
    lifetime = parse_duration(expires) if expires is not None else None
    cfg = settings()
    key = token_key(cfg)
    with open_store(cfg) as conn, conn.transaction():
        token, text = tokens.create(conn, key, name=name, scope=scope, expires=lifetime)
        audit.record(
            conn,
            actor=audit.CLI_ACTOR,
            scope=None,
            method="CLI",
            path="token create",
            status=201,
            address=None,
            target=token.id,
            detail={"name": token.name, "scope": token.scope.value, "expires_at": _view(token)["expires_at"]},
        )
    if as_json:
        view = _view(token)
        emit_json({field: view[field] for field in ("id", "name", "scope", "expires_at")} | {"token": text})
        return
    out.print(text, markup=False, highlight=False)
    expiry = f"expires {_when(token.expires_at)}" if token.expires_at else "never expires"
    err.print(
        f"token {token.name} ({token.id}, scope {token.scope.value}, {expiry}): it is shown only now;"
        " keep it where its user can read it (syncoxide cannot show it again)",
        markup=False,
        highlight=False,
    )


@app.command("list")
def token_list(
    show_all: Annotated[bool, typer.Option("--all", help="Revoked tokens too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The tokens, oldest first: name, scope, state and dates (never the token or its hash)."""
    with open_store(settings()) as conn:
        found = tokens.list_tokens(conn, include_revoked=show_all)
    if as_json:
        emit_json([_view(t) for t in found])
        return
    id_column = Column("id", no_wrap=True, min_width=ID_CHARS)  # what revoke takes: never cut short
    table = Table(id_column, "name", "scope", "state", "created", "expires", "last used")
    for t in found:
        table.add_row(
            t.id, t.name, t.scope.value, t.state, _when(t.created_at), _when(t.expires_at), _when(t.last_used_at)
        )
    out.print(table)


@app.command("revoke")
def token_revoke(
    name_or_id: Annotated[str, typer.Argument(help="The token's name or id (token list shows both).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token: the API refuses it from its next request on."""
    with open_store(settings()) as conn, conn.transaction():
        token = tokens.revoke(conn, name_or_id)
        audit.record(
            conn,
            actor=audit.CLI_ACTOR,
            scope=None,
            method="CLI",
            path="token revoke",
            status=200,
            address=None,
            target=token.id,
            detail={"name": token.name},
        )
    if as_json:
        emit_json(_view(token))
    else:
        out.print(f"revoked token {token.name} ({token.id})", markup=False, highlight=False)
