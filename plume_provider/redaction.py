"""Keep credentials out of logs, exception messages and tracebacks.

`redact(text)` removes every secret registered with `register_secret` (client secrets, Basic
header values, tokens) plus anything shaped like a credential (`Bearer ...`, `Basic ...`, JWTs,
`access_token=...`). `RedactingFilter` applies it to every record of the "plume_provider" logger,
including the formatted traceback.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback

__all__ = ["LOGGER_NAME", "REDACTED", "RedactingFilter", "logger", "redact", "register_secret"]

LOGGER_NAME = "plume_provider"
REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 4

_PATTERNS = re.compile(
    r"(?P<scheme>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]+"
    r"|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
    r"|(?P<key>\b\w*(?:token|secret|password|authorization)[\"']?\s*[=:]\s*[\"']?)"
    r"(?:(?:Bearer|Basic)\s+)?[^\s\"'&,}]+",
    re.IGNORECASE,
)


class _SecretRegistry:
    """Secrets seen in this process, longest first so overlapping values redact fully."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self.ordered: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        with self._lock:
            if value not in self._known:
                self._known.add(value)
                self.ordered = tuple(sorted(self._known, key=len, reverse=True))


_registry = _SecretRegistry()


def register_secret(value: str | None) -> None:
    """Remember a secret so `redact` removes it wherever it appears."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _registry.add(value)


def _replace(match: re.Match[str]) -> str:
    prefix = match.group("scheme") or match.group("key") or ""
    return prefix + REDACTED


def redact(text: str) -> str:
    """Return `text` with every registered secret and credential-shaped value replaced."""
    for secret in _registry.ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _PATTERNS.sub(_replace, text)


class RedactingFilter(logging.Filter):
    """Redact the message, its arguments and any traceback of a log record in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(formatted)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


logger = logging.getLogger(LOGGER_NAME)
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())
