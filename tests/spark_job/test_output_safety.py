"""--output never destroys anything: the trainer writes only to a new path or an empty folder and
refuses anything else with one line and exit status 2, before Spark starts. Each case checks that
every byte under the test's folder is as it was, and that nothing was added beside it."""

import os
import stat
from pathlib import Path

import pytest

from spark_job import storage
from spark_job.cli import InputError
from spark_job.session import start_spark
from tests.spark_job.spark_support import run_trainer

PROG = "python -m spark_job.train: error: "
JVM_NOTICE = "WARNING: Using incubator modules"


def tree(root: Path) -> dict[str, object]:
    """Every entry under ``root``: a file's bytes and mode, a folder's mode, a link's target."""
    entries: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            entries[name] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[name] = ("folder", mode)
        else:
            entries[name] = ("file", mode, path.read_bytes())
    return entries


def write_dataset(folder: Path) -> Path:
    """A small CSV any trainer version trains on, so a version that does not refuse destroys."""
    folder.mkdir(parents=True)
    lines = ["x0,x1,label"] + [f"{row % 7},{row % 5},{row % 2}" for row in range(200)]
    data = folder / "part.csv"
    data.write_text("\n".join(lines) + "\n")
    return data


def refused(tmp_path: Path, *args: str) -> str:
    """Run the trainer, expect a refusal; returns its one line, checking nothing changed."""
    before = tree(tmp_path)
    result = run_trainer(*args)
    lines = [line for line in result.stderr.splitlines() if not line.startswith(JVM_NOTICE)]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1, lines
    assert result.stdout == ""
    assert tree(tmp_path) == before
    return lines[0].removeprefix(PROG)


def test_a_folder_of_the_users_own_files_is_refused_and_kept(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    output = tmp_path / "project"
    (output / "src").mkdir(parents=True)
    (output / "src" / "notes.txt").write_bytes(b"my notes\n\x00\xff binary too")
    (output / "README").write_text("read me\n")
    message = refused(tmp_path, "--input", str(data), "--output", str(output))
    assert message == (
        f"--output {output} already holds files (README, src); the trainer writes only to a new "
        "path or an empty folder: choose a new --output"
    )


def test_a_parent_of_earlier_runs_is_refused_and_every_run_kept(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    runs = tmp_path / "out" / "demo"
    for run in ("run1", "run2"):
        (runs / run / "model" / "data").mkdir(parents=True)
        (runs / run / "model" / "data" / "part-00000.parquet").write_bytes(os.urandom(4096))
        (runs / run / "metrics.json").write_text(f'{{"accuracy": 0.9, "run": "{run}"}}\n')
    message = refused(tmp_path, "--input", str(data), "--output", str(runs))
    assert message.startswith(f"--output {runs} already holds files (run1, run2)")


@pytest.mark.parametrize("as_folder", [True, False], ids=["folder", "file"])
def test_the_input_as_output_is_refused_and_the_dataset_kept(
    tmp_path: Path, as_folder: bool
) -> None:
    data = write_dataset(tmp_path / "data")
    location = str(data.parent if as_folder else data)
    message = refused(tmp_path, "--input", location, "--format", "csv", "--output", location)
    assert message == (
        f"--output {location} is --input {location} or inside it; choose a folder outside the "
        "dataset"
    )


def test_an_output_inside_the_input_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    output = data.parent / "model-run"
    message = refused(
        tmp_path, "--input", str(data.parent), "--format", "csv", "--output", str(output)
    )
    assert message.startswith(f"--output {output} is --input {data.parent} or inside it")


def test_an_existing_file_is_refused_not_hidden(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    afile = tmp_path / "afile"
    afile.write_bytes(b"the user's file\n")
    message = refused(tmp_path, "--input", str(data), "--output", str(afile))
    assert (
        message
        == f"--output {afile} is an existing file; choose a new --output (a run is a folder)"
    )


def test_a_file_uri_of_a_folder_with_files_is_refused_before_spark(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    output = tmp_path / "bucket" / "runs"
    output.mkdir(parents=True)
    (output / "object").write_bytes(b"an object")
    uri = output.as_uri()
    message = refused(tmp_path, "--input", str(data), "--output", uri)
    assert message.startswith(f"--output {uri} already holds files (object)")


def test_a_complete_run_is_still_refused_with_its_own_message(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    output = tmp_path / "run"
    output.mkdir()
    (output / "metrics.json").write_text('{"accuracy": 0.9}\n')
    message = refused(tmp_path, "--input", str(data), "--output", str(output))
    assert message == (
        f"--output {output} already holds a complete run (metrics.json); choose a new --output, "
        "or remove that run first"
    )


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder the trainer cannot create anything in, for root too (root ignores modes)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_an_unwritable_output_is_refused_before_training(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    folder = unwritable_folder(tmp_path)
    output = folder / "spark-doks-run"
    try:
        message = refused(tmp_path, "--input", str(data), "--output", str(output))
    finally:
        if folder.is_relative_to(tmp_path):
            folder.chmod(0o755)
    assert message.startswith(f"--output {output}: cannot write in {folder} (")
    assert message.endswith("); choose a folder you can write to")


def test_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    (tmp_path / "afile").write_text("x")
    output = tmp_path / "afile" / "run"
    message = refused(tmp_path, "--input", str(data), "--output", str(output))
    assert (
        message
        == f"--output {output}: {tmp_path / 'afile'} is a file, not a folder; choose a new --output"
    )


@pytest.mark.slow
def test_an_empty_folder_receives_the_run_and_stays_the_same_folder(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    output = tmp_path / "given"
    output.mkdir(mode=0o750)
    inode = output.stat().st_ino
    result = run_trainer("--input", str(data), "--output", str(output))
    assert result.returncode == 0, result.stderr[-2000:]
    assert output.stat().st_ino == inode
    assert sorted(p.name for p in output.iterdir()) == ["metrics.json", "model"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "given"]


@pytest.mark.slow
def test_hadoops_check_refuses_a_prefix_holding_any_object(tmp_path: Path) -> None:
    """The check s3a:// outputs get, through Hadoop's FileSystem (here on file://)."""
    holds = tmp_path / "holds" / "deep"
    holds.mkdir(parents=True)
    (holds / "object").write_bytes(b"x")
    (tmp_path / "afile").write_bytes(b"y")
    (tmp_path / "empty").mkdir()
    before = tree(tmp_path)
    spark = start_spark("test-output-check", "local[1]", {})
    try:

        def check(name: str) -> None:
            storage.check_output_with_spark(spark, storage.parse_output((tmp_path / name).as_uri()))

        with pytest.raises(InputError, match="already holds files \\(deep\\)"):
            check("holds")
        with pytest.raises(InputError, match="is an existing file"):
            check("afile")
        check("empty")
        check("new")
    finally:
        spark.stop()
    assert tree(tmp_path) == before
