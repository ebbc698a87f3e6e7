"""Spark's own Prometheus endpoints, configured once for the SparkApplication and the local demo."""

# Without a fixed namespace Spark prefixes driver metrics with the application id, which changes
# on every run and would break every dashboard query.
METRICS_NAMESPACE = "spark_doks"
UI_PORT = 4040
EXECUTORS_PATH = "/metrics/executors/prometheus/"
DRIVER_PATH = "/metrics/prometheus/"


def spark_metrics_conf() -> dict[str, str]:
    """Spark configuration that exposes both Prometheus endpoints on the driver's UI port."""
    sink = "spark.metrics.conf.*.sink.prometheusServlet"
    return {
        "spark.ui.prometheus.enabled": "true",
        f"{sink}.class": "org.apache.spark.metrics.sink.PrometheusServlet",
        f"{sink}.path": DRIVER_PATH.rstrip("/"),
        "spark.metrics.namespace": METRICS_NAMESPACE,
        "spark.metrics.conf.driver.source.jvm.class": "org.apache.spark.metrics.source.JvmSource",
        "spark.metrics.appStatusSource.enabled": "true",
        # RSS of the executor's process tree, Python workers included (0 without it).
        "spark.executor.processTreeMetrics.enabled": "true",
        "spark.ui.port": str(UI_PORT),
        # The UI port is open to Prometheus: it must not be able to kill jobs or stages.
        "spark.ui.killEnabled": "false",
    }
