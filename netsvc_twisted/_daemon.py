# -*- test-case-name: tests.test_daemon -*-
"""
L{HttpDaemon}: one listening endpoint and a table of mounted servers,
on a twisted.web L{Site}.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twisted.application import service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.web import resource, server

from netsvc_twisted._accesslog import AccessLog
from netsvc_twisted._congestion import DEFAULT_STALL_TIMEOUT
from netsvc_twisted._dispatcher import getReactor
from netsvc_twisted._lifecycle import ServletCall
from netsvc_twisted._paths import BAD_SYNTAX, MountTable, PathError, normalisePath
from netsvc_twisted._request import ServletRequest, channelFactory
from netsvc_twisted._response import Response

_log = Logger(namespace="netsvc.http")

#: Seconds a connection may stay silent while a request head or body is
#: due (OSE's OTCLIB_HTTPREADTIMEOUT).
DEFAULT_IDLE_TIMEOUT = 60


def _answer(request: ServletRequest, status: int, message: str) -> None:
    Response(request, lambda completed: None).sendError(status, message)


class DaemonSite(server.Site):
    """
    The twisted.web factory of an L{HttpDaemon}: checks the client host,
    resolves mounts and starts servlets.
    """

    protocol = channelFactory  # type: ignore[assignment]
    stallTimeout = DEFAULT_STALL_TIMEOUT

    def __init__(
        self, daemon: HttpDaemon, accessLog: AccessLog | None, reactor: Any = None
    ) -> None:
        super().__init__(
            resource.Resource(),
            requestFactory=ServletRequest,
            timeout=DEFAULT_IDLE_TIMEOUT,
            reactor=reactor,
        )
        self.daemon = daemon
        self.mounts: MountTable[Any] = MountTable()
        self.accessLog = accessLog

    def buildProtocol(self, addr):
        host = getattr(addr, "host", "")
        try:
            allowed = self.daemon.authorise(host)
        except Exception:
            self.daemon.unexpectedException()
            allowed = False
        if not allowed:
            _log.info("Connection from {host} refused by authorise()", host=host)
            return None
        return super().buildProtocol(addr)

    def dispatch(self, request: ServletRequest, rawPath: bytes) -> ServletCall | None:
        absoluteHost = None
        if not rawPath.startswith(b"/"):
            # Absolute-form target: parse it once, host included.
            parts = urlsplit(rawPath)
            if parts.scheme not in (b"http", b"https") or not parts.netloc:
                _answer(request, 400, BAD_SYNTAX)
                return None
            absoluteHost = parts.netloc.decode("latin-1")
            rawPath = parts.path or b"/"
        try:
            path = normalisePath(rawPath)
        except PathError as e:
            _answer(request, e.status, e.message)
            return None
        found = self.mounts.resolve(path)
        if found is None:
            _answer(request, 404, "No server loaded to handle request.")
            return None
        serverPath, target, servletPath = found
        call = ServletCall(request, target, path, serverPath, servletPath, absoluteHost)
        call.start()
        return call

    def log(self, request) -> None:
        accessLog = self.accessLog
        if accessLog is not None:
            accessLog(request)


class HttpDaemon(service.Service):
    """
    Listens on C{port}: an int (all interfaces, as in OSE) or a Twisted
    endpoint description such as C{"tcp:8080:interface=127.0.0.1"}.

    It is also an L{IService}, so twistd can start and stop it.
    """

    _listening = None
    startFailure = None

    def __init__(
        self, port: int | str, accessLog: str | None = None, reactor: Any = None
    ) -> None:
        if isinstance(port, int):
            self._description = f"tcp:{port}"
            self._port = port
        else:
            self._description = port
            self._port = _portOf(port)
        self._reactor = reactor
        self.site = DaemonSite(self, AccessLog.fromEnvironment(accessLog), reactor)

    def __repr__(self) -> str:
        return f"<HttpDaemon {self._description!r}>"

    # OSE API.

    def port(self) -> int:
        return self._port

    def attach(self, path: str, server: Any) -> None:
        self.site.mounts.attach(path, server)

    def authorise(self, host: str) -> bool:
        return True

    def unexpectedException(self) -> None:
        _log.failure("Exception in {daemon!r}", daemon=self)

    def start(self) -> defer.Deferred:
        """
        Start listening.  As in OSE a failure (port in use...) is logged,
        not raised; the Deferred fires with the listening port or L{None},
        and C{startFailure} keeps the reason.
        """
        if self._listening is not None:
            return defer.succeed(self._listening)
        reactor = self._reactor or getReactor()
        self.startFailure = None
        endpoint = serverFromString(reactor, self._description)
        d = endpoint.listen(self.site)
        d.addCallbacks(self._started, self._failed)
        return d

    def _started(self, listening):
        self._listening = listening
        self.running = 1
        address = listening.getHost()
        self._port = getattr(address, "port", self._port)
        _log.info("HttpDaemon listening on {description} ({address})",
                  description=self._description, address=address)
        return listening

    def _failed(self, failure):
        self.startFailure = failure
        _log.warn("HttpDaemon could not listen on {description}: {reason}",
                  description=self._description, reason=failure.getErrorMessage())
        return None

    def stop(self) -> defer.Deferred:
        """
        Stop accepting connections; open connections carry on.
        """
        listening, self._listening = self._listening, None
        self.running = 0
        if listening is None:
            return defer.succeed(None)
        return defer.maybeDeferred(listening.stopListening)

    # IService.

    def startService(self) -> defer.Deferred:  # type: ignore[override]
        return self.start()

    def stopService(self) -> defer.Deferred:  # type: ignore[override]
        return self.stop()


def _portOf(description: str) -> int:
    """
    The port named by an endpoint description, 0 when it names none.
    """
    for field in description.split(":")[1:]:
        if field.isdigit():
            return int(field)
        if field.startswith("port="):
            value = field[5:]
            return int(value) if value.isdigit() else 0
    return 0
