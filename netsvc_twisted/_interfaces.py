# -*- test-case-name: tests.http.test_servlet -*-
"""
Interfaces of the servlet model, for adapters and documentation.
"""

from zope.interface import Interface


class IHttpServer(Interface):
    """
    A server object: attached at a path of an L{HttpDaemon} (or wrapped in
    a L{ServletResource}), it authorises every request and builds one
    servlet for it.

    Spec 4.2; L{HttpServer} provides it.
    """

    def servlet(session):
        """
        Return a servlet for this request, or L{None} for a 404.
        """

    def authorise(login, password):
        """
        Return true to accept these Basic credentials (C{""}, C{""} when
        the request carried none).
        """

    def unexpectedException():
        """
        Called inside the C{except} block when C{servlet()} or
        C{authorise()} raised.
        """
