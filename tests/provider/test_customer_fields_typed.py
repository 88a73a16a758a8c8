"""The field tables are the only lists of customer and node fields: what type checkers read is held
equal to it, and no other module of plume_provider spells a customer field's API name."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from plume_provider.client.customer_fields import CUSTOMER_FIELDS
from plume_provider.client.models import CustomerRegistration, CustomerUpdate
from plume_provider.client.node_fields import NODE_FIELDS
from plume_provider.fleet.model import CustomerSpec
from plume_provider.resources.customer import PlumeCustomerArgs
from plume_provider.resources.node import PlumeNodeArgs

PACKAGE = Path(__file__).resolve().parents[2] / "plume_provider"


def _spelled(module: str, cls: str) -> list[str]:
    """The annotated attributes of class `cls` as written under `if TYPE_CHECKING:`."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            return [
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            ]
    raise AssertionError(f"{module} spells no class {cls}")


@pytest.mark.parametrize(
    ("module", "cls", "fields"),
    [
        ("client/models.py", "CustomerRegistration", CUSTOMER_FIELDS.registered),
        ("client/models.py", "CustomerUpdate", CUSTOMER_FIELDS.patched),
        ("fleet/model.py", "_CustomerFields", CUSTOMER_FIELDS.fleet),
        ("resources/customer.py", "PlumeCustomerArgs", CUSTOMER_FIELDS.inputs),
        ("resources/node.py", "PlumeNodeArgs", tuple(NODE_FIELDS)),
    ],
)
def test_what_type_checkers_read_is_the_table(module: str, cls: str, fields: tuple) -> None:
    assert _spelled(module, cls) == [f.attribute for f in fields]


def test_the_runtime_classes_are_built_from_the_table() -> None:
    assert list(CustomerRegistration.model_fields) == [
        f.attribute for f in CUSTOMER_FIELDS.registered
    ]
    assert list(CustomerUpdate.model_fields) == [f.attribute for f in CUSTOMER_FIELDS.patched]
    assert list(CustomerSpec.model_fields)[: len(CUSTOMER_FIELDS.fleet)] == [
        f.attribute for f in CUSTOMER_FIELDS.fleet
    ]
    assert list(PlumeCustomerArgs.__dataclass_fields__) == [
        f.attribute for f in CUSTOMER_FIELDS.inputs
    ]
    assert list(PlumeNodeArgs.__dataclass_fields__) == [f.attribute for f in NODE_FIELDS]


API_NAMES = {f.api for f in CUSTOMER_FIELDS if f.kind == "registered"} | {"createdAt"}
ALLOWED = {
    # another engineer's file: the search's query parameter, a 422 message's word and the
    # checkpoint call's input error (the API's own words for those calls)
    ("client/_client.py", "accountId"),
    ("client/_client.py", "email"),
    ("client/_client.py", "onboardingCheckpoint"),
    # an id kind of the path-segment rules, not the field
    ("client/identifiers.py", "accountId"),
    # the "name" of an error body, not the customer's
    ("client/_error_mapping.py", "name"),
    # a stack's "name" in `pulumi stack ls --json`
    ("reshard/pulumi_cli.py", "name"),
}


def test_no_module_but_the_table_spells_a_customer_field_s_api_name() -> None:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        module = path.relative_to(PACKAGE).as_posix()
        if module == "client/customer_fields.py":
            continue
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for token in tokens:
            if token.type == tokenize.STRING:
                try:
                    value = ast.literal_eval(token.string)
                except ValueError:
                    continue
                if value in API_NAMES:
                    found.add((module, value))
    assert found - ALLOWED == set()
