# -*- test-case-name: tests.test_testing -*-
"""
Helpers for testing servlets without sockets or a running reactor.

L{MemoryDaemon} wraps an L{HttpDaemon} whose connections are Twisted
L{StringTransport}s and whose timers run on a L{MemoryReactorClock}: a
test sends raw request bytes, reads parsed responses, makes the client
slow (C{block()}/C{unblock()}) or makes it go away (C{disconnect()}),
and advances time with C{clock.advance()}.  Inside C{with MemoryDaemon(...)}
jobs, agents and their timers run on that clock too.

A worked example, for pytest or trial alike::

    import netsvc_twisted as netsvc
    from netsvc_twisted.testing import MemoryDaemon

    class Later(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "text/plain")
            self.endHeaders()
            self.job = netsvc.Job(self.finish)
            self.job.schedule()

        def finish(self):
            self.sendContent("done")
            self.endContent()

    def test_later():
        with MemoryDaemon.forServlet(Later) as daemon:
            connection = daemon.connect()
            connection.request("GET", "/")
            assert connection.replies() == []  # the job has not run yet
            daemon.settle()
            [reply] = connection.replies()
            assert (reply.status, reply.body) == (200, b"done")

For end-to-end tests over 127.0.0.1 the pytest plugin
L{netsvc_twisted.pytest_plugin} offers the C{netsvc_daemon} fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from netsvc_twisted._http._daemon import HttpDaemon
from netsvc_twisted._events._dispatcher import usingReactor
from netsvc_twisted._http._server import HttpServer

__all__ = [
    "MemoryDaemon",
    "MemoryConnection",
    "HttpReply",
    "parseResponses",
    "encodeRequest",
    "servletServer",
]


@attrs.define
class HttpReply:
    """
    One parsed HTTP/1.1 response.
    """

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    rawHeaders: list[tuple[str, str]] = attrs.field(factory=list)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


def _parseOne(data: bytes, closed: bool) -> tuple[HttpReply | None, bytes]:
    end = data.find(b"\r\n\r\n")
    if end == -1:
        return None, data
    head = data[:end].decode("latin-1").split("\r\n")
    rest = data[end + 4:]
    version, status, *reason = head[0].split(" ", 2)
    raw = [tuple(part.strip() for part in line.split(":", 1)) for line in head[1:]]
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    code = int(status)
    if code in (204, 304) or 100 <= code < 200:
        body, rest = b"", rest
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(rest) < length:
            return None, data
        body, rest = rest[:length], rest[length:]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks, position = [], 0
        while True:
            line_end = rest.find(b"\r\n", position)
            if line_end == -1:
                return None, data
            size = int(rest[position:line_end].split(b";")[0], 16)
            start = line_end + 2
            if len(rest) < start + size + 2:
                return None, data
            if size == 0:
                trailer_end = rest.find(b"\r\n", start)
                rest = rest[trailer_end + 2:]
                break
            chunks.append(rest[start:start + size])
            position = start + size + 2
        body = b"".join(chunks)
    elif closed:
        body, rest = rest, b""
    else:
        return None, data
    return HttpReply(code, reason[0] if reason else "", headers, body, raw), rest


def parseResponses(data: bytes, closed: bool = False) -> tuple[list[HttpReply], bytes]:
    """
    Parse every complete response in C{data}; return them and the rest.
    """
    replies = []
    while data:
        reply, data = _parseOne(data, closed)
        if reply is None:
            break
        replies.append(reply)
    return replies, data


class MemoryTransport(StringTransport):
    """
    A L{StringTransport} whose unread output counts as buffered, as on a
    socket nobody reads: the congestion bridge sees a backlog until the
    test reads it with L{MemoryConnection.received}.
    """

    def bufferedBytes(self) -> int:
        return len(self.io.getvalue())


class MemoryConnection:
    """
    One client connection to a L{MemoryDaemon}.
    """

    def __init__(self, protocol: Any, transport: StringTransport) -> None:
        self.protocol = protocol
        self.transport = transport
        self._unread = b""

    @property
    def channel(self) -> Any:
        return getattr(self.protocol, "_channel", self.protocol)

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        body: bytes = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> None:
        """
        Send one request (see L{encodeRequest}) without waiting for the
        response: read it later with L{replies}, after advancing the clock
        or settling the jobs a servlet scheduled.
        """
        self.send(encodeRequest(method, path, body, headers))

    def received(self) -> bytes:
        """
        Bytes written to the client since the last call.
        """
        data = self.transport.value()
        self.transport.clear()
        return data

    def replies(self) -> list[HttpReply]:
        """
        Complete responses received since the last call.
        """
        self._unread += self.received()
        replies, self._unread = parseResponses(
            self._unread, closed=self.closed
        )
        return replies

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting or self.transport.disconnected)

    def block(self) -> None:
        """
        Act as a client that stopped reading: the transport's buffer is full.
        """
        self.channel.pauseProducing()

    def unblock(self) -> None:
        """
        The client read everything: the transport's buffer drained.
        """
        self.channel.resumeProducing()

    def disconnect(self) -> None:
        """
        The client went away: the servlet is destroyed and further
        response calls are no-ops.
        """
        self.transport.disconnected = True
        self.protocol.connectionLost(Failure(ConnectionDone("client went away")))


class MemoryDaemon:
    """
    An L{HttpDaemon} driven in memory: C{servers} maps mount paths to
    server objects; C{clock} runs the daemon's timers (idle, stall and
    drain timeouts) and, inside a C{with} block, the event system's.
    """

    def __init__(
        self,
        servers: Mapping[str, Any] | None = None,
        daemon: HttpDaemon | None = None,
        clock: MemoryReactorClock | None = None,
    ) -> None:
        self.clock = clock or MemoryReactorClock()
        self.daemon = daemon or HttpDaemon(8000, reactor=self.clock)
        self.daemon.site.reactor = self.clock
        for path, server in (servers or {}).items():
            self.daemon.attach(path, server)
        self._nextPort = 40000

    def __enter__(self) -> MemoryDaemon:
        """
        Inside a C{with} block, jobs, timers and agents run on C{clock} too.
        """
        self._eventSystem = usingReactor(self.clock)
        self._eventSystem.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._eventSystem.__exit__(*exc_info)

    @classmethod
    def forServlet(cls, servletFactory: Callable[..., Any], path: str = "/") -> MemoryDaemon:
        """
        A daemon serving one servlet class (or any C{factory(session)})
        at C{path}, for tests that have no server object of their own.
        """
        return cls({path: servletServer(servletFactory)})

    def attach(self, path: str, server: Any) -> None:
        self.daemon.attach(path, server)

    def settle(self, maxTurns: int = 10000) -> int:
        """
        Run every job and timer due now, including those they schedule
        for now in turn, without moving the clock; return how many
        reactor turns that took.  A servlet that keeps scheduling work
        (a producer nobody blocks) raises L{RuntimeError} after
        C{maxTurns}.
        """
        for turn in range(maxTurns):
            if not _runTurn(self.clock):
                return turn
        raise RuntimeError(f"still busy after {maxTurns} turns")

    def connect(self, host: str = "127.0.0.1") -> MemoryConnection | None:
        """
        Open a connection; L{None} when the daemon's C{authorise()} refused it.
        """
        self._nextPort += 1
        peer = IPv4Address("TCP", host, self._nextPort)
        protocol = self.daemon.site.buildProtocol(peer)
        if protocol is None:
            return None
        transport = MemoryTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", self.daemon.port()),
            peerAddress=peer,
        )
        protocol.makeConnection(transport)
        return MemoryConnection(protocol, transport)

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        body: bytes = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> HttpReply:
        """
        Send one request on a new connection and return its response.
        """
        connection = self.connect()
        if connection is None:
            raise ConnectionRefusedError("refused by the daemon's authorise()")
        connection.request(method, path, body, headers)
        replies = connection.replies()
        if not replies:
            raise AssertionError(
                f"no complete response to {method} {path}: {connection._unread!r}"
            )
        return replies[0]


def _runTurn(clock: MemoryReactorClock) -> bool:
    """
    Run the calls due when the turn starts, as one reactor iteration does:
    a C{callLater(0)} made meanwhile waits for the next turn, where
    C{Clock.advance(0)} would run it at once and never return for work
    that keeps rescheduling itself.
    """
    now = clock.seconds()
    due = [call for call in clock.getDelayedCalls() if call.getTime() <= now]
    for call in due:
        if call.active():
            clock.calls.remove(call)
            call.called = 1
            call.func(*call.args, **call.kw)
    return bool(due)


def servletServer(servletFactory: Callable[..., Any]) -> HttpServer:
    """
    An L{HttpServer} whose servlets are C{servletFactory(session)}.
    """

    class _ServletServer(HttpServer):
        def servlet(self, session: Any) -> Any:
            return servletFactory(session)

    return _ServletServer()


def encodeRequest(
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> bytes:
    """
    The bytes of an HTTP/1.1 request; adds C{Host} and C{Content-Length}
    when missing.
    """
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    names = {name.lower() for name, _ in items}
    if "host" not in names:
        items.insert(0, ("Host", "localhost"))
    if body and "content-length" not in names and "transfer-encoding" not in names:
        items.append(("Content-Length", str(len(body))))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in items
    )
    return head.encode("latin-1") + b"\r\n" + body
