"""The pickled `__provider`: stable module paths, plain data only, never a secret."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client import _auth as auth
from plume_provider.resources import CustomerProvider, NodeProvider
from plume_provider.resources.base import STATE_FORMAT, PlumeProviderBase

from .conftest import configure, customer_props

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("fixture", "cls"),
    [("customer_provider_v1.b64", CustomerProvider), ("node_provider_v1.b64", NodeProvider)],
)
def test_recorded_provider_blob_still_loads(fixture: str, cls: type[PlumeProviderBase]) -> None:
    """A stack written by version 1 must still load: renaming or moving a provider fails here.

    Changing what `__getstate__` writes on purpose means a new fixture (v2) beside this one,
    and a `__setstate__` that still reads v1.
    """
    blob = (FIXTURES / fixture).read_text().strip()
    provider = dill.loads(base64.b64decode(blob))
    assert type(provider) is cls
    assert provider.__getstate__() == {"format": STATE_FORMAT}
    assert provider._client is None
    # ... and the current version still writes the same bytes (so no diff on `__provider`).
    assert serialize_provider(cls()) == blob


def test_serialization_is_deterministic_and_ignores_runtime_state(
    customers: CustomerProvider, account_id: Callable[[], str]
) -> None:
    fresh = serialize_provider(CustomerProvider())
    customers.create(customer_props(account_id()))  # settings, client and token exist now
    assert customers._client is not None
    assert serialize_provider(customers) == fresh
    clone = dill.loads(base64.b64decode(fresh))
    assert clone._client is None
    assert clone._settings is None
    assert clone._config is None


def _decoded(text: str) -> str:
    return base64.b64decode(text).decode("latin-1")


def test_no_secret_in_provider_blob_or_outputs(
    emulator: EmulatorServer,
    lab_credentials: LabCredentials,
    monkeypatch: pytest.MonkeyPatch,
    account_id: Callable[[], str],
) -> None:
    creds = lab_credentials
    # Credentials everywhere the provider may read them: environment and stack config.
    monkeypatch.setenv("PLUME_CLIENT_ID", creds.client_id)
    monkeypatch.setenv("PLUME_CLIENT_SECRET", creds.client_secret)
    monkeypatch.setenv("PLUME_AUTH_HEADER", creds.auth_header)
    config = {
        "plume:apiUrl": creds.api_url,
        "plume:tokenUrl": creds.token_url,
        "plume:clientId": creds.client_id,
        "plume:clientSecret": creds.client_secret,
        "plume:authHeader": creds.auth_header,
        "plume:partnerId": creds.partner_id,
        "plume:requestsPerSecond": "0",
    }
    provider = configure(CustomerProvider(), config)
    blobs = [serialize_provider(provider)]
    outs = provider.create(customer_props(account_id())).outs or {}
    blobs.append(serialize_provider(provider))
    assert emulator.stats()["tokens_issued"] >= 1
    tokens = [slot.token.value for slot in auth._slots.values() if slot.token is not None]
    assert tokens, "the provider should have fetched a token"

    basic = creds.auth_header.removeprefix("Basic ")
    secrets = [creds.client_secret, creds.auth_header, basic, *tokens]
    texts = [_decoded(blob) for blob in blobs] + [json.dumps(outs)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    # Nor anything of the credentials in a form the pickle could hide them in.
    for blob in blobs:
        assert b"lab-client" not in base64.b64decode(blob)
        assert b"httpx" not in base64.b64decode(blob)
