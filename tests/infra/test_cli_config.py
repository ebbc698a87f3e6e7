"""Stack config loaded as the Pulumi CLI loads it (infra.cli_config), and every tracked stack file
run through the program on exactly that config."""

from pathlib import Path

import pytest

from infra.cli_config import (
    StackConfigError,
    apply_project_config,
    config_string,
    load_project,
    load_stack,
    read_stack_file,
    resolve_plain,
)
from infra.offline import run_offline
from infra.settings import PROJECT, SettingsError
from tests.support import REPO_ROOT

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
# What the setup sets with `pulumi config set --secret` before the first `pulumi up`.
SETUP_SECRETS = {
    "digitalocean:token": "dop_v1_offline",
    "alertSlackWebhookUrl": "https://hooks.slack.com/services/T0/B0/offline",
}
TRACKED_STACKS = sorted(
    path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    for path in REPO_ROOT.glob("Pulumi.*.yaml")
)
# The resource each stack exists for.
DECLARES = {"account": REGISTRY, "dev": CLUSTER, "prod": CLUSTER, "local": APPLICATION}


def test_the_tracked_stack_files_are_the_known_ones() -> None:
    assert sorted(DECLARES) == TRACKED_STACKS


@pytest.mark.parametrize("stack", TRACKED_STACKS)
def test_each_tracked_stack_file_declares_its_resources_as_pulumi_up_runs_it(stack: str) -> None:
    config = load_stack(stack, REPO_ROOT, SETUP_SECRETS)
    # Every Pulumi.yaml default reaches the program, as the CLI merges them.
    declared = load_project(REPO_ROOT).config
    assert {f"{PROJECT}:{key}" for key in declared} <= set(config.values)
    run = run_offline(config, stack)
    assert run.of_type(DECLARES[stack])
    assert run.outputs


def write(tmp_path: Path, stack: str, text: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((REPO_ROOT / "Pulumi.yaml").read_text())
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text)
    return path


def test_defaults_fill_what_the_stack_file_leaves_out(tmp_path: Path) -> None:
    write(tmp_path, "mine", "config:\n  spark-doks:executorInstances: 3\n")
    values = load_stack("mine", tmp_path).of(PROJECT)
    assert values["executorInstances"] == "3"
    assert values["systemNodeCount"] == "2" and values["haControlPlane"] == "false"
    assert values["registryTier"] == "" and values["target"] == "digitalocean"


def test_a_project_key_without_default_is_required_with_the_clis_message(tmp_path: Path) -> None:
    project = load_project(REPO_ROOT)
    project.config["needed"] = type(project.config["region"])(type="string")
    project.config["alsoNeeded"] = type(project.config["region"])(type="integer")
    stack = read_stack_file(write(tmp_path, "mine", "config: {}\n"), project)
    with pytest.raises(StackConfigError) as caught:
        apply_project_config(project, "mine", stack)
    assert str(caught.value) == (
        "validating stack config: Stack 'mine' is missing configuration values "
        "'alsoNeeded' and 'needed'"
    )


@pytest.mark.parametrize(
    ("written", "passed"),
    [
        ("1.30", "1.3"),  # a float to YAML: the quoting trap of kubernetesVersion
        ("1.0", "1"),  # Go's JSON number, not Python's 1.0
        ("1e3", "1000"),  # yaml.v3 reads it as a number (PyYAML: a string)
        ("yes", "yes"),  # YAML 1.2: a string (PyYAML: true)
        ("True", "true"),
        ("0x10", "16"),
        ("0o10", "8"),
        ("010", "8"),
        ("1_000", "1000"),
        ("1:30", "1:30"),  # no sexagesimal (PyYAML: 90)
        ("~", ""),
        ("'1.30'", "1.30"),
        ('"yes"', "yes"),
    ],
)
def test_values_arrive_as_the_cli_passes_them(tmp_path: Path, written: str, passed: str) -> None:
    write(tmp_path, "mine", f"config:\n  spark-doks:runId: {written}\n")
    assert load_stack("mine", tmp_path).of(PROJECT)["runId"] == passed


def test_float_formatting_follows_go() -> None:
    assert [config_string(resolve_plain(text)) for text in ("1e21", "1e-7", ".5", "-0")] == [
        "1e+21",
        "1e-7",
        "0.5",
        "0",
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("spark-doks:systemNodeCount: two", "'systemNodeCount' must be of type 'integer'"),
        ("spark-doks:systemNodeCount: 2.5", "'systemNodeCount' must be of type 'integer'"),
        ("spark-doks:protect: yes", "'protect' must be of type 'boolean'"),
        ("spark-doks:protect: 'True'", "'protect' must be of type 'boolean'"),
    ],
)
def test_the_clis_type_checks_refuse_before_the_program_runs(
    tmp_path: Path, written: str, message: str
) -> None:
    write(tmp_path, "mine", f"config:\n  {written}\n")
    with pytest.raises(StackConfigError, match=message):
        load_stack("mine", tmp_path)


def test_render_and_mocks_see_the_same_values(tmp_path: Path) -> None:
    write(tmp_path, "mine", "config:\n  spark-doks:protect: True\n  spark-doks:minNodes: 0x1\n")
    values = load_stack("mine", tmp_path).of(PROJECT)
    assert (values["protect"], values["minNodes"]) == ("true", "1")


@pytest.mark.parametrize(
    ("key", "fix"),
    [
        ("digital-ocean:token", "did you mean digitalocean:token?"),
        ("kubernetess:context", "did you mean kubernetes:context?"),
        ("aws:region", "known: spark-doks, digitalocean, docker, kubernetes, pulumi, random"),
    ],
)
def test_a_key_in_a_namespace_nothing_reads_is_refused(key: str, fix: str) -> None:
    # The CLI passes such a key on unchecked (pkg/workspace/config.go:319), so the program refuses.
    with pytest.raises(SettingsError) as caught:
        run_offline({key: "x"}, "dev")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{key} is in a namespace nothing in this program reads")
    assert problem.endswith(fix)


def test_provider_keys_pass() -> None:
    run = run_offline({"digitalocean:token": "x", "kubernetes:context": "kind"}, "dev")
    assert run.of_type(CLUSTER)
