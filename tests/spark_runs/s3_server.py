"""A local S3-compatible server for tests: moto in server mode, on 127.0.0.1 only.

moto rather than Ceph's RGW (which Spaces is built on, and which Debian packages): RGW needs a
Ceph cluster (monitor, manager, OSD) before it serves a request, far more than a CI job should
start; moto is one pip-installed process that speaks the S3 REST API over HTTP, which is what
the results reader (boto3) exercises. Spaces-specific behaviour is covered by docs/data.md's check.
"""

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from spark_runs.standalone import LOOPBACK, free_port, stop_process_group


@contextmanager
def s3_server(timeout_seconds: float = 30.0) -> Iterator[str]:
    """Start moto's server and yield its endpoint URL; stop it on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {url}") from None
                time.sleep(0.2)
        yield url
    finally:
        stop_process_group(process)
