# -*- test-case-name: tests.test_rpc_gateway -*-
"""
The JSON-RPC servlet (spec 10.7): 2.0 and OSE's 1.0-style envelope, each
answered in its own version.
"""

from __future__ import annotations

from typing import Any

from twisted.python.failure import Failure

from netsvc_twisted import _jsonrpc_codec as codec
from netsvc_twisted._constants import (
    SERVER_REQUEST_DECODING_ERROR,
    SERVER_REQUEST_DECODING_ERROR_MESSAGE,
)
from netsvc_twisted._rpcfailure import ServiceFailure
from netsvc_twisted._rpcservlet import RpcServletBase

_CONTENT_TYPES = {"1.0": "text/plain; charset=utf-8", "2.0": "application/json"}


class JsonRpcServlet(RpcServletBase):
    """Serves one JSON-RPC request; 2.0 notifications get 204."""

    origin = "netsvc.jsonrpc"

    def handleBody(self, body: bytes) -> None:
        try:
            call = codec.loadsCall(body)
        except codec.JsonDecodingError as e:
            failure = ServiceFailure(
                SERVER_REQUEST_DECODING_ERROR,
                SERVER_REQUEST_DECODING_ERROR_MESSAGE,
                self.origin,
                str(e),
            )
            self._send(codec.dumpsFailure(failure, e.id, e.version), e.version)
            return
        self._call = call
        d = self.callService(call.method, call.params)
        d.addCallbacks(self._succeeded, self._failed)

    def _succeeded(self, result: Any) -> None:
        call = self._call
        if call.isNotification:
            return self.answer(b"", "", status=204)
        try:
            body = codec.dumpsResult(call, result, self.encodeObject)
        except Exception as e:
            return self._sendFailure(self.encodingFailure(e))
        self._send(body, call.version)

    def _failed(self, reason: Failure) -> None:
        if self._call.isNotification:
            return self.answer(b"", "", status=204)
        self._sendFailure(reason.value)

    def _sendFailure(self, failure: ServiceFailure) -> None:
        call = self._call
        self._send(codec.dumpsFailure(failure, call.id, call.version), call.version)

    def _send(self, body: bytes, version: str) -> None:
        self.answer(body, _CONTENT_TYPES[version])
