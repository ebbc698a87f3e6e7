"""A small client for Prometheus' HTTP query API (standard library only).

Prometheus answers some queries with `warnings` (e.g. results cut short) and, since 3.x, `infos`
(e.g. `increase()` over a series whose name does not say it is a counter). Each result carries
them, so a caller can show them and a test can fail on one it did not expect.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or rejected a query."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value)


@dataclass(frozen=True)
class Annotation:
    kind: Literal["warning", "info"]
    text: str


class Result(list[Series]):
    """A query's series, with the warnings and infos Prometheus returned beside them."""

    def __init__(self, series: Iterable[Series], annotations: Iterable[Annotation] = ()) -> None:
        super().__init__(series)
        self.annotations = tuple(annotations)


def _get(base_url: str, path: str, params: dict[str, str]) -> tuple[Any, list[Annotation]]:
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
    annotations = [Annotation("warning", text) for text in body.get("warnings") or []]
    annotations += [Annotation("info", text) for text in body.get("infos") or []]
    return body["data"], annotations


def query(base_url: str, expr: str, at: float | None = None) -> Result:
    """An instant query; matrix results (range selectors) keep all their samples."""
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    data, annotations = _get(base_url, "/api/v1/query", params)
    if data["resultType"] == "matrix":
        return Result((_matrix_series(item) for item in data["result"]), annotations)
    return Result(
        (
            Series(item["metric"], [(float(item["value"][0]), float(item["value"][1]))])
            for item in data["result"]
        ),
        annotations,
    )


def query_range(base_url: str, expr: str, start: float, end: float, step: float) -> Result:
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"}
    data, annotations = _get(base_url, "/api/v1/query_range", params)
    return Result((_matrix_series(item) for item in data["result"]), annotations)


def _matrix_series(item: dict[str, Any]) -> Series:
    return Series(item["metric"], [(float(t), float(v)) for t, v in item["values"]])
