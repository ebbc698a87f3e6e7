"""Spaces keys: never account-wide, and their material nowhere but in Kubernetes Secrets."""

import pytest
from spark_doks_policy.kubernetes import SECRET, SPARK_APPLICATION
from spark_doks_policy.spaces import (
    SPACES_KEY,
    no_fullaccess_spaces_key,
    spaces_key_material_only_in_secrets,
)

from tests.policy.harness import policy_resource, resource_violations, stack_violations

KEY = policy_resource(
    SPACES_KEY,
    "jobs",
    {
        "grants": [{"bucket": "spark-doks-dev", "permission": "readwrite"}],
        "accessKey": "DO00EXAMPLE",
        "secretKey": "example-secret",
    },
)


@pytest.mark.parametrize(
    "grant",
    [
        {"bucket": "", "permission": "fullaccess"},
        {"bucket": "spark-doks-dev", "permission": "fullaccess"},
        {"bucket": "", "permission": "read"},
    ],
    ids=["fullaccess", "fullaccess-named", "unscoped-read"],
)
def test_account_wide_grants_are_refused(grant: dict[str, str]) -> None:
    (message,) = resource_violations(no_fullaccess_spaces_key, SPACES_KEY, {"grants": [grant]})
    assert "grant read or readwrite on one named bucket" in message


def test_a_read_and_a_readwrite_grant_on_the_bucket_pass() -> None:
    grants = [
        {"bucket": "spark-doks-dev", "permission": "read"},
        {"bucket": "spark-doks-dev", "permission": "readwrite"},
    ]
    assert resource_violations(no_fullaccess_spaces_key, SPACES_KEY, {"grants": grants}) == []


def test_a_secret_may_hold_key_material() -> None:
    secret = policy_resource(
        SECRET, "spaces-jobs", {"stringData": {"AWS_SECRET_ACCESS_KEY": "x"}}, {"stringData": [KEY]}
    )
    assert stack_violations(spaces_key_material_only_in_secrets, [KEY, secret]) == []


def test_key_material_in_spark_conf_is_reported() -> None:
    application = policy_resource(
        SPARK_APPLICATION,
        "train",
        {"spec": {"sparkConf": {"spark.hadoop.fs.s3a.secret.key": "example-secret"}}},
        {"spec": [KEY]},
    )
    (message,) = stack_violations(spaces_key_material_only_in_secrets, [KEY, application])
    assert "'train' takes spec from a Spaces key" in message
