"""The slice of DigitalOcean's API the live test and the leak sweeper need, and the leftover check.

Standard library HTTP only; every request goes through one `Transport`, so the unit tests replay
responses shaped like the API reference's examples instead of reaching an account.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spark_runs.live import contract

API_URL = "https://api.digitalocean.com/v2"
PER_PAGE = 200

# (method, url) -> (HTTP status, body)
Transport = Callable[[str, str], tuple[int, bytes]]


class DigitalOceanError(RuntimeError):
    """The API refused a request or could not be reached."""


def https_transport(token: str, timeout_seconds: float = 30) -> Transport:
    def send(method: str, url: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            url, method=method, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise DigitalOceanError(f"cannot reach {API_URL}: {error}") from error

    return send


@dataclass(frozen=True)
class Resource:
    kind: str  # droplet, volume, load_balancer, kubernetes_cluster, registry, repository, bucket
    id: str
    name: str
    created_at: datetime | None
    tags: tuple[str, ...] = ()
    droplet_ids: frozenset[str] = frozenset()  # droplets a volume or load balancer is attached to
    parent: str = ""  # the registry of a repository

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.id})"


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _ids(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(value) for value in values)


class Api:
    def __init__(self, transport: Transport, base_url: str = API_URL) -> None:
        self._send = transport
        self._base = base_url

    def _request(self, method: str, url: str, missing_ok: bool = False) -> dict[str, Any] | None:
        status, body = self._send(method, url)
        if status == 404 and missing_ok:
            return None
        if status >= 300:
            message = json.loads(body or b"{}").get("message", body.decode(errors="replace"))
            raise DigitalOceanError(f"{method} {url}: HTTP {status}: {message}")
        document: dict[str, Any] = json.loads(body) if body else {}
        return document

    def _url(self, path: str, params: dict[str, str] | None = None) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self._base}{path}{query}"

    def _pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following links.pages.next."""
        url: str | None = self._url(path, {"per_page": str(PER_PAGE)})
        while url:
            page = self._request("GET", url)
            assert page is not None
            yield from page.get(key) or []
            url = page.get("links", {}).get("pages", {}).get("next")

    def delete(self, path: str) -> None:
        self._request("DELETE", self._url(path), missing_ok=True)

    def droplets(self) -> list[Resource]:
        return [
            Resource(
                "droplet", str(d["id"]), d["name"], _time(d.get("created_at")), tuple(d["tags"])
            )
            for d in self._pages("/droplets", "droplets")
        ]

    def volumes(self) -> list[Resource]:
        return [
            Resource(
                "volume",
                v["id"],
                v["name"],
                _time(v.get("created_at")),
                tuple(v.get("tags") or ()),
                _ids(v.get("droplet_ids") or ()),
            )
            for v in self._pages("/volumes", "volumes")
        ]

    def load_balancers(self) -> list[Resource]:
        # A load balancer has no tags of its own; `tag` names the droplets it targets.
        return [
            Resource(
                "load_balancer",
                lb["id"],
                lb["name"],
                _time(lb.get("created_at")),
                (lb["tag"],) if lb.get("tag") else (),
                _ids(lb.get("droplet_ids") or ()),
            )
            for lb in self._pages("/load_balancers", "load_balancers")
        ]

    def clusters(self) -> list[Resource]:
        return [
            Resource(
                "kubernetes_cluster",
                c["id"],
                c["name"],
                _time(c.get("created_at")),
                tuple(c.get("tags") or ()),
                _ids(
                    node["droplet_id"]
                    for pool in c.get("node_pools") or ()
                    for node in pool.get("nodes") or ()
                    if node.get("droplet_id")
                ),
            )
            for c in self._pages("/kubernetes/clusters", "kubernetes_clusters")
        ]

    def node_pools(self, cluster_id: str) -> list[dict[str, Any]]:
        """The cluster's node pools as the API lists them (name, auto_scale, min_nodes, ...)."""
        for cluster in self._pages("/kubernetes/clusters", "kubernetes_clusters"):
            if cluster["id"] == cluster_id:
                return list(cluster.get("node_pools") or [])
        raise DigitalOceanError(f"cluster {cluster_id} is not in the account")

    def associated_resources(self, cluster_id: str) -> list[Resource]:
        """Load balancers and volumes DOKS created for the cluster (PVCs, Services)."""
        document = self._request(
            "GET", self._url(f"/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources")
        )
        assert document is not None
        return [
            Resource(kind, item["id"], item["name"], None)
            for kind, key in (("load_balancer", "load_balancers"), ("volume", "volumes"))
            for item in document.get(key) or ()
        ]

    def registry(self) -> Resource | None:
        """The account's container registry (one per account), if it has one."""
        document = self._request("GET", self._url("/registry"), missing_ok=True)
        if document is None:
            return None
        registry = document["registry"]
        return Resource(
            "registry", registry["name"], registry["name"], _time(registry.get("created_at"))
        )

    def repositories(self, registry: str) -> list[Resource]:
        return [
            Resource(
                "repository",
                f"{registry}/{r['name']}",
                r["name"],
                _time((r.get("latest_manifest") or {}).get("updated_at")),
                parent=registry,
            )
            for r in self._pages(f"/registry/{registry}/repositoriesV2", "repositories")
        ]

    def manifest_digests(self, registry: str, repository: str) -> list[str]:
        path = f"/registry/{registry}/{urllib.parse.quote(repository, safe='')}/digests"
        return [m["digest"] for m in self._pages(path, "manifests")]


@dataclass(frozen=True)
class Footprint:
    """What the stack owned on DigitalOcean, recorded while it is up, checked after destroy."""

    stack: str
    cluster_id: str
    droplet_ids: frozenset[str]
    associated: frozenset[tuple[str, str]]  # (kind, id) DOKS made: Prometheus' volume, ...
    bucket: str

    @property
    def tags(self) -> frozenset[str]:
        return frozenset({contract.stack_tag(self.stack), f"k8s:{self.cluster_id}"})


def record_footprint(api: Api, stack: str, cluster_id: str, bucket: str) -> Footprint:
    cluster = next((c for c in api.clusters() if c.id == cluster_id), None)
    if cluster is None:
        raise DigitalOceanError(f"cluster {cluster_id} of stack {stack} is not in the account")
    return Footprint(
        stack=stack,
        cluster_id=cluster_id,
        droplet_ids=cluster.droplet_ids,
        associated=frozenset((r.kind, r.id) for r in api.associated_resources(cluster_id)),
        bucket=bucket,
    )


def inventory(api: Api) -> list[Resource]:
    """Every resource of the kinds a stack creates, except Spaces buckets (S3 API: spaces.py)."""
    resources = [*api.clusters(), *api.droplets(), *api.volumes(), *api.load_balancers()]
    registry = api.registry()
    if registry is not None:
        resources += [registry, *api.repositories(registry.name)]
    return resources


def belongs_to(resource: Resource, footprint: Footprint) -> bool:
    prefix = contract.resource_prefix(footprint.stack)
    return (
        resource.name.startswith(prefix)
        or bool(footprint.tags.intersection(resource.tags))
        or (resource.kind, resource.id) in footprint.associated
        or (resource.kind == "droplet" and resource.id in footprint.droplet_ids)
        or bool(footprint.droplet_ids & resource.droplet_ids)
        or resource.id == footprint.cluster_id
        or (resource.kind == "bucket" and resource.name == footprint.bucket)
    )


def leftovers(resources: Iterable[Resource], footprint: Footprint) -> list[Resource]:
    """Resources of the destroyed stack that are still there (should be none)."""
    return [resource for resource in resources if belongs_to(resource, footprint)]
