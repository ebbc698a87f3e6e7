"""spark-doks policy pack: the guardrails `pulumi preview --policy-pack policy` enforces."""

from pulumi_policy import Policy

from .digitalocean import (
    doks_destroys_associated_resources,
    doks_upgrades,
    protected_in_protected_stacks,
    registry_write_credentials_expire,
)
from .rbac import (
    no_broad_role_binding,
    no_cluster_role_binding,
    service_account_bound_in_own_namespace,
)
from .secrets import grafana_password_not_literal, secret_data_from_pulumi_secrets
from .spaces import no_fullaccess_spaces_key, spaces_key_material_only_in_secrets
from .workloads import no_latest_image, requests_and_limits, trainer_image_by_digest

PACK_NAME = "spark-doks"

POLICIES: list[Policy] = [
    no_cluster_role_binding,
    no_broad_role_binding,
    service_account_bound_in_own_namespace,
    requests_and_limits,
    no_latest_image,
    trainer_image_by_digest,
    grafana_password_not_literal,
    secret_data_from_pulumi_secrets,
    doks_upgrades,
    doks_destroys_associated_resources,
    registry_write_credentials_expire,
    protected_in_protected_stacks,
    no_fullaccess_spaces_key,
    spaces_key_material_only_in_secrets,
]
