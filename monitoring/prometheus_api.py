"""A small client for Prometheus' HTTP query API (standard library only)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or rejected a query."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value)


def _get(base_url: str, path: str, params: dict[str, str]) -> Any:
    url = f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("error", error.reason)
        raise PrometheusError(f"{url}: {detail}") from error
    except (urllib.error.URLError, OSError) as error:
        raise PrometheusError(f"cannot reach Prometheus at {base_url}: {error}") from error
    if body.get("status") != "success":
        raise PrometheusError(f"{url}: {body.get('error', body)}")
    return body["data"]


def query(base_url: str, expr: str, at: float | None = None) -> list[Series]:
    """An instant query; matrix results (range selectors) keep all their samples."""
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    data = _get(base_url, "/api/v1/query", params)
    if data["resultType"] == "matrix":
        return [_matrix_series(item) for item in data["result"]]
    return [
        Series(item["metric"], [(float(item["value"][0]), float(item["value"][1]))])
        for item in data["result"]
    ]


def query_range(base_url: str, expr: str, start: float, end: float, step: float) -> list[Series]:
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"}
    data = _get(base_url, "/api/v1/query_range", params)
    return [_matrix_series(item) for item in data["result"]]


def _matrix_series(item: dict[str, Any]) -> Series:
    return Series(item["metric"], [(float(t), float(v)) for t, v in item["values"]])
