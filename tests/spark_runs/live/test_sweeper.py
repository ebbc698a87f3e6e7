"""The leak sweeper picks only old resources of live stacks, and deletes each kind the right way."""

from datetime import UTC, datetime, timedelta

import pytest
from pulumi import automation

from spark_runs.live import sweeper
from spark_runs.live.digitalocean import API_URL, Resource, inventory
from spark_runs.live.sweeper import delete, main, stale, stale_stacks
from tests.spark_runs.live.replay import account, api
from tests.spark_runs.live.test_digitalocean import listed_buckets

# The live stack's resources were made between 06:01 and 06:30 on 2026-12-01.
LATER = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SOON_AFTER = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
THREE_HOURS = timedelta(hours=3)


def account_resources() -> list[Resource]:
    return [*inventory(api(account("after_destroy"))), *listed_buckets("after_destroy")]


def test_old_resources_of_live_stacks_are_swept_in_deletion_order() -> None:
    swept = stale(account_resources(), LATER, THREE_HOURS)
    assert [(r.kind, r.name) for r in swept] == [
        ("droplet", "spark-doks-live-3f9c01ab-pool-x2"),
        ("repository", "spark-doks-live-3f9c01ab"),
        ("bucket", "spark-doks-live-3f9c01ab-d4e5f6"),
    ]


def test_nothing_younger_than_the_limit_is_swept() -> None:
    assert stale(account_resources(), SOON_AFTER, THREE_HOURS) == []


def test_dev_resources_are_never_swept_however_old() -> None:
    swept = stale(account_resources(), LATER + timedelta(days=365), THREE_HOURS)
    assert swept and all("live-3f9c01ab" in r.name for r in swept)


def test_a_cluster_goes_with_its_associated_resources() -> None:
    replay = account("after_destroy")
    cluster = Resource("kubernetes_cluster", "c-1", "spark-doks-live-3f9c01ab", None)
    delete(api(replay), cluster, lambda bucket: None)
    assert replay.sent == [
        (
            "DELETE",
            f"{API_URL}/kubernetes/clusters/c-1/destroy_with_associated_resources/dangerous",
        )
    ]


def test_a_repository_is_emptied_manifest_by_manifest() -> None:
    replay = account("after_destroy")
    (repository,) = [r for r in account_resources() if r.name == "spark-doks-live-3f9c01ab"]
    delete(api(replay), repository, lambda bucket: None)
    deletes = [url for method, url in replay.sent if method == "DELETE"]
    assert deletes == [
        f"{API_URL}/registry/spark-doks/spark-doks-live-3f9c01ab/digests/"
        "sha256:cb8a924afdf0229ef7515d9e5b3024e23b3eb03ddbba287f4a19c6ac90b8d221"
    ]


def test_buckets_are_handed_to_the_s3_side() -> None:
    emptied: list[str] = []
    bucket = Resource(
        "bucket", "spark-doks-live-3f9c01ab-d4e5f6", "spark-doks-live-3f9c01ab-d4e5f6", None
    )
    delete(api(account("clean")), bucket, emptied.append)
    assert emptied == [bucket.name]


def test_only_idle_old_live_stacks_are_destroyed() -> None:
    old = LATER - timedelta(hours=5)
    stacks = [
        automation.StackSummary("live-3f9c01ab", False, False, old),
        automation.StackSummary("live-00aa11bb", False, True, old),  # an update is running
        automation.StackSummary("live-22cc33dd", False, False, LATER - timedelta(hours=1)),
        automation.StackSummary("dev", True, False, old),
        automation.StackSummary("prod", False, False, old),
    ]
    assert stale_stacks(stacks, LATER, THREE_HOURS) == ["live-3f9c01ab"]


def test_without_a_token_the_sweeper_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    assert main(["--dry-run"]) == 2
    assert "DIGITALOCEAN_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "sweep"])
def test_a_sweep_deletes_old_live_resources_of_the_account_and_only_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dry_run: bool
) -> None:
    replay = account("after_destroy")
    monkeypatch.setattr(sweeper, "https_transport", lambda token: replay)
    for name in ("PULUMI_BACKEND_URL", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "token-for-the-replay")
    # The fixtures' resources are from 2026-12-01 06:00-06:30; today is later, so they are old.
    assert main(["--older-than-hours", "3", *(["--dry-run"] if dry_run else [])]) == 0
    printed = capsys.readouterr().out
    assert "delete droplet spark-doks-live-3f9c01ab-pool-x2 (52000002) of live-3f9c01ab" in printed
    assert "spark-doks-dev" not in printed
    deleted = [url for method, url in replay.sent if method == "DELETE"]
    assert deleted == ([] if dry_run else [
        f"{API_URL}/droplets/52000002",
        f"{API_URL}/registry/spark-doks/spark-doks-live-3f9c01ab/digests/"
        "sha256:cb8a924afdf0229ef7515d9e5b3024e23b3eb03ddbba287f4a19c6ac90b8d221",
    ])  # fmt: skip
