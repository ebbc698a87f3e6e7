"""Typed, validated stack configuration of the spark-doks project.

Every key is flat (``pulumi config set spark-doks:KEY VALUE``). ``load_settings`` checks all of
them before any resource is declared and reports every bad key at once, each with its fix.
"""

import difflib
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from infra.preview_mirror import REDACTED
from infra.regions import DOCR_REGIONS, DOKS_REGIONS
from spark_runs import object_store, sizing
from spark_runs.application import RUN_ID_MAX_LENGTH, is_dns_label, is_run_id

PROJECT = "spark-doks"


class Target(StrEnum):
    DIGITALOCEAN = "digitalocean"
    LOCAL = "local"
    # The account-level pieces every DigitalOcean stack of the team shares (the one registry).
    ACCOUNT = "account"


class RegistryTier(StrEnum):
    # `starter` (500 MiB) is left out: the Spark image alone is larger.
    BASIC = "basic"
    PROFESSIONAL = "professional"


ACCOUNT_STACK_FILE = "Pulumi.account.yaml"
DEFAULT_REGISTRY_STACK = f"organization/{PROJECT}/account"
_MINOR_PREFIX = re.compile(r"^(\d+)\.(\d+)\.?$")
# Plausibility bounds, not DigitalOcean's list (the versions lookup checks that at deploy time):
# Kubernetes 1.29 reached end of life upstream on 2025-02-28 and DOKS creates no cluster on a
# retired minor; Kubernetes ships about three minors a year, so 1.40 is not expected before 2027.
OLDEST_DOKS_MINOR = 30
NEWEST_PLAUSIBLE_MINOR = 40
# Namespaces the job namespace may not be: Kubernetes' own, and the ones the platform creates.
# The render would put the job namespace's restricted PodSecurity label and default-deny policy
# on it, or declare a second Namespace object of the same name.
RESERVED_NAMESPACES = {
    "default": "Kubernetes' default namespace",
    "kube-system": "Kubernetes' system namespace",
    "kube-public": "Kubernetes' public namespace",
    "kube-node-lease": "Kubernetes' node-lease namespace",
    "monitoring": "the platform's Prometheus and Grafana namespace",
    "spark-operator": "the spark-operator's namespace",
}
_IMAGE_BY_DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
_STACK_NAME = re.compile(r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")


def _spark_memory(value: str) -> str:
    try:
        mib = sizing.parse_spark_memory_mib(value)
    except ValueError:
        raise ValueError(
            f"must be a Spark memory size: a number with k, m, g or t, e.g. 1g (got {value!r})"
        ) from None
    if mib < sizing.MIN_HEAP_MIB:
        raise ValueError(
            f"is below what Spark can start with: Spark 4.0.4 refuses a JVM with less than "
            f"{sizing.SPARK_MIN_SYSTEM_MEMORY_MIB} MiB (1.5 x its 300 MiB reserved memory), and "
            f"a pod this small runs the serial GC, which leaves the JVM a little less than its "
            f"heap; use at least {sizing.MIN_HEAP_MIB}m, e.g. 512m (got {value!r})"
        )
    return value


SparkMemory = Annotated[str, AfterValidator(_spark_memory)]


class SettingsError(ValueError):
    """Invalid stack config: one line per bad key, each naming the key and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


class Settings(BaseModel):
    """The stack config of one environment. Field order matters: cross-key checks see only the
    keys declared above them (pydantic passes those in ``info.data``)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
    )

    target: Target = Target.DIGITALOCEAN
    region: str = "sfo2"
    kubernetes_version: str = "1.34."
    ha_control_plane: bool = False
    registry_stack: str = DEFAULT_REGISTRY_STACK
    # Empty (None) on every stack but account: the CLI hands each stack every Pulumi.yaml default,
    # so the schema's "" stands for unset (docs/decisions.md, "Config loaded as the CLI loads it").
    registry_tier: RegistryTier | None = Field(default=None, validate_default=True)
    registry_region: str | None = Field(default=None, validate_default=True)
    protect: bool = False
    system_node_size: str = "s-2vcpu-4gb"
    # Checked even when only systemNodeSize is set: the pool must hold the platform either way.
    system_node_count: int = Field(default=2, ge=1, validate_default=True)
    node_size: str = "s-2vcpu-4gb"
    min_nodes: int = Field(default=0, ge=0)
    max_nodes: int = Field(default=10, ge=1)
    job_namespace: str = "spark-jobs"
    executor_cores: int = Field(default=1, ge=1)
    # Below the executor's 1 core so two executors share a 2-vCPU node (docs/decisions.md).
    executor_core_request: str = "800m"
    executor_memory: SparkMemory = "640m"
    driver_memory: SparkMemory = "1g"
    executor_instances: int = Field(default=4, ge=1)
    data_fraction: float = Field(default=1.0, gt=0, le=1)
    max_depth: int = Field(default=5, ge=1, le=30)
    input_path: str = ""
    alerting: bool = False
    # A secret: pydantic keeps it out of reprs, and messages never quote it.
    alert_slack_webhook_url: SecretStr = Field(default=SecretStr(""), validate_default=True)
    spaces_region: str = Field(default="", validate_default=True)
    event_log_retention_days: int = Field(default=30, ge=1)
    run_id: str = ""
    wait_for_run: bool = True
    executor_wait_seconds: int = Field(default=600, gt=0)
    run_timeout_seconds: int = Field(default=3600, gt=0)
    # What the cluster already runs (issue 24): the platform then declares neither.
    install_operator: bool = True
    install_monitoring: bool = True
    # A prebuilt trainer image, pinned by digest, in place of building it with pulumi-docker.
    trainer_image: str = ""

    @field_validator("region")
    @classmethod
    def _region_slug(cls, region: str) -> str:
        if region not in DOKS_REGIONS:
            raise ValueError(
                f"must be a DigitalOcean region slug, one of {', '.join(DOKS_REGIONS)} "
                f"(got {region!r})"
            )
        return region

    @field_validator("kubernetes_version")
    @classmethod
    def _minor_prefix(cls, version: str) -> str:
        match = _MINOR_PREFIX.match(version)
        if match is None:
            raise ValueError(
                "must pin a Kubernetes minor version such as 1.34. (patch releases still upgrade "
                "automatically; empty or latest would follow each new minor, a full version "
                f"would stop patch upgrades) (got {version!r})"
            )
        major, minor = int(match.group(1)), int(match.group(2))
        if major == 1 and len(match.group(2)) == 1 and minor * 10 >= OLDEST_DOKS_MINOR:
            raise ValueError(
                f"is {version!r}, which is what YAML makes of an unquoted {major}.{minor}0 (a "
                f'number); quote it in the stack file: kubernetesVersion: "{major}.{minor}0."'
            )
        if major != 1 or not OLDEST_DOKS_MINOR <= minor <= NEWEST_PLAUSIBLE_MINOR:
            raise ValueError(
                f"cannot be a DigitalOcean Kubernetes minor: DOKS runs 1.{OLDEST_DOKS_MINOR} and "
                f"newer 1.x minors, e.g. 1.34.; write it quoted, since YAML reads an unquoted "
                f"1.30 as 1.3 (got {version!r})"
            )
        return f"{major}.{minor}."

    @field_validator("registry_stack")
    @classmethod
    def _stack_name(cls, name: str) -> str:
        if not _STACK_NAME.match(name):
            raise ValueError(
                "must name the account stack that owns the registry, e.g. "
                f"{DEFAULT_REGISTRY_STACK} (got {name!r})"
            )
        return name

    @field_validator("registry_tier", mode="before")
    @classmethod
    def _usable_tier(cls, tier: object, info: ValidationInfo) -> object:
        if not _account_key(tier, info, "basic or professional"):
            return None
        if tier == "starter":
            raise ValueError(
                "cannot be starter: its 500 MiB of storage cannot hold the Spark trainer image; "
                "use basic or professional"
            )
        return tier

    @field_validator("registry_region", mode="before")
    @classmethod
    def _registry_region_on_account(cls, region: object, info: ValidationInfo) -> object:
        if not _account_key(region, info, "a region near the clusters, e.g. sfo3"):
            return None
        if region not in DOCR_REGIONS:
            raise ValueError(
                "must be a region where DigitalOcean Container Registry stores images, one of "
                f"{', '.join(DOCR_REGIONS)} (got {region!r})"
            )
        return region

    @field_validator("node_size", "system_node_size")
    @classmethod
    def _known_size(cls, slug: str) -> str:
        if slug not in sizing.NODE_SIZES:
            raise ValueError(f"must be one of {', '.join(sizing.NODE_SIZES)} (got {slug!r})")
        return slug

    @field_validator("system_node_count")
    @classmethod
    def _system_pool_fits(cls, count: int, info: ValidationInfo) -> int:
        slug = info.data.get("system_node_size")
        if info.data.get("target") is not Target.DIGITALOCEAN or slug is None:
            return count
        try:
            needed = sizing.system_nodes_needed(sizing.NODE_SIZES[slug])
        except ValueError as error:
            raise ValueError(
                f"cannot hold the platform: {error}; choose a larger systemNodeSize"
            ) from None
        if count < needed:
            raise ValueError(
                f"is too small: the operator, Prometheus and Grafana need {needed} {slug} "
                f"node(s), but systemNodeCount is {count}; raise systemNodeCount to {needed} or "
                "choose a larger systemNodeSize"
            )
        return count

    @field_validator("max_nodes")
    @classmethod
    def _bounds(cls, max_nodes: int, info: ValidationInfo) -> int:
        min_nodes = info.data.get("min_nodes")
        if min_nodes is not None and max_nodes < min_nodes:
            raise ValueError(f"must be >= minNodes (got {max_nodes} < {min_nodes})")
        return max_nodes

    @field_validator("job_namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if not is_dns_label(namespace):
            raise ValueError(
                "must be a DNS label: lowercase letters, digits and '-', starting with a letter, "
                f"at most 63 characters (got {namespace!r})"
            )
        if namespace in RESERVED_NAMESPACES:
            raise ValueError(
                f"cannot be {namespace}, {RESERVED_NAMESPACES[namespace]}: the job namespace gets "
                "a restricted PodSecurity label and a default-deny network policy of its own; "
                "choose another, e.g. spark-jobs"
            )
        return namespace

    @field_validator("executor_cores")
    @classmethod
    def _executor_cpu_fits(cls, cores: int, info: ValidationInfo) -> int:
        size = _node_size(info)
        if size is not None and cores * 1000 > sizing.schedulable_cpu_millis(size):
            raise ValueError(
                f"is too large: an executor may use {cores * 1000}m CPU, but a {size.slug} node "
                f"has {sizing.schedulable_cpu_millis(size)}m for pods; lower executorCores or "
                "choose a larger nodeSize"
            )
        return cores

    @field_validator("executor_core_request")
    @classmethod
    def _core_request(cls, request: str, info: ValidationInfo) -> str:
        try:
            millis = sizing.parse_cpu_millis(request)
        except ValueError:
            raise ValueError(
                f"must be a CPU quantity such as 800m or 1 (got {request!r})"
            ) from None
        cores = info.data.get("executor_cores")
        if millis < 1 or (cores is not None and millis > cores * 1000):
            raise ValueError(
                f"must be more than 0 and at most executorCores ({cores} = {(cores or 0) * 1000}m),"
                f" e.g. 800m (got {request!r})"
            )
        return request

    @field_validator("executor_memory")
    @classmethod
    def _executor_memory_fits(cls, memory: str, info: ValidationInfo) -> str:
        size = _node_size(info)
        needed = sizing.pod_memory_mib(memory)
        if size is not None and needed > sizing.schedulable_memory_mib(size):
            raise ValueError(
                f"is too large: {memory} needs {needed} MiB per executor pod with Spark's "
                f"overhead, but a {size.slug} node has {sizing.schedulable_memory_mib(size)} MiB "
                "for pods; lower executorMemory or choose a larger nodeSize"
            )
        return memory

    @field_validator("driver_memory")
    @classmethod
    def _driver_fits(cls, memory: str, info: ValidationInfo) -> str:
        size = _node_size(info)
        if size is None:
            return memory
        pod = sizing.spark_pod(sizing.DRIVER_CORES * 1000, memory)
        if sizing.pods_per_node(size, pod) == 0:
            raise ValueError(
                f"is too large: the driver needs {pod.cpu_millis}m CPU and {pod.memory_mib} MiB "
                f"with Spark's overhead, but a {size.slug} node has "
                f"{sizing.schedulable_cpu_millis(size)}m CPU and "
                f"{sizing.schedulable_memory_mib(size)} MiB for pods; lower driverMemory or choose "
                "a larger nodeSize"
            )
        return memory

    @field_validator("executor_instances")
    @classmethod
    def _capacity(cls, executor_instances: int, info: ValidationInfo) -> int:
        size = _node_size(info)
        data = info.data
        if size is None or any(
            data.get(key) is None
            for key in ("max_nodes", "executor_core_request", "executor_memory")
        ):
            return executor_instances
        needed = sizing.nodes_needed(
            size,
            executor_instances,
            sizing.parse_cpu_millis(data["executor_core_request"]),
            data["executor_memory"],
        )
        if needed > data["max_nodes"]:
            raise ValueError(
                f"is too large: {executor_instances} executors requesting "
                f"{data['executor_core_request']} CPU and {data['executor_memory']} plus the "
                f"driver need {needed} {size.slug} nodes, but maxNodes is {data['max_nodes']}; "
                f"raise maxNodes to {needed} or lower executorInstances"
            )
        return executor_instances

    @field_validator("alert_slack_webhook_url")
    @classmethod
    def _slack_webhook(cls, webhook: SecretStr, info: ValidationInfo) -> SecretStr:
        url = webhook.get_secret_value()
        if info.data.get("alerting") and not url:
            raise ValueError(
                "must be set when alerting is true: pulumi config set --secret "
                "spark-doks:alertSlackWebhookUrl https://hooks.slack.com/services/..."
            )
        # A preview of the mirror (infra/preview_mirror.py) sees every secret redacted.
        if url and url != REDACTED and not url.startswith("https://"):
            raise ValueError("must be a Slack incoming-webhook URL starting with https://")
        return webhook

    @field_validator("spaces_region")
    @classmethod
    def _spaces_region(cls, spaces_region: str, info: ValidationInfo) -> str:
        """spacesRegion must have Spaces; empty, the cluster's region must (see bucket_region)."""
        region = info.data.get("region")
        if info.data.get("target") is not Target.DIGITALOCEAN or region is None:
            return spaces_region
        try:
            object_store.spaces_region(region, spaces_region)
        except object_store.NoSpacesInRegion as error:
            hint = "" if spaces_region else f" (the region); set {PROJECT}:spacesRegion"
            raise ValueError(f"{error}{hint}") from None
        return spaces_region

    @field_validator("input_path")
    @classmethod
    def _input_reachable(cls, input_path: str, info: ValidationInfo) -> str:
        on_digitalocean = info.data.get("target") is Target.DIGITALOCEAN
        if on_digitalocean and input_path and not input_path.startswith("s3a://"):
            raise ValueError(
                "must be empty (the sample in the image) or an s3a:// URL in the stack's "
                f"bucket: executors cannot see a local path (got {input_path!r})"
            )
        return input_path

    @property
    def bucket_region(self) -> str:
        return self.spaces_region or self.region

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, run_id: str) -> str:
        if run_id and not is_run_id(run_id):
            raise ValueError(
                f"must be empty or at most {RUN_ID_MAX_LENGTH} lowercase letters, digits and '-', "
                f"starting and ending with a letter or digit, e.g. 2 or retry-1 (got {run_id!r})"
            )
        return run_id

    @field_validator("run_timeout_seconds")
    @classmethod
    def _outlasts_executor_wait(cls, timeout: int, info: ValidationInfo) -> int:
        wait = info.data.get("executor_wait_seconds")
        if wait is not None and timeout <= wait:
            raise ValueError(
                f"must be longer than executorWaitSeconds ({wait}), or the wait for the run ends "
                f"before training starts; raise runTimeoutSeconds (got {timeout})"
            )
        return timeout

    @field_validator("install_monitoring")
    @classmethod
    def _monitoring_for_alerts(cls, install: bool, info: ValidationInfo) -> bool:
        if not install and info.data.get("alerting"):
            raise ValueError(
                "must be true when alerting is true: the alert rules and Alertmanager come with "
                "the monitoring stack; set alerting to false or installMonitoring to true"
            )
        return install

    @field_validator("trainer_image")
    @classmethod
    def _image_by_digest(cls, image: str) -> str:
        if image and not _IMAGE_BY_DIGEST.match(image):
            raise ValueError(
                "must be empty (build the trainer with pulumi-docker) or an image pinned by "
                "digest, REPOSITORY@sha256:<64 hex digits>, e.g. "
                f"registry.digitalocean.com/team/spark-trainer@sha256:... (got {image!r})"
            )
        return image

    @property
    def on_digitalocean(self) -> bool:
        return self.target is Target.DIGITALOCEAN


