"""HTTP ingress runtime: POST with an Idempotency-Key; 2xx confirms, 429/5xx retried, 3xx never followed."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from console.replay.message import REPLAY_COUNT, is_broker_header
from console.replay.runtime import Outbound, Outcome, Sent, redact_text, redact_url

MAX_ATTEMPTS = 4
MAX_RESPONSE_BYTES = 64 * 1024
MAX_RETRY_AFTER = 60.0
RETRYABLE = frozenset({429, 500, 502, 503, 504})


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return default
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        pass
    when = email.utils.parsedate_to_datetime(value) if value else None
    if when is None:
        return default
    return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER)


def _headers(item: Outbound) -> dict[str, str]:
    """HTTP headers: content type, the key, trace context, and the message's own non-broker headers."""
    props = item.properties
    out = {"Content-Type": str(props.get("content_type") or "application/octet-stream"),
           "Idempotency-Key": item.replay_id,
           "traceparent": str(item.headers.get("traceparent", "")),
           "backroom-replay-count": str(item.headers.get(REPLAY_COUNT, 1))}
    if props.get("message_id"):
        out["Message-Id"] = str(props["message_id"])
    if item.destination.exchange or item.destination.routing_key:
        out["backroom-destination"] = f"{item.destination.exchange}/{item.destination.routing_key}"
    carried = {k: v for k, v in item.headers.items() if not is_broker_header(k)}
    out["backroom-headers"] = orjson.dumps(carried, default=str).decode()
    return {k: v for k, v in out.items() if v}


class HttpRuntime:
    """One ingress URL (or the message's own URL destination); no redirects, bounded reads."""

    name = "http"

    def __init__(self, url: str, timeout: float = 10.0, attempts: int = MAX_ATTEMPTS,
                 backoff: float = 0.5, sleep: Any = asyncio.sleep) -> None:
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None

    async def open(self) -> None:
        # follow_redirects=False: a POST is never re-sent elsewhere; trust_env off: no proxy surprises
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False)

    async def send(self, batch: Sequence[Outbound]) -> list[Sent]:
        return list(await asyncio.gather(*(self._send_one(item) for item in batch)))

    async def _send_one(self, item: Outbound) -> Sent:
        url = item.destination.url or self.url
        last = Sent(Outcome.REFUSED, "not sent")
        unknown_before = False
        for attempt in range(1, self.attempts + 1):
            last, wait = await self._attempt(url, item)
            if wait is None:
                return Sent(last.outcome, last.cause, after_unknown=unknown_before)
            unknown_before = unknown_before or last.outcome == Outcome.UNKNOWN
            if attempt < self.attempts:
                jitter = random.uniform(0, self.backoff)
                await self._sleep(max(wait, self.backoff * 2 ** (attempt - 1)) + jitter)
        outcome = Outcome.UNKNOWN if unknown_before else last.outcome
        return Sent(outcome, f"{last.cause} after {self.attempts} attempts")

    async def _attempt(self, url: str, item: Outbound) -> tuple[Sent, float | None]:
        """One POST: (how it ended, seconds to wait before retrying or None when final)."""
        assert self._client is not None
        where = redact_url(url)
        try:
            request = self._client.build_request("POST", url, content=item.body, headers=_headers(item))
            response = await self._client.send(request, stream=True)
        except httpx.ConnectError as exc:
            # refused, DNS or TLS failure: the request never reached the ingress; never downgraded
            return Sent(Outcome.REFUSED, f"cannot connect to {where}: {redact_text(str(exc))}"), None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # the ingress may have processed it: unknown, and a retry reuses the same key
            return Sent(Outcome.UNKNOWN, f"outcome unknown: {type(exc).__name__} at {where}"), 0.0
        try:
            text = await _bounded(response)
        finally:
            await response.aclose()
        return _classify(response, text, where)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


async def _bounded(response: httpx.Response) -> str:
    """At most MAX_RESPONSE_BYTES of the body: an endless answer cannot exhaust memory."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk[: MAX_RESPONSE_BYTES - size])
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks).decode("utf-8", "replace")[:200]


def _classify(response: httpx.Response, text: str, where: str) -> tuple[Sent, float | None]:
    status = response.status_code
    if 200 <= status < 300:
        return Sent(Outcome.CONFIRMED), None
    if 300 <= status < 400:
        target = redact_url(response.headers.get("location", "?"))
        return Sent(Outcome.REFUSED, f"HTTP {status} redirect to {target} not followed ({where})"), None
    cause = f"HTTP {status} from {where}" + (f": {text.strip()}" if text.strip() else "")
    if status in RETRYABLE:
        return Sent(Outcome.REFUSED, cause), retry_after(response.headers.get("retry-after"), 0.0)
    return Sent(Outcome.REFUSED, cause), None
