# -*- test-case-name: tests.rpc.test_rpc_gateway -*-
"""
XML-RPC gateway and servlet, as OSE's C{netsvc.xmlrpc}.
"""

from netsvc_twisted._rpc._gateway import XmlRpcGateway as RpcGateway
from netsvc_twisted._rpc._xmlrpc_servlet import XmlRpcServlet as RpcServlet

__all__ = ["RpcGateway", "RpcServlet"]
