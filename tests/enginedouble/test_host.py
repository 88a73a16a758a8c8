"""ProviderHost drives the real ``python -m pulumi.dynamic`` host over gRPC: all seven calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from plume_testkit.enginedouble.host import ProviderError, ProviderHost, parse_exception
from plume_testkit.enginedouble.wire import (
    PROVIDER_KEY,
    UNKNOWN,
    from_struct,
    to_struct,
    unwrap_secrets,
)
from tests.enginedouble.toy_provider import ToyProvider, live_ids, read_log

URN = "urn:pulumi:test::plume-fleet::pulumi-python:dynamic/toy:Counter::c1"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"


@pytest.fixture(scope="module")
def provider_string() -> str:
    return serialize_provider(ToyProvider())


@pytest.fixture(scope="module")
def host():
    with ProviderHost() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path, host: ProviderHost) -> Path:
    # Configure is per call here: the cached provider keeps its first configuration, so each
    # test uses its own provider string (see ``fresh``) when the store must differ.
    host.configure({"toy:storeDir": str(tmp_path), "plume-fleet:unused": "x"})
    return tmp_path


def fresh(tag: str) -> str:
    """A provider string unique to ``tag`` so the host configures a new provider instance."""
    provider = ToyProvider()
    provider.tag = tag  # type: ignore[attr-defined]
    return serialize_provider(provider)


def test_all_seven_calls_round_trip(host: ProviderHost, store: Path) -> None:
    prov = fresh("round-trip")
    news = {"value": 2, "label": "a", "key": "k1", PROVIDER_KEY: prov}

    checked = host.check(URN, {}, news)
    assert checked.failures == []
    assert checked.inputs[PROVIDER_KEY] == prov
    assert checked.inputs["value"] == 2

    id_, outs = host.create(URN, checked.inputs)
    assert id_
    assert outs["counterId"] == id_
    assert outs["doubled"] == 4
    assert outs[PROVIDER_KEY] == prov
    assert live_ids(store) == {id_}

    diff = host.diff(URN, id_, outs, {**checked.inputs, "label": "b"})
    assert diff.changes is True
    assert diff.replaces == []
    assert not diff.delete_before_replace
    same = host.diff(URN, id_, outs, checked.inputs)
    assert same.changes is False
    replace = host.diff(URN, id_, outs, {**checked.inputs, "key": "k2", "dbr": True})
    assert replace.replaces == ["key"]
    assert replace.delete_before_replace is True

    updated = host.update(URN, id_, outs, {**checked.inputs, "value": 5})
    assert updated["doubled"] == 10
    assert updated[PROVIDER_KEY] == prov

    read = host.read(URN, id_, updated, checked.inputs)
    assert read.id == id_
    assert read.outs["doubled"] == 10
    assert read.inputs is not None
    assert read.inputs["value"] == 5
    assert read.inputs[PROVIDER_KEY] == prov

    host.delete(URN, id_, updated)
    assert live_ids(store) == set()
    gone = host.read(URN, id_, updated)
    assert gone.id == ""
    ops = [entry["op"] for entry in read_log(store)]
    assert ops == ["create", "update", "read", "delete", "read"]
    assert {method for method, _ in host.calls} >= {
        "Configure",
        "Check",
        "Diff",
        "Create",
        "Read",
        "Update",
        "Delete",
    }


def test_check_failures_and_secret_provider(host: ProviderHost, store: Path) -> None:
    # The SDK registers ``__provider`` as a secret; the engine strips it for this host.
    wrapped = {SECRET_SIG: SECRET_VALUE, "value": fresh("secret")}
    checked = host.check(URN, None, {"value": -1, PROVIDER_KEY: wrapped})
    assert checked.failures[0].property == "value"
    assert "must be a number >= 0" in checked.failures[0].reason
    assert checked.inputs[PROVIDER_KEY] == wrapped["value"]


def test_unknown_inputs_pass_check_and_diff(host: ProviderHost, store: Path) -> None:
    # During preview an input computed from another resource's output is UNKNOWN.
    prov = fresh("unknown")
    news = {"value": 1, "label": UNKNOWN, PROVIDER_KEY: prov}
    checked = host.check(URN, {}, news)
    assert checked.failures == []
    assert checked.inputs["label"] == UNKNOWN
    diff = host.diff(URN, "x", {"value": 1, "label": "a", PROVIDER_KEY: prov}, checked.inputs)
    assert diff.changes is True


def test_provider_exception_becomes_provider_error(host: ProviderHost, store: Path) -> None:
    prov = fresh("failing")
    with pytest.raises(ProviderError) as caught:
        host.create(URN, {"value": 3, "failOn": "create", PROVIDER_KEY: prov})
    err = caught.value
    assert err.method == "Create"
    assert err.urn == URN
    assert err.message == "toy create failed for value 3.0"
    assert err.exception_type is not None
    assert err.exception_type.endswith("ToyFailure")
    assert "Traceback" in err.details
    assert str(err) == f"Create {URN}: toy create failed for value 3.0"
    # The host survives a failed call.
    id_, _ = host.create(URN, {"value": 3, PROVIDER_KEY: prov})
    assert id_


def test_parse_exception_handles_chains_and_multiline() -> None:
    details = (
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in f\n'
        "    g()\n"
        "KeyError: 'x'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "b.py", line 2, in h\n'
        "    raise Boom(msg)\n"
        "pkg.errors.Boom: line one\nline two\n"
    )
    assert parse_exception(details) == ("pkg.errors.Boom", "line one\nline two")
    assert parse_exception("plain failure") == (None, "plain failure")


def test_struct_round_trip_keeps_unknown_and_unwraps_secrets() -> None:
    props = {
        "a": 1,
        "b": [1, "x", {"c": True}],
        "d": None,
        "e": UNKNOWN,
        "s": {SECRET_SIG: SECRET_VALUE, "value": {"k": "v"}},
    }
    back = from_struct(to_struct(props))
    assert back == {"a": 1, "b": [1, "x", {"c": True}], "e": UNKNOWN, "s": {"k": "v"}}
    assert unwrap_secrets([{SECRET_SIG: SECRET_VALUE, "value": 1}]) == [1]


def test_host_stderr_is_captured(store: Path) -> None:
    with ProviderHost() as own:
        own.configure({"toy:storeDir": str(store)})
        mark = own.stderr_mark()
        own.create(URN, {"value": 1, "warn": "pack claimed", PROVIDER_KEY: fresh("warn")})
    assert "toy warning: pack claimed" in own.stderr_since(mark)
    assert "toy warning: pack claimed" in own.stderr_text()


def test_stop_ends_the_subprocess() -> None:
    host = ProviderHost()
    with host:
        assert host.running
        assert host.port
    assert not host.running
    with pytest.raises(RuntimeError, match="not started"):
        host.check(URN, {}, {})
