"""
Issue 3: servlets work the same over HTTP/2 (TLS with ALPN "h2", Twisted's
H2Connection) as over HTTP/1.1, and per-stream flow control becomes
congestion.

Everything runs over real sockets on 127.0.0.1: a daemon on an C{ssl:}
endpoint with a certificate made for the test, and either httpx
(C{http2=True}) or the C{h2} library driven over a plain TLS socket, so
the test decides when the client opens its flow-control window.  Clients
run in threads with socket timeouts and every Deferred the test waits for
has a timeout, so a hang fails instead of blocking.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import runpy
import socket
import ssl
import threading
from pathlib import Path

import pytest
import pytest_twisted
from support import TIMEOUT, TLSDaemon, selfSignedPair
from twisted.internet import defer, reactor, task, threads

import netsvc_twisted as netsvc
from netsvc_twisted.testing import servletServer

# The test extra installs twisted[http2] and httpx[http2]: a missing one
# fails here rather than skipping HTTP/2 quietly.
import twisted.web._http2  # noqa: F401
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import httpx

EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent
                             / "examples" / "slow_clients.py"))
#: The response streamed in parts of EXAMPLE["PART"] bytes.
SIZE = 4 << 20
#: HTTP/2's initial flow-control window (RFC 9113 6.9.2).
INITIAL_WINDOW = 65535


# The certificate.

@pytest.fixture(scope="module")
def certificate():
    return selfSignedPair()


@pytest.fixture
def startTLS(certificate, daemons):
    async def start(servers, **kwargs):
        daemon = TLSDaemon(certificate, **kwargs)
        for path, server in servers.items():
            daemon.attach(path, server)
        await daemon.start()
        assert daemon.startFailure is None, daemon.startFailure
        assert daemon.port() > 0
        daemons.append(daemon)
        return daemon

    return start


def within(d: defer.Deferred, seconds: float = TIMEOUT) -> defer.Deferred:
    return d.addTimeout(seconds, reactor)


def inThread(function, *args) -> defer.Deferred:
    return within(threads.deferToThread(function, *args), TIMEOUT * 2)


def sendLoopParked(daemon) -> defer.Deferred:
    """
    Fires once the HTTP/2 connection's send loop waits for something to
    send instead of running every reactor turn.
    """
    (connection,) = daemon.site.connections
    parked = defer.Deferred()

    def check():
        if connection._sendingDeferred is not None:
            parked.callback(None)
        elif not parked.called:
            reactor.callLater(0.005, check)

    check()
    return within(parked)


def expectedBody(size: int) -> bytes:
    parts, left, index = [], size, 0
    while left > 0:
        data = EXAMPLE["part"](index)[:left]
        parts.append(data)
        left -= len(data)
        index += 1
    return b"".join(parts)


def assertAlternating(events):
    """
    BLOCKED and CLEARED alternate, starting blocked and ending cleared.
    """
    flow = [e for e in events if e != netsvc.CONNECTION_BACKLOG]
    assert flow == [netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED] * (len(flow) // 2)


# A small HTTP/2 client over a TLS socket, driven by the h2 library.

class Stream:
    def __init__(self):
        self.headers: dict[str, str] = {}
        self.data = bytearray()
        self.ended = False
        self.reset = False
        self.informational: list[str] = []


class H2Client:
    """
    Blocking, one thread.  Every read has the socket timeout, so a server
    that never answers fails the test.  Received data is acknowledged (the
    window reopened) only when C{autoAck} is true.
    """

    def __init__(self, port: int, autoAck: bool = True, window: int | None = None,
                 receiveBuffer: int | None = None) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        raw = socket.socket()
        if receiveBuffer is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receiveBuffer)
        raw.settimeout(TIMEOUT)
        raw.connect(("127.0.0.1", port))
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if window is not None:
            # Wide windows from the start, for every stream and the
            # connection: flow control never blocks the server.
            self.conn.update_settings(
                {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
            self.conn.increment_flow_control_window(window - INITIAL_WINDOW)
        self.flush()
        self.autoAck = autoAck
        self.streams: dict[int, Stream] = {}
        self.terminated = False

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: list[tuple[str, str]] = ()) -> int:
        streamID = self.conn.get_next_available_stream_id()
        self.streams[streamID] = Stream()
        fields = [(":method", method), (":scheme", "https"),
                  (":authority", "localhost"), (":path", path), *headers]
        if body is not None:
            fields.append(("content-length", str(len(body))))
        self.conn.send_headers(streamID, fields, end_stream=body is None)
        self.flush()
        if body is not None:
            self.sendBody(streamID, body)
        return streamID

    def sendBody(self, streamID: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            window = min(self.conn.local_flow_control_window(streamID),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.receive()
                continue
            self.conn.send_data(streamID, bytes(view[:window]))
            self.flush()
            view = view[window:]
        self.conn.end_stream(streamID)
        self.flush()

    def receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        for event in self.conn.receive_data(data):
            stream = self.streams.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.InformationalResponseReceived):
                stream.informational.append(dict(event.headers)[":status"])
            elif isinstance(event, h2.events.ResponseReceived):
                stream.headers = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                stream.data += event.data
                if self.autoAck:
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                stream.ended = True
            elif isinstance(event, h2.events.StreamReset):
                stream.reset = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.terminated = True
        self.flush()

    def until(self, condition) -> None:
        while not condition():
            self.receive()

    def get(self, path: str) -> Stream:
        stream = self.streams[self.request("GET", path)]
        self.until(lambda: stream.ended or stream.reset)
        return stream


# Servlets.

class Recorder:
    """
    What the servlets of a test did, for the reactor side and the client
    thread alike.
    """

    def __init__(self):
        self.servlets = []
        self.destroyed = defer.Deferred()
        self.blocked = threading.Event()
        self.twoStarted = threading.Event()


class Hello(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain; charset=utf-8")
        self.sendHeader("X-Protocol", self.protocolVersion())
        self.sendHeader("X-Path", self.requestPath())
        self.sendHeader("X-Scheme", self._session.scheme())
        self.endHeaders()
        self.sendContent("Hello, HTTP/2 \u2713")
        self.endContent()


class Streamed(EXAMPLE["SlowClientServlet"]):
    """
    The E14 example, counting its destruction and telling the client
    thread when the connection blocked.
    """

    def __init__(self, session, recorder):
        super().__init__(session)
        self.recorder = recorder
        self.destroyCount = 0
        recorder.servlets.append(self)
        if len(recorder.servlets) == 2:
            recorder.twoStarted.set()

    def congestion(self, status, pending):
        super().congestion(status, pending)
        if status == netsvc.CONNECTION_BLOCKED:
            self.recorder.blocked.set()

    def destroyServlet(self):
        self.destroyCount += 1
        super().destroyServlet()
        destroyed = self.recorder.destroyed
        if not destroyed.called:
            # Out of the call stack that destroyed us before the test
            # looks.
            reactor.callLater(0, destroyed.callback, self)


class Echo(netsvc.HttpServlet):
    def processRequest(self):
        self.chunks = []

    def processContent(self, content):
        self.chunks.append(content)

    def processContentEnd(self):
        body = b"".join(self.chunks)
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.sendHeader("X-Chunks", str(len(self.chunks)))
        self.endHeaders()
        self.sendContent(f"{len(body)} {hashlib.sha256(body).hexdigest()}")
        self.endContent()


def h2Client() -> httpx.Client:
    """An httpx client speaking HTTP/2 to the test's self-signed daemon."""
    return httpx.Client(http2=True, verify=False, timeout=TIMEOUT)


