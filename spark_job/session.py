"""Starting Spark for the trainer and the dataset generator."""

import os
from pathlib import Path

from pyspark.sql import SparkSession

LOG_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"


def launched_by_spark_submit() -> bool:
    """True inside spark-submit (the image), whose JVM already has its master, name and logging."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def start_spark(app_name: str, master: str | None, conf: dict[str, str]) -> SparkSession:
    """A session on ``master`` (None keeps what spark-submit set, else local[*]).

    Under spark-submit the application name (the SparkApplication's) and logging stay as set.

    ``conf`` is applied last, so a user's ``--conf`` wins over the defaults given here.
    """
    builder = SparkSession.builder
    if master is not None:
        builder = builder.master(master)
    if not launched_by_spark_submit():
        builder = builder.appName(app_name).config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
        )
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
