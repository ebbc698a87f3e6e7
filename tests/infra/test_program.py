"""The Pulumi program under mocks: what it declares, how it is wired, what it exports."""

import json
import runpy
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from infra.image import SAMPLE_ROWS, context_digest
from infra.offline import DeclaredResource, OfflineRun, PlatformMocks, RecordingMonitor
from infra.settings import SettingsError
from monitoring.spark_metrics import spark_metrics_conf
from spark_job.tuning import spark_tuning_conf
from spark_runs.image import BUILD_CONTEXT
from tests.support import REPO_ROOT

Program = Callable[..., OfflineRun]
# How Pulumi marks a secret value in serialized inputs.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
IMAGE = "docker:index/image:Image"


RELEASE = "kubernetes:helm.sh/v3:Release"
APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SECRET = "kubernetes:core/v1:Secret"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
K8S_PROVIDER = "pulumi:providers:kubernetes"

SMALL = {"executorInstances": "2", "executorCores": "1", "executorMemory": "1g"}
LARGE = {
    "nodeSize": "s-8vcpu-16gb",
    "maxNodes": "6",
    "executorInstances": "7",
    "executorCores": "3",
    "executorMemory": "4g",
}


def trainer_image(run: OfflineRun) -> DeclaredResource:
    """The image the runs use (the other docker.Image pushes the build cache)."""
    (image,) = [resource for resource in run.of_type(IMAGE) if resource.name == "trainer"]
    return image


def application(run: OfflineRun) -> DeclaredResource:
    return run.one(APPLICATION)


def spec(run: OfflineRun) -> dict[str, Any]:
    result: dict[str, Any] = application(run).inputs["spec"]
    return result


def operator_release(run: OfflineRun) -> DeclaredResource:
    (release,) = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == "spark-operator"]
    return release


def pull_secrets(run: OfflineRun) -> list[DeclaredResource]:
    return [r for r in run.of_type(SECRET) if r.inputs["type"] == "kubernetes.io/dockerconfigjson"]


def depends_on(resource: DeclaredResource, run: OfflineRun) -> set[str]:
    return {run.by_urn(urn).type for urn in resource.dependencies}


@pytest.mark.parametrize(("min_nodes", "max_nodes"), [("0", "10"), ("3", "6")])
def test_spark_pool_autoscales_within_the_configured_bounds(
    program: Program, min_nodes: str, max_nodes: str
) -> None:
    pool = program(minNodes=min_nodes, maxNodes=max_nodes).one(NODE_POOL).inputs
    assert pool["autoScale"] is True
    assert (pool["minNodes"], pool["maxNodes"]) == (int(min_nodes), int(max_nodes))
    assert "nodeCount" not in pool


def test_cluster_upgrades_itself_in_a_maintenance_window(program: Program) -> None:
    cluster = program(region="nyc3", nodeSize="s-4vcpu-8gb").one(CLUSTER).inputs
    assert cluster["autoUpgrade"] is True and cluster["surgeUpgrade"] is True
    assert cluster["maintenancePolicy"]["day"] and cluster["maintenancePolicy"]["startTime"]
    assert cluster["region"] == "nyc3"
    assert "spark-doks-dev" in cluster["tags"]


@pytest.mark.parametrize(("prefix", "version"), [("1.34.", "1.34.9-do.0"), ("1.33", "1.33.9-do.0")])
def test_kubernetes_version_comes_from_the_versions_lookup(
    program: Program, prefix: str, version: str
) -> None:
    assert program(kubernetesVersion=prefix).one(CLUSTER).inputs["version"] == version


@pytest.mark.parametrize("config", [SMALL, LARGE])
def test_executors_match_the_stack_config(program: Program, config: dict[str, str]) -> None:
    executor = spec(program(**config))["executor"]
    assert executor["instances"] == int(config["executorInstances"])
    assert executor["cores"] == int(config["executorCores"])
    assert executor["memory"] == config["executorMemory"]


def test_trainer_settings_reach_the_command_line(program: Program) -> None:
    arguments = spec(program(dataFraction="0.01", maxDepth="8", inputPath="s3a://b/d.parquet"))[
        "arguments"
    ]
    assert arguments[arguments.index("--fraction") + 1] == "0.01"
    assert arguments[arguments.index("--max-depth") + 1] == "8"
    assert arguments[arguments.index("--input") + 1] == "s3a://b/d.parquet"


def test_spark_conf_enables_both_prometheus_endpoints(program: Program) -> None:
    assert spec(program())["sparkConf"].items() >= spark_metrics_conf().items()


