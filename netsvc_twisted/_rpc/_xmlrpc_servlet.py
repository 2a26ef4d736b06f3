# -*- test-case-name: tests.rpc.test_rpc_gateway -*-
"""
The XML-RPC servlet (spec 10.5): faults travel as HTTP 200 answers, and
an answer XML-RPC cannot carry is a fault, never an invalid document.
"""

from __future__ import annotations

from typing import Any

from twisted.python.failure import Failure

from netsvc_twisted._rpc import _xmlrpc_codec as codec
from netsvc_twisted._constants import (
    SERVER_REQUEST_DECODING_ERROR,
    SERVER_REQUEST_DECODING_ERROR_MESSAGE,
)
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._servlet import RpcServletBase, mediaType

CONTENT_TYPES = ("text/xml", "application/xml")


class XmlRpcServlet(RpcServletBase):
    """
    Serves one XML-RPC request.  C{allowNone} turns on C{<nil/>} in
    answers; without it None goes out as an empty string, as in OSE.

    Spec 10.2, 10.5.
    """

    origin = "netsvc.xmlrpc"
    allowNone = False

    def __init__(self, session: Any, binding: Any, maximumContentLength=None,
                 allowNone: bool | None = None) -> None:
        RpcServletBase.__init__(self, session, binding, maximumContentLength)
        if allowNone is not None:
            self.allowNone = allowNone

    def checkHeaders(self) -> str | None:
        if mediaType(self.contentType()) not in CONTENT_TYPES:
            return "Servlet can only handle text/xml."
        return None

    def handleBody(self, body: bytes) -> None:
        """
        Decode the XML-RPC call in C{body}, call the method, answer; a body
        that does not decode gets fault 54 (spec 10.5).
        """
        try:
            methodName, params = codec.loadsCall(body)
        except codec.DecodingError as e:
            self.sendFailure(
                ServiceFailure(
                    SERVER_REQUEST_DECODING_ERROR,
                    SERVER_REQUEST_DECODING_ERROR_MESSAGE,
                    self.origin,
                    str(e),
                )
            )
            return
        except Exception:
            self.lastResort(Failure())
            return
        d = self.callService(methodName, params)
        d.addCallbacks(self._succeeded, self._failed)
        d.addErrback(self.lastResort)

    def _succeeded(self, result: Any) -> None:
        try:
            body = codec.dumpsResult(result, self.allowNone, self.encodeObject)
        except Exception as e:
            return self.sendFailure(self.encodingFailure(e))
        self.answer(body, "text/xml")

    def sendFailure(self, failure: ServiceFailure) -> None:
        # The failure's own text may have no XML form (a control character).
        self.answer(self._encodedFailure(codec.dumpsFault, failure), "text/xml")
