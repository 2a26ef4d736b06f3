# -*- test-case-name: tests.hosting.test_wsgi,tests.hosting.test_wsgi_frameworks,tests.hosting.test_wsgi_memory -*-
"""
WSGI hosting (spec 8.2): C{WsgiServer(application)} mounts any PEP 3333
application; each request runs it on Twisted's thread pool.

The WSGI machinery is Twisted's own (L{twisted.web.wsgi}): its response
object talks to a small request facade that turns its calls into servlet
calls, so the servlet life cycle, access log and congestion handling of
the core apply to WSGI responses too.  Writes from the application wait
while the client is congested (back-pressure), as PEP 3333 intends; the
same holds for C{wsgi.file_wrapper}, which streams a file block by block.
The request body is kept in memory up to a threshold and within the
process's request-body budget (L{netsvc_twisted._http._budget}), then
spooled to disk.
"""

from __future__ import annotations

import tempfile
from typing import Any, Callable
from wsgiref.util import FileWrapper

from twisted.internet.defer import Deferred
from twisted.internet.threads import blockingCallFromThread
from twisted.web.http_headers import Headers
from twisted.web.wsgi import _WSGIResponse

from netsvc_twisted._constants import CONNECTION_BLOCKED, CONNECTION_CLEARED
from netsvc_twisted._http._budget import BodyHold, admit
from netsvc_twisted._http._server import HttpServer
from netsvc_twisted._http._servlet import HttpServlet

#: Request bodies above this many bytes are refused with 413.
DEFAULT_MAXIMUM_CONTENT_LENGTH = 64 * 1024 * 1024
#: Request bodies are kept in memory up to this size, then spooled to disk.
DEFAULT_SPOOL_THRESHOLD = 1024 * 1024
#: The smallest block C{wsgi.file_wrapper} reads: every block is one trip
#: from the thread pool to the reactor, so Werkzeug's 8 KiB would be slow.
FILE_BLOCK = 64 * 1024


def fileWrapper(filelike: Any, blksize: int = FILE_BLOCK) -> FileWrapper:
    """C{wsgi.file_wrapper} (PEP 3333): the file is read one block at a
    time as the response is written, so it streams at the client's pace;
    its C{close()} is called when the response ends."""
    return FileWrapper(filelike, max(blksize, FILE_BLOCK))


def pathInfo(requestPath: str, serverPath: str, servletPath: str) -> str:
    """PEP 3333's PATH_INFO: the request path below the mount, so ``/``
    for the mount with a trailing slash and ``""`` only for the mount
    itself."""
    if serverPath == "/":
        return requestPath
    if requestPath == serverPath or requestPath.startswith(serverPath + "/"):
        return requestPath[len(serverPath):]
    # A server object that rebound the servlet path: trust that.
    return "/" + servletPath if servletPath else ""


class _Host:
    def __init__(self, port: str) -> None:
        self.port = port


class _RequestFacade:
    """
    What L{_WSGIResponse} needs of a twisted.web request, served by a
    servlet.  Only ever used from the reactor thread.
    """

    def __init__(self, servlet: "WsgiServlet", content: Any) -> None:
        request = servlet._session.request
        self._servlet = servlet
        self._request = request
        self.method = request.method
        self.uri = request.uri
        self.clientproto = request.clientproto
        self.requestHeaders = request.requestHeaders
        self.responseHeaders = Headers()
        self.content = content
        self.defaultContentType = None
        # Twisted builds SCRIPT_NAME and PATH_INFO from these segments.
        serverPath = servlet.serverPath()
        rest = pathInfo(servlet.requestPath(), serverPath, servlet.servletPath())
        self.prepath = [] if serverPath == "/" else serverPath[1:].encode().split(b"/")
        self.postpath = rest[1:].encode().split(b"/") if rest else []
        self._code = 200
        self._message: bytes | None = None
        self._failed = False
        self._headersSent = False

    def getClientAddress(self) -> Any:
        return self._request.getClientAddress()

    def getHeader(self, name: bytes) -> bytes | None:
        return self._request.getHeader(name)

    def getRequestHostname(self) -> bytes:
        return self._servlet.serverHost().encode("latin-1")

    def getHost(self) -> _Host:
        return _Host(self._servlet.serverPort())

    def isSecure(self) -> bool:
        return self._request.isSecure()

    def notifyFinish(self) -> Deferred:
        d: Deferred = Deferred()
        self._servlet._finishWatchers.append(d)
        return d

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        self._code = code
        self._message = message
        # Twisted's own error path is the only caller without a message.
        self._failed = message is None and code == 500

    def _sendHeaders(self) -> None:
        servlet = self._servlet
        message = None if self._message is None else self._message.decode("latin-1")
        servlet.sendResponse(self._code, message)
        for name, values in self.responseHeaders.getAllRawHeaders():
            for value in values:
                servlet.sendHeader(name.decode("latin-1"), value.decode("latin-1"))
        servlet.endHeaders()
        self._headersSent = True

    def write(self, data: bytes) -> Deferred | None:
        servlet = self._servlet
        if servlet._gone:
            return None
        if not self._headersSent:
            self._sendHeaders()
        servlet.sendContent(data)
        servlet.flushContent()
        return servlet._waitUntilClear()

    def finish(self) -> None:
        servlet = self._servlet
        if servlet._gone:
            return
        if not self._headersSent:
            if self._failed:
                servlet.sendError(500)
                return
            self._sendHeaders()
        servlet.endContent()

    def loseConnection(self) -> None:
        if not self._servlet._gone:
            self._servlet.shutdown(0)


