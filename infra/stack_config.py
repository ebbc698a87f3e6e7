"""Every ``spark-doks:*`` key set on the stack, known or not, as raw strings.

``pulumi.Config.get`` only answers for keys the program asks about, so a misspelt key would be
ignored. The Pulumi CLI hands a program its config as the ``PULUMI_CONFIG`` JSON map; mocks and
inline programs set it with ``pulumi.runtime.set_all_config``. Both are read here.
"""

import difflib
from typing import Any

from pulumi.runtime.config import CONFIG, get_config_env


def project_config(project: str) -> dict[str, str]:
    """Keys under ``project:`` (prefix removed) with their values, from every config source."""
    prefix = f"{project}:"
    values: dict[str, Any] = {**get_config_env(), **CONFIG.get()}
    return {
        key.removeprefix(prefix): str(value)
        for key, value in sorted(values.items())
        if key.startswith(prefix)
    }


# Config namespaces something in this program reads: the project's, its providers' and the
# engine's. The CLI passes a key in any other namespace on unchecked (pkg/workspace/config.go:319
# requires only project keys), so a misspelt `digital-ocean:token` would silently not configure
# the provider.
PROVIDER_NAMESPACES = ("digitalocean", "docker", "kubernetes", "pulumi", "random")


def unknown_namespace_problems(project: str) -> list[str]:
    """One line per config key whose namespace nothing in this program reads."""
    known = (project, *PROVIDER_NAMESPACES)
    values: dict[str, Any] = {**get_config_env(), **CONFIG.get()}
    problems = []
    for key in sorted(values):
        namespace, _, name = key.partition(":")
        if namespace in known:
            continue
        nearest = difflib.get_close_matches(namespace, known, n=1, cutoff=0.6)
        fix = f"did you mean {nearest[0]}:{name}?" if nearest else f"known: {', '.join(known)}"
        problems.append(
            f"{key} is in a namespace nothing in this program reads ({namespace}); {fix}"
        )
    return problems
