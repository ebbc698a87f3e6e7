"""The s3a jars step of the image build: versions that match Spark, and nothing unverified lands."""

import hashlib
import re
from pathlib import Path

import pyspark
import pytest

from spark_job.s3a_jars import JARS, MAVEN_LOCAL, ChecksumError, Jar, install, maven_local
from spark_runs.image import spark_version
from tests.support import unavailable

SPARK_JARS = Path(pyspark.__file__).parent / "jars"


def shipped_version(prefix: str) -> str:
    (jar,) = [path.name for path in SPARK_JARS.glob(f"{prefix}-*.jar")]
    match = re.fullmatch(rf"{re.escape(prefix)}-(.+)\.jar", jar)
    assert match is not None
    return match.group(1)


def by_artifact(artifact: str) -> Jar:
    (jar,) = [jar for jar in JARS if jar.artifact.startswith(artifact)]
    return jar


def test_hadoop_aws_matches_the_hadoop_that_spark_ships() -> None:
    assert by_artifact("hadoop-aws").version == shipped_version("hadoop-client-api")


def test_spark_hadoop_cloud_is_the_pinned_spark_minor_and_scala() -> None:
    # Maven Central has no spark-hadoop-cloud 4.0.3 or 4.0.4: the newest 4.0.x it serves, never a
    # release newer than the Spark that loads it.
    cloud = by_artifact("spark-hadoop-cloud")
    (spark_core,) = SPARK_JARS.glob("spark-core_*.jar")
    scala = spark_core.name.removeprefix("spark-core_").split("-")[0]
    assert cloud.artifact == f"spark-hadoop-cloud_{scala}"
    release = [int(part) for part in spark_version().split(".")]
    assert [int(part) for part in cloud.version.split(".")][:2] == release[:2]
    assert [int(part) for part in cloud.version.split(".")] <= release


def test_every_jar_has_a_pinned_sha256() -> None:
    assert [jar.file_name for jar in JARS if not re.fullmatch(r"[0-9a-f]{64}", jar.sha256)] == []


def pom_property(pom: Path, name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    assert match is not None, f"{pom} has no {name}"
    return match.group(1)


def test_the_sdk_bundle_is_the_version_the_spark_release_builds_with() -> None:
    pom = MAVEN_LOCAL / "org/apache/spark/spark-parent_2.13" / spark_version()
    pom = pom / f"spark-parent_2.13-{spark_version()}.pom"
    if not pom.is_file():
        unavailable(
            f"{pom} is missing; fetch it with mvn -C dependency:get -Dtransitive=false "
            f"-Dartifact=org.apache.spark:spark-parent_2.13:{spark_version()}:pom (tools/probe)"
        )
    assert by_artifact("bundle").version == pom_property(pom, "aws.java.sdk.v2.version")
    assert by_artifact("hadoop-aws").version == pom_property(pom, "hadoop.version")


def test_maven_local_jars_are_used_only_when_they_match_their_pin(tmp_path: Path) -> None:
    good, bad = pinned("good", b"good"), pinned("bad", b"what was pinned")
    for jar, content in ((good, b"good"), (bad, b"something else")):
        (tmp_path / jar.repository_path).parent.mkdir(parents=True)
        (tmp_path / jar.repository_path).write_bytes(content)
    assert maven_local([good], tmp_path) == [tmp_path / good.repository_path]
    with pytest.raises(ChecksumError, match=r"bad-1\.0\.jar has SHA-256 .* expected"):
        maven_local([good, bad], tmp_path)
    with pytest.raises(ChecksumError, match=r"mvn -C dependency:get .*org\.example:missing:1\.0"):
        maven_local([pinned("missing", b"")], tmp_path)


def test_the_aws_sdk_is_the_v2_bundle() -> None:
    assert (by_artifact("bundle").group, by_artifact("bundle").version.split(".")[0]) == (
        "software.amazon.awssdk",
        "2",
    )


def repository_with(tmp_path: Path, jars: dict[Jar, bytes]) -> str:
    for jar, content in jars.items():
        path = tmp_path / "repo" / jar.url("").lstrip("/")
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
    return (tmp_path / "repo").as_uri()


def pinned(artifact: str, content: bytes) -> Jar:
    return Jar("org.example", artifact, "1.0", hashlib.sha256(content).hexdigest())


def test_verified_jars_all_land_in_the_folder(tmp_path: Path) -> None:
    jars = {pinned("one", b"first jar"): b"first jar", pinned("two", b"second"): b"second"}
    destination = tmp_path / "jars"
    destination.mkdir()
    installed = install(list(jars), repository_with(tmp_path, jars), destination)
    assert sorted(path.read_bytes() for path in installed) == sorted(jars.values())
    assert {path.name for path in destination.iterdir()} == {"one-1.0.jar", "two-1.0.jar"}


def test_a_jar_with_another_checksum_leaves_the_folder_untouched(tmp_path: Path) -> None:
    good = pinned("good", b"good")
    tampered = pinned("tampered", b"what was pinned")
    repository = repository_with(tmp_path, {good: b"good", tampered: b"something else"})
    destination = tmp_path / "jars"
    destination.mkdir()
    with pytest.raises(ChecksumError, match=r"tampered-1\.0\.jar .* expected"):
        install([good, tampered], repository, destination)
    assert list(destination.iterdir()) == []


def test_a_jar_without_a_pinned_checksum_is_refused_with_the_command_to_pin_it(
    tmp_path: Path,
) -> None:
    unpinned = Jar("org.example", "unpinned", "1.0", sha256="")
    with pytest.raises(ChecksumError, match=r"no pinned SHA-256 .*curl -fsSL .*unpinned-1\.0\.jar"):
        install([unpinned], repository_with(tmp_path, {unpinned: b"x"}), tmp_path)
