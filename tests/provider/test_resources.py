"""The resource classes under `pulumi.runtime.set_mocks`: type tokens, camelCase wire names,
typed snake_case output attributes."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs, PlumeNode, PlumeNodeArgs

CUSTOMER_TYPE = "pulumi-python:dynamic/plume:Customer"
NODE_TYPE = "pulumi-python:dynamic/plume:Node"


class FakeCloud(pulumi.runtime.Mocks):
    """Answers like the providers do: camelCase outputs, customer/serial ids."""

    def __init__(self) -> None:
        self.created: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        self.created.append((args.typ, args.name, inputs))
        if args.typ == CUSTOMER_TYPE:
            outs = {
                **inputs,
                "customerId": "cust-1",
                "locationId": "loc-1",
                "profile": "auto",
                "acceptLanguage": "en-US",
                "createdAt": "2024-01-01T00:00:00Z",
            }
            return "cust-1", outs
        outs = {
            **inputs,
            "nodeId": inputs["serialNumber"],
            "residentialGateway": True,
            "radioMac24": "aa:bb:cc:00:00:01",
            "backhaulDhcpPoolIdx": 3,
            "version": "1",
        }
        return inputs["serialNumber"], outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], Any]:
        return {}, None


@pytest.fixture
def cloud() -> FakeCloud:
    mocks = FakeCloud()
    pulumi.runtime.set_mocks(mocks, project="plume-fleet", stack="test", preview=False)
    return mocks


def test_type_tokens() -> None:
    assert PlumeCustomer._resource_type_name == "dynamic/plume:Customer"
    assert PlumeNode._resource_type_name == "dynamic/plume:Node"


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_outputs_are_typed_attributes(cloud: FakeCloud) -> Any:
    customer = PlumeCustomer(
        "alice",
        PlumeCustomerArgs(account_id="A-1", name="Alice", email="alice@example.org", adopt=True),
    )
    node = PlumeNode(
        "alice-gw",
        PlumeNodeArgs(
            customer_id=customer.customer_id,
            location_id=customer.location_id,
            serial_number="LAB-GW-0001",
            nickname="Gateway",
        ),
    )

    def verify(values: list[Any]) -> None:
        (cid, lid, account, name, created, adopt, gw, serial, mac, idx, node_cid, nick) = values
        assert (cid, lid, account, name, adopt) == ("cust-1", "loc-1", "A-1", "Alice", True)
        assert created == "2024-01-01T00:00:00Z"
        assert (gw, serial, mac, idx) == (True, "LAB-GW-0001", "aa:bb:cc:00:00:01", 3)
        assert (node_cid, nick) == ("cust-1", "Gateway")
        types = {typ: inputs for typ, _, inputs in cloud.created}
        # What the engine (and the provider) sees: the API's camelCase names, no placeholders.
        assert set(types[CUSTOMER_TYPE]) == {"accountId", "name", "email", "adopt", "__provider"}
        assert set(types[NODE_TYPE]) == {
            "customerId",
            "locationId",
            "serialNumber",
            "nickname",
            "__provider",
        }

    return pulumi.Output.all(
        customer.customer_id,
        customer.location_id,
        customer.account_id,
        customer.name,
        customer.created_at,
        customer.adopt,
        node.residential_gateway,
        node.serial_number,
        node.radio_mac24,
        node.backhaul_dhcp_pool_idx,
        node.customer_id,
        node.nickname,
    ).apply(verify)


def test_args_are_dataclasses_with_api_fields() -> None:
    args = PlumeCustomerArgs(account_id="A-1")
    assert args.partner_id is None
    assert args.profile is None
    node_args = PlumeNodeArgs(customer_id="c", location_id="l", serial_number="s")
    assert node_args.nickname is None


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_dict_of_snake_or_camel_case_fields_is_accepted_as_args(cloud: FakeCloud) -> Any:
    customer = PlumeCustomer("bob", {"account_id": "B-1", "acceptLanguage": "fr-FR"})
    node = PlumeNode(
        "bob-gw",
        {
            "customer_id": customer.customer_id,
            "location_id": customer.location_id,
            "serialNumber": "LAB-GW-0002",
        },
    )

    def verify(_: Any) -> None:
        types = {typ: inputs for typ, _, inputs in cloud.created}
        assert types[CUSTOMER_TYPE]["accountId"] == "B-1"
        assert types[CUSTOMER_TYPE]["acceptLanguage"] == "fr-FR"
        assert types[NODE_TYPE]["serialNumber"] == "LAB-GW-0002"

    return pulumi.Output.all(customer.customer_id, node.serial_number).apply(verify)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            {"acount_id": "A"},
            "PlumeCustomer 'x': unknown argument 'acount_id'; PlumeCustomerArgs has account_id, ",
            id="typo-in-a-dict-key",
        ),
        pytest.param(
            {"name": "Ada"},
            "PlumeCustomer 'x': missing required argument(s) account_id",
            id="dict-without-account-id",
        ),
        pytest.param(
            ["A-1"],
            "PlumeCustomer 'x': args must be a PlumeCustomerArgs or a dict of its fields, got list",
            id="a-list",
        ),
        pytest.param(
            PlumeNodeArgs(customer_id="c", location_id="l", serial_number="s"),
            "PlumeCustomer 'x': args must be a PlumeCustomerArgs, got a PlumeNodeArgs",
            id="the-other-resource's-args",
        ),
    ],
)
def test_wrong_args_say_what_is_expected(cloud: FakeCloud, args: Any, message: str) -> None:
    with pytest.raises(TypeError) as info:
        PlumeCustomer("x", args)
    assert str(info.value).startswith(message)
    assert "dataclass" not in str(info.value)
