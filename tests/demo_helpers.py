"""Reading a generated demo estate back, the way a user (or a collector) would see its files."""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from queries.policy import parse_duration

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DECIMAL = re.compile(r"^\d+$")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the test estates' end
ORDERS = 3000


def when(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime."""
    return datetime.fromisoformat(text)


def nanos(text: str) -> datetime:
    """OTLP decimal-string nanoseconds as an aware datetime (microsecond precision)."""
    return datetime.fromtimestamp(0, tz=when("1970-01-01T00:00:00Z").tzinfo) + timedelta(
        microseconds=int(text) // 1000)


@dataclass
class Span:
    """One span with the service that exported it."""

    service: str
    body: dict[str, Any]

    @property
    def attributes(self) -> dict[str, Any]:
        """Attribute values by key, unwrapped from their AnyValue."""
        return {pair["key"]: next(iter(pair["value"].values())) for pair in self.body["attributes"]}


@dataclass
class Estate:
    """Everything a generated folder holds, parsed."""

    root: Path
    manifest: dict[str, Any]
    trace_lines: list[dict[str, Any]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    batch_lines: int = 0
    dead_letters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def events_of(self, order_id: str) -> list[dict[str, Any]]:
        """The order's events in the order they happened."""
        return sorted((event for event in self.events if event.get("subject") == order_id),
                      key=lambda event: event["time"])


def read_estate(root: Path) -> Estate:
    """Parse every file the generator wrote under `root`."""
    estate = Estate(root, orjson.loads((root / "manifest.json").read_bytes()))
    for path in sorted((root / "traces").glob("traces-*.jsonl")):
        for line in path.read_bytes().splitlines():
            document = orjson.loads(line)
            estate.trace_lines.append(document)
            for resource_spans in document["resourceSpans"]:
                service = _service(resource_spans["resource"])
                for scope_spans in resource_spans["scopeSpans"]:
                    estate.spans.extend(Span(service, span) for span in scope_spans["spans"])
    for path in sorted((root / "events").glob("events-*.jsonl")):
        for line in path.read_bytes().splitlines():
            value = orjson.loads(line)
            if isinstance(value, list):
                estate.batch_lines += 1
                estate.events.extend(value)
            else:
                estate.events.append(value)
    for path in sorted((root / "dlq").glob("*.json")):
        estate.dead_letters[path.name.removesuffix(".json")] = orjson.loads(path.read_bytes())
    return estate


def _service(resource: dict[str, Any]) -> str:
    for pair in resource["attributes"]:
        if pair["key"] == "service.name":
            return str(pair["value"]["stringValue"])
    raise AssertionError("a resource without service.name")


@dataclass(frozen=True)
class Rule:
    """One SLA rule of the shipped policy."""

    name: str
    start: str
    to: str
    within: timedelta
    channels: frozenset[str] | None


def shipped_policy() -> tuple[dict[str, str], list[Rule]]:
    """The shipped policy's event-type-to-state table and SLA rules, read from the TOML file."""
    text = (resources.files("queries") / "default_policy.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    rules = [Rule(rule["name"], rule["from"], rule["to"], parse_duration(rule["within"]),
                  frozenset(rule["channels"]) if rule.get("channels") else None)
             for rule in data["sla"]]
    return dict(data["states"]), rules


def order_states(estate: Estate, states: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per order: its channel and when it first reached each state, from the events alone."""
    orders: dict[str, dict[str, Any]] = defaultdict(lambda: {"channel": None, "states": {}})
    for event in estate.events:
        state = states.get(event["type"])
        if state is None or "subject" not in event:
            continue
        order = orders[event["subject"]]
        order["channel"] = event["channel"]
        at = when(event["time"])
        if state not in order["states"] or at < order["states"][state]:
            order["states"][state] = at
    return dict(orders)


def breaches(orders: dict[str, dict[str, Any]], rules: list[Rule],
             now: datetime) -> set[tuple[str, str, str]]:
    """(order, rule, closed|open) for every rule an order missed, as of `now`."""
    found = set()
    for order_id, order in orders.items():
        for rule in rules:
            if rule.channels is not None and order["channel"] not in rule.channels:
                continue
            began = order["states"].get(rule.start)
            if began is None:
                continue
            reached = order["states"].get(rule.to)
            if reached is not None and reached - began > rule.within:
                found.add((order_id, rule.name, "closed"))
            elif reached is None and now - began > rule.within:
                found.add((order_id, rule.name, "open"))
    return found
