"""The real program, run under mocks with each stack file, passes the whole pack."""

import dataclasses

import pytest
from spark_doks_policy.digitalocean import DOKS_CLUSTER, REGISTRY_CREDENTIALS
from spark_doks_policy.kubernetes import ROLE_BINDING, SECRET, SPARK_APPLICATION

from infra.offline import DeclaredResource, OfflineRun, run_offline
from infra.render import stack_config
from tests.policy.harness import from_declared, pack_violations
from tests.support import REPO_ROOT

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"

# What each stack must declare for a clean pass to mean anything.
GOVERNED_TYPES = {
    "dev": {ROLE_BINDING, SPARK_APPLICATION, SECRET, DOKS_CLUSTER, REGISTRY_CREDENTIALS},
    "local": {ROLE_BINDING, SPARK_APPLICATION},
    "prod": {ROLE_BINDING, SPARK_APPLICATION, SECRET, DOKS_CLUSTER, REGISTRY_CREDENTIALS},
}


@pytest.fixture(scope="module", params=sorted(GOVERNED_TYPES))
def run(request: pytest.FixtureRequest) -> OfflineRun:
    stack: str = request.param
    return run_offline(stack_config(stack), stack)


def test_stack_passes_every_policy(run: OfflineRun) -> None:
    assert GOVERNED_TYPES[run.stack] <= {resource.type for resource in run.resources}
    assert pack_violations(from_declared(run.resources)) == []


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
    secret: DeclaredResource = run.one(SECRET)
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
