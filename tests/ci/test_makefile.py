"""The Makefile and the docs agree: `make help` lists every target, the table in
docs/development.md is it."""

import re
import shutil
import subprocess

import pytest

from tests.support import REPO_ROOT

MAKEFILE = REPO_ROOT / "Makefile"
DEVELOPMENT = REPO_ROOT / "docs" / "development.md"


def phony_targets() -> set[str]:
    text = MAKEFILE.read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith(".PHONY:")]
    return set(line.removeprefix(".PHONY:").split())


def rule_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE.read_text(), flags=re.MULTILINE))


def make_help() -> dict[str, str]:
    if shutil.which("make") is None:
        pytest.skip("make is not on PATH")
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), "help"],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = [line.removeprefix("make ").split(maxsplit=1) for line in result.stdout.splitlines()]
    return {target: description for target, description in entries}


def docs_make_table() -> dict[str, str]:
    section = DEVELOPMENT.read_text().split("## Make targets", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `make ([a-z-]+)` \| (.+) \|$", section, flags=re.MULTILINE)
    return dict(rows)


def test_every_target_is_phony_and_listed_by_make_help_with_a_description() -> None:
    assert rule_targets() == phony_targets()
    listed = make_help()
    assert set(listed) == phony_targets()
    assert all(description.strip() for description in listed.values())


def test_plain_make_prints_the_help() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[0].startswith("make help ")


def test_the_docs_table_is_the_make_help() -> None:
    assert docs_make_table() == make_help()


def test_make_clean_removes_what_the_targets_create() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "clean"],
        capture_output=True,
        text=True,
        check=True,
    )
    removed = set(result.stdout.split())
    assert {"out", "rendered", "venv", "venv-checkov"} <= removed
