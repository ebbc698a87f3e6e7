"""The upstream CRDs and Helm chart defaults the tests read, and `make schemas` that fetches them.

They are never copied into this repository. The tests find them in the folder SPARK_DOKS_SCHEMAS
names, by default ../shared/schemas beside the repository. On a machine with internet access,
`make schemas` (python -m tests.upstream) downloads each pinned chart the way `helm pull` does:
the version's entry in the chart repository's index.yaml gives the archive's URL and SHA-256
digest, the archive is checked against it, and the files below are taken out of it. Everything is
downloaded and checked before the first file is written, so a failed fetch changes nothing.
"""

import hashlib
import io
import os
import sys
import tarfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.observability import (
    GRAFANA_CHART,
    GRAFANA_CHART_VERSION,
    GRAFANA_REPOSITORY,
    PROMETHEUS_CHART,
    PROMETHEUS_CHART_VERSION,
    PROMETHEUS_REPOSITORY,
)
from infra.spark import OPERATOR_CHART, OPERATOR_CHART_REPOSITORY, OPERATOR_CHART_VERSION

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_ENV = "SPARK_DOKS_SCHEMAS"
DEFAULT_SCHEMAS_DIR = REPO_ROOT.parent / "shared" / "schemas"
# Not deployed by the program; its defaults are kept for comparing values with the chart most
# users start from (same version as the environment's ../shared/schemas).
KUBE_PROMETHEUS_STACK_VERSION = "88.5.3"
PUSHGATEWAY_SUBCHART = "prometheus-pushgateway"
# The prometheus chart's subcharts the program sets values of, packed in its archive, and the
# files of each that the tests read.
PROMETHEUS_SUBCHARTS = {
    PUSHGATEWAY_SUBCHART: ("Chart.yaml", "values.yaml"),
    "alertmanager": ("Chart.yaml", "values.yaml", "values.schema.json"),
    "kube-state-metrics": ("Chart.yaml", "values.yaml"),
}


def schemas_path() -> Path:
    return Path(os.environ.get(SCHEMAS_ENV) or DEFAULT_SCHEMAS_DIR)


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str
    # path inside the chart (below its top folder) -> path below the schemas folder
    files: dict[str, str]


CRDS = (
    "sparkoperator.k8s.io_sparkapplications.yaml",
    "sparkoperator.k8s.io_scheduledsparkapplications.yaml",
)
CHARTS: tuple[Chart, ...] = (
    Chart(
        OPERATOR_CHART,
        OPERATOR_CHART_VERSION,
        OPERATOR_CHART_REPOSITORY,
        {
            **{f"crds/{crd}": f"spark-operator/{crd}" for crd in CRDS},
            "values.yaml": "spark-operator/chart/values.yaml",
        },
    ),
    Chart(
        PROMETHEUS_CHART,
        PROMETHEUS_CHART_VERSION,
        PROMETHEUS_REPOSITORY,
        {
            **{
                name: f"charts/prometheus/{name}"
                for name in ("Chart.yaml", "values.yaml", "values.schema.json")
            },
            # The Pushgateway, Alertmanager and kube-state-metrics the program installs are the
            # subcharts bundled in this archive.
            **{
                f"charts/{subchart}/{name}": f"charts/{subchart}/{name}"
                for subchart, names in PROMETHEUS_SUBCHARTS.items()
                for name in names
            },
        },
    ),
    Chart(
        GRAFANA_CHART,
        GRAFANA_CHART_VERSION,
        GRAFANA_REPOSITORY,
        {name: f"charts/grafana/{name}" for name in ("Chart.yaml", "values.yaml")},
    ),
    Chart(
        "kube-prometheus-stack",
        KUBE_PROMETHEUS_STACK_VERSION,
        PROMETHEUS_REPOSITORY,
        {name: f"charts/kube-prometheus-stack/{name}" for name in ("Chart.yaml", "values.yaml")},
    ),
)
FETCHED: frozenset[str] = frozenset(dest for chart in CHARTS for dest in chart.files.values())

Download = Callable[[str], bytes]


class FetchError(RuntimeError):
    pass


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "spark-doks make schemas"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            body: bytes = response.read()
            return body
    except OSError as error:
        raise FetchError(f"cannot download {url}: {error}") from error


def archive_url(chart: Chart, download: Download) -> tuple[str, str]:
    """URL and SHA-256 digest of the chart version's archive, from the repository's index."""
    index_url = chart.repository.rstrip("/") + "/index.yaml"
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    index = yaml.load(download(index_url), Loader=loader)
    for entry in index.get("entries", {}).get(chart.name, []):
        if str(entry.get("version")) == chart.version:
            url = urllib.parse.urljoin(index_url, entry["urls"][0])
            return url, entry["digest"]
    raise FetchError(f"{chart.name} {chart.version} is not in {index_url}")


def _member(archive: tarfile.TarFile, path: str) -> bytes | None:
    try:
        extracted = archive.extractfile(path)
    except KeyError:
        return None
    return extracted.read() if extracted else None


def _subchart_file(archive: tarfile.TarFile, top: str, path: str) -> bytes | None:
    """A file of a subchart packaged as charts/<name>-<version>.tgz inside the archive."""
    _, subchart, name = path.split("/", 2)
    for member in archive.getnames():
        folder, _, file = member.rpartition("/")
        if folder == f"{top}/charts" and file.startswith(f"{subchart}-") and file.endswith(".tgz"):
            nested = _member(archive, member)
            assert nested is not None
            with tarfile.open(fileobj=io.BytesIO(nested), mode="r:gz") as inner:
                return _member(inner, f"{subchart}/{name}")
    return None


def chart_files(chart: Chart, download: Download) -> dict[str, bytes]:
    url, digest = archive_url(chart, download)
    body = download(url)
    if hashlib.sha256(body).hexdigest() != digest:
        raise FetchError(f"{url}: SHA-256 differs from the repository index ({digest})")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        for path, destination in chart.files.items():
            content = _member(archive, f"{chart.name}/{path}")
            if content is None and path.startswith("charts/"):
                content = _subchart_file(archive, chart.name, path)
            if content is None:
                raise FetchError(f"{url} has no {chart.name}/{path}")
            files[destination] = content
    return files


def fetch(target: Path, download: Download = _download) -> list[str]:
    """Download every chart, check it, then write its files below `target`."""
    files: dict[str, bytes] = {}
    for chart in CHARTS:
        print(f"{chart.name} {chart.version} from {chart.repository}")
        files.update(chart_files(chart, download))
    for destination, content in files.items():
        final = target / destination
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + ".part")
        partial.write_bytes(content)
        partial.replace(final)
    return sorted(files)


def main() -> int:
    target = schemas_path()
    try:
        written = fetch(target)
    except FetchError as error:
        print(f"make schemas: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files to {target} (tests read them through {SCHEMAS_ENV})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
