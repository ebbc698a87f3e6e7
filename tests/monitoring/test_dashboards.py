from pathlib import Path
from typing import Any

from monitoring.dashboards import dashboards, render_json, write
from monitoring.grafana import DASHBOARDS_DIR, DATASOURCE_UID
from monitoring.queries import CATALOGUE, FINISHED_AT, RUN_RESULT_METRICS, SUMMARY, Source


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in model["panels"] if panel["type"] != "row"]


def test_committed_dashboards_are_up_to_date() -> None:
    generated = dashboards()
    committed = {path.name for path in DASHBOARDS_DIR.glob("*.json")}
    assert committed == set(generated), "run `make dashboards` and commit the result"
    for name, model in generated.items():
        text = (DASHBOARDS_DIR / name).read_text()
        assert text == render_json(model), f"{name} is stale: run `make dashboards` and commit"


def test_every_catalogue_query_is_a_panel_with_its_expressions_and_unit() -> None:
    by_title = {
        (panel["type"], panel["title"]): panel
        for panel in panels(dashboards()["spark-application.json"])
    }
    expected = {("timeseries", query.title): query for query in CATALOGUE}
    expected |= {("stat", query.title): query for query in SUMMARY}
    assert set(by_title) == set(expected)
    for key, query in expected.items():
        panel = by_title[key]
        assert [target["expr"] for target in panel["targets"]] == [
            target.expr for target in query.targets
        ]
        assert panel["fieldConfig"]["defaults"]["unit"] == query.unit.grafana
        assert panel["datasource"]["uid"] == "${datasource}"


def variables(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in model["templating"]["list"]}


def test_application_dashboard_offers_the_variables_its_queries_use() -> None:
    model = dashboards()["spark-application.json"]
    assert set(variables(model)) == {"datasource", "application_id", "namespace"}
    exprs = " ".join(target["expr"] for panel in panels(model) for target in panel["targets"])
    for name in ("application_id", "namespace"):
        assert f"${name}" in exprs


def test_namespace_and_datasource_are_variables_not_constants() -> None:
    for model in dashboards().values():
        found = variables(model)
        assert found["datasource"]["type"] == "datasource"
        assert found["datasource"]["query"] == "prometheus"
        assert found["datasource"]["current"]["value"] == DATASOURCE_UID
        for panel in panels(model):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    namespace = variables(dashboards()["spark-application.json"])["namespace"]
    assert namespace["type"] == "query"
    assert "kube_pod_container_info" in namespace["definition"]


def test_application_variable_lists_the_latest_run_first_and_defaults_to_it() -> None:
    application = variables(dashboards()["spark-application.json"])["application_id"]
    assert application["definition"].startswith("query_result(sort_desc(")
    assert "timestamp(" in application["definition"]
    assert application["sort"] == 0  # the query's order (latest first), not alphabetical
    assert application["multi"] is True
    assert application.get("includeAll") is not True  # "All" would overlay every run


def test_every_time_series_panel_shows_its_legend_and_all_series_in_the_tooltip() -> None:
    for panel in panels(dashboards()["spark-application.json"]):
        if panel["type"] != "timeseries":
            continue
        assert panel["options"]["legend"]["showLegend"] is True, panel["title"]
        assert panel["options"]["tooltip"]["mode"] == "multi", panel["title"]


def test_every_per_executor_and_per_pod_legend_names_the_application() -> None:
    for panel in panels(dashboards()["spark-application.json"]):
        for legend in [target.get("legendFormat", "") for target in panel["targets"]]:
            if "executor_id" in legend or "pod" in legend:
                assert "{{application_id}}" in legend, panel["title"]


def test_container_panels_follow_the_selected_application() -> None:
    for query in CATALOGUE:
        if query.source in (Source.CADVISOR, Source.KUBE_STATE_METRICS):
            for target in query.targets:
                assert 'label_spark_app_selector=~"$application_id"' in target.expr, query.name


def runs_table() -> dict[str, Any]:
    (panel,) = panels(dashboards()["spark-runs.json"])
    assert panel["type"] == "table"
    return panel


def test_runs_table_has_a_column_per_result_metric_over_the_dashboard_range() -> None:
    panel = runs_table()
    exprs = [target["expr"] for target in panel["targets"]]
    for column in RUN_RESULT_METRICS:
        assert any(f"last_over_time({column.metric}[$__range])" in expr for expr in exprs), column
    assert all(target["instant"] and target["format"] == "table" for target in panel["targets"])


def test_runs_table_shows_finish_time_and_units_sorted_latest_first() -> None:
    panel = runs_table()
    (organize,) = [t for t in panel["transformations"] if t["id"] == "organize"]
    renamed = organize["options"]["renameByName"]
    units = {
        override["matcher"]["options"]: {p["id"]: p["value"] for p in override["properties"]}
        for override in panel["fieldConfig"]["overrides"]
    }
    for column in RUN_RESULT_METRICS:
        assert column.title in renamed.values()
        assert units[column.title]["unit"] == column.unit.grafana
    finished = next(c for c in RUN_RESULT_METRICS if c.unit is FINISHED_AT)
    assert panel["options"]["sortBy"] == [{"displayName": finished.title, "desc": True}]


def test_runs_table_links_each_run_to_its_application_dashboard_and_time_range() -> None:
    panel = runs_table()
    application = next(
        override
        for override in panel["fieldConfig"]["overrides"]
        if override["matcher"]["options"] == "Application id"
    )
    (links,) = [p["value"] for p in application["properties"] if p["id"] == "links"]
    (link,) = links
    assert "/d/spark-doks-application/" in link["url"]
    assert "var-application_id=${__value.raw}" in link["url"]
    assert "from=${__data.fields" in link["url"] and "to=${__data.fields" in link["url"]


def test_write_replaces_files_in_place(tmp_path: Path) -> None:
    (tmp_path / "spark-runs.json").write_text("stale")
    written = write(tmp_path)
    assert sorted(path.name for path in written) == sorted(dashboards())
    assert (tmp_path / "spark-runs.json").read_text().startswith("{")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(dashboards())
