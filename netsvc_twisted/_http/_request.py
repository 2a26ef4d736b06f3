# -*- test-case-name: tests.http.test_http_sockets -*-
"""
The twisted.web request and channel underneath L{HttpDaemon}.

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

from twisted.web import http, server
from twisted.web.http import _IdentityTransferDecoder, parse_qs

from netsvc_twisted._http._h2 import ServletChannelProtocol
from netsvc_twisted._http._response import headerName

if TYPE_CHECKING:
    from netsvc_twisted._http._lifecycle import ServletCall

SERVER_HEADER = b"netsvc_twisted"
_SERVER = headerName(b"server")
_DATE = headerName(b"date")
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
        self._call = site.dispatch(self, path)

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
        observer = getattr(self.site, "observer", None)
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

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        # Twisted's idle timeout restarts with every byte, so a client
        # trickling a head (slowloris) would hold the connection for
        # ever: a head still incomplete gets the idle time in all.
        if self._headDeadline is None and self.timeOut and self._headIncomplete():
            self._headDeadline = self.callLater(self.timeOut, self._headTooSlow)

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
        self.rawDataReceived = self.lineReceived = _ignore  # type: ignore[method-assign]

    def allContentReceived(self) -> None:
        if self.requests:
            super().allContentReceived()

    def checkPersistence(self, request, version) -> bool:
        if self._closing:
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        return super().checkPersistence(request, version)

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
