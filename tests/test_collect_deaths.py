"""RabbitMQ death history in every client's and version's shape reads into one history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from collectors import ingest_paths
from collectors.deaths import Death, DeathHistory, read_deaths
from queries import Store
from queries.policy import load

FIRST = datetime(2026, 12, 4, 14, 59, 35, tzinfo=UTC)
FIRST_EPOCH = 1796396375  # FIRST in epoch seconds, as the management API writes it


class Long(int):
    """pika decodes AMQP `long` into its own int subclass (repr `1L`)."""

    def __repr__(self) -> str:
        return f"{int(self)}L"


class Symbol(str):
    """AMQP 1.0 clients give map keys and `reason` as a str subclass for the symbol type."""


class Described:
    """An AMQP 1.0 described value as python-qpid-proton gives it."""

    def __init__(self, descriptor: Any, value: Any) -> None:
        self.descriptor, self.value = descriptor, value


def expected_entry(**changes: Any) -> Death:
    base: dict[str, Any] = {
        "queue": "orders.erp", "reason": "rejected", "count": 1, "exchange": "orders",
        "routing_keys": ("orders.erp",), "time": FIRST,
    }
    return Death(**{**base, **changes})


def test_pika_headers_read_as_utc_seconds_and_plain_ints() -> None:
    in_berlin = FIRST.astimezone(timezone(timedelta(hours=1))).replace(microsecond=654321)
    headers = {
        "x-death": [{"count": Long(2), "reason": "rejected", "queue": "orders.erp",
                     "time": in_berlin, "exchange": "orders", "routing-keys": ["orders.erp"]}],
        "x-first-death-exchange": "orders", "x-first-death-queue": "orders.erp",
        "x-first-death-reason": "rejected", "attempt": 1, "tenant": "store-042",
    }

    history = read_deaths(headers)

    assert history.entries == (expected_entry(count=2),)
    assert type(history.entries[0].count) is int
    assert history.entries[0].time is not None and history.entries[0].time.tzinfo is UTC
    assert (history.total, history.first_time, history.last_time) == (2, FIRST, FIRST)
    assert (history.queue, history.reason, history.exchange, history.routing_key) == (
        "orders.erp", "rejected", "orders", "orders.erp")
    assert history.ignored == ()


def test_aio_pika_bytes_values_are_decoded() -> None:
    headers = {"x-death": [{"count": 1, "reason": b"rejected", "queue": b"orders.erp",
                            "time": FIRST, "exchange": b"orders",
                            "routing-keys": [b"orders.erp"]}]}

    assert read_deaths(headers).entries == (expected_entry(),)


def test_management_json_gives_epoch_seconds() -> None:
    dump = orjson.loads(b'{"x-death": [{"count": 1, "exchange": "orders", "queue": "orders.erp",'
                        b' "reason": "rejected", "routing-keys": ["orders.erp"], "time": '
                        + str(FIRST_EPOCH).encode() + b"}]}")

    assert read_deaths(dump).entries == (expected_entry(),)


def test_amqp_1_0_x_opt_deaths_with_symbol_keys_and_millisecond_times() -> None:
    later = FIRST + timedelta(minutes=5)
    entry = {Symbol("queue"): "orders.erp", Symbol("reason"): Symbol("delivery_limit"),
             Symbol("count"): 3, Symbol("first-time"): FIRST_EPOCH * 1000 + 999,
             Symbol("last-time"): int(later.timestamp()) * 1000 + 1, Symbol("exchange"): "",
             Symbol("routing-keys"): ["orders.erp"], Symbol("ttl"): 60000}
    annotations = {Symbol("x-opt-deaths"): Described(0xBEEF, [entry]),
                   Symbol("x-first-death-queue"): "orders.erp",
                   Symbol("x-last-death-queue"): "orders.erp"}

    history = read_deaths(annotations)

    assert history.entries == (expected_entry(reason="delivery_limit", count=3, exchange="",
                                              last_time=later, original_expiration="60000"),)
    assert (history.first_time, history.last_time) == (FIRST, later)
    assert history.exchange is None  # the default exchange has no name to replay to


def test_the_most_recent_entry_comes_first_and_counts_add_up() -> None:
    # RELIABILITY.md 2.3: a reject -> TTL retry loop, twice.
    headers = {"x-death": [
        {"queue": "c.retry", "reason": "expired", "exchange": "c.dlx",
         "routing-keys": ["to-retry"], "count": 2, "time": FIRST_EPOCH + 1},
        {"queue": "c.work", "reason": "rejected", "exchange": "c.ex", "routing-keys": ["work"],
         "count": 2, "time": FIRST_EPOCH},
    ], "x-first-death-queue": "c.work", "x-first-death-reason": "rejected"}

    history = read_deaths(headers)

    assert history.latest == history.entries[0]
    assert (history.queue, history.reason, history.total) == ("c.retry", "expired", 4)
    assert (history.first_time, history.last_time) == (FIRST, FIRST + timedelta(seconds=1))


@pytest.mark.parametrize(("headers", "queue", "reason", "exchange"), [
    # 3.10: x-first-death-* only (and here no x-death at all, as after a strip).
    ({"x-first-death-queue": "a", "x-first-death-reason": "expired",
      "x-first-death-exchange": "ex-a"}, "a", "expired", "ex-a"),
    # 3.13+/4.x: x-last-death-* is updated on every death and wins over the first.
    ({"x-first-death-queue": "a", "x-first-death-reason": "expired",
      "x-first-death-exchange": "ex-a", "x-last-death-queue": "b",
      "x-last-death-reason": "rejected", "x-last-death-exchange": "ex-b"}, "b", "rejected", "ex-b"),
])
def test_first_and_last_death_headers_without_x_death(headers: dict[str, Any], queue: str,
                                                      reason: str, exchange: str) -> None:
    history = read_deaths(headers)

    assert history.entries == ()
    assert (history.queue, history.reason, history.exchange) == (queue, reason, exchange)
    assert (history.total, history.first_time, history.latest) == (0, None, None)


def test_odd_values_are_left_out_and_named() -> None:
    headers = {"x-death": [
        {"queue": "q", "reason": "rejected", "count": -4, "time": "yesterday",
         "routing-keys": [1, "k"]},
        "not a table",
        {"queue": 7, "count": "3", "time": 1796396375123},  # 3.13.0-3.13.2 wrote milliseconds
    ], "x-first-death-queue": ["q"]}

    history = read_deaths(headers)

    assert [(e.queue, e.count, e.time, e.routing_keys) for e in history.entries] == [
        ("q", 1, None, ("k",)), (None, 3, FIRST, ()),
    ]
    assert history.ignored == (
        "x-death[0].count: unusable (-4), taken as 1",
        "x-death[0].routing-keys: non-text keys left out",
        "x-death[0].time: not a time ('yesterday')",
        "x-death[1]: not a table (str)",
        "x-death[2].queue: not text (7)",
        "x-death[2].time: 1796396375123 read as milliseconds",
        "x-first-death-queue: not text (['q'])",
    )


@pytest.mark.parametrize("headers", [None, "x-death", 42, [], {"x-death": None}, {}])
def test_no_history_at_all(headers: Any) -> None:
    history = read_deaths(headers)

    assert (history.entries, history.total, history.queue) == ((), 0, None)


def test_a_dump_without_x_death_takes_the_last_death_headers(store: Store,
                                                             tmp_path: Path) -> None:
    message = {"payload": "{}", "payload_encoding": "string", "properties": {"headers": {
        "x-first-death-queue": "orders.work", "x-first-death-reason": "expired",
        "x-last-death-queue": "orders.retry", "x-last-death-reason": "rejected",
        "x-last-death-exchange": "shop"}}}
    path = tmp_path / "orders.dlq.json"
    path.write_bytes(orjson.dumps([message]))

    ingest_paths(store, [path], policy=load())

    with store.reading() as cursor:
        row = cursor.execute("SELECT original_queue, reason, original_exchange, death_count "
                             "FROM dlq_messages").fetchall()
    assert row == [("orders.retry", "rejected", "shop", None)]


# I1 (RELIABILITY.md 7): arbitrary AMQP header tables, every field type, x-death in each shape.
_ZONES = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23),
                                           max_value=timedelta(hours=23)))
_TIMES = st.datetimes(timezones=st.one_of(st.none(), st.just(UTC), _ZONES))
_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.integers().map(Long),
    st.floats(), st.decimals(), st.text(max_size=12), st.text(max_size=8).map(Symbol),
    st.binary(max_size=12), st.binary(max_size=6).map(bytearray), _TIMES,
)
_KEYS = st.one_of(st.text(max_size=10), st.text(max_size=6).map(Symbol), st.binary(max_size=6))
_ANY = st.recursive(_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)), max_leaves=12)


def _either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, _ANY)  # mostly a well-formed value, sometimes anything


_NAME = st.sampled_from(["orders.erp", "c.retry", "", "q\u202e", "очередь"])
_REASON = st.sampled_from(["rejected", "expired", "maxlen", "delivery_limit"])
_SECONDS = st.integers(0, 2**34)
_PIKA = st.fixed_dictionaries({
    "queue": _either(_NAME), "reason": _either(_REASON), "count": _either(st.integers(0, 99).map(Long)),
    "time": _either(_TIMES), "exchange": _either(_NAME), "routing-keys": _either(st.lists(_NAME)),
})
_AIO = _PIKA.map(lambda e: {k: v.encode() if isinstance(v, str) else v for k, v in e.items()})
_MGMT = st.fixed_dictionaries({
    "queue": _either(_NAME), "reason": _either(_REASON), "count": _either(st.integers(0, 99)),
    "time": _either(_SECONDS), "exchange": _either(_NAME), "routing-keys": _either(st.lists(_NAME)),
}, optional={"original-expiration": _either(st.just("60000"))})
_AMQP10 = st.fixed_dictionaries({
    Symbol("queue"): _either(_NAME), Symbol("reason"): _either(_REASON.map(Symbol)),
    Symbol("count"): _either(st.integers(0, 99)), Symbol("first-time"): _either(_SECONDS),
    Symbol("last-time"): _either(_SECONDS.map(lambda s: s * 1000)),
}, optional={Symbol("ttl"): _either(st.integers(0, 2**32 - 1))})
_HISTORY = st.one_of(
    st.tuples(st.just("x-death"), st.lists(st.one_of(_PIKA, _AIO, _MGMT, _ANY), max_size=4)),
    st.tuples(st.just("x-opt-deaths"), st.lists(st.one_of(_AMQP10, _ANY), max_size=4)),
    st.tuples(st.just("x-death"), _ANY),
)
_NAMED = st.dictionaries(st.sampled_from([
    "x-first-death-queue", "x-first-death-reason", "x-first-death-exchange",
    "x-last-death-queue", "x-last-death-reason", "x-last-death-exchange",
]), _either(_NAME))


def _table(other: dict[Any, Any], history: tuple[str, Any], named: dict[str, Any]) -> Any:
    return {**other, **named, history[0]: history[1]}


_HEADERS = st.one_of(
    st.builds(_table, st.dictionaries(_KEYS, _ANY, max_size=4), _HISTORY, _NAMED), _ANY)


def _check(history: DeathHistory) -> None:
    for entry in history.entries:
        assert type(entry.count) is int and entry.count >= 0
        for time in (entry.time, entry.last_time):
            assert time is None or (time.utcoffset() == timedelta(0) and time.microsecond == 0)
    assert history.total == sum(entry.count for entry in history.entries)
    if history.first_time is not None:
        assert history.last_time is not None and history.first_time <= history.last_time
    assert history.latest is None or history.latest in history.entries


@settings(max_examples=400, deadline=None)
@given(headers=_HEADERS)
@example(headers={"x-opt-deaths": [{"count": 0, "first-time": 1000, "last-time": 0}]})
def test_any_header_table_reads_without_raising_and_round_trips(headers: Any) -> None:
    history = read_deaths(headers)

    _check(history)
    stored = orjson.loads(orjson.dumps(history.as_json()))
    assert read_deaths({"x-death": stored}).entries == history.entries
    assert all(isinstance(note, str) and note.isprintable() for note in history.ignored)


def test_a_count_beyond_64_bits_is_taken_as_one_and_still_stores() -> None:
    headers = {"x-death": [{"count": 2**64, "time": FIRST_EPOCH},
                           {"count": "99999999999999999999", "time": FIRST_EPOCH},
                           {"count": 2**64 - 1, "time": FIRST_EPOCH}]}

    history = read_deaths(headers)

    assert [entry.count for entry in history.entries] == [1, 1, 2**64 - 1]
    assert any("count: unusable" in note for note in history.ignored)
    stored = orjson.loads(orjson.dumps(history.as_json()))
    assert read_deaths({"x-death": stored}).entries == history.entries


def test_decimal_and_float_counts_and_times() -> None:
    headers = {"x-death": [{"count": Decimal(2), "time": float(FIRST_EPOCH) + 0.75},
                           {"count": 1.5, "time": Decimal("NaN")}]}

    history = read_deaths(headers)

    assert [(e.count, e.time) for e in history.entries] == [(2, FIRST), (1, None)]
