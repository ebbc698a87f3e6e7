"""Classification metrics from a confusion matrix, with Spark's MulticlassMetrics definitions.

The trainer counts (label, prediction) pairs in one pass over the test rows and derives every
metric here, instead of one evaluator pass per metric.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    accuracy: float
    weighted_precision: float
    weighted_recall: float
    f1: float


def scores(confusion: dict[tuple[int, int], int]) -> Scores:
    """``confusion`` maps (true label, predicted label) to a row count."""
    total = sum(confusion.values())
    if total == 0:
        raise ValueError("no test rows to evaluate")
    labels = {label for label, _ in confusion}
    true_counts = {label: 0 for label in labels}
    predicted_counts: dict[int, int] = {}
    correct = {label: 0 for label in labels}
    for (label, predicted), count in confusion.items():
        true_counts[label] += count
        predicted_counts[predicted] = predicted_counts.get(predicted, 0) + count
        if label == predicted:
            correct[label] += count
    weighted_precision = weighted_recall = f1 = 0.0
    for label in labels:
        weight = true_counts[label] / total
        predicted = predicted_counts.get(label, 0)
        precision = correct[label] / predicted if predicted else 0.0
        recall = correct[label] / true_counts[label]
        weighted_precision += weight * precision
        weighted_recall += weight * recall
        if precision + recall > 0:
            f1 += weight * 2 * precision * recall / (precision + recall)
    return Scores(
        accuracy=sum(correct.values()) / total,
        weighted_precision=weighted_precision,
        weighted_recall=weighted_recall,
        f1=f1,
    )
