# -*- test-case-name: tests.rpc.test_rpc_service -*-
"""
The RPC failure exceptions of spec 10.6.

One exception type carries every failure, whether it was raised by a
service, produced by a gateway or detected by a client, so that callers
need a single ``except ServiceFailure`` and can look at ``error``.
"""

from __future__ import annotations


class ServiceFailure(Exception):
    """
    A failed RPC: C{error} code, C{description}, C{origin}, C{details}.

    Spec 10.6: C{error} is one of the C{CLIENT_*}/C{SERVER_*} codes (or an
    HTTP status for L{TransportFailure}).
    """

    def __init__(
        self, error: int, description: str, origin: str = "", details: str = ""
    ) -> None:
        Exception.__init__(self, error, description, origin, details)
        self.error = int(error)
        self.description = str(description)
        self.origin = str(origin)
        self.details = str(details)

    def __str__(self) -> str:
        text = self.description
        if self.origin:
            text = f"{self.origin} -- {text}"
        if self.details:
            text = f"{text}\n\n{self.details}"
        return f"{self.error}: {text}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServiceFailure):
            return NotImplemented
        return self.args == other.args

    __hash__ = Exception.__hash__


class AddressInvalid(ServiceFailure):
    """The service URL is not one the client can use (code 45).

    Spec 10.9.
    """


class ServiceUnavailable(ServiceFailure):
    """The service cannot be reached or does not exist (code 46).

    Spec 10.9.
    """


class TransportFailure(ServiceFailure):
    """The HTTP exchange failed; C{error} is the HTTP status.

    Spec 10.9.
    """


class AuthenticationFailure(ServiceFailure):
    """The gateway refused the credentials (HTTP 401).

    Spec 10.9.
    """
