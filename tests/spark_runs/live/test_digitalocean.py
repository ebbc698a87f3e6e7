"""The leftover check against responses shaped from DigitalOcean's API reference (not recorded)."""

from datetime import datetime

import pytest

from spark_runs.live import spaces
from spark_runs.live.digitalocean import (
    Api,
    DigitalOceanError,
    Footprint,
    Resource,
    inventory,
    leftovers,
    record_footprint,
)
from tests.spark_runs.live.replay import (
    CLUSTER_ID,
    STACK,
    Replay,
    account,
    api,
    fixture_json,
    up_account,
)

BUCKET = "spark-doks-live-3f9c01ab-d4e5f6"


def footprint() -> Footprint:
    return record_footprint(api(up_account()), STACK, CLUSTER_ID, BUCKET)


def listed_buckets(state: str) -> list[Resource]:
    listing = fixture_json(f"{state}/list_buckets.json")
    for bucket in listing["Buckets"]:  # type: ignore[attr-defined]
        bucket["CreationDate"] = datetime.fromisoformat(
            bucket["CreationDate"]
        )  # as boto3 parses it
    return spaces.buckets(listing)


def test_the_footprint_holds_the_clusters_nodes_and_what_doks_created_for_it() -> None:
    recorded = footprint()
    assert recorded.droplet_ids == {"52000001", "52000002"}
    assert recorded.associated == {("volume", "ba49449a-7435-11ea-b89e-0a58ac14480f")}
    assert recorded.tags == {"spark-doks-live-3f9c01ab", f"k8s:{CLUSTER_ID}"}


def test_a_footprint_of_a_cluster_the_account_lacks_is_an_error() -> None:
    with pytest.raises(DigitalOceanError, match="not in the account"):
        record_footprint(api(up_account()), STACK, "00000000-0000-4000-8000-000000000000", BUCKET)


def test_the_node_pools_of_the_cluster_say_how_they_scale() -> None:
    (pool,) = api(up_account()).node_pools(CLUSTER_ID)
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"]) == (True, 1, 4)
    with pytest.raises(DigitalOceanError, match="not in the account"):
        api(up_account()).node_pools("00000000-0000-4000-8000-000000000000")


def test_listing_follows_every_page() -> None:
    replay = account("after_destroy")
    droplets = api(replay).droplets()
    assert [d.name for d in droplets] == [
        "spark-doks-dev-pool-a1",
        "web-01",
        "spark-doks-live-3f9c01ab-pool-x2",
    ]
    assert len([url for _, url in replay.sent if "/droplets" in url]) == 2


def test_after_destroy_every_kind_of_leftover_is_reported_and_nothing_of_dev() -> None:
    resources = [*inventory(api(account("after_destroy"))), *listed_buckets("after_destroy")]
    left = {(r.kind, r.name) for r in leftovers(resources, footprint())}
    assert left == {
        ("droplet", "spark-doks-live-3f9c01ab-pool-x2"),  # by tag and by node id
        ("volume", "pvc-0c2b8f4e-6a7d-4b8f-9d3e-2f1a0b9c8d7e"),  # untagged: by the footprint
        ("repository", "spark-doks-live-3f9c01ab"),  # by name
        ("bucket", BUCKET),
    }


def test_a_load_balancer_left_on_the_stacks_nodes_is_reported() -> None:
    balancer = Resource("load_balancer", "lb-1", "a0f3e2d1", None, (), frozenset({"52000001"}))
    assert leftovers([balancer], footprint()) == [balancer]


def test_a_load_balancer_targeting_the_clusters_tag_is_reported() -> None:
    balancer = Resource("load_balancer", "lb-2", "a0f3e2d2", None, (f"k8s:{CLUSTER_ID}",))
    assert leftovers([balancer], footprint()) == [balancer]


def test_a_registry_named_after_the_stack_is_reported() -> None:
    registry = Resource(
        "registry", "spark-doks-live-3f9c01ab-123456", "spark-doks-live-3f9c01ab-123456", None
    )
    assert leftovers([registry], footprint()) == [registry]


def test_once_doks_has_finished_deleting_nothing_is_left() -> None:
    resources = [*inventory(api(account("clean"))), *listed_buckets("clean")]
    assert leftovers(resources, footprint()) == []
    # The same account still holds dev's cluster, droplet, volume, balancer, registry and bucket.
    kinds = {"kubernetes_cluster", "droplet", "volume", "load_balancer", "registry", "repository"}
    assert {r.kind for r in resources} >= {*kinds, "bucket"}


def test_an_api_error_names_the_request_and_the_message() -> None:
    replay = Replay({})
    with pytest.raises(DigitalOceanError, match=r"GET .*/droplets.*HTTP 404: The resource"):
        Api(replay).droplets()


def test_an_account_without_a_registry_lists_no_repositories() -> None:
    replay = account("clean")
    del replay.responses[("GET", "https://api.digitalocean.com/v2/registry")]
    resources = inventory(api(replay))
    assert not [r for r in resources if r.kind in {"registry", "repository"}]
