# -*- test-case-name: tests.rpc.test_rpc_gateway -*-
"""
The NET-RPC servlet (spec 10.3): OSE's own protocol, headers first.
"""

from __future__ import annotations

from typing import Any


from netsvc_twisted._rpc import _netrpc_codec as codec
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._servlet import RpcServletBase, mediaType

CONTENT_TYPE = "application/x-rpc"
VERSION = "1.1"


class RpcServlet(RpcServletBase):
    """Serves one NET-RPC request for the service of C{binding}.

    Spec 10.2, 10.3: C{session}, and C{binding} as for the other protocol
    servlets, for custom server objects.
    """

    origin = "netsvc.servlet"
    methodNotAllowed = "Request must use POST."

    def checkHeaders(self) -> str | None:
        if mediaType(self.contentType()) != CONTENT_TYPE:
            return "Only support application/x-rpc requests."
        if self.contentLength() < 0 and not self.containsHeader("transfer-encoding"):
            return "Content length must be specified."
        headers = self.headers()
        version = headers.get("x-rpc-version")
        if version is None:
            return "No version number specified."
        if version.strip() != VERSION:
            return "Unsupported version."
        kind = headers.get("x-rpc-content-type")
        if kind is None:
            return "No x-rpc content type indicator."
        if kind.strip() != "request":
            return "Unexpected x-rpc content type."
        method = headers.get("x-rpc-request-method")
        if method is None:
            return "No request method specified."
        if not method.strip():
            return "Invalid request method."
        self._methodName = method.strip()
        return None

    def handleBody(self, body: bytes) -> None:
        """
        Decode the NET-RPC C{body}, call the method, answer (spec 10.3).
        """
        assert self._service is not None
        try:
            params = codec.loads(body, self._service.decodeValue)
        except Exception:
            params = None
        if not isinstance(params, list):
            self._refuse(400, "Request has invalid format.")
            return
        d = self.callService(self._methodName, params)
        d.addCallbacks(self._succeeded, self._failed)
        d.addErrback(self.lastResort)

    def _succeeded(self, result: Any) -> None:
        try:
            body = codec.dumps(result, self.encodeObject)
        except Exception as e:
            return self.sendFailure(self.encodingFailure(e))
        self._send(body, "response")

    def sendFailure(self, failure: ServiceFailure) -> None:
        self._send(self._encodedFailure(codec.dumpsFailure, failure), "failure")

    def _send(self, body: bytes, kind: str) -> None:
        self.answer(
            body,
            CONTENT_TYPE,
            (("X-RPC-Version", VERSION), ("X-RPC-Content-Type", kind)),
        )
