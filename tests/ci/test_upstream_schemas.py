"""`make schemas` fetches every upstream file the tests read, checked, and only those places
outside the repository are ever named."""

import ast
import hashlib
import io
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from infra.observability import GRAFANA_CHART_VERSION, PROMETHEUS_CHART, PROMETHEUS_CHART_VERSION
from infra.spark import OPERATOR_CHART_VERSION
from tests import upstream
from tests.support import REPO_ROOT, schema_file, unavailable

TESTS = REPO_ROOT / "tests"


def schema_file_arguments() -> list[tuple[str, str]]:
    """(file, argument as a pattern) of every schema_file(...) call in the tests."""
    calls = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__):
            continue  # its negative example below
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "schema_file"):
                continue
            (argument,) = node.args
            if isinstance(argument, ast.Constant):
                pattern = re.escape(str(argument.value))
            else:
                assert isinstance(argument, ast.JoinedStr), f"{path}: schema_file needs a string"
                pattern = "".join(
                    re.escape(str(part.value)) if isinstance(part, ast.Constant) else "[^/]+"
                    for part in argument.values
                )
            calls.append((str(path.relative_to(REPO_ROOT)), pattern))
    return calls


def test_the_tests_read_upstream_files_only_through_schema_file() -> None:
    assert len(schema_file_arguments()) >= 6
    for path in TESTS.rglob("*.py"):
        if path.name in {"support.py", "upstream.py", Path(__file__).name}:
            continue
        text = path.read_text()
        assert "schemas_path" not in text and upstream.SCHEMAS_ENV not in text, path


@pytest.mark.parametrize(("path", "pattern"), schema_file_arguments())
def test_every_file_the_tests_read_is_one_make_schemas_fetches(path: str, pattern: str) -> None:
    assert any(re.fullmatch(pattern, fetched) for fetched in upstream.FETCHED), (path, pattern)


def test_reading_a_file_make_schemas_does_not_fetch_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="not a file `make schemas` fetches"):
        schema_file("charts/prometheus/templates/deploy.yaml")


def test_the_schemas_folder_holds_every_fetched_file_at_the_pinned_version() -> None:
    folder = upstream.schemas_path()
    if not folder.is_dir():
        unavailable(f"upstream schemas not found at {folder}; run `make schemas`")
    assert sorted(f for f in upstream.FETCHED if not (folder / f).is_file()) == []
    for chart in upstream.CHARTS:
        chart_yaml = chart.files.get("Chart.yaml")
        if chart_yaml:
            assert yaml.safe_load((folder / chart_yaml).read_text())["version"] == chart.version


def _tgz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def chart_archive(chart: upstream.Chart) -> bytes:
    files = {}
    for path in chart.files:
        if path.startswith("charts/"):
            continue
        files[f"{chart.name}/{path}"] = f"{chart.name} {chart.version} {path}\n".encode()
    if chart.name == PROMETHEUS_CHART:
        # As `helm dependency build` packs them: each subchart as a nested archive.
        for subchart, names in upstream.PROMETHEUS_SUBCHARTS.items():
            nested = _tgz({f"{subchart}/{name}": f"{subchart} {name}\n".encode() for name in names})
            files[f"{chart.name}/charts/{subchart}-1.2.3.tgz"] = nested
    return _tgz(files)


def chart_repositories(tamper: str = "") -> dict[str, bytes]:
    """URL -> body of each chart repository's index.yaml and the archives it points to."""
    served: dict[str, bytes] = {}
    indexes: dict[str, dict[str, list[dict[str, object]]]] = {}
    for chart in upstream.CHARTS:
        archive = chart_archive(chart)
        url = f"{chart.name}-{chart.version}.tgz"  # relative, as chart-releaser indexes write it
        served[f"{chart.repository.rstrip('/')}/{url}"] = archive
        digest = hashlib.sha256(b"tampered" if chart.name == tamper else archive).hexdigest()
        entries = indexes.setdefault(chart.repository, {})
        entries.setdefault(chart.name, []).extend(
            [
                {"version": "0.0.1", "urls": ["old.tgz"], "digest": "0"},
                {"version": chart.version, "urls": [url], "digest": digest},
            ]
        )
    for repository, entries in indexes.items():
        served[f"{repository.rstrip('/')}/index.yaml"] = yaml.safe_dump(
            {"entries": entries}
        ).encode()
    return served


def test_make_schemas_writes_each_file_from_the_pinned_archive(tmp_path: Path) -> None:
    served = chart_repositories()
    written = upstream.fetch(tmp_path, served.__getitem__)
    assert set(written) == upstream.FETCHED
    assert (tmp_path / "spark-operator/chart/values.yaml").read_text() == (
        f"spark-operator {OPERATOR_CHART_VERSION} values.yaml\n"
    )
    for subchart in ("prometheus-pushgateway", "alertmanager", "kube-state-metrics"):
        assert (tmp_path / f"charts/{subchart}/values.yaml").read_text() == (
            f"{subchart} values.yaml\n"
        )
    assert (tmp_path / "charts/alertmanager/values.schema.json").is_file()


def test_an_archive_that_differs_from_the_index_writes_nothing(tmp_path: Path) -> None:
    served = chart_repositories(tamper="grafana")
    with pytest.raises(upstream.FetchError, match="SHA-256 differs"):
        upstream.fetch(tmp_path, served.__getitem__)
    assert list(tmp_path.iterdir()) == []


def test_a_version_missing_from_the_index_is_named(tmp_path: Path) -> None:
    served = chart_repositories()
    operator = upstream.CHARTS[0]
    index_url = f"{operator.repository.rstrip('/')}/index.yaml"
    served[index_url] = yaml.safe_dump({"entries": {operator.name: []}}).encode()
    with pytest.raises(upstream.FetchError, match=f"{operator.name} {operator.version} is not in"):
        upstream.fetch(tmp_path, served.__getitem__)


def test_the_pins_are_the_programs_own() -> None:
    versions = {chart.name: chart.version for chart in upstream.CHARTS}
    assert versions["spark-operator"] == OPERATOR_CHART_VERSION
    assert versions["prometheus"] == PROMETHEUS_CHART_VERSION
    assert versions["grafana"] == GRAFANA_CHART_VERSION


def test_make_schemas_runs_the_fetcher() -> None:
    result = subprocess.run(
        ["make", "-n", "-o", "venv/.installed", "schemas"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-m tests.upstream" in result.stdout


def test_no_product_file_names_a_place_outside_the_repository_but_the_schemas_default() -> None:
    skipped = {".git", "rendered", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
    allowed = {
        "tests/upstream.py",
        "docs/development.md",
        str(Path(__file__).relative_to(REPO_ROOT)),
    }
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in REPO_ROOT.rglob("*")
        if path.is_file()
        and not path.relative_to(REPO_ROOT).parts[0].startswith("venv")
        and not skipped.intersection(path.relative_to(REPO_ROOT).parts)
        and str(path.relative_to(REPO_ROOT)) not in allowed
        and re.search(rb"\.\./shared|/work/", path.read_bytes())
    ]
    assert offenders == []
