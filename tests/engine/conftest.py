"""The engine suite's fixtures: the toolchain tools/engine/build made, a control plane on
127.0.0.1 with the SparkApplication CRD an installed operator would have, and a Pulumi
workspace (local file backend, throwaway passphrase) over a copy of the project's files.
"""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.engine.cluster import ControlPlane
from tests.support import REPO_ROOT, in_ci, schema_file, unavailable

BUILD = REPO_ROOT / "tools" / "engine" / "build"
TOOLS = ("pulumi", "kube-apiserver", "kube-controller-manager", "etcd")


def engine_bin() -> Path:
    """The toolchain's bin folder. CI=true builds it when missing (a failed build fails the
    run); elsewhere a missing build skips with the command that makes it."""
    command = [str(BUILD)] if in_ci() else [str(BUILD), "--cached-only"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        unavailable(f"engine toolchain: {last}")
    bin_dir = Path(result.stdout.strip().splitlines()[-1])
    missing = [tool for tool in TOOLS if not (bin_dir / tool).is_file()]
    if missing:
        unavailable(f"engine toolchain in {bin_dir} lacks {', '.join(missing)}")
    return bin_dir


@pytest.fixture(scope="session")
def engine() -> Path:
    return engine_bin()


@pytest.fixture(scope="module")
def control_plane(engine: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    crd_file = schema_file("spark-operator/sparkoperator.k8s.io_sparkapplications.yaml")
    plane = ControlPlane(tmp_path_factory.mktemp("control-plane"), engine)
    try:
        plane.start()
        crd = yaml.safe_load(crd_file.read_text())
        plane.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        name = crd["metadata"]["name"]
        for _ in range(60):
            got = plane.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = ((got or {}).get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            time.sleep(1)
        else:
            pytest.fail(f"CRD {name} not established")
        yield plane
    finally:
        plane.stop()


PASSPHRASE = "engine-suite-throwaway"


def pulumi_env(
    engine: Path, home: Path, state: Path, kubeconfig: Path | None, passphrase: str = PASSPHRASE
) -> dict[str, str]:
    """The CLI's environment: its own PULUMI_HOME holding the built plugin, a file backend."""
    plugins = engine.parent / "pulumi-home" / "plugins"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "plugins").exists():
        (home / "plugins").symlink_to(plugins)
    state.mkdir(parents=True, exist_ok=True)
    env = {
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "NO_COLOR": "1",
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def project_copy(directory: Path, stack: str) -> Path:
    """Pulumi.yaml and the stack's file, copied: the CLI loads them as it loads the repo's."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        shutil.copy(REPO_ROOT / name, directory / name)
    return directory


def dump(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True))


def clean_environment() -> None:
    # A developer's own kube context or backend must never leak into the suite.
    for key in ("KUBECONFIG", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN"):
        os.environ.pop(key, None)
