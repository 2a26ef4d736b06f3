# -*- test-case-name: tests.test_rpc_gateway -*-
"""
XML-RPC gateway and servlet, as OSE's C{netsvc.xmlrpc}.
"""

from netsvc_twisted._rpcgateway import XmlRpcGateway as RpcGateway
from netsvc_twisted._xmlrpc_servlet import XmlRpcServlet as RpcServlet

__all__ = ["RpcGateway", "RpcServlet"]
