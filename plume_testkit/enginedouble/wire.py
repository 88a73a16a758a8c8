"""Property values on the engine's gRPC wire: plain Python dicts to and from protobuf Structs,
with secrets unwrapped (the dynamic host answers ``acceptSecrets: false``, so the engine strips
them) and the preview's unknown sentinel kept as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc

__all__ = ["PROVIDER_KEY", "UNKNOWN", "from_struct", "to_struct", "unwrap_secrets"]

PROVIDER_KEY = "__provider"
UNKNOWN = rpc.UNKNOWN
"""The engine's sentinel for a value not known during preview (kept as-is in both directions)."""

_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"


def unwrap_secrets(value: Any) -> Any:
    """Return ``value`` with every RPC secret envelope replaced by its plain value (deeply)."""
    if isinstance(value, Mapping):
        if value.get(_SIG_KEY) == _SECRET_VALUE and "value" in value:
            return unwrap_secrets(value["value"])
        return {str(k): unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unwrap_secrets(v) for v in value]
    return value


def _to_value(value: Any) -> Any:
    """Make ``value`` JSON-like (what a Struct can hold)."""
    value = unwrap_secrets(value)
    if value is None or isinstance(value, str | bool | int | float | dict | list):
        return value
    raise TypeError(f"cannot send {type(value).__name__} to a provider: {value!r}")


def to_struct(props: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """Serialize a plain property dict to a protobuf Struct (secrets unwrapped, None dropped)."""
    struct = struct_pb2.Struct()
    for key, value in (props or {}).items():
        plain = _to_value(value)
        if plain is not None:  # the SDK treats None properties as absent
            struct[key] = plain
    return struct


def _from_value(value: Any) -> Any:
    if isinstance(value, struct_pb2.Struct):
        if _SIG_KEY in value.fields:
            sig = value[_SIG_KEY]
            if sig == _SECRET_VALUE:
                return _from_value(value["value"])
            raise ValueError(f"unsupported special value {sig!r} from provider")
        return {k: _from_value(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [_from_value(v) for v in value]
    return value


def from_struct(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    """Deserialize a Struct into plain Python (secrets unwrapped, ``UNKNOWN`` kept as-is)."""
    if struct is None:
        return {}
    result = _from_value(struct)
    assert isinstance(result, dict)
    return {k: v for k, v in result.items() if v is not None}
