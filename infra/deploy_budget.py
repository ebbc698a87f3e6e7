"""How long one `pulumi up` of a stack may take before one of its own limits stops it.

A CI job killed by its runner's timeout leaves the stack with pending operations and, on a DIY
backend, a lock that blocks the next update until `pulumi cancel`. The deploy jobs'
`timeout-minutes` must therefore outlast every limit the engine and the providers apply on the
way, so that pulumi always ends by itself and saves what it did. The limits below are the
providers' defaults (this program sets no custom timeouts), added up as if each step waited for
the one before it.
`tests/ci/test_deploy_budget.py` checks each deploy job's timeout against this sum.
"""

import math
from dataclasses import dataclass

from infra.settings import Settings

# terraform-provider-digitalocean digitalocean/kubernetes/resource_kubernetes_cluster.go:457 and
# resource_kubernetes_node_pool.go:36: `Create: schema.DefaultTimeout(30 * time.Minute)`.
CLUSTER_CREATE_SECONDS = 30 * 60
NODE_POOL_CREATE_SECONDS = 30 * 60
# pulumi-kubernetes provider/pkg/provider/helm_release.go:64 `defaultTimeoutSeconds = 300`, per
# release: spark-operator, the Prometheus stack and Grafana.
HELM_RELEASE_SECONDS = 300
HELM_RELEASES = 3
# pulumi-kubernetes provider/pkg/await/deployment.go:105 `DefaultDeploymentTimeoutMins = 10`
# (the history server's Deployment; the other awaiters' defaults are the same 10 min).
KUBERNETES_AWAIT_SECONDS = 10 * 60
# The trainer image has no provider limit: a cold build took 154 s on 2 cores (docs/benchmark.md);
# this allows for a slower runner and the push of about 1.5 GB.
IMAGE_BUILD_SECONDS = 20 * 60
# Checkout, Python and the two virtualenvs, the Pulumi CLI and its plugins, the program's start.
RUNNER_SETUP_SECONDS = 10 * 60


@dataclass(frozen=True)
class DeployBudget:
    """The parts of the worst-case duration of one `pulumi up`, in seconds."""

    cluster: int
    node_pool: int
    image: int
    charts: int
    kubernetes: int
    run_wait: int
    setup: int

    @property
    def seconds(self) -> int:
        return (
            self.cluster
            + self.node_pool
            + self.image
            + self.charts
            + self.kubernetes
            + self.run_wait
            + self.setup
        )

    @property
    def job_timeout_minutes(self) -> int:
        """The smallest `timeout-minutes` for a job that runs this `pulumi up`."""
        return math.ceil(self.seconds / 60)


def deploy_budget(settings: Settings) -> DeployBudget:
    """The worst case for a first `pulumi up` of a DigitalOcean stack with these settings."""
    return DeployBudget(
        cluster=CLUSTER_CREATE_SECONDS,
        node_pool=NODE_POOL_CREATE_SECONDS,
        image=IMAGE_BUILD_SECONDS,
        charts=HELM_RELEASES * HELM_RELEASE_SECONDS,
        kubernetes=KUBERNETES_AWAIT_SECONDS,
        # The run's waitFor timeout (infra/run_wait.py) is runTimeoutSeconds.
        run_wait=settings.run_timeout_seconds if settings.wait_for_run else 0,
        setup=RUNNER_SETUP_SECONDS,
    )
