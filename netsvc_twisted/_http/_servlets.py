# -*- test-case-name: tests.http.test_servlet -*-
"""
The stock servlets of spec 4.5-4.7.
"""

from __future__ import annotations

from html import escape

from netsvc_twisted._constants import REDIRECT_TEMPORARY
from netsvc_twisted._http._budget import hasBody
from netsvc_twisted._http._servlet import HttpServlet
from netsvc_twisted._http._session import HttpSession


class ErrorServlet(HttpServlet):
    """
    Answers with one error page; what server objects return to refuse.

    C{session}, the status C{error} and the page text C{content} (spec 4.5).
    """

    def __init__(self, session: HttpSession, error: int, content: str | None = None):
        super().__init__(session)
        self._error = error
        self._content = content

    def processRequest(self) -> None:
        """
        Send the error page of the status given to the constructor (spec 4.5).
        """
        self.sendError(self._error, self._content)


class RedirectServlet(HttpServlet):
    """
    Redirects to C{location}; a path-only location is made absolute.

    For C{session}; C{error} is the status, 302 by default (spec 4.7).
    """

    def __init__(
        self, session: HttpSession, location: str, error: int = REDIRECT_TEMPORARY
    ):
        super().__init__(session)
        if location.startswith("/"):
            location = session.origin() + location
        self._location = location
        self._error = error

    def processRequest(self) -> None:
        """
        Send the redirect: the status given, C{Location} and an empty body
        (spec 4.7).
        """
        self.sendResponse(self._error)
        self.sendHeader("Location", self._location)
        self.sendHeader("Content-Length", "0")
        self.endHeaders()
        self.endContent()


class EchoServlet(HttpServlet):
    """
    Debugging servlet: an HTML page describing the request, followed by
    its body as it arrives.

    For C{session} (spec 4.6).
    """

    def processRequest(self) -> None:
        """
        Send the HTML page describing the request (spec 4.6); the body follows
        as it arrives.
        """
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/html; charset=utf-8")
        self.endHeaders()
        s = self._session
        sections = [
            ("Servlet Details", [
                ("Server-Root", s.serverRoot()), ("Server-Path", s.serverPath()),
                ("Servlet-Path", s.servletPath()), ("Servlet-Info", s.servletInfo()),
            ]),
            ("Session Details", [
                ("Session-Id", s.sessionId()),
                ("Session-Context", str(s.sessionContext())),
            ]),
            ("Request Details", [
                ("URL", s.url()), ("Request-Method", s.requestMethod()),
                ("Server-Host", s.serverHost()), ("Server-Port", s.serverPort()),
                ("Request-Path", s.requestPath()), ("Query-String", s.queryString()),
                ("Protocol-Version", s.protocolVersion()),
                ("Client-Host", s.clientHost()), ("Client-Port", s.clientPort()),
            ] + ([("Remote-User", s.remoteUser())] if s.remoteUser() else [])),
        ]
        out = ["<HTML>\n<HEAD>\n<TITLE>HTTP Echo Server</TITLE>\n</HEAD>\n<BODY>\n"]
        for title, items in sections:
            out.append(f"<H1>{title}</H1>\n<PRE>\n")
            out.extend(f"{label}: {escape(value)}\n" for label, value in items)
            out.append("</PRE>\n")
        raw = s.request.requestHeaders.getAllRawHeaders()
        out.append("<H1>Raw Headers</H1>\n<PRE>\n")
        out.extend(
            escape(f"{name.decode('latin-1')}: {value.decode('latin-1')}") + "\n"
            for name, values in raw for value in values
        )
        out.append("</PRE>\n<H1>Processed Headers</H1>\n<PRE>\n")
        out.extend(escape(f"{k}: {v}") + "\n" for k, v in s.headers().items())
        out.append("</PRE>\n")
        self._hasBody = hasBody(self)
        if self._hasBody:
            out.append("<H1>Request Contents</H1>\n<PRE>\n")
        self.sendContent("".join(out))

    def processContent(self, content: bytes) -> None:
        """
        Echo the next chunk C{content} of the request body, HTML-escaped.
        """
        self.sendContent(escape(content.decode("utf-8", "replace")))

    def processContentEnd(self) -> None:
        self.sendContent("</PRE>\n" if self._hasBody else "")
        self.sendContent("</BODY>\n</HTML>\n")
        self.endContent()
