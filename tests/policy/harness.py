"""Runs the pack's policies the way the policy SDK's analyzer does, without the Pulumi CLI.

Props go through the SDK's own deserializer and unknown-checking proxy, so policies see the same
read-only Mapping/Sequence objects (and the same unwrapped secrets) they get from the engine.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy
from spark_doks_policy import POLICIES

from infra.offline import DeclaredResource

STACK_URN = "urn:pulumi:test::spark-doks"


def _options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], False, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def policy_resource(
    resource_type: str,
    name: str,
    props: Mapping[str, Any],
    property_dependencies: Mapping[str, list[PolicyResource]] | None = None,
    urn: str | None = None,
    protect: bool = False,
) -> PolicyResource:
    return PolicyResource(
        resource_type,
        unknown_checking_proxy(deserialize_properties(dict(props))),
        urn or f"{STACK_URN}::{resource_type}::{name}",
        name,
        _options(protect),
        None,
        None,
        [dep for deps in (property_dependencies or {}).values() for dep in deps],
        dict(property_dependencies or {}),
    )


def validate_resource(
    policy: ResourceValidationPolicy,
    resource: PolicyResource,
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    args = ResourceValidationArgs(
        resource.resource_type,
        resource.props,
        resource.urn,
        resource.name,
        resource.opts,
        resource.provider,
        config,
    )
    messages: list[str] = []
    assert policy.validate(args, lambda message, _urn=None: messages.append(message)) is None
    return messages


def resource_violations(
    policy: ResourceValidationPolicy,
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    return validate_resource(policy, policy_resource(resource_type, "r", props), config)


def stack_violations(policy: StackValidationPolicy, resources: list[PolicyResource]) -> list[str]:
    messages: list[str] = []
    args = StackValidationArgs(resources, None)
    assert policy.validate(args, lambda message, _urn=None: messages.append(message)) is None
    return messages


def from_declared(resources: Sequence[DeclaredResource]) -> list[PolicyResource]:
    """What the engine hands the pack for resources a mock run declared, dependencies included."""
    converted = {
        resource.urn: policy_resource(
            resource.type,
            resource.name,
            resource.inputs,
            urn=resource.urn,
            protect=resource.protect,
        )
        for resource in resources
    }
    for resource in resources:
        dependencies = converted[resource.urn].property_dependencies
        for prop, urns in resource.property_dependencies.items():
            dependencies[prop] = [converted[urn] for urn in urns if urn in converted]
    return list(converted.values())


def pack_violations(resources: list[PolicyResource]) -> list[str]:
    """Every violation the whole pack reports, as 'policy: resource: message'."""
    found = []
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                found += [
                    f"{policy.name}: {resource.name}: {message}"
                    for message in validate_resource(policy, resource)
                ]
        elif isinstance(policy, StackValidationPolicy):
            found += [
                f"{policy.name}: {message}" for message in stack_violations(policy, resources)
            ]
    return found
