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

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union

import attrs
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel
from twisted.web.server import Site

from netsvc_twisted._http._daemon import HttpDaemon
from netsvc_twisted._events._dispatcher import usingReactor
from netsvc_twisted._events._jobs import _queue as _jobQueue
from netsvc_twisted._http._server import HttpServer

__all__ = [
    "MemoryDaemon",
    "MemoryConnection",
    "HttpReply",
    "parseResponses",
    "encodeRequest",
    "encodeMultipart",
    "servletServer",
    "netsvcDaemon",
    "LOCAL_ENDPOINT",
]

#: Where L{netsvcDaemon} and the C{netsvc_daemon} fixture listen: a free
#: port, loopback only.
LOCAL_ENDPOINT = "tcp:0:interface=127.0.0.1"


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
        """
        The value of header C{name} (any case; repeated headers joined
        with C{", "}), or C{default} when the response has none.
        """
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
    One client connection to a L{MemoryDaemon} (made by its C{connect()}):
    C{protocol} is the server's protocol, C{transport} the in-memory
    transport its output goes to, C{daemon} the L{MemoryDaemon} (which
    explains a missing response).
    """

    def __init__(
        self, protocol: Any, transport: StringTransport, daemon: MemoryDaemon | None = None
    ) -> None:
        self.protocol = protocol
        self.transport = transport
        self.daemon = daemon
        self._unread = b""
        self._parsed: list[HttpReply] = []

    @property
    def channel(self) -> Any:
        """The twisted.web HTTP channel behind the connection's protocol."""
        return getattr(self.protocol, "_channel", self.protocol)

    def send(self, data: bytes) -> None:
        """
        Send raw bytes to the server, as they would arrive from a socket:
        a malformed request, several pipelined ones, or a body in pieces.

        C{data} is bytes.
        """
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

        C{method}, C{path}, C{body} and C{headers} are those of
        L{encodeRequest}.
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
        replies[:0], self._parsed = self._parsed, []
        return replies

    def reply(self) -> HttpReply:
        """
        The first complete response received since the last call of
        C{reply()} or C{replies()}.

        @raise AssertionError: there is none yet; the message says why when
            the servlet is waiting for jobs or timers the test did not run
            (C{settle()}, C{clock.advance()}, or a missing C{with} block).
        """
        replies = self.replies()
        if not replies:
            raise AssertionError(_noResponse(self.daemon, "the request", self._unread))
        self._parsed = replies[1:]
        return replies[0]

    @property
    def closed(self) -> bool:
        """True once the server closed (or the client dropped) the connection."""
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
    server objects (or give a ready C{daemon}); C{clock} runs the
    daemon's timers (idle, stall and drain timeouts) and, inside a
    C{with} block, the event system's (jobs, agents, shutdown).

    With C{site}, the connections go to that twisted.web L{Site} instead,
    for applications that mount servers in a resource tree with
    L{netsvc_twisted.ServletResource} (see L{forResource}).
    """

    _eventSystem: Any = None

    def __init__(
        self,
        servers: Mapping[str, Any] | None = None,
        daemon: HttpDaemon | None = None,
        clock: MemoryReactorClock | None = None,
        *,
        site: Site | None = None,
    ) -> None:
        self.clock = clock or MemoryReactorClock()
        if site is not None:
            if servers or daemon is not None:
                raise TypeError("MemoryDaemon: give a site, or servers and a daemon, not both")
            self.daemon = None
            self.site = site
        else:
            self.daemon = daemon or HttpDaemon(8000, reactor=self.clock)
            self.site = self.daemon.site
            for path, server in (servers or {}).items():
                self.daemon.attach(path, server)
        self.site.reactor = self.clock
        self._nextPort = 40000

    def __enter__(self) -> MemoryDaemon:
        """
        Inside a C{with} block, jobs, timers and agents run on C{clock} too.
        """
        self._eventSystem = usingReactor(self.clock)
        self._eventSystem.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        eventSystem, self._eventSystem = self._eventSystem, None
        eventSystem.__exit__(*exc_info)

    @classmethod
    def forServlet(cls, servletFactory: Callable[..., Any], path: str = "/") -> MemoryDaemon:
        """
        A daemon serving one servlet class (or any C{factory(session)})
        at C{path}, for tests that have no server object of their own.

        C{servletFactory} is that class or factory.
        """
        return cls({path: servletServer(servletFactory)})

    @classmethod
    def forResource(cls, resource: Any) -> MemoryDaemon:
        """
        A twisted.web L{Site} on C{resource} (a tree in which
        L{netsvc_twisted.ServletResource} objects mount servers), driven
        in memory like a daemon.  Its servlets get the request body after
        it fully arrived, as in any foreign Site.
        """
        return cls(site=Site(resource))

    def attach(self, path: str, server: Any) -> None:
        """
        Mount another server object (L{HttpDaemon.attach}); a daemon made
        for a Site mounts with the Site's C{putChild()} instead.

        C{path} and C{server} as for L{HttpDaemon.attach}.
        """
        if self.daemon is None:
            raise TypeError(
                "MemoryDaemon on a Site: mount servers in its resource tree, "
                "e.g. root.putChild(b'app', ServletResource(server))"
            )
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
        Open a connection from client address C{host}; L{None} when the
        daemon's C{authorise()} refused it.
        """
        self._nextPort += 1
        peer = IPv4Address("TCP", host, self._nextPort)
        protocol = self.site.buildProtocol(peer)
        if protocol is None:
            return None
        port = self.daemon.port() if self.daemon is not None else 8000
        transport = MemoryTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", port),
            peerAddress=peer,
        )
        protocol.makeConnection(transport)
        return MemoryConnection(protocol, transport, self)

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        body: bytes = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> HttpReply:
        """
        Send one request on a new connection and return its response;
        C{method}, C{path}, C{body} and C{headers} are those of
        L{encodeRequest}.

        @raise AssertionError: the response is not complete (yet); the
            message says what the servlet is waiting for.
        """
        connection = self.connect()
        if connection is None:
            raise ConnectionRefusedError("refused by the daemon's authorise()")
        connection.request(method, path, body, headers)
        replies = connection.replies()
        if not replies:
            raise AssertionError(_noResponse(self, f"{method} {path}", connection._unread))
        return replies[0]

    def _waitingFor(self) -> str:
        """
        What a servlet without a complete response may be waiting for,
        as advice to the test, or C{""}.
        """
        if self._eventSystem is None:
            queued = _jobQueue.pending()
            if queued:
                return (
                    f"{queued} job(s) wait on the process's event loop, which no "
                    f"test runs: use the daemon in a with block (with "
                    f"MemoryDaemon(...) as daemon:) so that jobs run on "
                    f"daemon.clock, then call daemon.settle()"
                )
        now = self.clock.seconds()
        times = [
            call.getTime() for call in self.clock.getDelayedCalls()
            # A connection's own idle timeout is always there: no hint.
            if call.active() and not isinstance(getattr(call.func, "__self__", None), HTTPChannel)
        ]
        if any(time <= now for time in times):
            return "jobs or timers are due now: call daemon.settle() first"
        later = sorted(time - now for time in times)
        if later:
            return (
                f"a timer is due in {later[0]:g} s: call "
                f"daemon.clock.advance({later[0]:g}) first"
            )
        return ""


