"""Prometheus alerting rules, generated from the catalogue's alert expressions."""

from collections.abc import Sequence
from typing import Any

from monitoring.queries import ALERTS, Alert

GROUP = "spark-doks"


def alert_rules(stack_alerts: Sequence[Alert] = ()) -> dict[str, Any]:
    """A Prometheus rule file (`groups:`) with every alert of the catalogue and the stack's."""
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
                    for alert in (*ALERTS, *stack_alerts)
                ],
            }
        ]
    }
