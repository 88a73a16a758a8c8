"""The error tree: one class per status, only the tree in `errors`, the deprecated
`ValidationError` and the names that moved out, pickling."""

from __future__ import annotations

import inspect
import pickle
import re
import warnings

import httpx
import pytest

import plume_provider
import plume_provider.client
from plume_provider.client import _budget, _error_mapping, errors, hints, operations
from plume_provider.client._error_mapping import make_error
from plume_provider.client.operations import Operation, OperationContext

CONTEXT = OperationContext(Operation.UPDATE_CUSTOMER, "update customer c1", {"customer_id": "c1"})


def answer(status: int, name: str = "", message: str = "") -> httpx.Response:
    body = {"error": {"statusCode": status, "name": name, "message": message}}
    return httpx.Response(status, json=body, request=httpx.Request("PATCH", "http://p/api/x"))


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitedError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_each_status_maps_to_exactly_its_class(status: int, cls: type[errors.ApiError]) -> None:
    err = make_error(answer(status), operation_context=CONTEXT)
    assert type(err) is cls
    assert err.status == status


def test_400_and_422_are_not_one_another() -> None:
    bad = make_error(answer(400), operation_context=CONTEXT)
    unprocessable = make_error(answer(422), operation_context=CONTEXT)
    assert not isinstance(bad, errors.UnprocessableEntityError)
    assert not isinstance(unprocessable, errors.BadRequestError)


def test_license_limit_is_an_unprocessable_entity() -> None:
    claim = OperationContext(Operation.CLAIM_NODE, "claim node S1", {"location_id": "l"})
    err = make_error(answer(422, message="exceeds numPodsAuthorized (32)"), operation_context=claim)
    assert type(err) is errors.LicenseLimitError
    assert isinstance(err, errors.UnprocessableEntityError)


def test_no_public_name_clashes_with_pydantic() -> None:
    for module in (plume_provider, plume_provider.client, errors):
        assert "ValidationError" not in module.__all__
        assert "ValidationError" not in vars(module)


@pytest.mark.parametrize("module", [plume_provider, plume_provider.client, errors])
def test_validation_error_still_resolves_with_a_deprecation_warning(module: object) -> None:
    with pytest.warns(DeprecationWarning, match="BadRequestError.*UnprocessableEntityError"):
        old = module.ValidationError  # type: ignore[attr-defined]
    assert old == (errors.BadRequestError, errors.UnprocessableEntityError)
    for status in (400, 422):
        with pytest.raises(old):
            raise make_error(answer(status), operation_context=CONTEXT)


def test_the_warning_points_at_the_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from plume_provider import ValidationError  # type: ignore[attr-defined]  # noqa: F401
    assert caught
    assert {w.filename for w in caught} == {__file__}


def test_unknown_names_are_still_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="NoSuchError"):
        _ = plume_provider.NoSuchError  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="NoSuchError"):
        _ = errors.NoSuchError  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [400, 403, 409, 422, 429, 503])
def test_errors_survive_pickling_with_class_and_fields(status: int) -> None:
    err = make_error(answer(status, message="why"), operation_context=CONTEXT)
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is type(err)
    assert str(clone) == str(err)
    assert (clone.status, clone.api_message, clone.hint) == (status, "why", err.hint)


def test_errors_defines_the_tree_and_nothing_else() -> None:
    defined = {
        name: value
        for name, value in vars(errors).items()
        if getattr(value, "__module__", None) == errors.__name__ and not name.startswith("_")
    }
    classes = {name for name, value in defined.items() if inspect.isclass(value)}
    assert set(errors.__all__) == classes
    assert all(issubclass(defined[name], errors.PlumeError) for name in classes)
    assert set(defined) - classes == {"deprecated_names"}


def test_the_docstring_draws_every_class_of_the_tree() -> None:
    tree = (errors.__doc__ or "").split("```")[1]
    drawn = re.findall(r"(?:^|── )([A-Z]\w*Error)\b", tree, re.MULTILINE)
    assert sorted(drawn) == sorted(errors.__all__)
    for name in drawn:
        parent = inspect.getmro(getattr(errors, name))[1].__name__
        line = next(line for line in tree.splitlines() if re.search(rf"\b{name}\b", line))
        assert parent == "Exception" or tree.index(parent) < tree.index(line), name


def test_the_rate_budget_error_is_in_the_tree_and_where_it_was() -> None:
    cls = errors.RateBudgetUnavailableError
    assert issubclass(cls, errors.ConfigurationError)
    assert _budget.RateBudgetUnavailableError is cls
    assert plume_provider.client.RateBudgetUnavailableError is cls
    assert plume_provider.RateBudgetUnavailableError is cls


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (0, "the Redis is unreachable; nothing was sent to Plume: start it"),
        (
            3,
            "the Redis is unreachable; this request was not sent to Plume (3 earlier "
            "request(s) of this process were): start it",
        ),
    ],
)
def test_the_rate_budget_error_says_what_was_sent_and_survives_pickling(
    sent: int, message: str
) -> None:
    err = errors.RateBudgetUnavailableError("the Redis is unreachable", "start it").after(sent)
    clone = pickle.loads(pickle.dumps(err))
    assert str(err) == str(clone) == message
    assert (clone.problem, clone.next_step, clone.sent) == (
        "the Redis is unreachable",
        "start it",
        sent,
    )


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("make_error", _error_mapping),
        ("make_transport_error", _error_mapping),
        ("is_rate_limited", _error_mapping),
        ("OperationContext", operations),
        ("account_taken_hint", hints),
    ],
)
def test_names_that_moved_out_still_resolve_from_errors(name: str, home: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(errors, name) is getattr(home, name)


def test_an_operation_given_as_a_string_is_checked_where_it_is_written() -> None:
    assert OperationContext("claim_node", "claim node S1").operation is Operation.CLAIM_NODE  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="claim_nodes"):
        OperationContext("claim_nodes", "claim node S1")  # type: ignore[arg-type]


def test_the_operation_survives_pickling() -> None:
    clone = pickle.loads(pickle.dumps(make_error(answer(409), operation_context=CONTEXT)))
    assert clone.operation == "update_customer"
    assert clone.operation is Operation.UPDATE_CUSTOMER
