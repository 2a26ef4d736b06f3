# -*- test-case-name: tests.http.test_tcp_send -*-
"""
How response bytes reach a plain TCP socket.

Twisted's C{FileDescriptor} copies what the kernel leaves of a write
twice (a slice, then a join of its buffer at the next writable event)
and sends its backlog through four Python frames per event.  The TCP
transport of a plain servlet channel instead keeps what is
left uncopied (the block itself and an offset) and sends it with the
blocks written since in one C{sendmsg()}: L{writeBuffered}, the
transport's C{doWrite()} from its first refused write on (L{takeOver}).
Everything else about the transport (its C{write()}, producers,
C{loseConnection()}) stays Twisted's.
"""

from __future__ import annotations

import os
import socket
import types
from errno import ENOBUFS, EWOULDBLOCK
from typing import Any

from twisted.internet.main import CONNECTION_LOST

try:
    from twisted.internet.tcp import Server as _TCPServer
except ImportError:  # pragma: no cover - no POSIX TCP transport
    _TCPServer = None
try:
    from twisted.protocols.tls import TLSMemoryBIOProtocol
except ImportError:  # pragma: no cover - without pyOpenSSL there is no TLS
    TLSMemoryBIOProtocol = ()

#: Bytes one send() of a TCP transport's single held block may hand the
#: kernel (Twisted's C{SEND_LIMIT} is 128 KiB: a response blocked with
#: more waited a reactor turn per 128 KiB).  Several held blocks go in
#: one sendmsg() of up to L{SEND_PIECES}.
SEND_LIMIT = 1 << 20
#: Held blocks one sendmsg() offers the kernel, far below IOV_MAX.
SEND_PIECES = 64


def _largestSendBuffer() -> int | None:
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as handle:
            return int(handle.read().split()[2])
    except (OSError, ValueError, IndexError):
        return None


#: C{TCP_NOTSENT_LOWAT} of a servlet channel's socket: the largest send
#: buffer the kernel grows (Linux's C{tcp_wmem} maximum, 4 MiB by default),
#: so it never caps what the kernel would queue anyway.  A slow reader's
#: socket then reports writable once half of that is unsent, not a third
#: free: each refill is larger, and a stream costs fewer wake-ups
#: (bench/README.md, round 7).  None where the kernel does not tell.
NOTSENT_LOWAT = _largestSendBuffer() if hasattr(socket, "TCP_NOTSENT_LOWAT") else None


def takeOver(transport: Any) -> None:
    """
    At a plain TCP transport's first refused write: L{writeBuffered} as
    its C{doWrite()} and L{NOTSENT_LOWAT} on its socket from then on.  A
    connection whose responses always fit the kernel's buffer never pays
    for either (one C{setsockopt()}).  Once done, a no-op.
    """
    if getattr(transport.doWrite, "__func__", None) is writeBuffered:
        return
    transport.doWrite = types.MethodType(writeBuffered, transport)
    if NOTSENT_LOWAT:
        try:
            transport.socket.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, NOTSENT_LOWAT)
        except OSError:
            pass  # an older kernel: the default wake-ups


def tcpIdle(transport: Any) -> bool:
    """
    Whether C{transport} is a plain TCP one, open, and holding nothing:
    what it is handed may go straight to its socket.  (L{Response.write}
    inlines this test for every streamed part.)
    """
    return (
        type(transport) is _TCPServer and transport.connected
        and not transport.disconnecting and not transport._writeDisconnecting
        and not transport._tempDataLen and transport.offset == len(transport.dataBuffer)
    )


def keepRest(transport: Any, block: bytes, sent: int) -> None:
    """
    Hand an idle TCP transport (L{tcpIdle}) what the kernel left of
    C{block} after C{sent} bytes: the block itself and an offset, no copy
    of C{bytes}, sent when the socket is writable again.  Under TLS the
    rest goes to Twisted's buffer, as before.
    """
    if type(block) is not bytes:
        # A bytearray or memoryview may change once the servlet has it
        # back: keep a copy of the rest, as Twisted's buffer would.
        block, sent = bytes(block[sent:]), 0
    if isinstance(transport.protocol, TLSMemoryBIOProtocol):
        # TLS records: Twisted's own buffer, which measured best for a
        # stream bound by encryption (bench/README.md, round 7).
        transport.write(block[sent:])
        return
    takeOver(transport)
    transport.dataBuffer = block
    transport.offset = sent
    transport._maybePauseProducer()
    transport.startWriting()


def sendData(transport: Any, pieces: tuple[bytes, ...] | list[bytes]) -> None:
    """
    Write C{pieces} to C{transport}, in order.  A TCP transport holding
    nothing gets them straight to its socket (one C{send()}, or one
    C{sendmsg()} without joining them), as asyncio does: no copy into
    Twisted's buffer, no C{epoll_ctl()} to wait for writability and no
    reactor turn when the kernel takes everything.  Whatever the kernel
    leaves, and everything when the transport already holds bytes (or
    is not a plain TCP one), goes through the transport's buffer, so its
    flow control and error handling apply as before.
    """
    if tcpIdle(transport):
        try:
            if len(pieces) == 1:
                sent = transport.socket.send(pieces[0])
            else:
                sent = transport.socket.sendmsg(pieces)
        except OSError:
            # Would block, or an error that the transport's own write
            # attempt will find and report as a lost connection.
            sent = 0
        for index, piece in enumerate(pieces):
            if sent < len(piece):
                keepRest(transport, piece, sent)
                if index + 1 < len(pieces):
                    transport.writeSequence(pieces[index + 1:])
                return
            sent -= len(piece)
        return
    if len(pieces) == 1:
        transport.write(pieces[0])
    else:
        transport.writeSequence(pieces)


