# -*- test-case-name: tests.hosting.test_operations -*-
"""
Endpoint strings checked before anything listens, so a mistyped
C{--listen} or C{HttpDaemon(...)} is one line that names the bad part and
shows a good one, not a traceback from Twisted's parser.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import _SystemdParser, serverFromString
from twisted.python.systemd import ListenFDs

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


def adoptInheritedSockets(
    environ: Mapping[str, str] = os.environ,
    startEnvironment: Callable[[], Mapping[str, str]] | None = None,
) -> None:
    """
    Give Twisted's C{systemd:} parser the sockets of socket activation
    whatever imported C{twisted.internet.endpoints} first.

    Twisted reads C{LISTEN_FDS} at that import, deletes it from
    C{os.environ}, and keeps no socket unless C{LISTEN_FDNAMES} names
    each one (systemd before 227 and other activators name none).  The
    plugin names them when it is imported first, which a stale plugin
    cache or another plugin can prevent; so here the count comes from
    C{os.environ} or, once Twisted deleted it there, from the environment
    the process started with (C{/proc/self/environ}), and an unnamed
    socket gets systemd's name for one, C{unknown}.
    """
    if _SystemdParser._sddaemon.inheritedDescriptors():
        return
    for source in (environ, (startEnvironment or _startEnvironment)()):
        if source.get("LISTEN_PID") == str(os.getpid()) and source.get("LISTEN_FDS", "").isdigit():
            activation = {"LISTEN_FDNAMES": ":".join(["unknown"] * int(source["LISTEN_FDS"]))}
            activation.update((key, source[key]) for key in _ACTIVATION if key in source)
            _SystemdParser._sddaemon = ListenFDs.fromEnvironment(environ=activation)
            return


_ACTIVATION = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def _startEnvironment() -> dict[str, str]:
    """The LISTEN_* variables this process was started with (Linux), or none."""
    try:
        with open("/proc/self/environ", "rb") as f:
            entries = f.read().split(b"\0")
    except OSError:
        return {}
    pairs = (entry.split(b"=", 1) for entry in entries
             if entry.startswith(b"LISTEN_") and b"=" in entry)
    return {os.fsdecode(key): os.fsdecode(value) for key, value in pairs}
