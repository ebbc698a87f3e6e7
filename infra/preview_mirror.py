"""The preview mirror: what pull-request previews diff against, without any stack's secrets.

A `pulumi preview` decrypts every secret in the state it diffs (pulumi
pkg/resource/stack/deployment.go decrypts eagerly while it loads a snapshot), so a preview of the
real dev or prod stack needs that stack's passphrase, and pull request code could read every
secret in its state. Instead, each deploy job publishes a mirror of its stack after `pulumi up`:
the same resources, inputs and outputs, with every secret value replaced by `REDACTED`, in a
bucket of its own and encrypted with the preview environment's own passphrase. Pull requests
preview the mirror, so they hold no dev or production secret.

The program keeps such previews faithful: a secret reaches a resource unchanged (a Secret's
`stringData`), or, where it is parsed (the registry's docker config), a redacted input gives
redacted outputs, so a mirror's redacted inputs match what the program computes from its
redacted outputs.

    python -m infra.preview_mirror publish STACK      # a deploy job, after pulumi up
    python -m infra.preview_mirror stack-file STACK   # a preview job, before pulumi preview
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cli_config import PROJECT_ROOT, StackConfigError, load_project, read_stack_file

REDACTED = "redacted-for-preview"
"""Every secret string in a mirror (numbers become 0, booleans false; lists and maps keep their
shape, so code that indexes into a secret still runs)."""

# How Pulumi marks a secret in a serialized deployment (sdk/go/common/resource/sig).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

# The mirror's environment, beside the stack's own PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE.
MIRROR_BACKEND_ENV = "PREVIEW_BACKEND_URL"
MIRROR_PASSPHRASE_ENV = "PREVIEW_CONFIG_PASSPHRASE"
# The CLI takes the mirror's secrets provider from its state when the stack file names none
# (pulumi pkg/cmd/pulumi/stack/secrets.go, SecretsManagerLoader.FallbackToState).
FALLBACK_ENV = {"PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true"}


class MirrorError(RuntimeError):
    """A publish or a stack-file preparation that cannot go on, in one line."""


def redacted(value: Any) -> Any:
    """The value with its shape kept and every scalar in it replaced."""
    if isinstance(value, dict):
        return {key: redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    if value is None:
        return None
    return REDACTED


@dataclass
class Redaction:
    deployment: dict[str, Any]
    secrets: int


def redact_deployment(exported: dict[str, Any], secrets_provider: dict[str, Any]) -> Redaction:
    """An exported deployment (`pulumi stack export --show-secrets`) with every secret redacted,
    ready to import under `secrets_provider` (the mirror stack's own)."""
    count = 0

    def walk(node: Any) -> Any:
        nonlocal count
        if isinstance(node, dict):
            if node.get(SECRET_SIG_KEY) == SECRET_SIG:
                if "plaintext" not in node:
                    raise MirrorError("the export holds an encrypted secret: export --show-secrets")
                count += 1
                plaintext = json.dumps(redacted(json.loads(node["plaintext"])))
                return {SECRET_SIG_KEY: SECRET_SIG, "plaintext": plaintext}
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    deployment = walk(exported)
    deployment["deployment"]["secrets_providers"] = secrets_provider
    return Redaction(deployment, count)


@dataclass(frozen=True)
class Backend:
    name: str
    """What the backend is to the user, for messages: "dev's state", "the mirror"."""
    url: str
    """PULUMI_BACKEND_URL; empty: the backend of `pulumi login`."""
    passphrase: str


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise MirrorError(f"{name} is not set: the preview mirror needs it (docs/ci-cd.md)")
    return value


class Cli:
    """The pulumi CLI in one project folder, each stack's secrets provider taken from its state
    when the stack file names none."""

    def __init__(self, work_dir: Path, pulumi: str = "pulumi") -> None:
        self.work_dir = work_dir
        self.pulumi = pulumi
        self.project = load_project(work_dir).name

    def qualified(self, stack: str) -> str:
        # A file or Spaces backend names stacks organization/PROJECT/STACK.
        return stack if "/" in stack else f"organization/{self.project}/{stack}"

    def run(
        self, backend: Backend, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            **FALLBACK_ENV,
            "PULUMI_CONFIG_PASSPHRASE": backend.passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
        env.pop("PULUMI_BACKEND_URL", None)
        if backend.url:  # else the backend `pulumi login` chose
            env["PULUMI_BACKEND_URL"] = backend.url
        result = subprocess.run(
            [self.pulumi, *args, "--non-interactive"],
            cwd=self.work_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            # stderr only: the stdout of an export holds the secrets.
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise MirrorError(f"pulumi {' '.join(args[:2])} on {backend.name} failed: {last}")
        return result

    def has_stack(self, backend: Backend, stack: str) -> bool:
        exported = self.run(
            backend, "stack", "export", "--stack", self.qualified(stack), check=False
        )
        return exported.returncode == 0


def publish(stack: str, source: Backend, mirror: Backend, pulumi: str = "pulumi") -> Redaction:
    """Copy STACK's state from `source` to the mirror backend, every secret redacted."""
    with tempfile.TemporaryDirectory(prefix="preview-mirror-") as scratch:
        # A scratch project (Pulumi.yaml only): no stack file of the checkout is read or written.
        shutil.copy(PROJECT_ROOT / "Pulumi.yaml", Path(scratch) / "Pulumi.yaml")
        cli = Cli(Path(scratch), pulumi)
        name = cli.qualified(stack)
        # Held in memory only: this export is the one place the plaintext exists.
        export = cli.run(source, "stack", "export", "--stack", name, "--show-secrets")
        exported = json.loads(export.stdout)
        existing = cli.run(mirror, "stack", "export", "--stack", name, check=False)
        if existing.returncode != 0:  # the first publish of this stack
            cli.run(mirror, "stack", "init", name, "--secrets-provider", "passphrase")
            existing = cli.run(mirror, "stack", "export", "--stack", name)
        provider = json.loads(existing.stdout)["deployment"].get("secrets_providers")
        if not provider or provider.get("type") != "passphrase":
            raise MirrorError(f"the mirror of {stack} is not encrypted with a passphrase")
        result = redact_deployment(exported, provider)
        redacted_file = Path(scratch) / "mirror.json"
        redacted_file.write_text(json.dumps(result.deployment))
        cli.run(mirror, "stack", "import", "--stack", name, "--file", str(redacted_file))
        return result


SALT_LINE = re.compile(r"^(encryptionsalt|encryptedkey|secretsprovider):.*\n?", re.MULTILINE)


def prepare_stack_file(
    stack: str, mirror: Backend, root: Path = PROJECT_ROOT, pulumi: str = "pulumi"
) -> list[str]:
    """Make `Pulumi.STACK.yaml` preview the mirror: drop the stack's own secrets provider, and
    replace each secret value. The project's secret keys become `REDACTED` (encrypted with the
    mirror's passphrase), other namespaces' are removed (a provider then reads its environment,
    for example `DIGITALOCEAN_TOKEN`). Returns the keys it replaced or removed."""
    path = root / f"Pulumi.{stack}.yaml"
    cli = Cli(root, pulumi)
    if not cli.has_stack(mirror, stack):
        raise MirrorError(
            f"the mirror has no stack {stack} yet: the deploy of {stack} publishes it "
            f"(python -m infra.preview_mirror publish {stack}, docs/ci-cd.md)"
        )
    secret_keys = sorted(read_stack_file(path, load_project(root)).secret_keys)
    path.write_text(SALT_LINE.sub("", path.read_text()))
    for key in secret_keys:
        if key.startswith(f"{cli.project}:"):
            cli.run(mirror, "config", "set", "--secret", "--stack", stack, key, REDACTED)
        else:
            cli.run(mirror, "config", "rm", "--stack", stack, key)
    return secret_keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    publish_parser = commands.add_parser(
        "publish",
        help="copy the stack's state to the mirror, secrets redacted (a deploy job, after up)",
    )
    publish_parser.add_argument("stack")
    prepare_parser = commands.add_parser(
        "stack-file", help="make Pulumi.STACK.yaml preview the mirror (a preview job)"
    )
    prepare_parser.add_argument("stack")
    args = parser.parse_args(argv)
    try:
        mirror = Backend(
            "the mirror", _required(MIRROR_BACKEND_ENV), _required(MIRROR_PASSPHRASE_ENV)
        )
        if args.command == "publish":
            source = Backend(
                f"{args.stack}'s state",
                os.environ.get("PULUMI_BACKEND_URL", ""),
                _required("PULUMI_CONFIG_PASSPHRASE"),
            )
            result = publish(args.stack, source, mirror)
            resources = len(result.deployment["deployment"].get("resources") or [])
            print(
                f"published the preview mirror of {args.stack}: {resources} resources, "
                f"{result.secrets} secret value{'' if result.secrets == 1 else 's'} redacted"
            )
        else:
            keys = prepare_stack_file(args.stack, mirror)
            print(
                f"Pulumi.{args.stack}.yaml previews the mirror"
                + (f" ({len(keys)} secret config values redacted)" if keys else "")
            )
    except (MirrorError, StackConfigError) as error:
        print(f"preview mirror: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
