"""Bad input: one line on stderr naming the problem and the fix, exit status 2, nothing written."""

import datetime
import os
from pathlib import Path

import pytest

from spark_job import train
from spark_job.session import start_spark
from tests.spark_job.spark_support import run_trainer

JVM_NOTICE = "WARNING: Using incubator modules"  # printed by the JVM itself at startup


def expect_input_error(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err.strip().splitlines()
    assert len(stderr) == 1, stderr
    assert message in stderr[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fraction", "0"], "--fraction is 0.0; use a share in (0, 1]"),
        (["--fraction", "1.5"], "--fraction is 1.5"),
        (["--conf", "spark.driver.memory"], "is not KEY=VALUE"),
        (["--max-depth", "31"], "--max-depth is 31"),
    ],
)
def test_bad_flags_fail_before_spark_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    output = tmp_path / "out"
    expect_input_error(capsys, ["--input", str(tmp_path), "--output", str(output), *extra], message)
    assert not output.exists()


def test_missing_input_fails_before_spark_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]
    expect_input_error(capsys, argv, "does not exist; pass a Parquet or CSV dataset")
    assert list(tmp_path.iterdir()) == []


def write_csv(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def write_parquet(path: Path, rows: list[tuple[object, ...]], schema: str) -> str:
    start_spark("test-inputs", "local[1]", {}).createDataFrame(rows, schema).write.parquet(
        str(path)
    )
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make_input", "extra", "message"),
    [
        (lambda d: write_csv(d / "junk.parquet", "not parquet\n"), [], "as parquet"),
        (
            lambda d: write_parquet(d / "nolabel", [(1.0, 0)], "x0 double, class int"),
            [],
            "no label column 'label' in the input (columns: x0, class); pass --label-col NAME",
        ),
        (
            lambda d: write_parquet(
                d / "date", [(1.0, datetime.date(2026, 1, 1), 0)], "x0 double, day date, label int"
            ),
            [],
            "feature column 'day' is date, not numeric",
        ),
        (
            lambda d: write_csv(d / "text.csv", "x0,x1,label\n1.0,2.0,0\n1.5,high,1\n"),
            [],
            "feature column 'x1' has 1 missing or non-numeric values",
        ),
        (
            lambda d: write_parquet(
                d / "fractional", [(1.0, 0.5), (2.0, 1.0)], "x0 double, label double"
            ),
            [],
            "label column 'label' must hold class numbers 0, 1, 2, ...",
        ),
        (
            lambda d: write_parquet(d / "tiny", [(1.0, 0), (2.0, 1)], "x0 double, label int"),
            ["--fraction", "0.0001"],
            "no rows left after --fraction",
        ),
        (
            # Crashed the JVM (NegativeArraySizeException in the tree learner) before the bound.
            lambda d: write_parquet(
                d / "huge-label",
                [(float(row), 2_000_000_000 if row == 7 else row % 2) for row in range(60)],
                "x0 double, label long",
            ),
            [],
            "label column 'label' implies 2000000001 classes (largest label 2000000000)",
        ),
    ],
    ids=[
        "unreadable",
        "no-label",
        "date-feature",
        "text-feature",
        "fractional-label",
        "empty",
        "huge-label",
    ],
)
def test_bad_data_is_an_input_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_input: object,
    extra: list[str],
    message: str,
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    location = make_input(inputs)  # type: ignore[operator]
    output = tmp_path / "out"
    expect_input_error(capsys, ["--input", location, "--output", str(output), *extra], message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


@pytest.mark.slow
def test_the_process_prints_one_line_and_no_java_trace(tmp_path: Path) -> None:
    location = write_csv(tmp_path / "text.csv", "x0,label\nabc,0\n")
    result = run_trainer("--input", location, "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith(JVM_NOTICE)]
    assert lines == [
        "python -m spark_job.train: error: feature column 'x0' has 1 missing or non-numeric "
        "values; fill or drop those rows"
    ]
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("master", "slots"),
    [("local", 1), ("local[3]", 3), ("local[*]", os.cpu_count()), ("spark://h:7077", None)],
)
def test_local_masters_get_partitions_for_their_cores(master: str, slots: int | None) -> None:
    assert train.local_task_slots(master) == slots


def test_output_is_a_local_folder_or_a_file_or_s3a_uri(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train.parse_args(["--input", "in", "--output", str(tmp_path)]).output.path == tmp_path
    for uri in (f"file://{tmp_path}/out", "s3a://bucket/runs/train-1"):
        assert train.parse_args(["--input", "in", "--output", uri + "/"]).output.uri == uri
    expect_input_error(
        capsys,
        ["--input", "in", "--output", "s3://bucket/out"],
        "--output s3://bucket/out has scheme s3://; use a local folder, file:// or s3a://",
    )


def test_a_complete_local_run_is_refused_before_spark_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "run"
    output.mkdir()
    (output / "metrics.json").write_text('{"accuracy": 0.9}\n')
    argv = ["--input", str(tmp_path), "--output", str(output)]
    expect_input_error(capsys, argv, f"--output {output} already holds a complete run")
    assert (output / "metrics.json").read_text() == '{"accuracy": 0.9}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
