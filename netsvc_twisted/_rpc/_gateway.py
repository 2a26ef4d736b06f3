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
    """

    def __init__(self, selection: str, type: int = SERVICE_GROUP) -> None:
        HttpServer.__init__(self)
        self._selection = selection
        self._type = type

    def lookupBinding(self, servletPath: str) -> ServiceBinding | None:
        service = registry.select(self._selection, self._type, servletPath)
        return None if service is None else service.serviceBinding()

    def servlet(self, session: Any):
        binding = self.lookupBinding(session.servletPath())
        if binding is None:
            return ErrorServlet(session, 404)
        return self.create(session, binding)

    def create(self, session: Any, binding: ServiceBinding):
        return EchoServlet(session)


class _GatewayBase(HttpBridge):
    """A bridge whose servlet also answers the unknown-service 404."""

    maximumContentLength = DEFAULT_MAXIMUM_CONTENT_LENGTH

    def servlet(self, session: Any):
        return self.create(session, self.lookupBinding(session.servletPath()))


class RpcGateway(_GatewayBase):
    """
    NET-RPC, XML-RPC or JSON-RPC, chosen per request from the media type
    (parameters ignored): C{application/x-rpc}, C{text/xml}, else JSON.
    """

    def create(self, session: Any, binding: ServiceBinding | None):
        kind = mediaType(session.contentType())
        if kind == NETRPC_TYPE:
            factory = RpcServlet
        elif kind in XMLRPC_TYPES:
            factory = XmlRpcServlet
        else:
            factory = JsonRpcServlet
        return factory(session, binding, self.maximumContentLength)


class XmlRpcGateway(_GatewayBase):
    """XML-RPC only; C{allowNone=True} sends None as C{<nil/>}."""

    def __init__(
        self, selection: str, type: int = SERVICE_GROUP, allowNone: bool = False
    ) -> None:
        _GatewayBase.__init__(self, selection, type)
        self.allowNone = allowNone

    def create(self, session: Any, binding: ServiceBinding | None):
        return XmlRpcServlet(session, binding, self.maximumContentLength, self.allowNone)


class JsonRpcGateway(_GatewayBase):
    """JSON-RPC only."""

    def create(self, session: Any, binding: ServiceBinding | None):
        return JsonRpcServlet(session, binding, self.maximumContentLength)
