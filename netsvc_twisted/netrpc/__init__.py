# -*- test-case-name: tests.rpc.test_rpc_client -*-
"""
RPC clients, as OSE's C{netrpc} module: C{RemoteService(url)} for NET-RPC
here, C{netrpc.xmlrpc} and C{netrpc.json} for the other protocols.

C{RemoteService} blocks like OSE's (use it from scripts and threads);
C{DeferredRemoteService} returns Deferreds, for code on the reactor.
"""

from __future__ import annotations

from typing import Callable

from netsvc_twisted._rpc._netrpc_codec import decoder, encoder
from netsvc_twisted._rpc._failure import (
    AddressInvalid,
    AuthenticationFailure,
    ServiceFailure,
    ServiceUnavailable,
    TransportFailure,
)
from netsvc_twisted._rpc._types import (
    Binary,
    Boolean,
    Date,
    DateTime,
    Duration,
    Opaque,
    Time,
)
from netsvc_twisted.netrpc._client import BlockingClient, DeferredClient, Protocol
from netsvc_twisted.netrpc._netrpc import NetRpcProtocol


class RemoteService(BlockingClient):
    """Blocking NET-RPC client: C{RemoteService(url).echo(1)}.

    Spec 10.9: C{url} of the service, C{login} and C{password} for Basic
    authentication, C{encode}/C{decode} hooks as a service's
    C{encodeObject}/C{decodeValue}.  Call it from a thread other than the
    reactor's.
    """

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        return NetRpcProtocol(encode, decode)


class DeferredRemoteService(DeferredClient):
    """NET-RPC client whose calls return Deferreds.

    Beyond OSE: the arguments of L{netsvc_twisted.netrpc.RemoteService},
    for code on the reactor (spec 10.9).
    """

    def _makeProtocol(self, encode: Callable | None, decode: Callable | None) -> Protocol:
        return NetRpcProtocol(encode, decode)


__all__ = [
    "RemoteService", "DeferredRemoteService", "encoder", "decoder",
    "ServiceFailure", "AddressInvalid", "ServiceUnavailable", "TransportFailure",
    "AuthenticationFailure", "Binary", "Boolean", "Date", "DateTime", "Time",
    "Duration", "Opaque",
]
