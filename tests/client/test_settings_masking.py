"""A Redis password never appears in a settings error: a mistyped scope URL is echoed with its
password masked, whether the password sits in the user-info part or in the query."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plume_provider.client.settings import PlumeSettings, masked_url, url_password

CANARY = "canary-Pw93kQ"


@pytest.mark.parametrize(
    "scope",
    [f"rediss//:{CANARY}@redis.example.org/0", f"redis:/x/0?password={CANARY}&db=0"],
)
def test_a_mistyped_scope_url_is_echoed_without_its_password(scope: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PlumeSettings.from_values(rate_limit_scope=scope)
    (error,) = caught.value.errors(include_input=False)
    assert error["loc"] == ("rate_limit_scope",)
    assert CANARY not in error["msg"]
    assert "***" in error["msg"]


@pytest.mark.parametrize(
    ("url", "password"),
    [
        (f"redis://:{CANARY}@host:6379/0", CANARY),
        (f"redis://user:{CANARY}@host/0", CANARY),
        (f"redis://host/0?password={CANARY}", CANARY),
        ("redis://host:6379/0", None),
        ("redis://[bad/0", None),
    ],
)
def test_url_password_finds_user_info_and_query_passwords(url: str, password: str | None) -> None:
    assert url_password(url) == password
    if password is not None:
        assert CANARY not in masked_url(url)
        assert "***" in masked_url(url)
