"""pytest plugin (-p tests.live.no_network): any attempt to open a network connection raises."""

import socket
from typing import Any


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"network access attempted: {args} {kwargs}")


socket.socket.connect = _refuse  # type: ignore[method-assign]
socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
socket.create_connection = _refuse
