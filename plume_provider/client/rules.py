"""The value rules of Plume's inputs: one annotated type per kind of value.

Each type is a `str` with the checks of Plume's register and update rules (quotes, length,
printable text, the email and language shapes, path-safe ids); the request models (`models`),
the customer field table (`customer_fields`), the providers' `check` and the fleet config all
validate with these, so no two places can disagree. The emulator writes the same rules again
(`tests/project/test_input_rules_agree.py` keeps them equal).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeAlias

from pydantic import AfterValidator

from plume_provider.client.errors import InputValidationError
from plume_provider.client.identifiers import (
    IdKind,
    account_id_problem,
    character_problem,
    id_problem,
    shown,
)

__all__ = [
    "MAX_EMAIL_LENGTH",
    "MAX_TEXT_LENGTH",
    "AcceptLanguage",
    "AccountId",
    "CustomerId",
    "CustomerName",
    "Email",
    "LocationId",
    "Nickname",
    "NonBlankId",
    "OnboardingCheckpoint",
    "PartnerId",
    "Profile",
    "SerialNumber",
    "validate_serial_number",
]

Profile: TypeAlias = Literal["auto", "smallbusiness"]
OnboardingCheckpoint: TypeAlias = Literal["PodsAdded", "OnboardingComplete"]

MAX_TEXT_LENGTH = 255
"""Longest name, accountId or nickname accepted. Plume documents no limit; the emulator applies
the same one (docs/architecture.md, "Input rules: client and emulator agree")."""

MAX_EMAIL_LENGTH = 254
"""RFC 5321's limit on a forward path; local part at most 64, each domain label at most 63."""

_FORBIDDEN_QUOTES = ("\u201c", "\u201d", '"')
_ACCEPT_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-(?:[A-Z]{2}|[0-9]{3}))?")
_EMAIL_LOCAL_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-"
)
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL_DOMAIN = re.compile(r"[A-Za-z]{2,63}")


def _no_quotes(value: str) -> str:
    if any(quote in value for quote in _FORBIDDEN_QUOTES):
        raise ValueError('must not contain the quote characters \u201c \u201d or "')
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _plain_text(value: str) -> str:
    """Bounded, printable text: a 10 KB name or a lone surrogate fails here, not at Plume."""
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"must be at most {MAX_TEXT_LENGTH} characters (got {len(value)})")
    problem = character_problem(value)
    if problem is not None:
        raise ValueError(f"must contain only printable characters; it {problem}")
    return value


def _searchable(value: str) -> str:
    problem = account_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _email_problem(value: str) -> str | None:
    """Why `value` is not a plain ASCII address `local@domain.tld`, or None."""
    if len(value) > MAX_EMAIL_LENGTH:
        return f"must be at most {MAX_EMAIL_LENGTH} characters (got {len(value)})"
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "needs the form name@example.org"
    if "@" in local:
        return "must contain one '@'"
    if len(local) > 64:
        return "must have at most 64 characters before the '@'"
    atoms = local.split(".")
    if any(not atom for atom in atoms):
        return "must not start or end with '.' or have '..' before the '@'"
    if any(char not in _EMAIL_LOCAL_CHARS for atom in atoms for char in atom):
        return "may contain only ASCII letters, digits, '.' and !#$%&'*+/=?^_`{|}~- before the '@'"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return "needs a domain like example.org (letters, digits, '-' between dots)"
    if not _TOP_LEVEL_DOMAIN.fullmatch(labels[-1]):
        return "needs a top-level domain of letters, like .org"
    return None


def _email(value: str) -> str:
    problem = _email_problem(value)
    if problem is not None:
        raise ValueError(f"is not a well-formed email address: {problem}")
    return value


def _accept_language(value: str) -> str:
    if not _ACCEPT_LANGUAGE.fullmatch(value):
        raise ValueError(
            "must look like 'en-US' or 'en' (a language, then optionally '-' and a region of "
            "two capital letters or three digits: 'fr-CA', 'es-419')"
        )
    return value


def _path_id(kind: IdKind) -> AfterValidator:
    def rule(value: str) -> str:
        problem = id_problem(kind, value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(rule)


def _serial(value: str) -> str:
    problem = id_problem("serialNumber", value)
    if problem is not None:
        raise ValueError(f"serial number {problem}")
    return value


CustomerName = Annotated[str, AfterValidator(_plain_text), AfterValidator(_no_quotes)]
AccountId = Annotated[
    str,
    AfterValidator(_not_blank),
    AfterValidator(_plain_text),
    AfterValidator(_no_quotes),
    AfterValidator(_searchable),
]
Nickname = Annotated[str, AfterValidator(_plain_text)]
NonBlankId = Annotated[str, AfterValidator(_not_blank), AfterValidator(_plain_text)]
PartnerId = Annotated[str, AfterValidator(_not_blank)]
Email = Annotated[str, AfterValidator(_email)]
AcceptLanguage = Annotated[str, AfterValidator(_accept_language)]
SerialNumber = Annotated[str, AfterValidator(_serial)]
CustomerId = Annotated[str, _path_id("customerId")]
LocationId = Annotated[str, _path_id("locationId")]


def validate_serial_number(value: str) -> str:
    """Return `value` if it is a usable serial number, else raise `InputValidationError`."""
    if not isinstance(value, str):
        raise InputValidationError(
            f"serial number must be a string, got {type(value).__name__}",
            [("serialNumber", "must be a string")],
        )
    problem = id_problem("serialNumber", value)
    if problem is not None:
        raise InputValidationError(
            f"serial number {shown(value)} {problem}; check the serial on the node's label",
            [("serialNumber", f"serial number {problem}")],
        )
    return value
