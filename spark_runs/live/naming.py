"""Throwaway stack names: random, recognisable, and never one a person uses.

The live test creates and destroys a whole stack, and the leak sweeper deletes whatever carries
a live stack's name, so only names of one shape are accepted: `live-` and 8 hex digits. dev,
prod, local or any other hand-made name is refused before anything runs.
"""

import re
import secrets

PREFIX = "live-"
_SUFFIX_HEX_DIGITS = 8
_PATTERN = re.compile(rf"^{PREFIX}[0-9a-f]{{{_SUFFIX_HEX_DIGITS}}}$")
# Resource names and tags carry the stack name after the project prefix (spark-doks-live-...).
_EMBEDDED = re.compile(rf"{PREFIX}[0-9a-f]{{{_SUFFIX_HEX_DIGITS}}}(?![0-9a-f])")


class StackNameError(ValueError):
    """A name the live test must not create or destroy."""


def random_stack_name() -> str:
    """`live-` and 8 random hex digits, e.g. live-3f9c01ab."""
    return PREFIX + secrets.token_hex(_SUFFIX_HEX_DIGITS // 2)


def check_stack_name(name: str) -> str:
    """The name if the live test may create and destroy that stack; StackNameError otherwise."""
    if not _PATTERN.match(name):
        raise StackNameError(
            f"refusing stack {name!r}: the live test only creates and destroys throwaway stacks "
            f"named {PREFIX}<8 hex digits>; unset SPARK_DOKS_LIVE_STACK to get a random one"
        )
    return name


def is_live_stack(name: str) -> bool:
    return _PATTERN.match(name) is not None


def live_stack_in(text: str) -> str | None:
    """The live stack a resource name or tag belongs to (spark-doks-live-3f9c01ab-pool), if any."""
    match = _EMBEDDED.search(text)
    return match.group(0) if match else None
