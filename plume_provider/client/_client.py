"""`PlumeClient`: one method per Plume API call, returning models and raising `PlumeError`s.

One `httpx.Client` per `PlumeClient` (connection pooling); the token is cached process-wide by
`PlumeAuth`; requests are paced by the rate budget of `_ratelimit` (shared by every process of
the machine by default); failures are retried by the one loop of `_retry` and mapped by the
one function `_error_mapping.make_error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from http import HTTPMethod
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from plume_provider.client._auth import PlumeAuth
from plume_provider.client._ratelimit import budget_for
from plume_provider.client._recovery import is_own_email, not_created_by, refusal
from plume_provider.client._redaction import logger
from plume_provider.client._retry import RetryPolicy, RetryTrace, send_with_retries
from plume_provider.client.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    InputValidationError,
    NotFoundError,
    PlumeError,
    ServerError,
    UnprocessableEntityError,
)
from plume_provider.client.hints import account_taken_hint
from plume_provider.client.identifiers import IdKind, segment
from plume_provider.client.models import (
    CheckpointResult,
    ClaimResult,
    Customer,
    CustomerRegistration,
    CustomerSearchResult,
    CustomerUpdate,
    Location,
    Node,
    NodeLookup,
    OnboardingCheckpoint,
    validate_serial_number,
)
from plume_provider.client.operations import Operation, OperationContext
from plume_provider.client.settings import PlumeSettings

__all__ = ["RENAME_NODE_METHOD", "PlumeClient"]

RENAME_NODE_METHOD = HTTPMethod.PUT
"""Verb of the rename call; public docs do not confirm it, so it lives only here."""

CREATED_AT_TOLERANCE = 5.0
"""Seconds a customer's `createdAt` may precede a register's first attempt (on Plume's clock,
read from `Date`: 1 s resolution, plus Plume's own servers' clocks) and still be its work."""
UNSYNCED_CLOCK_TOLERANCE = 120.0
"""The same when Plume sent no `Date` and the local clock, maybe not synchronised, is used."""

USER_AGENT = "plume-fleet/0.1"
_CHECKPOINTS = frozenset({"PodsAdded", "OnboardingComplete"})

M = TypeVar("M")


def _segment(value: str, what: IdKind) -> str:
    """One checked, percent-encoded path segment (`identifiers.segment`): no id can change the
    route, and a bad one never reaches the wire."""
    return segment(what, value)


class PlumeClient:
    """Typed client of the Plume partner API; safe to share between threads."""

    def __init__(
        self,
        settings: PlumeSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self.partner_id: str | None = settings.partner_id
        self._auth = PlumeAuth(settings)
        self._sleep = sleep
        self._server_clock: tuple[str, float] | None = None
        """(`Date` header of the latest API answer, local `time.time()` when it arrived)."""
        self._limiter = budget_for(settings)
        self._policy = RetryPolicy(
            max_retries=settings.max_retries,
            max_rate_limit_wait=settings.max_rate_limit_wait_seconds,
            sleep=sleep,
            static_token=self._auth.static,
            on_rate_limited=self._limiter.block_for if self._limiter is not None else None,
        )
        self._http = httpx.Client(
            base_url=settings.api_url + "/",
            auth=self._auth,
            timeout=settings.timeout_seconds,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        mode = "static token" if self._auth.static else "oauth"
        return (
            f"PlumeClient(api_url={self._settings.api_url!r}, "
            f"partner_id={self.partner_id!r}, auth={mode!r})"
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> PlumeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        context: OperationContext,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotent: bool = True,
        no_retry_statuses: frozenset[int] = frozenset(),
        trace: RetryTrace | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(method, path, json=json, params=params)
        return send_with_retries(
            lambda: self._send(request),
            request,
            context=context,
            policy=self._policy,
            idempotent=idempotent,
            no_retry_statuses=no_retry_statuses,
            trace=trace,
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        if self._limiter is not None:
            wait = self._limiter.reserve()
            if wait > 0:
                self._sleep(wait)
        started = time.perf_counter()
        response = self._http.send(request)
        date = response.headers.get("date")
        if date:
            self._server_clock = (date, time.time())
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms",
                request.method,
                request.url.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return response

    def _parse(self, model: type[M], data: Any, response: httpx.Response, what: str) -> M:
        try:
            return model.model_validate(data)  # type: ignore[attr-defined,no-any-return]
        except ValidationError as err:
            raise ApiError(
                f"Plume's answer is not a valid {what}",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
                api_message=str(err).split("\n", 1)[0],
                hint="the API may have changed; report this with the plume_provider version",
            ) from None

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    # -- customers --------------------------------------------------------------------------

    def register_customer(self, registration: CustomerRegistration) -> Customer:
        """Register a customer (and its first location); safe when a response is lost.

        When an attempt's outcome is unknown, the customer is looked up by accountId before
        trying again, so a lost response never creates a second customer. The customer found
        is returned only if this run created it: created after the first attempt started
        (on Plume's clock) and matching every declared field. Anything else, an existing
        household above all, raises `ConflictError` naming it: it is never taken over.
        """
        context = OperationContext(
            Operation.REGISTER_CUSTOMER,
            f"register customer accountId={registration.account_id}",
            {"account_id": registration.account_id, "partner_id": registration.partner_id},
        )
        request = self._http.build_request(
            HTTPMethod.POST, "Customers/register", json=registration.to_api()
        )
        first_attempt = time.time()
        try:
            result = send_with_retries(
                lambda: self._send(request),
                request,
                context=context,
                policy=self._policy,
                idempotent=False,
                probe=lambda: self._find_registered(registration, first_attempt, request),
            )
        except UnprocessableEntityError as err:
            raise self._email_taken_by_own_account(err, registration) or err from None
        if isinstance(result, Customer):
            logger.warning(
                "customer accountId=%s was created by an attempt whose answer was lost; "
                "using it (id %s)",
                registration.account_id,
                result.id,
            )
            return result
        customer = self._parse(Customer, self._json(result), result, "customer")
        if customer.location_id is None:
            locations = self.list_locations(customer.id)
            if locations:
                customer = customer.model_copy(update={"location_id": locations[0].id})
        return customer

    def _find_registered(
        self, registration: CustomerRegistration, first_attempt: float, request: httpx.Request
    ) -> Customer | None:
        """The customer an earlier register attempt of this call created, if it exists.

        None when no customer has the accountId. A customer that has it but that this call
        cannot have created (see `_recovery.not_created_by`) raises `ConflictError`.
        """
        hits = self.find_customers_by_account_id(registration.account_id)
        if not hits:
            return None
        customer = self.get_customer(hits[0].id)
        locations = self.list_locations(customer.id)
        wanted = hits[0].location_ids[0] if hits[0].location_ids else None
        location = next(
            (loc for loc in locations if loc.id == wanted), locations[0] if locations else None
        )
        started, tolerance = self._on_plume_clock(first_attempt)
        reasons = not_created_by(registration, customer, location, started, tolerance)
        if reasons:
            raise refusal(registration, customer.id, reasons, request.method, request.url.path)
        location_id = location.id if location is not None else wanted
        return customer.model_copy(update={"location_id": location_id})

    def _email_taken_by_own_account(
        self, err: UnprocessableEntityError, registration: CustomerRegistration
    ) -> ConflictError | None:
        """The accountId conflict behind a register's "email already exists", or None.

        Plume checks the email before the accountId, so a customer this stack registered and
        never recorded (an update killed mid-register) comes back as a 422 about its own
        email. Looked up before the email is blamed: when the accountId's customer has the
        declared email, the 422 is that customer, and the way forward is adopt or importId.
        """
        email = registration.email
        if email is None or "email" not in err.api_message.casefold():
            return None
        try:
            hits = self.find_customers_by_account_id(registration.account_id)
        except PlumeError:
            return None
        hit = hits[0] if hits else None
        if hit is None or not is_own_email(hit.email, email):
            return None
        account = registration.account_id
        return ConflictError(
            err.summary,
            status=err.status,
            method=err.method,
            path=err.path,
            api_message=(
                f"{err.api_message}; that email is the one of customer {hit.id}, which already "
                f"has accountId {account}: most likely this stack's own customer, registered by "
                "an update interrupted before it was recorded"
            ),
            hint=account_taken_hint(account, registration.partner_id, hit.id),
            operation=err.operation,
        )

    def _on_plume_clock(self, local: float) -> tuple[float, float]:
        """`local` (a `time.time()`) on Plume's clock, and how far off the estimate may be.

        Plume's clock is read from the `Date` header of the latest API answer (1 s resolution);
        without one the local clock is used, with a tolerance for an unsynchronised clock.
        """
        seen = self._server_clock
        if seen is not None:
            date, received = seen
            try:
                server = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError, IndexError):
                pass
            else:
                return local + (server + 0.5 - received), CREATED_AT_TOLERANCE
        return local, UNSYNCED_CLOCK_TOLERANCE

    def get_customer(self, customer_id: str) -> Customer:
        """`GET /Customers/{id}`."""
        context = OperationContext(
            Operation.GET_CUSTOMER, f"get customer {customer_id}", {"customer_id": customer_id}
        )
        response = self._call(
            HTTPMethod.GET, f"Customers/{_segment(customer_id, 'customerId')}", context
        )
        return self._parse(Customer, self._json(response), response, "customer")

    def update_customer(self, customer_id: str, update: CustomerUpdate) -> Customer:
        """`PATCH /Customers/{id}` with the fields set in `update`."""
        body = update.to_api()
        if not body:
            raise InputValidationError(
                "nothing to update: give accountId, name or email", [("update", "empty")]
            )
        context = OperationContext(
            Operation.UPDATE_CUSTOMER,
            f"update customer {customer_id}",
            {"customer_id": customer_id, "account_id": update.account_id or "?"},
        )
        response = self._call(
            HTTPMethod.PATCH, f"Customers/{_segment(customer_id, 'customerId')}", context, json=body
        )
        return self._parse(Customer, self._json(response), response, "customer")

    def delete_customer(self, customer_id: str) -> bool:
        """`DELETE /Customers/{id}`; False when it was already gone (404)."""
        context = OperationContext(Operation.DELETE_CUSTOMER, f"delete customer {customer_id}")
        try:
            response = self._call(
                HTTPMethod.DELETE, f"Customers/{_segment(customer_id, 'customerId')}", context
            )
        except NotFoundError:
            return False
        body = self._json(response)
        if isinstance(body, dict) and isinstance(body.get("count"), int):
            return bool(body["count"])
        return True

    def list_locations(self, customer_id: str) -> list[Location]:
        """`GET /Customers/{id}/locations`."""
        context = OperationContext(
            Operation.LIST_LOCATIONS,
            f"list locations of customer {customer_id}",
            {"customer_id": customer_id},
        )
        response = self._call(
            HTTPMethod.GET, f"Customers/{_segment(customer_id, 'customerId')}/locations", context
        )
        body = self._json(response)
        items = body if isinstance(body, list) else []
        return [self._parse(Location, item, response, "location") for item in items]

    def set_onboarding_checkpoint(
        self, customer_id: str, location_id: str, checkpoint: OnboardingCheckpoint
    ) -> CheckpointResult:
        """`POST .../onboardingCheckpoint` (idempotent: setting a value twice is harmless)."""
        if checkpoint not in _CHECKPOINTS:
            raise InputValidationError(
                f"checkpoint {checkpoint!r} must be PodsAdded or OnboardingComplete",
                [("onboardingCheckpoint", "must be PodsAdded or OnboardingComplete")],
            )
        context = OperationContext(
            Operation.SET_ONBOARDING_CHECKPOINT,
            f"set onboarding checkpoint {checkpoint} on location {location_id}",
            {"customer_id": customer_id, "location_id": location_id},
        )
        response = self._call(
            HTTPMethod.POST,
            f"{self._location_path(customer_id, location_id)}/onboardingCheckpoint",
            context,
            json={"checkpoint": checkpoint},
        )
        body = self._json(response)
        data = body.get("checkpoint", body) if isinstance(body, dict) else body
        return self._parse(CheckpointResult, data, response, "checkpoint")

    def find_customers_by_account_id(self, account_id: str) -> list[CustomerSearchResult]:
        """Customers of this partner whose accountId is exactly `account_id` (0 or 1)."""
        if not account_id.strip():
            raise InputValidationError("accountId must not be empty", [("accountId", "empty")])
        context = OperationContext(
            Operation.FIND_CUSTOMERS_BY_ACCOUNT_ID,
            f"search customers by accountId={account_id}",
            {"account_id": account_id, "partner_id": self.partner_id or "?"},
        )
        try:
            response = self._call(
                HTTPMethod.GET,
                f"Partners/customers/search/{_segment(account_id, 'accountId')}",
                context,
                params={"field": "accountId", "exactMatch": "true"},
            )
        except NotFoundError:
            return []
        body = self._json(response)
        items = body if isinstance(body, list) else []
        hits = [self._parse(CustomerSearchResult, item, response, "customer") for item in items]
        return [hit for hit in hits if hit.account_id == account_id]

    # -- nodes ------------------------------------------------------------------------------

    @staticmethod
    def _location_path(customer_id: str, location_id: str) -> str:
        return (
            f"Customers/{_segment(customer_id, 'customerId')}"
            f"/locations/{_segment(location_id, 'locationId')}"
        )

    def claim_node(
        self,
        customer_id: str,
        location_id: str,
        serial_number: str,
        nickname: str | None = None,
        *,
        known: Callable[[], Node | None] | None = None,
    ) -> ClaimResult:
        """Claim a node (and the rest of its pack) at a location.

        204 / 200 with nothing claimed means "already claimed": confirmed here with
        `lookup_node` (ConflictError if it is elsewhere) and `list_nodes`. A 503 means the claim
        took effect but a later step failed: confirmed the same way, then `warning` is set.
        When an earlier attempt's answer was lost (timeout, cut connection, 5xx) and the retry
        finds the node already claimed here, that attempt claimed it, and with it the rest of
        its pack: `claimed` is reconciled from the location's nodes, as after a 503.

        `known`: the node as this process saw it claimed at this location moments ago (in a
        pack sibling's claim answer), if it did; an "already claimed" answer then needs no
        confirmation calls.
        """
        serial = validate_serial_number(serial_number)
        ids = {
            "customer_id": customer_id,
            "location_id": location_id,
            "serial_number": serial,
            "partner_id": self.partner_id or "?",
        }
        context = OperationContext(Operation.CLAIM_NODE, f"claim node {serial}", ids)
        body: dict[str, str] = {"serialNumber": serial}
        if nickname is not None:
            body["nickname"] = nickname
        trace = RetryTrace()
        try:
            response = self._call(
                HTTPMethod.POST,
                f"{self._location_path(customer_id, location_id)}/nodes",
                context,
                json=body,
                no_retry_statuses=frozenset({503}),
                trace=trace,
            )
        except ServerError as err:
            if err.status != 503 or err.operation != Operation.CLAIM_NODE:
                raise
            confirmed = self._confirm_claim(customer_id, location_id, serial, err, pack=True)
            warning = (
                f"Plume claimed {serial} but a later step failed (HTTP 503: "
                f"{err.api_message or 'service unavailable'}); the node is claimed at "
                f"location {location_id}, check it in Frontline if it does not come online"
            )
            return confirmed.model_copy(update={"warning": warning})

        payload = self._json(response)
        items = payload.get("claimed") if isinstance(payload, dict) else None
        claimed = [self._parse(Node, item, response, "node") for item in items or []]
        node = _pick(claimed, serial)
        if node is not None:
            return ClaimResult(node=node, claimed=claimed)
        if not trace.outcome_unknown and known is not None:
            seen = known()
            if seen is not None:
                return ClaimResult(node=seen, already_claimed=True)
        if trace.outcome_unknown:
            logger.info(
                "claim of %s: an earlier attempt's answer was lost; reading what it claimed "
                "from location %s",
                serial,
                location_id,
            )
        return self._confirm_claim(
            customer_id, location_id, serial, None, pack=trace.outcome_unknown
        )

    def _confirm_claim(
        self,
        customer_id: str,
        location_id: str,
        serial: str,
        failure: ApiError | None,
        *,
        pack: bool,
    ) -> ClaimResult:
        """Check that `serial` is claimed at this location and return its full node.

        `pack`: this call claimed it (its answer went missing), so `claimed` lists the node and
        the other nodes of its pack now at the location; otherwise it was already claimed.
        """
        lookup = self.lookup_node(serial)
        if lookup.customer_id != customer_id or lookup.location_id != location_id:
            if failure is not None:
                raise failure
            raise ConflictError(
                f"claim node {serial} failed",
                status=None,
                method=HTTPMethod.GET,
                path=f"/Partners/nodes/{serial}",
                api_message=(
                    f"Plume claimed nothing new, and node {serial} is at customer "
                    f"{lookup.customer_id or 'none'}, location {lookup.location_id or 'none'}"
                ),
                hint=f"node {serial} is claimed by another customer; unclaim it there first",
                operation=Operation.CLAIM_NODE,
            )
        nodes = self.list_nodes(customer_id, location_id)
        node = _pick(nodes, serial) or Node(
            serial_number=serial,
            pack_id=lookup.pack_id,
            customer_id=customer_id,
            location_id=location_id,
        )
        if not pack:
            return ClaimResult(node=node, already_claimed=True)
        siblings = [n for n in nodes if node.pack_id and n.pack_id == node.pack_id] or [node]
        return ClaimResult(node=node, claimed=siblings)

    def list_nodes(self, customer_id: str, location_id: str) -> list[Node]:
        """`GET .../nodes`: the nodes claimed at a location."""
        context = OperationContext(
            Operation.LIST_NODES,
            f"list nodes of location {location_id}",
            {"customer_id": customer_id, "location_id": location_id},
        )
        response = self._call(
            HTTPMethod.GET, f"{self._location_path(customer_id, location_id)}/nodes", context
        )
        body = self._json(response)
        items = body.get("nodes") if isinstance(body, dict) else body
        if not isinstance(items, list):
            items = []
        return [self._parse(Node, item, response, "node") for item in items]

    def rename_node(self, customer_id: str, location_id: str, node_id: str, nickname: str) -> Node:
        """Set a node's nickname."""
        context = OperationContext(
            Operation.RENAME_NODE,
            f"rename node {node_id}",
            {"customer_id": customer_id, "location_id": location_id, "node_id": node_id},
        )
        response = self._call(
            RENAME_NODE_METHOD,
            f"{self._location_path(customer_id, location_id)}/nodes/{_segment(node_id, 'nodeId')}",
            context,
            json={"nickname": nickname},
        )
        return self._parse(Node, self._json(response), response, "node")

    def unclaim_node(self, customer_id: str, location_id: str, serial_number: str) -> bool:
        """Unclaim a node (releases its license); False when it was already unclaimed."""
        serial = validate_serial_number(serial_number)
        context = OperationContext(Operation.UNCLAIM_NODE, f"unclaim node {serial}")
        try:
            self._call(
                HTTPMethod.DELETE,
                f"{self._location_path(customer_id, location_id)}/nodes/"
                f"{_segment(serial, 'serialNumber')}",
                context,
            )
        except (NotFoundError, BadRequestError):
            return False
        return True

    def lookup_node(self, serial_number: str) -> NodeLookup:
        """`GET /Partners/nodes/{serial}`: where a serial is claimed, if anywhere."""
        serial = validate_serial_number(serial_number)
        context = OperationContext(
            Operation.LOOKUP_NODE,
            f"look up node {serial}",
            {"serial_number": serial, "partner_id": self.partner_id or "?"},
        )
        response = self._call(
            HTTPMethod.GET, f"Partners/nodes/{_segment(serial, 'serialNumber')}", context
        )
        return self._parse(NodeLookup, self._json(response), response, "node lookup")


def _pick(nodes: list[Node], serial: str) -> Node | None:
    for node in nodes:
        if serial in (node.serial_number, node.id):
            return node
    folded = serial.casefold()
    for node in nodes:
        if node.serial_number.casefold() == folded:
            return node
    return None
