"""Least privilege for workload service accounts: namespaced bindings only, no broad roles."""

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .kubernetes import CLUSTER_ROLE_BINDING, ROLE_BINDING, dig, mapping, sequence

# Kubernetes' built-in user-facing roles that grant write access to (almost) everything.
BROAD_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit"})


def _service_account_subjects(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subjects = (mapping(subject) for subject in sequence(props.get("subjects")))
    return [subject for subject in subjects if subject.get("kind") == "ServiceAccount"]


def _validate_no_cluster_role_binding(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != CLUSTER_ROLE_BINDING:
        return
    names = [str(s.get("name")) for s in _service_account_subjects(args.props)]
    if names:
        report_violation(
            f"ClusterRoleBinding grants cluster-wide rights to service account(s) {names}; "
            "use a Role and RoleBinding in the job namespace instead.",
            None,
        )


def _validate_no_broad_role(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type not in (ROLE_BINDING, CLUSTER_ROLE_BINDING):
        return
    role_ref = mapping(args.props.get("roleRef"))
    role_name = role_ref.get("name")
    if role_ref.get("kind") != "ClusterRole" or role_name not in BROAD_CLUSTER_ROLES:
        return
    names = [str(s.get("name")) for s in _service_account_subjects(args.props)]
    if names:
        report_violation(
            f"Binding gives service account(s) {names} the built-in ClusterRole '{role_name}'; "
            "bind a Role listing only the verbs and resources the workload needs.",
            None,
        )


def _validate_namespaced_binding(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != ROLE_BINDING:
        return
    binding_namespace = dig(args.props, "metadata", "namespace")
    if not binding_namespace:
        report_violation(
            "RoleBinding has no metadata.namespace; set it to the job namespace.",
            None,
        )
        return
    for subject in _service_account_subjects(args.props):
        if subject.get("namespace") != binding_namespace:
            report_violation(
                f"RoleBinding in namespace '{binding_namespace}' binds service account "
                f"'{subject.get('name')}' of namespace '{subject.get('namespace')}'; "
                "a service account may only be bound in its own namespace.",
                None,
            )


no_cluster_role_binding = ResourceValidationPolicy(
    name="no-cluster-role-binding-for-service-accounts",
    description="Workload service accounts get no ClusterRoleBinding.",
    validate=_validate_no_cluster_role_binding,
)

no_broad_role_binding = ResourceValidationPolicy(
    name="no-cluster-admin-admin-edit-for-service-accounts",
    description="No service account is bound to the cluster-admin, admin or edit ClusterRoles.",
    validate=_validate_no_broad_role,
)

service_account_bound_in_own_namespace = ResourceValidationPolicy(
    name="service-account-bound-in-own-namespace",
    description="A RoleBinding binds only service accounts of its own namespace.",
    validate=_validate_namespaced_binding,
)
