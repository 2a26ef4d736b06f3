# -*- test-case-name: tests.http.test_http_sockets -*-
"""
The twisted.web request and channel underneath L{HttpDaemon}.

L{ServletChannel} reads each request head whole and strictly
(L{netsvc_twisted._http._parser}) instead of through twisted.web's
lenient line parser, and a chunked body with L{StrictChunkedDecoder};
a refused head is answered with its status and the connection closed.
The rest (bodies, pipelining, persistence, timeouts) is twisted.web's.

twisted.web hands a request to its resource only once the whole body has
arrived.  OSE servlets start at the end of the head and get the body in
chunks, so L{ServletChannel} dispatches as soon as the headers are in and
L{ServletRequest} routes body chunks to the servlet instead of buffering
them.  Where Twisted does not stream (HTTP/2 streams), the request is
dispatched when it is complete and the body is replayed in chunks.
"""

from __future__ import annotations

import time
from io import BytesIO
from typing import TYPE_CHECKING

from twisted.internet.error import ConnectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, server
from twisted.web.http import NO_BODY_CODES, RESPONSES, _IdentityTransferDecoder, parse_qs
from twisted.web.http_headers import _nameEncoder

from netsvc_twisted._http._framing import StrictChunkedDecoder
from netsvc_twisted._http._h2 import ServletChannelProtocol
from netsvc_twisted._http._lifecycle import _endedAlready
from netsvc_twisted._http._observe import observerOf
from netsvc_twisted._http._parser import ALLOW, BadRequest, parseHead
from netsvc_twisted._http._response import Response, headerName
from netsvc_twisted._http._status import errorPage

if TYPE_CHECKING:
    from netsvc_twisted._http._lifecycle import ServletCall

_log = Logger(namespace="netsvc.http")

SERVER_HEADER = b"netsvc_twisted"
_SERVER = headerName(b"server")
_DATE = headerName(b"date")
_ALLOW = headerName(b"allow")
_CONTENT_LENGTH = headerName(b"content-length")
_CONNECTION = headerName(b"connection")
#: Body bytes handed to C{processContent()} per call when replaying a
#: buffered body.
REPLAY_CHUNK = 65536
#: Body bytes still due that a response finished early will read (and
#: drop) to keep the connection; beyond that the connection is closed.
DRAIN_LIMIT = 65536


class _DateCache:
    """
    The C{Date} header changes once a second; format it once a second.
    """

    second = -1
    value = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = http.datetimeToString(now)
        return self.value


httpDate = _DateCache()


def replayBody(call: ServletCall, content) -> None:
    """
    Feed an already received body to the servlet in bounded chunks.
    """
    if content is not None:
        content.seek(0)
        read = content.read
        while not call._destroyed:
            chunk = read(REPLAY_CHUNK)
            if not chunk:
                break
            call.content(chunk)
    call.contentEnd()


