"""A real S3 server for the s3a tests: versitygw (Apache-2.0) with its POSIX backend, on loopback.

tools/versitygw/build builds it from its Go module at the pinned version and prints the folder to
put on PATH (`.ci/run` does). Each start gets new root keys, a data folder and an IAM folder under
the caller's temporary folder; the keys reach versitygw through its environment variables, never
its command line. The region is a Spaces region, so Spark and boto3 sign exactly as for Spaces.
"""

import os
import secrets
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from spark_job.s3a_jars import JARS, ChecksumError, maven_local
from spark_runs.object_store import ACCESS_KEY_ENV, SECRET_KEY_ENV
from spark_runs.spaces_s3 import s3_client
from spark_runs.standalone import LOOPBACK, free_port, stop_process_group
from tests.support import require_tool, unavailable
from tests.waiting import wait_while_running

REGION = "fra1"


@dataclass(frozen=True)
class Key:
    access_key_id: str
    secret_access_key: str

    def env(self) -> dict[str, str]:
        """The AWS SDK's variables, which s3a's environment provider and boto3 read."""
        return {ACCESS_KEY_ENV: self.access_key_id, SECRET_KEY_ENV: self.secret_access_key}


def new_key(prefix: str) -> Key:
    return Key(f"{prefix}{secrets.token_hex(8)}", secrets.token_urlsafe(30))


@dataclass(frozen=True)
class Gateway:
    endpoint_url: str
    root: Key
    log: Path

    def client(self, key: Key | None = None) -> Any:
        key = key or self.root
        return s3_client(REGION, self.endpoint_url, key.access_key_id, key.secret_access_key)

    def create_user(self, role: str = "user") -> Key:
        """A new account through versitygw's admin API (PATCH /create-user, SigV4 as root),
        as `versitygw admin create-user` sends it (cmd/internal/gwcli/admin.go, createUser)."""
        key = new_key("user")
        body = (
            f"<Account><Access>{escape(key.access_key_id)}</Access>"
            f"<Secret>{escape(key.secret_access_key)}</Secret><Role>{role}</Role>"
            "<UserID>0</UserID><GroupID>0</GroupID><ProjectID>0</ProjectID></Account>"
        ).encode()
        request = AWSRequest(method="PATCH", url=f"{self.endpoint_url}/create-user", data=body)
        credentials = Credentials(self.root.access_key_id, self.root.secret_access_key)
        S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
        prepared = request.prepare()
        sent = urllib.request.Request(
            prepared.url, data=body, headers=dict(prepared.headers.items()), method="PATCH"
        )
        with urllib.request.urlopen(sent, timeout=30) as response:
            assert response.status < 300
        return key


def _answers(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def versitygw(work_dir: Path) -> Iterator[Gateway]:
    """Start versitygw on 127.0.0.1 with new root keys; stop it on exit."""
    binary = require_tool("versitygw", 'PATH="$(tools/versitygw/build):$PATH"')
    data, iam = work_dir / "posix", work_dir / "iam"
    data.mkdir(parents=True)
    iam.mkdir()
    root = new_key("root")
    url = f"http://{LOOPBACK}:{free_port()}"
    log = work_dir / "versitygw.log"
    env = {
        **os.environ,
        "ROOT_ACCESS_KEY_ID": root.access_key_id,
        "ROOT_SECRET_ACCESS_KEY": root.secret_access_key,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                url.removeprefix("http://"),
                "--region",
                REGION,
                "--iam-dir",
                str(iam),
                "posix",
                str(data),
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        try:
            wait_while_running(f"versitygw on {url}", process, lambda: _answers(url) or None)
        except AssertionError as error:
            raise RuntimeError(f"{error}: {log.read_text()[-2000:]}") from None
        yield Gateway(url, root, log)
    finally:
        stop_process_group(process)


def s3a_jar_paths() -> list[Path]:
    """The pinned s3a jars from Maven's local repository (`.ci/run` fetches them with mvn -C)."""
    try:
        return maven_local(JARS)
    except ChecksumError as error:
        unavailable(str(error))
        raise


def s3a_classpath_conf(jars: list[Path]) -> dict[str, str]:
    """The jars on the driver's and the executors' class path, from this machine's disk: what the
    image's /opt/spark/jars gives a cluster run, without copying 570 MB to every executor."""
    classpath = os.pathsep.join(str(jar) for jar in jars)
    return {"spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}
