"""The engine toolchain's wrapper modules and how CI gets them (issue 24 point 1)."""

import re

from tests.support import REPO_ROOT

ENGINE = REPO_ROOT / "tools" / "engine"
CI_RUN = REPO_ROOT / ".ci" / "run"


def requires(module_dir: str) -> dict[str, str]:
    """The direct requirements (lines without `// indirect`) of a wrapper module."""
    text = (ENGINE / module_dir / "go.mod").read_text()
    return dict(re.findall(r"^\t(\S+) (v\S+)$", text, flags=re.MULTILINE))


def test_only_go_mod_go_sum_and_the_scripts_are_committed() -> None:
    files = {p.relative_to(ENGINE).as_posix() for p in ENGINE.rglob("*") if p.is_file()}
    modules = {f"{m}/{f}" for m in ("pulumi", "provider", "kube") for f in ("go.mod", "go.sum")}
    assert files == {"build", "probe", *modules}


def test_the_cli_builds_against_the_published_sdk_of_its_own_version() -> None:
    pins = requires("pulumi")
    assert pins["github.com/pulumi/pulumi/sdk/v3"] == pins["github.com/pulumi/pulumi/pkg/v3"]
    cli = tuple(int(x) for x in pins["github.com/pulumi/pulumi/pkg/v3"][1:].split("."))
    sdk_pin = re.search(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.M)
    assert sdk_pin is not None
    assert cli >= tuple(int(x) for x in sdk_pin.group(1).split("."))


def test_kubernetes_staging_modules_map_to_the_published_minor() -> None:
    text = (ENGINE / "kube" / "go.mod").read_text()
    minor = requires("kube")["k8s.io/kubernetes"].split(".")[1]
    replaced = re.findall(r"^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (v\S+)$", text, flags=re.M)
    assert len(replaced) > 25
    assert all(src == dst and ver == f"v0.{minor}.4" for src, dst, ver in replaced)


def test_the_plugin_is_installed_under_the_version_the_python_sdk_asks_for() -> None:
    build = (ENGINE / "build").read_text()
    pin = re.search(
        r"^pulumi-kubernetes==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.M
    )
    assert pin is not None
    assert f"KUBERNETES_PLUGIN_VERSION={pin.group(1)}" in build
    assert 'plugin install resource kubernetes "$KUBERNETES_PLUGIN_VERSION"' in build
    assert "--file" in build and "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true" in build
    assert "-trimpath" in build and "version.Version=" in build and "gitVersion=" in build


def test_ci_builds_the_toolchain_before_the_tests_and_a_failure_stops_it() -> None:
    text = CI_RUN.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert text.index("tools/engine/build") < text.index("make test")
