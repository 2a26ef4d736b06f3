"""FileServlet's os.sendfile() path on plain TCP, over real sockets: the
bytes, ranges, HEAD and 304 that send nothing, congestion with a reader
that stops, a file cut short while it is sent, and TLS and HTTP/2, which
keep the read and write path."""

import email.parser
import hashlib
import os
import socket
import ssl
import threading

import httpx
import pytest
import pytest_twisted
from twisted.internet import threads

import netsvc_twisted as netsvc
from netsvc_twisted._files._servlet import BLOCK_SIZE, FileServlet

from support import TIMEOUT, TLSDaemon, failuresIn, fetch, startDaemon

SIZE = 3 << 20


class OneFile(netsvc.HttpServer):
    def __init__(self, path, servlet=FileServlet):
        self.path = path
        self.servletClass = servlet

    def servlet(self, session):
        return self.servletClass(session, str(self.path), "application/x-data")


@pytest.fixture
def sendfiles(monkeypatch):
    """Every os.sendfile() call: (offset, count, bytes sent)."""
    calls = []
    real = os.sendfile

    def counting(out, fd, offset, count):
        try:
            sent = real(out, fd, offset, count)
        except BlockingIOError:
            calls.append((offset, count, 0))
            raise
        calls.append((offset, count, sent))
        return sent

    monkeypatch.setattr(os, "sendfile", counting)
    return calls


@pytest.fixture
def bigfile(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def sentRanges(calls):
    """The byte ranges os.sendfile() delivered, merged."""
    ranges = []
    for offset, _, sent in calls:
        if ranges and ranges[-1][1] == offset:
            ranges[-1][1] += sent
        elif sent:
            ranges.append([offset, offset + sent])
    return [tuple(r) for r in ranges]


async def serve(daemons, server, **kwargs):
    daemon = await startDaemon({"/": server}, **kwargs)
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_whole_file_goes_by_sendfile(daemons, bigfile, sendfiles):
    port = await serve(daemons, OneFile(bigfile))
    reply = await fetch(port)
    assert reply.status == 200 and reply.body == bigfile.read_bytes()
    assert sentRanges(sendfiles) == [(0, SIZE)]


@pytest_twisted.ensureDeferred
async def test_a_short_tail_still_goes_by_sendfile(daemons, tmp_path, sendfiles):
    """A range begun by sendfile() ends by it, even when what is left
    after a slice is smaller than the read path's block."""
    from netsvc_twisted._files._servlet import SENDFILE_SLICE

    path = tmp_path / "tail.bin"
    path.write_bytes(os.urandom(SENDFILE_SLICE + 1000))
    port = await serve(daemons, OneFile(path))
    reply = await fetch(port)
    assert reply.body == path.read_bytes()
    assert sentRanges(sendfiles) == [(0, SENDFILE_SLICE + 1000)]


@pytest_twisted.ensureDeferred
async def test_single_and_multiple_ranges(daemons, bigfile, sendfiles):
    data = bigfile.read_bytes()
    port = await serve(daemons, OneFile(bigfile))
    reply = await fetch(port, headers={"Range": "bytes=100000-2999999"})
    assert reply.status == 206 and reply.body == data[100000:3000000]
    assert sentRanges(sendfiles) == [(100000, 3000000)]
    del sendfiles[:]
    reply = await fetch(port, headers={"Range": "bytes=10-20,200000-899999,-300000"})
    assert reply.status == 206
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + reply.headers["content-type"].encode() + b"\r\n\r\n"
        + reply.body)
    parts = [(p["Content-Range"], p.get_payload(decode=True)) for p in message.get_payload()]
    assert parts == [
        ("bytes 10-20/%d" % SIZE, data[10:21]),
        ("bytes 200000-899999/%d" % SIZE, data[200000:900000]),
        ("bytes %d-%d/%d" % (SIZE - 300000, SIZE - 1, SIZE), data[-300000:]),
    ]
    assert int(reply.headers["content-length"]) == len(reply.body)
    # The small range is read and written; the big ones go by sendfile.
    assert sentRanges(sendfiles) == [(200000, 900000), (SIZE - 300000, SIZE)]


