# -*- test-case-name: tests.hosting.test_operations -*-
"""
Endpoint strings checked before anything listens, so a mistyped
C{--listen} or C{HttpDaemon(...)} is one line that names the bad part and
shows a good one, not a traceback from Twisted's parser.
"""

from __future__ import annotations

import os
import re
from typing import Any

from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import serverFromString

#: What a good endpoint looks like, in every message.
EXAMPLE = "tcp:8080:interface=127.0.0.1"


def endpointProblem(reactor: Any, description: str) -> str | None:
    """
    Why C{description} is not a server endpoint Twisted can build, in a
    few words with an example of a good one; L{None} if it is fine.
    """
    try:
        serverFromString(reactor, description)
    except Exception as e:  # noqa: BLE001 - every parser error is reported
        return _explain(description, e)
    return None


def _isHost(text: str) -> bool:
    return isIPAddress(text) or isIPv6Address(text) or "." in text or text == "localhost"


def _explain(description: str, error: Exception) -> str:
    kind, _, rest = description.partition(":")
    text = str(error)
    if description.isdigit():
        return f"a bare port is not an endpoint: write tcp:{description}"
    hostPort = re.fullmatch(r"\[?([^\[\]]*?)\]?:(\d+)", description)
    if text.startswith("Unknown endpoint type") and hostPort and _isHost(hostPort.group(1)):
        host, port = hostPort.groups()
        return f"write tcp:{port}:interface={host}" if ":" not in host else (
            f"write tcp6:{port}:interface={host}")
    if text.startswith("Unknown endpoint type"):
        return (f"unknown endpoint type {kind!r} (tcp, tcp6, ssl, unix, systemd, ...): "
                f"e.g. {EXAMPLE}")
    unexpected = re.search(r"unexpected keyword argument '(\w+)'", text)
    if unexpected:
        return f"{kind} has no option {unexpected.group(1)!r}: e.g. {EXAMPLE}"
    if kind == "systemd" and isinstance(error, (IndexError, KeyError)):
        return ("no such socket inherited from systemd (LISTEN_FDS="
                f"{os.environ.get('LISTEN_FDS', 'unset')}): start it from a systemd "
                "socket unit, e.g. systemd:domain=INET:index=0 with one ListenStream=")
    if kind == "systemd" and isinstance(error, AttributeError):
        return "domain is INET, INET6 or UNIX: e.g. systemd:domain=INET:index=0"
    if isinstance(error, OSError) and error.filename:
        return f"{error.strerror}: {error.filename}"
    if isinstance(error, ValueError) and "invalid literal for int()" in text:
        return f"the port must be a number: e.g. {EXAMPLE}"
    return f"{type(error).__name__}: {text}: e.g. {EXAMPLE}"
