"""Runs the pack's policies the way the policy SDK's analyzer does, without the Pulumi CLI.

Props go through the SDK's own deserializer and unknown-checking proxy, so policies see the same
read-only Mapping/Sequence objects (and the same unwrapped secrets) they get from the engine.
"""

from collections.abc import Mapping
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

STACK_URN = "urn:pulumi:test::spark-doks"


def urn(resource_type: str, name: str) -> str:
    return f"{STACK_URN}::{resource_type}::{name}"


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _props(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(deserialize_properties(dict(raw)))


def resource_violations(
    policy: ResourceValidationPolicy,
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    args = ResourceValidationArgs(
        resource_type, _props(props), urn(resource_type, "r"), "r", _options(), None, config
    )
    messages: list[str] = []
    assert policy.validate(args, lambda message, _urn=None: messages.append(message)) is None
    return messages


def policy_resource(
    resource_type: str,
    name: str,
    props: Mapping[str, Any],
    property_dependencies: Mapping[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    return PolicyResource(
        resource_type,
        _props(props),
        urn(resource_type, name),
        name,
        _options(),
        None,
        None,
        [dep for deps in (property_dependencies or {}).values() for dep in deps],
        dict(property_dependencies or {}),
    )


def stack_violations(policy: StackValidationPolicy, resources: list[PolicyResource]) -> list[str]:
    messages: list[str] = []
    args = StackValidationArgs(resources, None)
    assert policy.validate(args, lambda message, _urn=None: messages.append(message)) is None
    return messages
