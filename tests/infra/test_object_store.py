"""The Spaces bucket, its keys and where their material goes, the history server (mocks)."""

import json
from typing import Any

import pytest

from infra.history_server import COMMAND, CONF_FILE, NAME
from infra.offline import DeclaredResource, OfflineRun
from infra.render import SECRET_PLACEHOLDER, kubernetes_objects, plain
from infra.settings import SettingsError, load_settings
from spark_runs.object_store import SPACES_REGIONS, Bucket, spark_s3a_conf
from tests.infra.test_program import APPLICATION, SECRET, Program, spec

BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
SPACES_KEY = "digitalocean:index/spacesKey:SpacesKey"
BUCKET_OBJECT = "digitalocean:index/spacesBucketObject:SpacesBucketObject"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
MOCK_SECRET_KEY = "mock-secret-key-material"


def bucket_name(run: OfflineRun) -> str:
    name: str = run.one(BUCKET).inputs["name"]
    return name


def spaces_secrets(run: OfflineRun) -> dict[str, DeclaredResource]:
    return {
        secret.inputs["metadata"]["name"]: secret
        for secret in run.of_type(SECRET)
        if secret.inputs["metadata"]["name"].startswith("spaces-")
    }


def history_deployment(run: OfflineRun) -> dict[str, Any]:
    (deployment,) = [d for d in run.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == NAME]
    return deployment.inputs


def test_one_private_bucket_with_event_log_expiry_and_upload_cleanup(program: Program) -> None:
    run = program(eventLogRetentionDays="14")
    bucket = run.one(BUCKET).inputs
    assert bucket["region"] == "sfo2" and bucket["acl"] == "private"
    rules = {rule["id"]: rule for rule in bucket["lifecycleRules"]}
    marker = run.one(BUCKET_OBJECT).inputs
    assert (marker["key"], marker["content"], marker["bucket"]) == ("events/", "", bucket["name"])
    event_logs = rules["expire-event-logs"]["prefix"]
    assert event_logs.startswith("events/") and not marker["key"].startswith(event_logs)
    conf = spec(run)["sparkConf"]
    assert conf["spark.eventLog.rolling.enabled"] == "true"  # names start with that prefix
    assert rules["expire-event-logs"]["expiration"] == {"days": 14}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUploadDays"] == 1
    assert "prefix" not in rules["abort-incomplete-uploads"]  # every upload, not one prefix
    assert all(rule["enabled"] for rule in rules.values())


def test_keys_are_scoped_to_the_bucket_readwrite_for_jobs_read_for_history(
    program: Program,
) -> None:
    run = program()
    grants = sorted(
        (grant["permission"], grant["bucket"])
        for key in run.of_type(SPACES_KEY)
        for grant in key.inputs["grants"]
    )
    assert grants == [("read", bucket_name(run)), ("readwrite", bucket_name(run))]


def test_key_material_is_only_in_secrets_and_secret_there(program: Program) -> None:
    run = program()
    keys = {key.urn for key in run.of_type(SPACES_KEY)}
    for resource in run.resources:
        from_keys = {
            field for field, urns in resource.property_dependencies.items() if keys & set(urns)
        }
        if resource.type != SECRET:
            assert not from_keys, f"{resource.type} {resource.name} takes {from_keys} from a key"
    secrets = spaces_secrets(run)
    assert set(secrets) == {"spaces-jobs", "spaces-history"}
    for secret in secrets.values():
        assert set(plain(secret.inputs)["stringData"]) == {
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        }
        assert set(secret.property_dependencies["stringData"]) & keys
    rendered = json.dumps(kubernetes_objects(run))
    assert MOCK_SECRET_KEY not in rendered and "mock-access-key" not in rendered
    assert rendered.count(SECRET_PLACEHOLDER) >= 4
    outputs = json.dumps({k: v for k, v in run.outputs.items() if k not in run.secret_outputs})
    assert MOCK_SECRET_KEY not in outputs and "mock-access-key" not in outputs


