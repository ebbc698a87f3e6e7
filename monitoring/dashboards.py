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

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueGraphMode,
    DataSourceRef,
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from monitoring.grafana import DASHBOARDS_DIR, DATASOURCE_UID
from monitoring.queries import (
    APPLICATION_ID_FROM_RESULT,
    APPLICATIONS_LATEST_FIRST,
    CATALOGUE,
    FINISHED_AT,
    JOB_NAMESPACES,
    RUN_FINISHED_MS,
    RUN_RESULT_METRICS,
    RUN_STARTED_MS,
    RUNS,
    SUMMARY,
    Query,
    Source,
)

# Every panel reads the dashboard's datasource variable, so a Grafana whose Prometheus has
# another uid picks it in the variable instead of editing each panel.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
APPLICATION_DASHBOARD_UID = "spark-doks-application"
ROWS = (
    (Source.SPARK_EXECUTORS, "Executors (Spark executors endpoint)"),
    (Source.SPARK_DRIVER, "Driver (Spark PrometheusServlet sink)"),
    (Source.KUBE_STATE_METRICS, "Pods (kube-state-metrics, cluster only)"),
    (Source.CADVISOR, "Containers and nodes (cAdvisor, cluster only)"),
)
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _datasource_variable() -> dashboard.DatasourceVariable:
    return (
        dashboard.DatasourceVariable("datasource")
        .label("Prometheus")
        .type("prometheus")
        .current(VariableOption(text="Prometheus", value=DATASOURCE_UID))
    )


def _time_series_panel(query: Query) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(query.title)
        .description(query.description)
        .datasource(DATASOURCE)
        .unit(query.unit.grafana)
        .span(12)
        .height(8)
        .legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
        )
        .tooltip(
            common.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)
        )
    )
    for ref_id, target in zip(REF_IDS, query.targets, strict=False):
        panel = panel.with_target(
            prometheus.Dataquery().ref_id(ref_id).expr(target.expr).legend_format(target.legend)
        )
    return panel


def _stat_panel(query: Query) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(query.title)
        .description(query.description)
        .datasource(DATASOURCE)
        .unit(query.unit.grafana)
        .span(6)
        .height(4)
        .graph_mode(BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    for ref_id, target in zip(REF_IDS, query.targets, strict=False):
        panel = panel.with_target(
            prometheus.Dataquery()
            .ref_id(ref_id)
            .expr(target.expr)
            .legend_format(target.legend)
            .instant()
        )
    return panel


def _application_variable() -> dashboard.QueryVariable:
    # The first option, the latest run, is the default selection.
    query = APPLICATIONS_LATEST_FIRST
    return (
        dashboard.QueryVariable("application_id")
        .label("Spark application")
        .description("Spark application ids seen in the time range, latest first")
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .regex(APPLICATION_ID_FROM_RESULT)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.DISABLED)
        .multi(True)
    )


def _namespace_variable() -> dashboard.QueryVariable:
    query = JOB_NAMESPACES
    return (
        dashboard.QueryVariable("namespace")
        .label("Job namespace")
        .description("Namespace of the Spark driver and executor pods (pod and container panels)")
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def application_dashboard() -> dict[str, Any]:
    builder = (
        dashboard.Dashboard("Spark application")
        .uid(APPLICATION_DASHBOARD_UID)
        .description("Executors, driver, pods and container resources of Spark applications.")
        .tags(["spark-doks", "spark"])
        .time("now-1h", "now")
        .refresh("30s")
        .with_variable(_datasource_variable())
        .with_variable(_application_variable())
        .with_variable(_namespace_variable())
    )
    builder = builder.with_row(dashboard.Row("Summary over the selected range"))
    for query in SUMMARY:
        builder = builder.with_panel(_stat_panel(query))
    for source, title in ROWS:
        builder = builder.with_row(dashboard.Row(title))
        for query in CATALOGUE:
            if query.source is source:
                builder = builder.with_panel(_time_series_panel(query))
    return _to_dict(builder)


def _application_link() -> list[dict[str, Any]]:
    url = (
        f"/d/{APPLICATION_DASHBOARD_UID}/spark-application?var-datasource=${{datasource}}"
        f'&var-application_id=${{__value.raw}}&from=${{__data.fields["{RUN_STARTED_MS}"]}}'
        f'&to=${{__data.fields["{RUN_FINISHED_MS}"]}}'
    )
    return [{"title": "Open this run's application dashboard", "url": url}]


def runs_dashboard() -> dict[str, Any]:
    columns = {
        f"Value #{ref_id}": target.legend
        for ref_id, target in zip(REF_IDS, RUNS.targets, strict=False)
    }
    finished = next(column for column in RUN_RESULT_METRICS if column.unit is FINISHED_AT)
    panel = (
        table.Panel()
        .title(RUNS.title)
        .description(RUNS.description)
        .datasource(DATASOURCE)
        .span(24)
        .height(12)
        .sort_by([common.TableSortByFieldState().display_name(finished.title).desc(True)])
    )
    for ref_id, target in zip(REF_IDS, RUNS.targets, strict=False):
        panel = panel.with_target(
            prometheus.Dataquery()
            .ref_id(ref_id)
            .expr(target.expr)
            .instant()
            .format(PromQueryFormat.TABLE)
        )
    for column in RUN_RESULT_METRICS:
        panel = panel.override_by_name(
            column.title, [DynamicConfigValue(id_val="unit", value=column.unit.grafana)]
        )
    for hidden in (RUN_STARTED_MS, RUN_FINISHED_MS):
        panel = panel.override_by_name(
            hidden,
            [
                DynamicConfigValue(id_val="unit", value="none"),
                DynamicConfigValue(id_val="decimals", value=0),
                DynamicConfigValue(id_val="custom.hidden", value=True),
            ],
        )
    panel = panel.override_by_name(
        "Application id", [DynamicConfigValue(id_val="links", value=_application_link())]
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
        .with_variable(_datasource_variable())
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
