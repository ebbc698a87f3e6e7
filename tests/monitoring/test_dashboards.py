from pathlib import Path
from typing import Any

from monitoring.dashboards import dashboards, render_json, write
from monitoring.grafana import DASHBOARDS_DIR, DATASOURCE_UID
from monitoring.queries import CATALOGUE, RUN_RESULT_METRICS


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
    by_title = {panel["title"]: panel for panel in panels(dashboards()["spark-application.json"])}
    assert set(by_title) == {query.title for query in CATALOGUE}
    for query in CATALOGUE:
        panel = by_title[query.title]
        assert [target["expr"] for target in panel["targets"]] == [
            target.expr for target in query.targets
        ]
        assert panel["fieldConfig"]["defaults"]["unit"] == query.unit.grafana
        assert panel["datasource"]["uid"] == DATASOURCE_UID


def test_application_dashboard_offers_the_variables_its_queries_use() -> None:
    model = dashboards()["spark-application.json"]
    names = {variable["name"] for variable in model["templating"]["list"]}
    assert names == {"application_id", "namespace"}


def test_runs_table_has_a_column_per_result_metric() -> None:
    (panel,) = panels(dashboards()["spark-runs.json"])
    assert panel["type"] == "table"
    exprs = [target["expr"] for target in panel["targets"]]
    for metric, _column in RUN_RESULT_METRICS:
        assert any(metric in expr for expr in exprs), metric
    assert all(target["instant"] and target["format"] == "table" for target in panel["targets"])


def test_write_replaces_files_in_place(tmp_path: Path) -> None:
    (tmp_path / "spark-runs.json").write_text("stale")
    written = write(tmp_path)
    assert sorted(path.name for path in written) == sorted(dashboards())
    assert (tmp_path / "spark-runs.json").read_text().startswith("{")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(dashboards())
