"""The error tree: one class per status, the deprecated `ValidationError`, pickling."""

from __future__ import annotations

import pickle
import warnings

import httpx
import pytest

import plume_provider
import plume_provider.client
from plume_provider.client import errors

CONTEXT = errors.OperationContext("update_customer", "update customer c1", {"customer_id": "c1"})


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
    err = errors.make_error(answer(status), operation_context=CONTEXT)
    assert type(err) is cls
    assert err.status == status


def test_400_and_422_are_not_one_another() -> None:
    bad = errors.make_error(answer(400), operation_context=CONTEXT)
    unprocessable = errors.make_error(answer(422), operation_context=CONTEXT)
    assert not isinstance(bad, errors.UnprocessableEntityError)
    assert not isinstance(unprocessable, errors.BadRequestError)


def test_license_limit_is_an_unprocessable_entity() -> None:
    claim = errors.OperationContext("claim_node", "claim node S1", {"location_id": "l"})
    err = errors.make_error(
        answer(422, message="exceeds numPodsAuthorized (32)"), operation_context=claim
    )
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
            raise errors.make_error(answer(status), operation_context=CONTEXT)


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
    err = errors.make_error(answer(status, message="why"), operation_context=CONTEXT)
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is type(err)
    assert str(clone) == str(err)
    assert (clone.status, clone.api_message, clone.hint) == (status, "why", err.hint)
