"""Fleet files and rollout waves under the real CLI: the fleet comes from a CSV in the project,
raising `plume-fleet:wave` adds exactly the next wave, and lowering it is refused before any API
call (the removal guard compares the fleet with what the stack manages now, a failed update's
creations included) unless the operator allows exactly that removal."""

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
    assert "still lists in a wave above plume-fleet:wave (W2-A, W2-B)" in refused.output
    assert "PLUME_FLEET_ALLOW_REMOVALS=2" in refused.output
    assert cli_lab.emulator.stats()["requests"] == []  # not even a token
    assert len(cli_lab.partner()["customers"]) == 4

    cli_lab.env["PLUME_FLEET_ALLOW_REMOVALS"] = "2"
    try:
        shrunk = cli_lab.up()
    finally:
        del cli_lab.env["PLUME_FLEET_ALLOW_REMOVALS"]
    assert sorted(shrunk.urns("delete")) == sorted(
        [
            cli_lab.customer_urn("W2-A"),
            cli_lab.customer_urn("W2-B"),
            cli_lab.node_urn("LAB-GW-0102"),
            cli_lab.node_urn("LAB-POD-0102"),
        ]
    )
    assert cli_lab.outputs()["wave"] == 1


def test_a_wave_that_failed_half_way_is_not_removed_by_lowering_the_wave(cli_lab: CliLab) -> None:
    """The failed update never wrote its `wave` output; the customers it created are in the
    state all the same, and lowering the wave back must not delete them."""
    use_fleet_file(cli_lab, wave=1)
    cli_lab.up()
    fleet = cli_lab.project / "fleets" / "pilot.csv"
    fleet.write_text(FLEET_CSV + "W2-C,Wave Two C,w2c@example.org,2,LAB-GW-9999,Den\n")

    cli_lab.config["plume-fleet:wave"] = 2
    failed = cli_lab.up(check=False)
    assert failed.returncode != 0
    assert cli_lab.outputs()["wave"] == 1  # the failed update wrote no outputs
    created = sorted(c["accountId"] for c in cli_lab.partner()["customers"])
    assert {"W2-A", "W2-B"} <= set(created)

    cli_lab.config["plume-fleet:wave"] = 1
    cli_lab.emulator.reset_stats()
    refused = cli_lab.up(check=False)
    assert refused.returncode != 0
    assert "still lists in a wave above plume-fleet:wave" in refused.output
    assert "W2-A" in refused.output
    assert cli_lab.emulator.stats()["requests"] == []
    assert sorted(c["accountId"] for c in cli_lab.partner()["customers"]) == created