def _account_key(value: object, info: ValidationInfo, example: str) -> bool:
    """Registry keys belong to the account stack (one registry and one tier per team): required
    there, empty everywhere else. True when ``value`` is set and is the account stack's."""
    unset = value is None or value == ""
    on_account = info.data.get("target") is Target.ACCOUNT
    if on_account and unset:
        key = _KEYS_BY_FIELD.get(str(info.field_name), str(info.field_name))
        raise ValueError(
            f"must be set on the account stack: pulumi config set {PROJECT}:{key} ... ({example}), "
            f"as in {ACCOUNT_STACK_FILE}"
        )
    if not on_account and not unset:
        raise ValueError(
            f"is set on the account stack only ({ACCOUNT_STACK_FILE}, target account), since "
            "DigitalOcean has one registry and one tier per team; remove it from this stack"
        )
    return not unset


def _node_size(info: ValidationInfo) -> sizing.NodeSize | None:
    """The node size to check pods against; None on the local target, whose nodes we don't know."""
    if info.data.get("target") is not Target.DIGITALOCEAN:
        return None
    slug = info.data.get("node_size")
    return None if slug is None else sizing.NODE_SIZES[slug]


CONFIG_KEYS: tuple[str, ...] = tuple(
    field.alias or name for name, field in Settings.model_fields.items()
)

