import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from spark_job.atomic import AtomicDirectory, share_like_new_files


def test_result_appears_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with AtomicDirectory(target) as staging:
        (staging / "metrics.json").write_text("{}")
        assert not target.exists()
    assert (target / "metrics.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_block_leaves_nothing_and_keeps_the_previous_result(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with AtomicDirectory(target) as staging:
        (staging / "metrics.json").write_text("old")
    with pytest.raises(RuntimeError), AtomicDirectory(target) as staging:
        (staging / "metrics.json").write_text("new")
        raise RuntimeError("training failed")
    assert (target / "metrics.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_rerun_replaces_the_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with AtomicDirectory(target) as staging:
        (staging / "stale.txt").write_text("from the first run")
    with AtomicDirectory(target) as staging:
        (staging / "metrics.json").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == ["metrics.json"]


def test_staging_of_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    abandoned = tmp_path / f".run.partial-{int(dead.stdout)}"
    abandoned.mkdir()
    (abandoned / "metrics.json").write_text("half")
    alive = tmp_path / f".run.partial-{os.getppid()}"  # a live process: maybe still writing
    alive.mkdir()
    with AtomicDirectory(tmp_path / "run"):
        pass
    assert not abandoned.exists()
    assert alive.exists()


def test_tempfile_folders_and_files_get_the_umask_mode(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    file = Path(tempfile.mkstemp(dir=tmp_path)[1])
    previous = os.umask(0o027)
    try:
        share_like_new_files(folder)
        share_like_new_files(file)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert stat.S_IMODE(file.stat().st_mode) == 0o640
