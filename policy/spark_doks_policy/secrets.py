"""Secrets stay out of code, Helm values and stack files.

The policy SDK hands validations plain values (it unwraps Pulumi secrets before calling them), so
"is this a secret" cannot be read off a value. What can be checked is where a value comes from:
a Kubernetes Secret's data must be computed from another resource's outputs (a generated
password, the registry's credentials), which the engine reports as property dependencies; a
string typed into the program has none. The one other legitimate source, a secret stack config
value (`pulumi config set --secret`), has none either: such a Secret names its config key in the
SECRET_CONFIG_ANNOTATION annotation, which a reviewer can check against Pulumi.yaml.
"""

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .kubernetes import HELM_RELEASE_TYPES, SECRET, mapping

SECRET_DATA_FIELDS = ("data", "stringData")
SECRET_CONFIG_ANNOTATION = "spark-doks.io/data-from-secret-config"


def _grafana_values(chart: str, values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Grafana's values inside a release of the grafana chart or kube-prometheus-stack."""
    chart_name = chart.rstrip("/").rsplit("/", 1)[-1]
    if chart_name == "grafana":
        return values
    if chart_name == "kube-prometheus-stack":
        grafana = mapping(values.get("grafana"))
        return None if grafana.get("enabled") is False else grafana
    return None


def _validate_grafana_password(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type not in HELM_RELEASE_TYPES:
        return
    chart = args.props.get("chart")
    if not isinstance(chart, str):
        return
    grafana = _grafana_values(chart, mapping(args.props.get("values")))
    if grafana is None:
        return
    if "adminPassword" in grafana:
        report_violation(
            "Grafana's adminPassword is set in the Helm values (stored in the release and in "
            "state); remove it and set admin.existingSecret to a Secret built from a Pulumi "
            "secret.",
            None,
        )
    if not mapping(grafana.get("admin")).get("existingSecret"):
        report_violation(
            "Grafana's admin.existingSecret is not set, so the chart uses a password of its own "
            "(kube-prometheus-stack's default is a well-known literal); point it at a Secret.",
            None,
        )


def _secret_data_violations(secret: PolicyResource) -> list[str]:
    annotations = mapping(mapping(secret.props.get("metadata")).get("annotations"))
    if annotations.get(SECRET_CONFIG_ANNOTATION):
        return []
    fields = [field for field in SECRET_DATA_FIELDS if mapping(secret.props.get(field))]
    return [
        field
        for field in fields
        if not any(dep.urn != secret.urn for dep in secret.property_dependencies.get(field, []))
    ]


def _validate_secret_sources(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type != SECRET:
            continue
        for field in _secret_data_violations(resource):
            report_violation(
                f"Secret '{resource.name}' has {field} that no other resource produced "
                "(a literal in the program or plain config); build it from a generated password "
                "or the registry's credentials.",
                resource.urn,
            )


grafana_password_not_literal = ResourceValidationPolicy(
    name="grafana-admin-password-from-secret",
    description="Grafana's admin password comes from a Kubernetes Secret, never a Helm value.",
    validate=_validate_grafana_password,
)

secret_data_from_pulumi_secrets = StackValidationPolicy(
    name="secret-data-from-pulumi-secrets",
    description="Kubernetes Secret data comes from Pulumi secret outputs, never a literal.",
    validate=_validate_secret_sources,
)
