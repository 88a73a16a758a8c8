"""Value rules of the seeds (quotes, email, profile, language, checkpoint, password).

Pure functions raising 422 ``EmulatorError``s; the backend calls them before
touching state, so a rejected request never changes anything.

Where Plume documents no limit (text lengths, the serial and email shapes), these
are the client's rules, written again here (the packages share no code) and kept
equal by ``tests/project/test_input_rules_agree.py``; docs/architecture.md says
why each one is what it is.
"""

from __future__ import annotations

import re

from plume_emulator.errors import EmulatorError, invalid

QUOTES = ("\u201c", "\u201d", '"')
PROFILES = ("auto", "smallbusiness")
CHECKPOINTS = ("PodsAdded", "OnboardingComplete")
SEARCH_FIELDS = ("accountId", "locationId", "name", "email")
MAX_TEXT = 255
MAX_EMAIL = 254
MAX_SERIAL = 64

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}", re.ASCII)
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-(?:[A-Z]{2}|[0-9]{3}))?", re.ASCII)
_SERIAL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)


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
    """A well-formed ASCII address: dot-atom local part (<= 64) @ domain.tld (<= 254 in all)."""
    match = _EMAIL.fullmatch(email)
    if len(email) > MAX_EMAIL or match is None or len(match["local"]) > 64:
        raise invalid(f"email {email!r} is not a valid email address")


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise invalid(f"profile {profile!r} is not one of {', '.join(PROFILES)}")


def check_language(language: str) -> None:
    if not _LANGUAGE.fullmatch(language):
        raise invalid(f"acceptLanguage {language!r} is invalid (expected e.g. en-US, es-419 or fr)")


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
    """Letters and digits, with ``-`` ``_`` ``.`` between them, at most 64: label-printable."""
    if len(serial) > MAX_SERIAL or not _SERIAL.fullmatch(serial):
        raise invalid(f"serialNumber {serial!r} is not a valid serial number")


def check_nickname(nickname: str) -> None:
    if len(nickname) > MAX_TEXT or not nickname.isprintable():
        raise invalid(f"nickname {nickname!r} must be printable and at most {MAX_TEXT} characters")


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
