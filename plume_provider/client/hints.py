"""The next step each failure names: the hint catalogue, keyed by `Operation` and status.

Which (operation, status) pairs have a hint of their own: those where Plume's answer means
something particular to that call, that is every status docs/plume-api.md lists for the call
with a meaning of its own (403 on register: the partner is locked), and 404 on a call whose path
names an object (the hint says which one is gone). The answers every call can get keep the
status-wide hint of `STATUS_HINTS`: 401 (the token; a `get_customer` 401 also means "not this
partner's customer", so it has its own), the rate limit (429 and the WAF's 403: `WAF_HINT`) and
5xx (retry later; a claim's 500 and 503 mean more). An answer the client turns into a result
needs none (a delete's 404 is "already gone"). A claim's 422 is told apart by Plume's message
(`CLAIM_REJECTED_HINTS`); the token endpoint's answers by cause (credentials, URL, rate limit,
its own failure). `NO_OWN_HINT` lists the operations with no pair of their own, and why;
tests/client/test_hints.py holds what Plume answers each call and fails when a pair this rule
asks for has no hint of its own, or a hint answers a pair it does not ask for.

Templates name ids as `{customer_id}`, filled from `OperationContext.ids` (`fill`); an id the
operation does not give shows as `?`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from plume_provider.client.operations import Operation

__all__ = [
    "CLAIM_LOCATION_GONE_HINT",
    "CLAIM_REJECTED_HINTS",
    "CONNECT_HINT",
    "CREDENTIALS_HINT",
    "CUSTOMER_GONE_HINT",
    "DROPPED_HINT",
    "NO_OWN_HINT",
    "OWN_HINTS",
    "SERVER_HINT",
    "STATIC_TOKEN_HINT",
    "STATUS_HINTS",
    "TIMEOUT_HINT",
    "TOKEN_ENDPOINT_FAILED_HINT",
    "TOKEN_ENDPOINT_TIMEOUT_HINT",
    "TOKEN_ENDPOINT_UNREACHABLE_HINT",
    "TOKEN_HINT",
    "TOKEN_URL_HINT",
    "WAF_HINT",
    "ClaimRejection",
    "account_taken_hint",
    "fill",
    "template_for",
    "unexpected_status_hint",
]

TOKEN_HINT = (
    "token rejected: check PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) "
    "and the partnerId scope"
)
CREDENTIALS_HINT = (
    "credentials rejected: check PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) "
    "and the partnerId scope"
)
TOKEN_URL_HINT = (
    "check PLUME_TOKEN_URL (plume:tokenUrl): it must be the token URL Plume handed out, "
    "e.g. https://<okta-host>/oauth2/<server-id>/v1/token"
)
TOKEN_ENDPOINT_FAILED_HINT = "the token endpoint failed (retried already); retry later"
TOKEN_ENDPOINT_TIMEOUT_HINT = (
    "the token endpoint did not answer in time (retried already); retry later, "
    "or check PLUME_TOKEN_URL (plume:tokenUrl) and raise PLUME_TIMEOUT_SECONDS"
)
TOKEN_ENDPOINT_UNREACHABLE_HINT = (
    "cannot reach the token endpoint (retried already); check PLUME_TOKEN_URL "
    "(plume:tokenUrl) and the network"
)
STATIC_TOKEN_HINT = (
    "the pre-issued PLUME_TOKEN was rejected or has expired: issue a new one, or configure "
    "PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) and PLUME_PARTNER_ID instead"
)
WAF_HINT = (
    "Plume allows 2,000 requests per 5 minutes per IP (about 6 per second); lower "
    "PLUME_REQUESTS_PER_SECOND or raise max_rate_limit_wait_seconds, then retry"
)
TIMEOUT_HINT = "Plume did not answer in time; retry later or raise PLUME_TIMEOUT_SECONDS"
CONNECT_HINT = "cannot connect to Plume; check PLUME_API_URL / PLUME_TOKEN_URL and the network"
DROPPED_HINT = "the connection dropped before Plume answered; retry later"
SERVER_HINT = "Plume failed; retry later"
"""A 5xx that `STATUS_HINTS` does not name (501, 505, ...)."""
CUSTOMER_GONE_HINT = "customer {customer_id} does not exist; it may have been deleted"
CLAIM_LOCATION_GONE_HINT = (
    "location {location_id} of customer {customer_id} does not exist; check the ids"
)
"""A claim's 404 whose message is about the location, not the serial."""


