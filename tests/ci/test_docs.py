"""The README and docs/ hold together: links and anchors resolve, every `make` target and
`python -m` command they name exists (the commands answer --help), every `spark-doks:` key they
name is in Pulumi.yaml, the README stays short and indexes every page, and each page says what it
is for."""

import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from spark_runs.cost import DEFAULT_PRICES, platform_monthly_cost, pool_monthly_cost
from tests.ci.test_makefile import phony_targets
from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
# The pages a user comes to with a task; each starts by saying what it is for.
TASK_PAGES = [
    "setup.md",
    "runs.md",
    "day2.md",
    "data.md",
    "monitoring.md",
    "trainer.md",
    "cost.md",
    "security.md",
    "ci-cd.md",
    "development.md",
]
README_MAX_LINES = 150

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_INLINE_CODE = re.compile(r"`[^`]*`")


def relative(page: Path) -> str:
    return str(page.relative_to(REPO_ROOT))


def prose_lines(page: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, -N for repeats."""
    found, seen = set(), dict[str, int]()
    for _, line in prose_lines(page):
        if match := re.match(r"^#{1,6}\s+(.*?)\s*#*$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(page: Path) -> Iterator[tuple[int, str]]:
    for number, line in prose_lines(page):
        for target in _LINK.findall(_INLINE_CODE.sub("", line)):
            if not re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                yield number, target


def all_text() -> str:
    return "\n".join(page.read_text() for page in PAGES)


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for page in PAGES:
        for number, target in links(page):
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            where = f"{relative(page)}:{number}: {target}"
            if not resolved.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{where} (no heading #{anchor} in {resolved.name})")
    assert broken == []


def test_the_link_check_catches_a_missing_anchor_and_a_missing_file(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A `code` title, here\n\n[ok](#a-code-title-here) [bad](#nope) [gone](x.md)\n"
    )
    assert anchors(page) == {"a-code-title-here"}
    assert [target for _, target in links(page)] == ["#a-code-title-here", "#nope", "x.md"]


def code(page: Path) -> Iterator[str]:
    """The page's code: each line of its fenced blocks, and each inline code span."""
    fenced = False
    for line in page.read_text().splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif fenced:
            yield line
    prose = "\n".join(line for _, line in prose_lines(page))
    yield from re.findall(r"`([^`]+)`", prose)


def make_targets_named() -> set[str]:
    return {
        target
        for page in PAGES
        for snippet in code(page)
        for target in re.findall(r"(?:^|[\s;(&|])make ([a-z][a-z-]*)", snippet)
    }


def test_every_make_target_the_docs_name_exists() -> None:
    named = make_targets_named()
    assert {"demo", "test", "test-quick", "render", "schemas"} <= named
    assert named - phony_targets() == set()


def python_modules_named() -> set[str]:
    return set(re.findall(r"python3? -m ([a-z_][\w.]*)", all_text()))


def test_every_python_module_the_docs_name_answers_help() -> None:
    modules = python_modules_named() - {"json.tool", "pytest", "venv", "pip"}
    assert {"spark_job.train", "spark_job.datagen", "spark_runs.sweep", "monitoring.report"} <= (
        modules
    )

    def answers(module: str) -> tuple[str, int, str]:
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return module, result.returncode, result.stdout

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(answers, sorted(modules)))
    failing = [module for module, code, stdout in results if code != 0 or "usage" not in stdout]
    assert failing == []


def stack_keys() -> set[str]:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    return set(project["config"])


def test_every_stack_key_the_docs_name_is_in_pulumi_yaml() -> None:
    # `spark-doks:infra:TrainingJob` is a resource type, not a key: a second colon follows it.
    named = set(re.findall(r"\bspark-doks:([A-Za-z]\w*)\b(?!:)", all_text()))
    assert {"executorInstances", "runId", "maxNodes"} <= named
    assert named - stack_keys() == set()


def test_the_readme_is_short_and_indexes_every_docs_page() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    linked = {Path(target.partition("#")[0]).name for _, target in links(README)}
    assert {page.name for page in DOCS.glob("*.md")} <= linked


def test_the_readme_states_the_two_commands_first() -> None:
    first = README.read_text().split("```mermaid", 1)[0]
    assert "`make demo`" in first and "`make test`" in first


@pytest.mark.parametrize("name", TASK_PAGES)
def test_each_task_page_starts_with_what_it_is_for(name: str) -> None:
    lines = [line for line in (DOCS / name).read_text().splitlines() if line.strip()]
    assert lines[0].startswith("# ")
    assert lines[1].startswith("For: "), f"docs/{name}: the line after the title says 'For: ...'"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_readme_states_each_stack_s_idle_month_as_the_cost_model_has_it(stack: str) -> None:
    config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]

    def key(name: str) -> Any:
        return config[f"spark-doks:{name}"]

    month = platform_monthly_cost(
        DEFAULT_PRICES,
        key("systemNodeSize"),
        int(key("systemNodeCount")),
        pool_monthly_cost(
            DEFAULT_PRICES, key("nodeSize"), int(key("minNodes")), int(key("maxNodes"))
        ),
    )
    (row,) = [line for line in README.read_text().splitlines() if line.startswith(f"| `{stack}` |")]
    assert f"${month.floor_usd:g}:" in row and f"${month.ceiling_usd:g} |" in row
