"""Fleet files and rollout waves under the real CLI: the fleet comes from a CSV in the project,
raising `plume-fleet:wave` adds exactly the next wave, and lowering it is refused before any API
call (the previous wave is read back from the stack's own `wave` output) unless allowShrink."""

from __future__ import annotations

from plume_testkit.cli_lab import CliLab

FLEET_CSV = """Account ID,Name,E-mail,Wave,Serial Number,Nickname
W1-A,Wave One A,w1a@example.org,1,LAB-GW-0101,Hall
W1-B,Wave One B,w1b@example.org,1,,
W2-A,Wave Two A,w2a@example.org,2,LAB-GW-0102,Office
W2-A,,,,LAB-POD-0102,Attic
W2-B,Wave Two B,w2b@example.org,2,,
"""


def use_fleet_file(lab: CliLab, wave: int) -> None:
    fleets = lab.project / "fleets"
    fleets.mkdir(exist_ok=True)
    (fleets / "pilot.csv").write_text(FLEET_CSV)
    lab.config.pop("plume-fleet:customers", None)
    lab.config["plume-fleet:fleetFile"] = "fleets/pilot.csv"
    lab.config["plume-fleet:wave"] = wave


def test_waves_grow_one_at_a_time_and_never_shrink_silently(cli_lab: CliLab) -> None:
    use_fleet_file(cli_lab, wave=1)
    first = cli_lab.up()
    assert first.changes == {"create": 3}
    assert cli_lab.outputs()["wave"] == 1
    assert sorted(c["accountId"] for c in cli_lab.partner()["customers"]) == ["W1-A", "W1-B"]

    cli_lab.config["plume-fleet:wave"] = 2
    cli_lab.emulator.reset_stats()
    second = cli_lab.up()
    assert sorted(second.urns("create")) == sorted(
        [
            cli_lab.customer_urn("W2-A"),
            cli_lab.customer_urn("W2-B"),
            cli_lab.node_urn("LAB-GW-0102"),
            cli_lab.node_urn("LAB-POD-0102"),
        ]
    )
    assert second.changes == {"create": 4}
    assert cli_lab.mutating_calls()[("POST", "/api/Customers/register")] == 2
    assert cli_lab.outputs()["wave"] == 2

    cli_lab.config["plume-fleet:wave"] = 1
    cli_lab.emulator.reset_stats()
    refused = cli_lab.up(check=False)
    assert refused.returncode != 0
    assert "lowering the wave from 2 to 1 would destroy 2 customer(s)" in refused.output
    assert "W2-A, W2-B" in refused.output
    assert "allowShrink" in refused.output
    assert cli_lab.emulator.stats()["requests"] == []  # not even a token
    assert len(cli_lab.partner()["customers"]) == 4

    cli_lab.config["plume-fleet:allowShrink"] = True
    shrunk = cli_lab.up()
    assert sorted(shrunk.urns("delete")) == sorted(
        [
            cli_lab.customer_urn("W2-A"),
            cli_lab.customer_urn("W2-B"),
            cli_lab.node_urn("LAB-GW-0102"),
            cli_lab.node_urn("LAB-POD-0102"),
        ]
    )
    assert cli_lab.outputs()["wave"] == 1
