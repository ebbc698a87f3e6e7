"""Composes the components of one stack into the training platform and names its outputs."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pulumi

from infra.account import build_account
from infra.cluster import SPARK_NODE_SELECTOR, SPARK_TOLERATIONS, Cluster, ClusterArgs
from infra.history_server import HistoryServer, HistoryServerArgs, port_forward_command
from infra.image import REPOSITORY, TrainerImage, TrainerImageArgs, sample_rows
from infra.object_store import ObjectStore, ObjectStoreArgs, credentials_secret
from infra.observability import Observability, ObservabilityArgs
from infra.registry import RegistryAccess, RegistryAccessArgs, pull_rotation, push_rotation
from infra.settings import PROJECT, Settings, Target
from infra.spark import (
    OPERATOR_NAMESPACE,
    JobNamespace,
    JobNamespaceArgs,
    SparkOperator,
    TrainingJob,
)
from monitoring.spark_metrics import spark_metrics_conf
from spark_job.executors import executor_wait_conf
from spark_job.tuning import spark_tuning_conf
from spark_runs.application import TrainingRun, spark_application
from spark_runs.cost import DEFAULT_PRICES, platform_monthly_cost, pool_monthly_cost, run_cost
from spark_runs.object_store import RUNS_PREFIX, Bucket, event_log_conf, spark_s3a_conf
from spark_runs.sizing import parse_cpu_millis

JOB_CREDENTIALS_SECRET = "spaces-jobs"

LOCAL_REPOSITORY = f"{PROJECT}/{REPOSITORY}"


def training_manifest(
    settings: Settings,
    image: str,
    namespace: str,
    service_account: str,
    pull_secret: str | None,
    trainer_args: list[str],
    node_selector: Mapping[str, str],
    tolerations: tuple[Mapping[str, str], ...],
    bucket: Bucket | None = None,
) -> dict[str, Any]:
    """The SparkApplication for this stack's settings, named after what defines the run.

    With a bucket, the run reads and writes it through s3a and logs its events there.
    """
    conf = {
        **spark_metrics_conf(),
        **spark_tuning_conf(settings.executor_instances, settings.executor_cores),
        **(
            {}
            if bucket is None
            else {**spark_s3a_conf(bucket), **event_log_conf(bucket.events_uri)}
        ),
        **executor_wait_conf(settings.executor_wait_seconds),
    }
    return spark_application(
        TrainingRun(
            namespace=namespace,
            image=image,
            service_account=service_account,
            image_pull_secret=pull_secret,
            executor_instances=settings.executor_instances,
            executor_cores=settings.executor_cores,
            executor_core_request=settings.executor_core_request,
            executor_memory=settings.executor_memory,
            driver_memory=settings.driver_memory,
            input_path=settings.input_path,
            data_fraction=settings.data_fraction,
            max_depth=settings.max_depth,
            spark_conf=conf,
            trainer_args=tuple(trainer_args),
            # A local cluster runs the image loaded into it; a prebuilt one is pulled.
            image_pull_policy="IfNotPresent"
            if settings.on_digitalocean or settings.trainer_image
            else "Never",
            node_selector=node_selector,
            tolerations=tolerations,
            runs_uri="" if bucket is None else bucket.runs_uri,
            credentials_secret=None if bucket is None else JOB_CREDENTIALS_SECRET,
            run_id=settings.run_id,
        )
    )


def follow_commands(namespace: str, application: str, kubeconfig_hint: str) -> str:
    return "\n".join(
        [
            kubeconfig_hint,
            f"kubectl -n {namespace} get sparkapplication {application} -w",
            f"kubectl -n {namespace} get pods -l sparkoperator.k8s.io/app-name={application} -w",
            f"kubectl -n {namespace} logs -f {application}-driver",
            f"kubectl -n {namespace} describe sparkapplication {application}",
        ]
    )


def build_platform(settings: Settings, stack: str) -> dict[str, pulumi.Input[Any]]:
    """Declare every resource of the stack; returns the stack outputs by name."""
    if settings.target is Target.ACCOUNT:
        return build_account(settings)
    # Before any resource exists: a run that ended after this moment is the one this `up` ran.
    started = datetime.now(UTC)
    outputs: dict[str, pulumi.Input[Any]] = {}
    build_args = {"SAMPLE_ROWS": str(sample_rows(settings.input_path))}
    kubernetes_opts: pulumi.ResourceOptions | None = None
    pull_docker_config: pulumi.Output[str] | None = None
    pull_expire_at: pulumi.Output[str] | None = None
    node_selector: Mapping[str, str] = {}
    tolerations: tuple[Mapping[str, str], ...] = ()
    run_dependencies: list[pulumi.Resource] = []
    store: ObjectStore | None = None

    if settings.on_digitalocean:
        name = f"{PROJECT}-{stack}"
        cluster = Cluster(
            name,
            ClusterArgs(
                name=name,
                region=settings.region,
                version_prefix=settings.kubernetes_version,
                system_node_size=settings.system_node_size,
                system_node_count=settings.system_node_count,
                node_size=settings.node_size,
                min_nodes=settings.min_nodes,
                max_nodes=settings.max_nodes,
                ha_control_plane=settings.ha_control_plane,
                protect=settings.protect,
                tags=[PROJECT, f"{PROJECT}-{stack}"],
            ),
        )
        registry = RegistryAccess(
            name,
            RegistryAccessArgs(
                account_stack=settings.registry_stack,
                push_rotation=push_rotation(started),
                pull_rotation=pull_rotation(started),
            ),
        )
        image_reference = settings.trainer_image or (
            TrainerImage(
                "trainer",
                TrainerImageArgs(
                    repository=pulumi.Output.concat(registry.endpoint, "/", REPOSITORY),
                    stack=stack,
                    build_args=build_args,
                    login=registry.push_login,
                ),
            ).reference
        )
        store = ObjectStore(
            name,
            ObjectStoreArgs(
                name_prefix=name,
                region=settings.bucket_region,
                event_log_retention_days=settings.event_log_retention_days,
            ),
        )
        kubernetes_opts = cluster.in_cluster()
        pull_docker_config = registry.pull_docker_config
        pull_expire_at = registry.pull_expire_at
        node_selector, tolerations = SPARK_NODE_SELECTOR, SPARK_TOLERATIONS
        run_dependencies.append(cluster.spark_pool)
        # doctl renews the token behind this kubeconfig; a saved stack output would expire.
        kubeconfig_hint = f"doctl kubernetes cluster kubeconfig save {name}"
        pool_cost = platform_monthly_cost(
            DEFAULT_PRICES,
            settings.system_node_size,
            settings.system_node_count,
            pool_monthly_cost(
                DEFAULT_PRICES, settings.node_size, settings.min_nodes, settings.max_nodes
            ),
        )
        # What the stack's run occupies while it runs, by the same fit rules as the settings.
        hourly = run_cost(
            DEFAULT_PRICES,
            settings.node_size,
            settings.executor_instances,
            parse_cpu_millis(settings.executor_core_request),
            settings.executor_memory,
            seconds=3600,
        )
        outputs.update(
            clusterName=cluster.name,
            clusterId=cluster.id,
            registryEndpoint=registry.endpoint,
            pullCredentialsExpireAt=registry.pull_expire_at,
            monthlyCostFloor=pool_cost.floor_usd,
            monthlyCostCeiling=pool_cost.ceiling_usd,
            runNodes=hourly.nodes,
            runCostPerHour=round(hourly.cost_usd, 4),
        )
    else:
        # The local target uses the current kube context and an image loaded into that cluster.
        image_reference = (
            settings.trainer_image
            or TrainerImage(
                "trainer",
                TrainerImageArgs(repository=LOCAL_REPOSITORY, stack=stack, build_args=build_args),
            ).reference
        )
        kubeconfig_hint = "kubectl config current-context  # the cluster of the local stack"

    job_namespace = JobNamespace(
        "jobs",
        JobNamespaceArgs(namespace=settings.job_namespace, pull_docker_config=pull_docker_config),
        opts=kubernetes_opts,
    )
    # installOperator/installMonitoring false: the cluster already runs them (settings.py).
    if settings.install_operator:
        operator = SparkOperator("spark-operator", job_namespace, opts=kubernetes_opts)
        run_dependencies.append(operator.release)

    trainer_args: list[str] = []
    if settings.install_monitoring:
        observability = Observability(
            "observability",
            ObservabilityArgs(
                job_namespace=settings.job_namespace,
                operator_namespace=OPERATOR_NAMESPACE,
                alerting=settings.alerting,
                alert_slack_webhook_url=settings.alert_slack_webhook_url.get_secret_value(),
                pull_credentials_expire_at=pull_expire_at,
            ),
            opts=kubernetes_opts,
        )
        # The run starts once Prometheus scrapes drivers and the Pushgateway takes its results.
        trainer_args = ["--pushgateway", observability.pushgateway_url]
        run_dependencies.append(observability.prometheus)
    run_dependencies += [
        job_namespace.service_account,
        job_namespace.role,
        job_namespace.role_binding,
    ]
    if job_namespace.pull_secret is not None:
        run_dependencies.append(job_namespace.pull_secret)
    if store is not None:
        run_dependencies.append(
            credentials_secret(
                "jobs-spaces",
                JOB_CREDENTIALS_SECRET,
                job_namespace.name,
                store.job_key,
                pulumi.ResourceOptions.merge(
                    kubernetes_opts, pulumi.ResourceOptions(parent=job_namespace)
                ),
            )
        )
        HistoryServer(
            "history",
            HistoryServerArgs(
                namespace=job_namespace.name,
                image=image_reference,
                image_pull_secret=job_namespace.pull_secret_name,
            ),
            store,
            opts=kubernetes_opts,
        )
        outputs.update(
            bucket=store.name,
            spacesRegion=store.region,
            runsPrefix=RUNS_PREFIX,
            historyServerCommand=job_namespace.name.apply(port_forward_command),
        )

    manifest = pulumi.Output.all(
        image_reference,
        job_namespace.name,
        job_namespace.service_account_name,
        "" if store is None else store.name,
    ).apply(
        lambda values: training_manifest(
            settings,
            image=values[0],
            namespace=values[1],
            service_account=values[2],
            pull_secret=job_namespace.pull_secret_name,
            trainer_args=trainer_args,
            node_selector=node_selector,
            tolerations=tolerations,
            bucket=None if store is None else Bucket(values[3], store.region),
        )
    )
    training = TrainingJob(
        "train",
        manifest,
        run_dependencies,
        wait_timeout_seconds=settings.run_timeout_seconds if settings.wait_for_run else None,
        up_started=started,
        opts=kubernetes_opts,
    )
    if training.outcome is not None:
        outputs["runState"] = training.outcome

    outputs.update(
        image=image_reference,
        sparkApplicationName=training.name,
        jobNamespace=job_namespace.name,
        followCommands=pulumi.Output.all(job_namespace.name, training.name).apply(
            lambda values: follow_commands(values[0], values[1], kubeconfig_hint)
        ),
    )
    return outputs