async def h2Request(daemon, method: str, path: str, **kwargs) -> httpx.Response:
    """One request over HTTP/2, made from a client thread."""

    def client():
        with h2Client() as c:
            return c.request(method, f"https://127.0.0.1:{daemon.port()}{path}", **kwargs)

    return await inThread(client)


# (a) Plain requests.

@pytest_twisted.ensureDeferred
async def test_get_over_h2_with_httpx(startTLS):
    daemon = await startTLS({"/": servletServer(Hello)})
    response = await h2Request(daemon, "GET", "/a/b?x=1")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-protocol"] == "HTTP/2"
    assert response.headers["x-path"] == "/a/b"
    assert response.headers["x-scheme"] == "https"
    assert response.headers["server"] == "netsvc_twisted"
    assert response.text == "Hello, HTTP/2 \u2713"


@pytest_twisted.ensureDeferred
async def test_errors_over_h2(startTLS):
    class Failing(netsvc.HttpServlet):
        def processRequest(self):
            raise RuntimeError("boom")

    daemon = await startTLS({"/hello": servletServer(Hello), "/fail": servletServer(Failing)})

    def client():
        with h2Client() as c:
            base = f"https://127.0.0.1:{daemon.port()}"
            return [c.get(base + path) for path in ("/nowhere", "/fail", "/hello")]

    missing, failed, hello = await inThread(client)
    assert {r.http_version for r in (missing, failed, hello)} == {"HTTP/2"}
    assert missing.status_code == 404
    assert failed.status_code == 500
    assert hello.status_code == 200


