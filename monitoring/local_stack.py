"""Prometheus and the Pushgateway on PATH (2.x or 3.x), started on free loopback ports.

Used by `make demo` and the end-to-end test; each process is stopped when its context ends,
except a Prometheus asked to keep running (`make demo --keep`), which is stopped only on failure.
"""

import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from monitoring import preflight

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


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def _service(
    command: list[str], ready_url: str, workdir: Path, name: str, keep: bool = False
) -> Iterator[str]:
    """Run ``command`` until the block ends; with ``keep``, leave it running (its pid is in
    ``workdir/<name>.pid``) unless the block fails."""
    log = workdir / f"{name}.log"
    with log.open("wb") as log_file:
        # A kept service gets its own session, so Ctrl-C in the terminal that started it does
        # not stop it later.
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=keep
        )
    try:
        _wait_ready(name, ready_url, process, log, timeout=60)
        yield ready_url.removesuffix("/-/ready")
    except BaseException:
        _stop(process)
        raise
    if keep:
        (workdir / f"{name}.pid").write_text(f"{process.pid}\n")
    else:
        _stop(process)


def version(binary: str) -> str:
    """The release a Prometheus tool reports: "3.14.0" for "prometheus, version 3.14.0 (...)"."""
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r", version (\d+\.\d+\.\d+)", result.stdout + result.stderr)
    if match is None:
        raise RuntimeError(f"{binary} --version printed no version: {result.stdout}{result.stderr}")
    return match.group(1)


@contextmanager
def pushgateway(
    binary: str | None = None,
    port: int | None = None,
    persistence_file: Path | None = None,
) -> Iterator[str]:
    """A Pushgateway on loopback (on `port`, else a free one); yields its base URL.

    Without `binary`, the one on PATH (upstream's `pushgateway`, else Debian's name).

    Its groups persist in `persistence_file` (else a throwaway one), saved on shutdown, so a
    restart on the same port and file is what the cluster's Pushgateway with a volume does.
    """
    address = f"{LOOPBACK}:{port or free_port()}"
    with tempfile.TemporaryDirectory(prefix="spark-doks-pushgateway-") as workdir:
        # Debian's build persists to a shared file under /var/lib by default; keep runs apart.
        command = [
            binary or preflight.path(preflight.PUSHGATEWAY) or preflight.PUSHGATEWAY.binary,
            f"--web.listen-address={address}",
            f"--persistence.file={persistence_file or Path(workdir) / 'pushgateway.data'}",
        ]
        with _service(command, f"http://{address}/-/ready", Path(workdir), "pushgateway") as url:
            yield url


@contextmanager
def prometheus(
    config: dict[str, Any], binary: str = "prometheus", keep_in: Path | None = None
) -> Iterator[str]:
    """A Prometheus with this configuration; yields its base URL.

    Its database is thrown away at the end, unless ``keep_in`` is given: then config, database,
    log and pid file live there and Prometheus keeps running after a successful block.
    """
    address = f"{LOOPBACK}:{free_port()}"
    with ExitStack() as stack:
        if keep_in is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="spark-doks-prom-"))
        else:
            keep_in.mkdir(parents=True)
            workdir = str(keep_in)
        config_file = Path(workdir) / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        command = [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={Path(workdir) / 'data'}",
            f"--web.listen-address={address}",
        ]
        ready = f"http://{address}/-/ready"
        with _service(command, ready, Path(workdir), "prometheus", keep_in is not None) as url:
            yield url


def installed(binary: str) -> bool:
    return shutil.which(binary) is not None
