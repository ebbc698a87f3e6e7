"""The oldest Pulumi CLI this program runs on, checked by the engine itself.

The program replaces the push credentials through ``replacement_trigger``. Engines before 3.208
drop that option silently (pulumi CHANGELOG 3.208.0), and engines 3.208-3.225 replace spuriously
when its value arrives as an output, as it does here (pulumi#22119, fixed in 3.226.0). The Python
SDK checks no feature for it, so the program asks the engine (``RequirePulumiVersion``, an RPC of
engines 3.217 and newer; older ones answer UNIMPLEMENTED and are too old anyway).
"""

import pulumi

MIN_PULUMI_CLI = "3.226.0"


class CliTooOld(RuntimeError):
    """The Pulumi CLI running the program is older than MIN_PULUMI_CLI."""


def require_cli() -> None:
    """Raise CliTooOld, one line naming the version needed, on an older engine."""
    engine = pulumi.runtime.settings.get_engine()
    if engine is None or not hasattr(engine, "RequirePulumiVersion"):
        return  # Pulumi's own mocks, which stand in for no CLI at all
    try:
        pulumi.runtime.settings.require_pulumi_version(f">={MIN_PULUMI_CLI}")
    except Exception as error:
        raise CliTooOld(
            f"this program needs the Pulumi CLI {MIN_PULUMI_CLI} or newer (replacement_trigger, "
            "pulumi#22119); `pulumi version` shows yours, https://www.pulumi.com/docs/install/ "
            f"upgrades it ({str(error).splitlines()[0] if str(error) else type(error).__name__})"
        ) from None
