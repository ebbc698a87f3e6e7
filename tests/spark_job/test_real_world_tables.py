"""Real-world tables on real Spark: text features are categorical, labels may be any values, and
the saved PipelineModel scores raw rows with the input's own columns, unseen values included."""

import json
import random
from pathlib import Path
from typing import Any

import pytest
from pyspark.ml import PipelineModel

from spark_job.session import start_spark
from tests.spark_job.spark_support import run_trainer

pytestmark = pytest.mark.slow

COLORS = {"red": "cat", "green": "dog", "blue": "bird", "violet": "cat"}


def animal(color: str, size: float) -> str:
    return COLORS[color] if size < 0.7 else "fish"


def write_animals(path: Path, rows: int) -> None:
    """The class follows a text column and a numeric one; an id column is noise."""
    generator = random.Random(7)
    lines = ["id,color,size,animal"]
    for row in range(rows):
        color, size = generator.choice(sorted(COLORS)), generator.random()
        lines.append(f"{row},{color},{size:.4f},{animal(color, size)}")
    path.write_text("\n".join(lines) + "\n")


def test_text_features_and_labels_train_and_the_model_scores_raw_rows(tmp_path: Path) -> None:
    data = tmp_path / "animals.csv"
    write_animals(data, 1000)
    output = tmp_path / "run"
    result = run_trainer(
        *("--input", str(data), "--label-col", "animal", "--exclude", "id"),
        *("--output", str(output)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics: dict[str, Any] = json.loads((output / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.95
    assert metrics["classes"] == ["bird", "cat", "dog", "fish"]
    assert metrics["features"] == [
        {"name": "color", "type": "categorical", "values": 4},
        {"name": "size", "type": "numeric"},
    ]

    spark = start_spark("test-scoring", "local[1]", {})
    try:
        raw = spark.createDataFrame(
            [("red", "0.2"), ("green", "0.5"), ("blue", "0.1"), ("red", "0.9"), ("orange", "0.3")],
            "color string, size string",
        )
        scored = PipelineModel.load(str(output / "model")).transform(raw)
        predicted = [row[metrics["prediction_col"]] for row in scored.collect()]
    finally:
        spark.stop()
    assert predicted[:4] == ["cat", "dog", "bird", "fish"]
    assert predicted[4] in metrics["classes"]  # an unseen colour scores, it does not fail


def test_sparse_numeric_labels_are_three_classes_not_2001(tmp_path: Path) -> None:
    # Rows differ in x0 and x1: identical rows share their split side, so they must vary.
    lines = ["x0,x1,label"] + [
        f"{row % 10},{row / 600:.4f},{int(row / 200) * 1000}" for row in range(600)
    ]
    data = tmp_path / "sparse.csv"
    data.write_text("\n".join(lines) + "\n")
    output = tmp_path / "run"
    result = run_trainer("--input", str(data), "--features", "x1", "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["classes"] == [0, 1000, 2000]
    assert metrics["features"] == [{"name": "x1", "type": "numeric"}]
    assert metrics["accuracy"] > 0.95
