"""`make render`: every Kubernetes object a stack would apply, as YAML, without a cloud.

Runs the Pulumi program under mocks with the stack's config (Pulumi.<stack>.yaml) and writes one
file per Kubernetes object, plus the values of each Helm release, to OUTPUT/<stack>/. Secret values
are replaced by a placeholder. Output is written to a temporary folder and renamed into place.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.offline import DeclaredResource, OfflineRun, run_offline
from infra.settings import PROJECT, SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = "<secret: set at deploy time>"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def plain(value: Any) -> Any:
    """Inputs as Kubernetes expects them: secrets masked, whole numbers as integers."""
    if isinstance(value, dict):
        if _SECRET_SIGNATURE in value:
            return _masked(value["value"])
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _masked(value: Any) -> Any:
    """The shape of a secret value with every leaf replaced, so the object stays valid."""
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return SECRET_PLACEHOLDER


def is_kubernetes_object(resource: DeclaredResource) -> bool:
    return resource.type.startswith("kubernetes:") and resource.type != HELM_RELEASE


def kubernetes_objects(run: OfflineRun) -> list[dict[str, Any]]:
    """Every object the stack applies to Kubernetes directly (not through Helm)."""
    return [plain(resource.inputs) for resource in run.resources if is_kubernetes_object(resource)]


def helm_releases(run: OfflineRun) -> list[dict[str, Any]]:
    """Each Helm release: chart, version, repository, namespace and the values it is given."""
    return [
        {
            key: value
            for key, value in plain(resource.inputs).items()
            if key in ("name", "chart", "version", "repositoryOpts", "namespace", "values")
        }
        for resource in run.of_type(HELM_RELEASE)
    ]


# Secret config is encrypted in (or absent from) a stack file, which offline runs cannot read;
# a placeholder stands in so a stack that requires one still renders.
OFFLINE_SECRETS = {"alertSlackWebhookUrl": "https://hooks.slack.com/services/offline-placeholder"}


def stack_config(stack: str) -> dict[str, str]:
    """The ``spark-doks:`` keys of Pulumi.<stack>.yaml, as the Pulumi CLI passes them (strings)."""
    path = PROJECT_ROOT / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_ROOT.glob("Pulumi.*.yaml")
        )
        raise ValueError(f"no stack file {path.name}; known stacks: {', '.join(known)}")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    prefix = f"{PROJECT}:"
    values = {
        key[len(prefix) :]: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in config.items()
        if key.startswith(prefix) and not isinstance(value, dict)  # {secure: ...}: encrypted
    }
    return {**OFFLINE_SECRETS, **values}


def _file_name(index: int, manifest: dict[str, Any]) -> str:
    metadata = manifest["metadata"]
    namespace = metadata.get("namespace")
    name = metadata["name"] if namespace is None else f"{namespace}-{metadata['name']}"
    return f"{index:02d}-{manifest['kind'].lower()}-{name}.yaml"


def write_stack(run: OfflineRun, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    written = []
    for index, manifest in enumerate(kubernetes_objects(run), start=1):
        path = folder / _file_name(index, manifest)
        path.write_text(yaml.safe_dump(manifest, sort_keys=True))
        written.append(path)
    for release in helm_releases(run):
        path = folder / f"helm-release-{release['name']}.yaml"
        path.write_text(yaml.safe_dump(release, sort_keys=True))
        written.append(path)
    return written


def render(stacks: list[str], output: Path) -> list[Path]:
    """Render each stack into ``output/<stack>/``, replacing ``output`` only when all succeeded."""
    runs = [run_offline(stack_config(stack), stack) for stack in stacks]
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        written = [path for run in runs for path in write_stack(run, staging / run.stack)]
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [output / path.relative_to(staging) for path in written]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.render", description=__doc__)
    parser.add_argument("stacks", nargs="*", default=["dev", "local", "prod"], help="stack names")
    parser.add_argument("--output", type=Path, default=Path("rendered"), help="output folder")
    args = parser.parse_args(argv)
    try:
        written = render(args.stacks, args.output)
    except (SettingsError, ValueError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
