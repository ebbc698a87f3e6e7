"""What every pod the program declares must state: resources, and images that cannot drift."""

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .kubernetes import (
    HELM_RELEASE_TYPES,
    SPARK_APPLICATION,
    SPARK_ROLES,
    container_images,
    dig,
    image_tag,
    mapping,
    spark_images,
    workload_containers,
)

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

# (section, resource) pairs a container must set; the memory limit stops one pod starving a node.
REQUIRED_RESOURCES = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))

# Charts the program installs -> the values sections holding each workload's `resources`; the
# pods of a Helm release are not Pulumi resources, so their values are where the pack sees them.
CHART_WORKLOADS: dict[str, tuple[str, ...]] = {"spark-operator": ("controller", "webhook")}


def _missing_resources(resources: object) -> list[str]:
    return [
        f"{section}.{name}"
        for section, name in REQUIRED_RESOURCES
        if not mapping(mapping(resources).get(section)).get(name)
    ]


def _validate_resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for container in workload_containers(args.resource_type, args.props):
        missing = _missing_resources(container.get("resources"))
        if missing:
            fields = ", ".join(f"resources.{field}" for field in missing)
            report_violation(
                f"Container '{container.get('name')}' sets no {fields}; "
                "declare CPU and memory requests and a memory limit.",
                None,
            )
    if args.resource_type in HELM_RELEASE_TYPES:
        chart = str(args.props.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
        values = mapping(args.props.get("values"))
        for workload in CHART_WORKLOADS.get(chart, ()):
            missing = _missing_resources(dig(values, workload, "resources"))
            if missing:
                fields = ", ".join(f"{workload}.resources.{field}" for field in missing)
                report_violation(
                    f"Helm release of {chart} sets no {fields} in its values; "
                    "declare CPU and memory requests and a memory limit.",
                    None,
                )
    if args.resource_type == SPARK_APPLICATION:
        # The operator turns cores into the CPU request and memory (+ overhead) into both the
        # memory request and the memory limit, so these two fields cover all three.
        for role in SPARK_ROLES:
            spark_pod = mapping(dig(args.props, "spec", role))
            missing = [field for field in ("cores", "memory") if not spark_pod.get(field)]
            if missing:
                report_violation(
                    f"SparkApplication {role} sets no {' or '.join(missing)}; "
                    f"set spec.{role}.cores and spec.{role}.memory.",
                    None,
                )


def _validate_no_latest(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for image in container_images(args.resource_type, args.props):
        if DIGEST.search(image):
            continue
        tag = image_tag(image)
        if tag is None or tag == "latest":
            report_violation(
                f"Image '{image}' resolves to ':latest'; pin a version tag or a digest.",
                None,
            )


def _validate_trainer_digest(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != SPARK_APPLICATION:
        return
    if dig(args.props, "spec", "imagePullPolicy") == "Never":
        # An image loaded into a local cluster has no repo digest; no-latest-image still applies.
        return
    images = list(spark_images(args.props))
    if not images:
        report_violation("SparkApplication sets no spec.image.", None)
    for image in images:
        if not DIGEST.search(image):
            report_violation(
                f"Trainer image '{image}' is not pinned by digest; "
                "use the pushed image's repo digest (name@sha256:...).",
                None,
            )


requests_and_limits = ResourceValidationPolicy(
    name="containers-declare-requests-and-limits",
    description=(
        "Every container, and the SparkApplication's driver and executors, declare CPU and "
        "memory requests and a memory limit."
    ),
    validate=_validate_resources,
)

no_latest_image = ResourceValidationPolicy(
    name="no-latest-image",
    description="No container image is ':latest' or untagged.",
    validate=_validate_no_latest,
)

trainer_image_by_digest = ResourceValidationPolicy(
    name="trainer-image-pinned-by-digest",
    description="The SparkApplication runs the trainer image pinned by digest.",
    validate=_validate_trainer_digest,
)
