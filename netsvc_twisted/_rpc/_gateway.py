# -*- test-case-name: tests.rpc.test_rpc_gateway -*-
"""
RPC gateways: server objects that map C{<mount>/<service>} to a service
of the registry and answer with a protocol servlet (spec 10.2).
"""

from __future__ import annotations

from typing import Any

from netsvc_twisted._constants import SERVICE_GROUP
from netsvc_twisted._rpc._jsonrpc_servlet import JsonRpcServlet
from netsvc_twisted._rpc._netrpc_servlet import CONTENT_TYPE as NETRPC_TYPE
from netsvc_twisted._rpc._netrpc_servlet import RpcServlet
from netsvc_twisted._rpc._registry import ServiceBinding, registry
from netsvc_twisted._rpc._servlet import DEFAULT_MAXIMUM_CONTENT_LENGTH, mediaType
from netsvc_twisted._http._server import HttpServer
from netsvc_twisted._http._servlets import EchoServlet, ErrorServlet
from netsvc_twisted._rpc._xmlrpc_servlet import CONTENT_TYPES as XMLRPC_TYPES
from netsvc_twisted._rpc._xmlrpc_servlet import XmlRpcServlet


class HttpBridge(HttpServer):
    """
    Tracks the services a selection can see and hands each request with
    its service binding to C{create(session, binding)}.

    Spec 10.2: C{selection} and C{type} (C{SERVICE_GROUP},
    C{SERVICE_REGISTRY}, C{SERVICE_NAME} or C{SERVICE_ADDRESS}) say which
    services it sees.  Subclass it and override C{create()} for a protocol
    of your own.
    """

    def __init__(self, selection: str, type: int = SERVICE_GROUP) -> None:
        HttpServer.__init__(self)
        self._selection = selection
        self._type = type

    def lookupBinding(self, servletPath: str) -> ServiceBinding | None:
        """
        The binding of the service the servlet path C{servletPath} names among
        those the selection sees, or L{None} (spec 10.2).
        """
        service = registry.select(self._selection, self._type, servletPath)
        return None if service is None else service.serviceBinding()

    def servlet(self, session: Any):
        """
        C{create(session, binding)} for the service the servlet path of
        C{session} names, or a 404 L{ErrorServlet} (spec 10.2).
        """
        binding = self.lookupBinding(session.servletPath())
        if binding is None:
            return ErrorServlet(session, 404)
        return self.create(session, binding)

    def create(self, session: Any, binding: ServiceBinding):
        """
        Hook: the servlet answering the request of C{session} for the service
        of C{binding}.  The default is an L{EchoServlet} (spec 10.2).
        """
        return EchoServlet(session)


class _GatewayBase(HttpBridge):
    """A bridge whose servlet also answers the unknown-service 404."""

    maximumContentLength = DEFAULT_MAXIMUM_CONTENT_LENGTH

    def servlet(self, session: Any):
        """
        C{create(session, binding)}, the binding being L{None} for an unknown
        service: the protocol servlet answers its 404 (spec 10.2).
        """
        return self.create(session, self.lookupBinding(session.servletPath()))


class RpcGateway(_GatewayBase):
    """
    NET-RPC, XML-RPC or JSON-RPC, chosen per request from the media type
    (parameters ignored): C{application/x-rpc}, C{text/xml}, else JSON.

    Spec 10.2 (8.x); C{selection} and C{type} as for L{HttpBridge}.  Body
    size: C{maximumContentLength} (413 beyond it).
    """

    def create(self, session: Any, binding: ServiceBinding | None):
        """
        The protocol servlet for the media type of the request of C{session},
        for the service of C{binding} (L{None}: it answers 404).
        """
        kind = mediaType(session.contentType())
        if kind == NETRPC_TYPE:
            factory = RpcServlet
        elif kind in XMLRPC_TYPES:
            factory = XmlRpcServlet
        else:
            factory = JsonRpcServlet
        return factory(session, binding, self.maximumContentLength)


class XmlRpcGateway(_GatewayBase):
    """XML-RPC only; C{allowNone=True} sends None as C{<nil/>}.

    Spec 10.2, 10.5; C{selection} and C{type} as for L{HttpBridge}.
    """

    def __init__(
        self, selection: str, type: int = SERVICE_GROUP, allowNone: bool = False
    ) -> None:
        _GatewayBase.__init__(self, selection, type)
        self.allowNone = allowNone

    def create(self, session: Any, binding: ServiceBinding | None):
        """
        An XML-RPC servlet for C{session} and the service of C{binding}.
        """
        return XmlRpcServlet(session, binding, self.maximumContentLength, self.allowNone)


class JsonRpcGateway(_GatewayBase):
    """JSON-RPC only.

    Spec 10.2, 10.7; C{selection} and C{type} as for L{HttpBridge}.
    """

    def create(self, session: Any, binding: ServiceBinding | None):
        """
        A JSON-RPC servlet for C{session} and the service of C{binding}.
        """
        return JsonRpcServlet(session, binding, self.maximumContentLength)
