"""Keep credentials out of logs, exception messages and tracebacks.

`redact(text)` removes every secret registered with `register_secret` (client secrets, Basic
header values, tokens) plus anything shaped like a credential (`Bearer ...`, `Basic ...`, JWTs,
`access_token=...`), and only the secret: the text around it (a closing parenthesis, a full
stop) stays.

Every log record of a covered logger is redacted when it is created (`install`, done on
import): the "plume_provider" logger and every logger under it, whatever handlers they have,
and the loggers of the Pulumi SDK ("pulumi", "pulumi.*") and of the HTTP stack ("httpx",
"httpcore") that run inside the provider process. A logging filter alone would not do: a
logger's filters do not see the records its children propagate, and a child with its own
handler never reaches it. `RedactingFilter` remains for handlers that want it explicitly.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "COVERED_LOGGERS",
    "LOGGER_NAME",
    "REDACTED",
    "RedactingFilter",
    "install",
    "logger",
    "redact",
    "register_secret",
]

LOGGER_NAME = "plume_provider"
REDACTED = "[REDACTED]"
COVERED_LOGGERS = (LOGGER_NAME, "pulumi", "httpx", "httpcore")
"""Loggers (and their descendants) whose records are redacted at creation."""
_MIN_SECRET_LENGTH = 4

_ALREADY = r"(?!\[REDACTED\])"
_PATTERNS = re.compile(
    # `Basic <token68>` / `Bearer <token68>`: the token68 alphabet, so `)` or `,` after it stay.
    rf"(?P<scheme>\b(?:Bearer|Basic)\s+){_ALREADY}[A-Za-z0-9._~+/\-]+=*"
    r"|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
    # `secret=value`, `"access_token": "value"`, `Authorization: Basic value`: the value runs
    # to a space, quote, `&`, `,` or `}`, minus closing punctuation at its end (`)`, `]`, `.`,
    # `;`, `>`), which belongs to the surrounding text.
    r"|(?P<key>\b\w*(?:token|secret|password|authorization)[\"']?\s*[=:]\s*[\"']?"
    r"(?:(?:Bearer|Basic)\s+)?)"
    rf"{_ALREADY}(?!(?:Bearer|Basic)\b)[^\s\"'&,}}]+?(?=[)\].;>]*(?:[\s\"'&,}}]|$))",
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


def redact_record(record: logging.LogRecord) -> None:
    """Redact the message, its arguments and any traceback of a log record in place."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and (exc := record.exc_info[1]) is not None:
        formatted = "".join(traceback.format_exception(exc)).removesuffix("\n")
        record.exc_text = redact(formatted)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record it sees (for handlers that want one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _covered(name: str | None) -> bool:
    if not name:
        return False
    return any(name == root or name.startswith(root + ".") for root in COVERED_LOGGERS)


class _RedactingRecordFactory:
    """Wraps the process's log record factory; redacts the records of covered loggers."""

    def __init__(self, wrapped: Callable[..., logging.LogRecord]) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        if _covered(record.name):
            redact_record(record)
        return record


def install() -> None:
    """Redact every record of the covered loggers when it is created (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(current))


logger = logging.getLogger(LOGGER_NAME)
if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())  # also if a program replaces the record factory later
install()