def account_taken_hint(account_id: str, partner_id: str, customer_id: str | None = None) -> str:
    """The next step when an accountId is already some customer's: adopt, import or rename.

    Written once for the 409 of a register, the register recovery that finds a customer it did
    not create, and the provider's 409 (which knows the customer's id)."""
    who = f" (customer {customer_id})" if customer_id else ""
    target = customer_id or "<customerId>"
    return (
        f"accountId {account_id} already exists for partner {partner_id}{who}; to manage that "
        f"customer set adopt: true on the PlumeCustomer, or import it (importId: {target}; "
        f'import_id="{target}" in Python); or choose another accountId'
    )


def unexpected_status_hint(status: int) -> str:
    """An error status no hint covers."""
    return f"unexpected HTTP {status}; check the request"


OWN_HINTS: Mapping[tuple[Operation, int], str] = {
    (Operation.REGISTER_CUSTOMER, 400): (
        "a required field is missing; check accountId and partnerId"
    ),
    (Operation.REGISTER_CUSTOMER, 403): (
        "partner {partner_id} is locked for new accounts; ask Plume to unlock it"
    ),
    (Operation.REGISTER_CUSTOMER, 404): (
        "partner {partner_id} is unknown to Plume; check plume:partnerId / PLUME_PARTNER_ID"
    ),
    (Operation.REGISTER_CUSTOMER, 409): account_taken_hint("{account_id}", "{partner_id}"),
    (Operation.REGISTER_CUSTOMER, 422): (
        "check the email (well formed and not used by another customer), acceptLanguage, "
        "and that the token scope carries partnerId {partner_id}"
    ),
    (Operation.GET_CUSTOMER, 401): (
        "customer {customer_id} is unknown to this partner (Plume answers 401 for other "
        "partners' customers), or " + TOKEN_HINT
    ),
    (Operation.GET_CUSTOMER, 404): CUSTOMER_GONE_HINT,
    (Operation.UPDATE_CUSTOMER, 404): CUSTOMER_GONE_HINT,
    (Operation.UPDATE_CUSTOMER, 409): (
        "accountId {account_id} is already used by another customer of this partner; "
        "choose another accountId"
    ),
    (Operation.UPDATE_CUSTOMER, 422): (
        "check the email (well formed and not already used) and name"
    ),
    (Operation.LIST_LOCATIONS, 404): CUSTOMER_GONE_HINT,
    (Operation.SET_ONBOARDING_CHECKPOINT, 404): (
        "location {location_id} of customer {customer_id} does not exist"
    ),
    (Operation.SET_ONBOARDING_CHECKPOINT, 422): (
        "the checkpoint must be PodsAdded or OnboardingComplete"
    ),
    (Operation.FIND_CUSTOMERS_BY_ACCOUNT_ID, 403): (
        "partner {partner_id} may not search customers; check the partnerId scope of the token"
    ),
    (Operation.FIND_CUSTOMERS_BY_ACCOUNT_ID, 422): "the accountId to search for is not allowed",
    (Operation.CLAIM_NODE, 404): (
        "serial {serial_number} is not in partner {partner_id}'s inventory; check the serial "
        "or ask Plume to provision it"
    ),
    (Operation.CLAIM_NODE, 409): (
        "node {serial_number} is claimed by another customer; unclaim it there first"
    ),
    (Operation.CLAIM_NODE, 500): "Plume's inventory service may be unreachable; retry later",
    (Operation.CLAIM_NODE, 503): (
        "the claim may have taken effect; run the operation again or check node "
        "{serial_number} with lookup_node"
    ),
    (Operation.LIST_NODES, 404): "location {location_id} of customer {customer_id} does not exist",
    (Operation.RENAME_NODE, 404): "node {node_id} is not claimed at location {location_id}",
    (Operation.LOOKUP_NODE, 403): (
        "node {serial_number} belongs to another partner's inventory; check the serial"
    ),
    (Operation.LOOKUP_NODE, 404): (
        "serial {serial_number} is unknown to Plume; check the serial or ask Plume to provision it"
    ),
}
"""The hint of each (operation, status) pair that has one of its own (the rule above)."""

