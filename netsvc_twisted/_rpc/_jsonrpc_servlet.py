# -*- test-case-name: tests.rpc.test_rpc_gateway -*-
"""
The JSON-RPC servlet (spec 10.7): 2.0 and OSE's 1.0-style envelope, each
answered in its own version.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.python.failure import Failure

from netsvc_twisted._rpc import _jsonrpc_codec as codec
from netsvc_twisted._constants import (
    SERVER_REQUEST_DECODING_ERROR,
    SERVER_REQUEST_DECODING_ERROR_MESSAGE,
)
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._servlet import RpcServletBase

_CONTENT_TYPES = {"1.0": "text/plain; charset=utf-8", "2.0": "application/json"}


class JsonRpcServlet(RpcServletBase):
    """
    Serves one JSON-RPC request, or a 2.0 batch of them (answered as an
    array, in order, once every call has finished); 2.0 notifications,
    and batches of nothing but notifications, get 204.
    """

    origin = "netsvc.jsonrpc"

    def handleBody(self, body: bytes) -> None:
        try:
            request = codec.loadsRequest(body)
        except codec.JsonDecodingError as e:
            self._send(codec.dumpsFailure(self._decodingFailure(e), e.id, e.version), e.version)
            return
        if isinstance(request, list):
            self._batch(request)
            return
        d = self._answerOf(request)
        d.addCallback(self._sendOne, request.version)

    def _batch(self, members: list[codec.JsonCall | codec.JsonDecodingError]) -> None:
        answers = []
        for member in members:
            if isinstance(member, codec.JsonDecodingError):
                failure = self._decodingFailure(member)
                answers.append(succeed(codec.failureDocument(failure, member.id, member.version)))
            else:
                answers.append(self._answerOf(member))
        d = gatherResults(answers)
        d.addCallback(self._sendBatch)

    def _answerOf(self, call: codec.JsonCall) -> Deferred:
        """The answer document of one call; C{None} for a notification."""
        d = self.callService(call.method, call.params)
        d.addCallbacks(self._resultOf, self._failureOf, callbackArgs=(call,), errbackArgs=(call,))
        return d

    def _resultOf(self, result: Any, call: codec.JsonCall) -> dict | None:
        if call.isNotification:
            return None
        try:
            return codec.resultDocument(call, result, self.encodeObject)
        except Exception as e:
            return codec.failureDocument(self.encodingFailure(e), call.id, call.version)

    def _failureOf(self, reason: Failure, call: codec.JsonCall) -> dict | None:
        if call.isNotification:
            return None
        return codec.failureDocument(reason.value, call.id, call.version)

    def _decodingFailure(self, error: codec.JsonDecodingError) -> ServiceFailure:
        return ServiceFailure(
            SERVER_REQUEST_DECODING_ERROR,
            SERVER_REQUEST_DECODING_ERROR_MESSAGE,
            self.origin,
            str(error),
        )

    def _sendOne(self, document: dict | None, version: str) -> None:
        if document is None:
            return self.answer(b"", "", status=204)
        self._send(codec.dumpsDocument(document), version)

    def _sendBatch(self, documents: list[dict | None]) -> None:
        answered = [document for document in documents if document is not None]
        if not answered:
            return self.answer(b"", "", status=204)
        self._send(codec.dumpsDocument(answered), "2.0")

    def _send(self, body: bytes, version: str) -> None:
        self.answer(body, _CONTENT_TYPES[version])
