"""Typed access to a spec's options and secrets, with one-line errors naming the option."""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncoxide.errors import InvalidInput

if TYPE_CHECKING:
    from syncoxide.providers.spec import ProviderSpec


def text(spec: ProviderSpec, name: str, default: str | None = None) -> str | None:
    value = spec.options.get(name, default)
    return None if value is None else str(value)


def flag(spec: ProviderSpec, name: str, default: bool) -> bool:
    value = spec.options.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise InvalidInput(f"{spec.kind} option {name} must be true or false, not {value!r}")


def number(spec: ProviderSpec, name: str, default: float) -> float:
    value = spec.options.get(name, default)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{spec.kind} option {name} must be a number, not {value!r}") from None
    if result <= 0:
        raise InvalidInput(f"{spec.kind} option {name} must be positive, not {value!r}")
    return result


def secret(spec: ProviderSpec, name: str) -> str | None:
    """Resolve one secret reference (None if the spec has none by that name)."""
    ref = spec.secrets.get(name)
    return ref.resolve() if ref is not None else None


def redact(message: str, secrets: list[str]) -> str:
    """Remove secret values from a message a server or tool produced, just in case it echoed one."""
    for value in secrets:
        if value and len(value) >= 4:
            message = message.replace(value, "***")
    return message
