"""Prometheus and the Pushgateway from the OS packages, started on free loopback ports.

Used by `make demo` and the end-to-end test; each process is stopped when its context ends.
"""

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(
    name: str, url: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s: {log.read_text()[-2000:]}")


@contextmanager
def _service(command: list[str], ready_url: str, workdir: Path, name: str) -> Iterator[str]:
    log = workdir / f"{name}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_ready(name, ready_url, process, log, timeout=60)
        yield ready_url.removesuffix("/-/ready")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def pushgateway(
    binary: str = "prometheus-pushgateway",
    port: int | None = None,
    persistence_file: Path | None = None,
) -> Iterator[str]:
    """A Pushgateway on loopback (on `port`, else a free one); yields its base URL.

    Its groups persist in `persistence_file` (else a throwaway one), saved on shutdown, so a
    restart on the same port and file is what the cluster's Pushgateway with a volume does.
    """
    address = f"{LOOPBACK}:{port or free_port()}"
    with tempfile.TemporaryDirectory(prefix="spark-doks-pushgateway-") as workdir:
        # Debian's build persists to a shared file under /var/lib by default; keep runs apart.
        command = [
            binary,
            f"--web.listen-address={address}",
            f"--persistence.file={persistence_file or Path(workdir) / 'pushgateway.data'}",
        ]
        with _service(command, f"http://{address}/-/ready", Path(workdir), "pushgateway") as url:
            yield url


@contextmanager
def prometheus(config: dict[str, Any], binary: str = "prometheus") -> Iterator[str]:
    """A Prometheus with this configuration and a throwaway database; yields its base URL."""
    address = f"{LOOPBACK}:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="spark-doks-prometheus-") as workdir:
        config_file = Path(workdir) / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        command = [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={Path(workdir) / 'data'}",
            f"--web.listen-address={address}",
        ]
        with _service(command, f"http://{address}/-/ready", Path(workdir), "prometheus") as url:
            yield url


def installed(binary: str) -> bool:
    return shutil.which(binary) is not None
