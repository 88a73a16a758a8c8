"""`plume-fleet discover`: bring an existing fleet under code.

Given a CRM export (a fleet file: `fleet.file` documents the columns), look each accountId up in
Plume and write

* a fleet file for `plume-fleet:fleetFile`: every CRM customer, in CRM order;
  * found in Plume, every CRM value equal to the live one: `importId` (the provider imports it:
    0 register calls, and `up` changes nothing);
  * found, name or email different: `adopt: true` with the CRM's values (the provider takes it
    over by accountId and PATCHes exactly the differing fields). `importId` would refuse such a
    customer (its declared values must match the live ones), and writing the live values would
    leave the CRM's corrections unapplied;
  * both with `protect: true` (a discovered customer is a real household: `destroy` refuses it
    until the operator lifts protect), and the nodes claimed at its location: the CRM's
    nickname where the CRM gives one (`up` renames), else the live one; nodes claimed there that
    the CRM does not list are kept too (removing them from code would unclaim them) and flagged;
  * not in Plume: the CRM's values, no `importId` (`up` registers it);
  * a CRM node claimed at another customer, or not in the partner's inventory, is left out
    (`up` would fail on it) and reported;
* a reconciliation report, on the terminal and as CSV (`--report`, default `<out>.report.csv`).

API calls (the minimum that decides each case), per CRM customer:

* in Plume: 3 — the search by accountId (name, email, location ids), its locations (the
  profile: taking a customer over refuses a profile other than the live one, so the fleet file
  carries the live profile when the CRM has none) and the node list of its first location; +1
  node lookup per CRM serial not claimed there;
* not in Plume: 1 — the search (404); +1 node lookup per CRM serial.

The calls go through `PlumeClient`, so its rate limit (`PLUME_REQUESTS_PER_SECOND`, default 6 a
second) and retries apply. Every answer is appended to a journal (`--journal`, default
`<out>.journal.jsonl`, one JSON line per call, flushed and synced) before it is used; a rerun after
Ctrl-C or a failure reads the journal and repeats no answered call. The journal is bound to the API
URL, partner and CRM file it was made for; another one is refused (`journal`). Delete the journal
to look everything up afresh.

The package, one job a module: `journal`, `lookups` (the calls and their answers' shapes),
`reconcile` (the customer field table's equalities, as `up` compares), `report`, `command`.

Credentials and the API location come from the `PLUME_*` environment (`PlumeSettings`).
"""

from plume_provider.discover.command import main
from plume_provider.discover.journal import Journal, JournalBinding
from plume_provider.discover.lookups import Lookups
from plume_provider.discover.reconcile import Discovery, Finding, discover

__all__ = ["Discovery", "Finding", "Journal", "JournalBinding", "Lookups", "discover", "main"]
