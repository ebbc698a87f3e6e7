""".ci/run gives the image test a Docker engine that cannot reach private address ranges."""

import shlex

from tests.support import REPO_ROOT

CI_RUN = REPO_ROOT / ".ci" / "run"


def commands() -> list[list[str]]:
    lines = CI_RUN.read_text().replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def position(first_word: str) -> int:
    return next(i for i, words in enumerate(commands()) if words and words[0] == first_word)


def test_dockerd_runs_without_a_bridge_or_iptables_rules() -> None:
    (dockerd,) = [words for words in commands() if "dockerd" in words]
    assert {"--bridge=none", "--iptables=false"} <= set(dockerd)


def test_docker_is_installed_and_the_stand_in_base_built_before_the_tests() -> None:
    install = [
        word for words in commands() if words[:2] == ["apt-get", "install"] for word in words
    ]
    assert {"docker.io", "debootstrap"} <= set(install)
    assert position(".ci/standin-base/build") < position("make")


def test_the_s3a_jars_and_versitygw_are_in_place_before_the_tests() -> None:
    install = [
        word for words in commands() if words[:2] == ["apt-get", "install"] for word in words
    ]
    assert {"maven", "golang-go"} <= set(install)
    assert position("mvn") < position("make")
    assert position("PATH=$(tools/versitygw/build):$PATH") < position("make")
