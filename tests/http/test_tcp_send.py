"""
The plain TCP write path of a servlet channel (_http/_tcpsend.py): what
the kernel leaves is kept uncopied and sent later in one sendmsg(), in
order, ending as Twisted's own doWrite() ends.
"""

import errno
import socket
from pathlib import Path

import pytest
import pytest_twisted
from support import TIMEOUT, startDaemon
from twisted.internet import defer, threads
from twisted.internet.main import CONNECTION_LOST

import netsvc_twisted as netsvc
from netsvc_twisted._http import _tcpsend


def slowGet(port, path="/", window=1 << 16):
    """GET C{path} through a small receive window; the whole reply, once closed."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        chunks = []
        while chunk := s.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


class Kernel:
    """A socket that takes what it is told to, piece by piece, and keeps it."""

    def __init__(self, takes=(), error=None):
        self.takes, self.error, self.got, self.calls = list(takes), error, b"", []
        self.options = []

    def _take(self, pieces):
        if self.error is not None:
            raise OSError(self.error, "test")
        data = b"".join(bytes(piece) for piece in pieces)
        count = min(len(data), self.takes.pop(0)) if self.takes else len(data)
        self.got += data[:count]
        self.calls.append(len(pieces))
        return count

    def send(self, data):
        return self._take([data])

    def setsockopt(self, *option):
        self.options.append(option)

    def sendmsg(self, pieces):
        return self._take(pieces)


class Producer:
    resumed = 0

    def resumeProducing(self):
        self.resumed += 1


class Transport:
    """What writeBuffered() reads and calls of Twisted's tcp.Server."""

    def __init__(self, kernel, data=b"", offset=0, later=()):
        self.socket, self.dataBuffer, self.offset = kernel, data, offset
        self._tempDataBuffer = list(later)
        self._tempDataLen = sum(map(len, later))
        self.producer, self.streamingProducer, self.producerPaused = None, True, False
        self.disconnecting = self._writeDisconnecting = self._writeDisconnected = False
        self.writing, self.ended = True, []

    def stopWriting(self):
        self.writing = False

    def _postLoseConnection(self):
        self.ended.append("lost")
        return "closed"

    def _closeWriteConnection(self):
        self.ended.append("half")

    def held(self):
        return bytes(self.dataBuffer)[self.offset:] + b"".join(self._tempDataBuffer)


def test_the_rest_of_a_block_and_later_blocks_leave_in_one_sendmsg():
    kernel = Kernel()
    transport = Transport(kernel, b"abcdef", 2, [b"gh", b"ij"])
    assert _tcpsend.writeBuffered(transport) is None
    assert kernel.got == b"cdefghij" and kernel.calls == [3]
    assert (transport.dataBuffer, transport.offset, transport._tempDataBuffer,
            transport._tempDataLen, transport.writing) == (b"", 0, [], 0, False)


@pytest.mark.parametrize("take", range(11))
def test_what_the_kernel_leaves_stays_in_order_uncopied(take):
    block, later = b"0123456789", [b"ab", b"", b"cdefg", b"h"]
    kernel = Kernel([take, 100])
    transport = Transport(kernel, block, 3, later)
    pieces = list(transport._tempDataBuffer)
    _tcpsend.writeBuffered(transport)
    rest = transport.held()
    assert kernel.got + rest == b"3456789abcdefgh"
    assert transport._tempDataLen == sum(map(len, transport._tempDataBuffer))
    # The current block is one of the blocks written, never a copy.
    assert any(transport.dataBuffer is piece for piece in [block, *pieces])
    assert transport.writing
    _tcpsend.writeBuffered(transport)
    assert kernel.got == b"3456789abcdefgh" and not transport.writing


def test_a_sendmsg_offers_at_most_SEND_PIECES_blocks():
    later = [bytes([i]) * 3 for i in range(_tcpsend.SEND_PIECES + 10)]
    kernel = Kernel()
    transport = Transport(kernel, later=later)
    _tcpsend.writeBuffered(transport)
    assert kernel.calls == [_tcpsend.SEND_PIECES]
    assert transport.writing and transport._tempDataLen == 9 * 3
    _tcpsend.writeBuffered(transport)
    assert kernel.got == b"".join(later) and not transport.writing


