"""The parser for each format the collectors read, by its name (detect.FORMATS)."""

from __future__ import annotations

from datetime import UTC, datetime

from collectors import detect
from collectors.cloudevents import EventsParser
from collectors.otlp_typed import TypedOtlpParser
from collectors.rabbitmq_dump import DlqDumpParser
from collectors.rows import Parser, micros
from queries.errors import BackroomError
from queries.policy import Policy


class UnsupportedFormat(BackroomError):
    """The forced format is not one this collector reads."""


def unsupported(fmt: str) -> str:
    return f"format {fmt!r} is not supported (one of auto, {', '.join(detect.FORMATS)})"


def make_parser(fmt: str, source: str, policy: Policy, *, seen_at: int | None = None) -> Parser:
    """The parser for one file of a known format (dead letters seen at `seen_at`, else now)."""
    # The formats read less often are imported when a file of theirs is met.
    from collectors.jaeger import JaegerParser
    from collectors.kafka_dlq import KafkaDlqParser
    from collectors.sqs_dlq import SqsDlqParser

    if fmt == detect.OTLP:
        return TypedOtlpParser(source, policy)
    if fmt == detect.JAEGER:
        return JaegerParser(source, policy)
    if fmt == detect.EVENTS:
        return EventsParser(source, policy)
    seen_at = micros(datetime.now(UTC)) if seen_at is None else seen_at
    if fmt == detect.RABBITMQ_DLQ:
        return DlqDumpParser(source, policy, seen_at=seen_at)
    if fmt == detect.KAFKA_DLQ:
        return KafkaDlqParser(source, policy, seen_at=seen_at)
    if fmt == detect.SQS_DLQ:
        return SqsDlqParser(source, policy, seen_at=seen_at)
    raise UnsupportedFormat(unsupported(fmt))
