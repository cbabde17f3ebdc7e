"""The API's OpenAPI schema, checked in as docs/openapi.json: ``python -m syncoxide.api.schema`` writes it,
``--check`` fails (exit 1, one line) when the checked-in copy differs from what the code serves."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def openapi() -> dict[str, Any]:
    from syncoxide.api.app import create_app
    from syncoxide.config import Settings

    return create_app(Settings()).openapi()


def rendered() -> str:
    return json.dumps(openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = rendered()
    if "--check" in argv:
        if not CHECKED_IN.exists() or CHECKED_IN.read_text(encoding="utf-8") != text:
            print(f"{CHECKED_IN}: stale; run python -m syncoxide.api.schema", file=sys.stderr)
            return 1
        return 0
    CHECKED_IN.write_text(text, encoding="utf-8")
    print(f"wrote {CHECKED_IN}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