NO_OWN_HINT: Mapping[Operation, str] = {
    Operation.DELETE_CUSTOMER: (
        "a 404 is 'already gone' (delete_customer returns False); its other answers (401, "
        "5xx) are every call's"
    ),
    Operation.UNCLAIM_NODE: (
        "a 400 (already unclaimed) and a 404 are 'not claimed here' (unclaim_node returns "
        "False); its other answers (401, 5xx) are every call's"
    ),
    Operation.FETCH_TOKEN: (
        "the token endpoint's answers are told apart by cause (credentials, token URL, rate "
        "limit, its own failure), each with its hint, not by status"
    ),
}
"""The operations with no (operation, status) pair of their own, and why none is needed."""

STATUS_HINTS: Mapping[int, str] = {
    400: "Plume says a required field is missing; check the input",
    401: TOKEN_HINT,
    403: "this partner may not do this; check the partnerId scope and the object's owner",
    404: "the object does not exist (or not for this partner); check the ids",
    409: "the object conflicts with an existing one; check ownership and unique fields",
    422: "Plume rejected the input; fix the field named in the message",
    429: "Plume is rate limiting this client; lower PLUME_REQUESTS_PER_SECOND",
    500: "Plume failed internally; retry later",
    502: "Plume's gateway failed; retry later",
    503: "Plume is unavailable; retry later",
    504: "Plume's gateway timed out; retry later",
}
"""The hint of a status on an operation with no hint of its own for it."""


class ClaimRejection(Enum):
    """Why Plume rejected a claim with 422, as its message tells (`_error_mapping` reads it)."""

    MONITOR_MODE = "monitor mode"
    LICENSE_LIMIT = "numPodsAuthorized reached"
    NICKNAME = "nickname rejected"
    SERIAL_NUMBER = "serial number malformed"
    ACCOUNT_NOT_UNIQUE = "accountId+partnerId not unique"
    FIELD = "a field rejected"
    OTHER = "another reason"


CLAIM_REJECTED_HINTS: Mapping[ClaimRejection, str] = {
    ClaimRejection.MONITOR_MODE: (
        "location {location_id} is in monitor mode; take it out of monitor mode first"
    ),
    ClaimRejection.LICENSE_LIMIT: (
        "location {location_id} has reached {limit}; unclaim a node or ask Plume for more licenses"
    ),
    ClaimRejection.NICKNAME: (
        "Plume rejected the nickname of node {serial_number}; change the PlumeNode's "
        "nickname as Plume's message says (e.g. shorter, printable characters only)"
    ),
    ClaimRejection.SERIAL_NUMBER: (
        "Plume rejected serial number {serial_number} as malformed; check the serial "
        "against the device label or the partner's inventory"
    ),
    ClaimRejection.ACCOUNT_NOT_UNIQUE: (
        "the customer's accountId+partnerId is not unique; check customer {customer_id}"
    ),
    ClaimRejection.FIELD: (
        "Plume rejected a field of the claim of node {serial_number}; fix the nickname or "
        "serial number as Plume's message says"
    ),
    ClaimRejection.OTHER: (
        "Plume rejected the claim of node {serial_number} at location {location_id} for the "
        "reason in its message; fix that, then run again"
    ),
}
"""The hint of a claim's 422 by its cause; `{limit}` is `numPodsAuthorized=N` when Plume says N."""


def template_for(operation: Operation, status: int) -> str:
    """The operation's own hint for `status`, else the status-wide one, else ""."""
    return OWN_HINTS.get((operation, status)) or STATUS_HINTS.get(status, "")


class _Ids(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def fill(template: str, ids: Mapping[str, str]) -> str:
    """`template` with its `{name}` placeholders replaced from `ids` (`?` for a missing one)."""
    return template.format_map(_Ids(ids))
