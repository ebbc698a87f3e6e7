"""The pack starts the way `pulumi preview --policy-pack policy` starts it and answers the engine.

Pulumi runs policy/__main__.py with policy/ as the working directory; the process prints the
port of its analyzer gRPC server and the engine calls it. This test does the engine's part.
"""

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from spark_doks_policy import PACK_NAME, POLICIES

from tests.support import REPO_ROOT

MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack_dir = REPO_ROOT / "policy"
    process = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=pack_dir, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pack_lists_every_policy_as_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    assert {policy.name for policy in info.policies} == {policy.name for policy in POLICIES}
    assert {policy.enforcementLevel for policy in info.policies} == {MANDATORY}


def test_engine_request_for_a_violating_resource_gets_a_mandatory_diagnostic(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    properties = struct_pb2.Struct()
    properties.update(
        {
            "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "spark", "namespace": "spark-jobs"}],
        }
    )
    resource_type = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
    request = analyzer_pb2.AnalyzeRequest(
        type=resource_type,
        properties=properties,
        urn=f"urn:pulumi:dev::spark-doks::{resource_type}::spark",
        name="spark",
    )
    diagnostics = analyzer.Analyze(request).diagnostics
    assert {d.policyName for d in diagnostics} == {
        "no-cluster-role-binding-for-service-accounts",
        "no-cluster-admin-admin-edit-for-service-accounts",
    }
    assert {d.enforcementLevel for d in diagnostics} == {MANDATORY}


def test_engine_stack_request_flags_only_the_secret_with_literal_data(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    def resource(
        resource_type: str, name: str, props: dict[str, Any], sources: list[str]
    ) -> analyzer_pb2.AnalyzerResource:
        properties = struct_pb2.Struct()
        properties.update(props)
        dependencies = {"stringData": analyzer_pb2.AnalyzerPropertyDependencies(urns=sources)}
        return analyzer_pb2.AnalyzerResource(
            type=resource_type,
            properties=properties,
            urn=f"urn:pulumi:dev::spark-doks::{resource_type}::{name}",
            name=name,
            propertyDependencies=dependencies if sources else {},
        )

    credentials_type = (
        "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
    )
    credentials = resource(credentials_type, "pull", {"write": False}, [])
    data = {"stringData": {".dockerconfigjson": "{}"}}
    from_credentials = resource("kubernetes:core/v1:Secret", "pull", data, [credentials.urn])
    literal = resource("kubernetes:core/v1:Secret", "typed-in", data, [])
    request = analyzer_pb2.AnalyzeStackRequest(resources=[credentials, from_credentials, literal])
    diagnostics = analyzer.AnalyzeStack(request).diagnostics
    assert [(d.policyName, d.urn) for d in diagnostics] == [
        ("secret-data-from-pulumi-secrets", literal.urn)
    ]
