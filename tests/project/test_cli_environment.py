"""`cli_environment`, what rollout and reshard run the CLI with: on a PostgreSQL backend, named
by `PULUMI_BACKEND_URL` or by the login in `PULUMI_HOME`, the listing kept to one worker and the
state zstd-compressed, unless the operator chose otherwise; any other backend untouched."""

from __future__ import annotations

import json
from pathlib import Path

from plume_provider.fleet.stack_state import backend_url, cli_environment

POSTGRES = "postgres://pulumi@db.example.org:5432/pulumi?sslmode=require"


def logged_in(home: Path, url: str) -> dict[str, str]:
    """The environment of a `pulumi login <url>` done with `PULUMI_HOME=home`."""
    home.mkdir(exist_ok=True)
    (home / "credentials.json").write_text(json.dumps({"current": url, "accessTokens": {}}))
    return {"PULUMI_HOME": str(home)}


def test_on_postgres_by_url_the_listing_has_one_worker_and_the_state_is_compressed() -> None:
    env = cli_environment({"PULUMI_BACKEND_URL": POSTGRES})
    assert env["PULUMI_DIY_BACKEND_PARALLEL"] == "1"
    assert env["PULUMI_DIY_BACKEND_ZSTD"] == "true"


def test_on_postgres_by_login_the_same_settings_apply(tmp_path: Path) -> None:
    env = logged_in(tmp_path / "home", POSTGRES)
    assert backend_url(env) == POSTGRES
    chosen = cli_environment(env)
    assert chosen["PULUMI_DIY_BACKEND_PARALLEL"] == "1"
    assert chosen["PULUMI_DIY_BACKEND_ZSTD"] == "true"


def test_the_operator_s_own_choices_win() -> None:
    gzip = cli_environment({"PULUMI_BACKEND_URL": POSTGRES, "PULUMI_DIY_BACKEND_GZIP": "true"})
    assert "PULUMI_DIY_BACKEND_ZSTD" not in gzip  # both at once is an error of the CLI's
    plain = cli_environment({"PULUMI_BACKEND_URL": POSTGRES, "PULUMI_DIY_BACKEND_ZSTD": "false"})
    assert plain["PULUMI_DIY_BACKEND_ZSTD"] == "false"
    workers = cli_environment({"PULUMI_BACKEND_URL": POSTGRES, "PULUMI_DIY_BACKEND_PARALLEL": "4"})
    assert workers["PULUMI_DIY_BACKEND_PARALLEL"] == "4"


def test_other_backends_are_left_as_they_are(tmp_path: Path) -> None:
    file_backend = {"PULUMI_BACKEND_URL": f"file://{tmp_path}?metadata=skip"}
    assert cli_environment(file_backend) == file_backend
    s3 = logged_in(tmp_path / "home", "s3://plume-state?region=eu-west-1")
    assert cli_environment(s3) == s3
    nowhere = {"PULUMI_HOME": str(tmp_path / "no-login")}
    assert backend_url(nowhere) == ""
    assert cli_environment(nowhere) == nowhere
