# -*- test-case-name: tests.hosting.test_workers -*-
"""
The worker's side of C{twistd netsvc --workers N}: a worker is a full
C{twistd -n netsvc} process running the script as today, with three
differences.

  - It does not bind its listening sockets: every C{listenTCP},
    C{listenSSL} and C{listenUNIX} its endpoints make is answered by the
    supervisor, which binds each socket once and passes it over the
    control socket (C{SCM_RIGHTS}); the worker adopts it with
    C{adoptStreamPort}.  All workers thus share one accept queue that
    outlives any of them, which is what lets a rolling restart lose no
    connection.
  - Its log events go to the supervisor as JSON lines on stdout, so one
    log (file, syslog, terminal) holds every process's lines.
  - It tells the supervisor when it is ready, stops gracefully when the
    supervisor goes away, and exits 0 after the drain the supervisor asked
    for with SIGTERM.

Read L{_supervisor} for the other side.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from typing import IO, Any

from twisted.internet import error, protocol
from twisted.logger import ILogObserver, eventAsJSON
from zope.interface import implementer

#: The supervisor's end of the control socket, in a worker's environment.
CONTROL_FD = "NETSVC_CONTROL_FD"
#: The worker's slot, 0..N-1: a restarted or reloaded worker keeps it.
WORKER_ID = "NETSVC_WORKER_ID"
#: Set when the supervisor passed on sockets from systemd (LISTEN_FDS):
#: the worker makes LISTEN_PID its own before Twisted looks at it.
FORWARDED_LISTEN_FDS = "NETSVC_FORWARDED_LISTEN_FDS"
#: The worker's program.  LISTEN_PID is set before anything imports
#: twisted.internet.endpoints, which reads it once, at import.
WORKER_MAIN = (
    "import os\n"
    f"if os.environ.pop({FORWARDED_LISTEN_FDS!r}, None):\n"
    "    os.environ['LISTEN_PID'] = str(os.getpid())\n"
    "from netsvc_twisted._hosting._workers import main\n"
    "main()\n"
)
#: Seconds a worker waits for the supervisor's answer.
CONTROL_TIMEOUT = 30.0


def main() -> None:
    """
    The worker process: C{python -c WORKER_MAIN TWISTD-ARGS}.
    """
    # Ctrl-C in a terminal reaches the supervisor only: it drains the
    # workers itself, once.  SIGHUP is the supervisor's, too.
    os.setpgid(0, 0)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", *sys.argv[1:]]
    run()


@implementer(ILogObserver)
class _JSONLines:
    """
    Log events as one JSON object a line, for the supervisor to read back.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: dict) -> None:
        try:
            self.stream.write(eventAsJSON(event) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # The supervisor is gone; the control socket stops us.


def logObserver() -> ILogObserver:
    """
    The worker's twistd C{--logger}: JSON lines on the real stdout (twistd
    has pointed C{sys.stdout} into the log by then).
    """
    return _JSONLines(sys.__stdout__)


class SupervisorLink:
    """
    The worker's end of the control socket.  Requests are synchronous:
    they are made while twistd starts its services, before the reactor
    runs, and the supervisor answers each at once.
    """

    def __init__(self, fd: int) -> None:
        os.set_inheritable(fd, False)  # not for the script's own children
        self.socket = socket.socket(fileno=fd)
        self.socket.settimeout(CONTROL_TIMEOUT)

    @classmethod
    def fromEnvironment(cls) -> SupervisorLink | None:
        value = os.environ.pop(CONTROL_FD, None)
        return cls(int(value)) if value else None

    def send(self, message: dict) -> None:
        self.socket.sendall(json.dumps(message).encode("utf-8") + b"\n")

    def request(self, message: dict) -> tuple[dict, list[int]]:
        self.send(message)
        data, fds = b"", []
        while not data.endswith(b"\n"):
            chunk, received, _, _ = socket.recv_fds(self.socket, 4096, 4)
            if not chunk:
                raise ConnectionError("the supervisor closed the control socket")
            data += chunk
            fds.extend(received)
        return json.loads(data), fds

    def sharedSocket(self, spec: list[Any], where: tuple[str, Any]) -> tuple[int, int]:
        """
        The supervisor's listening socket for C{spec}: a descriptor (ours
        to close) and its address family.
        """
        answer, fds = self.request({"listen": spec})
        if "error" in answer:
            for fd in fds:
                os.close(fd)
            raise error.CannotListenError(where[0], where[1], answer["error"])
        [fd] = fds
        return fd, answer["family"]

    def ready(self, drainTimeout: float) -> None:
        """
        Tell the supervisor this worker listens, and how long its drain
        may take.
        """
        self.send({"ready": {"pid": os.getpid(), "drain": drainTimeout}})

    def watch(self, reactor: Any) -> None:
        """
        Stop (gracefully) when the supervisor goes away, e.g. killed with
        SIGKILL, instead of serving on as an orphan.
        """
        link = self

        class Watch(protocol.Protocol):
            def connectionLost(self, reason: Any = None) -> None:
                if reactor.running and not link.stopping:
                    reactor.stop()

        self.stopping = False
        reactor.addSystemEventTrigger("before", "shutdown", setattr, self, "stopping", True)
        reactor.adoptStreamConnection(
            self.socket.fileno(), socket.AF_UNIX, protocol.Factory.forProtocol(Watch))
        self.socket.close()


class SharedSocketReactor:
    """
    A reactor whose listening calls adopt the supervisor's sockets; all
    else is the real reactor's.  Given to the script's daemons while they
    listen, so every endpoint type built on those calls (C{tcp:},
    C{tcp6:}, C{ssl:}, C{unix:}, C{haproxy:} around them) is shared.
    C{systemd:} endpoints adopt the descriptors the supervisor passed on.
    """

    def __init__(self, reactor: Any, link: SupervisorLink) -> None:
        self._reactor = reactor
        self._link = link

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        fd, family = self._link.sharedSocket(["tcp", port, backlog, interface], (interface, port))
        try:
            return _acceptOneAtATime(self._reactor.adoptStreamPort(fd, family, factory))
        finally:
            os.close(fd)

    def listenSSL(self, port: int, factory: Any, contextFactory: Any,
                  backlog: int = 50, interface: str = "") -> Any:
        from twisted.protocols.tls import TLSMemoryBIOFactory

        # What the reactor's own listenSSL does: TLS over a TCP port.
        tls = TLSMemoryBIOFactory(contextFactory, False, factory)
        listening = self.listenTCP(port, tls, backlog, interface)
        listening._type = "TLS"
        return listening

    def listenUNIX(self, address: str, factory: Any, backlog: int = 50,
                   mode: int = 0o666, wantPID: int = 0) -> Any:
        spec = ["unix", os.fsdecode(address), backlog, mode, wantPID]
        fd, family = self._link.sharedSocket(spec, (None, address))
        try:
            listening = self._reactor.adoptStreamPort(fd, family, factory)
        finally:
            os.close(fd)
        # When a Unix port it adopted stops, Twisted shuts the socket down
        # and unlinks its file (it does neither for TCP): both are still
        # the supervisor's and the other workers'.
        listening._shouldShutdown = False
        listening._bindPath = b"\0"
        return _acceptOneAtATime(listening)


def _acceptOneAtATime(port: Any) -> Any:
    """
    Accept one connection per wake-up: every worker waits on the shared
    socket, and a Twisted port would take up to a hundred queued
    connections at once, so the first worker awake got a whole burst
    (44 of 50 in a test).  One at a time, a busy worker comes back for
    the next one later than an idle one: the load spreads by itself.
    """
    doRead = port.doRead

    def acceptOne() -> Any:
        port.numberAccepts = 1
        return doRead()

    port.doRead = acceptOne
    return port


def exitCleanlyAfterDrain(reactor: Any) -> None:
    """
    A worker stopped by SIGTERM exits 0 once drained, not by the signal as
    twistd would: the supervisor asked for that stop, and a status of 0
    tells it the drain went well.
    """
    def clear() -> None:
        if hasattr(reactor, "_exitSignal"):
            reactor._exitSignal = None

    reactor.addSystemEventTrigger("after", "shutdown", clear)
