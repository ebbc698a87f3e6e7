"""Every ``spark-doks:*`` key set on the stack, known or not, as raw strings.

``pulumi.Config.get`` only answers for keys the program asks about, so a misspelt key would be
ignored. The Pulumi CLI hands a program its config as the ``PULUMI_CONFIG`` JSON map; mocks and
inline programs set it with ``pulumi.runtime.set_all_config``. Both are read here.
"""

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
