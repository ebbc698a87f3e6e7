"""Prometheus, promtool and the Pushgateway at the versions the pinned prometheus chart runs.

tools/prometheus pins them (go.mod for Prometheus, its build script for the Pushgateway) and
builds them; .ci/run puts the build's bin directory first on PATH. A test that starts one takes
it from here: with another version on PATH it skips on a laptop, naming the command that builds
the right one, and fails when CI=true.
"""

import re
from pathlib import Path

from monitoring import local_stack, preflight
from tests.support import REPO_ROOT, require_tool, unavailable

TOOLS = REPO_ROOT / "tools" / "prometheus"
BUILD = 'PATH="$(tools/prometheus/build):$PATH"'
# Where Debian (and most distributions) install their prometheus and prometheus-pushgateway.
DISTRIBUTION_BIN = Path("/usr/bin")


def prometheus_release() -> str:
    """The Prometheus release of the pinned module: v0.314.0 is 3.14.0 (minor = major * 100 +
    minor, Prometheus' rule for its Go module versions)."""
    go_mod = (TOOLS / "go.mod").read_text()
    module = r"^(?:require)?\s+github\.com/prometheus/prometheus v0\.(\d+)\.(\d+)( // indirect)?$"
    match = re.search(module, go_mod, re.M)
    assert match, "tools/prometheus/go.mod requires no github.com/prometheus/prometheus"
    minor = int(match.group(1))
    return f"{minor // 100}.{minor % 100}.{match.group(2)}"


def pushgateway_release() -> str:
    build = (TOOLS / "build").read_text()
    match = re.search(r"^pushgateway_version=v(\d+\.\d+\.\d+)\b", build, re.M)
    assert match, "tools/prometheus/build sets no pushgateway_version"
    return match.group(1)


def expected_release(tool: str) -> str:
    return pushgateway_release() if tool == "pushgateway" else prometheus_release()


def require_chart_version(tool: str) -> str:
    """`prometheus`, `promtool` or `pushgateway` on PATH at the pinned release; its path."""
    if tool == "pushgateway":
        path = preflight.path(preflight.PUSHGATEWAY)
        if path is None:
            unavailable(f"no pushgateway on PATH; build it: {BUILD}")
        assert path is not None
    else:
        path = require_tool(tool)
    found, expected = local_stack.version(path), expected_release(tool)
    if found != expected:
        unavailable(
            f"{path} is {tool} {found}; these tests run {expected}, what the pinned prometheus "
            f"chart runs: {BUILD}"
        )
    return path


def distribution_binary(name: str) -> str:
    """The distribution's package of a tool (e.g. Debian's prometheus 2.42), not the pinned one."""
    path = DISTRIBUTION_BIN / name
    if not path.is_file():
        unavailable(f"the distribution's {name} is not at {path}; Debian: apt-get install {name}")
    return str(path)
