"""
What WSGI hosting holds in memory, over 127.0.0.1: request bodies in
memory up to WsgiServlet.spoolThreshold and within the process's body
budget, on disk beyond; 503 with Retry-After for a body while that
budget is spent; and a wsgi.file_wrapper response to a client that stops
reading reads the file no faster than the client takes it.
"""

import json
import socket
import threading
import time

import pytest_twisted
from twisted.internet import threads

from netsvc_twisted._constants import CONNECTION_BLOCKED
from netsvc_twisted._hosting._wsgi import WsgiServer, WsgiServlet
from netsvc_twisted._http._budget import bodyMemory
from support import fetch, startDaemon

MiB = 1024 * 1024


def bodyApp(environ, start_response):
    body = environ["wsgi.input"]
    data = body.read()
    out = json.dumps({"size": len(data), "onDisk": body._wrapped._rolled,
                      "held": bodyMemory.used}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]


async def serve(daemons, app):
    daemon = await startDaemon({"/": WsgiServer(app)})
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_bodies_spool_past_the_threshold_or_the_budget(daemons, budget, monkeypatch):
    monkeypatch.setattr(WsgiServlet, "spoolThreshold", 10)
    port = await serve(daemons, bodyApp)
    reply = json.loads((await fetch(port, "POST", "/", b"x" * 10)).body)
    assert reply == {"size": 10, "onDisk": False, "held": 10}
    reply = json.loads((await fetch(port, "POST", "/", b"x" * 11)).body)
    assert reply == {"size": 11, "onDisk": True, "held": 0}
    budget.limit = 5
    reply = json.loads((await fetch(port, "POST", "/", b"x" * 6)).body)
    assert reply == {"size": 6, "onDisk": True, "held": 0}


@pytest_twisted.ensureDeferred
async def test_503_while_the_budget_is_spent(daemons, budget):
    port = await serve(daemons, bodyApp)
    budget.limit = 0
    reply = await fetch(port, "POST", "/", b"x")
    assert reply.status == 503 and reply.headers["retry-after"] == "1"
    reply = await fetch(port, "GET", "/")
    assert reply.status == 200
    assert budget.refused >= 1


class Zeros:
    """A file of `size` zero bytes that counts what was read of it."""

    def __init__(self, size):
        self.left = size
        self.read_bytes = 0
        self.closed = False

    def read(self, size):
        size = min(size, self.left)
        self.left -= size
        self.read_bytes += size
        return b"\0" * size

    def close(self):
        self.closed = True


def _slowClient(port, size, zeros, blocked):
    """Read the head, stop until the server is blocked and the file no
    longer read, then read it all; what had been read at that point."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.settimeout(20)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        received = len(data.partition(b"\r\n\r\n")[2])
        assert blocked.wait(20), "the response never blocked"
        deadline = time.monotonic() + 20
        last = -1
        while zeros.read_bytes != last:  # the reading thread parks
            assert time.monotonic() < deadline, "the file kept being read"
            last = zeros.read_bytes
            time.sleep(0.2)
        readWhileStopped = zeros.read_bytes
        while True:
            chunk = s.recv(MiB)
            if not chunk:
                break
            received += len(chunk)
        return readWhileStopped, received


@pytest_twisted.ensureDeferred
async def test_file_wrapper_streams_at_the_clients_pace(daemons, monkeypatch):
    size = 64 * MiB
    zeros = Zeros(size)
    blocked = threading.Event()
    original = WsgiServlet._congestion

    def congestion(self, status, pending):
        if status == CONNECTION_BLOCKED:
            blocked.set()
        original(self, status, pending)

    monkeypatch.setattr(WsgiServlet, "_congestion", congestion)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](zeros, 8192)

    port = await serve(daemons, app)
    readWhileStopped, received = await threads.deferToThread(
        _slowClient, port, size, zeros, blocked)
    # Socket buffers and a few blocks, not the file.
    assert readWhileStopped < 16 * MiB, readWhileStopped
    assert received == size and zeros.closed
