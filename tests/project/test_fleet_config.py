"""The fleet config a stack declares: every shipped stack loads, and every kind of mistake is
reported with its path, all at once, before any resource exists."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from plume_provider.client.errors import InputValidationError
from plume_provider.fleet import FLEET_CONFIG_KEYS, FleetConfigError, load_fleet

REPO = Path(__file__).resolve().parents[2]


def stack_fleet_config(stack: str) -> dict[str, str | None]:
    """The fleet keys of a shipped stack file, as Pulumi hands them to the program (JSON text)."""
    config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    raw: dict[str, str | None] = {}
    for key in FLEET_CONFIG_KEYS:
        value = config.get(f"plume-fleet:{key}")
        raw[key] = None if value is None else json.dumps(value)
    return raw


def problems_of(customers: Any, **extra: Any) -> list[str]:
    config = {"customers": json.dumps(customers)}
    config.update({key: json.dumps(value) for key, value in extra.items()})
    with pytest.raises(FleetConfigError) as caught:
        load_fleet(config)
    return caught.value.problems


@pytest.mark.parametrize("stack", ["lab", "staging", "pilot"])
def test_shipped_stacks_load(stack: str) -> None:
    fleet = load_fleet(stack_fleet_config(stack))
    assert fleet.customers, f"stack {stack} declares no customer"


def test_lab_stack_is_three_customers_seven_nodes_with_a_gateway_each_and_a_pack() -> None:
    fleet = load_fleet(stack_fleet_config("lab"))
    serials = [node.serial_number for c in fleet.customers for node in c.nodes]
    assert len(fleet.customers) == 3
    assert len(serials) == 7
    for customer in fleet.customers:
        assert any(node.serial_number.startswith("LAB-GW-") for node in customer.nodes)
    assert {"LAB-PK01-1", "LAB-PK01-2", "LAB-PK01-3"} <= set(serials)


def test_pilot_stack_protects_customers() -> None:
    fleet = load_fleet(stack_fleet_config("pilot"))
    assert fleet.protect is True


def test_defaults_are_filled_so_diffs_stay_stable() -> None:
    fleet = load_fleet({"customers": json.dumps([{"accountId": "A-1"}])})
    customer = fleet.customers[0]
    assert (customer.profile, customer.accept_language, customer.adopt) == ("auto", "en-US", False)
    assert customer.nodes == []
    assert (fleet.protect, fleet.retain_on_delete) == (False, False)


def test_no_config_is_an_empty_fleet() -> None:
    assert load_fleet({}).customers == []


@pytest.mark.parametrize(
    ("customers", "expected"),
    [
        pytest.param(
            [{"accountId": "A-1", "nodes": [{"serialNumber": ""}]}],
            "customers[0].nodes[0].serialNumber: serial number must not be empty",
            id="empty-serial",
        ),
        pytest.param(
            [{"accountId": "A-1", "nodes": [{"serialNumber": "LAB/GW"}]}],
            "customers[0].nodes[0].serialNumber: serial number must not contain '/'",
            id="serial-with-slash",
        ),
        pytest.param(
            [{"accountId": "A\u201c1\u201d"}],
            "customers[0].accountId: must not contain the quote characters",
            id="curly-quotes-in-accountId",
        ),
        pytest.param(
            [{"accountId": "A-1", "name": 'The "Boss"'}],
            "customers[0].name: must not contain the quote characters",
            id="ascii-quote-in-name",
        ),
        pytest.param(
            [{"accountId": "A-1", "email": "not-an-email"}],
            "customers[0].email: is not a well-formed email address",
            id="bad-email",
        ),
        pytest.param(
            [{"accountId": "A-1", "profile": "enterprise"}],
            "customers[0].profile:",
            id="unknown-profile",
        ),
        pytest.param(
            [{"accountId": "A-1", "onboardingCheckpoint": "Done"}],
            "customers[0].onboardingCheckpoint:",
            id="unknown-checkpoint",
        ),
        pytest.param(
            [{"accountId": "A-1", "acceptLanguage": "english"}],
            "customers[0].acceptLanguage: must look like 'en-US'",
            id="bad-accept-language",
        ),
        pytest.param(
            [{"accountId": "A-1", "name": "x" * 10_000}],
            "customers[0].name: must be at most 255 characters",
            id="10kb-name",
        ),
        pytest.param(
            [{"accountId": "A-1", "adopt": "yes"}],
            "customers[0].adopt: Input should be a valid boolean",
            id="adopt-not-a-bool",
        ),
        pytest.param(
            [{"accountId": 12345}],
            "customers[0].accountId: Input should be a valid string",
            id="accountId-wrong-type",
        ),
        pytest.param(
            [{"name": "No Account"}],
            "customers[0].accountId: Field required",
            id="missing-accountId",
        ),
        pytest.param(
            [{"accountId": "A-1", "nodes": [{"serialNumber": "LAB-GW-0001", "serial": "x"}]}],
            "customers[0].nodes[0].serial: unknown key 'serial' (did you mean 'serialNumber'?); "
            "expected one of serialNumber, nickname",
            id="unknown-node-key",
        ),
        pytest.param(
            [{"accountId": "A-1", "accountID": "typo"}],
            "customers[0].accountID: unknown key 'accountID' (did you mean 'accountId'?); "
            "expected one of accountId, name, email, profile, acceptLanguage, "
            "onboardingCheckpoint, adopt, importId, protect, wave, shard, nodes",
            id="unknown-customer-key",
        ),
        pytest.param(
            {"accountId": "A-1"},
            "customers: Input should be a valid list",
            id="customers-not-a-list",
        ),
        pytest.param(
            [{"accountId": "A-1"}, {"accountId": "A-1"}],
            "customers[1].accountId: accountId 'A-1' is already declared at customers[0].accountId",
            id="duplicate-accountId",
        ),
        pytest.param(
            [
                {"accountId": "A-1", "nodes": [{"serialNumber": "LAB-GW-0001"}]},
                {"accountId": "A-2", "nodes": [{"serialNumber": "LAB-GW-0001"}]},
            ],
            "customers[1].nodes[0].serialNumber: serial 'LAB-GW-0001' is already declared at "
            "customers[0].nodes[0].serialNumber",
            id="serial-declared-twice",
        ),
        pytest.param(
            [{"accountId": "A1"}, {"accountId": "a1"}],
            "customers[1].accountId: accountId 'a1' is already declared at "
            "customers[0].accountId as 'A1'",
            id="accountId-differing-only-in-case",
        ),
        pytest.param(
            [{"accountId": "A1"}, {"accountId": " A1"}],
            "customers[1].accountId: accountId ' A1' is already declared at "
            "customers[0].accountId as 'A1'",
            id="accountId-differing-only-in-surrounding-blanks",
        ),
        pytest.param(
            [
                {"accountId": "A-1", "email": "pat@example.org"},
                {"accountId": "A-2", "email": "Pat@Example.org"},
            ],
            "customers[1].email: email 'Pat@Example.org' is already declared at "
            "customers[0].email as 'pat@example.org'",
            id="email-declared-twice-in-another-case",
        ),
    ],
)
def test_each_mistake_names_its_path(customers: Any, expected: str) -> None:
    problems = problems_of(customers)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_is_listed_at_once() -> None:
    customers = [
        {"accountId": 'A"1', "email": "nope", "nodes": [{"serialNumber": "X/1"}]},
        {"accountId": "A-2", "nodes": [{"serialNumber": "LAB-GW-0001"}]},
        {"accountId": "A-2", "nodes": [{"serialNumber": "LAB-GW-0001"}]},
    ]
    problems = problems_of(customers, protect="yes")
    paths = {problem.split(": ", 1)[0] for problem in problems}
    assert paths == {
        "customers[0].accountId",
        "customers[0].email",
        "customers[0].nodes[0].serialNumber",
        "customers[2].accountId",
        "customers[2].nodes[0].serialNumber",
        "protect",
    }


def test_error_is_an_input_error_that_says_where_to_fix_it() -> None:
    with pytest.raises(InputValidationError) as caught:
        load_fleet({"customers": json.dumps([{"accountId": ""}])})
    message = str(caught.value)
    assert "stacks/Pulumi.<stack>.yaml" in message
    assert "customers[0].accountId" in message


def test_error_survives_pickling_for_the_provider_host() -> None:
    error = FleetConfigError(["customers[0].email: bad"])
    clone = pickle.loads(pickle.dumps(error))
    assert clone.problems == error.problems
    assert str(clone) == str(error)


def test_non_json_config_text_is_reported_not_crashed_on() -> None:
    with pytest.raises(FleetConfigError) as caught:
        load_fleet({"customers": "[not json"})
    assert caught.value.problems == ["customers: Input should be a valid list"]


def test_a_typo_in_a_top_level_fleet_key_is_reported_not_ignored() -> None:
    with pytest.raises(FleetConfigError) as caught:
        load_fleet({"customer": json.dumps([{"accountId": "A-1"}])})
    assert caught.value.problems == [
        "plume-fleet:customer: unknown key 'customer' (did you mean 'customers'?); "
        "expected one of customers, fleetFile, protect, retainOnDelete, wave, shard, allowRemovals"
    ]


@pytest.mark.parametrize("field", ["accountId", "name"])
def test_a_5000_digit_number_is_a_clean_validation_message(field: str) -> None:
    customer = '{"accountId": "A-1", "%s": %s}' % (field, "9" * 5000)  # noqa: UP031
    with pytest.raises(FleetConfigError) as caught:
        load_fleet({"customers": f"[{customer}]"})
    assert caught.value.problems == [
        f"customers[0].{field}: is <a 5000-digit number>, not a valid value; check the value "
        "(quote it if it is meant as text)"
    ]
    assert "set_int_max_str_digits" not in str(caught.value)


def test_a_lone_surrogate_is_called_what_it_is_not_a_control_character() -> None:
    problems = problems_of([{"accountId": "A-1", "name": "Ada \ud800"}])
    assert problems == [
        "customers[0].name: must contain only printable characters; it contains a lone "
        "surrogate U+D800, half of a UTF-16 pair and not a character (it cannot be sent as "
        "UTF-8; the text was probably decoded wrongly)"
    ]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("Ada\u0007", "the control character U+0007", id="bell"),
        pytest.param("Ada\u00a0L", "the whitespace character U+00A0 (NO-BREAK SPACE)", id="nbsp"),
        pytest.param("Ada\u200bL", "the invisible character ZERO WIDTH SPACE (U+200B)", id="zwsp"),
    ],
)
def test_an_unprintable_character_is_named_with_its_code_point(text: str, named: str) -> None:
    problems = problems_of([{"accountId": "A-1", "name": text}])
    assert len(problems) == 1
    assert named in problems[0]
