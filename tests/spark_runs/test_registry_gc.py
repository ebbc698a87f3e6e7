import io
import json
from typing import Any

import pytest

from spark_runs.registry_gc import main, tags_to_delete

REPOSITORY = "registry.digitalocean.com/spark-doks-a1b2c3/trainer"


def tag(name: str, day: int, digest: str) -> dict[str, Any]:
    """One entry as `doctl registry repository list-tags -o json` prints it (godo RepositoryTag)."""
    return {
        "registry_name": "spark-doks-a1b2c3",
        "repository": "trainer",
        "tag": name,
        "manifest_digest": f"sha256:{digest * 64}",
        "updated_at": f"2026-11-{day:02d}T10:00:00Z",
    }


TAGS = [tag("old1", 1, "1"), tag("prod", 2, "2"), tag("old3", 3, "3"), tag("new4", 4, "4")]
TAGS += [tag("buildcache", 1, "9"), tag("new5", 5, "5")]


def test_keeps_the_newest_tags_and_deletes_the_rest() -> None:
    assert tags_to_delete(TAGS, keep=2, in_use=[]) == ["old3", "prod", "old1"]


def test_never_deletes_what_a_stack_runs_nor_the_build_cache() -> None:
    in_use = [f"{REPOSITORY}@sha256:{'2' * 64}"]
    deleted = tags_to_delete(TAGS, keep=1, in_use=in_use)
    assert deleted == ["new4", "old3", "old1"]


def test_cli_reads_doctl_json_and_prints_one_tag_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(TAGS)))
    main(["--keep", "3", "--in-use", f"{REPOSITORY}@sha256:{'1' * 64}"])
    assert capsys.readouterr().out.splitlines() == ["prod"]


def test_refuses_to_collect_while_a_stack_runs_an_untagged_image(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another push of the same tag with other bytes moved the tag away from what dev runs:
    # `garbage-collection start --include-untagged-manifests` would delete dev's image.
    orphaned = f"{REPOSITORY}@sha256:{'7' * 64}"
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(TAGS)))
    with pytest.raises(SystemExit) as exited:
        main(["--in-use", f"{REPOSITORY}@sha256:{'2' * 64}", "--in-use", orphaned])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and orphaned in captured.err


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--keep", "0"], "[]", "--keep must be at least 1"),
        (["--in-use", f"{REPOSITORY}:latest"], "[]", "is not pinned by digest"),
        ([], "not json", "is not the JSON of doctl's list-tags"),
        ([], '[{"tag": "x"}]', "is not the JSON of doctl's list-tags"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and len(captured.err.splitlines()) == 1
