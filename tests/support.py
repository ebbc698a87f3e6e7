"""Shared test helpers: where upstream schemas live and how a missing local tool is handled.

A test that needs something outside the repository (the CRD and chart files `make schemas`
fetches, see tests/upstream.py; a Prometheus binary) skips with the reason on a developer laptop
and fails when CI=true, so CI can never go green by skipping what it was meant to check.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.upstream import FETCHED, SCHEMAS_ENV, schemas_path
from tests.upstream import REPO_ROOT as REPO_ROOT


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def schema_file(relative: str) -> Path:
    """An upstream CRD or chart file (never copied into this repository; `make schemas`)."""
    if relative not in FETCHED:
        pytest.fail(f"{relative} is not a file `make schemas` fetches; add it to tests/upstream.py")
    directory = schemas_path()
    if not directory.is_dir():
        unavailable(
            f"upstream schemas not found at {directory}; run `make schemas` or set {SCHEMAS_ENV} "
            "to their folder"
        )
    return directory / relative


def require_tool(name: str, install: str = "") -> str:
    """The path of an executable on PATH, e.g. java; ``install`` says how to get it."""
    path = shutil.which(name)
    if path is None:
        how = install or f"Debian: apt-get install {name}"
        unavailable(f"{name} is not on PATH; install it ({how})")
    assert path is not None
    return path


def _key_paths(values: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in values.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            yield from _key_paths(value, path)
        else:
            yield path


def unknown_helm_values(values: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """Key paths set in ``values`` that the chart's defaults lack (Helm would ignore them).

    An empty map in the defaults (resources, labels, annotations) takes any keys below it.
    """
    unknown = []
    for path in _key_paths(values):
        node: Any = defaults
        for key in path:
            if isinstance(node, dict) and not node:
                break
            if not isinstance(node, dict) or key not in node:
                unknown.append(".".join(path))
                break
            node = node[key]
    return unknown


def env_without_java(tmp_path: Path) -> dict[str, str]:
    """This environment with JAVA_HOME unset and a PATH holding every command of the current
    PATH except java (pyspark's launcher needs bash and other tools)."""
    bin_dir = tmp_path / "path-without-java"
    bin_dir.mkdir(exist_ok=True)
    for directory in os.environ["PATH"].split(os.pathsep):
        for command in Path(directory).glob("*") if Path(directory).is_dir() else []:
            link = bin_dir / command.name
            if command.name != "java" and not link.exists() and os.access(command, os.X_OK):
                link.symlink_to(command)
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    return {**env, "PATH": str(bin_dir)}
