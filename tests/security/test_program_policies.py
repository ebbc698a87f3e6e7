"""The real program, run under mocks with each stack file, passes the whole pack."""

import dataclasses

import pytest
from spark_doks_policy.digitalocean import (
    CONTAINER_REGISTRY,
    DOKS_CLUSTER,
    DOKS_NODE_POOL,
    REGISTRY_CREDENTIALS,
)
from spark_doks_policy.kubernetes import ROLE_BINDING, SECRET, SPARK_APPLICATION

from infra.offline import OfflineRun, run_offline
from infra.render import stack_config
from tests.policy.harness import from_declared, pack_violations
from tests.support import REPO_ROOT

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"

# What each stack must declare for a clean pass to mean anything.
DO_STACK = {
    ROLE_BINDING,
    SPARK_APPLICATION,
    SECRET,
    DOKS_CLUSTER,
    DOKS_NODE_POOL,
    REGISTRY_CREDENTIALS,
}
GOVERNED_TYPES = {
    "account": {CONTAINER_REGISTRY},
    "dev": DO_STACK,
    "local": {ROLE_BINDING, SPARK_APPLICATION},
    "prod": DO_STACK,
}


ENVIRONMENT_STACKS = sorted(set(GOVERNED_TYPES) - {"account"})


@pytest.fixture(scope="module", params=ENVIRONMENT_STACKS)
def run(request: pytest.FixtureRequest) -> OfflineRun:
    stack: str = request.param
    return run_offline(stack_config(stack), stack)


@pytest.mark.parametrize("stack", sorted(GOVERNED_TYPES))
def test_stack_passes_every_policy(stack: str) -> None:
    run = run_offline(stack_config(stack), stack)
    assert GOVERNED_TYPES[run.stack] <= {resource.type for resource in run.resources}
    assert pack_violations(from_declared(run.resources)) == []


@pytest.mark.parametrize(("stack", "governed"), [("prod", 2), ("account", 1)])
def test_pack_rejects_a_protected_stack_run_without_protection(stack: str, governed: int) -> None:
    run = run_offline({**stack_config(stack), "protect": "false"}, stack)
    violations = pack_violations(from_declared(run.resources))
    assert len(violations) == governed
    assert all(v.startswith("protected-in-protected-stacks:") for v in violations)


def test_pack_rejects_a_cluster_that_leaves_its_volumes_behind() -> None:
    run = run_offline(stack_config("dev"), "dev")
    cluster = run.one(DOKS_CLUSTER)
    inputs = {k: v for k, v in cluster.inputs.items() if k != "destroyAllAssociatedResources"}
    regressed = dataclasses.replace(cluster, inputs=inputs)
    others = [resource for resource in run.resources if resource is not cluster]
    violations = pack_violations(from_declared([*others, regressed]))
    assert [v.split(":")[0] for v in violations] == ["doks-destroys-associated-resources"]


def test_pack_catches_a_regression_in_the_program(run: OfflineRun) -> None:
    application = run.one(SPARK_APPLICATION)
    executor = {
        key: value
        for key, value in application.inputs["spec"]["executor"].items()
        if key != "cores"
    }
    spec = {**application.inputs["spec"], "executor": executor}
    regressed = dataclasses.replace(application, inputs={**application.inputs, "spec": spec})
    others = [resource for resource in run.resources if resource is not application]
    violations = pack_violations(from_declared([*others, regressed]))
    assert len(violations) == 1
    assert violations[0].startswith("containers-declare-requests-and-limits:")


def test_dev_secret_data_is_a_pulumi_secret_built_from_registry_credentials() -> None:
    run = run_offline(stack_config("dev"), "dev")
    (secret,) = [
        resource
        for resource in run.of_type(SECRET)
        if resource.inputs["type"] == "kubernetes.io/dockerconfigjson"
    ]
    assert SECRET_SIGNATURE in secret.inputs["stringData"]
    sources = {run.by_urn(urn).type for urn in secret.property_dependencies["stringData"]}
    assert sources == {REGISTRY_CREDENTIALS}


def test_job_namespace_enforces_the_restricted_pod_security_profile(run: OfflineRun) -> None:
    namespace = next(
        resource
        for resource in run.of_type(NAMESPACE)
        if resource.inputs["metadata"]["name"]
        == stack_config(run.stack).get("jobNamespace", "spark-jobs")
    )
    labels = namespace.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_local_stack_never_pulls_its_unregistered_image(run: OfflineRun) -> None:
    spec = run.one(SPARK_APPLICATION).inputs["spec"]
    expected = "Never" if run.stack == "local" else "IfNotPresent"
    assert spec["imagePullPolicy"] == expected


def test_every_stack_file_is_checked_against_the_pack() -> None:
    stacks = {path.name.split(".")[1] for path in REPO_ROOT.glob("Pulumi.*.yaml")}
    assert stacks == set(GOVERNED_TYPES)
