"""`make demo` scrapes and reports with the distribution's Prometheus too (Debian 12: 2.42).

Every other Prometheus test runs the chart's version (tests/prometheus_tools.py); users of the
demo run whatever their distribution ships, so both stay supported.
"""

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from monitoring import demo, local_stack, preflight
from monitoring.queries import spark_queries
from monitoring.report import PNG_LEFT_OUT_KEY, PNG_PANELS_KEY
from tests.prometheus_tools import DISTRIBUTION_BIN, distribution_binary, prometheus_release
from tests.support import unavailable

pytestmark = pytest.mark.slow


def path_with_the_distribution_s_tools() -> str:
    """PATH without the folders that hold other builds of Prometheus or the Pushgateway."""
    kept = [
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if Path(folder) == DISTRIBUTION_BIN
        or not any((Path(folder) / name).exists() for name in ("prometheus", "pushgateway"))
    ]
    return os.pathsep.join([str(DISTRIBUTION_BIN), *kept])


def test_the_demo_scrapes_and_reports_on_the_distribution_s_prometheus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prometheus = distribution_binary("prometheus")
    pushgateway = distribution_binary("prometheus-pushgateway")
    monkeypatch.setenv("PATH", path_with_the_distribution_s_tools())
    assert preflight.path(preflight.PROMETHEUS) == prometheus
    assert preflight.path(preflight.PUSHGATEWAY) == pushgateway
    version = local_stack.version(prometheus)
    if version == prometheus_release():
        unavailable(f"{prometheus} is the chart's own version {version}: nothing else to test")
    assert demo.main(["--workdir", str(tmp_path)]) == 0
    output = " ".join(capsys.readouterr().out.split())
    assert "Accuracy" in output and "Bayes limit (dataset)" in output
    cluster_only = [query.title for query in spark_queries() if query.cluster_only]
    with Image.open(tmp_path / "latest" / "report.png") as image:
        drawn = json.loads(image.info[PNG_PANELS_KEY])
        assert json.loads(image.info[PNG_LEFT_OUT_KEY]) == cluster_only
    assert drawn == [query.title for query in spark_queries() if query.title not in cluster_only]
