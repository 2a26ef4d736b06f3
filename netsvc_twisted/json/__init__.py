# -*- test-case-name: tests.rpc.test_rpc_gateway -*-
"""
JSON-RPC gateway and servlet, as OSE's C{netsvc.json}.
"""

from netsvc_twisted._rpc._jsonrpc_servlet import JsonRpcServlet as RpcServlet
from netsvc_twisted._rpc._gateway import JsonRpcGateway as RpcGateway

__all__ = ["RpcGateway", "RpcServlet"]