def test_the_run_writes_to_the_bucket_with_keys_from_the_secret_only(program: Program) -> None:
    run = program()
    application = spec(run)
    name = run.one(APPLICATION).inputs["metadata"]["name"]
    arguments = application["arguments"]
    assert arguments[arguments.index("--output") + 1] == f"s3a://{bucket_name(run)}/runs/{name}"
    for role in ("driver", "executor"):
        assert application[role]["envFrom"] == [{"secretRef": {"name": "spaces-jobs"}}]
    conf = application["sparkConf"]
    assert {k: v for k, v in conf.items() if k in spark_s3a_conf(Bucket("b", "sfo2"))} == (
        spark_s3a_conf(Bucket(bucket_name(run), "sfo2"))
    )
    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == f"s3a://{bucket_name(run)}/events/"
    assert not [key for key in conf if "access.key" in key or "secret.key" in key]
    assert run.outputs["bucket"] == bucket_name(run)
    assert run.outputs["runsPrefix"] == "runs/"  # runs write s3a://<bucket>/runs/<name>/
    assert {"bucket", "runsPrefix"}.isdisjoint(run.secret_outputs)


def test_the_job_secret_exists_before_the_run(program: Program) -> None:
    run = program()
    secret = spaces_secrets(run)["spaces-jobs"]
    assert secret.urn in run.one(APPLICATION).dependencies


def test_the_history_server_reads_events_with_the_read_key_in_the_foreground(
    program: Program,
) -> None:
    run = program()
    deployment = history_deployment(run)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == list(COMMAND)
    assert container["image"] == spec(run)["image"]
    assert container["envFrom"] == [{"secretRef": {"name": "spaces-history"}}]
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False
    (conf,) = [c for c in run.of_type(CONFIG_MAP) if c.inputs["metadata"]["name"] == NAME]
    properties = dict(line.split(" ", 1) for line in conf.inputs["data"][CONF_FILE].splitlines())
    assert properties["spark.history.fs.logDirectory"] == f"s3a://{bucket_name(run)}/events/"
    assert properties["spark.hadoop.fs.s3a.endpoint"] == "https://sfo2.digitaloceanspaces.com"
    assert "history" in run.outputs["historyServerCommand"]
    assert (
        "port-forward svc/spark-history-server 18080:18080" in run.outputs["historyServerCommand"]
    )


def test_the_history_server_takes_no_ingress_and_reaches_only_dns_and_https(
    program: Program,
) -> None:
    (policy,) = [
        p.inputs for p in program().of_type(NETWORK_POLICY) if p.inputs["metadata"]["name"] == NAME
    ]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == NAME
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"].get("ingress", []) == []
    ports = sorted(
        (port["protocol"], port["port"])
        for rule in policy["spec"]["egress"]
        for port in rule["ports"]
    )
    assert ports == [("TCP", 53), ("TCP", 443), ("UDP", 53)]


def test_the_local_target_has_no_bucket_and_keeps_results_in_the_pod(program: Program) -> None:
    run = program("local", target="local")
    assert run.of_type(BUCKET) == [] and run.of_type(SPACES_KEY) == []
    assert "envFrom" not in spec(run)["driver"]
    assert not [key for key in spec(run)["sparkConf"] if key.startswith("spark.hadoop.fs.s3a")]
    assert "bucket" not in run.outputs


def test_a_region_without_spaces_is_refused_with_the_list() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"region": "nyc1"})
    (problem,) = caught.value.problems
    assert problem == (
        f"spark-doks:spacesRegion nyc1 has no Spaces; Spaces regions are "
        f"{', '.join(SPACES_REGIONS)} (the region); set spark-doks:spacesRegion"
    )


def test_an_explicit_spaces_region_serves_a_cluster_region_without_spaces(
    program: Program,
) -> None:
    assert load_settings({"region": "nyc1", "spacesRegion": "nyc3"}).bucket_region == "nyc3"
    assert load_settings({"region": "fra1"}).bucket_region == "fra1"
    with pytest.raises(SettingsError, match="spacesRegion ams2 has no Spaces"):
        load_settings({"spacesRegion": "ams2"})
    run = program(region="nyc1", spacesRegion="nyc3")
    assert run.one(BUCKET).inputs["region"] == "nyc3"
    conf = spec(run)["sparkConf"]
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "https://nyc3.digitaloceanspaces.com"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "nyc3"


@pytest.mark.parametrize(
    ("config", "fix"),
    [
        ({"eventLogRetentionDays": "0"}, "eventLogRetentionDays must be a whole number of days"),
        ({"inputPath": "/data/train.parquet"}, "inputPath must be empty (the sample in the image)"),
    ],
)
def test_bad_object_store_keys_name_the_fix(config: dict[str, str], fix: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    (problem,) = caught.value.problems
    assert fix in problem
