"""The program refuses a Pulumi CLI older than replacement_trigger needs (issue 20, point 14)."""

import pytest

from infra.cli_version import MIN_PULUMI_CLI, CliTooOld
from infra.offline import PINNED_CLI, run_offline

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"


@pytest.mark.parametrize(
    "cli_version",
    [
        None,  # before 3.217 the engine has no RequirePulumiVersion
        "3.207.0",  # drops replacement_trigger silently
        "3.225.0",  # replaces spuriously when the trigger is an output (pulumi#22119)
    ],
)
def test_an_older_cli_is_refused_with_one_line_naming_the_version(cli_version: str | None) -> None:
    with pytest.raises(CliTooOld) as caught:
        run_offline({}, "dev", cli_version=cli_version)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("this program needs the Pulumi CLI 3.226.0 or newer")


@pytest.mark.parametrize("cli_version", [MIN_PULUMI_CLI, PINNED_CLI])
def test_the_minimum_and_the_pinned_cli_run_the_program(cli_version: str) -> None:
    assert run_offline({}, "dev", cli_version=cli_version).of_type(CLUSTER)


def test_the_pinned_cli_is_not_older_than_the_minimum() -> None:
    def release(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    assert release(PINNED_CLI) >= release(MIN_PULUMI_CLI)
