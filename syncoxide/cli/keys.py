"""`syncoxide keys new|list|reseal`: the payload keys that seal every Temporal payload."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from syncoxide.cli.common import JsonOpt, emit_json, out, settings

app = typer.Typer(help="Payload keys: the AES-256 keys that seal every Temporal payload.")


@app.command("new")
def keys_new(
    into: Annotated[Path | None, typer.Option("--into", help="Put the key first in this key file (0600).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a payload key: printed once, or put first in a key file (it seals from then on; the rest still open)."""
    from syncoxide.orchestration import payload_keys

    if into is None:
        out.print(payload_keys.new_key_text(), markup=False, highlight=False)
        return
    key = payload_keys.add_key(into)
    if as_json:
        emit_json({"file": str(into), "id": key.id})
    else:
        out.print(f"added payload key {key.id} first in {into}: it seals new payloads; restart workers and clients")


@app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """The ids of the payload keys this process would use (never the keys), the sealing one first."""
    from syncoxide.orchestration import payload_keys

    cfg = settings()
    found = payload_keys.load_keys(cfg.payload_keys, cfg.home)
    if as_json:
        emit_json([{"id": k.id, "seals": i == 0} for i, k in enumerate(found)])
        return
    for i, key in enumerate(found):
        out.print(f"{key.id}  {'seals and opens' if i == 0 else 'opens'}")


@app.command("reseal")
def keys_reseal(as_json: JsonOpt = False) -> None:
    """Seal every syncoxide schedule's stored input again with the sealing key (after an upgrade, a rotation)."""
    from syncoxide.orchestration import schedules

    cfg = settings()

    async def go() -> list[str]:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration.codec import EncryptionCodec

        client = await temporal.connect(cfg)
        codec = client.data_converter.payload_codec
        assert isinstance(codec, EncryptionCodec)  # temporal.connect's converter seals with it
        return await schedules.reseal(client, codec)

    done = asyncio.run(go())
    if as_json:
        emit_json({"resealed": done})
    else:
        out.print(f"resealed {len(done)} schedules" + (": " + ", ".join(done) if done else ""), markup=False)
