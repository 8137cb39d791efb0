"""Dead-letter groups, pages and one message, from the store."""

from __future__ import annotations

import orjson
import pytest

from queries import Store, dlq
from queries.ingest import Table
from tests.estate import add_rows, dead_letter, minutes


@pytest.fixture
def estate(store: Store) -> Store:
    timeouts = [dead_letter(f"t{i}", "erp.orders.dlq", f"SO-{i % 3}", fingerprint="g-timeout",
                            reason="rejected", original_queue="erp.orders", first_death_at=minutes(i),
                            error_text=f"Timeout after 3000{i} ms") for i in range(5)]
    add_rows(store, Table.DLQ_MESSAGES, timeouts + [
        dead_letter("s1", "erp.invoices.dlq", "SO-9", fingerprint="g-schema", first_death_at=minutes(2),
                    error_text="Schema validation failed", message_id="m-s1",
                    headers=orjson.dumps({"x-order-id": "SO-9"}).decode(),
                    body=b'{"order_id":"SO-9","lines":[]}', content_type="application/json"),
        dead_letter("p1", "erp.orders.dlq", None, fingerprint="g-poison", reason="delivery_limit",
                    death_count=25, first_death_at=minutes(3), body=b"\x00\x9f\x92\x96binary"),
        dead_letter("r1", "erp.orders.dlq", "SO-1", fingerprint="g-timeout", status="replayed",
                    first_death_at=minutes(1)),
    ])
    return store


def test_groups_count_dead_messages_and_orders(estate: Store) -> None:
    with estate.reading() as cursor:
        found = {g.group: (g.count, g.orders, g.queue) for g in dlq.groups(cursor)}
    assert found == {"g-timeout": (5, 3, "erp.orders.dlq"), "g-schema": (1, 1, "erp.invoices.dlq"),
                     "g-poison": (1, 0, "erp.orders.dlq")}


def test_a_page_says_how_many_match_in_all(estate: Store) -> None:
    with estate.reading() as cursor:
        first = dlq.page(cursor, statuses=["dead"], group="g-timeout", limit=2)
        rest = dlq.page(cursor, statuses=["dead"], group="g-timeout", limit=2, offset=2)
    assert first.total == 5 and [m.id for m in first.messages] == ["t4", "t3"]
    assert [m.id for m in rest.messages] == ["t2", "t1"]


def test_show_decodes_json_and_previews_binary(estate: Store) -> None:
    with estate.reading() as cursor:
        schema = dlq.show(cursor, "m-s1")
        poison = dlq.show(cursor, "p1")
        missing = dlq.show(cursor, "nope")
    assert schema is not None and schema.body.kind == "json" and '"order_id": "SO-9"' in schema.body.text
    assert schema.headers == {"x-order-id": "SO-9"}
    assert poison is not None and poison.body.kind == "binary" and poison.count == 25
    assert poison.body.text.startswith("00000000  00 9f 92 96 62 69 6e 61 72 79")
    assert missing is None


def test_payload_text_is_found_through_the_fts_index(estate: Store) -> None:
    from queries import search, search_index

    assert search_index.rebuild(estate) == 8
    with estate.reading() as cursor:
        hits = search.search(cursor, "schema validation")
        body_hit = search.search(cursor, "lines SO-9")
    assert hits.orders == [] and [h.dlq_id for h in hits.dead_letters] == ["s1"]
    assert [h.order_id for h in body_hit.dead_letters] == ["SO-9"]


def test_a_group_whose_deaths_have_no_time_still_says_why(store: Store) -> None:
    # x-death written without a time (by hand, by some clients and dumps): the group's reason,
    # queue and error were all blank, so the on-call engineer saw a group and no cause.
    add_rows(store, Table.DLQ_MESSAGES, [
        dead_letter("u1", "u1.dlq", "SO-1", fingerprint="g-untimed", original_queue="erp.orders"),
        dead_letter("u2", "u1.dlq", "SO-2", fingerprint="g-untimed", original_queue="erp.orders",
                    error_text="Timeout after 30000 ms calling SO-2"),
        dead_letter("u3", "u1.dlq", "SO-3", fingerprint="g-mixed", first_death_at=minutes(5)),
        dead_letter("u4", "u1.dlq", "SO-4", fingerprint="g-mixed", reason="expired",
                    error_text="TTL expired"),
    ])
    with store.reading() as cursor:
        groups = {g.group: g for g in dlq.groups(cursor)}
    untimed = groups["g-untimed"]
    assert (untimed.reason, untimed.original_queue, untimed.sample_error) == (
        "rejected", "erp.orders", "Timeout after 30000 ms calling SO-2")
    assert untimed.first_seen is None
    mixed = groups["g-mixed"]  # the timed death is the first; its error is none, so the other's shows
    assert (mixed.reason, mixed.sample_error, mixed.first_seen) == ("rejected", "TTL expired", minutes(5))