_KEYS_BY_FIELD = {name: field.alias or name for name, field in Settings.model_fields.items()}

# The fix for errors pydantic raises itself (type and bound checks), per config key.
_FIXES: dict[str, str] = {
    "haControlPlane": "must be true or false",
    "target": "must be digitalocean, local or account",
    "registryTier": "must be basic or professional",
    "protect": "must be true or false",
    "systemNodeCount": "must be a whole number >= 1",
    "minNodes": "must be a whole number >= 0",
    "maxNodes": "must be a whole number >= 1",
    "executorCores": "must be a whole number >= 1",
    "executorInstances": "must be a whole number >= 1",
    "dataFraction": "must be a number in (0, 1], e.g. 0.01 for 1 % of the data",
    "maxDepth": "must be a whole number from 1 to 30",
    "alerting": "must be true or false",
    "eventLogRetentionDays": "must be a whole number of days >= 1",
    "waitForRun": "must be true or false",
    "executorWaitSeconds": "must be a whole number of seconds > 0, e.g. 600",
    "runTimeoutSeconds": "must be a whole number of seconds > 0, e.g. 3600",
    "installOperator": "must be true or false",
    "installMonitoring": "must be true or false",
}


def _suggestion(key: str) -> str:
    nearest = difflib.get_close_matches(key, CONFIG_KEYS, n=1, cutoff=0.6)
    if nearest:
        return f"did you mean {nearest[0]}?"
    return f"known keys: {', '.join(CONFIG_KEYS)}"


def _problem(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "?"
    # A validated default is reported under its field name; users know the config key.
    key = _KEYS_BY_FIELD.get(key, key)
    if error["type"] == "extra_forbidden":
        return f"{PROJECT}:{key} is not a known key; {_suggestion(key)}"
    if error["type"] == "value_error":
        return f"{PROJECT}:{key} {error['ctx']['error']}"
    return f"{PROJECT}:{key} {_FIXES.get(key, error['msg'])} (got {error.get('input')!r})"


def load_settings(config: Mapping[str, str]) -> Settings:
    """Settings from raw stack config values (camelCase keys without the project prefix).

    Raises SettingsError listing every bad key with its fix.
    """
    try:
        return Settings.model_validate(dict(config))
    except ValidationError as error:
        raise SettingsError([_problem(item) for item in error.errors()]) from None
