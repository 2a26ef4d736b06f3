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
    accessor.__doc__ = f"Same as the session's C{{{name}()}}."
    return accessor


class HttpServlet:
    """
    Base class of every servlet: override C{processRequest()} (and
    C{processContent()} for request bodies).
    """

    _bufferedMaximum = 4096
    _buffered = 0
    _congestionCallback: Callable[[int, int], Any] | None = None

    def __init__(self, session: HttpSession) -> None:
        self._session = session
        self._response = session.response
        self._buffer: list[bytes] = []

    # Hooks.

    def processRequest(self) -> None:
        self.sendError(501)

    def processContent(self, content: bytes) -> None:
        pass

    def processContentEnd(self) -> None:
        """
        Beyond OSE: the request body has fully arrived (called once, also
        when there was no body), unless the response already completed.
        Chunked bodies have no C{contentLength()}, so this is how a
        servlet knows it has everything.
        """

    def destroyServlet(self) -> None:
        self.ignoreCongestion()

    def unexpectedException(self) -> None:
        _log.failure(
            "Exception in servlet {servlet!r} for {method} {url}",
            servlet=self,
            method=self._session.requestMethod(),
            url=self._session.url(),
        )

    # Response.

    def statusText(self, status: int) -> str:
        return _statusText(status)

    def sendResponse(self, status: int, message: str | None = None) -> None:
        self._response.sendResponse(status, message)

    def sendHeader(self, name: str, value: str) -> None:
        self._response.sendHeader(name, value)

    def endHeaders(self) -> None:
        self._response.endHeaders()
        self._buffer.clear()
        self._buffered = 0

    def sendContent(self, data: bytes | str) -> None:
        response = self._response
        if isinstance(data, str):
            data = data.encode(response.charset)
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered > self._bufferedMaximum:
            self.flushContent()
        elif response.state != BODY:
            # Fail at the misplaced call, not at a later flush.
            response.write(b"")

    def flushContent(self) -> None:
        buffer = self._buffer
        if not buffer:
            return
        block = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        buffer.clear()
        self._buffered = 0
        self._response.write(block)

    def endContent(self) -> None:
        self.flushContent()
        self._response.endContent()

    def sendError(self, status: int, body: str | None = None) -> None:
        self._response.sendError(status, body)

    def sendComplete(self, raw: bytes | str) -> None:
        self._response.sendComplete(raw)

    def shutdown(self, delay: float = -1) -> None:
        """
        Close the connection: C{-1} after queued data is written, C{0} at
        once, C{n > 0} waiting at most C{n} milliseconds for the data.
        """
        self._response.abort(delay if delay <= 0 else delay / 1000.0)

    # Congestion (spec 5); the bridge to Twisted's producers lives in
    # _congestion.

    def monitorCongestion(self, callback: Callable[[int, int], Any]) -> None:
        if self._congestionCallback is None:
            self.subscribeCongestion()
        self._congestionCallback = callback

    def ignoreCongestion(self) -> None:
        if self._congestionCallback is not None:
            self._congestionCallback = None
            self.unsubscribeCongestion()

    def subscribeCongestion(self) -> None:
        from netsvc_twisted._http._congestion import subscribe

        subscribe(self)

    def unsubscribeCongestion(self) -> None:
        from netsvc_twisted._http._congestion import unsubscribe

        unsubscribe(self)

    def handleCongestion(self, status: int, pending: int) -> None:
        if self._congestionCallback is not None:
            self._congestionCallback(status, pending)


for _name in ACCESSORS:
    setattr(HttpServlet, _name, _delegate(_name))
del _name
