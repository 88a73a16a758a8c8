"""The register recovery's judgement: is the customer found after a lost answer this run's own?

When a register attempt's answer is lost, the client looks the accountId up before sending
again (`PlumeClient._find_registered`). A customer found there is taken as this run's work only
if nothing says otherwise; `not_created_by` lists what does, field by field from the customer
field table (each field's own equality), plus the creation time. Pure functions, no I/O, tested
as a table (`tests/client/test_recovery_decision.py`), like `_retry.decide`: the loop that looks
the customer up stays in `_client`, the decision is here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from plume_provider.client.customer_fields import CUSTOMER_FIELDS
from plume_provider.client.errors import ConflictError
from plume_provider.client.hints import account_taken_hint
from plume_provider.client.models import Customer, CustomerRegistration, Location

__all__ = ["is_own_email", "not_created_by", "refusal"]

_PLAIN: Final = re.compile(r"[\w.@+-]+")


def not_created_by(
    registration: CustomerRegistration,
    customer: Customer,
    location: Location | None,
    started: float,
    tolerance: float,
) -> list[str]:
    """Why `customer` cannot be the one `registration` created (empty: it may well be).

    `started` is when the register's first attempt started, on Plume's clock; a customer
    created earlier than that (less `tolerance`) existed before this call. Every declared
    field must match by its equality, and a field left out must look as Plume fills it in (no
    name, an invented `null+...@plume.com` email).
    """
    reasons: list[str] = []
    created = timestamp(customer.created_at)
    if created is None:
        reasons.append("Plume gave no createdAt, so it may predate this run")
    elif created < started - tolerance:
        reasons.append(
            f"it was created at {customer.created_at}, before this run's first register "
            f"attempt at {iso(started)}"
        )
    declared = registration.model_dump(by_alias=True)
    live_customer = customer.model_dump(by_alias=True)
    live_location = location.model_dump(by_alias=True) if location is not None else None
    for field in CUSTOMER_FIELDS.registered:
        live = field.live_value(live_customer, live_location)
        wanted = declared.get(field.api)
        called = field.called or field.api
        if wanted is None:
            if field.undeclared is not None and not field.undeclared(live):
                reasons.append(f"it has the {called} {_shown(live)}, and this run declared none")
            continue
        if live is None and not field.omitted_means_blank:
            continue  # Plume did not say: nothing to hold against it
        if not field.same("" if live is None else live, wanted):
            reasons.append(
                field.differs.format(called=called, live=_shown(live), declared=_shown(wanted))
            )
    return reasons


def is_own_email(live: str | None, declared: str) -> bool:
    """The live email is the declared one, by the email field's equality."""
    return CUSTOMER_FIELDS.email.same(live or "", declared)


def refusal(
    registration: CustomerRegistration,
    customer_id: str,
    reasons: list[str],
    method: str,
    path: str,
) -> ConflictError:
    """The error of a lost register whose accountId belongs to a customer not this run's."""
    account = registration.account_id
    return ConflictError(
        f"register customer accountId={account} failed",
        status=None,
        method=method,
        path=path,
        api_message=(
            f"an attempt's answer was lost, and accountId {account} belongs to customer "
            f"{customer_id}, which this run did not create: {'; '.join(reasons)}"
        ),
        hint=account_taken_hint(account, registration.partner_id, customer_id),
        operation="register_customer",
    )


def _shown(value: Any) -> str:
    return value if isinstance(value, str) and _PLAIN.fullmatch(value) else repr(value)


def timestamp(value: str | None) -> float | None:
    """Unix seconds of an ISO 8601 timestamp as Plume prints it (`...T...Z`); None if not one."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(seconds: float) -> str:
    """Unix seconds as Plume prints a timestamp."""
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
