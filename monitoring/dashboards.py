"""Grafana dashboards generated from the query catalogue with the Grafana Foundation SDK.

`python -m monitoring.dashboards` (`make dashboards`) writes them to monitoring/dashboards/;
Grafana on the cluster provisions those files, and a test fails when they are out of date.
"""

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import DataSourceRef
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from monitoring.grafana import DASHBOARDS_DIR, DATASOURCE_UID
from monitoring.queries import CATALOGUE, RUNS, Query, Source

DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
DEFAULT_JOB_NAMESPACE = "spark-jobs"
ROWS = (
    (Source.SPARK_EXECUTORS, "Executors (Spark executors endpoint)"),
    (Source.SPARK_DRIVER, "Driver (Spark PrometheusServlet sink)"),
    (Source.CADVISOR, "Containers and nodes (cAdvisor, cluster only)"),
)
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _time_series_panel(query: Query) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(query.title)
        .description(query.description)
        .datasource(DATASOURCE)
        .unit(query.unit.grafana)
        .span(12)
        .height(8)
    )
    for ref_id, target in zip(REF_IDS, query.targets, strict=False):
        panel = panel.with_target(
            prometheus.Dataquery().ref_id(ref_id).expr(target.expr).legend_format(target.legend)
        )
    return panel


def _application_variable() -> dashboard.QueryVariable:
    query = "label_values(metrics_executor_totalCores, application_id)"
    return (
        dashboard.QueryVariable("application_id")
        .label("Spark application")
        .description("Spark application id (spark-app-selector label of its pods)")
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_DESC)
        .multi(True)
        .include_all(True)
        .all_value(".+")
    )


def _namespace_variable() -> dashboard.CustomVariable:
    return (
        dashboard.CustomVariable("namespace")
        .label("Job namespace")
        .description("Namespace of the Spark driver and executor pods (cAdvisor panels)")
        .values(DEFAULT_JOB_NAMESPACE)
    )


def application_dashboard() -> dict[str, Any]:
    builder = (
        dashboard.Dashboard("Spark application")
        .uid("spark-doks-application")
        .description("Executors, driver and container resources of one Spark application.")
        .tags(["spark-doks", "spark"])
        .time("now-1h", "now")
        .refresh("30s")
        .with_variable(_application_variable())
        .with_variable(_namespace_variable())
    )
    for source, title in ROWS:
        builder = builder.with_row(dashboard.Row(title))
        for query in CATALOGUE:
            if query.source is source:
                builder = builder.with_panel(_time_series_panel(query))
    return _to_dict(builder)


def runs_dashboard() -> dict[str, Any]:
    columns = {
        f"Value #{ref_id}": target.legend
        for ref_id, target in zip(REF_IDS, RUNS.targets, strict=False)
    }
    panel = (
        table.Panel()
        .title(RUNS.title)
        .description(RUNS.description)
        .datasource(DATASOURCE)
        .span(24)
        .height(12)
    )
    for ref_id, target in zip(REF_IDS, RUNS.targets, strict=False):
        panel = panel.with_target(
            prometheus.Dataquery()
            .ref_id(ref_id)
            .expr(target.expr)
            .instant()
            .format(PromQueryFormat.TABLE)
        )
    panel = panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
    panel = panel.with_transformation(
        DataTransformerConfig(
            id_val="organize",
            options={
                "excludeByName": {"Time": True},
                "renameByName": {
                    "application_id": "Application id",
                    "application_name": "Application",
                    **columns,
                },
            },
        )
    )
    builder = (
        dashboard.Dashboard("Spark training runs")
        .uid("spark-doks-runs")
        .description("Results the trainer pushed at the end of each run (via the Pushgateway).")
        .tags(["spark-doks", "spark"])
        .time("now-30d", "now")
        .with_panel(panel)
    )
    return _to_dict(builder)


def _to_dict(builder: dashboard.Dashboard) -> dict[str, Any]:
    encoded: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return encoded


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON model."""
    return {
        "spark-application.json": application_dashboard(),
        "spark-runs.json": runs_dashboard(),
    }


def render_json(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> list[Path]:
    """Write every dashboard, each file replaced atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in dashboards().items():
        with tempfile.NamedTemporaryFile(
            "w", dir=directory, prefix=f".{name}.", delete=False
        ) as staging:
            staging.write(render_json(model))
        os.replace(staging.name, directory / name)
        written.append(directory / name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DASHBOARDS_DIR, help="target directory")
    arguments = parser.parse_args()
    for path in write(arguments.output):
        print(path)


if __name__ == "__main__":
    main()
