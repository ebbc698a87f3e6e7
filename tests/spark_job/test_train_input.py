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
        (["--max-depth", "0"], "--max-depth is 0; use 1 to 30"),
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


def test_the_dataset_description_as_input_names_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    description = tmp_path / "data" / "_dataset.json"
    description.write_text("{}")
    argv = ["--input", str(description), "--output", str(tmp_path / "out")]
    expect_input_error(capsys, argv, f"pass the folder that holds it: --input {tmp_path / 'data'}")
    assert not (tmp_path / "out").exists()


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
            lambda d: write_csv(d / "gap.csv", "x0,x1,label\n1.0,2.0,0\n1.5,,1\n"),
            [],
            "feature column 'x1' has 1 missing values; fill or drop those rows, or --exclude x1",
        ),
        (
            lambda d: write_parquet(
                d / "no-class", [(1.0, None), (2.0, 1.0)], "x0 double, label double"
            ),
            [],
            "label column 'label' has 1 missing values; fill or drop those rows",
        ),
        (lambda d: write_csv(d / "empty.csv", ""), [], "is empty (no columns); pass a CSV"),
        (
            lambda d: write_csv(d / "header.csv", "x0,label\n"),
            [],
            "the input has no data rows; pass a dataset with rows under its header",
        ),
        (
            lambda d: write_csv(
                d / "id.csv", "id,label\n" + "".join(f"k{r},{r % 2}\n" for r in range(40))
            ),
            ["--max-bins", "32"],
            "feature column 'id' has 40 distinct text values, more than --max-bins 32 allows",
        ),
        (
            lambda d: write_csv(d / "x.csv", "x0,label\n1,0\n"),
            ["--exclude", "x9"],
            "--exclude names 'x9', which is not a column of the input (columns: x0, label)",
        ),
        (
            lambda d: write_parquet(d / "tiny", [(1.0, 0), (2.0, 1)], "x0 double, label int"),
            ["--fraction", "0.0001"],
            "no rows left after --fraction",
        ),
        (
            lambda d: write_parquet(
                d / "many-classes",
                [(float(row), row) for row in range(60)],
                "x0 double, label long",
            ),
            ["--max-bins", str(2**20)],
            "label column 'label' has 60 classes (distinct values)",
        ),
    ],
    ids=[
        "unreadable",
        "no-label",
        "date-feature",
        "missing-feature",
        "missing-label",
        "empty-csv",
        "header-only",
        "id-column",
        "unknown-exclude",
        "empty",
        "many-classes",
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
    location = write_csv(tmp_path / "gap.csv", "x0,label\n,0\n1,1\n")
    result = run_trainer("--input", location, "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith(JVM_NOTICE)]
    assert lines == [
        "python -m spark_job.train: error: feature column 'x0' has 1 missing values; fill or "
        "drop those rows, or --exclude x0"
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


def test_a_bare_host_and_port_is_a_pushgateway_url(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--input", "in", "--output", "out"]
    assert train.parse_args([*argv, "--pushgateway", "localhost:9091"]).pushgateway == (
        "http://localhost:9091"
    )
    assert train.parse_args([*argv, "--pushgateway", "https://pg:443/"]).pushgateway == (
        "https://pg:443/"
    )
    expect_input_error(
        capsys,
        [*argv, "--pushgateway", "localhost"],
        "--pushgateway localhost is not a Pushgateway address; use HOST:PORT or http://HOST:PORT",
    )


def test_max_bins_help_gives_the_trainers_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: 128; Spark's own default is 32)" in help_text
