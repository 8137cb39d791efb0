"""The shipped policy's event-to-state table and SLA rules, evaluated on each generated order."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from collectors.demo.clock import US

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def _duration_us(text: str) -> int:
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 2h or 1d")
    return int(float(match[1]) * _UNIT_SECONDS[match[2]] * US)


@dataclass(frozen=True)
class Rule:
    """One SLA rule: reach `to` within `within` microseconds of `start`, for some channels."""

    name: str
    start: str
    to: str
    within: int
    channels: frozenset[str] | None


@dataclass(frozen=True)
class Breach:
    """An order that missed a rule: closed (got there late) or open (still not there)."""

    rule: str
    status: str
    elapsed: int


class Policy:
    """The demo's view of the shipped default policy (a local backroom.toml does not apply)."""

    def __init__(self) -> None:
        text = (resources.files("queries") / "default_policy.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
        self.states: dict[str, str] = dict(data["states"])
        self.rules = tuple(
            Rule(rule["name"], rule["from"], rule["to"], _duration_us(rule["within"]),
                 frozenset(rule["channels"]) if rule.get("channels") else None)
            for rule in data["sla"]
        )
        self.stale_after = str(data["inventory"]["stale_after"])
        self._by_channel: dict[str, tuple[Rule, ...]] = {}

    def rules_for(self, channel: str) -> tuple[Rule, ...]:
        """The rules that apply to orders of `channel`."""
        rules = self._by_channel.get(channel)
        if rules is None:
            rules = self._by_channel[channel] = tuple(
                rule for rule in self.rules if rule.channels is None or channel in rule.channels)
        return rules

    def evaluate(self, channel: str, states: dict[str, int], now: int) -> list[Breach]:
        """Every rule this order breached as of `now` (state times are when they happened)."""
        breaches = []
        for rule in self.rules_for(channel):
            began = states.get(rule.start)
            if began is None:
                continue
            reached = states.get(rule.to)
            if reached is not None:
                if reached - began > rule.within:
                    breaches.append(Breach(rule.name, "closed", reached - began))
            elif now - began > rule.within:
                breaches.append(Breach(rule.name, "open", now - began))
        return breaches