@pytest_twisted.ensureDeferred
async def test_two_concurrent_streams_on_one_connection(startTLS):
    """
    The first servlet answers only once the second has started: both
    requests are in progress together, on the same connection.
    """
    waiting = []

    class Rendezvous(netsvc.HttpServlet):
        def processRequest(self):
            waiting.append(self)
            if len(waiting) == 2:
                for servlet in waiting:
                    servlet.answer()

        def answer(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "text/plain")
            self.endHeaders()
            self.sendContent(f"{self.requestPath()} {self.clientPort()}")
            self.endContent()

    daemon = await startTLS({"/": servletServer(Rendezvous)})

    async def both(port):
        async with httpx.AsyncClient(http2=True, verify=False, timeout=TIMEOUT) as c:
            base = f"https://127.0.0.1:{port}"
            return await asyncio.gather(c.get(base + "/one"), c.get(base + "/two"))

    one, two = await inThread(lambda: asyncio.run(both(daemon.port())))
    assert one.http_version == two.http_version == "HTTP/2"
    pathOne, portOne = one.text.split()
    pathTwo, portTwo = two.text.split()
    assert (pathOne, pathTwo) == ("/one", "/two")
    assert portOne == portTwo


@pytest_twisted.ensureDeferred
async def test_connection_headers_are_dropped_not_fatal(startTLS):
    class Http1Minded(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "text/plain")
            self.sendHeader("Connection", "keep-alive")
            self.sendHeader("Keep-Alive", "timeout=5")
            self.sendHeader("X-Kept", "yes")
            self.endHeaders()
            self.sendContent("fine")
            self.endContent()

    daemon = await startTLS({"/": servletServer(Http1Minded)})
    response = await h2Request(daemon, "GET", "/")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert response.headers["x-kept"] == "yes"
    assert "connection" not in response.headers
    assert response.text == "fine"


@pytest_twisted.ensureDeferred
async def test_http11_still_served_on_the_tls_port(startTLS):
    daemon = await startTLS({"/": servletServer(Hello)})

    def client():
        with httpx.Client(http2=False, verify=False, timeout=TIMEOUT) as c:
            return c.get(f"https://127.0.0.1:{daemon.port()}/")

    response = await inThread(client)
    assert response.http_version == "HTTP/1.1"
    assert response.headers["x-protocol"] == "HTTP/1.1"
    assert response.text == "Hello, HTTP/2 \u2713"


# (b) Flow control is congestion.

@pytest_twisted.ensureDeferred
async def test_stream_window_blocks_then_clears(startTLS):
    recorder = Recorder()
    daemon = await startTLS({"/": servletServer(lambda s: Streamed(s, recorder))})

    def client():
        c = H2Client(daemon.port(), autoAck=False)
        try:
            streamID = c.request("GET", f"/?size={SIZE}")
            stream = c.streams[streamID]
            assert recorder.blocked.wait(TIMEOUT), "the servlet was never blocked"
            # The server sends exactly what the window allows, then waits.
            c.until(lambda: len(stream.data) >= INITIAL_WINDOW)
            receivedWhileBlocked = len(stream.data)
            # The server waits for the window without spinning.
            threads.blockingCallFromThread(reactor, sendLoopParked, daemon)
            # Open the window (stream and connection) for the rest.
            c.conn.increment_flow_control_window(SIZE, stream_id=streamID)
            c.conn.increment_flow_control_window(SIZE)
            c.flush()
            c.until(lambda: stream.ended or stream.reset)
            return stream, receivedWhileBlocked
        finally:
            c.close()

    stream, receivedWhileBlocked = await inThread(client)
    assert receivedWhileBlocked == INITIAL_WINDOW
    assert not stream.reset
    assert stream.headers[":status"] == "200"
    assert stream.headers["content-length"] == str(SIZE)
    assert len(stream.data) == SIZE
    assert bytes(stream.data) == expectedBody(SIZE)
    await within(recorder.destroyed)
    (servlet,) = recorder.servlets
    assert servlet.sent == SIZE
    assert servlet.destroyCount == 1
    assert servlet.events[:2] == [netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED]
    assertAlternating(servlet.events)


