from monitoring.spark_metrics import spark_metrics_conf


def test_only_the_scraped_driver_gets_a_jvm_source() -> None:
    # Executors' own metric sinks are never scraped (their figures reach the driver's executors
    # endpoint as executor metrics), so a JvmSource there would be dead config.
    conf = spark_metrics_conf()
    assert conf["spark.metrics.conf.driver.source.jvm.class"].endswith(".JvmSource")
    assert not any(key.startswith("spark.metrics.conf.executor.") for key in conf)


def test_process_tree_metrics_are_on_so_python_rss_is_reported() -> None:
    assert spark_metrics_conf()["spark.executor.processTreeMetrics.enabled"] == "true"


def test_the_ui_cannot_kill_jobs() -> None:
    # The UI port is open to Prometheus; nobody reaching it should be able to kill stages.
    assert spark_metrics_conf()["spark.ui.killEnabled"] == "false"
