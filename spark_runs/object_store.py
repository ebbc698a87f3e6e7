"""DigitalOcean Spaces as Spark's object store: regions, bucket layout and the s3a settings.

The one place that knows how Spark reaches Spaces. The Pulumi program (SparkApplication and
history server), the executor sweep, the results command and the tests all build on it.

Keys never appear here: pods get them as the AWS SDK's environment variables from a Kubernetes
Secret, and s3a reads them with the SDK's environment provider.
"""

from dataclasses import dataclass

# Regions with Spaces (terraform-provider-digitalocean's SpacesRegions, which pulumi-digitalocean
# bridges); DOKS runs in more regions than these.
SPACES_REGIONS: tuple[str, ...] = (
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc3",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
)

RUNS_PREFIX = "runs/"
EVENTS_PREFIX = "events/"
# Spark checks that the event log directory exists (drivers before writing, the history server at
# start), and an s3a "directory" exists only while an object is under it: the empty EVENTS_PREFIX
# object keeps it. Rolling event logs sit in folders named after this prefix, which the lifecycle
# rule expires without touching that marker.
ROLLING_EVENT_LOG_PREFIX = f"{EVENTS_PREFIX}eventlog_v2_"
METRICS_FILE = "metrics.json"

# The AWS SDK's own variable names: s3a, boto3 and the AWS CLI all read them.
ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"

_ENVIRONMENT_CREDENTIALS = (
    "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
)


class NoSpacesInRegion(ValueError):
    pass


def spaces_region(region: str, spaces_region: str = "") -> str:
    """The Spaces region for a stack: the explicit one, else the cluster's if it has Spaces."""
    chosen = spaces_region or region
    if chosen not in SPACES_REGIONS:
        raise NoSpacesInRegion(
            f"{chosen} has no Spaces; Spaces regions are {', '.join(SPACES_REGIONS)}"
        )
    return chosen


def endpoint(region: str) -> str:
    return f"https://{region}.digitaloceanspaces.com"


@dataclass(frozen=True)
class Bucket:
    """A Spaces bucket and the layout the platform keeps in it."""

    name: str
    region: str

    @property
    def endpoint(self) -> str:
        return endpoint(self.region)

    @property
    def runs_uri(self) -> str:
        """Each attempt of a run writes its model and metrics.json under
        <runs_uri><application name>/<Spark application id>/."""
        return f"s3a://{self.name}/{RUNS_PREFIX}"

    @property
    def events_uri(self) -> str:
        return f"s3a://{self.name}/{EVENTS_PREFIX}"

    def run_uri(self, application_name: str) -> str:
        return f"{self.runs_uri}{application_name}"


def hadoop_s3a_conf(bucket_endpoint: str, region: str) -> dict[str, str]:
    """Hadoop settings (without the ``spark.hadoop.`` prefix) for s3a against Spaces.

    Spaces supports what s3a uses by default (ETags, multi-object delete, ListObjectsV2,
    multipart uploads, copy within a region), so none of Hadoop's third-party-store switches that
    turn those off is set. SigV4 signs with the region slug; path-style access keeps bucket names
    out of the TLS host name.
    """
    return {
        "fs.s3a.endpoint": bucket_endpoint,
        "fs.s3a.endpoint.region": region,
        "fs.s3a.path.style.access": "true",
        # Only the Secret's environment variables: no probing of instance metadata or profiles.
        "fs.s3a.aws.credentials.provider": _ENVIRONMENT_CREDENTIALS,
        # The magic committer writes task output straight to its destination, so a job commit
        # needs no copy (a rename on S3 is a copy); it needs spark-hadoop-cloud in the image.
        "fs.s3a.committer.name": "magic",
        "fs.s3a.committer.magic.enabled": "true",
        "mapreduce.outputcommitter.factory.scheme.s3a": (
            "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory"
        ),
    }


def spark_s3a_conf(bucket: Bucket, endpoint_url: str | None = None) -> dict[str, str]:
    """Spark settings of a job that reads and writes the bucket with s3a.

    ``endpoint_url`` replaces the region's Spaces endpoint (tests: an S3 server on loopback);
    every other setting stays as a cluster run gets it.
    """
    return {
        **{
            f"spark.hadoop.{key}": value
            for key, value in hadoop_s3a_conf(
                endpoint_url or bucket.endpoint, bucket.region
            ).items()
        },
        # Spark's own writers (DataFrame Parquet) go through the committer factory above.
        "spark.sql.sources.commitProtocolClass": (
            "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol"
        ),
        "spark.sql.parquet.output.committer.class": (
            "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter"
        ),
    }


def event_log_conf(events_uri: str) -> dict[str, str]:
    """Spark settings that write a run's event log where the history server reads it."""
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events_uri,
        # Spark 4's default, pinned: the bucket's lifecycle rule matches rolling logs' names.
        "spark.eventLog.rolling.enabled": "true",
    }


def history_server_conf(events_uri: str) -> dict[str, str]:
    """The history server's properties: where it reads event logs, and nothing it would write."""
    return {
        "spark.history.fs.logDirectory": events_uri,
        "spark.history.ui.port": str(HISTORY_UI_PORT),
        # Retention is the bucket's lifecycle rule; the server holds only a read key.
        "spark.history.fs.cleaner.enabled": "false",
    }


HISTORY_UI_PORT = 18080


def properties_text(conf: dict[str, str]) -> str:
    """``conf`` as a Spark properties file (``--properties-file``)."""
    return "".join(f"{key} {value}\n" for key, value in sorted(conf.items()))
