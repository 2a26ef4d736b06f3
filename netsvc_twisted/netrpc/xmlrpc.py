# -*- test-case-name: tests.rpc.test_rpc_client -*-
"""
XML-RPC clients with OSE's failure mapping (spec 10.5, 10.9): a fault's
C{faultString} is split back into origin, description and details.
"""

from __future__ import annotations

from typing import Any, Callable

from netsvc_twisted._rpc import _xmlrpc_codec as codec
from netsvc_twisted.netrpc._client import (
    BlockingClient,
    DeferredClient,
    Protocol,
    headersInvalid,
)


class XmlRpcProtocol(Protocol):
    userAgent = "OSE/XML-RPC"

    def __init__(self, encode: Callable | None, decode: Callable | None, nil: bool):
        Protocol.__init__(self, encode, decode)
        self.nil = nil

    def encodeCall(self, methodName: str, params: tuple) -> tuple[dict[str, str], bytes]:
        return {"Content-Type": "text/xml"}, codec.dumpsCall(
            methodName, params, self.nil, self.encode
        )

    def decodeAnswer(self, headers: dict[str, str], body: bytes) -> Any:
        kind = headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind not in ("text/xml", "application/xml"):
            raise headersInvalid("Unexpected content type.")
        return codec.loadsResponse(body)


class RemoteService(BlockingClient):
    """Blocking XML-RPC client; set C{_nil = True} to send None as nil.

    Spec 10.5, 10.9; the arguments of L{netsvc_twisted.netrpc.RemoteService}.
    """

    _nil = False

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        return XmlRpcProtocol(encode, decode, self._nil)


class DeferredRemoteService(DeferredClient):
    """XML-RPC client whose calls return Deferreds.

    Beyond OSE (spec 10.5, 10.9), for code on the reactor.
    """

    _nil = False

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        return XmlRpcProtocol(encode, decode, self._nil)


__all__ = ["RemoteService", "DeferredRemoteService"]