def _noResponse(daemon: MemoryDaemon | None, what: str, unread: bytes) -> str:
    message = f"no complete response to {what}"
    message += f" (received so far: {unread[:200]!r})" if unread else " (nothing received)"
    hint = daemon._waitingFor() if daemon is not None else ""
    return f"{message}; {hint}" if hint else message


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


MultipartValue = Union[str, bytes, tuple]


def encodeMultipart(
    fields: Mapping[str, MultipartValue] | Iterable[tuple[str, MultipartValue]],
) -> tuple[bytes, str]:
    """
    The body of a C{multipart/form-data} form submission and its
    C{Content-Type} header value (which carries the boundary), for tests
    of L{netsvc_twisted.FormServlet} uploads::

        body, contentType = encodeMultipart({
            "user": "alice",
            "photo": ("cat.png", pngBytes, "image/png"),
        })
        reply = daemon.request("POST", "/upload", body,
                               {"Content-Type": contentType})

    C{fields} maps names (or is a sequence of C{(name, value)} pairs, for
    a name given more than once) to a value: C{str} (sent as UTF-8) or
    C{bytes} for an ordinary field, C{(filename, content)} or
    C{(filename, content, contentType)} for a file (content C{bytes} or
    C{str}; the type defaults to C{application/octet-stream}).
    """
    items = list(fields.items() if isinstance(fields, Mapping) else fields)
    parts: list[tuple[bytes, bytes]] = []
    for name, value in items:
        disposition = f'form-data; name="{_quoteParameter(name)}"'
        if isinstance(value, tuple):
            filename, content, *rest = value
            contentType = rest[0] if rest else "application/octet-stream"
            disposition += f'; filename="{_quoteParameter(filename)}"'
            head = f"Content-Disposition: {disposition}\r\nContent-Type: {contentType}\r\n"
        else:
            content = value
            head = f"Content-Disposition: {disposition}\r\n"
        if isinstance(content, str):
            content = content.encode("utf-8")
        parts.append((head.encode("utf-8"), content))
    boundary = "netsvc-" + os.urandom(12).hex()
    while any(boundary.encode("ascii") in content for _, content in parts):
        boundary = "netsvc-" + os.urandom(12).hex()  # pragma: no cover - 2**-96
    delimiter = b"--" + boundary.encode("ascii")
    body = b"".join(delimiter + b"\r\n" + head + b"\r\n" + content + b"\r\n"
                    for head, content in parts)
    return body + delimiter + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def _quoteParameter(text: str) -> str:
    # As browsers do (WHATWG HTML, multipart/form-data encoding).
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _startDaemon(endpoint: str, **kwargs: Any) -> defer.Deferred:
    """
    A started L{HttpDaemon} on C{endpoint}; errback with the reason when
    it could not listen.
    """
    daemon = HttpDaemon(endpoint, **kwargs)
    # The test reports a failure to listen; it must not end the process.
    daemon.required = False

    def started(listening: Any) -> HttpDaemon:
        if listening is None:
            raise RuntimeError(
                f"the test's HttpDaemon could not listen on {endpoint}: "
                f"{daemon.startFailure.getErrorMessage()}"
            )
        return daemon

    return daemon.start().addCallback(started)


def netsvcDaemon(testCase: Any, endpoint: str = LOCAL_ENDPOINT, **kwargs: Any) -> defer.Deferred:
    """
    The trial counterpart of the C{netsvc_daemon} pytest fixture: a
    Deferred firing with an L{HttpDaemon} listening on a free port of
    127.0.0.1, with nothing attached yet; C{testCase.addCleanup()} stops
    (and drains) it after the test.  C{kwargs} go to L{HttpDaemon}
    (C{idleTimeout=}, ...).  In a C{twisted.trial.unittest.TestCase}::

        async def test_hello(self):
            daemon = await netsvcDaemon(self)
            daemon.attach("/", HelloServer())
            ...  # a Deferred client on daemon.port()

    (trial runs C{async def} test methods; C{@defer.inlineCallbacks} and
    C{yield} work as well).  docs/howto/testing.md has a complete example.
    """

    def cleanUp(daemon: HttpDaemon) -> HttpDaemon:
        testCase.addCleanup(daemon.stop)
        return daemon

    return _startDaemon(endpoint, **kwargs).addCallback(cleanUp)
