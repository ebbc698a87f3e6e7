"""The trainer image, built from spark_job/ and tagged by the content of its build context."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker as docker

from infra.registry import RegistryLogin
from spark_runs.image import BUILD_CONTEXT, DOCKERFILE

REPOSITORY = "trainer"
# DOKS nodes are amd64; building for it explicitly keeps arm64 laptops producing runnable images.
PLATFORM = "linux/amd64"
# Rows of the sample dataset baked into the image when the stack has no inputPath.
SAMPLE_ROWS = 200_000

# Paths relative to the project root (Pulumi's working directory) keep the state the same on
# every machine.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def context_digest(context: Path, build_args: Mapping[str, str]) -> str:
    """SHA-256 over every file of the build context (path and bytes) and the build arguments.

    An unchanged trainer gives the same tag, so Docker neither rebuilds nor re-pushes it.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context)
        if _IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for key in sorted(build_args):
        digest.update(f"{key}={build_args[key]}\0".encode())
    return digest.hexdigest()


def image_tag(build_args: Mapping[str, str]) -> str:
    """The trainer's tag: the start of its build context digest."""
    return context_digest(BUILD_CONTEXT, build_args)[:16]


def sample_rows(input_path: str) -> int:
    """Bake a sample dataset into the image only when the run has no input of its own."""
    return 0 if input_path else SAMPLE_ROWS


@dataclass(frozen=True)
class TrainerImageArgs:
    repository: pulumi.Input[str]
    """Image repository without tag, e.g. ``registry.digitalocean.com/spark-doks/trainer``."""
    build_args: Mapping[str, str] = field(default_factory=dict)
    login: pulumi.Output[RegistryLogin] | None = None
    """Registry credentials to push with; None keeps the image local (the ``local`` target)."""


class TrainerImage(pulumi.ComponentResource):
    """The trainer image; ``reference`` is what pods run (the repo digest when pushed)."""

    def __init__(
        self, name: str, args: TrainerImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:TrainerImage", name, None, opts)
        tag = image_tag(args.build_args)
        login = args.login
        registry = (
            None
            if login is None
            else docker.RegistryArgs(
                server=login.apply(lambda value: value.server),
                username=login.apply(lambda value: value.username),
                password=pulumi.Output.secret(login.apply(lambda value: value.password)),
            )
        )
        self.image = docker.Image(
            name,
            image_name=pulumi.Output.concat(args.repository, ":", tag),
            build=docker.DockerBuildArgs(
                context=BUILD_CONTEXT.relative_to(PROJECT_ROOT).as_posix(),
                dockerfile=DOCKERFILE.relative_to(PROJECT_ROOT).as_posix(),
                # A local image runs on this machine's own architecture.
                platform=None if login is None else PLATFORM,
                args=dict(args.build_args),
            ),
            registry=registry,
            skip_push=login is None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # A pushed image is pinned by digest; a local one only exists under its content tag.
        self.reference: pulumi.Output[str] = (
            self.image.image_name if login is None else self.image.repo_digest
        )
        self.register_outputs({"reference": self.reference})
