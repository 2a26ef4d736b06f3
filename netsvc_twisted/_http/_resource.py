# -*- test-case-name: tests.http.test_mounting,tests.forms.test_form_mounted -*-
"""
L{ServletResource}: any server object as a twisted.web resource, so it
mounts inside an existing L{Site}.

A foreign Site reads the whole body before it renders, so here the
servlet gets the body after the fact, replayed from C{request.content}
through the same hooks (and so the same streaming decoders and limits)
as under L{HttpDaemon}.  A Site left to parse form submissions itself
has already decoded every form POST into C{request.args} in memory by
then, which nothing here can undo: the first request says so, once per
Site, with the fix.
"""

from __future__ import annotations

import weakref

from twisted.logger import Logger
from twisted.web import server
from twisted.web.resource import IResource
from zope.interface import implementer

from netsvc_twisted._http._lifecycle import ServletCall
from netsvc_twisted._http._paths import PathError, decodeText, normalisePath
from netsvc_twisted._http._request import replayBody
from netsvc_twisted._http._response import Response

_log = Logger(namespace="netsvc.http")

FORM_PARSING_WARNING = (
    "{site!r} parses form submissions into request.args, in memory, before "
    "ServletResource gets them (an 80 MB upload can cost 1 GB): create it as "
    "Site(root, parsePOSTFormSubmission=False) so servlets decode bodies as "
    "they do under HttpDaemon"
)

#: Sites already warned about (weakly: a Site may go away).
_warnedSites: weakref.WeakSet = weakref.WeakSet()


def warnIfSiteParsesForms(request) -> bool:
    """
    Log L{FORM_PARSING_WARNING} once per Site whose requests twisted.web
    still decodes into C{request.args}; True when it does.
    """
    if not getattr(request, "_parsePOSTFormSubmission", True):
        return False
    site = getattr(request, "site", None)
    if site is None:
        channel = getattr(request, "channel", None)
        site = getattr(channel, "site", None)
    if site is not None:
        try:
            if site in _warnedSites:
                return True
            _warnedSites.add(site)
        except TypeError:  # not weakly referenceable: warn every time
            pass
    _log.warn(FORM_PARSING_WARNING, site=site)
    return True


@implementer(IResource)
class ServletResource:
    """
    Serves every path below its mount point with C{server}.

    Beyond OSE: mounts C{server} (any server object, as for
    L{HttpDaemon.attach}) in a twisted.web resource tree; C{serverPath()} is
    where the resource is mounted.  See docs/howto/mounting.
    """

    isLeaf = True

    def __init__(self, server) -> None:
        # Not "server": Resource.putChild() overwrites that attribute.
        self.httpServer = server

    def getChildWithDefault(self, name: bytes, request):
        """
        L{IResource}: every path C{name} below the mount belongs to the server,
        so the resource is its own child (C{request} is not used).
        """
        return self

    def putChild(self, path: bytes, child) -> None:
        """
        L{IResource}: refused (C{path}, C{child}); a server object has no child
        resources.

        @raise NotImplementedError: always.
        """
        raise NotImplementedError("a ServletResource has no children")

    def render(self, request):
        """
        L{IResource}: serve C{request} with the server object, as
        L{HttpDaemon} would: authorisation, C{servlet()}, then the servlet's
        hooks, the body replayed from C{request.content}.
        """
        warnIfSiteParsesForms(request)
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
