"""`make render` on a user's own stack file, and what a broken stack file prints (issue 20,
points 21-23)."""

import subprocess
from pathlib import Path

import pytest

from infra import render
from infra.settings import PROJECT
from tests.support import REPO_ROOT

DEV = (REPO_ROOT / "Pulumi.dev.yaml").read_text()


def render_errors(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(text)
    assert render.main(["--output", str(tmp_path / "out"), str(path)]) == 2
    assert not (tmp_path / "out").exists()
    return capsys.readouterr().err.splitlines()


def test_a_yaml_syntax_error_is_one_line_with_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "config:\n  spark-doks:target: digitalocean\n  spark-doks:region: [sfo2\n"
    (line,) = render_errors(tmp_path, broken, capsys)
    assert line.startswith("render: Pulumi.staging.yaml:4:1: invalid YAML: ")
    broken = "config:\n  spark-doks:target: digitalocean\n   spark-doks:region: sfo2\n"
    (line,) = render_errors(tmp_path, broken, capsys)
    assert line.startswith("render: Pulumi.staging.yaml:3:")
    assert "Traceback" not in line


def test_a_key_written_twice_is_refused_as_the_cli_refuses_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twice = (
        "config:\n  spark-doks:maxNodes: 3\n  spark-doks:region: sfo2\n  spark-doks:maxNodes: 4\n"
    )
    (line,) = render_errors(tmp_path, twice, capsys)
    assert line == (
        'render: Pulumi.staging.yaml:4:3: mapping key "spark-doks:maxNodes" already defined at '
        "line 2; the Pulumi CLI refuses the file: keep one of them"
    )


def test_a_key_with_and_without_the_namespace_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    both = "config:\n  spark-doks:maxNodes: 3\n  maxNodes: 4\n"
    (line,) = render_errors(tmp_path, both, capsys)
    assert line.startswith("render: Pulumi.staging.yaml:3:3: maxNodes and spark-doks:maxNodes")


def test_a_key_without_namespace_is_the_projects_as_the_cli_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(DEV.replace(f"{PROJECT}:maxNodes: 10", "maxNodes: 7"))
    config, name = render.load(str(path))
    assert name == "staging" and config.of(PROJECT)["maxNodes"] == "7"


def test_a_typo_without_namespace_is_refused_by_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = render_errors(tmp_path, "config:\n  maxNode: 7\n", capsys)
    assert "spark-doks:maxNode is not a known key; did you mean maxNodes?" in "\n".join(lines)


def test_a_users_own_stack_file_renders(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(DEV.replace(f"{PROJECT}:maxNodes: 10", f"{PROJECT}:maxNodes: 6"))
    assert render.main(["--output", str(tmp_path / "out"), str(path)]) == 0
    assert list((tmp_path / "out" / "staging").glob("sparkapplication-*.yaml"))


def test_make_render_takes_the_stacks_to_render() -> None:
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "render", "STACKS=staging"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m infra.render --output rendered staging" in dry_run
    default = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "render"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m infra.render --output rendered dev local prod" in default


def test_an_unquoted_minor_is_refused_naming_the_quoting_trap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unquoted = DEV.replace(
        'spark-doks:kubernetesVersion: "1.34."', "spark-doks:kubernetesVersion: 1.30"
    )
    assert unquoted != DEV
    lines = render_errors(tmp_path, unquoted, capsys)
    assert any(
        "kubernetesVersion is '1.3', which is what YAML makes of an unquoted 1.30" in line
        for line in lines
    )