@pytest_twisted.ensureDeferred
async def test_stream_window_reopened_as_data_is_read(startTLS):
    """
    A client that acknowledges what it reads (httpx): many small windows,
    every byte in order.
    """
    recorder = Recorder()
    daemon = await startTLS({"/": servletServer(lambda s: Streamed(s, recorder))})

    def client():
        digest = hashlib.sha256()
        with h2Client() as c:
            url = f"https://127.0.0.1:{daemon.port()}/?size={SIZE}"
            with c.stream("GET", url) as r:
                for chunk in r.iter_raw():
                    digest.update(chunk)
                return r.http_version, r.num_bytes_downloaded, digest.hexdigest()

    version, received, digest = await inThread(client)
    assert version == "HTTP/2"
    assert received == SIZE
    assert digest == hashlib.sha256(expectedBody(SIZE)).hexdigest()
    await within(recorder.destroyed)
    (servlet,) = recorder.servlets
    assert servlet.destroyCount == 1
    # httpx opens a 16 MiB window: blocking, if any, came from the socket.
    assertAlternating(servlet.events)


@pytest_twisted.ensureDeferred
async def test_stall_timeout_resets_the_stream_only(startTLS):
    recorder = Recorder()
    daemon = await startTLS(
        {"/big": servletServer(lambda s: Streamed(s, recorder)), "/hello": servletServer(Hello)},
        stallTimeout=0.2)

    def client():
        c = H2Client(daemon.port(), autoAck=False)
        try:
            streamID = c.request("GET", f"/big?size={SIZE}")
            stream = c.streams[streamID]
            c.until(lambda: stream.reset or stream.ended)
            # The connection carries on (once the client gives back the
            # connection window the big response used).
            c.autoAck = True
            c.conn.increment_flow_control_window(INITIAL_WINDOW)
            hello = c.get("/hello")
            return stream, hello
        finally:
            c.close()

    stream, hello = await inThread(client)
    assert stream.reset and not stream.ended
    assert len(stream.data) <= INITIAL_WINDOW
    assert hello.ended and bytes(hello.data) == "Hello, HTTP/2 \u2713".encode()
    await within(recorder.destroyed)
    assert recorder.servlets[0].destroyCount == 1


@pytest_twisted.ensureDeferred
async def test_full_socket_blocks_despite_wide_windows(startTLS):
    """
    Twisted pauses an HTTP/2 stream only for its flow-control window.  A
    client with wide windows that stops reading fills the socket instead;
    that too is CONNECTION_BLOCKED, as over HTTP/1.1, so the servlet stops
    well short of queueing the whole response.
    """
    size = 32 << 20
    recorder = Recorder()
    sentWhenBlocked = []

    def make(session):
        servlet = Streamed(session, recorder)
        congestion = servlet.congestion

        def watched(status, pending):
            if status == netsvc.CONNECTION_BLOCKED and not sentWhenBlocked:
                sentWhenBlocked.append(servlet.sent)
            congestion(status, pending)

        servlet.congestion = watched
        return servlet

    daemon = await startTLS({"/": servletServer(make)})

    def client():
        c = H2Client(daemon.port(), autoAck=False, window=2**31 - 1,
                     receiveBuffer=16384)
        try:
            streamID = c.request("GET", f"/?size={size}")
            stream = c.streams[streamID]
            # Not reading a byte until the servlet was blocked.
            assert recorder.blocked.wait(TIMEOUT), "the servlet was never blocked"
            digest = hashlib.sha256()
            received = 0
            while not (stream.ended or stream.reset):
                c.receive()
                digest.update(stream.data)
                received += len(stream.data)
                stream.data.clear()
            return stream, received, digest.hexdigest()
        finally:
            c.close()

    stream, received, digest = await inThread(client)
    assert stream.ended and not stream.reset
    assert received == size
    assert digest == hashlib.sha256(expectedBody(size)).hexdigest()
    await within(recorder.destroyed)
    (servlet,) = recorder.servlets
    assert sentWhenBlocked[0] < size // 4
    assert servlet.events[:2] == [netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED]
    assertAlternating(servlet.events)


