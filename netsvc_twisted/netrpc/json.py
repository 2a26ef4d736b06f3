# -*- test-case-name: tests.rpc.test_rpc_client -*-
"""
JSON-RPC 2.0 clients (they also read OSE's 1.0-style answers).
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

from netsvc_twisted._rpc import _jsonrpc_codec as codec
from netsvc_twisted.netrpc._client import BlockingClient, DeferredClient, Protocol

_ids = itertools.count(1)


class JsonRpcProtocol(Protocol):
    userAgent = "netsvc_twisted/JSON-RPC"

    def encodeCall(self, methodName: str, params: tuple) -> tuple[dict[str, str], bytes]:
        body = codec.dumpsCall(methodName, params, next(_ids), "2.0", self.encode)
        return {"Content-Type": "application/json"}, body

    def decodeAnswer(self, headers: dict[str, str], body: bytes) -> Any:
        return codec.loadsResponse(body)


class RemoteService(BlockingClient):
    """Blocking JSON-RPC client.

    Spec 10.7, 10.9; the arguments of L{netsvc_twisted.netrpc.RemoteService}.
    """

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        return JsonRpcProtocol(encode, decode)


class DeferredRemoteService(DeferredClient):
    """JSON-RPC client whose calls return Deferreds.

    Beyond OSE (spec 10.7, 10.9), for code on the reactor.
    """

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        return JsonRpcProtocol(encode, decode)


__all__ = ["RemoteService", "DeferredRemoteService"]