class _Response(_WSGIResponse):
    """Twisted's WSGI response with back-pressure and PEP 3333's rule on
    a second C{start_response} call."""

    _startCalled = False

    def startResponse(self, status: str, headers: list, excInfo: Any = None):
        if self._startCalled and excInfo is None:
            raise AssertionError("start_response() called again without exc_info")
        try:
            write = _WSGIResponse.startResponse(self, status, headers, excInfo)
        finally:
            excInfo = None
        self._startCalled = True
        return write

    def write(self, data: bytes) -> None:
        def wsgiWrite(started: bool) -> Deferred | None:
            if not started:
                self._sendResponseHeaders()
            return self.request.write(data)

        try:
            blockingCallFromThread(self.reactor, wsgiWrite, self.started)
        finally:
            self.started = True


class WsgiServlet(HttpServlet):
    """
    Runs C{application} for one request once its body has arrived
    (bounded by C{maximumContentLength}; kept in memory up to
    C{spoolThreshold} bytes while the process's body budget allows, else
    spooled to disk).  While that budget is spent a request with a body
    gets 503 with C{Retry-After}.

    For C{session}; C{application}, C{threadpool} and C{reactor} as for
    L{WsgiServer} (spec 8.2).
    """

    maximumContentLength = DEFAULT_MAXIMUM_CONTENT_LENGTH
    spoolThreshold = DEFAULT_SPOOL_THRESHOLD

    def __init__(self, session: Any, application: Callable, threadpool: Any = None,
                 reactor: Any = None) -> None:
        HttpServlet.__init__(self, session)
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self._reactor = reactor
        self._threadpool = threadpool or reactor.getThreadPool()
        self._application = application
        # max_size=0: rolled over by processContent(), not by itself.
        self._body = tempfile.SpooledTemporaryFile(max_size=0)
        self._hold: BodyHold | None = None
        self._onDisk = False
        self._size = 0
        self._gone = False
        self._refused = False
        self._blocked = False
        self._clearWaiters: list[Deferred] = []
        self._finishWatchers: list[Deferred] = []

    def processRequest(self) -> None:
        """
        Refuse a body over C{maximumContentLength} (413); else wait for the
        body (spec 8.2).
        """
        if self.contentLength() > self.maximumContentLength:
            self._refused = True
            self.sendError(413)
            return
        self._hold = admit(self)
        if self._hold is None:
            self._refused = True  # 503: the process's body memory is spent

    def processContent(self, content: bytes) -> None:
        """
        Spool the next chunk C{content} of the body (413 past
        C{maximumContentLength}).
        """
        if self._refused:
            return
        size = len(content)
        self._size += size
        if self._size > self.maximumContentLength:
            self._refused = True
            self.sendError(413)
            return
        if not self._onDisk:
            hold = self._hold
            if self._size > self.spoolThreshold or hold is None or not hold.take(size):
                self._body.rollover()  # type: ignore[attr-defined]
                self._onDisk = True
                if hold is not None:
                    hold.release()
        self._body.write(content)

    def processContentEnd(self) -> None:
        if self._refused:
            return
        self._body.seek(0)
        self.monitorCongestion(self._congestion)
        facade = _RequestFacade(self, self._body)
        response = _Response(self._reactor, self._threadpool, self._application, facade)
        self._fixEnviron(response.environ)
        response.start()

    def _fixEnviron(self, environ: dict) -> None:
        """Spec 8.2 over Twisted's defaults."""
        environ.pop("HTTP_CONTENT_TYPE", None)
        environ.pop("HTTP_CONTENT_LENGTH", None)
        if not environ.get("CONTENT_TYPE"):
            environ.pop("CONTENT_TYPE", None)
        # The whole body is here, chunked or not: say how long it is.
        environ["CONTENT_LENGTH"] = str(self._size)
        environ["wsgi.input_terminated"] = True
        environ["wsgi.file_wrapper"] = fileWrapper
        environ.setdefault("HTTP_HOST", f"{self.serverHost()}:{self.serverPort()}")
        if self.remoteUser():
            environ["REMOTE_USER"] = self.remoteUser()

    def _congestion(self, status: int, pending: int) -> None:
        if status == CONNECTION_BLOCKED:
            self._blocked = True
        elif status == CONNECTION_CLEARED:
            self._blocked = False
            self._release()

    def _waitUntilClear(self) -> Deferred | None:
        if not self._blocked:
            return None
        d: Deferred = Deferred()
        self._clearWaiters.append(d)
        return d

    def _release(self) -> None:
        waiters, self._clearWaiters = self._clearWaiters, []
        for d in waiters:
            d.callback(None)

    def destroyServlet(self) -> None:
        """
        The client went away or the response ended: stop writing the
        application's output, and let its thread finish (spec 8.2).
        """
        self._gone = True
        self._blocked = False
        if self._hold is not None:
            self._hold.release()
        self._release()
        watchers, self._finishWatchers = self._finishWatchers, []
        for d in watchers:
            d.callback(None)
        HttpServlet.destroyServlet(self)


class WsgiServer(HttpServer):
    """Mounts a WSGI application: C{daemon.attach("/app", WsgiServer(app))}.

    C{application} is the WSGI callable; it runs in C{threadpool} (the
    reactor's by default), C{reactor} being the one to answer from (spec
    8.2, decisions.md).
    """

    def __init__(self, application: Callable, threadpool: Any = None,
                 reactor: Any = None) -> None:
        HttpServer.__init__(self)
        self._application = application
        self._threadpool = threadpool
        self._reactor = reactor

    def servlet(self, session: Any) -> WsgiServlet:
        """
        A L{WsgiServlet} running the application for C{session} (spec 8.2).
        """
        return WsgiServlet(session, self._application, self._threadpool, self._reactor)
