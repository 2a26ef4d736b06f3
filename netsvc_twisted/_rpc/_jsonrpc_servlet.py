# -*- test-case-name: tests.rpc.test_rpc_gateway,tests.rpc.test_rpc_interop -*-
"""
The JSON-RPC servlet (spec 10.7): 2.0 and OSE's 1.0-style envelope, each
answered in its own version, always as C{application/json}.

Every answer is encoded on its own, so that one that cannot be (text that
is not Unicode, a value JSON lacks) becomes that call's internal error
and a batch's other answers still go out.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.python.failure import Failure

from netsvc_twisted._constants import (
    SERVER_REQUEST_DECODING_ERROR,
    SERVER_REQUEST_DECODING_ERROR_MESSAGE,
)
from netsvc_twisted._rpc import _jsonrpc_codec as codec
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._servlet import RpcServletBase

CONTENT_TYPE = "application/json"


class JsonRpcServlet(RpcServletBase):
    """
    Serves one JSON-RPC request, or a 2.0 batch of them (answered as an
    array, in order, once every call has finished); 2.0 notifications,
    and batches of nothing but notifications, get 204.

    Spec 10.2, 10.7.
    """

    origin = "netsvc.jsonrpc"

    def handleBody(self, body: bytes) -> None:
        """
        Decode the JSON-RPC request or batch in C{body}, call the methods,
        answer in the request's version (spec 10.7; decisions.md).
        """
        try:
            request = codec.loadsRequest(body)
        except codec.JsonDecodingError as e:
            self._send(None if e.isNotification else self._decodingAnswer(e))
            return
        except Exception:
            self.lastResort(Failure())
            return
        if isinstance(request, list):
            d = gatherResults([self._answerOf(m) for m in request], consumeErrors=True)
            d.addCallback(self._sendBatch)
        else:
            d = self._answerOf(request)
            d.addCallback(self._send)
        d.addErrback(self.lastResort)

    def _answerOf(self, member: codec.JsonCall | codec.JsonDecodingError) -> Deferred:
        """The encoded answer of one call; C{None} for a notification."""
        if isinstance(member, codec.JsonDecodingError):
            return succeed(None if member.isNotification else self._decodingAnswer(member))
        d = self.callService(member.method, member.params)
        d.addCallbacks(
            self._resultOf, self._failureOf, callbackArgs=(member,), errbackArgs=(member,)
        )
        return d

    def _resultOf(self, result: Any, call: codec.JsonCall) -> bytes | None:
        if call.isNotification:
            return None
        try:
            return codec.dumpsResult(call, result, self.encodeObject)
        except Exception as e:
            return self._failureAnswer(self.encodingFailure(e), call.id, call.version)

    def _failureOf(self, reason: Failure, call: codec.JsonCall) -> bytes | None:
        if call.isNotification:
            return None
        return self._failureAnswer(self.failureOf(reason), call.id, call.version)

    def _decodingAnswer(self, error: codec.JsonDecodingError) -> bytes:
        failure = ServiceFailure(
            SERVER_REQUEST_DECODING_ERROR,
            SERVER_REQUEST_DECODING_ERROR_MESSAGE,
            self.origin,
            str(error),
        )
        return self._failureAnswer(failure, error.id, error.version, error.code)

    def _failureAnswer(
        self, failure: ServiceFailure, id: Any, version: str, code: int | None = None
    ) -> bytes:
        try:
            return codec.dumpsFailure(failure, id, version, code)
        except codec.EncodingError as e:
            # The failure's own text is not Unicode; ids were checked on
            # the way in, so this one encodes.
            return codec.dumpsFailure(self.encodingFailure(e), id, version)

    def sendFailure(self, failure: ServiceFailure) -> None:
        self._send(self._failureAnswer(failure, None, "2.0"))

    def _sendBatch(self, answers: list[bytes | None]) -> None:
        answered = [answer for answer in answers if answer is not None]
        self._send(codec.dumpsBatch(answered) if answered else None)

    def _send(self, body: bytes | None) -> None:
        if body is None:
            self.answer(b"", "", status=204)
        else:
            self.answer(body, CONTENT_TYPE)
