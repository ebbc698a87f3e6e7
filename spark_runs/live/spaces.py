"""Spaces (S3-compatible) access for the live test and the sweeper: list, read, empty, delete.

Spaces buckets are not in DigitalOcean's v2 API; they are reached with the S3 API at the region
endpoint, signed with a Spaces access key (SigV4, path-style, as in the design page).
"""

from datetime import datetime
from typing import Any

from spark_runs.live.digitalocean import Resource
from spark_runs.spaces_s3 import delete_keys, s3_client


def client(
    region: str, access_key_id: str, secret_access_key: str, endpoint_url: str | None = None
) -> Any:
    return s3_client(region, endpoint_url, access_key_id, secret_access_key)


def buckets(listing: dict[str, Any]) -> list[Resource]:
    """Buckets of a ListBuckets response (boto3's dict form)."""
    result = []
    for bucket in listing.get("Buckets") or ():
        created = bucket.get("CreationDate")
        result.append(
            Resource(
                "bucket",
                bucket["Name"],
                bucket["Name"],
                created if isinstance(created, datetime) else None,
            )
        )
    return result


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [item["Key"] for item in page.get("Contents") or ()]
    return found


def empty_and_delete(s3: Any, bucket: str) -> None:
    """Every object version, then the bucket (S3 refuses to delete a bucket that holds any)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in [*(page.get("Versions") or ()), *(page.get("DeleteMarkers") or ())]
        ]
        delete_keys(s3, bucket, objects)
    s3.delete_bucket(Bucket=bucket)
