"""DigitalOcean settings that keep the cluster patched and registry credentials short-lived."""

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
DEFAULT_MAX_WRITE_EXPIRY_SECONDS = 86_400


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
