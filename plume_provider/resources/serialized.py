"""The `__provider` input of a Plume resource: its provider class, serialized once per class.

`pulumi.dynamic.Resource.__init__` serializes the provider object of every resource it
declares with the SDK's `serialize_provider` (dill, with a sorting wrapper on the pure-Python
pickler). A Plume provider's serialization depends on its class alone (`__getstate__` writes
the state format and nothing else, the same for every instance), so `PlumeResource` computes
it once per class and declares its resources as `Resource.__init__` does, with that value.

This also keeps clear of an SDK defect: `serialize_provider` wraps
`pickle._Pickler._batch_setitems` on every call and never unwraps it, so the wrappers nest
until every further call fails with `RecursionError` (docs/upstream.md). Called once per
provider class, it leaves two wrappers in a program, not one per resource.
"""

from __future__ import annotations

from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider

__all__ = ["UPSTREAM", "serialized_provider"]

UPSTREAM = (
    "not filed (pulumi/pulumi#17803, a RecursionError in a dynamic provider closed without a "
    "repro, may be it), docs/upstream.md#serialize_provider-leaves-a-wrapper-per-call"
)
"""The upstream issue of the SDK defect this module keeps clear of."""

_BLOBS: dict[type[ResourceProvider], str] = {}


def serialized_provider(provider: ResourceProvider) -> str:
    """What `serialize_provider(provider)` returns, computed once per provider class.

    Only for providers whose pickled form is the same for every instance of their class (the
    Plume providers: a test holds them to it).
    """
    cls = type(provider)
    blob = _BLOBS.get(cls)
    if blob is None:
        blob = _BLOBS[cls] = serialize_provider(provider)
    return blob
