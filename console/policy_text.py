"""The effective policy written back as TOML, for `backroom policy show`."""

from __future__ import annotations

import json
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return str(value)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def render_toml(policy: dict[str, Any]) -> str:
    """TOML text of a policy dump (durations as 5m / 2h / 1d)."""
    lines = ["[correlation]"]
    lines += [f"{key} = {_value(value)}" for key, value in policy["correlation"].items()]
    lines += ["", "[states]"]
    lines += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in policy["states"].items()]
    for rule in policy["sla"]:
        lines += ["", "[[sla]]", f"name = {_value(rule['name'])}", f"from = {_value(rule['from'])}",
                  f"to = {_value(rule['to'])}", f'within = "{_duration(_seconds(rule["within"]))}"']
        if rule.get("channels"):
            lines.append(f"channels = {_value(rule['channels'])}")
    inventory = policy["inventory"]
    lines += ["", "[inventory]"]
    lines += [f"{key} = {_value(value)}" if isinstance(value, list)
              else f'{key} = "{_duration(_seconds(value))}"' for key, value in inventory.items()]
    lines += ["", "[console]", f"role = {_value(policy['console']['role'])}"]
    return "\n".join(lines)


def _seconds(value: Any) -> float:
    """Durations in the JSON document are ISO 8601 ("PT5M"; queries.policy.document); parse them."""
    import re

    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", str(value))
    if not match:
        return float(value)
    days, hours, minutes, secs = (float(part or 0) for part in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + secs
