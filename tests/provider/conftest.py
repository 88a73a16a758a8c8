"""Fixtures of the resource tests: providers configured like the host does, against a fresh
emulator (from the suite's `emulator` / `lab_credentials` fixtures)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client import PlumeClient
from plume_provider.client.settings import PlumeSettings
from plume_provider.resources import CustomerProvider, NodeProvider
from plume_provider.resources.base import PlumeProviderBase

P = TypeVar("P", bound=PlumeProviderBase)


def stack_config(creds: LabCredentials, **extra: str) -> dict[str, str]:
    """The stack config a lab stack would carry (`plume:*`), limiter off for fast tests."""
    return {
        "plume:apiUrl": creds.api_url,
        "plume:tokenUrl": creds.token_url,
        "plume:authHeader": creds.auth_header,
        "plume:partnerId": creds.partner_id,
        "plume:requestsPerSecond": "0",
        **extra,
    }


def configure(provider: P, config: dict[str, str]) -> P:
    """Configure `provider` exactly as `python -m pulumi.dynamic` does."""
    provider.configure(ConfigureRequest(Config(raw_config=config, project_name="plume-fleet")))
    return provider


@pytest.fixture
def config(lab_credentials: LabCredentials) -> dict[str, str]:
    return stack_config(lab_credentials)


@pytest.fixture
def customers(config: dict[str, str]) -> Iterator[CustomerProvider]:
    provider = configure(CustomerProvider(), config)
    yield provider
    provider.close()


@pytest.fixture
def nodes(config: dict[str, str]) -> Iterator[NodeProvider]:
    provider = configure(NodeProvider(), config)
    yield provider
    provider.close()


@pytest.fixture
def plume(lab_credentials: LabCredentials) -> Iterator[PlumeClient]:
    """A separate client: what another tool (Frontline, a technician) does out of band."""
    settings = PlumeSettings(
        api_url=lab_credentials.api_url,
        token_url=lab_credentials.token_url,
        client_id=lab_credentials.client_id,
        client_secret=lab_credentials.client_secret,
        partner_id=lab_credentials.partner_id,
        requests_per_second=0,
    )
    with PlumeClient(settings) as client:
        yield client


_accounts = itertools.count(1)


@pytest.fixture
def account_id() -> Callable[[], str]:
    """Unique CRM account ids."""
    return lambda: f"CRM-{os.getpid()}-{next(_accounts):05d}"


def calls(emulator: EmulatorServer) -> dict[tuple[str, str], int]:
    """API requests served so far, by (method, route template); control routes left out."""
    counts: dict[tuple[str, str], int] = {}
    for row in emulator.stats()["requests"]:
        if row["route"].startswith("/api"):
            key = (row["method"], row["route"])
            counts[key] = counts.get(key, 0) + int(row["count"])
    return counts


def customer_props(account: str, **extra: Any) -> dict[str, Any]:
    """Checked inputs of a customer (what the engine passes to create)."""
    return {
        "accountId": account,
        "partnerId": "lab-partner",
        "name": "Alice Example",
        "profile": "auto",
        "acceptLanguage": "en-US",
        **extra,
    }
