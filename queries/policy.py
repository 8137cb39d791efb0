"""The policy: correlation keys, event type -> state, SLA rules, inventory staleness (backroom.toml)."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from queries.errors import PolicyError

CANONICAL_STATES = (
    "captured", "payment_authorized", "inventory_reserved", "fulfillment_released", "shipped",
    "picked_up", "invoiced", "settled", "return_requested", "return_received", "refund_issued",
    "refund_settled",
)
CHANNELS = ("pos", "ecommerce", "bopis", "marketplace")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'90s', '5m', '2h', '1d' -> timedelta; anything else raises ValueError."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 2h or 1d")
    return timedelta(**{_UNITS[match[2]]: float(match[1])})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Correlation(_Strict):
    order_id: list[str] = Field(min_length=1)
    message_id: list[str] = Field(min_length=1)


class SlaRule(_Strict):
    name: str = Field(min_length=1)
    from_state: str = Field(alias="from")
    to_state: str = Field(alias="to")
    within: timedelta
    channels: list[str] | None = None

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)

    @field_validator("from_state", "to_state")
    @classmethod
    def _state(cls, value: str) -> str:
        if value not in CANONICAL_STATES:
            raise ValueError(f"unknown state {value!r} (one of {', '.join(CANONICAL_STATES)})")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        for channel in value or []:
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
        return value


class Inventory(_Strict):
    stale_after: timedelta
    quiet_after: timedelta
    systems: list[str] = Field(min_length=1)

    @field_validator("stale_after", "quiet_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)


class ConsoleSettings(_Strict):
    role: str = "oncall"

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in ("oncall", "support"):
            raise ValueError(f"unknown role {value!r} (oncall or support)")
        return value


class Policy(_Strict):
    correlation: Correlation
    states: dict[str, str]
    sla: list[SlaRule]
    inventory: Inventory
    console: ConsoleSettings = ConsoleSettings()

    @field_validator("states")
    @classmethod
    def _states(cls, value: dict[str, str]) -> dict[str, str]:
        for event_type, state in value.items():
            if state not in CANONICAL_STATES:
                raise ValueError(f"{event_type!r} maps to unknown state {state!r}")
        return value


def _defaults() -> dict[str, Any]:
    text = (resources.files("queries") / "default_policy.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; arrays (correlation lists, [[sla]]) replace the default whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _location(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def load(path: str | os.PathLike[str] | None = None) -> Policy:
    """The effective policy: shipped defaults, overridden by `path`, `BACKROOM_CONFIG` or ./backroom.toml."""
    explicit = path or os.environ.get("BACKROOM_CONFIG")
    candidate = Path(explicit) if explicit else Path("backroom.toml")
    data = _defaults()
    if candidate.exists():
        try:
            override = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"policy {candidate} is not valid TOML: {exc}") from None
        data = _merge(data, override)
    elif explicit:
        raise PolicyError(f"policy {candidate} does not exist")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PolicyError(
            f"policy {candidate}: key {_location(first)}: {first['msg']}"
        ) from None