def writeBuffered(transport: Any) -> Any:
    """
    C{FileDescriptor.doWrite()} of a servlet channel's TCP transport,
    once L{takeOver} made it so: the rest of its current block (C{dataBuffer} from C{offset}) and the
    blocks written since (C{_tempDataBuffer}) in one C{sendmsg()}, none
    joined or copied; what the kernel leaves stays as it was, its first
    block becoming the current one.  Once all is sent it ends as
    Twisted's does: resume the producer, or finish a pending
    C{loseConnection()}, and stop waiting for writability, unless what the
    producer did on resuming must wait for it again.
    """
    data = transport.dataBuffer
    offset = transport.offset
    later = transport._tempDataBuffer
    left = len(data) - offset
    try:
        if later:
            pieces = later[:SEND_PIECES]
            if left:
                pieces.insert(0, memoryview(data)[offset:])
            sent = transport.socket.sendmsg(pieces)
        elif left:
            sent = transport.socket.send(
                memoryview(data)[offset:offset + SEND_LIMIT] if offset or left > SEND_LIMIT
                else data)
        else:
            sent = 0  # nothing held: a loseConnection() or a sendfile() waits
    except OSError as e:
        if e.errno in (EWOULDBLOCK, ENOBUFS):
            return None
        return CONNECTION_LOST
    if sent < left:
        transport.offset = offset + sent
        return None
    sent -= left
    if later:
        taken = 0
        for index, piece in enumerate(later):
            size = len(piece)
            if sent < size:
                # The first block not sent whole becomes the current one.
                transport.dataBuffer = piece
                transport.offset = sent
                del later[:index + 1]
                transport._tempDataLen -= taken + size
                return None
            sent -= size
            taken += size
        later.clear()
        transport._tempDataLen = 0
    transport.dataBuffer = b""
    transport.offset = 0
    producer = transport.producer
    if producer is not None and (not transport.streamingProducer or transport.producerPaused):
        transport.producerPaused = False
        producer.resumeProducing()
        # A streaming servlet writes its next parts now and blocks again
        # (paused, or holding bytes): it still waits for writability, and
        # a cycle costs no epoll_ctl() to stop waiting and start again.
        if not (
            transport.producerPaused or transport._tempDataLen
            or transport.offset != len(transport.dataBuffer)
            or transport.disconnecting or transport._writeDisconnecting
        ):
            transport.stopWriting()
        return None
    transport.stopWriting()
    if transport.disconnecting:
        return transport._postLoseConnection()
    elif transport._writeDisconnecting:
        transport._writeDisconnected = True
        return transport._closeWriteConnection()
    return None


def refused(transport: Any) -> None:
    """
    The socket did not take a whole block: OSE's C{CONNECTION_BLOCKED}
    (spec 5.2) now, as Twisted would once 64 KiB wait.  The producer stops
    a part earlier, and a block/clear cycle costs one buffered write
    instead of two.
    """
    if not transport.producerPaused and transport.streamingProducer and transport.producer:
        transport.producerPaused = True
        transport.producer.pauseProducing()


def fileSender(request: Any) -> Any:
    """
    The TCP transport that C{os.sendfile()} may write C{request}'s body to
    now, or L{None}: not a plain TCP HTTP/1 connection (TLS, HTTP/2, a test
    or foreign transport), a chunked body, or bytes still queued in
    Twisted's buffer or paused behind it, which must go first.
    """
    transport = getattr(request.channel, "transport", None)
    if (
        not request.chunked and tcpIdle(transport)
        and transport.producer is not None and transport.streamingProducer
        and not transport.producerPaused
    ):
        return transport
    return None


def sendFileData(transport: Any, fd: int, offset: int, count: int) -> int:
    """
    C{os.sendfile()} up to C{count} bytes of the file C{fd} from C{offset}
    to a transport that L{fileSender} returned; the bytes the kernel took.
    When it took fewer (its socket buffer is full), the transport is left
    as its own C{write()} leaves it with a full buffer: producer paused
    (so a congestion bridge reports C{CONNECTION_BLOCKED}) and waiting
    for writability, which resumes it (C{CONNECTION_CLEARED}).

    Raises L{EOFError} when the file ends at C{offset}, and L{OSError}
    when sendfile() cannot be used (the caller writes instead).
    """
    try:
        sent = os.sendfile(transport.fileno(), fd, offset, count)
    except BlockingIOError:
        sent = 0
    else:
        if sent == 0:
            raise EOFError("file ended at byte %d" % offset)
    if sent < count:
        takeOver(transport)
        transport.producerPaused = True
        transport.producer.pauseProducing()
        transport.startWriting()
    return sent
