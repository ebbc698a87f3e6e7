"""What `make render` writes, validated against the Kubernetes schemas, the SparkApplication CRD
and the spark-operator chart's values (upstream files that `make schemas` fetches)."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra import render
from infra.offline import OfflineRun
from infra.spark import operator_values
from tests.support import REPO_ROOT, schema_file, unknown_helm_values

Program = Callable[..., OfflineRun]

# A minor DOKS offers (1.33 to 1.35 at the time of writing) and kubernetes-validate ships.
KUBERNETES_VERSION = "1.34.0"
STACKS = ("dev", "local", "prod")


@pytest.fixture(scope="module")
def objects(program: Program) -> dict[str, list[dict[str, Any]]]:
    return {
        stack: render.kubernetes_objects(program(stack, **render.stack_config(stack)))
        for stack in STACKS
    }


def builtin_objects(objects: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for manifests in objects.values():
        yield from (m for m in manifests if m["kind"] != "SparkApplication")


def test_every_builtin_object_is_valid_for_the_pinned_kubernetes_minor(
    objects: dict[str, list[dict[str, Any]]],
) -> None:
    checked = 0
    for manifest in builtin_objects(objects):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        checked += 1
    kinds = {m["kind"] for m in builtin_objects(objects)}
    assert {"Namespace", "ServiceAccount", "Role", "RoleBinding", "Secret"} <= kinds
    assert checked >= 10


def test_a_broken_object_fails_kubernetes_validation() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "r", "namespace": "n"},
        "rules": [{"resources": "pods", "verbs": ["get"]}],
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(role, KUBERNETES_VERSION, strict=True)


@pytest.fixture(scope="module")
def crd_schema() -> dict[str, Any]:
    path = schema_file("spark-operator/sparkoperator.k8s.io_sparkapplications.yaml")
    crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize("stack", STACKS)
def test_spark_application_matches_the_operator_crd(
    objects: dict[str, list[dict[str, Any]]], stack: str, crd_schema: dict[str, Any]
) -> None:
    (application,) = [m for m in objects[stack] if m["kind"] == "SparkApplication"]
    jsonschema.validate(application, crd_schema)


def test_the_crd_schema_rejects_a_wrong_type(crd_schema: dict[str, Any]) -> None:
    broken = {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "x"},
        "spec": {
            "type": "Python",
            "sparkVersion": "4.0.4",
            "mainApplicationFile": "local:///x.py",
            "driver": {"cores": "1"},
            "executor": {},
        },
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, crd_schema)


def test_every_operator_value_the_program_sets_exists_in_the_chart() -> None:
    chart_values = schema_file("spark-operator/chart/values.yaml")
    defaults = yaml.safe_load(chart_values.read_text())
    values = operator_values("spark-jobs")
    assert "jobNamespaces" in values["spark"]
    assert unknown_helm_values(values, defaults) == []
    assert unknown_helm_values({"spark": {"jobNamespace": ["x"]}}, defaults) == [
        "spark.jobNamespace"
    ]


def test_render_writes_every_object_with_secrets_masked(tmp_path: Path) -> None:
    output = tmp_path / "rendered"
    assert render.main(["--output", str(output), "dev", "local"]) == 0
    dev = sorted(p.name for p in (output / "dev").iterdir())
    assert any("sparkapplication" in name for name in dev)
    assert "helm-release-spark-operator.yaml" in dev
    secrets = [yaml.safe_load(p.read_text()) for p in (output / "dev").glob("secret-*.yaml")]
    (pull,) = [s for s in secrets if s["type"] == "kubernetes.io/dockerconfigjson"]
    assert pull["stringData"] == {".dockerconfigjson": render.SECRET_PLACEHOLDER}
    (grafana,) = [s for s in secrets if s["metadata"]["name"] == "grafana-admin"]
    assert grafana["stringData"]["admin-password"] == render.SECRET_PLACEHOLDER
    local = [yaml.safe_load(p.read_text()) for p in (output / "local").glob("secret-*.yaml")]
    assert [s["metadata"]["name"] for s in local] == ["grafana-admin"]


def test_render_of_an_unknown_stack_exits_2_and_keeps_the_previous_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "rendered"
    output.mkdir()
    (output / "keep.yaml").write_text("kind: Previous\n")
    assert render.main(["--output", str(output), "dev", "staging"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("render: no stack file Pulumi.staging.yaml") and "\n" not in error
    assert [p.name for p in output.iterdir()] == ["keep.yaml"]
    assert [p.name for p in tmp_path.iterdir()] == ["rendered"]


def _rendered_files(output: Path) -> dict[str, str]:
    return {
        str(path.relative_to(output)): path.read_text()
        for path in sorted(output.rglob("*"))
        if path.is_file()
    }


def test_render_file_names_are_stable_and_name_kind_namespace_and_name(tmp_path: Path) -> None:
    # Resources register in a different order from run to run; names must not depend on it.
    first, second = tmp_path / "first", tmp_path / "second"
    assert render.main(["--output", str(first), "dev"]) == 0
    assert render.main(["--output", str(second), "dev"]) == 0
    assert _rendered_files(first) == _rendered_files(second)
    names = {path.name for path in (first / "dev").glob("*.yaml")}
    assert {"namespace-spark-jobs.yaml", "secret-spark-jobs-registry-pull.yaml"} <= names
    assert not [name for name in names if name[0].isdigit()]


def test_embedded_documents_are_written_as_readable_files(tmp_path: Path) -> None:
    assert render.main(["--output", str(tmp_path), "dev"]) == 0
    release = yaml.safe_load((tmp_path / "dev" / "helm-release-prometheus.yaml").read_text())
    scrape = (
        tmp_path / "dev" / "helm-release-prometheus.embedded" / "values.extraScrapeConfigs.yaml"
    )
    assert yaml.safe_load(scrape.read_text()) == yaml.safe_load(
        release["values"]["extraScrapeConfigs"]
    )
    dashboards = list((tmp_path / "dev" / "helm-release-grafana.embedded").glob("*.json"))
    assert dashboards
    for dashboard in dashboards:
        lines = dashboard.read_text().splitlines()
        assert len(lines) > 50 and json.loads("\n".join(lines))["panels"]


def test_the_placeholder_digest_is_marked_and_billed_resources_are_summarized(
    tmp_path: Path,
) -> None:
    assert render.main(["--output", str(tmp_path), "prod", "local", "account"]) == 0
    (application,) = (tmp_path / "prod").glob("sparkapplication-*.yaml")
    first_line, _, body = application.read_text().partition("\n")
    image = yaml.safe_load(body)["spec"]["image"]
    assert first_line.startswith("# PLACEHOLDER: sha256:") and image.partition("@")[2] in first_line
    summary = yaml.safe_load((tmp_path / "prod" / "digitalocean.yaml").read_text())
    prod = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"]
    assert summary["cluster"]["region"] == prod["spark-doks:region"]
    assert summary["cluster"]["haControlPlane"] is True
    pools = {pool["name"].rsplit("-", 1)[1]: pool for pool in summary["nodePools"]}
    spark, system = pools["spark"], pools["system"]
    assert (spark["size"], spark["minNodes"], spark["maxNodes"]) == (
        prod["spark-doks:nodeSize"],
        prod["spark-doks:minNodes"],
        prod["spark-doks:maxNodes"],
    )
    assert (system["size"], system["nodeCount"]) == (
        prod["spark-doks:systemNodeSize"],
        prod["spark-doks:systemNodeCount"],
    )
    assert "the account stack's" in summary["registry"]
    cost = summary["monthlyCostUsd"]
    assert 0 < cost["floor"] < cost["ceiling"]
    (bucket,) = summary["spaces"]["buckets"]
    assert bucket["region"] == prod["spark-doks:region"]
    assert summary["spaces"]["subscriptionMonthlyUsd"] == 5.0
    assert "Spaces subscription" in cost["covers"]
    local = yaml.safe_load((tmp_path / "local" / "digitalocean.yaml").read_text())
    assert "none" in local["digitalocean"]
    account = yaml.safe_load((tmp_path / "account" / "digitalocean.yaml").read_text())
    stack = yaml.safe_load((REPO_ROOT / "Pulumi.account.yaml").read_text())["config"]
    (registry,) = account["registry"]
    assert registry["tier"] == stack["spark-doks:registryTier"]