@pytest.mark.parametrize("config", [SMALL, LARGE])
def test_partitions_follow_the_task_slots_of_the_config(
    program: Program, config: dict[str, str]
) -> None:
    slots = int(config["executorInstances"]) * int(config["executorCores"])
    assert spec(program(**config))["sparkConf"].items() >= (
        spark_tuning_conf(int(config["executorInstances"]), int(config["executorCores"])).items()
    )
    assert int(spec(program(**config))["sparkConf"]["spark.sql.shuffle.partitions"]) >= slots


def test_application_waits_for_the_operator_and_rbac(program: Program) -> None:
    run = program()
    needs = depends_on(application(run), run)
    assert {RELEASE, SERVICE_ACCOUNT, ROLE, ROLE_BINDING, SECRET} <= needs


def test_operator_is_installed_after_the_job_namespace_exists(program: Program) -> None:
    run = program(jobNamespace="training")
    release = operator_release(run)
    job_namespaces = [
        r for r in run.of_type("kubernetes:core/v1:Namespace") if r.urn in release.dependencies
    ]
    assert {r.inputs["metadata"]["name"] for r in job_namespaces} >= {"training"}
    assert release.inputs["values"]["spark"]["jobNamespaces"] == ["training"]


def test_operator_chart_is_pinned_in_its_own_namespace(program: Program) -> None:
    release = operator_release(program()).inputs
    assert release["chart"] == "spark-operator" and release["version"] == "2.5.2"
    assert release["repositoryOpts"]["repo"] == "https://kubeflow.github.io/spark-operator"
    assert release["namespace"] == "spark-operator"
    values = release["values"]
    assert values["webhook"]["enable"] is True
    assert values["spark"]["serviceAccount"]["create"] is False
    assert values["spark"]["rbac"]["create"] is False


def test_rbac_is_namespaced_and_least_privilege(program: Program) -> None:
    run = program()
    assert not [r for r in run.resources if "ClusterRole" in r.type]
    (role,) = run.of_type(ROLE)
    granted = {resource for rule in role.inputs["rules"] for resource in rule["resources"]}
    assert granted == {"pods", "services", "configmaps", "persistentvolumeclaims"}
    assert all(rule["apiGroups"] == [""] for rule in role.inputs["rules"])
    assert all("*" not in rule["verbs"] for rule in role.inputs["rules"])
    (binding,) = run.of_type(ROLE_BINDING)
    assert binding.inputs["roleRef"]["kind"] == "Role"
    assert binding.inputs["roleRef"]["name"] == role.inputs["metadata"]["name"]
    assert binding.inputs["roleRef"]["name"] not in {"edit", "admin", "cluster-admin"}
    (subject,) = binding.inputs["subjects"]
    (account,) = [
        resource.inputs["metadata"]
        for resource in run.of_type(SERVICE_ACCOUNT)
        if resource.inputs["metadata"]["name"] == spec(run)["driver"]["serviceAccount"]
    ]
    assert (subject["kind"], subject["name"]) == ("ServiceAccount", account["name"])
    assert subject["namespace"] == account["namespace"] == role.inputs["metadata"]["namespace"]


def test_application_runs_the_pushed_image_by_digest(program: Program) -> None:
    run = program()
    image = trainer_image(run)
    assert spec(run)["image"] == image.state["repoDigest"]
    assert "@sha256:" in spec(run)["image"]
    assert run.outputs["image"] == spec(run)["image"]
    assert image.inputs["skipPush"] is False


def test_image_is_tagged_by_build_context_content(program: Program) -> None:
    first = trainer_image(program()).inputs["imageName"]
    tag = first.rsplit(":", 1)[1]
    assert tag.startswith("dev-") and len(tag.removeprefix("dev-")) == 16
    # Baking the sample in or not is part of the build, so it is part of the tag.
    assert trainer_image(program(inputPath="s3a://b/d.parquet")).inputs["imageName"] != first


def test_sample_data_is_baked_in_only_without_an_input_path(program: Program) -> None:
    baked = trainer_image(program()).inputs["build"]["args"]["SAMPLE_ROWS"]
    assert int(baked) > 0
    given = trainer_image(program(inputPath="s3a://b/d.parquet")).inputs["build"]["args"]
    assert given["SAMPLE_ROWS"] == "0"


def test_main_exports_the_program_outputs() -> None:
    recorded = OfflineRun(stack="dev")
    mocks = PlatformMocks()
    pulumi.runtime.set_mocks(
        mocks, project="spark-doks", stack="dev", monitor=RecordingMonitor(mocks, recorded)
    )
    pulumi.runtime.set_all_config({})

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run_main() -> None:
        runpy.run_path(str(REPO_ROOT / "__main__.py"))

    run_main()
    assert recorded.of_type(APPLICATION) and recorded.of_type(CLUSTER)


