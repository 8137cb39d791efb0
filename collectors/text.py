"""Text from untrusted input: escaped excerpts, JSON error reasons, error folding, traceparent."""

from __future__ import annotations

import hashlib
import re

EXCERPT_CHARS = 200
_EXCERPT_BYTES = 800  # enough raw bytes for 200 characters even when most need escaping

# C0 and C1 controls, DEL, and the bidi/zero-width characters that can reorder or hide text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ORJSON_POSITION = re.compile(r": line \d+ column (\d+) \(char \d+\)$")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """Replace control, bidi and zero-width characters by visible backslash escapes."""
    return _UNSAFE.sub(_escape_char, text)


def excerpt(raw: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A record's first characters, bad UTF-8 and control characters escaped, at most `limit`."""
    if isinstance(raw, bytes):
        text = raw[:_EXCERPT_BYTES].decode("utf-8", errors="backslashreplace")
    else:
        text = raw[:_EXCERPT_BYTES]
    safe = escape(text)
    if len(safe) <= limit:
        return safe
    cut = safe[: limit - 1]
    # Do not leave half an escape sequence at the end.
    backslash = cut.rfind("\\", max(0, len(cut) - 6))
    if backslash >= 0 and not re.fullmatch(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4})", cut[backslash:]):
        cut = cut[:backslash]
    return cut + "…"


def json_error(exc: Exception) -> str:
    """A one-line reason from an orjson decode error, naming the column, not orjson's 'line 1'."""
    message = str(exc)
    match = _ORJSON_POSITION.search(message)
    if match:
        message = f"{message[: match.start()]} (column {match[1]})"
    if "not valid UTF-8" in message:
        position = message[message.find("("):] if "(" in message else ""
        return f"not valid UTF-8 {position}".strip()
    return f"invalid JSON: {message}"


# Order matters: the most specific shapes first, bare numbers last.
_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(
        r"\b\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
    ), "<ts>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<ts>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"#\d+\b"), "<id>"),
    (re.compile(r"\b[a-z]{1,6}[-_]?\d+(?:[-_]\d+)*\b"), "<id>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
_SPACES = re.compile(r"\s+")
_FOLD_LIMIT = 2000


def normalise_error(text: str | None) -> str:
    """Fold what varies per message in an error text (numbers, ids, times) into placeholders."""
    if not text:
        return ""
    folded = text[:_FOLD_LIMIT].lower()
    for pattern, placeholder in _FOLDS:
        folded = pattern.sub(placeholder, folded)
    return _SPACES.sub(" ", folded).strip()


def fingerprint(reason: str | None, original_queue: str | None, error_text: str | None) -> str:
    """A short stable hash grouping like failures: reason + original queue + folded error text."""
    key = "\x1f".join((reason or "", original_queue or "", normalise_error(error_text)))
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


_TRACEPARENT = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?", re.IGNORECASE | re.DOTALL
)
_PLAIN_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def _traceparent_parts(value: str) -> tuple[str, str, str, str | None] | None:
    """(version, trace id, parent id, rest) in lower case, or None when the shape is wrong."""
    lowered = value.strip().lower()
    if _PLAIN_TRACEPARENT.fullmatch(lowered):  # the common case, without groups
        return lowered[:2], lowered[3:35], lowered[36:52], None
    match = _TRACEPARENT.fullmatch(lowered)
    if match is None:
        return None
    return match[1], match[2], match[3], match[5]


def parse_traceparent(value: object) -> tuple[str, str] | None:
    """(trace id, parent span id) in lower case from a W3C traceparent; None when malformed.

    Lenient only on case and surrounding blanks: version ff, all-zero ids, a version 00 header
    with extra fields, or a future version whose extra part does not start with '-' are invalid.
    """
    if not isinstance(value, str) or len(value) > 512:
        return None
    parts = _traceparent_parts(value)
    if parts is None:
        return None
    version, trace_id, parent_id, rest = parts
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return trace_id, parent_id
