"""tools/prometheus builds what the pinned chart runs, and the tests refuse any other version."""

import stat
from pathlib import Path

import pytest
import yaml

from tests import prometheus_tools
from tests.prometheus_tools import prometheus_release, pushgateway_release, require_chart_version
from tests.support import schema_file


def test_the_pinned_tools_are_the_chart_s_versions() -> None:
    prometheus = yaml.safe_load(schema_file("charts/prometheus/Chart.yaml").read_text())
    pushgateway = yaml.safe_load(
        schema_file("charts/prometheus-pushgateway/Chart.yaml").read_text()
    )
    assert f"v{prometheus_release()}" == prometheus["appVersion"] == "v3.14.0"
    assert f"v{pushgateway_release()}" == pushgateway["appVersion"] == "v1.11.3"


def test_the_build_copies_the_prometheus_module_s_excludes_and_replaces() -> None:
    go_mod = (prometheus_tools.TOOLS / "go.mod").read_text()
    assert "exclude github.com/linode/linodego v1.0.0" in go_mod
    assert "replace cloud.google.com/go => cloud.google.com/go v0.123.0" in go_mod
    assert sorted(path.name for path in prometheus_tools.TOOLS.iterdir()) == [
        "build",
        "go.mod",
        "go.sum",
    ]


def fake_tool(directory: Path, name: str, version_line: str) -> None:
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    ("tool", "version_line"),
    [
        ("prometheus", "prometheus, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0)"),
        ("pushgateway", "pushgateway, version 1.5.1 (branch: debian/sid, revision: 1.5.1)"),
    ],
)
def test_another_version_on_path_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, version_line: str
) -> None:
    fake_tool(tmp_path / "bin", tool, version_line)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"these tests run \d+\.\d+\.\d+.*CI=true"):
        require_chart_version(tool)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="tools/prometheus/build"):
        require_chart_version(tool)


def test_the_chart_s_version_on_path_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = f"promtool, version {prometheus_release()} (branch: HEAD, revision: v0.314.0)"
    fake_tool(tmp_path / "bin", "promtool", line)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert require_chart_version("promtool") == str(tmp_path / "bin" / "promtool")
