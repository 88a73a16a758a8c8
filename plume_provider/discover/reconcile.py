"""Discover's reconciliation: a CRM customer against what Plume has, as `up` will see it.

Every comparison is the customer field table's (`CustomerField.same`, the equality diff, the
register recovery and the take-over use), over every registered fleet field whose live value
the look-ups carry, so discover cannot call "different" what `up` calls equal. What a
difference leads to is the field's `change`:

* `update_customer` (name, email): `adopt: true` with the CRM's value; `up`'s take-over PATCHes
  exactly the differing fields (`importId` would refuse them);
* `set_onboarding_checkpoint`: kept as the CRM has it, `importId` still; the take-over sets it;
* `replace` (profile): the live value is written, and the difference reported: a take-over
  refuses another profile, and changing it would delete the household.

A field not declared in the CRM is left alone, except a `replace` field, which takes the live
value (the take-over refuses any other). A field whose live value no look-up gives (acceptLanguage
is not in a search hit) is not compared, as the take-over does not compare it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from plume_provider.client.customer_fields import CUSTOMER_FIELDS, CustomerField
from plume_provider.discover.lookups import Lookups
from plume_provider.fleet import CustomerSpec

__all__ = [
    "DIFFERS",
    "MATCHES",
    "NEW",
    "NICKNAME_DIFFERS",
    "NODE_ELSEWHERE",
    "NODE_NOT_IN_CRM",
    "NODE_NOT_IN_INVENTORY",
    "NODE_TO_CLAIM",
    "REPORT_COLUMNS",
    "Discovery",
    "Finding",
    "customer_status",
    "discover",
]

# Report statuses, one per row of the reconciliation report.
MATCHES = "exists-matches"
DIFFERS = "exists-differs"
NEW = "not-in-plume"
NODE_ELSEWHERE = "node-claimed-elsewhere"
NODE_NOT_IN_INVENTORY = "node-not-in-inventory"
NODE_NOT_IN_CRM = "node-not-in-crm"
NODE_TO_CLAIM = "node-to-claim"
NICKNAME_DIFFERS = "nickname-differs"
REPORT_COLUMNS = (
    CUSTOMER_FIELDS.account_id.api,
    "status",
    "serialNumber",
    "field",
    "live",
    "crm",
    "detail",
)

PATCHED: Final = "up patches it"
COMPARED: Final = tuple(
    f for f in CUSTOMER_FIELDS.fleet if f.kind == "registered" and f.live != "none"
)
"""The fields discover compares: every registered fleet field Plume has a live value of."""

_WHAT_UP_DOES: Final = {
    "update_customer": PATCHED,
    "set_onboarding_checkpoint": "up sets it",
    "replace": "kept live: changing it replaces the customer",
}


@dataclass
class Finding:
    """One row of the reconciliation report."""

    account_id: str
    status: str
    serial_number: str = ""
    field: str = ""
    live: str = ""
    crm: str = ""
    detail: str = ""

    def row(self) -> list[str]:
        return [
            self.account_id,
            self.status,
            self.serial_number,
            self.field,
            self.live,
            self.crm,
            self.detail,
        ]


@dataclass
class Discovery:
    """What discover found: the fleet to write, the report, and the calls it took."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    calls_made: int = 0
    calls_replayed: int = 0

    def counts(self) -> Counter[str]:
        return Counter(f.status for f in self.findings)


def _crm_entry(spec: CustomerSpec) -> dict[str, Any]:
    """The CRM customer as a fleet-file mapping (defaults left out)."""
    entry = spec.model_dump(by_alias=True, exclude_defaults=True, exclude={"nodes"})
    entry[CUSTOMER_FIELDS.account_id.prop] = spec.account_id
    return entry


def _declared(spec: CustomerSpec, item: CustomerField) -> Any:
    """The CRM's value of a field, None when the CRM does not give it."""
    if item.attribute not in spec.model_fields_set:
        return None
    return getattr(spec, item.attribute)


def _customer_findings(
    spec: CustomerSpec,
    search: dict[str, Any],
    location: dict[str, Any] | None,
    entry: dict[str, Any],
) -> list[Finding]:
    """The differences of one found customer, by the table's equalities; `entry` gets the
    live value of each `replace` field."""
    differences: list[Finding] = []
    for item in COMPARED:
        live = item.live_value(search, location)
        if live is None:
            continue
        wanted = _declared(spec, item)
        if wanted is None:
            if item.change == "replace":
                entry[item.prop] = live
            continue
        if item.same(live, wanted):
            continue
        differences.append(
            Finding(
                spec.account_id,
                DIFFERS,
                "",
                item.prop,
                str(live),
                str(wanted),
                _WHAT_UP_DOES[item.change],
            )
        )
        if item.change == "replace":
            entry[item.prop] = live
    return differences


