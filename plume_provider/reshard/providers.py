"""The one edit a reshard makes to a source stack's state before `pulumi state move`.

`pulumi state move` copies the providers of the moved resources into the destination, and
refuses when the destination already has a provider of that URN with another ID and other
inputs ("provider ... already exists in destination stack"; pulumi/pulumi#16983). Every
stack's default `pulumi-python` provider has the stack's config as its inputs, and stacks of
two shards always differ there (`plume-fleet:shard`), so every reshard into a stack that has
been updated would be refused. When the IDs match, the CLI takes the destination's provider
for the moved resources (pulumi/pulumi#16737), which is what they get on the destination's next
`up` anyway.

`aligned_source` gives the source's copy of such a provider the destination's ID, and the
source's references to it: only a provider ID, a UUID of Pulumi's, changes; inputs, outputs and
every secret (the export keeps them encrypted with the source's own key, and they go back into
the source only) stay as they are. The source's next `preview` shows no change for it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["PROVIDER_PREFIX", "aligned_source"]

PROVIDER_PREFIX = "pulumi:providers:"


def _resources(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    resources = (document.get("deployment") or {}).get("resources") or []
    return [r for r in resources if isinstance(r, dict)]


def _in_stack(urn: str, stack: str) -> str:
    """`urn` with its stack part replaced by `stack` (`urn:pulumi:<stack>::<project>::...`)."""
    _, rest = urn.split("::", 1)
    return f"urn:pulumi:{stack}::{rest}"


def _stack_part(urn: str) -> str:
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def aligned_source(
    source: Mapping[str, Any], dest: Mapping[str, Any], moved: Iterable[str]
) -> dict[str, Any] | None:
    """A copy of the `source` export whose providers of the `moved` URNs carry the IDs of the
    `dest` export's providers of the same name; None when no ID differs (nothing to import)."""
    moved = set(moved)
    dest_resources = _resources(dest)
    if not moved or not dest_resources:
        return None  # an empty destination takes the source's provider as it is
    dest_stack = _stack_part(str(dest_resources[0].get("urn", "")))
    dest_ids = {
        str(r.get("urn")): str(r.get("id"))
        for r in dest_resources
        if str(r.get("type", "")).startswith(PROVIDER_PREFIX)
    }
    new_ref: dict[str, str] = {}
    for resource in _resources(source):
        ref = resource.get("provider")
        if resource.get("urn") not in moved or not isinstance(ref, str) or "::" not in ref:
            continue
        urn, provider_id = ref.rsplit("::", 1)
        target = dest_ids.get(_in_stack(urn, dest_stack))
        if target is not None and target != provider_id:
            new_ref[ref] = f"{urn}::{target}"
    if not new_ref:
        return None
    document = copy.deepcopy(dict(source))
    for resource in _resources(document):
        kind = str(resource.get("type", ""))
        if kind.startswith(PROVIDER_PREFIX):
            ref = f"{resource.get('urn')}::{resource.get('id')}"
            if ref in new_ref:
                resource["id"] = new_ref[ref].rsplit("::", 1)[1]
        if resource.get("provider") in new_ref:
            resource["provider"] = new_ref[resource["provider"]]
    return document
