"""Request body shapes (field names and types only; the backend owns the value rules).

``extra="forbid"`` everywhere: an unknown field is a client bug worth a 422.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """Base for request bodies: strict field set."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterBody(Body):
    """``POST /Customers/register``."""

    accountId: str
    partnerId: str
    email: str | None = None
    name: str | None = None
    profile: str | None = None
    acceptLanguage: str | None = None
    onboardingCheckpoint: str | None = None
    password: str | None = None


class CustomerPatch(Body):
    """``PATCH /Customers/{customerId}``: any of accountId, name, email."""

    accountId: str | None = None
    name: str | None = None
    email: str | None = None


class ClaimBody(Body):
    """``POST .../nodes``."""

    serialNumber: str
    nickname: str | None = None


class RenameBody(Body):
    """``PUT .../nodes/{nodeId}``."""

    nickname: str


class CheckpointBody(Body):
    """``POST .../onboardingCheckpoint``."""

    checkpoint: str


class FaultRuleBody(Body):
    """One fault rule of ``POST /_emulator/faults``."""

    model_config = ConfigDict(extra="forbid", strict=False)

    method: str = "*"
    path: str = Field(min_length=1)
    status: int | None = Field(default=None, ge=200, le=599)  # 1xx is not a final answer
    times: int | None = Field(default=None, ge=1)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    apply: bool = False
    delay_ms: int = Field(default=0, ge=0, le=600_000)
    drop: bool = False
    headers: dict[str, str] = {}


class FaultsBody(Body):
    """``POST /_emulator/faults``: the new rule set (replaces the old one)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    rules: list[FaultRuleBody]


class MintTokenBody(Body):
    """``POST /_emulator/tokens``: sign a token with chosen claims (for expiry/scope tests)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    partnerId: str | None = "lab-partner"
    client_id: str = "lab-client"
    expires_in: int = 600
    scope: str | None = None
