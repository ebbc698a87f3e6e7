"""The engine-kind workflow (issue 24 point 4): the local stack on kind with the official CLI and
the real charts. It has never run from here (no GitHub, Docker Hub or chart repositories); these
tests hold its steps to what the issue asks."""

import re
from typing import Any

from infra.settings import Settings
from tests.ci.test_workflows import WORKFLOWS_DIR, load, triggers

WORKFLOW = WORKFLOWS_DIR / "engine-kind.yml"


def job() -> dict[str, Any]:
    (only,) = load(WORKFLOW)["jobs"].values()
    assert isinstance(only, dict)
    return only


def steps() -> list[dict[str, Any]]:
    return list(job()["steps"])


def runs() -> str:
    return "\n".join(step.get("run", "") for step in steps())


def test_runs_weekly_and_by_hand() -> None:
    on = triggers(load(WORKFLOW))
    assert set(on) == {"workflow_dispatch", "schedule"}
    ((_minute, _hour, day, month, weekday),) = [entry["cron"].split() for entry in on["schedule"]]
    assert (day, month) == ("*", "*") and weekday.isdigit()


def test_kind_and_the_official_cli_at_the_sdk_pin() -> None:
    uses = [step.get("uses", "") for step in steps()]
    assert any(u.startswith("helm/kind-action@") for u in uses)
    (pulumi,) = [s for s in steps() if s.get("uses", "").startswith("pulumi/actions@")]
    assert "command" not in pulumi["with"]
    assert pulumi["with"]["pulumi-version"] == "${{ steps.pin.outputs.version }}"
    assert "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION" not in WORKFLOW.read_text()


def test_the_program_installs_operator_and_monitoring_from_the_real_charts() -> None:
    # The defaults install both; the workflow must not turn them off or pass an image.
    for key in ("installOperator", "installMonitoring", "trainerImage"):
        assert key not in runs()
    assert Settings().install_operator and Settings().install_monitoring
    assert "pulumi stack init local" in runs()


def test_asserts_completed_run_executors_and_catalogue_series() -> None:
    text = runs()
    assert 'test "$(pulumi stack output runState)" = COMPLETED' in text
    assert re.search(r'metrics\["executors"\] == int\(os.environ\["EXECUTORS"\]\)', text)
    assert 'executorInstances "$EXECUTORS"' in text
    assert "from monitoring.queries import CATALOGUE" in text and 'sys.exit(f"no series' in text


def test_no_secrets_and_state_thrown_away() -> None:
    assert "secrets." not in WORKFLOW.read_text()
    assert job()["env"]["PULUMI_BACKEND_URL"].startswith("file://")
    (destroy,) = [s for s in steps() if "pulumi destroy" in s.get("run", "")]
    assert destroy["if"] == "always()"
    assert load(WORKFLOW)["permissions"] == {"contents": "read"}
