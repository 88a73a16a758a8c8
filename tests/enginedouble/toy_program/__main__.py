"""Test-only Pulumi program for the engine double: counters declared from stack config.

``toy:counters`` is a list of ``{name, value, label?, key?, dbr?, failOn?, sleep?, warn?, parent?,
protect?, retain?, importId?, dbrOption?}``; ``parent`` names an earlier counter whose
``counterId`` becomes this one's ``parentId`` (a dependency).  ``toy:crash`` makes the program
raise before declaring anything.
"""

import pulumi

from tests.enginedouble.toy_provider import Counter

_PROPS = ("value", "label", "key", "dbr", "failOn", "sleep", "warn")

config = pulumi.Config()
if config.get("crash"):
    raise ValueError(f"invalid toy config: {config.get('crash')}")
counters: dict[str, Counter] = {}
for spec in config.get_object("counters") or []:
    props = {key: spec[key] for key in _PROPS if key in spec}
    if "parent" in spec:
        props["parentId"] = counters[spec["parent"]].counterId
    counters[spec["name"]] = Counter(
        spec["name"],
        props,
        pulumi.ResourceOptions(
            protect=spec.get("protect", False),
            retain_on_delete=spec.get("retain", False),
            import_=spec.get("importId"),
            delete_before_replace=spec.get("dbrOption"),
        ),
    )

pulumi.export("doubled", {name: c.doubled for name, c in counters.items()})
pulumi.export("ids", {name: c.id for name, c in counters.items()})
