"""The s3a jars step of the image build: versions that match Spark, and nothing unverified lands."""

import hashlib
import re
from pathlib import Path

import pyspark
import pytest

from spark_job.s3a_jars import JARS, ChecksumError, Jar, install
from spark_runs.image import spark_version

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


def test_spark_hadoop_cloud_is_the_pinned_spark_release_and_scala() -> None:
    cloud = by_artifact("spark-hadoop-cloud")
    (spark_core,) = SPARK_JARS.glob("spark-core_*.jar")
    assert spark_core.name.removeprefix("spark-core") == cloud.file_name.removeprefix(
        "spark-hadoop-cloud"
    )
    assert cloud.version == spark_version()


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
