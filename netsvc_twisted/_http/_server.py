# -*- test-case-name: tests.http.test_servlet -*-
"""
Server objects: factories of one servlet per request, mounted at a path.
"""

from __future__ import annotations

import posixpath

from twisted.logger import Logger
from zope.interface import implementer

from netsvc_twisted._constants import REDIRECT_PERMANENT
from netsvc_twisted._interfaces import IHttpServer
from netsvc_twisted._http._servlets import RedirectServlet
from netsvc_twisted._http._session import HttpSession

_log = Logger(namespace="netsvc.http")


@implementer(IHttpServer)
class HttpServer:
    """
    Base server object: no servlet (404) and everybody allowed.

    C{maxContentLength} caps request bodies (413 beyond it); L{None}
    leaves them to the servlet, which sees them in chunks anyway.
    """

    maxContentLength: int | None = None

    def servlet(self, session: HttpSession):
        return None

    def authorise(self, login: str, password: str) -> bool:
        return True

    def unexpectedException(self) -> None:
        _log.failure("Exception in server object {server!r}", server=self)


class RedirectServer(HttpServer):
    """
    Redirects a whole subtree to C{location}, keeping the servlet path and
    the query string.
    """

    def __init__(self, location: str, error: int = REDIRECT_PERMANENT) -> None:
        self._location = location
        self._error = error

    def servlet(self, session: HttpSession):
        url = session.url()
        _, sep, query = url.partition("?")
        servletPath = session.servletPath()
        target = (
            posixpath.join(self._location, servletPath) if servletPath else self._location
        )
        return RedirectServlet(session, target + sep + query, self._error)
