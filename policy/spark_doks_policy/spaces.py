"""Spaces keys: scoped to a bucket, and their material only in Kubernetes Secrets.

A ``fullaccess`` grant is account-wide (its bucket is empty) and overrides every scoped grant, so
a leaked job key would open every bucket of the account. Key material is traced by where values
come from (the engine's property dependencies): only a Secret may take a property from a key.
"""

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .kubernetes import SECRET, mapping

SPACES_KEY = "digitalocean:index/spacesKey:SpacesKey"
SCOPED_PERMISSIONS = ("read", "readwrite")


def _validate_grants(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != SPACES_KEY:
        return
    for grant in args.props.get("grants") or []:
        permission, bucket = mapping(grant).get("permission"), mapping(grant).get("bucket")
        if permission not in SCOPED_PERMISSIONS or not bucket:
            report_violation(
                f"Spaces key grants {permission!r} on bucket {bucket!r}; grant read or readwrite "
                "on one named bucket (fullaccess is account-wide).",
                None,
            )


def _validate_key_material(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    keys = {resource.urn for resource in args.resources if resource.resource_type == SPACES_KEY}
    for resource in args.resources:
        if resource.resource_type in (SECRET, SPACES_KEY):
            continue
        for field, dependencies in resource.property_dependencies.items():
            if any(dependency.urn in keys for dependency in dependencies):
                report_violation(
                    f"{resource.resource_type} '{resource.name}' takes {field} from a Spaces key; "
                    "put the key in a Kubernetes Secret and hand it to pods with envFrom.",
                    resource.urn,
                )


no_fullaccess_spaces_key = ResourceValidationPolicy(
    name="spaces-key-scoped-to-a-bucket",
    description="Spaces keys grant read or readwrite on a named bucket, never fullaccess.",
    validate=_validate_grants,
)

spaces_key_material_only_in_secrets = StackValidationPolicy(
    name="spaces-key-material-only-in-secrets",
    description="Only Kubernetes Secrets take values from a Spaces key.",
    validate=_validate_key_material,
)
