"""What the live test assumes about interfaces other parts of the program deliver.

The live test was written while the day-2 (two pools, account registry), runs (waitForRun,
executors live), Spaces (bucket, history server) and monitoring work landed in parallel, so every
name it relies on beyond today's program is here, in one place, to adapt at integration.
"""

# The Pulumi project (infra/settings.py); spark_runs never imports infra, a test ties the two.
PROJECT = "spark-doks"

# Stack config keys the live test sets that today's infra/settings.py may not declare yet,
# with the branch that adds each.
ASSUMED_CONFIG_KEYS: dict[str, str] = {
    "waitForRun": "runs",
    "runTimeoutSeconds": "runs",
}

# Stack outputs the live test reads, beyond today's clusterName/clusterId/
# sparkApplicationName/jobNamespace. The stack exports no kubeconfig: doctl writes one.
BUCKET_OUTPUT = "bucket"  # spaces: the stack's Spaces bucket name
RUNS_PREFIX_OUTPUT = "runsPrefix"  # spaces: e.g. "runs/" (runs write s3a://<bucket>/runs/<app>/)
DEFAULT_RUNS_PREFIX = "runs/"
SPACES_REGION_OUTPUT = "spacesRegion"  # spaces: region of the bucket; falls back to stack region

# metrics.json (and the Pushgateway) field the runs branch adds: executors live when fitting
# started, as opposed to the ones asked for.
EXECUTORS_FIELD = "executors"

# In-cluster services reached through `kubectl port-forward` (namespace, service, service port).
PROMETHEUS_SERVICE = ("monitoring", "prometheus-server", 80)
GRAFANA_SERVICE = ("monitoring", "grafana", 80)
# spaces branch: in the job namespace (jobNamespace, default spark-jobs) beside the runs it shows
HISTORY_SERVER_SERVICE = ("spark-jobs", "spark-history-server", 18080)
# Grafana's admin: the user is a chart value, the password is in a Secret (namespace, name, key).
GRAFANA_ADMIN_USER = "admin"
GRAFANA_ADMIN_SECRET = ("monitoring", "grafana-admin", "admin-password")


def stack_tag(stack: str) -> str:
    """The tag the program puts on the cluster and its node pool (infra/platform.py)."""
    return f"{PROJECT}-{stack}"


def resource_prefix(stack: str) -> str:
    """Every DigitalOcean name the stack creates starts with this (cluster, pool, registry)."""
    return f"{PROJECT}-{stack}"
