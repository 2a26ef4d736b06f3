# -*- test-case-name: tests.rpc.test_rpc_gateway,tests.rpc.test_rpc_budget -*-
"""
The request side shared by the three RPC servlets: pre-checks, a bounded
request body, dispatch to the service, and one complete answer.

Each protocol servlet only says how to check headers, decode the body and
encode the answer; the order of the checks (404, 405, then the protocol's
400s) is 8.x OSE's.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from netsvc_twisted._constants import (
    SERVER_RESPONSE_ENCODING_ERROR,
    SERVER_RESPONSE_ENCODING_ERROR_MESSAGE,
    SERVER_UNKNOWN_ERROR,
    SERVER_UNKNOWN_ERROR_MESSAGE,
)
from netsvc_twisted._rpc._registry import ServiceBinding
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._service import Service, ServiceWithdrawn
from netsvc_twisted._rpc._wire import CANNOT_ENCODE, EncodingError
from netsvc_twisted._http._budget import BodyHold, admit, sendBusy
from netsvc_twisted._http._observe import watchRpcCall
from netsvc_twisted._http._servlet import HttpServlet

_log = Logger(namespace="netsvc.rpc")

#: Default bound on RPC request bodies; larger ones get 413.
DEFAULT_MAXIMUM_CONTENT_LENGTH = 16 * 1024 * 1024

NO_SERVICE = "No such service available."
NO_LENGTH = "Content length must be specified."
#: Details of failure 50, for a bug of ours; the traceback is in the log.
INTERNAL_ERROR = "internal error, logged by the server"


def mediaType(value: str) -> str:
    """C{text/xml; charset=utf-8} -> C{text/xml}."""
    return value.partition(";")[0].strip().lower()


class RpcServletBase(HttpServlet):
    """
    Base of the protocol servlets; C{binding} is a L{ServiceBinding} (or
    the L{Service}), C{None} when the gateway found no service.

    C{session} as for any servlet; C{maximumContentLength} overrides the
    class attribute of that name (spec 10.2).
    """

    origin = "netsvc"
    methodNotAllowed = "Only POST method supported by servlet."
    maximumContentLength = DEFAULT_MAXIMUM_CONTENT_LENGTH

    def __init__(
        self,
        session: Any,
        binding: ServiceBinding | Service | None,
        maximumContentLength: int | None = None,
    ) -> None:
        HttpServlet.__init__(self, session)
        if isinstance(binding, ServiceBinding):
            binding = binding._service
        self._service: Service | None = binding
        if maximumContentLength is not None:
            self.maximumContentLength = maximumContentLength
        self._chunks: list[bytes] = []
        self._size = 0
        self._finished = False
        #: This request's share of the process's body-memory budget.
        self._hold: BodyHold | None = None

    # Protocol hooks.

    def checkHeaders(self) -> str | None:
        """The 400 message for unusable request headers, else None."""
        return None

    def handleBody(self, body: bytes) -> None:
        """
        Hook: decode the whole request C{body}, call the service, answer.
        """
        raise NotImplementedError

    def sendFailure(self, failure: ServiceFailure) -> None:
        """Answer with C{failure}; must not raise, whatever its text."""
        raise NotImplementedError

    # Request.

    def processRequest(self) -> None:
        """
        The checks of the protocol (spec 10.5, 10.7): 404 without a service,
        405 for a method other than POST, 400 for unusable headers or no length,
        413 for a body over C{maximumContentLength}.
        """
        if self._service is None:
            return self._refuse(404, NO_SERVICE)
        if self.requestMethod() != "POST":
            return self._refuse(405, self.methodNotAllowed)
        problem = self.checkHeaders()
        if problem is not None:
            return self._refuse(400, problem)
        length = self.contentLength()
        if length < 0 and not self.containsHeader("transfer-encoding"):
            return self._refuse(400, NO_LENGTH)
        if length > self.maximumContentLength:
            return self._refuse(413)
        self._hold = admit(self)
        if self._hold is None:
            # admit() has answered 503 with Retry-After.
            self._finished = True

    def processContent(self, content: bytes) -> None:
        """
        Collect the next chunk C{content} of the body (413 past the limit).
        """
        if self._finished:
            return
        self._size += len(content)
        if self._size > self.maximumContentLength:
            self._chunks.clear()
            return self._refuse(413)
        if not self._hold.take(len(content)):
            # The body is parsed whole, so it cannot spool: refuse it.
            self._chunks.clear()
            self._finished = True
            return sendBusy(self)
        self._chunks.append(content)

    def processContentEnd(self) -> None:
        if self._finished:
            return
        body = b"".join(self._chunks)
        self._chunks.clear()
        self.handleBody(body)

    def destroyServlet(self) -> None:
        """
        Drop the collected body; a late answer of the service goes nowhere.
        """
        self._finished = True
        self._chunks.clear()
        if self._hold is not None:
            self._hold.release()
        HttpServlet.destroyServlet(self)

    def _refuse(self, status: int, message: str | None = None) -> None:
        self._finished = True
        self.sendError(status, message)

    # Calling the service.

    def callService(self, methodName: str, params: Any) -> Deferred:
        """
        Call the service with this request's properties; the Deferred
        fails with a L{ServiceFailure} carrying this protocol's origin
        when the service is withdrawn first.

        C{methodName} and C{params} (a list) are the decoded call.
        """
        assert self._service is not None
        properties = {
            "REMOTE_ADDR": self.clientHost(),
            "REMOTE_USER": self.remoteUser(),
        }
        d = self._service._dispatch(methodName, params, properties)
        watchRpcCall(self._session, self._service.serviceName(), methodName, d)
        d.addErrback(self._relabel)
        return d

    def _relabel(self, reason: Failure) -> Failure:
        if isinstance(reason.value, ServiceWithdrawn):
            withdrawn = reason.value
            return Failure(
                ServiceFailure(
                    withdrawn.error, withdrawn.description, self.origin, withdrawn.details
                )
            )
        return reason

    def encodingFailure(self, error: Exception) -> ServiceFailure:
        """
        Failure 52 (Response Encoding Error, spec 10.1) for an answer the
        protocol cannot carry, C{error} being what encoding raised.  The
        codecs' L{EncodingError} texts are fixed and go to the client; any
        other exception is logged and the client gets L{CANNOT_ENCODE}.
        """
        if isinstance(error, EncodingError):
            details = str(error)
        else:
            _log.failure(
                "Encoding an RPC answer failed",
                failure=Failure(error, type(error), error.__traceback__),
            )
            details = CANNOT_ENCODE
        return ServiceFailure(
            SERVER_RESPONSE_ENCODING_ERROR,
            SERVER_RESPONSE_ENCODING_ERROR_MESSAGE,
            self.origin,
            details,
        )

    def _encodedFailure(self, dumps: Any, failure: ServiceFailure) -> bytes:
        """
        C{dumps(failure)}, or when the failure's own text has no form in
        the protocol (L{EncodingError}), C{dumps()} of failure 52 instead.
        """
        try:
            return dumps(failure)
        except EncodingError as e:
            return dumps(self.encodingFailure(e))

    def _failed(self, reason: Failure) -> None:
        self.sendFailure(self.failureOf(reason))

    def failureOf(self, reason: Failure) -> ServiceFailure:
        """
        The L{ServiceFailure} to answer with for C{reason}, the failure of
        a call: the service's own, or failure 50 for an unexpected
        exception (L{internalFailure}).
        """
        if isinstance(reason.value, ServiceFailure):
            return reason.value
        return self.internalFailure(reason)

    def internalFailure(self, reason: Failure) -> ServiceFailure:
        """
        Failure 50 for C{reason}, an error of ours rather than the
        service's: its traceback goes to the log, the client gets only
        a fixed text, never the exception's.
        """
        _log.failure("RPC servlet error", failure=reason)
        return ServiceFailure(
            SERVER_UNKNOWN_ERROR, SERVER_UNKNOWN_ERROR_MESSAGE, self.origin, INTERNAL_ERROR
        )

    def lastResort(self, reason: Failure) -> None:
        """
        The errback ending every answer's chain: C{reason}, a bug of ours,
        is still answered (failure 50), never left unhandled in a Deferred
        with the connection open.
        """
        self.sendFailure(self.internalFailure(reason))

    def encodeObject(self, value: Any) -> tuple:
        """
        Encode C{value}, which the codec does not know, with the service's
        C{encodeObject()} (spec 10.4).
        """
        assert self._service is not None
        return self._service.encodeObject(value)

    # Answering.

    def answer(
        self,
        body: bytes,
        contentType: str,
        headers: tuple[tuple[str, str], ...] = (),
        status: int = 200,
    ) -> None:
        """Send one complete response, unless the client already left.

        C{body} (bytes) goes out with C{contentType}, the extra C{headers}
        (name, value pairs) and C{status}.
        """
        if self._finished:
            return
        self._finished = True
        self.sendResponse(status)
        if status != 204:
            self.sendHeader("Content-Type", contentType)
            self.sendHeader("Content-Length", str(len(body)))
        for name, value in headers:
            self.sendHeader(name, value)
        self.endHeaders()
        if body:
            self.sendContent(body)
        self.endContent()
