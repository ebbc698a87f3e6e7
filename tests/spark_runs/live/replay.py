"""A Transport that answers from the JSON fixtures (shaped from DigitalOcean's API reference)."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from spark_runs.live.digitalocean import API_URL, PER_PAGE, Api

FIXTURES = Path(__file__).with_name("fixtures")
CLUSTER_ID = "bd5f5959-5e1e-4205-a714-a914373942af"
STACK = "live-3f9c01ab"
PAGE = f"?per_page={PER_PAGE}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(fixture(name))
    return document


@dataclass
class Replay:
    responses: dict[tuple[str, str], tuple[int, bytes]]
    sent: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, method: str, url: str) -> tuple[int, bytes]:
        self.sent.append((method, url))
        if method == "DELETE":
            return self.responses.get((method, url), (204, b""))
        if (method, url) not in self.responses:
            return 404, fixture("not_found.json")
        return self.responses[(method, url)]


def get(path: str, name: str, query: str = PAGE) -> tuple[tuple[str, str], tuple[int, bytes]]:
    return ("GET", f"{API_URL}{path}{query}"), (200, fixture(name))


def account(state: str) -> Replay:
    """The account as listed in `after_destroy` or `clean` (clusters and registry as after it)."""
    responses = dict(
        [
            get("/droplets", f"{state}/droplets.page1.json"),
            get("/volumes", f"{state}/volumes.json"),
            get("/load_balancers", "after_destroy/load_balancers.json"),
            get("/kubernetes/clusters", "after_destroy/kubernetes_clusters.json"),
            get("/registry", "after_destroy/registry.json", query=""),
            get("/registry/spark-doks/repositoriesV2", f"{state}/repositories.json"),
            get(
                "/registry/spark-doks/spark-doks-live-3f9c01ab/digests",
                "after_destroy/digests.json",
            ),
        ]
    )
    if state == "after_destroy":
        # Page 2 is reached through links.pages.next, exactly as the API wrote it.
        responses.update(
            [get("/droplets", "after_destroy/droplets.page2.json", "?page=2&per_page=200")]
        )
    return Replay(responses)


def up_account() -> Replay:
    return Replay(
        dict(
            [
                get("/kubernetes/clusters", "up/kubernetes_clusters.json"),
                get(
                    f"/kubernetes/clusters/{CLUSTER_ID}/destroy_with_associated_resources",
                    "up/associated_resources.json",
                    query="",
                ),
            ]
        )
    )


def api(replay: Replay) -> Api:
    return Api(replay)
