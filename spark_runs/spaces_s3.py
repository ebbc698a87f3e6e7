"""The one way this project makes a boto3 S3 client for Spaces (or an S3 server standing in).

boto3 >= 1.36 (botocore's "flexible checksums") by default sends ``aws-chunked`` bodies with CRC32
trailers on uploads and asks for checksum mode on downloads. S3-compatible stores (MinIO, R2, B2,
Ceph, which Spaces is built on) have rejected such requests, and nothing says Spaces accepts them,
so checksums are sent and checked only where the S3 API requires them. The results command, the
cluster sweep's run reader, the live test and the leak sweeper all get their client here.
"""

from typing import Any

import boto3
from botocore.config import Config

# SigV4 with the region slug; path-style keeps bucket names out of the TLS host name.
CONFIG = Config(
    signature_version="s3v4",
    s3={"addressing_style": "path"},
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)


def spaces_endpoint(region: str) -> str:
    return f"https://{region}.digitaloceanspaces.com"


def s3_client(
    region: str,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session: boto3.Session | None = None,
) -> Any:
    """A client for the region's Spaces endpoint (or ``endpoint_url``).

    Keys: the ones given, else the AWS SDK's usual places (environment variables, ~/.aws).
    """
    return (session or boto3.Session()).client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url or spaces_endpoint(region),
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=CONFIG,
    )


def delete_keys(client: Any, bucket: str, objects: list[dict[str, str]]) -> None:
    """Delete objects (``{"Key": ..., "VersionId": ...}``) one request each.

    Not DeleteObjects: botocore always checksums that request (its model marks the checksum
    required, so ``when_required`` still applies) and since 1.36 sends CRC32 without Content-MD5,
    which S3-compatible stores have refused. DeleteObject carries no body and no checksum.
    """
    for item in objects:
        client.delete_object(Bucket=bucket, **item)
