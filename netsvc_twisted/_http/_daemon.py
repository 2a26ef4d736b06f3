# -*- test-case-name: tests.http.test_http_sockets -*-
"""
L{HttpDaemon}: one listening endpoint and a table of mounted servers,
on a twisted.web L{Site}.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from twisted.application import service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server

from netsvc_twisted._http._accesslog import AccessLog
from netsvc_twisted._http._congestion import DEFAULT_STALL_TIMEOUT
from netsvc_twisted._events._loop import fatalError, getReactor
from netsvc_twisted._interfaces import IHttpServer
from netsvc_twisted._http._lifecycle import ServletCall
from netsvc_twisted._http._observe import IHttpObserver, IMetricsEndpoint, metricsEndpoint
from netsvc_twisted._http._paths import BAD_SYNTAX, MountTable, PathError, normalisePath
from netsvc_twisted._http._proxy import TrustedProxies, applyForwarded, trustedProxies
from netsvc_twisted._http._request import ServletRequest, channelFactory
from netsvc_twisted._http._response import Response
from netsvc_twisted._http._tls import useServletTLS

_log = Logger(namespace="netsvc.http")

#: Seconds a connection may stay silent while a request head or body is
#: due (OSE's OTCLIB_HTTPREADTIMEOUT overrides it).
DEFAULT_IDLE_TIMEOUT = 60
#: Seconds stop() lets responses in flight finish.
DEFAULT_DRAIN_TIMEOUT = 10.0
#: Seconds a just-accepted or idle connection gets, once a drain began, to
#: deliver a request that is on its way.
DEFAULT_DRAIN_GRACE = 0.5
#: Twisted's own limits on a request head.
DEFAULT_MAX_HEADER_SIZE = 16384
DEFAULT_MAX_HEADERS = 500
#: The listen backlog (Twisted's own is 50: at 500 concurrent connects
#: the refused SYNs are retried after a second, then three).
DEFAULT_BACKLOG = 1024
#: Where a daemon created without a port listens (twistd's --listen
#: replaces it).
DEFAULT_ENDPOINT = "tcp:8000"
#: Request paths whose decoded form and mount a site remembers.
RESOLVED_CACHE = 512


def _idleTimeout() -> float:
    value = os.environ.get("OTCLIB_HTTPREADTIMEOUT", "")
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_IDLE_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_IDLE_TIMEOUT


def _answer(request: ServletRequest, status: int, message: str) -> None:
    Response(request, lambda completed: None).sendError(status, message)


class DaemonSite(server.Site):
    """
    The twisted.web factory of an L{HttpDaemon}: checks the client host,
    resolves mounts and starts servlets.
    """

    protocol = channelFactory  # type: ignore[assignment]
    stallTimeout = DEFAULT_STALL_TIMEOUT
    maxHeaderSize = DEFAULT_MAX_HEADER_SIZE
    maxHeaders = DEFAULT_MAX_HEADERS
    #: Peers whose forwarding headers count (netsvc_twisted._http._proxy).
    proxies: TrustedProxies | None = None
    _observer: IHttpObserver | None = None
    #: Seconds an idle connection may still deliver a request once the
    #: drain began (see L{drain}).
    drainGrace = DEFAULT_DRAIN_GRACE

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
        self.connections: set[Any] = set()
        self._drained: defer.Deferred | None = None
        self._resolved: dict[bytes, tuple[Any, str, str, str, str | None]] = {}
        self._resolvedGeneration = 0

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
        protocol = super().buildProtocol(addr)
        channel = protocol._channel
        channel.totalHeadersSize = self.maxHeaderSize
        channel.maxHeaders = self.maxHeaders
        return protocol

    def dispatch(self, request: ServletRequest, rawPath: bytes) -> ServletCall | None:
        observer = self._observer
        if observer is not None:
            observer.requestStarted(request)
        proxies = self.proxies
        forwarded = None if proxies is None else applyForwarded(proxies, request)
        mounts = self.mounts
        if self._resolvedGeneration != mounts.generation:
            self._resolved.clear()
            self._resolvedGeneration = mounts.generation
        resolved = self._resolved.get(rawPath)
        if resolved is None:
            resolved = self._resolve(request, rawPath)
            if resolved is None:
                return None
        target, path, serverPath, servletPath, absoluteHost = resolved
        call = ServletCall(request, target, path, serverPath, servletPath, absoluteHost)
        if forwarded is not None:
            call.session._forwarded = forwarded
        if observer is not None:
            call.observer = observer
        call.start()
        # A call that already ended (most answers end inside start()) is
        # not kept by its request: nothing would reach it but the body
        # chunks it ignores, and the reference would be a cycle.
        return None if call._destroyed else call

    def _resolve(
        self, request: ServletRequest, rawPath: bytes
    ) -> tuple[Any, str, str, str, str | None] | None:
        """
        Decode and normalise a request path and find its mount: the
        server, request path, server path, servlet path and the host of an
        absolute-form target; or answer the request with an error page
        and return L{None}.  Origin-form paths are remembered (up to
        C{RESOLVED_CACHE} of them, until the mounts change).
        """
        absoluteHost = None
        if not rawPath.startswith(b"/"):
            # Absolute-form target: parse it once, host included.  urlsplit
            # raises ValueError on a bad bracketed or non-ASCII host.
            try:
                parts = urlsplit(rawPath)
            except ValueError:
                parts = None
            if parts is None or parts.scheme not in (b"http", b"https") or not parts.netloc:
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
        result = (target, path, serverPath, servletPath, absoluteHost)
        if absoluteHost is None:
            resolved = self._resolved
            if len(resolved) >= RESOLVED_CACHE:
                resolved.clear()
            resolved[rawPath] = result
        return result

    def drain(self, timeout: float) -> defer.Deferred:
        """
        Close connections once their response is done, and after
        C{timeout} seconds abort the rest.

        A connection with no request in progress is not closed at once:
        it may have been accepted just before the port stopped listening
        with its request still on the way (or unread in the socket), and
        a request that reached us must be answered, not dropped.  Such a
        connection gets C{drainGrace} seconds to deliver one, answered
        with C{Connection: close}, and is closed when idle after that.
        """
        connections = self.connections
        idle = []
        for channel in list(connections):
            if getattr(channel, "requests", True):
                # Busy, or HTTP/2, whose GOAWAY names the last stream
                # served, so a client knows what to send again.
                channel.closeWhenIdle()
            else:
                channel._closing = True  # what arrives is told to close
                idle.append(channel)
        if not connections:
            return defer.succeed(None)
        drained = self._drained = defer.Deferred()
        reactor = self.reactor
        calls = [reactor.callLater(timeout, self._abortAll)]
        if idle:
            calls.append(reactor.callLater(
                min(self.drainGrace, timeout), self._closeIdle, idle))

        def cancel(result: Any) -> Any:
            for call in calls:
                if call.active():
                    call.cancel()
            return result

        drained.addBoth(cancel)
        return drained

    def _closeIdle(self, channels: list[Any]) -> None:
        for channel in channels:
            if channel in self.connections:
                channel.closeWhenIdle()

    def _abortAll(self) -> None:
        if self.connections:
            _log.warn("{count} connection(s) still busy after the drain time: aborting",
                      count=len(self.connections))
            if self._observer is not None:
                self._observer.drainAborted(len(self.connections))
        for channel in list(self.connections):
            channel.transport.abortConnection()

    def channelClosed(self, channel) -> None:
        connections = self.connections
        if self._observer is not None and channel in connections:
            self._observer.connectionClosed()
        connections.discard(channel)
        drained = self._drained
        if drained is not None and not connections:
            self._drained = None
            drained.callback(None)

    @property
    def accessLog(self) -> AccessLog | None:
        return self._accessLog

    @accessLog.setter
    def accessLog(self, accessLog: AccessLog | None) -> None:
        self._accessLog = accessLog
        self._setLog()

    @property
    def observer(self) -> IHttpObserver | None:
        """Who is told what this site does (metrics), if anyone."""
        return self._observer

    @observer.setter
    def observer(self, observer: IHttpObserver | None) -> None:
        self._observer = observer
        self._setLog()

    def _setLog(self) -> None:
        # Request.finish() calls site.log(request) for every request: with
        # only a log, straight into it, one call less; with nothing, the
        # no-op below.
        accessLog, observer = self._accessLog, self._observer
        if observer is not None:
            self.log = self._observedLog  # type: ignore[method-assign]
        elif accessLog is not None:
            self.log = accessLog  # type: ignore[method-assign]
        else:
            self.__dict__.pop("log", None)

    def _observedLog(self, request) -> None:
        self._observer.requestFinished(request)  # type: ignore[union-attr]
        if self._accessLog is not None:
            self._accessLog(request)

    def log(self, request) -> None:
        pass


class HttpDaemon(service.Service):
    """
    Listens on C{port}: an int (all interfaces, as in OSE) or a Twisted
    endpoint description such as C{"tcp:8080:interface=127.0.0.1"}.
    Without one it listens on C{DEFAULT_ENDPOINT} unless C{twistd netsvc
    --listen} gives the endpoints (C{endpointGiven} tells which it was).

    It is also an L{IService}, so twistd can start and stop it.  The
    keyword arguments are the limits of docs/limits: C{idleTimeout}
    (seconds of silence allowed while a request head or body is due),
    C{stallTimeout} (seconds a response may stay blocked by a client that
    does not read), C{drainTimeout} (seconds C{stop()} lets responses in
    flight finish), C{maxHeaderSize}, C{maxHeaders} and C{backlog} (the
    listen queue of endpoints whose description names none).

    C{trustedProxies} lists the peers (addresses, CIDR networks, C{"unix"},
    C{"*"}) whose C{Forwarded} or C{X-Forwarded-*} headers set the client
    and the address it used (docs/howto/deploy); by default nobody's.
    C{metrics} is an endpoint where C{GET /metrics} (Prometheus) and
    C{GET /healthz} are served while this daemon runs.

    Spec 4.1, 2.1.  C{accessLog} names a file for the request log (spec
    2.11); C{reactor} is for tests.  A daemon that cannot listen ends a
    C{Dispatcher().run()} program unless C{required} is false.
    """

    _listening = None
    _shutdownTrigger = None
    _metrics: IMetricsEndpoint | None = None
    #: Why the last C{start()} could not listen (a L{Failure}), or L{None}.
    startFailure = None
    #: A daemon that cannot listen ends a program run by
    #: C{Dispatcher().run()} (one line on stderr, exit status 1).  Set it
    #: to C{False} (C{daemon.required = False}) for a daemon the program
    #: can do without: the failure is then only logged and kept in
    #: C{startFailure}.
    required = True

    def __init__(
        self,
        port: int | str | None = None,
        accessLog: str | None = None,
        reactor: Any = None,
        *,
        idleTimeout: float | None = None,
        stallTimeout: float = DEFAULT_STALL_TIMEOUT,
        drainTimeout: float = DEFAULT_DRAIN_TIMEOUT,
        maxHeaderSize: int = DEFAULT_MAX_HEADER_SIZE,
        maxHeaders: int = DEFAULT_MAX_HEADERS,
        trustedProxies: Iterable[str] | None = None,
        metrics: str | None = None,
        backlog: int = DEFAULT_BACKLOG,
    ) -> None:
        self.endpointGiven = port is not None
        if port is None:
            port = DEFAULT_ENDPOINT
        if isinstance(port, int):
            self._description = f"tcp:{port}"
            self._port = port
        else:
            self._description = port
            self._port = _portOf(port)
        self._reactor = reactor
        site = self.site = DaemonSite(self, AccessLog.fromEnvironment(accessLog), reactor)
        site.timeOut = idleTimeout if idleTimeout is not None else _idleTimeout()
        site.stallTimeout = stallTimeout
        site.maxHeaderSize = maxHeaderSize
        site.maxHeaders = maxHeaders
        self.drainTimeout = drainTimeout
        self.trustProxies(trustedProxies)
        if metrics is not None:
            self.serveMetrics(metrics)
        self.backlog = backlog

    def __repr__(self) -> str:
        return f"<HttpDaemon {self._description!r}>"

    def trustProxies(self, entries: Iterable[str] | None) -> None:
        """
        Believe the forwarding headers (C{Forwarded}, C{X-Forwarded-*})
        of these peers only (L{None} or empty: of nobody), as the
        C{trustedProxies} argument does.  Beyond OSE: behind a proxy the
        client's address and URL come from those headers, which anybody
        can send.  C{entries} are addresses, CIDR networks, C{unix} or
        C{*}; a bad one raises L{ValueError}.
        """
        self.site.proxies = trustedProxies(entries)

    def serveMetrics(self, endpoint: str) -> None:
        """
        Serve C{/metrics} (Prometheus) and C{/healthz} on C{endpoint}, an
        endpoint description, while this daemon runs, as the C{metrics}
        argument does; several daemons may share one endpoint.  Beyond
        OSE: for scrapers and load balancers' health checks.
        """
        self._metrics = metricsEndpoint(self, endpoint)
        self.site.observer = self._metrics.observer

    # OSE API.

    def port(self) -> int:
        """
        The TCP port (spec 4.1): the one the OS chose once C{start()} has
        listened on port 0, before that the number given (0 for an
        endpoint that names none).
        """
        return self._port

    def attach(self, path: str, server: Any) -> None:
        """
        Mount C{server} at C{path} (spec 4.1, 1.3): requests for C{path}
        and below go to it, the longest mounted path winning.  C{server}
        is an L{HttpServer} (or anything providing L{IHttpServer}, or
        with a C{servlet(session)} method); L{None} unmounts C{path}.

        @raise TypeError: C{server} is not a server object, so a typo
            fails here instead of at the first request.
        """
        if isinstance(server, type):
            raise TypeError(
                f"HttpDaemon.attach({path!r}, {server.__name__}): a class; attach an "
                f"instance, e.g. attach({path!r}, {server.__name__}())"
            )
        if server is not None and not (
            IHttpServer.providedBy(server) or callable(getattr(server, "servlet", None))
        ):
            raise TypeError(
                f"HttpDaemon.attach({path!r}, {server!r}): not a server object; "
                f"attach an HttpServer instance such as FileServer(directory), "
                f"or an object with a servlet(session) method"
            )
        self.site.mounts.attach(path, server)

    def authorise(self, host: str) -> bool:
        """
        Return true to accept a connection from the IP address C{host}
        (spec 4.1, 2.1); refused connections are closed at once.  The
        default accepts every host: override it to restrict clients.
        """
        return True

    def unexpectedException(self) -> None:
        """
        Called inside the C{except} block when C{authorise()} raised
        (spec 1.5); the default logs the traceback and the connection is
        refused.
        """
        _log.failure("Exception in {daemon!r}", daemon=self)

    def start(self) -> defer.Deferred:
        """
        Start listening (spec 4.1): nothing is served before.  As in OSE a
        failure (port in use, a bad endpoint description) is not raised:
        the Deferred fires with the listening port, or with L{None} and
        C{startFailure} keeps the reason.  Unless the daemon is not
        C{required}, the failure also ends a program that runs
        C{Dispatcher().run()}, with one line on stderr that says what to
        change.
        """
        if self._listening is not None:
            return defer.succeed(self._listening)
        reactor = self._reactorUsed()
        self.startFailure = None
        try:
            endpoint = self._endpoint(reactor)
        except Exception:
            return defer.fail().addErrback(self._failed)
        d = endpoint.listen(self.site)
        d.addCallbacks(self._started, self._failed)
        return d

    def _endpoint(self, reactor: Any) -> Any:
        """The endpoint start() listens on (tests override it)."""
        return serverFromString(reactor, self.withBacklog(self._description))

    def withBacklog(self, description: str) -> str:
        """
        C{description} with this daemon's C{backlog} (the listen queue)
        when it is a TCP, TLS or UNIX endpoint that names none, so that
        every endpoint the daemon listens on, twistd's too, gets the
        same queue.  Beyond OSE.
        """
        kind = description.split(":", 1)[0].lower()
        if kind in _BACKLOG_KINDS and "backlog=" not in description:
            return f"{description}:backlog={self.backlog}"
        return description

    def _started(self, listening):
        if self._metrics is not None:
            return self._metrics.start(self._reactorUsed()).addCallbacks(
                lambda _: self._listened(listening), self._metricsFailed,
                errbackArgs=(listening,))
        return self._listened(listening)

    def _metricsFailed(self, failure, listening):
        # Half a deployment is worse than none: stop listening too.
        listening.stopListening()
        return self._failed(failure)

    def _listened(self, listening):
        self._listening = listening
        useServletTLS(listening)  # Fewer, bigger TLS writes (_tls).
        self.running = 1
        if self._shutdownTrigger is None:
            # Reactor shutdown (SIGTERM under twistd, Dispatcher shutdown)
            # waits for the drain.
            self._shutdownTrigger = self._reactorUsed().addSystemEventTrigger(
                "before", "shutdown", self.stop
            )
        address = listening.getHost()
        self._port = getattr(address, "port", self._port)
        _log.info("HttpDaemon listening on {description} ({address})",
                  description=self._description, address=address)
        return listening

    def _failed(self, failure):
        self.startFailure = failure
        _log.warn("HttpDaemon could not listen on {description}: {reason}",
                  description=self._description, reason=failure.getErrorMessage())
        if self.required and self._reactor in (None, getReactor()):
            fatalError(self._listenFailureMessage(failure))
        return None

    def _listenFailureMessage(self, failure: Failure) -> str:
        """
        One line saying why C{start()} could not listen (C{failure}) and
        what would work instead.
        """
        description = self._description
        if failure.check(CannotListenError):
            error = failure.value.socketError
            reason = getattr(error, "strerror", None) or str(error)
            errno_ = getattr(error, "errno", None)
            if errno_ == errno.EADDRINUSE:
                advice = (
                    f"choose another port, e.g. HttpDaemon({self._port + 1 if self._port else 8080}), "
                    f"or HttpDaemon(0) for any free one"
                )
            elif errno_ == errno.EACCES:
                advice = "ports below 1024 need privileges: use e.g. HttpDaemon(8080)"
            else:
                advice = (
                    "check the interface, e.g. "
                    "HttpDaemon(\"tcp:8080:interface=127.0.0.1\")"
                )
            return f"HttpDaemon cannot listen on {description!r}: {reason}; {advice}"
        return (
            f"HttpDaemon cannot listen on {description!r}: {failure.getErrorMessage()}; "
            f"give a port number or an endpoint description, e.g. HttpDaemon(8080) or "
            f"HttpDaemon(\"tcp:8080:interface=127.0.0.1\")"
        )

    def _reactorUsed(self) -> Any:
        return self._reactor or getReactor()

    def stop(self) -> defer.Deferred:
        """
        Stop accepting connections, let responses in flight finish for up
        to C{drainTimeout} seconds, then cut what is left.  Fires when the
        daemon is quiet.
        """
        listening, self._listening = self._listening, None
        self.running = 0
        if self._metrics is not None:
            self._metrics.draining()
        trigger, self._shutdownTrigger = self._shutdownTrigger, None
        if trigger is not None:
            try:
                self._reactorUsed().removeSystemEventTrigger(trigger)
            except (KeyError, ValueError):
                pass  # Already running as part of reactor shutdown.
        stopped = (
            defer.succeed(None) if listening is None
            else defer.maybeDeferred(listening.stopListening)
        )
        return defer.gatherResults(
            [stopped, self.site.drain(self.drainTimeout)], consumeErrors=True
        ).addCallback(self._stopped)

    def _stopped(self, result: object) -> Any:
        if self.site.accessLog is not None:
            self.site.accessLog.flush()
        if self._metrics is not None:
            return self._metrics.stop()
        return None

    # IService.

    def startService(self) -> defer.Deferred:  # type: ignore[override]
        """
        L{IService}: same as C{start()}, for twistd and service collections.
        """
        return self.start()

    def stopService(self) -> defer.Deferred:  # type: ignore[override]
        """
        L{IService}: same as C{stop()}.
        """
        return self.stop()


_BACKLOG_KINDS = frozenset(("tcp", "tcp6", "ssl", "unix"))


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
