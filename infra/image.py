"""The trainer image, built from spark_job/ and tagged by the content of its build context."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker as docker

from infra.registry import RegistryLogin
from spark_runs.image import BUILD_CONTEXT, CACHE_TAG, DOCKERFILE

REPOSITORY = "trainer"
# DOKS nodes are amd64; building for it explicitly keeps arm64 laptops producing runnable images.
PLATFORM = "linux/amd64"
# Rows of the sample dataset baked into the image when the stack has no inputPath.
SAMPLE_ROWS = 200_000
# BuildKit writes the cache metadata into the image itself, so a pulled image can serve as cache.
# Not part of the tag: it changes how the image is built, not what is in it.
INLINE_CACHE = {"BUILDKIT_INLINE_CACHE": "1"}

# Paths relative to the project root (Pulumi's working directory) keep the state the same on
# every machine.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DOCKERIGNORE = ".dockerignore"


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: ``**`` spans folders, ``*`` and ``?`` do not."""
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip("/"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def _ignore_rules(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """The context's .dockerignore as (excludes, pattern) rules; a ``!`` rule re-includes."""
    path = context / DOCKERIGNORE
    lines = path.read_text().splitlines() if path.is_file() else []
    rules = []
    for line in (raw.strip() for raw in lines):
        if line and not line.startswith("#"):
            excludes = not line.startswith("!")
            rules.append((excludes, _pattern_regex(line.lstrip("!").strip())))
    return rules


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    # Docker matches each rule against the path and its parent folders; the last match decides.
    parts = relative.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    ignored = False
    for excludes, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = excludes
    return ignored


def context_files(context: Path) -> list[Path]:
    """The files of the build context that Docker sends, in a stable order."""
    rules = _ignore_rules(context)
    return sorted(
        path
        for path in context.rglob("*")
        if path.is_file() and not _ignored(path.relative_to(context).as_posix(), rules)
    )


def context_digest(context: Path, build_args: Mapping[str, str]) -> str:
    """SHA-256 over the build context's files (path and bytes), the Dockerfile and the build args.

    The Dockerfile and the .dockerignore count although the image does not contain them (they define
    the build); what .dockerignore excludes, such as caches, never does. An unchanged trainer gives
    the same tag, so Docker neither rebuilds nor re-pushes it, and the run keeps its name.
    """
    digest = hashlib.sha256()
    defining = [context / DOCKERIGNORE, context / "Dockerfile"]
    for path in sorted({*context_files(context), *(p for p in defining if p.is_file())}):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for key in sorted(build_args):
        digest.update(f"{key}={build_args[key]}\0".encode())
    return digest.hexdigest()


def image_tag(stack: str, build_args: Mapping[str, str]) -> str:
    """The trainer's tag: the stack, then the start of its build context digest.

    The build is not reproducible (a layer built again rather than taken from the cache has other
    bytes), so one tag pushed by two stacks would point at whichever pushed last and leave the
    other's image untagged, for the registry clean-up to delete. Each stack pushes only its own.
    """
    return f"{stack}-{context_digest(BUILD_CONTEXT, build_args)[:16]}"


def sample_rows(input_path: str) -> int:
    """Bake a sample dataset into the image only when the run has no input of its own."""
    return 0 if input_path else SAMPLE_ROWS


@dataclass(frozen=True)
class TrainerImageArgs:
    repository: pulumi.Input[str]
    """Image repository without tag, e.g. ``registry.digitalocean.com/spark-doks/trainer``."""
    stack: str
    """Names the tag: only this stack pushes it."""
    build_args: Mapping[str, str] = field(default_factory=dict)
    login: pulumi.Output[RegistryLogin] | None = None
    """Registry credentials to push with; None keeps the image local (the ``local`` target)."""


class TrainerImage(pulumi.ComponentResource):
    """The trainer image; ``reference`` is what pods run (the repo digest when pushed).

    A pushed build takes its layer cache from the registry (``CACHE_TAG``, re-pushed after each
    build with inline cache metadata), so a fresh CI runner re-runs only the layers that changed.
    """

    def __init__(
        self, name: str, args: TrainerImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:TrainerImage", name, None, opts)
        tag = image_tag(args.stack, args.build_args)
        login = args.login
        child = pulumi.ResourceOptions(parent=self)
        cache_image = pulumi.Output.concat(args.repository, ":", CACHE_TAG)
        build = docker.DockerBuildArgs(
            context=BUILD_CONTEXT.relative_to(PROJECT_ROOT).as_posix(),
            dockerfile=DOCKERFILE.relative_to(PROJECT_ROOT).as_posix(),
            # A local image runs on this machine's own architecture.
            platform=None if login is None else PLATFORM,
            args=dict(args.build_args) if login is None else {**args.build_args, **INLINE_CACHE},
            cache_from=None if login is None else docker.CacheFromArgs(images=[cache_image]),
        )
        self.image = docker.Image(
            name,
            image_name=pulumi.Output.concat(args.repository, ":", tag),
            build=build,
            registry=None if login is None else _registry(login),
            skip_push=login is None,
            opts=child,
        )
        if login is not None:
            # The same build again (every layer from the local cache) pushed as the cache tag.
            # An Image, not a Tag plus RegistryImage: docker.Image's Read keeps its state as it
            # is (pulumi-docker provider/provider.go:415-425), whereas RegistryImage's Read drops
            # the resource on any registry error, a 401 from expired credentials included
            # (terraform-provider-docker resource_docker_registry_image_funcs.go:107-111), and
            # the next `up` then pushes a local tag a fresh runner does not have. It rebuilds on
            # the same changes as the trainer: both have the same build inputs.
            docker.Image(
                f"{name}-{CACHE_TAG}",
                image_name=cache_image,
                build=build,
                registry=_registry(login),
                skip_push=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.image]),
            )
        # A pushed image is pinned by digest; a local one only exists under its content tag.
        self.reference: pulumi.Output[str] = (
            self.image.image_name if login is None else self.image.repo_digest
        )
        self.register_outputs({"reference": self.reference})


def _registry(login: pulumi.Output[RegistryLogin]) -> docker.RegistryArgs:
    return docker.RegistryArgs(
        server=login.apply(lambda value: value.server),
        username=login.apply(lambda value: value.username),
        password=pulumi.Output.secret(login.apply(lambda value: value.password)),
    )
