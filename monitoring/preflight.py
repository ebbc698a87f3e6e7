"""What `make demo` and the Spark and Prometheus tests need on this machine, checked up front.

Java is found the way pyspark's launcher finds it: ``$JAVA_HOME/bin/java``, else ``java`` on PATH.
The Pushgateway is ``pushgateway`` when built from its module (tools/prometheus/build), else
Debian's ``prometheus-pushgateway``. Each missing tool is named with the Debian package that
provides it, so the message is the fix.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tool:
    name: str
    binary: str
    package: str
    needed_for: str
    # Other names the same program has on PATH, tried after `binary`.
    other_binaries: tuple[str, ...] = ()


JAVA = Tool("Java 17", "java", "openjdk-17-jre-headless", "Spark")
PROMETHEUS = Tool("Prometheus", "prometheus", "prometheus", "the scrape and the report")
PUSHGATEWAY = Tool(
    "Pushgateway",
    "pushgateway",
    "prometheus-pushgateway",
    "the pushed results",
    ("prometheus-pushgateway",),
)
TOOLS = (JAVA, PROMETHEUS, PUSHGATEWAY)


def path(tool: Tool) -> str | None:
    """The tool's executable on PATH under any of its names, else None."""
    for binary in (tool.binary, *tool.other_binaries):
        if found := shutil.which(binary):
            return found
    return None


def available(tool: Tool) -> bool:
    if tool is JAVA and (java_home := os.environ.get("JAVA_HOME")):
        return os.access(Path(java_home) / "bin" / "java", os.X_OK)
    return path(tool) is not None


def missing(tools: tuple[Tool, ...] = TOOLS) -> list[Tool]:
    return [tool for tool in tools if not available(tool)]


def install_command(tools: list[Tool]) -> str:
    return "sudo apt-get install " + " ".join(tool.package for tool in tools)


def describe(tools: list[Tool]) -> str:
    """One line: what is missing, what it is needed for, and the command that installs it."""
    names = ", ".join(
        f"{tool.name} ({' or '.join((tool.binary, *tool.other_binaries))}, for {tool.needed_for})"
        for tool in tools
    )
    return f"not installed: {names}; install with: {install_command(tools)}"
