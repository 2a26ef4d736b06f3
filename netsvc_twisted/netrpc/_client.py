# -*- test-case-name: tests.rpc.test_rpc_client -*-
"""
What the three RPC clients share: URL checks, the method proxy, the
mapping of HTTP outcomes onto failures (spec 10.9), and two transports,
a blocking one (http.client) and a Deferred one (twisted.web.client.Agent).

A protocol is a small object saying how to encode a call and decode an
answer; the transports never look inside bodies.
"""

from __future__ import annotations

import base64
import http.client
from io import BytesIO
from typing import Any, Callable
from urllib.parse import urlsplit

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.internet.protocol import Protocol as _WireProtocol
from twisted.web.client import Agent, FileBodyProducer, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers

from netsvc_twisted._constants import (
    CLIENT_REQUEST_ENCODING_ERROR,
    CLIENT_REQUEST_ENCODING_ERROR_MESSAGE,
    CLIENT_RESPONSE_DECODING_ERROR,
    CLIENT_RESPONSE_DECODING_ERROR_MESSAGE,
    CLIENT_RESPONSE_HEADERS_INVALID,
    CLIENT_RESPONSE_HEADERS_INVALID_MESSAGE,
    CLIENT_SERVICE_ADDRESS_INVALID,
    CLIENT_SERVICE_ADDRESS_INVALID_MESSAGE,
    CLIENT_SERVICE_UNAVAILABLE,
    CLIENT_SERVICE_UNAVAILABLE_MESSAGE,
    CLIENT_UNKNOWN_ERROR,
    CLIENT_UNKNOWN_ERROR_MESSAGE,
)
from netsvc_twisted._rpc._wire import (
    CANNOT_DECODE,
    CANNOT_ENCODE,
    DecodingError,
    EncodingError,
)
from netsvc_twisted._rpc._failure import (
    AddressInvalid,
    AuthenticationFailure,
    ServiceFailure,
    ServiceUnavailable,
    TransportFailure,
)

ORIGIN = "netrpc"


def headersInvalid(details: str) -> ServiceFailure:
    return ServiceFailure(
        CLIENT_RESPONSE_HEADERS_INVALID,
        CLIENT_RESPONSE_HEADERS_INVALID_MESSAGE,
        ORIGIN,
        details,
    )


class Protocol:
    """How one RPC protocol encodes calls and decodes answers."""

    userAgent = "netsvc_twisted"

    def __init__(self, encode: Callable | None = None, decode: Callable | None = None):
        self.encode = encode
        self.decode = decode

    def encodeCall(self, methodName: str, params: tuple) -> tuple[dict[str, str], bytes]:
        raise NotImplementedError

    def decodeAnswer(self, headers: dict[str, str], body: bytes) -> Any:
        raise NotImplementedError


def _encodeCall(protocol: Protocol, methodName: str, params: tuple):
    """
    The call's headers and body.  What the protocol cannot carry (an
    integer beyond XML-RPC's 64 bits, NaN, text that is not Unicode) is
    failure 42 with the codec's fixed description, and nothing is sent.
    """
    try:
        return protocol.encodeCall(methodName, params)
    except ServiceFailure:
        raise
    except Exception as e:
        raise ServiceFailure(
            CLIENT_REQUEST_ENCODING_ERROR,
            CLIENT_REQUEST_ENCODING_ERROR_MESSAGE,
            ORIGIN,
            str(e) if isinstance(e, EncodingError) else CANNOT_ENCODE,
        ) from e


def _decodeAnswer(
    protocol: Protocol, status: int, reason: str, headers: dict[str, str], body: bytes
) -> Any:
    if status != 200:
        details = body.decode("utf-8", "replace")
        cls = {401: AuthenticationFailure, 404: ServiceUnavailable}.get(
            status, TransportFailure
        )
        raise cls(status, reason, ORIGIN, details)
    length = headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) != len(body):
        raise headersInvalid("Body length does not match Content-Length.")
    try:
        return protocol.decodeAnswer(headers, body)
    except ServiceFailure:
        raise
    except DecodingError as e:
        raise ServiceFailure(
            CLIENT_RESPONSE_DECODING_ERROR,
            CLIENT_RESPONSE_DECODING_ERROR_MESSAGE,
            ORIGIN,
            str(e),
        ) from e
    except Exception as e:
        raise ServiceFailure(
            CLIENT_UNKNOWN_ERROR, CLIENT_UNKNOWN_ERROR_MESSAGE, ORIGIN, CANNOT_DECODE
        ) from e


def _unavailable(error: BaseException | Failure) -> ServiceUnavailable:
    text = error.getErrorMessage() if isinstance(error, Failure) else str(error)
    return ServiceUnavailable(
        CLIENT_SERVICE_UNAVAILABLE, CLIENT_SERVICE_UNAVAILABLE_MESSAGE, ORIGIN, text
    )


