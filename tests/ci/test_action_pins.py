"""Every third-party action is pinned by commit, and zizmor finds nothing in the workflows.

A tag can be moved to other code at any time by whoever controls the action's repository; a
commit cannot. The pins below were read from the actions' own repositories
(`git rev-parse <tag>^{commit}`); the comment after each `uses:` names the release, so an update
is a reviewed change of both.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import REPO_ROOT, unavailable

GITHUB_DIR = REPO_ROOT / ".github"
ZIZMOR_CONFIG = GITHUB_DIR / "zizmor.yml"
# action -> (commit, the release tag that points at it)
PINS = {
    "actions/checkout": ("fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09", "v5.1.0"),
    "actions/setup-python": ("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "digitalocean/action-doctl": ("135ac0aa0eed4437d547c6f12c364d3006b42824", "v2.5.1"),
    "helm/kind-action": ("ef37e7f390d99f746eb8b610417061a60e82a6cc", "v1.14.0"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$")


def action_files() -> list[Path]:
    return sorted(GITHUB_DIR.rglob("*.yml")) + sorted(GITHUB_DIR.rglob("*.yaml"))


def third_party_uses() -> list[tuple[str, str, str]]:
    """(file:line, `uses` value, the rest of the line) for every action from another repository."""
    found = []
    for path in action_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = USES.match(line)
            if match and not match["ref"].startswith(("./", "docker://")):
                where = f"{path.relative_to(REPO_ROOT)}:{number}"
                found.append((where, match["ref"], match["comment"].strip()))
    return found


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if executable is None:
        unavailable("zizmor is not installed; pip install -r requirements-dev.txt")
    assert executable is not None
    return subprocess.run(
        [executable, "--offline", "--config", str(ZIZMOR_CONFIG), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_workflows_use_third_party_actions() -> None:
    assert {ref.split("@")[0] for _, ref, _ in third_party_uses()} == set(PINS)


def test_every_third_party_action_is_pinned_by_commit_with_its_release_in_a_comment() -> None:
    for where, ref, comment in third_party_uses():
        action, _, version = ref.partition("@")
        commit, release = PINS[action]
        assert (version, comment) == (commit, f"# {release}"), where


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    result = zizmor(GITHUB_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_refuses_an_action_pinned_by_tag(tmp_path: Path) -> None:
    workflow = GITHUB_DIR / "workflows" / "preview.yml"
    commit, release = PINS["actions/checkout"]
    unpinned = tmp_path / "preview.yml"
    unpinned.write_text(workflow.read_text().replace(f"{commit} # {release}", "v5"))
    result = zizmor(unpinned)
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout
