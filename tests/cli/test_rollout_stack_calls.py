"""Under the real CLI: what one stack of a rollout costs in CLI runs. A stack's `up`, `refresh`
and `destroy` on the Automation API run the stack's selection and the command itself, and none
of the SDK's follow-up reads (`stack output` twice, `stack history`), each of which would be
one more CLI start and a load of the whole state from the backend, per stack of a rollout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi import automation as auto

from plume_provider.rollout.runner import SessionCommand, StackProgress, Verb, run_stack
from plume_testkit.cli_lab import CliLab
from plume_testkit.lab_fleet import CUSTOMER_TYPE, NODE_TYPE


class RecordingCommand(SessionCommand):
    """The real CLI, each run's arguments kept."""

    def __init__(self, root: str) -> None:
        super().__init__(root=root)
        self.calls: list[list[str]] = []

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Callable[[str], Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> auto.CommandResult:
        self.calls.append(list(args))
        return super().run(args, cwd, additional_env, on_output, on_error)


def test_a_rollout_stack_runs_its_command_and_no_follow_up_read(cli_lab: CliLab) -> None:
    command = RecordingCommand(root=str(cli_lab.cli.parent.parent))
    cli_lab.write_config()
    verbs: tuple[Verb, ...] = ("up", "refresh", "destroy")
    done: dict[str, int] = {}
    for verb in verbs:
        progress = StackProgress(cli_lab.stack, customers=len(cli_lab.customers))
        command.calls.clear()
        run_stack(verb, progress, cli_lab.project, command, cli_lab.env)
        assert progress.state == "done", progress.error
        assert [call[:2] for call in command.calls[:1]] == [["stack", "select"]]
        assert [call[0] for call in command.calls[1:]] == [verb], command.calls
        done[verb] = progress.customers_done
        if verb == "up":
            assert {urn.split("::")[2] for urn in cli_lab.resources()} == {CUSTOMER_TYPE, NODE_TYPE}
    assert done["up"] == len(cli_lab.customers)
    assert cli_lab.resources() == {}