def _node_findings(
    spec: CustomerSpec,
    lookups: Lookups,
    claimed_here: dict[str, str | None],
    findings: list[Finding],
) -> list[dict[str, Any]]:
    """The fleet's nodes of one customer: the CRM's (those that can be claimed or are claimed
    here) and then those claimed here that the CRM does not list."""
    nodes: list[dict[str, Any]] = []
    account = spec.account_id
    for node in spec.nodes:
        serial = node.serial_number
        if serial in claimed_here:
            live = claimed_here[serial]
            nickname = node.nickname if node.nickname is not None else live
            if node.nickname is not None and node.nickname != live:
                findings.append(
                    Finding(
                        account,
                        NICKNAME_DIFFERS,
                        serial,
                        "nickname",
                        live or "",
                        node.nickname,
                        "up renames it",
                    )
                )
            nodes.append(_node(serial, nickname))
            continue
        where = lookups.lookup(serial)
        if not where["inventory"]:
            detail = (
                "in another partner's inventory" if where.get("otherPartner") else "unknown serial"
            )
            findings.append(
                Finding(account, NODE_NOT_IN_INVENTORY, serial, detail=f"{detail}; left out")
            )
        elif where.get("customerId"):
            findings.append(
                Finding(
                    account,
                    NODE_ELSEWHERE,
                    serial,
                    detail=(
                        f"claimed at customer {where['customerId']} (location "
                        f"{where['locationId']}); left out: unclaim it there, then add it"
                    ),
                )
            )
        else:
            findings.append(Finding(account, NODE_TO_CLAIM, serial, detail="up claims it"))
            nodes.append(_node(serial, node.nickname))
    declared = {n.serial_number for n in spec.nodes}
    for serial, live in claimed_here.items():
        if serial not in declared:
            findings.append(
                Finding(
                    account,
                    NODE_NOT_IN_CRM,
                    serial,
                    "nickname",
                    live or "",
                    detail="claimed in Plume, not listed in the CRM; kept in the fleet",
                )
            )
            nodes.append(_node(serial, live))
    return nodes


def _node(serial: str, nickname: str | None) -> dict[str, Any]:
    return (
        {"serialNumber": serial}
        if nickname is None
        else {"serialNumber": serial, "nickname": nickname}
    )


_ADOPT: Final = CUSTOMER_FIELDS.adopt.prop
_IMPORT_ID: Final = CUSTOMER_FIELDS.import_id.prop


def _reconcile(spec: CustomerSpec, lookups: Lookups, discovery: Discovery) -> None:
    account = spec.account_id
    findings = discovery.findings
    entry = _crm_entry(spec)
    entry.pop(_IMPORT_ID, None)
    entry.pop(_ADOPT, None)
    live = lookups.search(account)
    if live is None:
        findings.append(Finding(account, NEW, detail="up registers it"))
        entry["nodes"] = _node_findings(spec, lookups, {}, findings)
        discovery.customers.append(_clean(entry))
        return
    customer_id: str = live["id"]
    location = lookups.location(customer_id)
    differences = _customer_findings(spec, live, location, entry)
    location_ids: list[str] = live["locationIds"]
    claimed_here: dict[str, str | None] = {}
    if location_ids:
        claimed_here = {
            n["serialNumber"]: n.get("nickname")
            for n in lookups.nodes(customer_id, location_ids[0])
        }
    if any(d.detail == PATCHED for d in differences):
        entry[_ADOPT] = True
    else:
        entry[_IMPORT_ID] = customer_id
    if differences:
        findings.extend(differences)
    else:
        findings.append(Finding(account, MATCHES, detail=f"customer {customer_id}; imported"))
    entry["protect"] = True
    entry["nodes"] = _node_findings(spec, lookups, claimed_here, findings)
    discovery.customers.append(_clean(entry))


_FIRST: Final = tuple(
    f.prop for f in (CUSTOMER_FIELDS.account_id, CUSTOMER_FIELDS.name, CUSTOMER_FIELDS.email)
)


def _clean(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the fleet file shows it: no empty node list, the CRM's key fields first."""
    if not entry.get("nodes"):
        entry.pop("nodes", None)
    return {
        **{k: entry[k] for k in _FIRST if k in entry},
        **{k: v for k, v in entry.items() if k not in _FIRST},
    }


def discover(
    crm: Sequence[CustomerSpec],
    lookups: Lookups,
    progress: Callable[[int], None] | None = None,
) -> Discovery:
    """Reconcile the CRM customers with Plume (every call through the look-ups' journal)."""
    discovery = Discovery()
    for spec in crm:
        _reconcile(spec, lookups, discovery)
        if progress is not None:
            progress(1)
    discovery.calls_made = lookups.journal.made
    discovery.calls_replayed = lookups.journal.replayed
    return discovery


def customer_status(discovery: Discovery) -> Counter[str]:
    """Customers per outcome: matches, differs (at least one field), new."""
    statuses: dict[str, str] = {}
    for finding in discovery.findings:
        if finding.status in (MATCHES, NEW):
            statuses[finding.account_id] = finding.status
        elif finding.status == DIFFERS:
            statuses[finding.account_id] = DIFFERS
    return Counter(statuses.values())