class _Endpoint:
    """A checked URL plus credentials."""

    def __init__(self, url: str, login: str | None, password: str | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AddressInvalid(
                CLIENT_SERVICE_ADDRESS_INVALID,
                CLIENT_SERVICE_ADDRESS_INVALID_MESSAGE,
                ORIGIN,
                url,
            )
        self.url = url
        self.parts = parts
        self.headers: dict[str, str] = {}
        if login is not None and password is not None:
            token = base64.b64encode(f"{login}:{password}".encode("utf-8"))
            self.headers["Authorization"] = "Basic " + token.decode("ascii")


class _Method:
    """C{service.a.b(...)} calls method C{"a.b"}."""

    def __init__(self, call: Callable[[str, tuple], Any], name: str) -> None:
        self._call = call
        self._name = name

    def __getattr__(self, name: str) -> "_Method":
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._call, f"{self._name}.{name}")

    def __call__(self, *args: Any) -> Any:
        return self._call(self._name, args)


class BlockingClient:
    """
    Calls block the calling thread, for scripts and threads other than
    the reactor's (never call it from the reactor thread).
    """

    _protocol: Protocol
    _timeout: float | None = 60

    def __init__(self, url: str, login: str | None = None, password: str | None = None,
                 encode: Callable | None = None, decode: Callable | None = None) -> None:
        self._endpoint = _Endpoint(url, login, password)
        self._protocol = self._makeProtocol(encode, decode)
        self._request: bytes = b""
        self._response: bytes = b""

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        raise NotImplementedError

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._invoke, name)

    def _invoke(self, methodName: str, params: tuple) -> Any:
        protocol = self._protocol
        headers, body = _encodeCall(protocol, methodName, params)
        endpoint = self._endpoint
        parts = endpoint.parts
        headers = {**endpoint.headers, **headers, "User-Agent": protocol.userAgent,
                   "Connection": "close"}
        cls = (http.client.HTTPSConnection if parts.scheme == "https"
               else http.client.HTTPConnection)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._request = body
        connection = cls(parts.hostname, parts.port, timeout=self._timeout)
        try:
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
            except OSError as e:
                raise _unavailable(e) from e
            except http.client.HTTPException as e:
                raise headersInvalid(str(e) or type(e).__name__) from e
            try:
                data = response.read()
            except (OSError, http.client.HTTPException) as e:
                raise headersInvalid(str(e) or type(e).__name__) from e
        finally:
            connection.close()
        self._response = data
        answerHeaders = {k.lower(): v for k, v in response.getheaders()}
        return _decodeAnswer(protocol, response.status, response.reason,
                             answerHeaders, data)


class _Collector(_WireProtocol):
    """Gathers a response body (readBody() warns on Agent's transports)."""

    def __init__(self, finished: Deferred) -> None:
        self._finished = finished
        self._chunks: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self._chunks.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if reason is None or reason.check(ResponseDone, PotentialDataLoss):
            self._finished.callback(b"".join(self._chunks))
        else:
            self._finished.errback(reason)


class DeferredClient:
    """
    Calls return Deferreds; for code running on the reactor.  Built on
    L{twisted.web.client.Agent}; pass your own C{agent} to share a pool.
    """

    _protocol: Protocol

    def __init__(self, url: str, login: str | None = None, password: str | None = None,
                 encode: Callable | None = None, decode: Callable | None = None,
                 agent: Agent | None = None, reactor: Any = None) -> None:
        self._endpoint = _Endpoint(url, login, password)
        self._protocol = self._makeProtocol(encode, decode)
        if agent is None:
            if reactor is None:
                from twisted.internet import reactor as _reactor

                reactor = _reactor
            agent = Agent(reactor)
        self._agent = agent

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        raise NotImplementedError

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._invoke, name)

    def _invoke(self, methodName: str, params: tuple) -> Deferred:
        try:
            headers, body = _encodeCall(self._protocol, methodName, params)
        except ServiceFailure:
            from twisted.internet.defer import fail

            return fail()
        endpoint = self._endpoint
        allHeaders = Headers()
        for name, value in {**endpoint.headers, **headers,
                            "User-Agent": self._protocol.userAgent}.items():
            allHeaders.addRawHeader(name, value)
        d = self._agent.request(
            b"POST", endpoint.url.encode("ascii"), allHeaders,
            FileBodyProducer(BytesIO(body)),
        )

        def failedToConnect(reason: Failure) -> Failure:
            return Failure(_unavailable(reason))

        def received(response: Any) -> Deferred:
            answer: Deferred = Deferred()
            response.deliverBody(_Collector(answer))

            def badBody(reason: Failure) -> Failure:
                return Failure(headersInvalid(reason.getErrorMessage()))

            def decoded(data: bytes) -> Any:
                answerHeaders = {
                    name.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
                    for name, values in response.headers.getAllRawHeaders()
                }
                reason = response.phrase.decode("latin-1")
                return _decodeAnswer(self._protocol, response.code, reason,
                                     answerHeaders, data)

            answer.addCallbacks(decoded, badBody)
            return answer

        d.addCallbacks(received, failedToConnect)
        return d
