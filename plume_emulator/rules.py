"""Value rules of the seeds (quotes, email, profile, language, checkpoint, password).

Pure functions raising 422 ``EmulatorError``s; the backend calls them before
touching state, so a rejected request never changes anything.
"""

from __future__ import annotations

import re

from plume_emulator.errors import EmulatorError, invalid

QUOTES = ("\u201c", "\u201d", '"')
PROFILES = ("auto", "smallbusiness")
CHECKPOINTS = ("PodsAdded", "OnboardingComplete")
SEARCH_FIELDS = ("accountId", "locationId", "name", "email")
MAX_TEXT = 256

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")


def check_text(field: str, value: str, *, required: bool = False) -> None:
    """No quote characters, printable, bounded; ``required`` also forbids blank."""
    if required and not value.strip():
        raise invalid(f"{field} must not be empty")
    if any(q in value for q in QUOTES):
        raise invalid(f'{field} {value!r} must not contain the quote characters \u201c \u201d or "')
    if len(value) > MAX_TEXT:
        raise invalid(f"{field} is longer than {MAX_TEXT} characters")
    if not value.isprintable():
        raise invalid(f"{field} {value!r} contains control characters")


def check_email(email: str) -> None:
    """A well-formed address (local@domain.tld)."""
    if len(email) > MAX_TEXT or ".." in email or not _EMAIL.match(email):
        raise invalid(f"email {email!r} is not a valid email address")


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise invalid(f"profile {profile!r} is not one of {', '.join(PROFILES)}")


def check_language(language: str) -> None:
    if not _LANGUAGE.match(language):
        raise invalid(f"acceptLanguage {language!r} is invalid (expected e.g. en-US or fr)")


def check_checkpoint(checkpoint: str, field: str = "onboardingCheckpoint") -> None:
    if checkpoint not in CHECKPOINTS:
        raise invalid(f"{field} {checkpoint!r} is not one of {', '.join(CHECKPOINTS)}")


def check_password(password: str) -> None:
    """At least 8 characters and two of: upper, lower, digits, other symbols."""
    classes = sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if len(password) < 8 or classes < 2:
        raise invalid(
            "password needs at least 8 characters and two of: upper case, lower case, "
            "digits, other symbols"
        )


def check_serial(serial: str) -> None:
    """A serial number as it may appear in a URL path."""
    if not serial or len(serial) > 64 or not serial.isprintable() or "/" in serial:
        raise invalid(f"serialNumber {serial!r} is not a valid serial number")


def check_nickname(nickname: str) -> None:
    if len(nickname) > 64 or not nickname.isprintable():
        raise invalid(f"nickname {nickname!r} must be printable and at most 64 characters")


def parse_bool(field: str, value: str | None, default: bool) -> bool:
    """Query-string booleans (``true``/``false``)."""
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise EmulatorError(422, f"{field} must be true or false, got {value!r}", "ValidationError")