def test_a_single_block_goes_in_sends_of_SEND_LIMIT():
    block = b"x" * (_tcpsend.SEND_LIMIT + 5)
    kernel = Kernel()
    transport = Transport(kernel, block)
    _tcpsend.writeBuffered(transport)
    assert len(kernel.got) == _tcpsend.SEND_LIMIT and transport.dataBuffer is block
    _tcpsend.writeBuffered(transport)
    assert kernel.got == block and not transport.writing


def test_would_block_keeps_everything():
    transport = Transport(Kernel(error=errno.EAGAIN), b"abc", 1, [b"d"])
    assert _tcpsend.writeBuffered(transport) is None
    assert transport.held() == b"bcd" and transport.writing


def test_a_socket_error_loses_the_connection():
    transport = Transport(Kernel(error=errno.ECONNRESET), b"abc")
    assert _tcpsend.writeBuffered(transport) is CONNECTION_LOST


class Blocking(Producer):
    """On resuming, does what a streaming servlet does: ``then(transport)``."""

    def __init__(self, transport, then):
        self.transport, self.then = transport, then

    def resumeProducing(self):
        Producer.resumeProducing(self)
        self.then(self.transport)


def _pausedAgain(transport):
    transport.producerPaused = True


def _holding(transport):
    transport._tempDataBuffer.append(b"more")
    transport._tempDataLen += 4


def _closing(transport):
    transport.disconnecting = True


@pytest.mark.parametrize("then, writing", [
    (lambda transport: None, False),
    (_pausedAgain, True),
    (_holding, True),
    (_closing, True),
])
def test_once_drained_it_resumes_a_paused_producer(then, writing):
    """
    The producer resumes before the transport stops waiting for
    writability: it stops only if what the producer did need not wait
    (no epoll_ctl() pair per block/clear cycle).
    """
    transport = Transport(Kernel(), b"abc")
    transport.producer, transport.producerPaused = Blocking(transport, then), True
    assert _tcpsend.writeBuffered(transport) is None
    assert transport.producer.resumed == 1 and transport.writing == writing


def test_a_close_asked_for_on_resuming_happens_at_the_next_writable_event():
    transport = Transport(Kernel(), b"abc")
    transport.producer, transport.producerPaused = Blocking(transport, _closing), True
    _tcpsend.writeBuffered(transport)
    assert _tcpsend.writeBuffered(transport) == "closed" and not transport.writing


def test_once_drained_a_pending_close_happens():
    transport = Transport(Kernel(), b"abc")
    transport.disconnecting = True
    assert _tcpsend.writeBuffered(transport) == "closed"
    assert transport.ended == ["lost"]
    # Nothing held at all (loseConnection() of an idle transport) also ends it.
    transport = Transport(Kernel())
    transport.disconnecting = True
    assert _tcpsend.writeBuffered(transport) == "closed"
    transport = Transport(Kernel(), b"abc")
    transport._writeDisconnecting = True
    _tcpsend.writeBuffered(transport)
    assert transport.ended == ["half"] and transport._writeDisconnected


class Blocked(netsvc.HttpServlet):
    """A block the socket cannot take at once, then Twisted-written chunks behind it."""

    seen = None

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()  # chunked: the head and each block go through sendData()
        big = b"B" * (8 << 20)
        self.sendContent(big)
        self.flushContent()
        transport = self._response.request.channel.transport
        Blocked.seen.callback(transport.dataBuffer is big)
        for index in range(_tcpsend.SEND_PIECES * 2):
            self.sendContent(b"%06d" % index)
            self.flushContent()
        self.endContent()