class ServletRequest(server.Request):
    """
    A request dispatched to a servlet at the end of its head.
    """

    defaultContentType = None
    #: The servlet call learns of a lost client from connectionLost()
    #: below, which is cheaper than a notifyFinish() Deferred per request.
    reportsConnectionLost = True
    _netsvcUser = ""
    _call: ServletCall | None = None
    _streaming = False
    _bodyDone = False
    _finishPending = False

    def gotLength(self, length: int | None) -> None:
        if self._streaming:
            # The body goes to the servlet, chunk by chunk, not to a file.
            self.content = BytesIO()
        else:
            super().gotLength(length)

    def headReceived(self, command: bytes, uri: bytes, version: bytes) -> None:
        """
        The head is complete: find the server object and start the servlet.
        """
        self.method, self.uri, self.clientproto = command, uri, version
        path, _, query = uri.partition(b"?")
        self.path = path
        self.args = parse_qs(query, 1) if query else {}
        self._dispatch(path)

    def _dispatch(self, path: bytes) -> None:
        site = self.channel.site
        self.site = site
        # Both values are ours and free of line breaks: stored without
        # Headers.setRawHeaders()'s encoding and checks.
        raw = self.responseHeaders._rawHeaders
        raw[_SERVER] = [SERVER_HEADER]
        raw[_DATE] = [httpDate()]
        if path == b"*":
            # OPTIONS * (the only method the parser lets through with
            # it) asks about the server itself (RFC 9110 9.3.7).
            raw[_ALLOW] = [ALLOW]
            raw[_CONTENT_LENGTH] = [b"0"]
            self.write(b"")
            self.finish()
            return
        self._call = site.dispatch(self, path)

    def refuse(self, command: bytes, uri: bytes, version: bytes, status: int,
               message: str) -> None:
        """
        Answer an error page instead of dispatching: a head the channel
        took but a rule refuses (an HTTP/2 C{:authority}).
        """
        self.method, self.uri, self.clientproto = command, uri, version
        self.path = uri.partition(b"?")[0]
        self.site = self.channel.site
        raw = self.responseHeaders._rawHeaders
        raw[_SERVER] = [SERVER_HEADER]
        raw[_DATE] = [httpDate()]
        _log.info("{method} request refused ({status}): {message}",
                  method=command, status=status, message=message)
        Response(self, _endedAlready).sendError(status, message)

    def keepAlive(self) -> None:
        """
        An HTTP/1.0 request asked for C{Connection: keep-alive}: granted
        if the response's length is known when its head is written.
        """
        self.write = self._writeKeptAlive  # type: ignore[method-assign]

    def _writeKeptAlive(self, data: bytes) -> None:
        del self.write
        channel = self.channel
        if channel is not None and not self.startedWriting:
            raw = self.responseHeaders._rawHeaders
            if _CONNECTION in raw:
                pass  # "close" already (a drain)
            elif (_CONTENT_LENGTH in raw or self.method == b"HEAD"
                  or self.code in NO_BODY_CODES):
                raw[_CONNECTION] = [b"keep-alive"]
            else:
                channel.persistent = False  # the close ends the body
        self.write(data)

    def holdContinue(self) -> None:
        """
        A "100 Continue" is held for this request: its first write decides.
        """
        self.write = self._writeAfterContinue  # type: ignore[method-assign]

    def _writeAfterContinue(self, data: bytes) -> None:
        # The answer's first bytes: the held "100 Continue" goes first,
        # unless the answer refuses or redirects.
        del self.write
        channel = self.channel
        if channel is not None:
            channel.releaseContinue(self.code < 300)
        self.write(data)

    def connectionLost(self, reason) -> None:
        super().connectionLost(reason)
        if self._call is not None:
            self._call.response.clientGone()
        observer = observerOf(self)
        if observer is not None:
            observer.requestAborted(self)

    def handleContentChunk(self, data: bytes) -> None:
        call = self._call
        if call is not None:
            call.content(data)
        elif not self._streaming:
            self.content.write(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._streaming:
            self.process()
        else:
            super().requestReceived(command, path, version)

    def process(self) -> None:
        """
        The whole request has arrived.
        """
        if not self._streaming:
            # Not dispatched at head time (HTTP/2): dispatch now.  The
            # body is all here, so an answer from processRequest() may
            # finish at once (an H2Stream has no HTTP/1 persistence).
            self._streaming = True
            self._bodyDone = True
            self._dispatch(self.path)
            if self._call is not None:
                replayBody(self._call, self.content)
        else:
            self._bodyDone = True
            if self._call is not None:
                self._call.contentEnd()
        if self._finishPending:
            self._finishPending = False
            server.Request.finish(self)

    def finish(self) -> None:
        # Finishing tells the channel to parse the next request, so wait
        # until the rest of this request's body has been consumed; unless
        # the connection is closing anyway, then the rest is not read.
        channel = self.channel
        if self._bodyDone:
            server.Request.finish(self)
        elif not channel.persistent or channel.unreadBody() > DRAIN_LIMIT:
            # Refused early (413, 400...): reading the rest is not worth it.
            channel.persistent = False
            channel.ignoreInput()
            server.Request.finish(self)
        else:
            self._finishPending = True


class ServletChannel(http.HTTPChannel):
    """
    An HTTP/1.1 channel that starts servlets at the end of the head, and
    that its site can drain for a graceful shutdown.
    """

    _closing = False
    _headDeadline = None
    _peer = _host = None

    def connectionMade(self) -> None:
        super().connectionMade()
        site = self.site
        site.connections.add(self)
        if site.observer is not None:
            site.observer.connectionOpened()

    # twisted.web's Request asks both addresses of every request: the
    # local one costs a getsockname() system call each time.  Neither
    # changes while the connection lasts.

    def getPeer(self):
        peer = self._peer
        if peer is None:
            peer = self._peer = super().getPeer()
        return peer

    def getHost(self):
        host = self._host
        if host is None:
            host = self._host = super().getHost()
        return host

    def connectionLost(self, reason) -> None:
        self._cancelHeadDeadline()
        super().connectionLost(reason)
        self.site.channelClosed(self)

    _ignoring = False
    _blankLineSkipped = False

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self._receive(data)
        # Twisted's idle timeout restarts with every byte, so a client
        # trickling a head (slowloris) would hold the connection for
        # ever: a head still incomplete gets the idle time in all.
        if self._headDeadline is None and self.timeOut and self._headIncomplete():
            self._headDeadline = self.callLater(self.timeOut, self._headTooSlow)

    def _receive(self, data: bytes) -> None:
        # LineReceiver.dataReceived(), with each head taken whole.  Bytes
        # that arrive while a request is being handled go to the buffer
        # of twisted.web's raw mode and come back through setLineMode().
        if self._ignoring:
            return  # a closing connection that may read on (TLS shutdown)
        if self._busyReceiving:
            self._buffer += data
            return
        self._busyReceiving = True
        try:
            self._buffer += data
            while self._buffer and not self._ignoring:
                if self.line_mode:
                    if not self._takeHead():
                        return
                else:
                    data, self._buffer = self._buffer, b""
                    self.rawDataReceived(data)
        finally:
            self._busyReceiving = False

    def _takeHead(self) -> bool:
        """
        Start the request whose head is complete in the buffer; false when
        the head is incomplete or was refused.
        """
        if not self.persistent:
            # Bytes after the last request of the connection: dropped.
            self.ignoreInput()
            return False
        buffer = self._buffer
        if buffer.startswith(b"\r\n") and not self._blankLineSkipped:
            # One empty line before a request line is ignored (RFC 9112 2.2).
            self._blankLineSkipped = True
            buffer = self._buffer = buffer[2:]
        end = buffer.find(b"\r\n\r\n")
        limit = self.totalHeadersSize
        if end == -1 or end > limit:
            if len(buffer) > limit:
                line = buffer.find(b"\r\n", 0, limit + 1)
                if line == -1:
                    self._refuse(414, "Request line too long.", buffer)
                else:
                    self._refuse(431, "Request header section too large.", buffer)
            elif buffer.count(b"\n") != buffer.count(b"\r\n"):
                self._refuse(400, "Bare LF in the request head.", buffer)
            return False
        head = buffer[:end]
        self._buffer = buffer[end + 4:]
        self._blankLineSkipped = False
        try:
            self._command, self._path, self._version, fields, length = parseHead(
                head, self.maxHeaders)
        except BadRequest as e:
            self._refuse(e.status, e.message, head, e.headers)
            return False
        request = self.requestFactory(self, len(self.requests))
        self.requests.append(request)
        raw = request.requestHeaders._rawHeaders
        # Names spelt as twisted.web's Headers spells them, its cache first.
        canonical = _nameEncoder._canonicalHeaderCache.get
        for name, value in fields:
            key = canonical(name) or _nameEncoder.encode(name)
            values = raw.get(key)
            if values is None:
                raw[key] = [value]
            else:
                values.append(value)
        self.length = length
        if length is None:
            self._transferDecoder = StrictChunkedDecoder(
                request.handleContentChunk, self._finishRequestBody)
        elif length:
            self._transferDecoder = _IdentityTransferDecoder(
                length, request.handleContentChunk, self._finishRequestBody)
        self.allHeadersReceived()
        if length == 0:
            self.allContentReceived()
        else:
            self.setRawMode()
        return True

    def _refuse(self, status: int, message: str, head: bytes,
                headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        """
        Answer a request that cannot be taken and close the connection.
        """
        _log.info("Request from {peer} refused ({status}): {message}",
                  peer=self.getPeer(), status=status, message=message)
        self.persistent = False
        self.ignoreInput()
        requests = self.requests
        if requests and requests[-1].startedWriting:
            # Its response has begun: cutting it is the only answer left.
            self.loseConnection()
            return
        page = errorPage(status, message)
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, RESPONSES.get(status, b"Error")),
                 b"Server: %s\r\nDate: %s\r\n" % (SERVER_HEADER, httpDate()),
                 b"Content-Type: text/html\r\nContent-Length: %d\r\n" % len(page),
                 b"Connection: close\r\n"]
        lines += [b"%s: %s\r\n" % (name.title(), value) for name, value in headers]
        lines.append(b"\r\n")
        if head[:5] != b"HEAD ":
            lines.append(page)
        self.transport.write(b"".join(lines))
        # A request already handed to a servlet (a bad chunk in its body)
        # has lost its client: its servlet is told, and stays unanswered.
        for request in requests:
            request.connectionLost(Failure(ConnectionDone(message)))
        del requests[:]
        self.loseConnection()

    def _respondToBadRequestAndDisconnect(self) -> None:
        # twisted.web's answer to a malformed chunked body.
        self._refuse(400, "Bad chunked body.", b"")

    def _headIncomplete(self) -> bool:
        if self._handlingRequest or self._transferDecoder is not None:
            return False
        requests = self.requests
        return bool(self._buffer) or bool(
            requests and not getattr(requests[-1], "_streaming", True))

    def _headTooSlow(self) -> None:
        self._headDeadline = None
        if self._headIncomplete():
            self.timeoutConnection()

    def _cancelHeadDeadline(self) -> None:
        deadline, self._headDeadline = self._headDeadline, None
        if deadline is not None and deadline.active():
            deadline.cancel()

    def closeWhenIdle(self) -> None:
        """
        Close now if no request is in progress, else after its response.
        """
        self._closing = True
        if not self.requests:
            self.loseConnection()
            return
        self.persistent = False
        for request in self.requests:
            if not request.startedWriting:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])

    def unreadBody(self) -> float:
        """
        Bytes of the current request body still to come (infinite when
        chunked: nobody knows).
        """
        decoder = self._transferDecoder
        if isinstance(decoder, _IdentityTransferDecoder):
            return decoder.contentLength or 0
        return float("inf") if decoder is not None else 0

    def ignoreInput(self) -> None:
        """
        Drop whatever else the client sends: the connection is closing.
        """
        self._ignoring = True
        self._buffer = b""
        self.rawDataReceived = self.lineReceived = _ignore  # type: ignore[method-assign]

    def allContentReceived(self) -> None:
        # twisted.web's, less its per-request cancel of the idle timer and
        # new one after the response (two DelayedCalls a request, a tenth
        # of the hello path): the timer runs on, re-armed while a request
        # is handled (timeoutConnection) and restarted by requestDone.
        requests = self.requests
        if not requests:
            return
        command, path, version = self._command, self._path, self._version
        del self._command, self._path, self._version
        self.length = 0
        self._transferDecoder = None
        self._handlingRequest = True
        self.setRawMode()  # pipelined bytes wait in twisted.web's buffer
        requests[-1].requestReceived(command, path, version)

    def requestDone(self, request) -> None:
        super().requestDone(request)
        if self.persistent and self.timeOut:
            self.resetTimeout()  # the idle time starts after the response

    def timeoutConnection(self) -> None:
        if self._handlingRequest and self.timeOut:
            # A response in progress is not idleness (the stall timeout
            # watches a client that does not read it).
            self.setTimeout(self.timeOut)
            return
        super().timeoutConnection()

    def checkPersistence(self, request, version) -> bool:
        if self._closing:
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        values = request.requestHeaders._rawHeaders.get(_CONNECTION)
        if values is None:
            return version == b"HTTP/1.1"
        tokens = {token.strip(b" \t").lower() for value in values for token in value.split(b",")}
        if version == b"HTTP/1.1":
            if b"close" in tokens:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])
                return False
            return True
        if b"keep-alive" in tokens and hasattr(request, "keepAlive"):
            # HTTP/1.0 keep-alive (RFC 9112 9.3, appendix C.2.2).
            request.keepAlive()
            return True
        return False

    def allHeadersReceived(self) -> None:
        self._cancelHeadDeadline()
        request = self.requests[-1]
        request._streaming = True
        self._holdContinue = True
        try:
            super().allHeadersReceived()
        finally:
            self._holdContinue = False
        request.headReceived(self._command, self._path, self._version)
        # The servlet wants the body and has not answered yet: invite it.
        self.releaseContinue(True)

    _holdContinue = False
    _continueHeld = False

    def _send100Continue(self) -> None:
        # Twisted sends "100 Continue" before the servlet has seen the head;
        # hold it until the servlet has had its say.
        if self._holdContinue:
            self._continueHeld = True
            self.requests[-1].holdContinue()
        else:
            super()._send100Continue()

    def releaseContinue(self, wanted: bool) -> None:
        """
        Send a held "100 Continue" if C{wanted}, else drop it: a client is
        not invited to upload a body that a 401 or 413 already refused.
        """
        if self._continueHeld:
            self._continueHeld = False
            if wanted:
                super()._send100Continue()


def _ignore(data: bytes) -> None:
    pass




def channelFactory(factory: http.HTTPFactory) -> http._GenericHTTPChannelProtocol:
    """
    Build a channel that still upgrades to HTTP/2 when TLS negotiates it.
    """
    return ServletChannelProtocol(ServletChannel())
