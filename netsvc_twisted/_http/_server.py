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

    Spec 4.2, 1.2; Basic authentication: spec 2.4.
    """

    maxContentLength: int | None = None

    def servlet(self, session: HttpSession):
        """
        Return the servlet for this request, built from C{session} (the request,
        see L{HttpSession}), or L{None} for a 404 (spec 4.2).  Called once per
        request, after C{authorise()}.  The default returns L{None}.
        """
        return None

    def authorise(self, login: str, password: str) -> bool:
        """
        Return true to accept the request's HTTP Basic credentials C{login} and
        C{password} (C{""} and C{""} when it carried none) (spec 2.4, 4.2); a
        false answer sends 401.  The default accepts everybody.
        """
        return True

    def unexpectedException(self) -> None:
        """
        Called inside the C{except} block when C{servlet()} or C{authorise()}
        raised (spec 1.5); the default logs the traceback, and the client gets
        a 500 page.
        """
        _log.failure("Exception in server object {server!r}", server=self)


class RedirectServer(HttpServer):
    """
    Redirects a whole subtree to C{location}, keeping the servlet path and
    the query string.

    C{error} is the status, 301 by default (spec 4.8).
    """

    def __init__(self, location: str, error: int = REDIRECT_PERMANENT) -> None:
        self._location = location
        self._error = error

    def servlet(self, session: HttpSession):
        """
        A L{RedirectServlet} to C{location} joined with the servlet path of
        C{session}, query string kept (spec 4.8).
        """
        url = session.url()
        _, sep, query = url.partition("?")
        servletPath = session.servletPath()
        target = (
            posixpath.join(self._location, servletPath) if servletPath else self._location
        )
        return RedirectServlet(session, target + sep + query, self._error)
