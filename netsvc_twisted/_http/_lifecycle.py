# -*- test-case-name: tests.http.test_servlet -*-
"""
One request's trip through a server object and its servlet (spec 1.2,
1.5): authorisation, C{servlet()}, the hooks with the exception policy of
decisions.md, and C{destroyServlet()} exactly once.
"""

from __future__ import annotations

import binascii
import re
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.python.failure import Failure

from netsvc_twisted._http._paths import decodeText
from netsvc_twisted._http._response import BODY, Response, headerName
from netsvc_twisted._http._server import HttpServer
from netsvc_twisted._http._servlet import HttpServlet
from netsvc_twisted._http._session import HttpSession

if TYPE_CHECKING:
    from twisted.web.server import Request

_log = Logger(namespace="netsvc.http")

#: Seconds a failed response may take to flush what it wrote before the
#: connection is cut.
ABORT_GRACE = 10.0

_AUTH_FAILED = "Authorization Failed."
_AUTHORIZATION = headerName(b"authorization")
_NO_SERVLET = "No servlet loaded to handle request."
_handleCongestion = HttpServlet.handleCongestion


def _terminate() -> None:
    from twisted.internet import reactor

    _log.info("SystemExit raised by a servlet: stopping")
    if reactor.running:
        reactor.stop()


def _endedAlready(completed: bool) -> None:
    pass


