# -*- test-case-name: tests.rpc.test_rpc_client -*-
"""
The NET-RPC client protocol (spec 10.3, 10.9).
"""

from __future__ import annotations

from typing import Any

from netsvc_twisted._rpc import _netrpc_codec as codec
from netsvc_twisted.netrpc._client import Protocol, headersInvalid


class NetRpcProtocol(Protocol):
    userAgent = "OSE/NET-RPC"

    def encodeCall(self, methodName: str, params: tuple) -> tuple[dict[str, str], bytes]:
        body = codec.dumps(list(params), self.encode)
        return {
            "Content-Type": "application/x-rpc",
            "X-RPC-Version": "1.1",
            "X-RPC-Content-Type": "request",
            "X-RPC-Request-Method": methodName,
        }, body

    def decodeAnswer(self, headers: dict[str, str], body: bytes) -> Any:
        if headers.get("content-type", "").partition(";")[0].strip() != "application/x-rpc":
            raise headersInvalid("Unexpected content type.")
        if headers.get("x-rpc-version", "").strip() != "1.1":
            raise headersInvalid("Unexpected x-rpc version.")
        kind = headers.get("x-rpc-content-type", "").strip()
        if kind == "response":
            return codec.loads(body, self.decode)
        if kind == "failure":
            raise codec.loadsFailure(body)
        raise headersInvalid("Unexpected x-rpc content type.")