def test_main_ends_with_the_settings_message_and_no_traceback_on_bad_config() -> None:
    mocks = PlatformMocks()
    pulumi.runtime.set_mocks(mocks, project="spark-doks", stack="dev")
    pulumi.runtime.set_all_config({"spark-doks:minNodes": "3", "spark-doks:maxNodes": "2"})
    with pytest.raises(pulumi.RunError, match=r"spark-doks:maxNodes must be >= minNodes"):
        runpy.run_path(str(REPO_ROOT / "__main__.py"))


def test_image_is_pushed_with_short_lived_write_credentials(program: Program) -> None:
    run = program()
    (push,) = [c for c in run.of_type(CREDENTIALS) if c.inputs.get("write")]
    assert 0 < push.inputs["expirySeconds"] <= 24 * 3600
    assert push.urn in trainer_image(run).dependencies
    (pull,) = [c for c in run.of_type(CREDENTIALS) if not c.inputs.get("write")]
    (secret,) = pull_secrets(run)
    assert pull.urn in secret.dependencies


def test_pull_secret_is_wired_to_service_account_and_application(program: Program) -> None:
    run = program()
    (pull_secret,) = pull_secrets(run)
    secret = pull_secret.inputs
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    name = secret["metadata"]["name"]
    (account,) = [
        resource.inputs
        for resource in run.of_type(SERVICE_ACCOUNT)
        if resource.inputs["metadata"]["name"] == spec(run)["driver"]["serviceAccount"]
    ]
    assert account["imagePullSecrets"] == [{"name": name}]
    assert spec(run)["imagePullSecrets"] == [name]


def test_every_kubernetes_object_goes_through_the_cluster_provider(program: Program) -> None:
    run = program()
    provider = run.one(K8S_PROVIDER)
    assert provider.inputs["clusterIdentifier"] == run.outputs["clusterId"]
    kubernetes_objects = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert kubernetes_objects
    assert all(r.provider.startswith(provider.urn) for r in kubernetes_objects)


def test_outputs_name_what_a_user_needs(program: Program) -> None:
    run = program()
    assert set(run.outputs) == {
        "clusterName",
        "clusterId",
        "registryEndpoint",
        "pullCredentialsExpireAt",
        "monthlyCostFloor",
        "monthlyCostCeiling",
        "runNodes",
        "runCostPerHour",
        "image",
        "sparkApplicationName",
        "jobNamespace",
        "followCommands",
        "bucket",
        "spacesRegion",
        "runsPrefix",
        "historyServerCommand",
        "runState",
    }
    name = application(run).inputs["metadata"]["name"]
    assert run.outputs["sparkApplicationName"] == name
    assert run.outputs["jobNamespace"] == "spark-jobs"
    assert f"kubectl -n spark-jobs logs -f {name}-driver" in run.outputs["followCommands"]
    assert run.secret_outputs == set()


def test_changing_executor_instances_gives_a_new_application_name(program: Program) -> None:
    four = application(program(executorInstances="4")).inputs["metadata"]["name"]
    assert application(program(executorInstances="4")).inputs["metadata"]["name"] == four
    assert application(program(executorInstances="5")).inputs["metadata"]["name"] != four


def test_a_changed_application_is_replaced_not_mutated(program: Program) -> None:
    resource = application(program())
    assert resource.delete_before_replace is True
    assert "spec" in resource.replace_on_changes


def test_local_target_declares_no_digitalocean_resource(program: Program) -> None:
    run = program("local", target="local")
    assert run.resources
    assert not [r for r in run.resources if "digitalocean" in r.type]
    assert not pull_secrets(run) and not run.of_type(K8S_PROVIDER)
    image = trainer_image(run)
    assert image.inputs["skipPush"] is True
    assert spec(run)["image"] == image.inputs["imageName"]
    assert "imagePullSecrets" not in spec(run)
    assert set(run.outputs) == {
        "image",
        "sparkApplicationName",
        "jobNamespace",
        "followCommands",
        "runState",
    }
    assert {RELEASE, ROLE, ROLE_BINDING} <= depends_on(application(run), run)


