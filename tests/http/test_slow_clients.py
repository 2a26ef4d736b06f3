"""
E14 end to end: a real slow reader on 127.0.0.1 (small receive buffer,
small reads, starting only once the server saw the connection block)
gets every byte of a 64 MiB streamed response in order.
"""

import hashlib
import runpy
import socket
import threading
from pathlib import Path

import pytest_twisted
from twisted.internet import threads

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon
from support import TIMEOUT, startDaemon, streamDigest

EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent
                             / "examples" / "slow_clients.py"))
SIZE = 64 << 20


def expectedDigest(size):
    return streamDigest(EXAMPLE["part"], size)


def slowRead(port, size, blocked):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
        assert blocked.wait(TIMEOUT), "the server never saw the connection block"
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        digest = hashlib.sha256(body)
        received = len(body)
        while received < size:
            chunk = s.recv(4096)
            assert chunk, f"connection closed after {received} bytes"
            digest.update(chunk)
            received += len(chunk)
        return head, received, digest.hexdigest()


@pytest_twisted.ensureDeferred
async def test_64_mib_to_a_slow_reader(daemons):
    blocked = threading.Event()
    servlets = []

    class Watched(EXAMPLE["SlowClientServlet"]):
        def __init__(self, session):
            super().__init__(session)
            servlets.append(self)

        def congestion(self, status, pending):
            super().congestion(status, pending)
            if status == netsvc.CONNECTION_BLOCKED:
                blocked.set()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Watched(session)

    daemon = await startDaemon({"/": Server()})
    daemons.append(daemon)
    head, received, digest = await threads.deferToThread(
        slowRead, daemon.port(), SIZE, blocked)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert received == SIZE
    assert digest == expectedDigest(SIZE)
    events = servlets[0].events
    assert netsvc.CONNECTION_BLOCKED in events and netsvc.CONNECTION_CLEARED in events
    assert events.index(netsvc.CONNECTION_BLOCKED) < events.index(netsvc.CONNECTION_CLEARED)


def test_example_pauses_while_blocked_in_memory():
    with MemoryDaemon({"/": EXAMPLE["HttpServer"]()}) as daemon:
        connection = daemon.connect()
        connection.send(b"GET /?size=1000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        daemon.clock.advance(0.02)
        connection.block()
        daemon.clock.advance(0.02)
        sentWhileBlocked = len(connection.transport.value())
        for _ in range(10):
            daemon.clock.advance(0.02)
        assert len(connection.transport.value()) == sentWhileBlocked
        connection.unblock()
        for _ in range(200):
            daemon.clock.advance(0.02)
        (reply,) = connection.replies()
        assert len(reply.body) == 1000000
