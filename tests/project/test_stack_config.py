"""The program lists every `plume-fleet:*` key the stack sets, from both places the SDK keeps
a program's config, so `load_fleet` can report a typo'd one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pulumi
import pytest

from plume_provider.fleet import FLEET_CONFIG_KEYS, FleetConfigError, load_fleet
from plume_provider.fleet.stack_config import declared_keys, fleet_config


@pytest.fixture
def stack_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Config as a language host hands it over, plus the `PULUMI_CONFIG` environment JSON."""
    pulumi.runtime.set_all_config(
        {
            "plume-fleet:customers": '[{"accountId": "A-1"}]',
            "plume-fleet:retainOnDelte": "true",
            "plume:apiUrl": "http://127.0.0.1:9/api",
        }
    )
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({"plume-fleet:wave": "2", "plume-fleet:protct": "true"})
    )
    yield
    pulumi.runtime.set_all_config({})


@pytest.mark.usefixtures("stack_config")
def test_declared_keys_come_from_the_host_s_config_and_the_environment() -> None:
    assert declared_keys("plume-fleet") == {"customers", "retainOnDelte", "wave", "protct"}
    assert declared_keys("plume") == {"apiUrl"}


@pytest.mark.usefixtures("stack_config")
def test_fleet_config_has_every_fleet_key_and_every_key_set_with_its_value() -> None:
    config = fleet_config(pulumi.Config("plume-fleet"))
    assert set(config) == {*FLEET_CONFIG_KEYS, "retainOnDelte", "protct"}
    assert config["customers"] == '[{"accountId": "A-1"}]'
    assert config["wave"] == "2"
    assert config["retainOnDelte"] == "true"
    assert config["fleetFile"] is None


@pytest.mark.usefixtures("stack_config")
def test_a_typo_d_key_is_reported_with_the_key_meant() -> None:
    with pytest.raises(FleetConfigError) as raised:
        load_fleet(fleet_config(pulumi.Config("plume-fleet")))
    assert {problem.split(":", 2)[1] for problem in raised.value.problems} == {
        "retainOnDelte",
        "protct",
    }
    assert "(did you mean 'retainOnDelete'?)" in str(raised.value)