@pytest_twisted.ensureDeferred
async def test_head_not_modified_and_small_files_send_nothing(
        daemons, bigfile, sendfiles, tmp_path):
    port = await serve(daemons, OneFile(bigfile))
    reply = await fetch(port, "HEAD")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.headers["content-length"] == str(SIZE)
    reply = await fetch(port, headers={"If-None-Match": reply.headers["etag"]})
    assert (reply.status, reply.body) == (304, b"")
    small = tmp_path / "small.bin"
    small.write_bytes(b"s" * BLOCK_SIZE)
    port = await serve(daemons, OneFile(small))
    reply = await fetch(port)
    assert reply.body == b"s" * BLOCK_SIZE
    assert sendfiles == []


@pytest_twisted.ensureDeferred
async def test_reader_that_stops_blocks_then_clears(daemons, tmp_path, sendfiles):
    """A full socket makes sendfile() fall short: BLOCKED, and CLEARED
    once the client reads, the file complete, never read into memory."""
    size = 32 << 20
    path = tmp_path / "large.bin"
    path.write_bytes(os.urandom(1 << 20) * 32)
    blocked = threading.Event()
    seen = []

    class Watching(FileServlet):
        def _congestion(self, status, pending):
            seen.append((status, self._offset))
            super()._congestion(status, pending)
            if status == netsvc.CONNECTION_BLOCKED:
                blocked.set()

        def _writeBlock(self):
            assert self._file.tell() == 0  # nothing read through Python
            super()._writeBlock()

    port = await serve(daemons, OneFile(path, Watching))

    def client():
        digest = hashlib.sha256()
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert blocked.wait(TIMEOUT)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            total = len(data.partition(b"\r\n\r\n")[2])
            digest.update(data.partition(b"\r\n\r\n")[2])
            while chunk := s.recv(1 << 16):
                total += len(chunk)
                digest.update(chunk)
        return total, digest.hexdigest()

    total, digest = await threads.deferToThread(client)
    assert total == size
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    statuses = [status for status, _ in seen if status != netsvc.CONNECTION_BACKLOG]
    assert statuses[:2] == [netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED]
    assert seen[0][1] < size // 2
    assert sentRanges(sendfiles) == [(0, size)]
    assert any(sent < count for _, count, sent in sendfiles)


@pytest_twisted.ensureDeferred
async def test_file_truncated_while_sent_aborts(daemons, tmp_path, sendfiles, logEvents):
    path = tmp_path / "large.bin"
    path.write_bytes(b"t" * (32 << 20))
    blocked = threading.Event()

    class Watching(FileServlet):
        def _congestion(self, status, pending):
            super()._congestion(status, pending)
            if status == netsvc.CONNECTION_BLOCKED:
                blocked.set()

    port = await serve(daemons, OneFile(path, Watching))

    def client():
        received = 0
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert blocked.wait(TIMEOUT)
            os.truncate(path, 0)
            try:
                while chunk := s.recv(1 << 16):
                    received += len(chunk)
            except ConnectionResetError:
                pass
        return received

    received = await threads.deferToThread(client)
    assert received < 32 << 20
    assert any("shrank while being sent" in f.getErrorMessage()
               for f in failuresIn(logEvents))
    # The daemon goes on.
    assert (await fetch(port, "HEAD")).status == 200


@pytest_twisted.ensureDeferred
async def test_tls_and_http2_use_the_read_path(daemons, bigfile, sendfiles, tmp_path):
    data = bigfile.read_bytes()
    daemon = TLSDaemon()
    daemon.attach("/", OneFile(bigfile))
    await daemon.start()
    daemons.append(daemon)
    port = daemon.port()

    def http1():
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
            with context.wrap_socket(raw) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                chunks = []
                while chunk := s.recv(1 << 16):
                    chunks.append(chunk)
        return b"".join(chunks).partition(b"\r\n\r\n")[2]

    def http2():
        with httpx.Client(http2=True, verify=False, timeout=TIMEOUT) as client:
            reply = client.get("https://127.0.0.1:%d/" % port)
            return reply.http_version, reply.content

    assert await threads.deferToThread(http1) == data
    assert await threads.deferToThread(http2) == ("HTTP/2", data)
    assert sendfiles == []
