"""
The response write path over real sockets: what the kernel leaves of a
multi-piece send, a blocked backlog sent in large pieces, TLS records
written in large slices straight to the socket, and HTTP/2 DATA frames
batched per reactor turn.
"""

import http.client
import os
import runpy
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import pytest_twisted
from OpenSSL import SSL
from twisted.internet import defer, threads

import netsvc_twisted as netsvc
from netsvc_twisted._http._tls import TLS_WRITE, ServletTLSTransport

from support import TIMEOUT, TLSDaemon, startDaemon
from test_tcp_send import slowGet

EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent
                             / "examples" / "slow_clients.py"))
SIZE = 8 << 20


def expected(size):
    part, length = EXAMPLE["part"], EXAMPLE["PART"]
    return b"".join(part(i) for i in range((size + length - 1) // length))[:size]


@pytest.fixture
def tlsWrites(monkeypatch):
    """The sizes of the records read back from pyOpenSSL's memory BIO."""
    sizes = []
    real = SSL.Connection.bio_read

    def counting(self, bufsiz):
        data = real(self, bufsiz)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(SSL.Connection, "bio_read", counting)
    return sizes


def inLargeWrites(sizes):
    """Bytes that went to the socket in writes of more than 64 KiB."""
    return sum(size for size in sizes if size > 1 << 16)


async def tlsDaemon(daemons, tmp_path):
    daemon = await startDaemon({"/": EXAMPLE["HttpServer"]()})
    daemons.append(daemon)
    secure = TLSDaemon()
    secure.attach("/", EXAMPLE["HttpServer"]())
    await secure.start()
    daemons.append(secure)
    assert secure._listening.factory.protocol is ServletTLSTransport
    # A plain port keeps its factory.
    assert not hasattr(daemon._listening.factory, "wrappedFactory")
    return secure.port()


@pytest_twisted.ensureDeferred
async def test_tls_writes_large_slices(daemons, tmp_path, tlsWrites):
    port = await tlsDaemon(daemons, tmp_path)

    def client():
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
            with context.wrap_socket(raw) as s:
                s.sendall(b"GET /?size=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          % SIZE)
                chunks = []
                while chunk := s.recv(1 << 16):
                    chunks.append(chunk)
        return b"".join(chunks).partition(b"\r\n\r\n")[2]

    assert await threads.deferToThread(client) == expected(SIZE)
    # Twisted's own transport reads back every 16 KiB record on its own.
    assert max(tlsWrites) > TLS_WRITE
    assert inLargeWrites(tlsWrites) >= 0.9 * SIZE


@pytest_twisted.ensureDeferred
async def test_http2_frames_batched_per_turn(daemons, tmp_path, tlsWrites):
    port = await tlsDaemon(daemons, tmp_path)

    def client():
        with httpx.Client(http2=True, verify=False, timeout=TIMEOUT) as http2:
            reply = http2.get("https://127.0.0.1:%d/?size=%d" % (port, SIZE))
            return reply.http_version, reply.content

    assert await threads.deferToThread(client) == ("HTTP/2", expected(SIZE))
    # Twisted's loop writes one 16 KiB DATA frame per reactor turn.
    assert inLargeWrites(tlsWrites) >= 0.9 * SIZE


class Chunked(netsvc.HttpServlet):
    """One 4 MiB block, chunked: three pieces in one sendmsg()."""

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent(b"a" * 1000)
        self.flushContent()
        self.sendContent(os.urandom(1) * (4 << 20))
        self.endContent()


@pytest_twisted.ensureDeferred
async def test_what_the_kernel_leaves_of_several_pieces_follows_in_order(daemons):
    server = netsvc.HttpServer()
    server.servlet = Chunked
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", daemon.port(), timeout=TIMEOUT)
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.getheader("transfer-encoding"), body

    encoding, body = await threads.deferToThread(client)
    assert encoding == "chunked"
    assert body[:1000] == b"a" * 1000
    assert len(body) == 1000 + (4 << 20) and len(set(body[1000:])) == 1


@pytest.fixture
def backlogSends(monkeypatch):
    """What each writable event of a TCP transport's backlog sent."""
    from netsvc_twisted._http import _tcpsend

    sizes = []
    real = _tcpsend.writeBuffered

    def held(transport):
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    def counting(transport):
        before = held(transport)
        result = real(transport)
        sizes.append(before - held(transport))
        return result

    monkeypatch.setattr(_tcpsend, "writeBuffered", counting)
    return sizes


class Backlog(netsvc.HttpServlet):
    """4 MiB in one block through a 2 MiB socket buffer: Twisted holds the rest."""

    def processRequest(self):
        self._response.request.channel.transport.socket.setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)  # the kernel doubles it
        self.sendResponse(200)
        self.sendHeader("Content-Length", str(len(BACKLOG)))
        self.endHeaders()
        self.sendContent(BACKLOG)
        self.endContent()


BACKLOG = os.urandom(1 << 16) * 64


@pytest_twisted.ensureDeferred
async def test_a_blocked_backlog_goes_out_in_sends_larger_than_twisteds(
        daemons, backlogSends):
    """
    Twisted sends its buffer 128 KiB per writable event, so a response
    that blocked with more queued waited a reactor turn for each 128 KiB.
    A servlet's TCP connection lets one send() take what the kernel will:
    it wakes the writer with a third of its buffer or more free.
    """
    server = netsvc.HttpServer()
    server.servlet = Backlog
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)

    # A small window: the 4 MiB cannot all pass at the first send().
    reply = await threads.deferToThread(slowGet, daemon.port())
    assert reply.partition(b"\r\n\r\n")[2] == BACKLOG
    assert backlogSends, "the response never blocked"
    assert max(backlogSends) > 128 << 10


class TakingSocket:
    """
    A server socket whose send() and sendmsg() take everything: a reader
    that always keeps up.  It records the pieces of each call.
    """

    def __init__(self, real):
        self._real, self.calls = real, []

    def send(self, data, *flags):
        self.calls.append([bytes(data)])
        return len(data)

    def sendmsg(self, pieces, *args):
        pieces = [bytes(piece) for piece in pieces]
        self.calls.append(pieces)
        return sum(map(len, pieces))

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest_twisted.ensureDeferred
async def test_parts_written_in_one_drain_leave_together(daemons):
    """
    E14 writes a 128 KiB part per job and a drain runs several: to a
    reader that keeps up they go to the socket two to a sendmsg(), in
    order.
    """
    sockets, done = [], defer.Deferred()

    class Counted(EXAMPLE["SlowClientServlet"]):
        def processRequest(self):
            transport = self._response.request.channel.transport
            transport.socket = TakingSocket(transport.socket)
            sockets.append(transport.socket)
            super().processRequest()

        def destroyServlet(self):
            super().destroyServlet()
            done.callback(None)

    server = netsvc.HttpServer()
    server.servlet = Counted
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)
    size = 4 << 20
    with socket.create_connection(("127.0.0.1", daemon.port()), timeout=TIMEOUT) as s:
        s.sendall(b"GET /?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
        await done
    [taking] = sockets
    sent = b"".join(b"".join(pieces) for pieces in taking.calls)
    assert sent.partition(b"\r\n\r\n")[2] == expected(size)
    parts = size // EXAMPLE["PART"]
    assert len(taking.calls) <= parts // 2 + 2  # the head, then two parts a call


@pytest_twisted.ensureDeferred
async def test_held_parts_arrive_whole_and_in_order(daemons, tmp_path):
    """
    To curl writing a file, which falls behind now and then (each block
    makes the next 32 parts go one by one), the body arrives whole and in
    order across held, joined and buffered writes.
    """
    daemon = await startDaemon({"/": EXAMPLE["HttpServer"]()})
    daemons.append(daemon)
    size, body = 32 << 20, tmp_path / "body"
    url = "http://127.0.0.1:%d/?size=%d" % (daemon.port(), size)
    await threads.deferToThread(
        subprocess.run, ["curl", "-sf", "-o", str(body), url], check=True, timeout=TIMEOUT)
    assert body.read_bytes() == expected(size)


class Trickle(netsvc.HttpServlet):
    """A job writes a few bytes and the response stays open."""

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Length", "10")
        self.endHeaders()
        self.flushContent()
        netsvc.Job(self.first).schedule()

    def first(self):
        self.sendContent(b"hello")
        self.flushContent()
        Trickle.waiting.append(self)

    waiting = []


@pytest_twisted.ensureDeferred
async def test_a_part_held_in_a_drain_leaves_before_the_reactor_waits(daemons):
    """A small part is not held past its drain, whatever follows it."""
    Trickle.waiting[:] = []
    server = netsvc.HttpServer()
    server.servlet = Trickle
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)

    def client():
        with socket.create_connection(("127.0.0.1", daemon.port()), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b"hello"):
                chunk = s.recv(100)
                assert chunk, "closed early"
                data += chunk
            return data

    data = await threads.deferToThread(client)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nhello")
    [servlet] = Trickle.waiting
    servlet.sendContent(b"world")
    servlet.endContent()
