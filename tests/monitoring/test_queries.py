import re

import promql_parser
import pytest

from monitoring.queries import (
    ALERTS,
    ALL_QUERIES,
    CATALOGUE,
    Source,
    by_name,
    render,
    spark_queries,
)


def rendered_targets() -> list[tuple[str, str]]:
    return [
        (query.name, render(target.expr, application_id="local-1", namespace="spark-jobs"))
        for query in ALL_QUERIES
        for target in query.targets
    ]


@pytest.mark.parametrize(("name", "expr"), rendered_targets())
def test_every_query_parses(name: str, expr: str) -> None:
    promql_parser.parse(expr)


@pytest.mark.parametrize("alert", ALERTS, ids=lambda alert: alert.name)
def test_every_alert_parses(alert: object) -> None:
    promql_parser.parse(alert.expr)  # type: ignore[attr-defined]


def test_names_are_unique() -> None:
    names = [query.name for query in ALL_QUERIES]
    assert len(names) == len(set(names))


def test_spark_queries_select_one_application_and_group_executors_by_it() -> None:
    for query in spark_queries():
        for target in query.targets:
            assert 'application_id=~"$application_id"' in target.expr, query.name
            if "executor_id" in target.expr and "by (" in target.expr:
                for grouping in re.findall(r"by \(([^)]*)\)", target.expr):
                    if "executor_id" in grouping:
                        assert "application_id" in grouping, query.name


def test_design_errors_of_the_original_dashboard_are_absent() -> None:
    texts = [target.expr for query in ALL_QUERIES for target in query.targets]
    texts += [alert.expr for alert in ALERTS]
    for text in texts:
        assert "totalGCtime" not in text
        assert 'pod=~"spark' not in text
        assert not re.search(r"increase\([^\[]*\)", text), text
    for query in CATALOGUE:
        if query.source is Source.CADVISOR:
            for target in query.targets:
                assert "spark-kubernetes-driver|spark-kubernetes-executor" in target.expr


def test_render_fills_every_variable_and_escapes_quotes() -> None:
    (target,) = by_name("gc_share").targets
    rendered = render(target.expr, application_id=re.escape('a"b'), rate_interval="30s")
    assert "$" not in rendered
    assert 'application_id=~"a\\"b"' in rendered
    promql_parser.parse(rendered)


def test_catalogue_covers_the_issue_panels() -> None:
    expected = {
        "completed_task_share",
        "task_throughput",
        "cpu_by_pod",
        "memory_by_pod",
        "driver_jvm_heap",
        "peak_jvm_heap",
        "storage_memory",
        "task_balance",
        "gc_time",
        "task_time",
        "total_tasks",
        "gc_share",
        "memory_share_of_nodes",
        "cpu_share_of_nodes",
        "executors_alive",
        "active_tasks_vs_slots",
        "failed_tasks",
        "stages",
        "runs",
    }
    assert expected <= {query.name for query in ALL_QUERIES}
