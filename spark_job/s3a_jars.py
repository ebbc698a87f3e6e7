"""Put the s3a jars into Spark's jars folder at image build time, each checked against its SHA-256.

Run by the Dockerfile with the base image's own python3 (standard library only), because the
Docker engine's built-in Dockerfile frontend has no ``ADD --checksum``. Versions follow Spark
4.0.4: its Hadoop is 3.4.1 (the ``hadoop-client-*-3.4.1`` jars it ships); its build pins the AWS
SDK v2 bundle at 2.25.53 (``aws.java.sdk.v2.version`` of the tagged spark-parent_2.13:4.0.4 pom;
Hadoop 3.4.1's hadoop-project pom declares 2.24.6). spark-hadoop-cloud_2.13 was last published
for the 4.0 line at 4.0.2 (Maven Central has no 4.0.3 or 4.0.4), and 4.0.2's parent pom pins the
same Hadoop and SDK. docs/decisions.md has the sources.

Either every jar lands in the folder or none does.

    python3 s3a_jars.py SPARK_JARS_FOLDER   download from Maven Central, verify, install
    python3 s3a_jars.py --coordinates       group:artifact:version per line (for mvn, tools/probe)
    python3 s3a_jars.py --maven-local       verify the jars in Maven's local repository (put there
                                            by `mvn -C dependency:get`) and print their paths
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

    @property
    def coordinates(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def repository_path(self) -> str:
        """The jar's path inside a Maven repository (Central's or the local one)."""
        return "/".join([*self.group.split("."), self.artifact, self.version, self.file_name])

    def url(self, repository: str) -> str:
        return f"{repository}/{self.repository_path}"


# SHA-256 of the jars `mvn -C dependency:get` fetched from Maven Central (Maven checked each
# against Central's .sha1 first); the .sha1 is in the comment. An empty pin fails the build.
JARS = (
    # sha1 641d8fe1d7683cdcc05cc3a794c0374553f6bd6a
    Jar(
        "org.apache.hadoop",
        "hadoop-aws",
        "3.4.1",
        sha256="01334a07e179cae2b7e251f24857f11e3759108c9d6a79dcbe362a4295227da2",
    ),
    # sha1 52e07bc2422241e900944410287b8d3f59aee7cf
    Jar(
        "software.amazon.awssdk",
        "bundle",
        "2.25.53",
        sha256="3c3cdabca0c3c690f1ecb9f428dfac0ea2498d56d36a10e9739863d33acdb811",
    ),
    # sha1 5f95eec6bd7898abf003c282f05e1642bcc97cf6
    Jar(
        "org.apache.spark",
        "spark-hadoop-cloud_2.13",
        "4.0.2",
        sha256="c5d41a2fabf5d74b0b1082f7e7c22f1dd0e180126db507c2be5916224b4fe247",
    ),
)
MAVEN_LOCAL = Path.home() / ".m2" / "repository"


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def maven_local(jars: Sequence[Jar], repository: Path = MAVEN_LOCAL) -> list[Path]:
    """The jars in Maven's local repository, each checked against its pin."""
    paths = []
    for jar in jars:
        path = repository / jar.repository_path
        if not path.is_file():
            raise ChecksumError(
                f"{jar.file_name} is not in {repository}; fetch it with: "
                f"mvn -C dependency:get -Dtransitive=false -Dartifact={jar.coordinates}"
            )
        if (found := sha256_of(path)) != jar.sha256:
            raise ChecksumError(
                f"{path} has SHA-256 {found}, expected {jar.sha256}; refusing to use it"
            )
        paths.append(path)
    return paths


def main(argv: Sequence[str]) -> int:
    if argv == ["--coordinates"]:
        print("\n".join(jar.coordinates for jar in JARS))
        return 0
    if len(argv) != 1:
        print(
            "usage: s3a_jars.py SPARK_JARS_FOLDER | --coordinates | --maven-local", file=sys.stderr
        )
        return 2
    try:
        if argv == ["--maven-local"]:
            print("\n".join(str(path) for path in maven_local(JARS)))
            return 0
        installed = install(JARS, MAVEN_CENTRAL, Path(argv[0]))
    except ChecksumError as error:
        print(f"s3a_jars.py: {error}", file=sys.stderr)
        return 2
    for path in installed:
        print(f"installed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
