"""Leak sweeper: deletes live-test stacks and DigitalOcean resources older than a few hours.

A live test that was killed (runner timeout, cancelled workflow, laptop closed) can leave a stack
and its billable resources behind. Only what carries a live stack's name in its name or tags
(spark-doks-live-<8 hex digits>) is ever touched, so dev and prod stay out of reach.

    python -m spark_runs.live.sweeper --older-than-hours 3 [--dry-run]

Needs DIGITALOCEAN_TOKEN; with SPACES_ACCESS_KEY_ID/SPACES_SECRET_ACCESS_KEY also buckets, and
with PULUMI_BACKEND_URL (and PULUMI_CONFIG_PASSPHRASE) also the stacks in that backend.
"""

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pulumi import automation

from spark_runs.live import contract, spaces
from spark_runs.live.digitalocean import (
    Api,
    DigitalOceanError,
    Resource,
    https_transport,
    inventory,
)
from spark_runs.live.naming import is_live_stack, live_stack_in
from spark_runs.live.plan import REGION

DEFAULT_MAX_AGE_HOURS = 3.0
# Clusters go first: DOKS deletes their nodes and associated volumes and load balancers with them.
_DELETION_ORDER = (
    "kubernetes_cluster",
    "droplet",
    "load_balancer",
    "volume",
    "repository",
    "registry",
    "bucket",
)


def live_stack_of(resource: Resource) -> str | None:
    for text in (resource.name, *resource.tags):
        stack = live_stack_in(text)
        if stack is not None:
            return stack
    return None


def stale(resources: Iterable[Resource], now: datetime, max_age: timedelta) -> list[Resource]:
    """Resources of live stacks created before now - max_age, in deletion order.

    A resource without a creation time (a repository with no manifest) counts as stale: it costs
    nothing to delete and nothing tells its age.
    """
    selected = [
        resource
        for resource in resources
        if live_stack_of(resource) is not None
        and (resource.created_at is None or resource.created_at < now - max_age)
    ]
    return sorted(selected, key=lambda resource: _DELETION_ORDER.index(resource.kind))


def delete(api: Api, resource: Resource, delete_bucket: Callable[[str], None]) -> None:
    if resource.kind == "kubernetes_cluster":
        api.delete(
            f"/kubernetes/clusters/{resource.id}/destroy_with_associated_resources/dangerous"
        )
    elif resource.kind == "droplet":
        api.delete(f"/droplets/{resource.id}")
    elif resource.kind == "load_balancer":
        api.delete(f"/load_balancers/{resource.id}")
    elif resource.kind == "volume":
        api.delete(f"/volumes/{resource.id}")
    elif resource.kind == "repository":
        for digest in api.manifest_digests(resource.parent, resource.name):
            api.delete(f"/registry/{resource.parent}/{resource.name}/digests/{digest}")
    elif resource.kind == "registry":
        api.delete("/registry")
    elif resource.kind == "bucket":
        delete_bucket(resource.name)
    else:
        raise ValueError(f"the sweeper cannot delete a {resource.kind}")


def stale_stacks(
    stacks: Iterable[automation.StackSummary], now: datetime, max_age: timedelta
) -> list[str]:
    return [
        stack.name
        for stack in stacks
        if is_live_stack(stack.name)
        and not stack.update_in_progress
        and (stack.last_update is None or stack.last_update < now - max_age)
    ]


def _sweep_stacks(backend: str, now: datetime, max_age: timedelta, dry_run: bool) -> list[str]:
    """Destroy and remove stale live stacks of the backend; returns what failed."""
    failed = []
    with tempfile.TemporaryDirectory(prefix="spark-doks-sweeper-") as work_dir:
        workspace = automation.LocalWorkspace(
            work_dir=work_dir,
            project_settings=automation.ProjectSettings(name=contract.PROJECT, runtime="python"),
            env_vars={"PULUMI_BACKEND_URL": backend},
        )
        for name in stale_stacks(workspace.list_stacks(), now, max_age):
            print(f"stack {name}: destroy and remove" + (" (dry run)" if dry_run else ""))
            if dry_run:
                continue
            try:
                stack = automation.Stack.select(name, workspace)
                stack.destroy(remove=True, on_output=print)
            except automation.CommandError as error:
                # Its resources are swept by tag below; the state itself is removed here.
                print(f"stack {name}: destroy failed, removing it anyway: {error}", file=sys.stderr)
                workspace.remove_stack(name, force=True)
                failed.append(name)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--older-than-hours", type=float, default=DEFAULT_MAX_AGE_HOURS)
    parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    args = parser.parse_args(argv)
    if args.older_than_hours <= 0:
        parser.error("--older-than-hours must be positive")
    token = os.environ.get("DIGITALOCEAN_TOKEN")
    if not token:
        print("sweeper: set DIGITALOCEAN_TOKEN", file=sys.stderr)
        return 2
    now, max_age = datetime.now(UTC), timedelta(hours=args.older_than_hours)

    backend = os.environ.get("PULUMI_BACKEND_URL")
    if backend:
        _sweep_stacks(backend, now, max_age, args.dry_run)

    api = Api(https_transport(token))
    resources = inventory(api)
    s3: Any = None
    key_id, secret = (
        os.environ.get("SPACES_ACCESS_KEY_ID"),
        os.environ.get("SPACES_SECRET_ACCESS_KEY"),
    )
    if key_id and secret:
        s3 = spaces.client(REGION, key_id, secret)
        resources += spaces.buckets(s3.list_buckets())
    else:
        print("sweeper: no SPACES_ACCESS_KEY_ID/SPACES_SECRET_ACCESS_KEY, buckets not swept")

    errors = 0
    for resource in stale(resources, now, max_age):
        print(
            f"delete {resource} of {live_stack_of(resource)}"
            + (" (dry run)" if args.dry_run else "")
        )
        if args.dry_run:
            continue
        try:
            delete(api, resource, lambda bucket: spaces.empty_and_delete(s3, bucket))
        except DigitalOceanError as error:
            errors += 1
            print(f"sweeper: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
