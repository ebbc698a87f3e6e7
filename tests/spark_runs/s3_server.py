"""A local S3-compatible server for tests: moto in server mode, on 127.0.0.1 only.

moto rather than Ceph's RGW (which Spaces is built on, and which Debian packages): RGW needs a
Ceph cluster (monitor, manager, OSD) before it serves a request, far more than a CI job should
start; moto is one pip-installed process that speaks the S3 REST API over HTTP, which is what
the results reader (boto3) exercises. Spaces-specific behaviour is covered by docs/data.md's check.
"""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from spark_runs.standalone import LOOPBACK, free_port, stop_process_group
from tests.waiting import answers, wait_while_running


@contextmanager
def s3_server() -> Iterator[str]:
    """Start moto's server and yield its endpoint URL once it answers; stop it on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        # Importing moto alone takes seconds, and far longer on a busy machine.
        wait_while_running(f"moto server on {url}", process, lambda: answers(f"{url}/moto-api/"))
        yield url
    finally:
        stop_process_group(process)
