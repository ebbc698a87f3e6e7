"""DigitalOcean settings that keep the cluster patched, leave nothing billable behind, keep
registry credentials short-lived and keep the protected stacks' cluster and registry protected."""

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

DOKS_CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
REGISTRY_CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
DOKS_NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
CONTAINER_REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
DEFAULT_MAX_WRITE_EXPIRY_SECONDS = 86_400
# Stacks whose cluster, pools and registry must be protected: prod, and the account stack that
# holds the registry prod pulls from.
DEFAULT_PROTECTED_STACKS = ["prod", "account"]
PROTECTED_TYPES = (DOKS_CLUSTER, DOKS_NODE_POOL, CONTAINER_REGISTRY)


def stack_of(urn: str) -> str:
    """The stack name in a URN (``urn:pulumi:STACK::PROJECT::TYPE::NAME``)."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def _validate_upgrades(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != DOKS_CLUSTER:
        return
    for field in ("autoUpgrade", "surgeUpgrade"):
        if args.props.get(field) is not True:
            report_violation(
                f"DOKS cluster has {field}={args.props.get(field)!r}; set it to true so patch "
                "releases are applied without taking capacity away from running jobs.",
                None,
            )


def _validate_write_expiry(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != REGISTRY_CREDENTIALS or args.props.get("write") is not True:
        return
    max_seconds = int(args.get_config().get("maxExpirySeconds", DEFAULT_MAX_WRITE_EXPIRY_SECONDS))
    expiry = args.props.get("expirySeconds")
    if not isinstance(expiry, int | float) or not 0 < expiry <= max_seconds:
        report_violation(
            f"Registry write credentials have expirySeconds={expiry!r}; "
            f"set expirySeconds between 1 and {max_seconds}.",
            None,
        )


def _validate_associated_resources(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != DOKS_CLUSTER:
        return
    if args.props.get("destroyAllAssociatedResources") is not True:
        report_violation(
            "DOKS cluster does not destroy its associated resources; set "
            "destroy_all_associated_resources=True so the volumes of PersistentVolumeClaims and "
            "the load balancers of Services are deleted with it instead of staying billed.",
            None,
        )


def _validate_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in PROTECTED_TYPES:
        return
    stacks = list(args.get_config().get("stacks", DEFAULT_PROTECTED_STACKS))
    stack = stack_of(args.urn)
    if stack in stacks and not args.opts.protect:
        report_violation(
            f"{args.resource_type.rsplit(':', 1)[-1]} {args.name} in stack {stack} is not "
            f"protected; set spark-doks:protect to true in Pulumi.{stack}.yaml.",
            None,
        )


doks_upgrades = ResourceValidationPolicy(
    name="doks-auto-and-surge-upgrade",
    description="DOKS clusters have auto-upgrade and surge-upgrade on.",
    validate=_validate_upgrades,
)

registry_write_credentials_expire = ResourceValidationPolicy(
    name="registry-write-credentials-expire",
    description="DOCR credentials with write access expire.",
    validate=_validate_write_expiry,
    config_schema=PolicyConfigSchema(
        properties={
            "maxExpirySeconds": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_WRITE_EXPIRY_SECONDS,
            }
        }
    ),
)

doks_destroys_associated_resources = ResourceValidationPolicy(
    name="doks-destroys-associated-resources",
    description="Deleting a DOKS cluster also deletes its volumes and load balancers.",
    validate=_validate_associated_resources,
)

protected_in_protected_stacks = ResourceValidationPolicy(
    name="protected-in-protected-stacks",
    description="Clusters, node pools and registries of the protected stacks are protected.",
    validate=_validate_protected,
    config_schema=PolicyConfigSchema(
        properties={
            "stacks": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULT_PROTECTED_STACKS,
            }
        }
    ),
)
