# -*- test-case-name: tests.http.test_mounting -*-
"""
L{ServletResource}: any server object as a twisted.web resource, so it
mounts inside an existing L{Site}.

A foreign Site reads the whole body before it renders, so here the
servlet gets the body after the fact, replayed from C{request.content}.
"""

from __future__ import annotations

from twisted.web import server
from twisted.web.resource import IResource
from zope.interface import implementer

from netsvc_twisted._http._lifecycle import ServletCall
from netsvc_twisted._http._paths import PathError, decodeText, normalisePath
from netsvc_twisted._http._request import replayBody
from netsvc_twisted._http._response import Response


@implementer(IResource)
class ServletResource:
    """
    Serves every path below its mount point with C{server}.
    """

    isLeaf = True

    def __init__(self, server) -> None:
        # Not "server": Resource.putChild() overwrites that attribute.
        self.httpServer = server

    def getChildWithDefault(self, name: bytes, request):
        return self

    def putChild(self, path: bytes, child) -> None:
        raise NotImplementedError("a ServletResource has no children")

    def render(self, request):
        # Servlets choose their own Content-Type, as under HttpDaemon.
        request.defaultContentType = None
        try:
            path = normalisePath(request.path)
        except PathError as e:
            Response(request, lambda completed: None).sendError(e.status, e.message)
            return server.NOT_DONE_YET
        prepath = b"/".join(request.prepath)
        serverPath = "/" + decodeText(prepath) if prepath else "/"
        servletPath = "/".join(decodeText(p) for p in request.postpath)
        call = ServletCall(request, self.httpServer, path, serverPath.rstrip("/") or "/",
                           servletPath.lstrip("/"))
        call.start()
        if not call._destroyed:
            replayBody(call, request.content)
        return server.NOT_DONE_YET
