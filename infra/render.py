"""`make render`: every Kubernetes object a stack would apply, as YAML, without a cloud.

Runs the Pulumi program under mocks with the stack's config (Pulumi.<stack>.yaml) and writes to
OUTPUT/<stack>/: one file per Kubernetes object named <kind>-<namespace>-<name>.yaml (the same
names every run, so two renders or two stacks diff file by file), the values of each Helm release,
every embedded YAML or JSON document (scrape configs, dashboards) as its own readable file in
<file>.embedded/, and digitalocean.yaml, the billed DigitalOcean resources with the pool's monthly
cost range. Secret values are replaced by a placeholder; the image digest, which only a real
build has, is a marked placeholder. Output is written to a temporary folder and renamed into place.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.cli_config import StackConfig, StackConfigError, load_stack
from infra.offline import DeclaredResource, OfflineRun, run_offline
from infra.render_summary import digitalocean_summary
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
    """The ``spark-doks:`` config ``pulumi up`` of ``stack`` hands the program: Pulumi.<stack>.yaml
    with the Pulumi.yaml defaults, loaded as the CLI loads it (infra.cli_config)."""
    return load_stack(stack, PROJECT_ROOT, OFFLINE_SECRETS).of(PROJECT)


def _sort_key(manifest: dict[str, Any]) -> tuple[str, str, str]:
    metadata = manifest["metadata"]
    return (manifest["kind"].lower(), metadata.get("namespace") or "", metadata["name"])


def file_name(manifest: dict[str, Any]) -> str:
    """``<kind>-<namespace>-<name>.yaml`` (no namespace for cluster-wide objects)."""
    return "-".join(part for part in _sort_key(manifest) if part) + ".yaml"


def _document(text: str) -> tuple[str, Any] | None:
    """(extension, parsed) of a multi-line string that holds a YAML or JSON map or list."""
    if "\n" not in text.strip():
        return None
    try:
        return "json", json.loads(text)
    except ValueError:
        pass
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return ("yaml", parsed) if isinstance(parsed, dict | list) else None


def embedded_documents(value: Any, path: tuple[str, ...] = ()) -> dict[str, tuple[str, Any]]:
    """Every YAML or JSON document held in a string of ``value``, by its dotted key path."""
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    elif isinstance(value, str) and (document := _document(value)) is not None:
        return {".".join(path): document}
    else:
        return {}
    found: dict[str, tuple[str, Any]] = {}
    for key, item in items:
        found.update(embedded_documents(item, (*path, key)))
    return found


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=True, width=100)


def _write(folder: Path, name: str, document: Any, placeholder: str | None) -> list[Path]:
    """The file, then its embedded documents beside it, each readable on its own."""
    text = _dump(document)
    if placeholder and placeholder in text:
        text = f"# PLACEHOLDER: {placeholder} is made up by the offline render; " + (
            "pulumi up uses the digest of the image it pushed\n" + text
        )
    path = folder / name
    path.write_text(text)
    written = [path]
    embedded = embedded_documents(document)
    if embedded:
        beside = folder / f"{path.stem}.embedded"
        beside.mkdir()
        for key_path, (extension, parsed) in sorted(embedded.items()):
            stem = key_path.replace("/", "_").removesuffix(f".{extension}")
            inner = beside / f"{stem}.{extension}"
            if extension == "json":
                inner.write_text(json.dumps(parsed, indent=2, sort_keys=True) + "\n")
            else:
                inner.write_text(_dump(parsed))
            written.append(inner)
    return written


def placeholder_digest(run: OfflineRun) -> str | None:
    """The mocks' made-up image digest (DigitalOcean stacks run the image by digest)."""
    image = str(run.outputs.get("image", ""))
    return image.partition("@")[2] or None


def write_stack(run: OfflineRun, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    placeholder = placeholder_digest(run)
    written = []
    for manifest in sorted(kubernetes_objects(run), key=_sort_key):
        written += _write(folder, file_name(manifest), manifest, placeholder)
    for release in sorted(helm_releases(run), key=lambda release: str(release["name"])):
        written += _write(folder, f"helm-release-{release['name']}.yaml", release, placeholder)
    written += _write(folder, "digitalocean.yaml", digitalocean_summary(run), placeholder)
    return written


def load(stack: str) -> tuple[StackConfig, str]:
    """A stack's config as ``pulumi up`` loads it, and its name; ``stack`` is a stack name (its
    file is Pulumi.<stack>.yaml beside Pulumi.yaml) or the path of a Pulumi.<stack>.yaml."""
    if not stack.endswith((".yaml", ".yml")):
        return load_stack(stack, PROJECT_ROOT, OFFLINE_SECRETS), stack
    path = Path(stack)
    name = path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
    if not path.name.startswith("Pulumi.") or not name:
        raise StackConfigError(f"{stack}: a stack file is named Pulumi.<stack>.yaml")
    if not path.is_file():
        raise StackConfigError(f"{stack}: no such stack file")
    return load_stack(name, PROJECT_ROOT, OFFLINE_SECRETS, path), name


def render(stacks: list[str], output: Path) -> list[Path]:
    """Render each stack into ``output/<stack>/``, replacing ``output`` only when all succeeded."""
    loaded = [load(stack) for stack in stacks]
    runs = [run_offline(config, stack) for config, stack in loaded]
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
    parser.add_argument(
        "stacks",
        nargs="*",
        default=["dev", "local", "prod"],
        help="stack names (Pulumi.<stack>.yaml beside Pulumi.yaml) or stack file paths",
    )
    parser.add_argument("--output", type=Path, default=Path("rendered"), help="output folder")
    args = parser.parse_args(argv)
    try:
        written = render(args.stacks, args.output)
    except (SettingsError, StackConfigError, ValueError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
