# -*- test-case-name: tests.http.test_servlet -*-
"""
The response state machine of one request (spec 2.6, decisions.md
"Response state").

Out-of-order calls raise L{ResponseStateError} instead of corrupting the
stream; after the client went away (or C{shutdown()}) every call is a
quiet no-op, because a servlet's timers cannot know that yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.http import NO_BODY_CODES, RESPONSES, HTTPChannel
from twisted.web.http_headers import Headers

from netsvc_twisted._errors import ResponseStateError
from netsvc_twisted._events._jobs import _queue as _jobQueue
from netsvc_twisted._events._jobs import afterDrain
from netsvc_twisted._http._h2 import writeRawResponse
from netsvc_twisted._http._status import errorPage
from netsvc_twisted._http._tcpsend import (
    _TCPServer,
    fileSender,
    keepRest,
    refused,
    sendData,
    sendFileData,
)

if TYPE_CHECKING:
    from twisted.web.server import Request

    from netsvc_twisted._http._congestion import CongestionBridge
    from netsvc_twisted._http._lifecycle import ServletCall

_log = Logger(namespace="netsvc.http")

WAITING = 0  # no status sent yet
HEADERS = 1  # status sent, headers open
BODY = 2  # headers ended, content may follow
DONE = 3  # response complete
ABORTED = 4  # client gone or connection shut down

_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\s;\"]+)", re.I)


#: Header names as servlets spell them -> Twisted's canonical bytes.
_NAMES: dict[str | bytes, bytes] = {}
_NAMES_CACHED = 1000


def headerName(name: str | bytes) -> bytes:
    """
    The canonical bytes of a response header name, as twisted.web's
    C{Headers} stores it, after twisted.web's own check of the name (its
    C{InvalidHeaderName} for anything but an RFC 9110 token, so no CR, LF
    or colon); a name is checked once, then looked up.
    """
    canonical = _NAMES.get(name)
    if canonical is None:
        # Twisted's own check and spelling, whatever its version.
        probe = Headers()
        probe.addRawHeader(name.encode("latin-1") if isinstance(name, str) else name, b"")
        [canonical] = probe._rawHeaders
        if len(_NAMES) < _NAMES_CACHED:
            _NAMES[name] = canonical
    return canonical


_CONTENT_LENGTH = headerName(b"content-length")
_TRANSFER_ENCODING = headerName(b"transfer-encoding")


def headerValue(value: str | bytes) -> bytes:
    """
    A response header value as bytes, CR and LF replaced as twisted.web's
    C{Headers} does (each line break becomes one space), so a value can
    never end the header and start another.
    """
    raw = value.encode("latin-1") if isinstance(value, str) else value
    # 13 and 10 (CR, LF) as ints: a memchr() each, several times cheaper
    # than a search for a one-byte bytes needle.
    if 13 in raw or 10 in raw:
        raw = b" ".join(raw.splitlines())
    return raw


def writeHead(request: Any, data: bytes) -> bool:
    """
    The first write of an HTTP/1 response: status line, headers and
    C{data} handed to the transport at once.  What twisted.web's
    C{Request.write} does on its first call, less the header checks that
    L{headerName} and L{headerValue} already made when each header was
    stored; anything unusual (HTTP/2, HEAD, a 204/304, a held "100
    Continue", cookies...) goes through twisted.web and returns false.
    """
    channel = request.channel
    code = request.code
    if (
        request.startedWriting or request.finished or request._disconnected
        or "write" in request.__dict__ or request.method == b"HEAD"
        or code in NO_BODY_CODES or not isinstance(channel, HTTPChannel)
        or request.cookies or request.lastModified is not None
        or request.etag is not None or request._encoder is not None
        or request.defaultContentType is not None or request._inFakeHead
    ):
        request.write(data)
        return False
    request.startedWriting = 1
    version = request.clientproto
    raw = request.responseHeaders._rawHeaders
    if version == b"HTTP/1.1" and _CONTENT_LENGTH not in raw:
        raw[_TRANSFER_ENCODING] = [b"chunked"]
        request.chunked = 1
    lines = [b"%s %d %s\r\n" % (version, code, request.code_message)]
    append = lines.append
    for name, values in raw.items():
        for value in values:
            append(b"%s: %s\r\n" % (name, value))
    append(b"\r\n")
    if data:
        request.sentLength += len(data)
        if request.chunked:
            append(b"%x\r\n" % len(data))
        if len(data) < 16384:
            # One buffer: cheaper than a sequence for small replies.
            append(data)
            if request.chunked:
                append(b"\r\n")
            sendData(channel.transport, (b"".join(lines),))
        elif request.chunked:
            sendData(channel.transport, (b"".join(lines), data, b"\r\n"))
        else:
            sendData(channel.transport, (b"".join(lines), data))
    else:
        sendData(channel.transport, (b"".join(lines),))
    return True


def writeBody(request: Any, block: bytes) -> None:
    """
    A later write of a response that L{writeHead} started: what
    twisted.web's C{Request.write} does then, through L{sendData}.
    (L{Response.write} sends a plain streamed part itself.)
    """
    if request.finished or request._disconnected:
        request.write(block)  # twisted.web's error, or nothing
        return
    size = len(block)
    request.sentLength += size
    if request.chunked:
        sendData(request.channel.transport, (b"%x\r\n" % size, block, b"\r\n"))
    else:
        sendData(request.channel.transport, (block,))


class Response:
    """
    Writes one response onto a twisted.web request and reports completion
    or abortion once, through C{onEnd(completed)}.
    """

    state = WAITING
    charset = "utf-8"
    #: True while a servlet hook runs; the lifecycle flushes afterwards.
    inHook = False
    #: The congestion bridge while a servlet monitors congestion.
    bridge: CongestionBridge | None = None
    #: The L{ServletCall} that owns this response, if any.
    call: ServletCall | None = None
    #: True once writeHead() wrote the head itself: later blocks go
    #: through writeBody() too.
    _raw = False
    #: The plain TCP transport of a raw, not chunked response, whose
    #: parts write() sends itself.
    _plainTCP: Any = None
    #: Blocks written by jobs of the drain under way, sent together by
    #: sendHeld() (L{HELD_BYTES}), and their size.
    _held: list[bytes] | None = None
    _heldBytes = 0

    def __init__(self, request: Request, onEnd: Callable[[bool], None]) -> None:
        self.request = request
        self._onEnd = onEnd

    def _require(self, wanted: int, call: str) -> bool:
        state = self.state
        if state == wanted:
            return True
        if state == ABORTED:
            return False
        raise ResponseStateError(f"{call}() is not allowed {_DESCRIBE[state]}")

    def sendResponse(self, status: int, message: str | None = None) -> None:
        if self.state == WAITING or self._require(WAITING, "sendResponse"):
            # What Request.setResponseCode() does, the reason phrase kept
            # to one line like a header value.
            request = self.request
            request.code = status = int(status)
            request.code_message = (
                RESPONSES.get(status, b"Unknown Status") if message is None
                else headerValue(message)
            )
            self.state = HEADERS

    def sendHeader(self, name: str, value: str) -> None:
        if self.state == BODY:
            _log.warn(
                "sendHeader({name!r}) after endHeaders() ignored: the headers "
                "have been sent", name=name,
            )
            return
        if self.state != HEADERS and not self._require(HEADERS, "sendHeader"):
            return
        if not name:
            return
        if len(name) == 12 and name.lower() == "content-type" and "charset" in value:
            match = _CHARSET.search(value)
            if match:
                self.charset = match.group(1)
        # Stored as twisted.web's Headers.addRawHeader() would, with the
        # same name check and line-break replacement (headerName() and
        # headerValue(), inlined), minus its calls.
        raw = value.encode("latin-1") if isinstance(value, str) else value
        if 13 in raw or 10 in raw:  # CR, LF
            raw = b" ".join(raw.splitlines())
        self.request.responseHeaders._rawHeaders.setdefault(
            _NAMES.get(name) or headerName(name), []
        ).append(raw)

    def endHeaders(self) -> None:
        if self.state == HEADERS or self._require(HEADERS, "endHeaders"):
            self.state = BODY
            if not self.inHook:
                self.flushHeaders()

    def flushHeaders(self) -> None:
        """
        Put the status line and headers on the wire if nothing has yet.
        """
        request = self.request
        if not request.startedWriting and request.channel is not None:
            self._headWritten(writeHead(request, b""))

    def _headWritten(self, raw: bool) -> None:
        self._raw = raw
        request = self.request
        if raw and not request.chunked:
            transport = request.channel.transport
            if type(transport) is _TCPServer:
                self._plainTCP = transport

    def write(self, block: bytes) -> None:
        """
        Hand one flushed block to Twisted.
        """
        if self.state == BODY or self._require(BODY, "sendContent"):
            if not block:
                return
            bridge = self.bridge
            request = self.request
            transport = self._plainTCP
            if transport is not None:
                if (
                    transport.offset == len(transport.dataBuffer) and not transport._tempDataLen
                    and transport.connected and not transport.disconnecting
                    and not transport._writeDisconnecting
                    and not request.finished and not request._disconnected
                    and (bridge is None or not (bridge.paused or bridge.backlog))
                ):
                    # The path of every streamed part, with sendData(),
                    # writeBody() and the bridge's beforeWrite() and
                    # blockWritten() inlined: the transport holds nothing,
                    # so every earlier block is written (pending 0), and
                    # this one counts until a later write finds it so.
                    size = len(block)
                    request.sentLength += size
                    if bridge is not None and bridge.unheldParts:
                        # Lately blocked: a slow reader's socket would
                        # leave more of a joined write behind.
                        bridge.unheldParts -= 1
                    elif _jobQueue.draining and (bridge is None or bridge.threshold > HELD_BLOCKS):
                        # From a job: the drain's later parts join this
                        # one in one sendmsg(), before the reactor polls.
                        held = self._held
                        if held is None:
                            held = self._held = []
                            _heldResponses.append(self)
                        held.append(block)
                        self._heldBytes += size
                        if bridge is not None:
                            bridge.pending = len(held)
                        if self._heldBytes >= HELD_BYTES or len(held) >= HELD_BLOCKS:
                            self.sendHeld()
                        return
                    try:
                        sent = transport.socket.send(block)
                    except OSError:
                        sent = 0  # the transport's write() reports errors
                    if sent == size and (bridge is None or bridge.threshold > 1):
                        if bridge is not None:
                            bridge.pending = 1
                        return
                    if sent < size:
                        keepRest(transport, block, sent)
                        if bridge is not None:
                            refused(transport)
                    if bridge is not None:
                        bridge.pending = 0
                        bridge.blockWritten()
                    return
            if self._held is not None:
                self.sendHeld()
            if bridge is not None:
                bridge.beforeWrite()
            if not request.startedWriting:
                self._headWritten(writeHead(request, block))
            elif self._raw:
                writeBody(request, block)
            else:
                request.write(block)
            if bridge is not None:
                bridge.blockWritten()

    def sendHeld(self) -> None:
        """
        Send the blocks write() held during a drain: one sendmsg(), what the
        kernel leaves to the transport, which then blocks as in write().
        """
        held = self._held
        if held is None:
            return
        self._held = None
        self._heldBytes = 0
        transport = self._plainTCP
        sendData(transport, held)
        bridge = self.bridge
        if bridge is not None:
            if transport.offset != len(transport.dataBuffer) or transport._tempDataLen:
                refused(transport)
                bridge.pending = 0
                bridge.blockWritten()
            else:
                bridge.pending = 1

    def sendFile(self, fd: int, offset: int, count: int) -> int | None:
        """
        Send up to C{count} bytes of the regular file C{fd} from C{offset}
        with C{os.sendfile()}, after the head, when the connection allows
        it now (L{fileSender}); L{None} when not: C{write()} the bytes
        instead.  A short count means the connection is blocked
        (L{sendFileData}).  Raises L{EOFError} at the end of the file and
        L{OSError} when sendfile() cannot send it.
        """
        if self.state != BODY:
            self._require(BODY, "sendContent")
            return None
        request = self.request
        if request.channel is None or request.finished or request._disconnected:
            return None
        if not request.startedWriting:
            self.flushHeaders()
        if self._held is not None:
            self.sendHeld()
        transport = fileSender(request)
        if transport is None:
            return None
        bridge = self.bridge
        if bridge is not None:
            bridge.beforeWrite()
        sent = sendFileData(transport, fd, offset, count)
        request.sentLength += sent
        if bridge is not None:
            bridge.blockWritten()
        return sent

    def endContent(self) -> None:
        state = self.state
        if state == HEADERS:
            self.endHeaders()
        elif state != BODY and not self._require(BODY, "endContent"):
            return
        self._finish()

    def sendError(
        self,
        status: int,
        body: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        if not self._require(WAITING, "sendError"):
            return
        page = errorPage(status, body)
        request = self.request
        request.setResponseCode(int(status))
        setHeader = request.responseHeaders.setRawHeaders
        setHeader(b"content-type", [b"text/html"])
        setHeader(b"content-length", [b"%d" % len(page)])
        for name, value in headers:
            setHeader(name, [value])
        self.state = BODY
        request.write(page)
        self._finish()

    def sendComplete(self, raw: bytes | str) -> None:
        """
        Send a whole pre-built HTTP/1 response verbatim; the connection is
        closed after it, since its framing is the servlet's.
        """
        if not self._require(WAITING, "sendComplete"):
            return
        if isinstance(raw, str):
            raw = raw.encode(self.charset)
        request = self.request
        parts = raw.split(b" ", 2)
        if len(parts) > 1 and parts[1].isdigit():
            request.code = int(parts[1])
        channel = request.channel
        if getattr(channel, "streamID", None) is not None:
            # An HTTP/2 stream carries no raw bytes: the response goes out
            # as status, headers and body (netsvc_twisted._http._h2).
            if not writeRawResponse(request, raw):
                _log.warn("sendComplete(): not an HTTP/1 response, 500 sent instead")
                self.sendError(500)
                return
            self.state = BODY
            self._finish()
            return
        request.startedWriting = True
        request.sentLength = len(raw)
        channel.persistent = False
        channel.write(raw)
        self.state = BODY
        self._finish()

    def _finish(self) -> None:
        if self._held is not None:
            self.sendHeld()
        self.state = DONE
        if self.bridge is not None:
            self.detachBridge()
        self.request.finish()
        self._onEnd(True)

    def detachBridge(self) -> None:
        bridge = self.bridge
        if bridge is not None:
            self.bridge = None
            bridge.detach()
            request = self.request
            if request.producer is bridge and request.channel is not None:
                request.unregisterProducer()

    def retract(self) -> bool:
        """
        Take back a status and headers that have not reached the wire yet,
        so an error page can replace them; false when it is too late.
        """
        if self.state == HEADERS and not self.request.startedWriting:
            headers = self.request.responseHeaders
            kept = {name: headers.getRawHeaders(name) for name in _KEPT_HEADERS}
            for name, _ in list(headers.getAllRawHeaders()):
                headers.removeHeader(name)
            for name, values in kept.items():
                if values:
                    headers.setRawHeaders(name, values)
            self.state = WAITING
        return self.state == WAITING

    def abort(self, delay: float = 0) -> None:
        """
        Close the connection: gracefully (C{delay < 0}), at once (C{0}), or
        gracefully with a deadline of C{delay} seconds.
        """
        if self.state in (DONE, ABORTED):
            return
        if self._held is not None and delay != 0:
            self.sendHeld()  # a graceful close sends what was written
        self._held = None
        self.state = ABORTED
        self.detachBridge()
        transport = getattr(self.request.channel, "transport", None)
        if transport is not None:
            if delay == 0:
                transport.abortConnection()
            else:
                transport.loseConnection()
                if delay > 0:
                    requestCallLater(self.request)(delay, _abortIfOpen, transport)
        elif getattr(self.request.channel, "streamID", None) is not None:
            # An HTTP/2 stream has no transport: its abort is RST_STREAM
            # (other streams on the connection carry on).
            self.request.channel.abortConnection()
        self._onEnd(False)

    def clientGone(self) -> None:
        self._held = None
        if self.state not in (DONE, ABORTED):
            self.state = ABORTED
            self.detachBridge()
            self._onEnd(False)


#: What write() holds of one response during a drain before it sends:
#: E14's 128 KiB parts go two to a sendmsg(), which costs the kernel about
#: a tenth less per byte than a send() each (bench/README.md, round 6).
HELD_BYTES = 256 << 10
HELD_BLOCKS = 64
_heldResponses: list[Response] = []


def _sendAllHeld() -> None:
    while _heldResponses:
        _heldResponses.pop().sendHeld()


afterDrain.append(_sendAllHeld)


def requestCallLater(request: Any) -> Callable[..., Any]:
    """
    The C{callLater} of the reactor serving C{request} (a test's clock
    under L{netsvc_twisted.testing}).
    """
    callLater = getattr(request.channel, "callLater", None)
    if callLater is None:
        from twisted.internet import reactor

        callLater = reactor.callLater
    return callLater


def _abortIfOpen(transport) -> None:
    if getattr(transport, "connected", False):
        transport.abortConnection()


_KEPT_HEADERS = (b"server", b"date", b"connection")

_DESCRIBE = {
    WAITING: "before sendResponse()",
    HEADERS: "before endHeaders()",
    BODY: "after endHeaders()",
    DONE: "after the response completed",
}
