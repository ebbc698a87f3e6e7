"""One trainer run's result as the sweep reads it: metrics.json or the driver's one-line summary."""

import json

from pydantic import (
    BaseModel,
    ConfigDict,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
)


class RunMetrics(BaseModel):
    """The fields of the trainer's metrics.json the sweep uses (the trainer writes more).

    Three separate times: ``executor_wait_seconds`` (scale-up: from the application's start until
    the last executor it trained with registered), ``train_seconds`` (fitting) and
    ``total_seconds`` (the whole trainer process). ``executors`` were live when fitting started.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    accuracy: float
    weighted_precision: float
    weighted_recall: float
    f1: float
    train_seconds: NonNegativeFloat
    total_seconds: NonNegativeFloat
    executor_wait_seconds: NonNegativeFloat
    executors: PositiveInt
    executors_lost: NonNegativeInt


class RunFailed(RuntimeError):
    """A trainer run ended without a result; the message says where to look."""


def parse_metrics(text: str, source: str) -> RunMetrics:
    try:
        return RunMetrics.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as error:
        raise RunFailed(f"{source} is not a trainer result: {error}") from None


def summary_from_log(log: str, source: str) -> RunMetrics:
    """The last line of a driver log that is a JSON object: the trainer's summary."""
    for line in reversed(log.splitlines()):
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            return parse_metrics(stripped, source)
    raise RunFailed(f"{source} has no JSON summary line; the trainer did not finish")
