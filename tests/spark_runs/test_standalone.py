"""The local Spark standalone cluster: real master and worker JVMs from the pyspark package."""

from pathlib import Path

import pytest

from spark_runs.standalone import alive_workers, standalone_cluster
from tests.support import require_tool
from tests.waiting import HANG_GUARD_SECONDS


def processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:  # the process ended while we looked
            continue
    return found


@pytest.mark.slow
def test_workers_register_and_every_daemon_stops_on_interrupt(tmp_path: Path) -> None:
    require_tool("java")
    with (
        pytest.raises(KeyboardInterrupt),
        standalone_cluster(2, 1, "512m", tmp_path, HANG_GUARD_SECONDS) as cluster,
    ):
        assert alive_workers(cluster.web_ui_url) == 2
        master_port = cluster.master_url.rsplit(":", 1)[1]
        assert len(processes_mentioning(f"--port {master_port}")) >= 1
        raise KeyboardInterrupt
    assert alive_workers(cluster.web_ui_url) == 0
    assert processes_mentioning(f"--port {master_port}") == []
    assert processes_mentioning(cluster.master_url) == []
