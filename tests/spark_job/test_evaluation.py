import random

import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from spark_job.evaluation import scores


def test_scores_match_scikit_learn_weighted_metrics() -> None:
    rng = random.Random(7)
    truth = [rng.randrange(4) for _ in range(500)]
    # A biased classifier: never predicts class 3, often confuses 1 with 2.
    predicted = [min(label + (rng.random() < 0.3), 2) for label in truth]
    confusion: dict[tuple[int, int], int] = {}
    for pair in zip(truth, predicted, strict=True):
        confusion[pair] = confusion.get(pair, 0) + 1
    result = scores(confusion)
    assert result.accuracy == pytest.approx(accuracy_score(truth, predicted))
    options = {"average": "weighted", "zero_division": 0}
    assert result.weighted_precision == pytest.approx(precision_score(truth, predicted, **options))
    assert result.weighted_recall == pytest.approx(recall_score(truth, predicted, **options))
    assert result.f1 == pytest.approx(f1_score(truth, predicted, **options))


def test_no_test_rows_is_an_error() -> None:
    with pytest.raises(ValueError, match="no test rows"):
        scores({})
