"""The policy file: shipped defaults, overrides, and a refusal that names the key and the reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from queries.errors import PolicyError
from queries.policy import document, load, parse


def refusal(tmp_path: Path, toml: str) -> str:
    path = tmp_path / "backroom.toml"
    path.write_text(toml)
    with pytest.raises(PolicyError) as refused:
        load(path)
    return str(refused.value)


@pytest.mark.parametrize(("toml", "says"), [
    ('[inventory]\nstale_after = "soon"\n',
     "key inventory.stale_after: 'soon' is not a duration like 30s, 5m, 2h or 1d"),
    ("[inventory]\nstale_after = 15\n",
     "key inventory.stale_after: 15 is not a duration like 30s, 5m, 2h or 1d"),
    ('[inventory]\nstale_afterr = "5m"\n', "key inventory.stale_afterr: is not a policy key"),
    ("[correlation]\norder_id = []\n", "key correlation.order_id: needs at least 1 item"),
    ('[correlation]\norder_id = "subject"\n', "key correlation.order_id: must be a list"),
    ("[correlation]\norder_id = [7]\n", "key correlation.order_id.0: must be a string, not int"),
    ('[states]\n"order.captured" = "teleported"\n',
     "key states: 'order.captured' maps to unknown state 'teleported'"),
    ('[[sla]]\nname = "x"\nfrom = "captured"\nto = "shipped"\n', "key sla.0.within: is required"),
    ('[[sla]]\nname = "x"\nfrom = "captured"\nto = "shipped"\nwithin = "5m"\nchannels = ["fax"]\n',
     "key sla.0.channels: unknown channel 'fax'"),
    ('[[sla]]\nname = ""\nfrom = "captured"\nto = "shipped"\nwithin = "5m"\n',
     "key sla.0.name: must not be empty"),
    ('[console]\nrole = "admin"\n', "key console.role: unknown role 'admin' (oncall or support)"),
    ('colour = "blue"\n', "key colour: is not a policy key"),
])
def test_a_bad_policy_is_refused_naming_the_key_and_the_reason(tmp_path: Path, toml: str,
                                                              says: str) -> None:
    said = refusal(tmp_path, toml)
    assert said.startswith(f"policy {tmp_path / 'backroom.toml'}: ") and says in said
    assert "\n" not in said


def test_overrides_merge_into_the_shipped_defaults(tmp_path: Path) -> None:
    path = tmp_path / "backroom.toml"
    path.write_text('[inventory]\nstale_after = "20m"\n[console]\nrole = "support"\n'
                    '[[sla]]\nname = "fast"\nfrom = "captured"\nto = "shipped"\nwithin = "90s"\n')
    effective = load(path)
    assert effective.inventory.stale_after == timedelta(minutes=20)
    assert effective.inventory.quiet_after == load().inventory.quiet_after  # default kept
    assert effective.console.role == "support"
    assert [(r.name, r.within, r.channels) for r in effective.sla] == [
        ("fast", timedelta(seconds=90), None)]  # arrays replace the default whole
    assert effective.states["shipment.confirmed"] == "shipped"


def test_the_document_reads_back_as_the_same_policy() -> None:
    shipped = load()
    assert parse(document(shipped)) == shipped
    as_json = document(shipped, as_json=True)
    assert as_json["inventory"]["stale_after"] == "PT15M"
    assert {rule["within"] for rule in as_json["sla"]} >= {"PT5M", "PT2H", "P1D"}


def test_a_missing_explicit_policy_and_broken_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load(tmp_path / "absent.toml")
    assert "is not valid TOML" in refusal(tmp_path, "[inventory\n")
