"""A Prometheus asked to keep running (make demo --keep) outlives its block, and only then."""

import contextlib
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from monitoring import local_stack
from tests.prometheus_tools import require_chart_version
from tests.waiting import HANG_GUARD_SECONDS

pytestmark = pytest.mark.slow

CONFIG = {"global": {"scrape_interval": "15s"}}


def test_a_kept_prometheus_keeps_serving_its_data_after_the_block(tmp_path: Path) -> None:
    binary = require_chart_version("prometheus")
    with local_stack.prometheus(CONFIG, binary, keep_in=tmp_path / "prometheus") as url:
        pass
    pid = int((tmp_path / "prometheus" / "prometheus.pid").read_text())
    try:
        # It answered before the block ended; one answer now shows it outlived the block. The
        # request may take long on a busy machine: only an error or a refused connection fails.
        with urllib.request.urlopen(f"{url}/-/ready", timeout=HANG_GUARD_SECONDS):
            pass
        assert (tmp_path / "prometheus" / "data").is_dir()
    finally:
        os.kill(pid, signal.SIGTERM)
        # Still this process' child here (after `make demo` it is init's): reap it.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def test_a_kept_prometheus_is_stopped_when_the_block_fails(tmp_path: Path) -> None:
    binary = require_chart_version("prometheus")
    with (
        pytest.raises(RuntimeError, match="training failed"),
        local_stack.prometheus(CONFIG, binary, keep_in=tmp_path / "prometheus") as url,
    ):
        raise RuntimeError("training failed")
    assert not (tmp_path / "prometheus" / "prometheus.pid").exists()
    # Stopped and reaped inside the block's exit, so nothing listens on the port any more.
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(f"{url}/-/ready", timeout=HANG_GUARD_SECONDS)
    assert isinstance(refused.value.reason, ConnectionRefusedError)