@pytest_twisted.ensureDeferred
async def test_a_blocked_block_is_kept_and_what_follows_arrives_in_order(daemons):
    Blocked.seen = defer.Deferred()
    server = netsvc.HttpServer()
    server.servlet = Blocked
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)

    reply = threads.deferToThread(slowGet, daemon.port())
    # The kernel took part of the 8 MiB: the rest is the block itself, uncopied.
    assert await Blocked.seen
    head, _, body = (await reply).partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    decoded, rest = [], body
    while True:
        size, _, rest = rest.partition(b"\r\n")
        size = int(size, 16)
        if not size:
            break
        decoded.append(rest[:size])
        rest = rest[size + 2:]
    assert decoded[0] == b"B" * (8 << 20)
    assert decoded[1:] == [b"%06d" % index for index in range(_tcpsend.SEND_PIECES * 2)]


class Lowat(netsvc.HttpServlet):
    """A response of ``?size=`` bytes; records the low-water mark once written."""

    seen = None

    def processRequest(self):
        size = int(self.queryString().partition("=")[2])
        self.sendResponse(200)
        self.sendHeader("Content-Length", str(size))
        self.endHeaders()
        self.sendContent(b"x" * size)
        sock = self._response.request.channel.transport.socket
        Lowat.seen.callback(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT))
        self.endContent()


@pytest.mark.skipif(not hasattr(socket, "TCP_NOTSENT_LOWAT"), reason="Linux only")
@pytest.mark.parametrize("size, refused", [(100, False), (16 << 20, True)])
@pytest_twisted.ensureDeferred
async def test_a_refused_write_sets_the_low_water_mark_to_the_largest_buffer(
        daemons, size, refused):
    """
    TCP_NOTSENT_LOWAT is the kernel's largest send buffer (tcp_wmem's
    maximum), set at a connection's first refused write only.
    """
    largest = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    assert _tcpsend.NOTSENT_LOWAT == largest
    Lowat.seen = defer.Deferred()
    server = netsvc.HttpServer()
    server.servlet = Lowat
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)

    reply = threads.deferToThread(slowGet, daemon.port(), "/?size=%d" % size)
    assert ((await Lowat.seen) == largest) == refused
    assert (await reply).partition(b"\r\n\r\n")[2] == b"x" * size


class Reused(netsvc.HttpServlet):
    """One buffer, refilled for each block, as a servlet may do."""

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Length", str(16 << 20))
        self.endHeaders()
        buffer = bytearray(8 << 20)
        for fill in b"ab":
            buffer[:] = bytes([fill]) * len(buffer)
            self.sendContent(buffer)
        self.endContent()


@pytest_twisted.ensureDeferred
async def test_what_is_kept_of_a_mutable_block_is_a_copy(daemons):
    server = netsvc.HttpServer()
    server.servlet = Reused
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)

    reply = await threads.deferToThread(slowGet, daemon.port())
    body = reply.partition(b"\r\n\r\n")[2]
    assert body == b"a" * (8 << 20) + b"b" * (8 << 20)


class Recorder(Transport):
    def __init__(self):
        Transport.__init__(self, Kernel())
        self.written = []

    def write(self, data):
        self.written.append(data)

    def _maybePauseProducer(self):
        pass

    def startWriting(self):
        self.writing = True


def test_under_tls_the_rest_goes_to_twisteds_buffer():
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    plain, secure = Recorder(), Recorder()
    plain.protocol = object()
    secure.protocol = object.__new__(TLSMemoryBIOProtocol)
    plain.doWrite = secure.doWrite = lambda: None  # Twisted's own
    block = b"0123456789"
    for transport in (plain, secure):
        _tcpsend.keepRest(transport, block, 4)
    assert plain.dataBuffer is block and plain.offset == 4 and plain.written == []
    assert plain.doWrite.__func__ is _tcpsend.writeBuffered
    if _tcpsend.NOTSENT_LOWAT:
        assert plain.socket.options == [
            (socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, _tcpsend.NOTSENT_LOWAT)]
    assert secure.socket.options == []
    assert secure.written == [b"456789"] and secure.dataBuffer == b""
    assert getattr(secure.doWrite, "__func__", None) is not _tcpsend.writeBuffered