#: Control characters, which RFC 7617 2 forbids in a user-id or password.
_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def parseBasic(value: bytes) -> tuple[str, str] | None:
    """
    Decode C{Basic} credentials strictly; L{None} when malformed (bad
    base64, no colon, a control character).
    """
    try:
        decoded = binascii.a2b_base64(value.strip(), strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    text = decodeText(decoded)
    login, sep, password = text.partition(":")
    if not sep or _CONTROLS.search(text):
        return None
    return login, password


class ServletCall:
    """
    Drives one request: created when the request head is complete, fed
    body chunks, told when the body ended and when the client went away.
    """

    servlet: HttpServlet | None = None
    #: The site's IHttpObserver, set by the site when metrics are on.
    observer: Any = None
    _destroyed = False
    _bodyEnded = False
    _limit: int | None = None
    _received = 0

    def __init__(
        self,
        request: Request,
        server: HttpServer,
        requestPath: str,
        serverPath: str,
        servletPath: str,
        absoluteHost: str | None = None,
    ) -> None:
        self.server = server
        response = self.response = Response(request, self._ended)
        response.call = self
        session = self.session = HttpSession(
            request, requestPath, serverPath, servletPath, absoluteHost
        )
        session.response = response
        if not getattr(request, "reportsConnectionLost", False):
            request.notifyFinish().addErrback(self._clientGone)

    # Driving.

    def start(self) -> None:
        if not self._authorise():
            return
        session = self.session
        self._limit = getattr(self.server, "maxContentLength", None)
        if self._limit is not None and session.contentLength() > self._limit:
            self._tooLarge()
            return
        try:
            servlet = self.server.servlet(session)
        except SystemExit:
            _terminate()
            return
        except Exception:
            self._serverFailed()
            servlet = None
            self.response.sendError(500)
            return
        if servlet is None:
            self.response.sendError(404, _NO_SERVLET)
            return
        self.servlet = servlet
        if self.observer is not None:
            self.observer.servletStarted()
        self._call(servlet.processRequest)

    def content(self, data: bytes) -> None:
        servlet = self.servlet
        if self.observer is not None:
            self.observer.bodyReceived(len(data))
        if servlet is not None and not self._destroyed:
            if self._limit is not None:
                self._received += len(data)
                if self._received > self._limit:
                    self._tooLarge()
                    return
            self._call(servlet.processContent, data)

    def _tooLarge(self) -> None:
        _log.info("Request body over {limit} bytes refused", limit=self._limit)
        response = self.response
        # The rest of the body is not worth reading.
        channel = response.request.channel
        if channel is not None:
            channel.persistent = False
        if response.retract():
            response.sendError(413, "The request body is too large.")
        else:
            response.abort(ABORT_GRACE)

    def contentEnd(self) -> None:
        self._bodyEnded = True
        servlet = self.servlet
        if servlet is not None and not self._destroyed:
            self._call(servlet.processContentEnd)

    def congestion(self, servlet: HttpServlet, status: int, pending: int) -> None:
        if not self._destroyed:
            if type(servlet).handleCongestion is _handleCongestion:
                # The default hook calls the callback: call it ourselves.
                callback = servlet._congestionCallback
                if callback is not None:
                    self._call(callback, status, pending)
            else:
                self._call(servlet.handleCongestion, status, pending)

    # Policy.

    def _authorise(self) -> bool:
        session = self.session
        raw = session.request.requestHeaders._rawHeaders.get(_AUTHORIZATION)
        if raw:
            # RFC 7617: the scheme is case-insensitive (OSE wanted "Basic ").
            scheme, _, value = raw[0].partition(b" ")
            if scheme.lower() != b"basic":
                self.response.sendError(501, "Authorization type not implemented.")
                return False
            credentials = parseBasic(value)
            if credentials is None and type(self.server).authorise is HttpServer.authorise:
                # Malformed, but the server asked for no login: anonymous.
                return True
        elif type(self.server).authorise is HttpServer.authorise:
            # Anonymous request to a server that lets everybody in.
            return True
        else:
            credentials = ("", "")
        allowed = False
        if credentials is not None:
            try:
                allowed = bool(self.server.authorise(*credentials))
            except SystemExit:
                _terminate()
                return False
            except Exception:
                self._serverFailed()
        if not allowed:
            self.response.sendError(
                401, _AUTH_FAILED, [(b"www-authenticate", b'Basic realm=""')]
            )
            return False
        session._remoteUser = credentials[0]  # type: ignore[index]
        session.request._netsvcUser = credentials[0]  # type: ignore[index]
        return True

    def _serverFailed(self) -> None:
        try:
            self.server.unexpectedException()
        except Exception:
            _log.failure("unexpectedException() of {server!r} failed", server=self.server)

    def _call(self, hook: Any, *args: Any) -> None:
        """
        Run a servlet hook under the exception policy: log, then a 500 page
        if nothing went out yet, else abort so the client sees a truncated
        response, never a complete-looking one.
        """
        response = self.response
        response.inHook = True
        try:
            hook(*args)
        except SystemExit:
            _terminate()
        except Exception:
            self.servletFailed()
        finally:
            response.inHook = False
        if response.state == BODY and not response.request.startedWriting:
            # Headers ended inside the hook wait for the first content so
            # both leave in one write; a servlet that now waits for a
            # timer must not keep them from the client.
            response.flushHeaders()

    def servletFailed(self) -> None:
        servlet = self.servlet
        try:
            if servlet is not None:
                servlet.unexpectedException()
            else:
                _log.failure("Exception handling a request")
        except Exception:
            _log.failure("unexpectedException() of {servlet!r} failed", servlet=servlet)
        response = self.response
        if response.retract():
            response.sendError(500)
        else:
            # What was written goes out, the end of the response never
            # does: the client sees a truncated response.
            response.abort(ABORT_GRACE)

    # Endings.

    def _ended(self, completed: bool) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        # Nothing reaches this call any more: drop the links back to it so
        # the request, its headers and the servlet are freed by reference
        # counting at once, not left as cyclic garbage for the collector
        # (19 objects a request, which made every request slower).
        response = self.response
        response._onEnd = _endedAlready
        response.call = None
        request = response.request
        if getattr(request, "_call", None) is self:
            request._call = None
        servlet = self.servlet
        if servlet is not None:
            if self.observer is not None:
                self.observer.servletEnded()
            try:
                servlet.destroyServlet()
            except SystemExit:
                _terminate()
            except Exception:
                _log.failure("Exception in destroyServlet() of {servlet!r}", servlet=servlet)

    def _clientGone(self, reason: Failure) -> None:
        self.response.clientGone()
        return None
