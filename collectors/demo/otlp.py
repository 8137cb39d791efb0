"""OTLP JSON spans as the Collector's file exporter writes them: one export batch per line.

Spans are rendered straight to JSON text from templates: building a dict per span and
serialising it cost three times as much, and every value placed raw in a template is
generated here as safe ASCII (hex ids, fixed names); free text goes through orjson.
"""

from __future__ import annotations

from random import Random

import orjson

from collectors.demo.writers import RotatingJsonl

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5
ERROR = 2
BATCH_SPANS = 512
UNSET = "{}"
# (service, version, SDK language): the estate's instrumented middleware services
SERVICES = (
    ("storefront-webhooks", "3.8.2", "nodejs"),
    ("pos-sync", "2.14.0", "java"),
    ("order-router", "5.2.1", "java"),
    ("payment-gateway", "1.19.4", "go"),
    ("erp-adapter", "4.0.7", "java"),
    ("wms-adapter", "2.3.0", "java"),
    ("inventory-sync", "1.11.3", "python"),
)
_FLAGS_LOCAL = 0x101  # sampled, and the parent is known to be local (or there is none)
_FLAGS_REMOTE = 0x301  # sampled, and the parent came from another process


def _quoted(value: str) -> str:
    return orjson.dumps(value).decode()


def text(key: str, value: str) -> str:
    """A string attribute as a JSON `KeyValue`."""
    return f'{{"key":"{key}","value":{{"stringValue":{_quoted(value)}}}}}'


def integer(key: str, value: int) -> str:
    """An int64 attribute, its value a decimal string as OTLP JSON requires."""
    return f'{{"key":"{key}","value":{{"intValue":"{value}"}}}}'


def flag(key: str, value: bool) -> str:
    """A boolean attribute."""
    return f'{{"key":"{key}","value":{{"boolValue":{"true" if value else "false"}}}}}'


def double(key: str, value: float) -> str:
    """A double attribute (finite values only, which JSON can carry as numbers)."""
    return f'{{"key":"{key}","value":{{"doubleValue":{orjson.dumps(value).decode()}}}}}'


_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def new_trace_id(rng: Random) -> str:
    """A random, never all-zero, 16-byte trace id in lower-case hex."""
    trace = rng.getrandbits(128).to_bytes(16, "little").hex()
    return trace if trace != _ZERO_TRACE else "1".zfill(32)


def error_status(message: str) -> str:
    """The status of a failed operation."""
    return f'{{"code":{ERROR},"message":{_quoted(message)}}}'


def exception_event(at: int, kind: str, message: str) -> str:
    """The `events` member recording an exception the way OpenTelemetry does."""
    return (f',"events":[{{"timeUnixNano":"{at}000","name":"exception","attributes":['
            f'{text("exception.type", kind)},{text("exception.message", message)}]}}]')


def link_to(trace: str, span: str) -> str:
    """The `links` member pointing at one earlier span."""
    return f',"links":[{{"traceId":"{trace}","spanId":"{span}"}}]'


def _resource(service: str, version: str, language: str) -> str:
    attributes = ",".join((
        text("service.name", service), text("service.namespace", "retail-integration"),
        text("service.version", version), text("deployment.environment.name", "production"),
        text("telemetry.sdk.name", "opentelemetry"), text("telemetry.sdk.language", language),
    ))
    scope = orjson.dumps({"name": f"com.acme.{service.replace('-', '')}", "version": version})
    return (f'{{"resource":{{"attributes":[{attributes}]}},'
            f'"scopeSpans":[{{"scope":{scope.decode()},"spans":[')


class SpanSink:
    """Buffers spans per service and writes one `{"resourceSpans": [...]}` line per batch."""

    def __init__(self, writer: RotatingJsonl, now: int, rng: Random,
                 batch: int = BATCH_SPANS) -> None:
        self.writer = writer
        self.now = now
        self.batch = batch
        self.total = 0
        self._bits = rng.getrandbits
        self._buffered = 0
        self._spans: dict[str, list[str]] = {name: [] for name, _, _ in SERVICES}
        self._heads = {name: _resource(name, version, language)
                       for name, version, language in SERVICES}

    def add(self, service: str, trace: str, parent: str | None, name: str, kind: int,
            start: int, end: int, attributes: str, status: str = UNSET, remote: bool = False,
            extra: str = "") -> str:
        """Buffer one span (epoch microseconds; `attributes` a JSON fragment) and return its id.

        A span that has not ended by `now` is not exported yet, so it is dropped.
        """
        span = self._bits(64).to_bytes(8, "little").hex()
        if span == _ZERO_SPAN:  # all-zero is invalid; one in 2**64, but then keep it valid
            span = "1".zfill(16)
        if end > self.now:
            return span
        parent_member = f',"parentSpanId":"{parent}"' if parent else ""
        flags = _FLAGS_REMOTE if remote else _FLAGS_LOCAL
        self._spans[service].append(
            f'{{"traceId":"{trace}","spanId":"{span}"{parent_member},"flags":{flags},'
            f'"name":"{name}","kind":{kind},"startTimeUnixNano":"{start}000",'
            f'"endTimeUnixNano":"{end}000","attributes":[{attributes}]{extra},"status":{status}}}')
        self._buffered += 1
        if self._buffered >= self.batch:
            self.flush()
        return span

    def flush(self) -> None:
        """Write the buffered spans as one export batch, grouped by resource."""
        if not self._buffered:
            return
        groups = [f"{self._heads[service]}{','.join(spans)}]}}]}}"
                  for service, spans in self._spans.items() if spans]
        line = f'{{"resourceSpans":[{",".join(groups)}]}}\n'
        self.writer.write(line.encode(), self._buffered)
        for service, spans in self._spans.items():
            if spans:
                self.writer.count(service, len(spans))
                self._spans[service] = []
        self.total += self._buffered
        self._buffered = 0
