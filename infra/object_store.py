"""The stack's Spaces bucket and its two bucket-scoped keys, handed to pods only as Secrets.

Layout of the bucket (spark_runs.object_store): ``runs/<application name>/`` holds each run's model
and metrics.json, ``events/`` the Spark event logs the history server reads (with an empty
``events/`` object, so the directory exists before the first run). A lifecycle rule expires event
logs after ``eventLogRetentionDays``, another aborts multipart uploads a dead writer left behind
(they are billed but invisible to listings).

Keys: ``readwrite`` on this bucket for the jobs, ``read`` on it for the history server. Never
``fullaccess``: that grant is account-wide (its bucket is empty) and overrides scoped ones. A
key's secret reaches Kubernetes only as a Secret's data, which pods read as the AWS SDK's
environment variables; it is never in sparkConf, a stack output or a log.
"""

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes
import pulumi_random as random

from spark_runs.object_store import (
    ACCESS_KEY_ENV,
    EVENTS_PREFIX,
    ROLLING_EVENT_LOG_PREFIX,
    SECRET_KEY_ENV,
)

# Days after which an upload that was started but never completed is removed.
ABORT_INCOMPLETE_UPLOAD_DAYS = 1


@dataclass(frozen=True)
class ObjectStoreArgs:
    name_prefix: str
    """Bucket names are unique across Spaces, so a random suffix is appended."""
    region: str
    event_log_retention_days: int


class ObjectStore(pulumi.ComponentResource):
    """A private Spaces bucket, a readwrite key for jobs and a read key for the history server."""

    def __init__(
        self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("spark-doks:infra:ObjectStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        suffix = random.RandomString(
            f"{name}-bucket", length=6, special=False, upper=False, numeric=True, opts=child
        )
        self.bucket = digitalocean.SpacesBucket(
            name,
            name=pulumi.Output.concat(args.name_prefix, "-", suffix.result),
            region=args.region,
            acl="private",
            # `pulumi destroy` leaves nothing billable, runs included (download what you keep).
            force_destroy=True,
            lifecycle_rules=[
                digitalocean.SpacesBucketLifecycleRuleArgs(
                    id="expire-event-logs",
                    enabled=True,
                    prefix=ROLLING_EVENT_LOG_PREFIX,
                    expiration=digitalocean.SpacesBucketLifecycleRuleExpirationArgs(
                        days=args.event_log_retention_days
                    ),
                ),
                digitalocean.SpacesBucketLifecycleRuleArgs(
                    id="abort-incomplete-uploads",
                    enabled=True,
                    abort_incomplete_multipart_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
                ),
            ],
            opts=child,
        )
        self.events_marker = digitalocean.SpacesBucketObject(
            f"{name}-events",
            bucket=self.bucket.name,
            region=args.region,
            key=EVENTS_PREFIX,
            content="",
            opts=child,
        )
        self.name: pulumi.Output[str] = self.bucket.name
        self.region = args.region
        self.job_key = self._key(f"{name}-jobs", "readwrite")
        self.history_key = self._key(f"{name}-history", "read")
        self.register_outputs({"bucket": self.name})

    def _key(self, name: str, permission: str) -> digitalocean.SpacesKey:
        return digitalocean.SpacesKey(
            name,
            name=pulumi.Output.concat(self.bucket.name, "-", permission),
            grants=[
                digitalocean.SpacesKeyGrantArgs(bucket=self.bucket.name, permission=permission)
            ],
            # The provider marks only secretKey secret; the access key id is credential too.
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["accessKey"]),
        )


def credentials_secret(
    name: str,
    secret_name: str,
    namespace: pulumi.Input[str],
    key: digitalocean.SpacesKey,
    opts: pulumi.ResourceOptions,
) -> kubernetes.core.v1.Secret:
    """A Secret with ``key`` as the AWS SDK's environment variables (for ``envFrom``)."""
    access_key: pulumi.Output[str] = pulumi.Output.secret(key.access_key)
    secret_key: pulumi.Output[str] = pulumi.Output.secret(key.secret_key)
    return kubernetes.core.v1.Secret(
        name,
        metadata=kubernetes.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace),
        type="Opaque",
        string_data={
            ACCESS_KEY_ENV: access_key,
            SECRET_KEY_ENV: secret_key,
        },
        opts=opts,
    )
