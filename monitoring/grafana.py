"""Where the generated dashboards live and the datasource they expect, for Grafana provisioning."""

from pathlib import Path

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
# The uid under which the cluster's Grafana provisions its Prometheus datasource.
DATASOURCE_UID = "prometheus"


def dashboard_files() -> dict[str, str]:
    """Dashboard name (file stem) -> JSON text, as committed by `make dashboards`."""
    return {path.stem: path.read_text() for path in sorted(DASHBOARDS_DIR.glob("*.json"))}