@pytest_twisted.ensureDeferred
async def test_data_frames_as_large_as_the_client_allows(startTLS):
    """
    The server frames DATA itself, up to the client's
    SETTINGS_MAX_FRAME_SIZE (here four times the default) and never past
    it: h2 on the client side checks every frame's size and window.
    """
    frameSize = 1 << 16
    recorder = Recorder()
    daemon = await startTLS({"/": servletServer(lambda s: Streamed(s, recorder))})

    def client():
        c = H2Client(daemon.port(), window=2**31 - 1)
        c.conn.update_settings({h2.settings.SettingCodes.MAX_FRAME_SIZE: frameSize})
        c.flush()
        sizes = []
        receive = c.conn.receive_data

        def recording(data):
            events = receive(data)
            sizes.extend(len(e.data) for e in events if isinstance(e, h2.events.DataReceived))
            return events

        c.conn.receive_data = recording
        try:
            return c.get(f"/?size={SIZE}"), sizes
        finally:
            c.close()

    stream, sizes = await inThread(client)
    assert stream.ended and not stream.reset
    assert bytes(stream.data) == expectedBody(SIZE)
    # E14 writes 128 KiB parts: two full frames each, then END_STREAM.
    assert sizes == [frameSize] * (SIZE // frameSize) + [0]
    await within(recorder.destroyed)


@pytest_twisted.ensureDeferred
async def test_write_that_fills_the_stream_buffer_is_framed_at_once(startTLS):
    """
    As over HTTP/1.1, where a large write goes straight to the socket, a
    write that fills a stream's buffer is framed and handed to the
    transport at once, not a reactor turn later with the servlet paused
    meanwhile; what the socket does not take waits in the transport.
    """
    from netsvc_twisted._http._h2 import STREAM_BUFFER, streamQueued

    queued = []

    class Parts(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/octet-stream")
            self.endHeaders()
            (connection,) = daemon.site.connections
            for index in range(4):
                self.sendContent(EXAMPLE["part"](index))
                self.flushContent()
                queued.append([streamQueued(s) for s in connection.streams.values()])
            self.endContent()

    assert EXAMPLE["PART"] >= STREAM_BUFFER
    daemon = await startTLS({"/": servletServer(Parts)})

    def client():
        c = H2Client(daemon.port(), window=2**31 - 1)
        try:
            return c.get("/")
        finally:
            c.close()

    stream = await inThread(client)
    assert stream.ended and not stream.reset
    assert bytes(stream.data) == expectedBody(4 * EXAMPLE["PART"])
    assert queued == [[0]] * 4


# (c) The client goes away mid-response.

@pytest_twisted.ensureDeferred
async def test_rst_stream_destroys_the_servlet_once(startTLS):
    recorder = Recorder()
    daemon = await startTLS(
        {"/big": servletServer(lambda s: Streamed(s, recorder)), "/hello": servletServer(Hello)})

    def client():
        c = H2Client(daemon.port(), autoAck=False)
        try:
            streamID = c.request("GET", f"/big?size={SIZE}")
            assert recorder.blocked.wait(TIMEOUT), "the servlet was never blocked"
            c.conn.reset_stream(streamID, error_code=h2.errors.ErrorCodes.CANCEL)
            c.flush()
            # Another stream on the same connection is still served; the
            # reset has been handled by the time it is answered.
            c.autoAck = True
            c.conn.increment_flow_control_window(INITIAL_WINDOW)
            return c.get("/hello")
        finally:
            c.close()

    hello = await inThread(client)
    assert hello.ended and hello.headers[":status"] == "200"
    servlet = await within(recorder.destroyed)
    assert servlet.destroyCount == 1
    sentWhenDestroyed = servlet.sent
    assert servlet.sent < SIZE
    assert servlet._response.state == 4  # ABORTED
    # Nothing is left scheduled that would write or destroy again.
    await task.deferLater(reactor, 0.05, lambda: None)
    assert servlet.destroyCount == 1
    assert servlet.sent == sentWhenDestroyed


@pytest_twisted.ensureDeferred
async def test_closed_connection_destroys_every_servlet_once(startTLS):
    recorder = Recorder()
    daemon = await startTLS({"/": servletServer(lambda s: Streamed(s, recorder))})

    def client():
        c = H2Client(daemon.port(), autoAck=False)
        try:
            c.request("GET", f"/?size={SIZE}")
            c.request("GET", f"/?size={SIZE}")
            assert recorder.blocked.wait(TIMEOUT)
            assert recorder.twoStarted.wait(TIMEOUT)
        finally:
            c.sock.close()

    await inThread(client)
    await within(recorder.destroyed)
    gone = defer.Deferred()

    def check():
        if all(s.destroyCount for s in recorder.servlets):
            gone.callback(None)
        else:
            reactor.callLater(0.01, check)

    check()
    await within(gone)
    assert [s.destroyCount for s in recorder.servlets] == [1, 1]
    assert all(s._response.state == 4 for s in recorder.servlets)
    # The connection has left the daemon's set too.
    assert not daemon.site.connections


# (d) Request bodies.

@pytest_twisted.ensureDeferred
async def test_post_body_reaches_process_content(startTLS):
    daemon = await startTLS({"/": servletServer(Echo)})
    body = bytes(range(256)) * 1200  # 300 KiB: several windows and chunks

    response = await h2Request(daemon, "POST", "/", content=body)
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert response.text == f"{len(body)} {hashlib.sha256(body).hexdigest()}"
    assert int(response.headers["x-chunks"]) > 1


@pytest_twisted.ensureDeferred
async def test_post_body_with_h2_client(startTLS):
    daemon = await startTLS({"/": servletServer(Echo)})
    body = b"x" * 100000

    def client():
        c = H2Client(daemon.port())
        try:
            streamID = c.request("POST", "/", body)
            stream = c.streams[streamID]
            c.until(lambda: stream.ended or stream.reset)
            return stream
        finally:
            c.close()

    stream = await inThread(client)
    assert stream.headers[":status"] == "200"
    assert bytes(stream.data).decode() == f"{len(body)} {hashlib.sha256(body).hexdigest()}"


# The daemon's drain.

@pytest_twisted.ensureDeferred
async def test_stop_drains_h2_connections(startTLS):
    """
    An idle HTTP/2 connection is told GOAWAY and closed at once, not cut
    after the drain time.
    """
    daemon = await startTLS({"/": servletServer(Hello)}, drainTimeout=TIMEOUT * 3)
    ready = threading.Event()
    stopped = threading.Event()

    def client():
        c = H2Client(daemon.port())
        try:
            assert c.get("/").ended
            ready.set()
            assert stopped.wait(TIMEOUT)
            try:
                c.until(lambda: c.terminated)
            except ConnectionError:
                pass
            return c.terminated
        finally:
            c.close()

    result = inThread(client)
    assert await threads.deferToThread(ready.wait, TIMEOUT)
    assert len(daemon.site.connections) == 1
    stopping = within(daemon.stop())
    stopped.set()
    await stopping
    assert await result
    assert not daemon.site.connections


@pytest_twisted.ensureDeferred
async def test_stop_lets_a_busy_stream_finish_then_says_goaway(startTLS):
    recorder = Recorder()
    daemon = await startTLS({"/": servletServer(lambda s: Streamed(s, recorder))},
                            drainTimeout=TIMEOUT * 3)
    size = 1 << 20
    stopped = threading.Event()

    def client():
        c = H2Client(daemon.port(), autoAck=False)
        try:
            streamID = c.request("GET", f"/?size={size}")
            stream = c.streams[streamID]
            assert recorder.blocked.wait(TIMEOUT), "the servlet was never blocked"
            assert stopped.wait(TIMEOUT)
            c.conn.increment_flow_control_window(size, stream_id=streamID)
            c.conn.increment_flow_control_window(size)
            c.flush()
            try:
                c.until(lambda: c.terminated)
            except ConnectionError:
                pass
            return stream, c.terminated
        finally:
            c.close()

    result = inThread(client)
    await within(threads.deferToThread(recorder.blocked.wait, TIMEOUT))
    stopping = within(daemon.stop())
    stopped.set()
    await stopping
    stream, terminated = await result
    assert stream.ended and not stream.reset
    assert bytes(stream.data) == expectedBody(size)
    assert terminated
    assert not daemon.site.connections


# HTTP/1-only corners, degraded gracefully.

@pytest_twisted.ensureDeferred
async def test_send_complete_is_translated(startTLS):
    class Raw(netsvc.HttpServlet):
        def processRequest(self):
            self.sendComplete(
                b"HTTP/1.1 203 Whatever\r\nContent-Type: text/plain\r\n"
                b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"4\r\nraw \r\n4\r\nbody\r\n0\r\n\r\n")

    class Garbage(netsvc.HttpServlet):
        def processRequest(self):
            self.sendComplete(b"not http at all")

    daemon = await startTLS({"/raw": servletServer(Raw), "/garbage": servletServer(Garbage),
                             "/hello": servletServer(Hello)})

    def client():
        with h2Client() as c:
            base = f"https://127.0.0.1:{daemon.port()}"
            return [c.get(base + path) for path in ("/raw", "/garbage", "/hello")]

    raw, garbage, hello = await inThread(client)
    assert raw.http_version == "HTTP/2"
    assert raw.status_code == 203
    assert raw.headers["content-type"] == "text/plain"
    assert raw.content == b"raw body"
    assert garbage.status_code == 500
    assert hello.status_code == 200


@pytest_twisted.ensureDeferred
async def test_failure_mid_body_resets_the_stream(startTLS):
    """
    A servlet failing after content went out: over HTTP/1.1 the connection
    is closed, over HTTP/2 the stream is reset; never a complete-looking
    response.
    """
    destroyed = []

    class HalfWay(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "text/plain")
            self.endHeaders()
            self.sendContent("x" * 10000)
            self.flushContent()

        def processContent(self, content):
            raise RuntimeError("half way")

        def destroyServlet(self):
            destroyed.append(self)

    daemon = await startTLS({"/half": servletServer(HalfWay), "/hello": servletServer(Hello)})

    def client():
        c = H2Client(daemon.port())
        try:
            half = c.streams[c.request("POST", "/half", b"some body")]
            c.until(lambda: half.ended or half.reset)
            return half, c.get("/hello")
        finally:
            c.close()

    half, hello = await inThread(client)
    assert half.reset and not half.ended
    assert hello.ended and hello.headers[":status"] == "200"
    assert len(destroyed) == 1


@pytest_twisted.ensureDeferred
async def test_head_over_h2(startTLS):
    daemon = await startTLS({"/": servletServer(Hello)})
    response = await h2Request(daemon, "HEAD", "/")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert response.content == b""


@pytest_twisted.ensureDeferred
async def test_access_log_over_h2(startTLS, tmp_path):
    path = tmp_path / "access.log"
    daemon = await startTLS({"/": servletServer(Hello)}, accessLog=str(path))
    response = await h2Request(daemon, "GET", "/logged?q=1")
    assert response.http_version == "HTTP/2"
    await within(daemon.stop())
    (line,) = path.read_text().splitlines()
    assert line.startswith("127.0.0.1 - - [")
    assert '"GET /logged?q=1 HTTP/2" 200 ' in line


@pytest_twisted.ensureDeferred
async def test_backlog_over_h2(startTLS):
    """
    Blocks queued on a stream count as pending: BACKLOG at the threshold,
    then BACKLOG(0) once the stream's queue has drained.
    """
    events = []
    done = defer.Deferred()

    class Backlogged(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/octet-stream")
            self.endHeaders()
            self.monitorCongestion(self.congestion)
            for index in range(300):
                self.sendContent(b"%099d\n" % index)
                self.flushContent()

        def congestion(self, status, pending):
            events.append((status, pending))
            if status == netsvc.CONNECTION_BACKLOG and pending == 0:
                self.endContent()
                done.callback(None)

    daemon = await startTLS({"/": servletServer(Backlogged)})

    def client():
        c = H2Client(daemon.port())
        try:
            return c.get("/")
        finally:
            c.close()

    stream = await inThread(client)
    await within(done)
    assert stream.ended
    assert bytes(stream.data) == b"".join(b"%099d\n" % i for i in range(300))
    backlog = [pending for status, pending in events if status == netsvc.CONNECTION_BACKLOG]
    assert backlog == [256, 0]


@pytest_twisted.ensureDeferred
async def test_file_server_over_h2(startTLS, tmp_path):
    content = os.urandom(3 << 20)
    (tmp_path / "big.bin").write_bytes(content)
    daemon = await startTLS({"/files": netsvc.FileServer(str(tmp_path))})

    def client():
        with h2Client() as c:
            url = f"https://127.0.0.1:{daemon.port()}/files/big.bin"
            whole = c.get(url)
            part = c.get(url, headers={"Range": "bytes=1000-1999"})
            again = c.get(url, headers={"If-None-Match": whole.headers["etag"]})
            return whole, part, again

    whole, part, again = await inThread(client)
    assert whole.http_version == "HTTP/2"
    assert whole.status_code == 200
    assert whole.headers["content-length"] == str(len(content))
    assert whole.content == content
    assert part.status_code == 206
    assert part.content == content[1000:2000]
    assert again.status_code == 304


# Request bodies stream as over HTTP/1.1.

@pytest_twisted.ensureDeferred
async def test_body_reaches_the_servlet_before_it_ends(startTLS):
    """
    The servlet answers on the first body chunk while the client still
    holds the rest: the body is not buffered until END_STREAM.  The rest
    is then refused with RST_STREAM(NO_ERROR) after the response.
    """
    destroyed = []

    class Early(netsvc.HttpServlet):
        def processRequest(self):
            pass

        def processContent(self, content):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "text/plain")
            self.endHeaders()
            self.sendContent(b"first chunk: " + content)
            self.endContent()

        def destroyServlet(self):
            destroyed.append(self)

    daemon = await startTLS({"/early": servletServer(Early), "/hello": servletServer(Hello)})

    def client():
        c = H2Client(daemon.port())
        try:
            streamID = c.conn.get_next_available_stream_id()
            stream = c.streams[streamID] = Stream()
            c.conn.send_headers(streamID, [
                (":method", "POST"), (":scheme", "https"), (":authority", "localhost"),
                (":path", "/early"), ("content-length", "100000")])
            c.conn.send_data(streamID, b"hello")
            c.flush()
            c.until(lambda: stream.ended)
            c.until(lambda: stream.reset)
            return stream, c.get("/hello")
        finally:
            c.close()

    stream, hello = await inThread(client)
    assert stream.headers[":status"] == "200"
    assert bytes(stream.data) == b"first chunk: hello"
    assert hello.ended and hello.headers[":status"] == "200"
    assert len(destroyed) == 1


@pytest_twisted.ensureDeferred
async def test_too_large_body_refused_before_it_is_sent(startTLS):
    class Limited(netsvc.HttpServer):
        maxContentLength = 1000

        def servlet(self, session):
            return Echo(session)

    daemon = await startTLS({"/": Limited()})

    def client():
        c = H2Client(daemon.port())
        try:
            streamID = c.conn.get_next_available_stream_id()
            stream = c.streams[streamID] = Stream()
            c.conn.send_headers(streamID, [
                (":method", "POST"), (":scheme", "https"), (":authority", "localhost"),
                (":path", "/"), ("content-length", str(10 << 20))])
            c.flush()
            c.until(lambda: stream.ended)
            return stream
        finally:
            c.close()

    stream = await inThread(client)
    assert stream.headers[":status"] == "413"


@pytest_twisted.ensureDeferred
async def test_get_answered_at_once_is_not_reset(startTLS):
    daemon = await startTLS({"/": servletServer(Hello)})

    def client():
        c = H2Client(daemon.port())
        try:
            first = c.get("/")
            # A second exchange: any RST_STREAM for the first would have
            # arrived before its answer.
            second = c.get("/")
            return first, second
        finally:
            c.close()

    first, second = await inThread(client)
    assert first.ended and second.ended
    assert not first.reset and not second.reset


@pytest_twisted.ensureDeferred
async def test_100_continue_only_when_the_body_is_wanted(startTLS):
    class Limited(netsvc.HttpServer):
        maxContentLength = 1000

        def servlet(self, session):
            return Echo(session)

    daemon = await startTLS({"/limited": Limited(), "/echo": servletServer(Echo)})

    def client():
        c = H2Client(daemon.port())
        try:
            answers = []
            for path, length in (("/limited", 10 << 20), ("/echo", 5)):
                streamID = c.conn.get_next_available_stream_id()
                stream = c.streams[streamID] = Stream()
                c.conn.send_headers(streamID, [
                    (":method", "POST"), (":scheme", "https"),
                    (":authority", "localhost"), (":path", path),
                    ("content-length", str(length)), ("expect", "100-continue")])
                c.flush()
                c.until(lambda s=stream: s.informational or s.ended)
                if not stream.ended:
                    c.conn.send_data(streamID, b"hello", end_stream=True)
                    c.flush()
                    c.until(lambda s=stream: s.ended)
                answers.append(stream)
            return answers
        finally:
            c.close()

    refused, echoed = await inThread(client)
    assert refused.informational == [] and refused.headers[":status"] == "413"
    assert echoed.informational == ["100"] and echoed.headers[":status"] == "200"
    assert bytes(echoed.data).startswith(b"5 ")


@pytest_twisted.ensureDeferred
async def test_idle_h2_connection_times_out(startTLS):
    daemon = await startTLS({"/": servletServer(Hello)}, idleTimeout=0.3)

    def client():
        c = H2Client(daemon.port())
        try:
            assert c.get("/").ended
            try:
                c.until(lambda: c.terminated)
            except ConnectionError:
                pass
            return c.terminated
        finally:
            c.close()

    assert await inThread(client)
    gone = defer.Deferred()

    def check():
        if not daemon.site.connections:
            gone.callback(None)
        else:
            reactor.callLater(0.01, check)

    check()
    await within(gone)
