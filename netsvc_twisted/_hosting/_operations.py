# -*- test-case-name: tests.hosting.test_workers,tests.hosting.test_operations -*-
"""
The operations options of C{twistd netsvc}: C{--workers},
C{--drain-timeout} and C{--access-log-format}, kept apart from the
script-running code of L{_twistd} so that each option family stays in
one place.
"""

from __future__ import annotations

from typing import Any, Sequence

from netsvc_twisted._hosting._supervisor import Supervisor, cpuCount
from netsvc_twisted._hosting._workers import WORKER_MAIN
from netsvc_twisted._http._accesslog import LOG_FORMATS
from netsvc_twisted._http._daemon import DEFAULT_DRAIN_TIMEOUT

#: A worker's twistd logs to the supervisor.
WORKER_LOGGER = "netsvc_twisted._hosting._workers.logObserver"


def _workers(value: str) -> int:
    count = int(value)
    if count < 0:
        raise ValueError("--workers takes 0 (one per CPU) or more, e.g. --workers 4")
    return count


def _seconds(value: str) -> float:
    seconds = float(value)
    if not seconds >= 0:
        raise ValueError("--drain-timeout takes seconds >= 0, e.g. --drain-timeout 30")
    return seconds


def _logFormat(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ValueError(f"--access-log-format is one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return value


#: optParameters entries of L{_twistd.Options}.
OPERATIONS_PARAMETERS: list[list[Any]] = [
    ["workers", None, None,
     "Serve with a supervisor and N worker processes (0: one per CPU) that "
     "share the listening sockets, each running the script; SIGHUP replaces "
     "them all (new ones up before old ones drain).  Without it this process "
     "serves alone.", _workers],
    ["drain-timeout", None, None,
     "Seconds every daemon lets responses in flight finish on shutdown before "
     f"cutting them (default: the daemon's drainTimeout, {DEFAULT_DRAIN_TIMEOUT:g} s).",
     _seconds],
    ["access-log-format", None, "combined",
     "Format of every daemon's request log: combined (Apache) or json (one "
     "object a line, same fields).", _logFormat],
]


def applyOperations(services: Sequence[Any], options: Any) -> None:
    """
    Give the script's daemons the drain time and log format asked for.
    """
    drain = options.get("drain-timeout")
    logFormat = options.get("access-log-format") or "combined"
    for target in services:
        daemon = target.daemon
        if drain is not None:
            daemon.drainTimeout = drain
        log = daemon.site.accessLog
        if log is not None:
            log.format = logFormat


def _reactorName() -> str | None:
    """twistd's short name of the running reactor, for the workers."""
    from twisted.application.reactors import getReactorTypes
    from twisted.internet import reactor

    module = type(reactor).__module__
    for candidate in getReactorTypes():
        if candidate.moduleName == module:
            return candidate.shortName
    return None


def supervisorFor(options: Any, commandLine: Sequence[str]) -> Supervisor:
    """
    The L{Supervisor} for C{--workers}: each worker runs C{twistd -n netsvc}
    with this process's netsvc command line.
    """
    count = options["workers"] or cpuCount()
    twistdArgs = ["-n", "--pidfile=", f"--logger={WORKER_LOGGER}"]
    name = _reactorName()
    if name:
        twistdArgs.append(f"--reactor={name}")
    argv = ["-c", WORKER_MAIN, *twistdArgs, "netsvc", *commandLine]
    drain = options.get("drain-timeout")
    return Supervisor(count, argv, DEFAULT_DRAIN_TIMEOUT if drain is None else drain)


__all__ = ["OPERATIONS_PARAMETERS", "applyOperations", "supervisorFor"]
