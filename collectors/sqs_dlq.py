"""`aws sqs receive-message` output from a dead-letter queue (FORMATS.md 5.2) into `dlq_messages`."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from collectors.rabbitmq_dump import (
    ERROR_HEADERS,
    DeadLetterParser,
    body_json,
    dead_letter_id,
    error_text,
)
from collectors.rows import (
    RECORD_ERRORS,
    BadRecord,
    DlqRow,
    Where,
    int32,
    iso_from_micros,
    reason_of,
    text,
)
from collectors.text import fingerprint, parse_traceparent
from queries.ingest import Reject

BROKER = "sqs"
REDRIVE_REASON = "maxReceiveCount exceeded"  # what a redrive policy moves a message for
# Message attributes that name the failure more precisely than the redrive does.
REASON_ATTRIBUTES = ("x-exception-type", "exception-type", "error-type", "error-code", "errorcode")
ERROR_ATTRIBUTES = (*ERROR_HEADERS, "errormessage", "error-message", "error_message")
CONTENT_TYPE_ATTRIBUTES = ("content-type", "contenttype", "content_type")
# The receipt handle is a short-lived capability to delete the message: not worth keeping.
_PROPERTIES = ("MessageId", "MD5OfBody", "MD5OfMessageAttributes", "Attributes")
_XRAY_ROOT = re.compile(r"1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})")
_MAX_MS = 253_402_300_799_999  # TIMESTAMPTZ stops at the year 9999


def queue_name(address: Any) -> str | None:
    """The queue name from a queue URL (`https://sqs.../123/orders-dlq`), an ARN, or a name."""
    name = text(address)
    if name is None:
        return None
    if "://" in name:
        try:
            name = unquote(urlsplit(name).path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return None
    elif name.startswith("arn:"):
        name = name.rsplit(":", 1)[-1]
    return name or None


def xray_trace_id(header: Any) -> str | None:
    """The W3C trace id in an X-Ray `Root=1-<8 hex>-<24 hex>;Parent=...` header, else None."""
    if not isinstance(header, str) or len(header) > 512:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        match = _XRAY_ROOT.fullmatch(value.strip()) if key.lower() == "root" else None
        if match:
            trace_id = (match[1] + match[2]).lower()
            return None if trace_id.count("0") == len(trace_id) else trace_id
    return None


def attribute_values(attributes: Any) -> dict[str, Any]:
    """Message attributes as `{name: value}`: the string value, else the (base64) binary one."""
    flat: dict[str, Any] = {}
    if not isinstance(attributes, dict):
        return flat
    for name, typed in attributes.items():
        if isinstance(typed, dict):
            flat[name] = next((typed[key] for key in ("StringValue", "BinaryValue",
                                                      "StringListValues", "BinaryListValues")
                               if typed.get(key) is not None), None)
        else:
            flat[name] = typed  # lenient: a bare value where a typed one was expected
    return flat


def _micros_from_millis(value: Any) -> int | None:
    """An SQS timestamp attribute (epoch ms, as a string) as microseconds; junk -> None."""
    if isinstance(value, str) and value.strip().isdecimal() and len(value) <= 20:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_MS:
        return value * 1000
    return None


def _first_named(values: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lowered = {name.lower(): value for name, value in values.items() if isinstance(name, str)}
    return next((found for name in names if (found := text(lowered.get(name))) is not None), None)


def _unwrap(value: Any) -> tuple[list[Any], str | None]:
    """(messages, queue) from a response, a `{QueueUrl|queue, Messages}` wrapper, or an array."""
    if isinstance(value, list):
        return value, None
    if not isinstance(value, dict):
        raise BadRecord("not an SQS receive-message response (an object with Messages)")
    queue = next((found for key in ("QueueUrl", "queue", "QueueName", "QueueArn")
                  if (found := queue_name(value.get(key))) is not None), None)
    messages = value.get("Messages")
    if isinstance(messages, list):
        return messages, queue
    if "MessageId" in value or "Body" in value:
        return [value], queue
    if messages is None and queue is not None:
        return [], queue  # an empty receive: nothing was waiting
    raise BadRecord("not an SQS receive-message response (no Messages list)")


def _body(message: dict[str, Any]) -> bytes:
    body = message.get("Body")
    if not isinstance(body, str):
        raise BadRecord("missing Body" if body is None else "Body is not a string")
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRecord("Body is not valid UTF-8 text") from None


def _history(source_arn: str | None, reason: str, count: int | None,
             times: tuple[int | None, int | None]) -> list[dict[str, Any]]:
    return [{
        "queue": queue_name(source_arn), "source_arn": source_arn, "reason": reason,
        "count": count, "sent_at": iso_from_micros(times[0]),
        "first_receive_at": iso_from_micros(times[1]),
    }]


class SqsDlqParser(DeadLetterParser):
    """Turns messages received from an SQS dead-letter queue into dead-letter rows."""


    def feed(self, value: Any, where: Where) -> list[Reject]:
        try:
            messages, queue = _unwrap(value)
        except BadRecord as exc:
            return [self.reject(where, str(exc))]
        rejects = []
        for number, message in enumerate(messages, 1):
            try:
                self.buffer.rows.append(self._row(message, queue or self.queue_from_name))
            except RECORD_ERRORS as exc:
                reason = f"message {number}: {reason_of(exc)}"
                rejects.append(self.reject(where, reason, message))
        return rejects

    def _row(self, message: Any, queue: str) -> DlqRow:
        if not isinstance(message, dict):
            raise BadRecord("not a message object")
        body = _body(message)
        attributes = message.get("Attributes")
        attributes = attributes if isinstance(attributes, dict) else {}
        typed = message.get("MessageAttributes")
        typed = typed if isinstance(typed, dict) else {}
        values = attribute_values(typed)
        properties = {key: message[key] for key in _PROPERTIES if key in message}
        sources = {"properties": properties, "headers": values, "body": body_json(body)}
        body_sha256 = hashlib.sha256(body).hexdigest()
        message_id = text(message.get("MessageId")) or self.message_of(sources)
        times = (_micros_from_millis(attributes.get("SentTimestamp")),
                 _micros_from_millis(attributes.get("ApproximateFirstReceiveTimestamp")))
        known = [time for time in times if time is not None]
        first_death_at = min(known) if known else None
        source_arn = text(attributes.get("DeadLetterQueueSourceArn"))
        original_queue = queue_name(source_arn)
        reason = _first_named(values, REASON_ATTRIBUTES) or REDRIVE_REASON
        error = error_text(values, ERROR_ATTRIBUTES)
        count = int32(attributes.get("ApproximateReceiveCount"))
        return DlqRow(
            id=dead_letter_id(BROKER, None, queue, message_id, body_sha256, first_death_at),
            broker=BROKER, queue=queue, vhost=None, original_exchange=None,
            original_routing_key=None, original_queue=original_queue, reason=reason,
            death_count=count if count is None or count >= 0 else None,
            first_death_at=first_death_at, last_death_at=max(known) if known else None,
            message_id=message_id,
            content_type=_first_named(values, CONTENT_TYPE_ATTRIBUTES),
            properties=orjson.dumps(properties), headers=orjson.dumps(typed),
            body=body, body_sha256=body_sha256, error_text=error,
            order_id=self.order_of(sources),
            trace_id=self._trace_id(attributes, values),
            fingerprint=fingerprint(reason, original_queue, error), status="dead",
            history=orjson.dumps(_history(source_arn, reason, count, times)),
            seen_at=self.seen_at,
        )

    @staticmethod
    def _trace_id(attributes: dict[str, Any], values: dict[str, Any]) -> str | None:
        """The X-Ray root of `AWSTraceHeader`, else the trace id of a `traceparent` attribute."""
        trace_id = xray_trace_id(attributes.get("AWSTraceHeader"))
        if trace_id is None:
            parsed = parse_traceparent(values.get("traceparent"))
            trace_id = parsed[0] if parsed else None
        return trace_id
