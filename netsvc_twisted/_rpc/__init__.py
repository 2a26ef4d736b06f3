# -*- test-case-name: tests.rpc.test_rpc_gateway,tests.test_layout -*-
"""
Remote calls: services and their registry, L{RpcGateway} choosing NET-RPC,
XML-RPC or JSON-RPC per request, and one codec and one servlet module per
protocol (the codecs are shared with the clients in L{netsvc_twisted.netrpc}).

Imports C{_http}, C{_events} and below. Read C{_service} and C{_gateway}
first, then C{_servlet} (what every protocol servlet shares).
"""
