"""Put the s3a jars into Spark's jars folder at image build time, each checked against its SHA-256.

Run by the Dockerfile with the base image's own python3 (standard library only), because the
Docker engine's built-in Dockerfile frontend has no ``ADD --checksum``. Versions follow Spark
4.0.4: its Hadoop is 3.4.1 (the ``hadoop-client-*-3.4.1`` jars it ships), its build pins the AWS
SDK v2 bundle at 2.25.53 (SPARK-50859, which spark-hadoop-cloud depends on; Hadoop 3.4.1 itself
declares 2.24.6), and spark-hadoop-cloud is the Spark release's own module.

Either every jar lands in the folder or none does.
"""

import hashlib
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha256: str
    """SHA-256 of the jar as published on Maven Central."""

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str) -> str:
        path = "/".join([*self.group.split("."), self.artifact, self.version, self.file_name])
        return f"{repository}/{path}"


# The checksums could not be read where this was written (no route to Maven Central); pin each
# with `curl -fsSL <url> | sha256sum` from a machine that reaches it. An empty one fails the build.
JARS = (
    Jar("org.apache.hadoop", "hadoop-aws", "3.4.1", sha256=""),
    Jar("software.amazon.awssdk", "bundle", "2.25.53", sha256=""),
    Jar("org.apache.spark", "spark-hadoop-cloud_2.13", "4.0.4", sha256=""),
)


class ChecksumError(Exception):
    """A jar is not the pinned one (or has no pinned checksum)."""


def _download(jar: Jar, repository: str, folder: Path) -> Path:
    if not jar.sha256:
        raise ChecksumError(
            f"no pinned SHA-256 for {jar.file_name}; pin it in spark_job/s3a_jars.py with: "
            f"curl -fsSL {jar.url(repository)} | sha256sum"
        )
    target = folder / jar.file_name
    digest = hashlib.sha256()
    with urllib.request.urlopen(jar.url(repository)) as response, target.open("wb") as out:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != jar.sha256:
        raise ChecksumError(
            f"{jar.file_name} from {jar.url(repository)} has SHA-256 {digest.hexdigest()}, "
            f"expected {jar.sha256}; refusing to install it"
        )
    return target


def install(jars: Sequence[Jar], repository: str, destination: Path) -> list[Path]:
    """Download and verify every jar, then move them all into ``destination``."""
    with tempfile.TemporaryDirectory() as staging:
        verified = [_download(jar, repository, Path(staging)) for jar in jars]
        return [Path(shutil.move(path, destination / path.name)) for path in verified]


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: s3a_jars.py SPARK_JARS_FOLDER", file=sys.stderr)
        return 2
    try:
        installed = install(JARS, MAVEN_CENTRAL, Path(argv[0]))
    except ChecksumError as error:
        print(f"s3a_jars.py: {error}", file=sys.stderr)
        return 2
    for path in installed:
        print(f"installed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
