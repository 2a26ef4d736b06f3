# -*- test-case-name: tests.http.test_servlet -*-
"""
L{HttpServlet}: one object per request, the OSE way.

The request accessors delegate to the session; the response calls go
through a small output buffer (C{_bufferedMaximum}, spec 4.4) into the
response state machine.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.logger import Logger

from netsvc_twisted._http._response import BODY
from netsvc_twisted._http._session import ACCESSORS, HttpSession
from netsvc_twisted._http._status import statusText as _statusText

_log = Logger(namespace="netsvc.http")


def _delegate(name: str) -> Callable[..., Any]:
    def accessor(self: HttpServlet, *args: Any) -> Any:
        return getattr(self._session, name)(*args)

    accessor.__name__ = accessor.__qualname__ = name
    accessor.__doc__ = getattr(HttpSession, name).__doc__
    return accessor


class HttpServlet:
    """
    Base class of every servlet: override C{processRequest()} (and
    C{processContent()} for request bodies).

    Spec 4.4, 1.2-1.5, 2.6; congestion: spec 5.
    """

    _bufferedMaximum = 4096
    _buffered = 0
    _congestionCallback: Callable[[int, int], Any] | None = None
    #: False in a subclass that overrides flushContent(), which then
    #: sees every flush.
    _plainFlush = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plainFlush = cls.flushContent is HttpServlet.flushContent

    def __init__(self, session: HttpSession) -> None:
        self._session = session
        self._response = session.response
        self._buffer: list[bytes] = []

    # Hooks.

    def processRequest(self) -> None:
        """
        Hook: the request head has arrived (spec 1.2, 4.4).  Override it to
        answer; the body, if any, follows in C{processContent()}.  The default
        answers 501.
        """
        self.sendError(501)

    def processContent(self, content: bytes) -> None:
        """
        Hook: the next chunk of the request body, as C{bytes} (spec 2.5, 4.4),
        called as the chunks arrive.  The default ignores the body.

        C{content} is never empty.
        """
        pass

    def processContentEnd(self) -> None:
        """
        Beyond OSE: the request body has fully arrived (called once, also
        when there was no body), unless the response already completed.
        Chunked bodies have no C{contentLength()}, so this is how a
        servlet knows it has everything.
        """

    def destroyServlet(self) -> None:
        """
        Hook: the servlet's request is over, because the response completed or
        the client went away (spec 1.4); called exactly once.  Cancel jobs and
        timers here and call the base method, which drops a congestion
        subscription.  Response calls made afterwards are no-ops.
        """
        self.ignoreCongestion()

    def unexpectedException(self) -> None:
        """
        Called inside the C{except} block when one of the servlet's hooks
        raised (spec 1.5); the default logs the traceback with the request.
        What the client gets is decided after it: a 500 page if no status went
        out yet, else the connection is aborted.
        """
        _log.failure(
            "Exception in servlet {servlet!r} for {method} {url}",
            servlet=self,
            method=self._session.requestMethod(),
            url=self._session.url(),
        )

    # Response.

    def statusText(self, status: int) -> str:
        """
        The reason phrase of HTTP status code C{status} (spec 2.10), as
        L{netsvc_twisted.statusText}.
        """
        return _statusText(status)

    def sendResponse(self, status: int, message: str | None = None) -> None:
        """
        Start the response with status code C{status} and reason C{message}
        (the standard phrase when L{None}) (spec 2.6, 4.4).  Must come first.
        """
        self._response.sendResponse(status, message)

    def sendHeader(self, name: str, value: str) -> None:
        """
        Send header C{name}: C{value} (both strings) (spec 2.6).  After
        C{endHeaders()} it is ignored with a logged warning.  Without a
        C{Content-Length} header the body is sent chunked.
        """
        self._response.sendHeader(name, value)

    def endHeaders(self) -> None:
        """
        End the headers (spec 2.6, 4.4); the body may follow.  Content buffered
        before this call is discarded, as in OSE.
        """
        self._response.endHeaders()
        self._buffer.clear()
        self._buffered = 0

    def sendContent(self, data: bytes | str) -> None:
        """
        Add C{data} to the body (spec 4.4): C{bytes} (or any bytes-like
        object, copied), or C{str} encoded with the charset of the
        Content-Type sent, else UTF-8.  It goes through a
        buffer of C{_bufferedMaximum} bytes (4096), flushed when it fills.

        @raise ResponseStateError: before C{endHeaders()} or after the end.
        """
        response = self._response
        if isinstance(data, str):
            data = data.encode(response.charset)
        elif type(data) is not bytes:
            # A bytearray or memoryview, which the servlet may refill once
            # it has it back: what is sent is what it held now.
            data = bytes(memoryview(data))
        if self._plainFlush and not self._buffer and len(data) > self._bufferedMaximum:
            # A part bigger than the buffer, with nothing buffered: what
            # flushContent() would write, without the buffer's round trip.
            response.write(data)
            return
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered > self._bufferedMaximum:
            self.flushContent()
        elif response.state != BODY:
            # Fail at the misplaced call, not at a later flush.
            response.write(b"")

    def flushContent(self) -> None:
        """
        Hand what C{sendContent()} buffered to the connection now, as one block
        (spec 4.4).  Call it before pausing production, so the client sees what
        was produced so far.  (From a job, on plain TCP, the block may wait for
        the end of the job queue's drain to leave with the next ones: still in
        this reactor turn.)
        """
        buffer = self._buffer
        if not buffer:
            return
        block = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        buffer.clear()
        self._buffered = 0
        self._response.write(block)

    def endContent(self) -> None:
        """
        Flush the buffer and complete the response (spec 2.6, 4.4); the
        servlet is then destroyed.
        """
        self.flushContent()
        self._response.endContent()

    def sendError(self, status: int, body: str | None = None) -> None:
        """
        Send a complete error response with status C{status}: the standard
        error page, or C{body} as its text (spec 2.9, 2.10).  Only before
        anything else was sent; buffered content is dropped.
        """
        self._response.sendError(status, body)

    def sendComplete(self, raw: bytes | str) -> None:
        """
        Send C{raw} (C{bytes} or C{str}), a complete HTTP response the servlet
        formatted itself (status line, headers and body), instead of the
        response calls (spec 4.4).
        """
        self._response.sendComplete(raw)

    def shutdown(self, delay: float = -1) -> None:
        """
        Close the connection: C{-1} after queued data is written, C{0} at
        once, C{n > 0} waiting at most C{n} milliseconds for the data.

        C{delay} is that number (spec 4.4); no response is completed.
        """
        self._response.abort(delay if delay <= 0 else delay / 1000.0)

    # Congestion (spec 5); the bridge to Twisted's producers lives in
    # _congestion.

    def monitorCongestion(self, callback: Callable[[int, int], Any]) -> None:
        """
        Have C{callback(status, pending)} called when the connection's state
        changes: C{CONNECTION_BLOCKED}, C{CONNECTION_CLEARED} or
        C{CONNECTION_BACKLOG}, with the number of blocks pending (spec 5.2,
        5.3).  The first call subscribes; later calls replace the callback.
        """
        if self._congestionCallback is None:
            self.subscribeCongestion()
        self._congestionCallback = callback

    def ignoreCongestion(self) -> None:
        """
        Drop the callback of C{monitorCongestion()} and unsubscribe (spec 5.3).
        """
        if self._congestionCallback is not None:
            self._congestionCallback = None
            self.unsubscribeCongestion()

    def subscribeCongestion(self) -> None:
        """
        Low level (spec 4.4): have C{handleCongestion()} called for this
        connection's congestion events; C{monitorCongestion()} does it for you.
        """
        from netsvc_twisted._http._congestion import subscribe

        subscribe(self)

    def unsubscribeCongestion(self) -> None:
        """
        Low level (spec 4.4): undo C{subscribeCongestion()}.
        """
        from netsvc_twisted._http._congestion import unsubscribe

        unsubscribe(self)

    def handleCongestion(self, status: int, pending: int) -> None:
        """
        Hook: the connection's congestion C{status} changed, with C{pending}
        blocks queued (spec 5.2).  The default calls the callback given to
        C{monitorCongestion()}; a subclass may override it instead.
        """
        if self._congestionCallback is not None:
            self._congestionCallback(status, pending)


for _name in ACCESSORS:
    setattr(HttpServlet, _name, _delegate(_name))
del _name
