"""Stack config validation: good configs load typed, every bad key is named with its fix."""

import pytest

from infra.regions import DOKS_REGIONS
from infra.settings import CONFIG_KEYS, SettingsError, Target, load_settings


def problems(config: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    return caught.value.problems


def test_defaults_are_the_dev_defaults_of_the_design() -> None:
    settings = load_settings({})
    assert settings.target is Target.DIGITALOCEAN
    assert (settings.region, settings.node_size) == ("sfo2", "s-2vcpu-4gb")
    assert (settings.min_nodes, settings.max_nodes) == (0, 10)
    assert (settings.system_node_size, settings.system_node_count) == ("s-2vcpu-4gb", 2)
    assert settings.kubernetes_version == "1.34."
    assert settings.protect is False
    assert (settings.executor_instances, settings.executor_cores) == (4, 1)
    # 640m and an 800m CPU request: two executors share an s-2vcpu-4gb node (docs/decisions.md).
    assert (settings.executor_memory, settings.driver_memory) == ("640m", "1g")
    assert settings.executor_core_request == "800m"
    assert settings.wait_for_run is True
    assert (settings.executor_wait_seconds, settings.run_timeout_seconds) == (600, 3600)
    assert settings.run_id == ""
    assert settings.job_namespace == "spark-jobs"
    assert settings.data_fraction == 1.0
    # Account-stack keys: empty (unset) on every other stack.
    assert settings.registry_tier is None and settings.registry_region is None
    assert settings.registry_stack == "organization/spark-doks/account"


def test_string_config_values_are_converted_to_their_types() -> None:
    settings = load_settings(
        {"executorInstances": "6", "dataFraction": "0.01", "haControlPlane": "true"}
    )
    assert settings.executor_instances == 6
    assert settings.data_fraction == 0.01
    assert settings.ha_control_plane is True


def test_the_issue_example_message() -> None:
    assert problems({"minNodes": "2", "maxNodes": "1"}) == [
        "spark-doks:maxNodes must be >= minNodes (got 1 < 2)"
    ]


@pytest.mark.parametrize(
    ("config", "key", "fix"),
    [
        ({"target": "aws"}, "target", "digitalocean, local or account"),
        ({"region": "San Francisco"}, "region", "region slug"),
        ({"region": "sfo9"}, "region", "sfo2, sfo3, sgp1"),
        ({"kubernetesVersion": "latest"}, "kubernetesVersion", "minor version such as 1.34."),
        ({"kubernetesVersion": ""}, "kubernetesVersion", "minor version such as 1.34."),
        ({"kubernetesVersion": "1.34.1-do.0"}, "kubernetesVersion", "stop patch upgrades"),
        ({"nodeSize": "s-64vcpu"}, "nodeSize", "s-2vcpu-4gb"),
        ({"minNodes": "-1"}, "minNodes", ">= 0"),
        ({"systemNodeCount": "0"}, "systemNodeCount", ">= 1"),
        ({"systemNodeCount": "1"}, "systemNodeCount", "raise systemNodeCount to 2"),
        ({"systemNodeSize": "s-1vcpu-2gb"}, "systemNodeCount", "larger systemNodeSize"),
        ({"systemNodeSize": "s-64vcpu"}, "systemNodeSize", "s-2vcpu-4gb"),
        ({"protect": "maybe"}, "protect", "true or false"),
        ({"registryStack": "a b"}, "registryStack", "organization/spark-doks/account"),
        ({"registryTier": "basic"}, "registryTier", "account stack only"),
        ({"registryRegion": "sfo3"}, "registryRegion", "account stack only"),
        ({"minNodes": "3", "maxNodes": "2"}, "maxNodes", ">= minNodes (got 2 < 3)"),
        ({"executorInstances": "0"}, "executorInstances", ">= 1"),
        ({"executorCores": "two"}, "executorCores", "whole number"),
        ({"executorMemory": "lots"}, "executorMemory", "e.g. 1g"),
        ({"driverMemory": "1 GB"}, "driverMemory", "e.g. 1g"),
        ({"dataFraction": "0"}, "dataFraction", "(0, 1]"),
        ({"dataFraction": "1.5"}, "dataFraction", "(0, 1]"),
        ({"jobNamespace": "Spark_Jobs"}, "jobNamespace", "DNS label"),
        (
            {"target": "account", "registryTier": "gold", "registryRegion": "sfo3"},
            "registryTier",
            "basic or professional",
        ),
        (
            {"target": "account", "registryTier": "basic", "registryRegion": "?"},
            "registryRegion",
            "Container Registry",
        ),
        ({"target": "account", "registryRegion": "sfo3"}, "registryTier", "must be set on the"),
        ({"target": "account", "registryTier": "basic"}, "registryRegion", "must be set on the"),
        ({"maxDepth": "99"}, "maxDepth", "1 to 30"),
        ({"alerting": "sometimes"}, "alerting", "true or false"),
        ({"alerting": "true"}, "alertSlackWebhookUrl", "pulumi config set --secret"),
        ({"alertSlackWebhookUrl": "hooks.slack.com/x"}, "alertSlackWebhookUrl", "https://"),
        ({"executorNumber": "4"}, "executorNumber", "not a known key"),
    ],
)
def test_each_bad_key_is_named_with_its_fix(config: dict[str, str], key: str, fix: str) -> None:
    (problem,) = problems(config)
    assert problem.startswith(f"spark-doks:{key} ")
    assert fix in problem


def test_every_bad_key_is_listed_in_one_error() -> None:
    found = problems({"target": "aws", "maxDepth": "0", "executorMemory": "x", "region": "?"})
    assert [line.split()[0] for line in found] == [
        "spark-doks:target",
        "spark-doks:region",
        "spark-doks:executorMemory",
        "spark-doks:maxDepth",
    ]


def test_executor_cores_that_no_node_can_hold_are_rejected_with_numbers() -> None:
    (problem,) = problems({"nodeSize": "s-2vcpu-4gb", "executorCores": "2"})
    assert problem.startswith("spark-doks:executorCores is too large")
    assert "2000m" in problem and "1650m" in problem


def test_executor_memory_that_no_node_can_hold_is_rejected_with_numbers() -> None:
    (problem,) = problems({"nodeSize": "s-2vcpu-4gb", "executorMemory": "3g"})
    assert problem.startswith("spark-doks:executorMemory is too large")
    assert "3456 MiB" in problem and "2260 MiB" in problem


def test_a_larger_node_size_makes_the_same_executor_fit() -> None:
    settings = load_settings({"nodeSize": "s-4vcpu-8gb", "executorMemory": "3g"})
    assert settings.executor_memory == "3g"


def test_more_executors_than_max_nodes_can_host_are_rejected_with_numbers() -> None:
    # Two 800m, 640m executors per s-2vcpu-4gb node, and the driver alone on the first one.
    (problem,) = problems({"executorInstances": "19", "maxNodes": "10"})
    assert problem.startswith("spark-doks:executorInstances is too large")
    assert "need 11 s-2vcpu-4gb nodes" in problem and "maxNodes is 10" in problem
    assert load_settings({"executorInstances": "18", "maxNodes": "10"}).executor_instances == 18
    # Whole-core requests: one executor per node.
    (problem,) = problems({"executorInstances": "10", "maxNodes": "10", "executorCoreRequest": "1"})
    assert "need 11 s-2vcpu-4gb nodes" in problem


def test_driver_memory_that_no_node_can_hold_is_rejected() -> None:
    (problem,) = problems({"driverMemory": "4g"})
    assert problem.startswith("spark-doks:driverMemory is too large")


def test_the_local_target_does_not_check_droplet_capacity() -> None:
    settings = load_settings({"target": "local", "executorInstances": "40"})
    assert settings.executor_instances == 40


def test_config_keys_include_every_key_of_the_design_and_brief() -> None:
    required = {
        "target", "region", "kubernetesVersion", "nodeSize", "minNodes", "maxNodes",
        "executorInstances", "executorCores", "executorMemory", "jobNamespace", "dataFraction",
        "registryTier", "haControlPlane", "alerting", "inputPath", "driverMemory", "maxDepth",
        "systemNodeSize", "systemNodeCount", "protect", "registryStack", "registryRegion",
        "alertSlackWebhookUrl",
        "spacesRegion", "eventLogRetentionDays",
        "executorCoreRequest", "runId", "waitForRun", "executorWaitSeconds", "runTimeoutSeconds",
        "installOperator", "installMonitoring", "trainerImage",
    }  # fmt: skip
    assert required == set(CONFIG_KEYS)


def test_a_mistyped_key_is_refused_with_the_nearest_known_name() -> None:
    assert problems({"executorInstance": "6"}) == [
        "spark-doks:executorInstance is not a known key; did you mean executorInstances?"
    ]


def test_an_unknown_region_is_refused_with_every_doks_region_listed() -> None:
    (problem,) = problems({"region": "sfo9"})
    assert problem.startswith("spark-doks:region must be a DigitalOcean region slug")
    for region in DOKS_REGIONS:
        assert region in problem
    assert "(got 'sfo9')" in problem


def test_the_slack_webhook_never_appears_in_messages_or_the_settings_repr() -> None:
    webhook = "http://hooks.slack.com/services/secret-token"
    (problem,) = problems({"alerting": "true", "alertSlackWebhookUrl": webhook})
    assert "secret-token" not in problem
    settings = load_settings({"alerting": "true", "alertSlackWebhookUrl": "https://h/secret-token"})
    assert "secret-token" not in repr(settings)
    assert settings.alert_slack_webhook_url.get_secret_value() == "https://h/secret-token"


@pytest.mark.parametrize(
    ("config", "key", "fix"),
    [
        ({"runTimeoutSeconds": "0"}, "runTimeoutSeconds", "seconds > 0, e.g. 3600"),
        ({"runTimeoutSeconds": "-5"}, "runTimeoutSeconds", "seconds > 0, e.g. 3600"),
        ({"executorWaitSeconds": "0"}, "executorWaitSeconds", "seconds > 0, e.g. 600"),
        ({"executorWaitSeconds": "-1"}, "executorWaitSeconds", "seconds > 0, e.g. 600"),
        ({"runId": "Retry_1"}, "runId", "lowercase letters, digits and '-'"),
        ({"runId": "-2"}, "runId", "starting and ending with a letter or digit"),
        ({"runId": "r" * 21}, "runId", "at most 20"),
        ({"waitForRun": "sometimes"}, "waitForRun", "must be true or false"),
        ({"executorCoreRequest": "lots"}, "executorCoreRequest", "such as 800m"),
        ({"executorCoreRequest": "0m"}, "executorCoreRequest", "more than 0"),
        ({"executorCoreRequest": "1500m"}, "executorCoreRequest", "at most executorCores"),
    ],
)
def test_bad_run_settings_name_the_key_and_the_fix(
    config: dict[str, str], key: str, fix: str
) -> None:
    (problem,) = problems(config)
    assert problem.startswith(f"spark-doks:{key} ")
    assert fix in problem


def test_the_run_timeout_must_outlast_the_executor_wait() -> None:
    (problem,) = problems({"executorWaitSeconds": "900", "runTimeoutSeconds": "600"})
    assert problem.startswith("spark-doks:runTimeoutSeconds must be longer than")
    assert "executorWaitSeconds (900)" in problem


@pytest.mark.parametrize("run_id", ["2", "retry-1", "a" * 20])
def test_dns_safe_run_ids_are_accepted(run_id: str) -> None:
    assert load_settings({"runId": run_id}).run_id == run_id


# Issue 20, points 18-20: stack config a new user gets wrong.


@pytest.mark.parametrize("key", ["executorMemory", "driverMemory"])
@pytest.mark.parametrize("memory", ["0m", "100m", "450m", "465m", "1k"])
def test_memory_spark_cannot_start_with_is_refused_with_its_minimum(key: str, memory: str) -> None:
    (problem,) = problems({key: memory})
    assert problem.startswith(f"spark-doks:{key} is below what Spark can start with")
    assert "450 MiB" in problem and "at least 466m" in problem


@pytest.mark.parametrize("memory", ["466m", "512m", "1g"])
def test_memory_spark_can_start_with_is_accepted(memory: str) -> None:
    assert load_settings({"driverMemory": memory, "executorMemory": memory})


@pytest.mark.parametrize(
    "namespace", ["default", "kube-system", "kube-public", "kube-node-lease", "monitoring"]
)
def test_system_and_platform_namespaces_are_refused_as_the_job_namespace(namespace: str) -> None:
    (problem,) = problems({"jobNamespace": namespace})
    assert problem.startswith(f"spark-doks:jobNamespace cannot be {namespace},")
    assert "e.g. spark-jobs" in problem


def test_the_refused_namespaces_include_every_namespace_the_platform_creates() -> None:
    from infra.observability import NAMESPACE as MONITORING
    from infra.settings import RESERVED_NAMESPACES
    from infra.spark import OPERATOR_NAMESPACE

    assert {MONITORING, OPERATOR_NAMESPACE} <= set(RESERVED_NAMESPACES)
    (problem,) = problems({"jobNamespace": OPERATOR_NAMESPACE})
    assert "spark-operator's namespace" in problem


def test_an_unquoted_minor_that_yaml_made_a_float_names_the_quoting_trap() -> None:
    # `kubernetesVersion: 1.30` reaches the program as "1.3" (tests/infra/test_cli_config.py).
    (problem,) = problems({"kubernetesVersion": "1.3"})
    assert "unquoted 1.30" in problem and 'kubernetesVersion: "1.30."' in problem


@pytest.mark.parametrize("version", ["1.29.", "2.0.", "0.34.", "1.99.", "1.2"])
def test_minors_that_cannot_be_a_doks_minor_are_refused(version: str) -> None:
    (problem,) = problems({"kubernetesVersion": version})
    assert problem.startswith("spark-doks:kubernetesVersion ")
    assert "quote" in problem


@pytest.mark.parametrize(("version", "pinned"), [("1.30", "1.30."), ("1.34.", "1.34.")])
def test_doks_minors_are_accepted(version: str, pinned: str) -> None:
    assert load_settings({"kubernetesVersion": version}).kubernetes_version == pinned


@pytest.mark.parametrize("region", ["tor1", "lon1", "atl1", "nyc1", "?"])
def test_a_registry_region_without_docr_is_refused(region: str) -> None:
    (problem,) = problems({"target": "account", "registryTier": "basic", "registryRegion": region})
    assert problem.startswith("spark-doks:registryRegion must be a region where DigitalOcean")
    assert "sfo3" in problem


def test_the_registry_regions_are_doks_regions() -> None:
    from infra.regions import DOCR_REGIONS, DOKS_REGIONS

    assert set(DOCR_REGIONS) <= set(DOKS_REGIONS)
    for region in DOCR_REGIONS:
        config = {"target": "account", "registryTier": "basic", "registryRegion": region}
        assert load_settings(config).registry_region == region