INVALID = [
    ({"minNodes": "3", "maxNodes": "2"}, "maxNodes"),
    ({"executorInstances": "0"}, "executorInstances"),
    ({"executorInstances": "30"}, "executorInstances"),
    ({"executorCores": "4"}, "executorCores"),
    ({"executorMemory": "8g"}, "executorMemory"),
    ({"executorMemory": "a lot"}, "executorMemory"),
    ({"driverMemory": "16g"}, "driverMemory"),
    ({"nodeSize": "s-1vcpu-512mb"}, "nodeSize"),
    ({"target": "gcp"}, "target"),
    ({"dataFraction": "2"}, "dataFraction"),
    ({"jobNamespace": "Spark Jobs"}, "jobNamespace"),
    ({"registryTier": "free"}, "registryTier"),
    ({"kubernetesVersion": "latest"}, "kubernetesVersion"),
    ({"region": "sfo9"}, "region"),
    ({"executorInstance": "6"}, "executorInstance"),
    ({"kubernetesVersion": ""}, "kubernetesVersion"),
    ({"registryTier": "basic"}, "registryTier"),
    ({"systemNodeCount": "1"}, "systemNodeCount"),
    ({"target": "account", "registryTier": "starter", "registryRegion": "sfo3"}, "registryTier"),
    ({"target": "account", "registryRegion": "sfo3"}, "registryTier"),
]


@pytest.mark.parametrize(("config", "key"), INVALID)
def test_invalid_config_names_the_key_and_declares_nothing(
    config: dict[str, str], key: str
) -> None:
    from infra import program as pulumi_program

    recorded = OfflineRun(stack="dev")
    mocks = PlatformMocks()
    pulumi.runtime.set_mocks(
        mocks, project="spark-doks", stack="dev", monitor=RecordingMonitor(mocks, recorded)
    )
    pulumi.runtime.set_all_config({f"spark-doks:{k}": v for k, v in config.items()})

    with pytest.raises(SettingsError) as caught:
        pulumi_program.run()
    assert [line.split()[0] for line in caught.value.problems] == [f"spark-doks:{key}"]
    assert recorded.resources == []


@pytest.mark.parametrize("source", ["set_all_config", "PULUMI_CONFIG"])
def test_a_mistyped_key_suggests_the_known_one_and_declares_nothing(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI passes stack config as PULUMI_CONFIG; mocks and inline programs set it directly."""
    from infra import program as pulumi_program

    recorded = OfflineRun(stack="dev")
    mocks = PlatformMocks()
    pulumi.runtime.set_mocks(
        mocks, project="spark-doks", stack="dev", monitor=RecordingMonitor(mocks, recorded)
    )
    config = {"spark-doks:executorInstance": "6", "spark-doks:region": "sfo2"}
    if source == "PULUMI_CONFIG":
        pulumi.runtime.set_all_config({})
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    else:
        pulumi.runtime.set_all_config(config)

    with pytest.raises(SettingsError) as caught:
        pulumi_program.run()
    assert caught.value.problems == [
        "spark-doks:executorInstance is not a known key; did you mean executorInstances?"
    ]
    assert recorded.resources == []


def test_pushed_builds_take_their_layer_cache_from_the_registry(program: Program) -> None:
    run = program()
    image = trainer_image(run).inputs
    repository = image["imageName"].rsplit(":", 1)[0]
    assert image["build"]["cacheFrom"]["images"] == [f"{repository}:buildcache"]
    assert image["build"]["args"]["BUILDKIT_INLINE_CACHE"] == "1"
    # The cache tag is pushed by a second Image of the same build, after the trainer's: a
    # RegistryImage would vanish from state on a refresh after its credentials expired.
    (cache,) = [r for r in run.of_type(IMAGE) if r.name == "trainer-buildcache"]
    assert cache.inputs["imageName"] == f"{repository}:buildcache"
    assert cache.inputs["build"] == image["build"] and cache.inputs["skipPush"] is False
    assert trainer_image(run).urn in cache.dependencies
    auth = cache.inputs["registry"]
    assert auth[SECRET_SIGNATURE] and auth["value"]["username"] == "push-user"
    assert not run.of_type("docker:index/registryImage:RegistryImage")
    assert not run.of_type("docker:index/tag:Tag")


def test_the_cache_setting_is_not_part_of_the_image_tag(program: Program) -> None:
    tag = trainer_image(program()).inputs["imageName"].rsplit(":", 1)[1]
    assert tag == "dev-" + context_digest(BUILD_CONTEXT, {"SAMPLE_ROWS": str(SAMPLE_ROWS)})[:16]


def test_local_images_neither_use_nor_push_a_registry_cache(program: Program) -> None:
    run = program("local", target="local")
    assert "cacheFrom" not in trainer_image(run).inputs["build"]
    assert not run.of_type("docker:index/registryImage:RegistryImage")
    assert [image.name for image in run.of_type(IMAGE)] == ["trainer"]
