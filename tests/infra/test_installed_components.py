"""Stacks that use what the cluster already runs: an installed spark-operator, no monitoring
stack, a prebuilt trainer image by digest (issue 24 point 2)."""

from collections.abc import Callable

import pytest

from infra.offline import OfflineRun
from infra.settings import SettingsError, load_settings

DIGEST = "registry.digitalocean.com/team/spark-trainer@sha256:" + "ab" * 32
RELEASE = "kubernetes:helm.sh/v3:Release"
APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"

Program = Callable[..., OfflineRun]


def test_an_installed_operator_is_used_not_installed(program: Program) -> None:
    run = program("local", target="local", installOperator="false")
    charts = [resource.inputs["chart"] for resource in run.of_type(RELEASE)]
    assert "spark-operator" not in charts
    assert "prometheus" in charts
    # The run depends on nothing the stack no longer declares; it is still declared.
    assert run.one(APPLICATION)


def test_without_monitoring_no_chart_and_no_pushgateway(program: Program) -> None:
    run = program("local", target="local", installOperator="false", installMonitoring="false")
    assert run.of_type(RELEASE) == []
    assert not [r for r in run.resources if r.type.startswith("random:")]
    arguments = run.one(APPLICATION).inputs["spec"]["arguments"]
    assert "--pushgateway" not in arguments


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_a_prebuilt_image_by_digest_replaces_the_docker_build(program: Program, stack: str) -> None:
    config = {"target": "local"} if stack == "local" else {}
    run = program(stack, trainerImage=DIGEST, **config)
    assert not [r for r in run.resources if r.type.startswith("docker:")]
    spec = run.one(APPLICATION).inputs["spec"]
    assert spec["image"] == DIGEST
    assert spec["imagePullPolicy"] == "IfNotPresent"
    assert run.outputs["image"] == DIGEST


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"trainerImage": "spark-trainer:latest"},
            "spark-doks:trainerImage must be empty (build the trainer with pulumi-docker) or an "
            "image pinned by digest",
        ),
        (
            {
                "alerting": "true",
                "alertSlackWebhookUrl": "https://hooks.slack.com/x",
                "installMonitoring": "false",
            },
            "spark-doks:installMonitoring must be true when alerting is true",
        ),
        ({"installOperator": "maybe"}, "spark-doks:installOperator must be true or false"),
    ],
)
def test_bad_combinations_name_the_key_and_the_fix(config: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"target": "local", **config})
    (problem,) = error.value.problems
    assert problem.startswith(message), problem
