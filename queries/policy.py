"""The policy: correlation keys, event type -> state, SLA rules, inventory staleness (backroom.toml)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

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


class InvalidPolicy(ValueError):
    """A policy document refused: where (dotted key) and why."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"key {where}: {why}")
        self.where, self.why = where, why


# Plain frozen dataclasses validated by hand, not pydantic models: `order KEY` loads the policy on
# every run, and importing pydantic and building these schemas took 60-70 ms of the ~150 ms a bare
# DuckDB point query takes (issue 4 allows 1.5x of that).
@dataclass(frozen=True)
class Correlation:
    order_id: list[str]
    message_id: list[str]


@dataclass(frozen=True)
class SlaRule:
    name: str
    from_state: str
    to_state: str
    within: timedelta
    channels: list[str] | None = None


@dataclass(frozen=True)
class Inventory:
    stale_after: timedelta
    quiet_after: timedelta
    systems: list[str]


@dataclass(frozen=True)
class ConsoleSettings:
    role: str = "oncall"


@dataclass(frozen=True)
class Policy:
    correlation: Correlation
    states: dict[str, str]
    sla: list[SlaRule]
    inventory: Inventory
    console: ConsoleSettings = ConsoleSettings()


def parse(data: dict[str, Any]) -> Policy:
    """A policy from its document (TOML tables as dicts); raises InvalidPolicy naming the key."""
    top = _table(data, "", required=("correlation", "states", "sla", "inventory"), optional=("console",))
    correlation = _table(top["correlation"], "correlation", required=("order_id", "message_id"))
    states = _mapping(top["states"], "states")
    for event_type, state in states.items():
        if state not in CANONICAL_STATES:
            raise InvalidPolicy("states", f"{event_type!r} maps to unknown state {state!r}")
    inventory = _table(top["inventory"], "inventory",
                       required=("stale_after", "quiet_after", "systems"))
    console = _table(top.get("console", {}), "console", optional=("role",))
    role = _text(console.get("role", "oncall"), "console.role")
    if role not in ("oncall", "support"):
        raise InvalidPolicy("console.role", f"unknown role {role!r} (oncall or support)")
    return Policy(
        correlation=Correlation(
            order_id=_texts(correlation["order_id"], "correlation.order_id", at_least=1),
            message_id=_texts(correlation["message_id"], "correlation.message_id", at_least=1)),
        states=states,
        sla=[_rule(rule, f"sla.{index}") for index, rule in enumerate(_list(top["sla"], "sla"))],
        inventory=Inventory(
            stale_after=_duration(inventory["stale_after"], "inventory.stale_after"),
            quiet_after=_duration(inventory["quiet_after"], "inventory.quiet_after"),
            systems=_texts(inventory["systems"], "inventory.systems", at_least=1)),
        console=ConsoleSettings(role=role),
    )


def _rule(value: Any, where: str) -> SlaRule:
    rule = _table(value, where, required=("name", "from", "to", "within"), optional=("channels",))
    name = _text(rule["name"], f"{where}.name")
    if not name:
        raise InvalidPolicy(f"{where}.name", "must not be empty")
    states = []
    for key in ("from", "to"):
        state = _text(rule[key], f"{where}.{key}")
        if state not in CANONICAL_STATES:
            raise InvalidPolicy(f"{where}.{key}",
                                f"unknown state {state!r} (one of {', '.join(CANONICAL_STATES)})")
        states.append(state)
    channels = rule.get("channels")
    if channels is not None:
        channels = _texts(channels, f"{where}.channels")
        for channel in channels:
            if channel not in CHANNELS:
                raise InvalidPolicy(f"{where}.channels",
                                    f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
    return SlaRule(name=name, from_state=states[0], to_state=states[1],
                   within=_duration(rule["within"], f"{where}.within"), channels=channels)


def _table(value: Any, where: str, required: tuple[str, ...] = (),
           optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPolicy(where or "(top level)", "must be a table")
    for key in required:
        if key not in value:
            raise InvalidPolicy(_join(where, key), "is required")
    for key in value:
        if key not in required and key not in optional:
            raise InvalidPolicy(_join(where, key), "is not a policy key")
    return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _mapping(value: Any, where: str) -> dict[str, str]:
    """A table of any keys whose values are strings (`[states]`)."""
    if not isinstance(value, dict):
        raise InvalidPolicy(where, "must be a table")
    return {key: _text(item, f"{where}.{key}") for key, item in value.items()}


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidPolicy(where, "must be a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidPolicy(where, f"must be a string, not {type(value).__name__}")
    return value


def _texts(value: Any, where: str, at_least: int = 0) -> list[str]:
    items = [_text(item, f"{where}.{index}") for index, item in enumerate(_list(value, where))]
    if len(items) < at_least:
        raise InvalidPolicy(where, f"needs at least {at_least} item{'s' if at_least > 1 else ''}")
    return items


def _duration(value: Any, where: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise InvalidPolicy(where, str(exc)) from None


def document(policy: Policy, *, as_json: bool = False) -> dict[str, Any]:
    """The policy as its document (`from`/`to` as in TOML); durations as ISO 8601 with `as_json`."""
    def span(value: timedelta) -> timedelta | str:
        return _iso_duration(value) if as_json else value

    return {
        "correlation": {"order_id": list(policy.correlation.order_id),
                        "message_id": list(policy.correlation.message_id)},
        "states": dict(policy.states),
        "sla": [{"name": r.name, "from": r.from_state, "to": r.to_state, "within": span(r.within),
                 "channels": list(r.channels) if r.channels is not None else None}
                for r in policy.sla],
        "inventory": {"stale_after": span(policy.inventory.stale_after),
                      "quiet_after": span(policy.inventory.quiet_after),
                      "systems": list(policy.inventory.systems)},
        "console": {"role": policy.console.role},
    }


def _iso_duration(value: timedelta) -> str:
    """ISO 8601 as `policy show --json` has always written it: 'PT20M', 'P1D', 'PT1M30S'."""
    seconds = value.total_seconds()
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P" + (f"{int(days)}D" if days else "")
    clock = ((f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
             + (f"{secs:g}S" if secs else ""))
    if clock or not days:
        text += "T" + (clock or "0S")
    return text


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
        return parse(data)
    except InvalidPolicy as exc:
        raise PolicyError(f"policy {candidate}: {exc}") from None
