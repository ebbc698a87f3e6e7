"""Prometheus alerting rules, generated from the catalogue's alert expressions."""

from typing import Any

from monitoring.queries import ALERTS

GROUP = "spark-doks"


def alert_rules() -> dict[str, Any]:
    """A Prometheus rule file (`groups:`) with every alert of the catalogue."""
    return {
        "groups": [
            {
                "name": GROUP,
                "rules": [
                    {
                        "alert": alert.name,
                        "expr": alert.expr,
                        "for": alert.duration,
                        "labels": {"severity": "warning"},
                        "annotations": {"summary": alert.summary},
                    }
                    for alert in ALERTS
                ],
            }
        ]
    }
