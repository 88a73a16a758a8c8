"""Shards of one fleet: many stacks share one fleet file, each declaring the customers whose
`shard` (CSV column or YAML/JSON key) is its `plume-fleet:shard`.

The shard is an explicit value per customer, not a hash of the accountId: an operator reads
where a customer is and moves it by editing one cell, and adding a shard moves nobody (a hash
rule would move customers whenever the shard count changes).

`shard_problems` holds the rules only the whole fleet can show, checked by every stack on the
whole file before any call, whichever shard it declares: in a sharded fleet every customer names
its shard; one account is in one shard; the stack's shard exists; a sharded fleet is never
declared whole by a stack that names no shard. `check_shard_name` is the rule of one name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from plume_provider.client.customer_fields import CUSTOMER_FIELDS

__all__ = ["SHARD_RULE", "check_shard_name", "shard_names", "shard_problems"]

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
SHARD_RULE = (
    "a shard name is 1-63 lowercase letters, digits and '-', starting with a letter or digit "
    "(north, eu-1, 07), so it reads the same in stack names, file names and logs"
)
_SHOWN = 10
_ACCOUNT = CUSTOMER_FIELDS.account_id.prop

Where = Callable[[int, Sequence[int | str]], str]
"""(customer index, location inside it) -> the text naming it (`fleets/x.csv:12:shard`)."""


def check_shard_name(value: str) -> str:
    """`value` when it is a valid shard name; else ValueError saying the rule."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"shard name {_shown(value)} is not valid: {SHARD_RULE}")
    return value


def _shown(value: Any) -> str:
    """`value` quoted, cut to 70 characters: a name is never longer than 63."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 70 else text[:70] + "...")


def _valid(value: Any) -> str | None:
    return value if isinstance(value, str) and _NAME.fullmatch(value) else None


def _folded(value: Any) -> str:
    return value.casefold().strip() if isinstance(value, str) else ""


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def shard_names(customers: Sequence[Mapping[str, Any]]) -> list[str]:
    """The valid shard names the customers give, sorted."""
    return sorted({name for c in customers if (name := _valid(c.get("shard"))) is not None})


def shard_problems(
    customers: Sequence[Mapping[str, Any]],
    where: Where,
    shard: Any,
    *,
    every_shard: bool = False,
) -> list[str]:
    """The shard rules of the raw fleet `customers` for a stack whose `plume-fleet:shard` is
    `shard` (None: not set); `every_shard` reads a sharded fleet whole (a tool such as
    discover, never a stack). Invalid names are the model's to report; here they count as
    given, so a customer with a misspelt shard is not also reported as having none."""
    names = shard_names(customers)
    given = [c.get("shard") is not None for c in customers]
    if shard is None and not any(given):
        return []
    problems: list[str] = []
    if shard is not None and not any(given):
        return [
            f"plume-fleet:shard: is {_shown(shard)}, but no customer of the fleet names a "
            "shard; give every customer its shard (a `shard` column of the fleet file, or key), "
            "or remove plume-fleet:shard"
        ]
    for i, has in enumerate(given):
        if not has:
            problems.append(
                f"{where(i, ('shard',))}: no shard; this fleet is sharded: give every "
                "customer the shard whose stack declares it"
            )
    problems += _in_two_shards(customers, where)
    if shard is None:
        if not every_shard:
            problems.append(
                f"plume-fleet:shard: not set, but this fleet is sharded ({len(names)} shard(s): "
                f"{_listing(names)}); set plume-fleet:shard to the shard this stack declares "
                "(a stack never declares every shard)"
            )
    elif _valid(shard) is not None and shard not in names:
        close = difflib.get_close_matches(shard, names, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            f"plume-fleet:shard: shard {shard!r} has no customer in the fleet{guess}; its "
            f"shards are {_listing(names)}"
        )
    return problems


def _in_two_shards(customers: Sequence[Mapping[str, Any]], where: Where) -> list[str]:
    """One account (accountIds equal but for case and surrounding blanks, as the duplicate
    check reads them) named in two shards. Rows of exactly one accountId in a CSV are one
    customer, whose two shard cells the file's reader reports."""
    first: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    for i, customer in enumerate(customers):
        account, name = customer.get(_ACCOUNT), _valid(customer.get("shard"))
        if not isinstance(account, str) or name is None:
            continue
        seen = first.setdefault(_folded(account), (i, name))
        if seen[1] != name:
            problems.append(
                f"{where(i, ('shard',))}: {_ACCOUNT} {account!r} is in shard {name!r} here and "
                f"in shard {seen[1]!r} at {where(seen[0], ('shard',))}; a customer belongs to "
                "one shard: keep one of the two"
            )
    return problems
