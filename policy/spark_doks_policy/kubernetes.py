"""Where Kubernetes resource inputs keep their pods, containers and images.

Policy props arrive as read-only Mapping/Sequence proxies (not dict/list), so every walk here
checks the abstract types.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

SPARK_APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
SECRET = "kubernetes:core/v1:Secret"
HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")

# Path from a workload's inputs to its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

SPARK_ROLES = ("driver", "executor")


def mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (absent or malformed input)."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any]:
    """The value if it is a list, else an empty one (strings are not lists here)."""
    return value if isinstance(value, Sequence) and not isinstance(value, str) else []


def dig(value: Any, *path: str) -> Any:
    for key in path:
        value = mapping(value).get(key)
    return value


def pod_containers(pod_spec: Any) -> Iterator[Mapping[str, Any]]:
    for field in ("initContainers", "containers"):
        for container in sequence(mapping(pod_spec).get(field)):
            yield mapping(container)


def workload_containers(
    resource_type: str, props: Mapping[str, Any]
) -> Iterator[Mapping[str, Any]]:
    """Containers of a built-in workload, or a SparkApplication's driver/executor extras."""
    path = POD_SPEC_PATHS.get(resource_type)
    if path is not None:
        yield from pod_containers(dig(props, *path))
    elif resource_type == SPARK_APPLICATION:
        for role in SPARK_ROLES:
            spark_pod = dig(props, "spec", role)
            for field in ("initContainers", "sidecars"):
                for container in sequence(mapping(spark_pod).get(field)):
                    yield mapping(container)


def container_images(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    """Every image a resource would run, including a SparkApplication's main image."""
    for container in workload_containers(resource_type, props):
        image = container.get("image")
        if isinstance(image, str):
            yield image
    if resource_type == SPARK_APPLICATION:
        yield from spark_images(props)


def spark_images(props: Mapping[str, Any]) -> Iterator[str]:
    """The SparkApplication's image and any per-role override."""
    for path in (("spec", "image"), ("spec", "driver", "image"), ("spec", "executor", "image")):
        image = dig(props, *path)
        if isinstance(image, str):
            yield image


def image_tag(image: str) -> str | None:
    """The tag of an image reference without a digest; None when it has no tag at all."""
    last_component = image.rsplit("/", 1)[-1]
    if ":" not in last_component:
        return None
    return last_component.rsplit(":", 1)[1]
