"""Identifiers that become URL path segments: one rule per kind, and the one way to encode them.

Every id the client puts in a path goes through `segment(kind, value)`: it is checked with its
kind's rule, then percent-encoded with nothing left "safe", so the route the client meant is the
route Plume sees. `check()` of both providers and the fleet config apply the same rules (through
the pydantic types of `models`), so a bad id fails at preview, never half-way through `up`.

Why the rules are what they are (docs/architecture.md, "Identifiers in paths", has the table):

* Percent-encoding protects every character except the "unreserved" ones (letters, digits,
  `-` `.` `_` `~`): RFC 3986 section 6.2.2.2 lets a server or proxy decode only those. So `?`,
  `#`, `%`, spaces and non-ASCII letters survive as `%3F`, `%23`, `%25`, `%20`, `%C3%BC`.
* A segment that is `.` or `..` cannot be protected: `%2E` *is* `.` (RFC 3986 section 2.3) and
  dot-segment removal (section 5.2.4, which httpx applies too) turns
  `DELETE .../locations/L/nodes/..` into `DELETE .../locations/L`, the location itself. Such
  values are refused.
* `/` and `\\` are refused even encoded: proxies decode `%2F`, some treat `\\` as `/`, and the
  emulator answers `400 InvalidPath` to both, as many web servers do.

Kinds:

* `serialNumber`, `nodeId`: 1-64 ASCII letters and digits, with `-`, `_` or `.` between them
  (a node id is the serial in practice). Serials are printed on hardware labels; nothing else
  appears in them, so anything else is a typo or a trick.
* `customerId`, `locationId`: the same shape, up to 255 characters (Plume's are 24-character
  hexadecimal object ids; the shape leaves room for other id formats, not for path tricks).
* `accountId`: a CRM's id, any printable text Plume's register accepts (no quote characters,
  at most 255 characters), except what the search path cannot carry: `/`, `\\`, a whole value
  of `.` or `..`, and the keyword `null` (Plume's search refuses it with 422). Everything else
  (spaces, `?`, `#`, `%`, `.` inside, non-ASCII) is percent-encoded and searchable.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal, TypeAlias
from urllib.parse import quote

from plume_provider.client.errors import InputValidationError

__all__ = [
    "MAX_OBJECT_ID_LENGTH",
    "MAX_SERIAL_LENGTH",
    "IdKind",
    "account_id_problem",
    "character_problem",
    "id_problem",
    "segment",
    "shown",
]

IdKind: TypeAlias = Literal["serialNumber", "nodeId", "customerId", "locationId", "accountId"]

MAX_SERIAL_LENGTH: Final = 64
MAX_OBJECT_ID_LENGTH: Final = 255

_SHAPE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_LIMITS: Final[dict[str, int]] = {
    "serialNumber": MAX_SERIAL_LENGTH,
    "nodeId": MAX_SERIAL_LENGTH,
    "customerId": MAX_OBJECT_ID_LENGTH,
    "locationId": MAX_OBJECT_ID_LENGTH,
}
_PATH_BREAKERS: Final[dict[str, str]] = {
    "/": "'/' separates path segments (even encoded as %2F, proxies decode it)",
    "\\": "'\\' is read as '/' by some servers and proxies",
}


def character_problem(value: str) -> str | None:
    """What is wrong with the first unusable character of `value`, said plainly, or None.

    A lone surrogate is not a character at all (half of a UTF-16 pair, usually from a broken
    decode) and cannot be sent as UTF-8; control and other invisible characters are named with
    their code point and Unicode name, so the operator can find them.
    """
    if value.isprintable():  # the common case, without a Python loop per character
        return None
    for char in value:
        if char.isprintable():
            continue
        code = f"U+{ord(char):04X}"
        if 0xD800 <= ord(char) <= 0xDFFF:
            return (
                f"contains a lone surrogate {code}, half of a UTF-16 pair and not a character "
                "(it cannot be sent as UTF-8; the text was probably decoded wrongly)"
            )
        name = unicodedata.name(char, "")
        category = unicodedata.category(char)
        if category == "Cc":
            return f"contains the control character {code}{f' ({name})' if name else ''}"
        if char.isspace():
            return f"contains the whitespace character {code} ({name}); only ' ' is allowed"
        if category == "Cn":
            return f"contains an unassigned code point ({code})"
        if category == "Co":
            return f"contains a private-use code point ({code}), which has no agreed meaning"
        return f"contains the invisible character {name or 'without a name'} ({code})"
    return None


def id_problem(kind: IdKind, value: str) -> str | None:
    """Why `value` cannot be a `kind` path segment, or None when it can."""
    if kind == "accountId":
        return account_id_problem(value)
    limit = _LIMITS[kind]
    noun = "a serial number" if kind in ("serialNumber", "nodeId") else f"a Plume {kind}"
    if not value.strip():
        return "must not be empty"
    if value in (".", ".."):
        return (
            f"must not be {value!r}: as a path segment it would address another route "
            "(URL normalisation removes dot segments)"
        )
    if len(value) > limit:
        return f"must be at most {limit} characters (got {len(value)})"
    if _SHAPE.fullmatch(value):
        return None
    problem = character_problem(value)
    if problem is not None:
        return problem
    bad = next((c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))), None)
    if bad is not None:
        return (
            f"must not contain {bad!r}: {noun} has only letters A-Z, digits and "
            "'-', '_' or '.' between them"
        )
    return f"must start and end with a letter or digit ({noun} has '-', '_', '.' only inside)"


def account_id_problem(value: str) -> str | None:
    """Why `value` cannot be searched for as an accountId, or None (register rules are apart)."""
    for char, why in _PATH_BREAKERS.items():
        if char in value:
            return (
                f"must not contain {char!r}: the accountId is part of the search path that finds "
                f"a customer after a lost answer and for adopt, and {why}"
            )
    if value in (".", ".."):
        return (
            f"must not be {value!r}: as a path segment of the accountId search it would address "
            "another route (URL normalisation removes dot segments)"
        )
    if value.lower() == "null":
        return (
            f"must not be {value!r}: Plume's customer search refuses the keyword null, so the "
            "customer could never be found again (lost answers, adopt)"
        )
    return None


def shown(value: str) -> str:
    """`value` quoted for a message; a long one cut short, with its length."""
    return repr(value) if len(value) <= 80 else f"{value[:60]!r}... ({len(value)} characters)"


def segment(kind: IdKind, value: str) -> str:
    """`value` as one percent-encoded path segment; `InputValidationError` if it cannot be one.

    Raised before any request is built, so a bad id never reaches the wire.
    """
    if not isinstance(value, str):
        raise InputValidationError(
            f"{kind} must be a string, got {type(value).__name__}; fix the {kind} in the program",
            [(kind, "must be a string")],
        )
    problem = id_problem(kind, value)
    if problem is None and kind == "accountId":
        problem = character_problem(value) or ("must not be empty" if not value.strip() else None)
    if problem is not None:
        raise InputValidationError(
            f"{kind} {shown(value)} cannot be used in a Plume API path: {problem}; "
            f"fix the {kind} in the program or stack config",
            [(kind, problem)],
        )
    return quote(value, safe="")
