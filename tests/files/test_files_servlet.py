"""FileServlet over real sockets: validators, conditional GET, ranges
checked against the file's bytes, HEAD, methods, large files."""

import email.parser
import hashlib
import os
import socket
import threading

import pytest
import pytest_twisted
from twisted.internet import threads

import netsvc_twisted as netsvc
from netsvc_twisted._files._servlet import FileServlet
from netsvc_twisted._files._ranges import formatHttpDate

from support import TIMEOUT, fetch, fetchSequence, startDaemon

DATA = bytes((i * 7 + i // 256) % 256 for i in range(100_000))
MTIME = 1_600_000_000


class OneFile(netsvc.HttpServer):
    def __init__(self, path, fileType="application/x-data"):
        self.path = path
        self.fileType = fileType

    def servlet(self, session):
        return FileServlet(session, self.path, self.fileType)


@pytest.fixture
def datafile(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    os.utime(path, (MTIME, MTIME))
    return path


async def serve(daemons, server):
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_full_get_headers(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    reply = await fetch(port, path="/")
    assert reply.status == 200
    assert reply.body == DATA
    assert reply.headers["content-length"] == str(len(DATA))
    assert reply.headers["content-type"] == "application/x-data"
    assert reply.headers["last-modified"] == formatHttpDate(MTIME)
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["etag"].startswith('"')


@pytest_twisted.ensureDeferred
async def test_no_type(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile), None))
    reply = await fetch(port, path="/")
    assert reply.status == 200 and "content-type" not in reply.headers


@pytest_twisted.ensureDeferred
async def test_head(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    reply = await fetch(port, "HEAD", "/")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["content-length"] == str(len(DATA))


@pytest_twisted.ensureDeferred
async def test_other_methods_405(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    reply = await fetch(port, "POST", "/", body=b"x")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"


@pytest_twisted.ensureDeferred
async def test_missing_and_directory(daemons, tmp_path):
    port = await serve(daemons, OneFile(str(tmp_path / "nothing")))
    assert (await fetch(port, path="/")).status == 404
    port = await serve(daemons, OneFile(str(tmp_path)))
    assert (await fetch(port, path="/")).status == 403


@pytest_twisted.ensureDeferred
async def test_empty_file(daemons, tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    port = await serve(daemons, OneFile(str(path)))
    reply = await fetch(port, path="/")
    assert (reply.status, reply.body, reply.headers["content-length"]) == \
        (200, b"", "0")


@pytest_twisted.ensureDeferred
async def test_conditional_get(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    etag = (await fetch(port, path="/")).headers["etag"]
    reply = await fetch(port, path="/", headers={"If-None-Match": etag})
    assert (reply.status, reply.body) == (304, b"")
    assert reply.headers["etag"] == etag
    reply = await fetch(port, path="/",
                        headers={"If-Modified-Since": formatHttpDate(MTIME)})
    assert reply.status == 304
    reply = await fetch(port, path="/", headers={
        "If-Modified-Since": formatHttpDate(MTIME - 10)})
    assert reply.status == 200 and reply.body == DATA
    reply = await fetch(port, path="/", headers={"If-None-Match": '"stale"'})
    assert reply.status == 200
    reply = await fetch(port, path="/", headers={"If-Match": '"stale"'})
    assert reply.status == 412
    # Touching the file changes the validator.
    os.utime(datafile, (MTIME + 100, MTIME + 100))
    reply = await fetch(port, path="/", headers={"If-None-Match": etag})
    assert reply.status == 200


@pytest_twisted.ensureDeferred
async def test_conditional_then_keepalive(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    etag = (await fetch(port, path="/")).headers["etag"]
    replies = await fetchSequence(port, [
        ("GET", "/", None, {"If-None-Match": etag}),
        ("GET", "/", None, {"Range": "bytes=0-9"}),
        ("HEAD", "/", None, {}),
        ("GET", "/", None, {}),
    ])
    assert [r.status for r in replies[:-1]] == [304, 206, 200, 200]
    assert replies[1].body == DATA[:10]
    assert replies[3].body == DATA
    assert replies[-1] is True


@pytest.mark.parametrize("header,first,last", [
    ("bytes=0-0", 0, 0),
    ("bytes=0-99", 0, 99),
    ("bytes=99990-", 99990, 99999),
    ("bytes=-5", 99995, 99999),
    ("bytes=5000-200000", 5000, 99999),
    ("bytes=12345-67890", 12345, 67890),
])
@pytest_twisted.ensureDeferred
async def test_single_range(daemons, datafile, header, first, last):
    port = await serve(daemons, OneFile(str(datafile)))
    reply = await fetch(port, path="/", headers={"Range": header})
    assert reply.status == 206
    assert reply.body == DATA[first:last + 1]
    assert reply.headers["content-range"] == \
        "bytes %d-%d/%d" % (first, last, len(DATA))
    assert reply.headers["content-length"] == str(last - first + 1)


def parseByteranges(reply):
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + reply.headers["content-type"].encode()
        + b"\r\n\r\n" + reply.body)
    assert message.is_multipart()
    parts = []
    for part in message.get_payload():
        parts.append((part["Content-Range"], part["Content-Type"],
                      part.get_payload(decode=True)))
    return parts


@pytest_twisted.ensureDeferred
async def test_multiple_ranges(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    reply = await fetch(port, path="/",
                        headers={"Range": "bytes=0-9,50000-50099,-7"})
    assert reply.status == 206
    assert reply.headers["content-type"].startswith(
        "multipart/byteranges; boundary=")
    assert int(reply.headers["content-length"]) == len(reply.body)
    parts = parseByteranges(reply)
    assert parts == [
        ("bytes 0-9/100000", "application/x-data", DATA[0:10]),
        ("bytes 50000-50099/100000", "application/x-data", DATA[50000:50100]),
        ("bytes 99993-99999/100000", "application/x-data", DATA[99993:]),
    ]


@pytest_twisted.ensureDeferred
async def test_unsatisfiable_and_ignored_ranges(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    reply = await fetch(port, path="/", headers={"Range": "bytes=100000-"})
    assert reply.status == 416
    assert reply.headers["content-range"] == "bytes */100000"
    reply = await fetch(port, path="/", headers={"Range": "bytes=9-1"})
    assert (reply.status, reply.body) == (200, DATA)
    reply = await fetch(port, path="/", headers={"Range": "lines=1-2"})
    assert reply.status == 200


@pytest_twisted.ensureDeferred
async def test_if_range(daemons, datafile):
    port = await serve(daemons, OneFile(str(datafile)))
    etag = (await fetch(port, path="/")).headers["etag"]
    reply = await fetch(port, path="/",
                        headers={"Range": "bytes=10-19", "If-Range": etag})
    assert (reply.status, reply.body) == (206, DATA[10:20])
    reply = await fetch(port, path="/", headers={
        "Range": "bytes=10-19", "If-Range": formatHttpDate(MTIME)})
    assert reply.status == 206
    reply = await fetch(port, path="/",
                        headers={"Range": "bytes=10-19", "If-Range": '"old"'})
    assert (reply.status, reply.body) == (200, DATA)


@pytest_twisted.ensureDeferred
async def test_large_file_streams(daemons, tmp_path):
    path = tmp_path / "large.bin"
    block = os.urandom(1 << 16)
    with open(path, "wb") as handle:
        for _ in range(96):  # 6 MiB
            handle.write(block)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    port = await serve(daemons, OneFile(str(path)))
    reply = await fetch(port, path="/")
    assert reply.status == 200
    assert hashlib.sha256(reply.body).hexdigest() == expected


@pytest_twisted.ensureDeferred
async def test_client_disconnect_midway(daemons, tmp_path):
    path = tmp_path / "large.bin"
    path.write_bytes(b"z" * (8 << 20))
    destroyed = []

    class Tracking(FileServlet):
        def destroyServlet(self):
            destroyed.append(True)
            super().destroyServlet()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Tracking(session, str(path))

    port = await serve(daemons, Server())

    def hangUp():
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return s.recv(1000)

    head = await threads.deferToThread(hangUp)
    assert head.startswith(b"HTTP/1.1 200")
    # A later request on a new connection completes: the reactor went on.
    reply = await fetch(port, "HEAD", "/")
    assert reply.status == 200


@pytest_twisted.ensureDeferred
async def test_blocked_client_pauses_reading(daemons, tmp_path):
    """A client that does not read makes the servlet pause (bounded
    memory), and the file completes once it reads again."""
    size = 32 << 20
    path = tmp_path / "large.bin"
    with open(path, "wb") as handle:
        handle.truncate(size)
    blocked = threading.Event()
    seen = []

    class Watching(FileServlet):
        def _congestion(self, status, pending):
            seen.append((status, self._file.tell()))
            super()._congestion(status, pending)
            if status == netsvc.CONNECTION_BLOCKED:
                blocked.set()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Watching(session, str(path))

    port = await serve(daemons, Server())

    def client():
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert blocked.wait(TIMEOUT)
            total = 0
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                total += len(chunk)
            return total

    total = await threads.deferToThread(client)
    assert total > size
    statuses = [status for status, _ in seen
                if status != netsvc.CONNECTION_BACKLOG]
    assert statuses[:2] == [netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED]
    # When the connection first blocked, most of the file was still unread.
    assert seen[0][1] < size // 2


def test_in_memory_the_file_streams_on_the_daemons_clock(tmp_path):
    """Under netsvc_twisted.testing the pump runs on the test's clock, a
    block per turn: a blocked client stops it (after at most the block of
    the turn that was already due) until it reads again."""
    from netsvc_twisted._files._servlet import BLOCK_SIZE
    from netsvc_twisted.testing import MemoryDaemon

    data = DATA * 10
    path = tmp_path / "large.bin"
    path.write_bytes(data)
    daemon = MemoryDaemon({"/": OneFile(str(path))})
    connection = daemon.connect()
    connection.request("GET", "/")
    head = len(connection.transport.value()) - BLOCK_SIZE
    connection.block()
    daemon.settle()
    assert len(connection.transport.value()) <= head + 2 * BLOCK_SIZE
    assert connection.replies() == []
    connection.unblock()
    assert daemon.settle() >= (len(data) // BLOCK_SIZE) - 2
    [reply] = connection.replies()
    assert reply.status == 200 and reply.body == data
