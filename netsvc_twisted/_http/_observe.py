# -*- test-case-name: tests.hosting.test_metrics -*-
"""
Hooks for monitoring the engine, without the engine knowing who watches.

A daemon's site has an C{observer} (L{IHttpObserver}), L{None} unless
metrics are on; every hook point is one attribute test when it is
L{None}.  The metrics server itself lives in a higher layer
(C{netsvc_twisted._hosting._metrics}), which registers itself here with
L{registerMetricsProvider} so that C{HttpDaemon(metrics=ENDPOINT)} needs
no upward import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from zope.interface import Attribute, Interface

from netsvc_twisted._constants import SERVER_METHOD_UNAVAILABLE


class IHttpObserver(Interface):
    """
    Told what the engine does.  Every method is called on the reactor and
    must be cheap and must not raise.
    """

    def connectionOpened():
        """A client connection was accepted."""

    def connectionClosed():
        """A client connection ended."""

    def requestStarted(request):
        """A request head was read and the request is being dispatched."""

    def requestFinished(request):
        """The response to C{request} was completed (C{request.code} sent)."""

    def requestAborted(request):
        """The connection of a started C{request} was lost before its response completed."""

    def servletStarted():
        """A servlet was created for a request."""

    def servletEnded():
        """A servlet was destroyed."""

    def congestionChanged(connections, queued):
        """
        C{connections} (+1 on C{CONNECTION_BLOCKED}, -1 on
        C{CONNECTION_CLEARED} or when a blocked response ends, 0 for more
        bytes queued while blocked) and the change in response bytes queued
        behind blocked connections.
        """

    def stallAborted():
        """A response blocked for longer than C{stallTimeout} was aborted."""

    def drainAborted(connections):
        """A drain ran out of time and aborted C{connections} connections."""

    def bodyReceived(size):
        """C{size} request body bytes reached a servlet."""

    def rpcCalled(service, method, outcome):
        """An RPC call ended: C{outcome} is C{"ok"} or C{"failure"}."""


class IMetricsEndpoint(Interface):
    """
    What a metrics provider gives one daemon created with C{metrics=}.
    """

    observer = Attribute("The L{IHttpObserver} for the daemon's site.")

    def start(reactor):
        """Listen (if not already); a Deferred that fails if it cannot."""

    def draining():
        """The daemon started to drain: health checks now fail."""

    def stop():
        """The daemon is stopped; a Deferred that fires once this endpoint is done with it."""


_provider: Callable[[Any, str], IMetricsEndpoint] | None = None


def registerMetricsProvider(provider: Callable[[Any, str], IMetricsEndpoint]) -> None:
    """
    Say who serves C{HttpDaemon(metrics=ENDPOINT)}:
    C{provider(daemon, endpoint)} returns an L{IMetricsEndpoint}.
    """
    global _provider
    _provider = provider


def metricsEndpoint(daemon: Any, endpoint: str) -> IMetricsEndpoint:
    if _provider is None:
        raise RuntimeError(
            "HttpDaemon(metrics=...) needs the metrics server of "
            "netsvc_twisted._hosting: import netsvc_twisted first"
        )
    return _provider(daemon, endpoint)


def observerOf(request: Any) -> IHttpObserver | None:
    """The observer of the site serving C{request}, if any."""
    return getattr(getattr(request, "site", None), "observer", None)


def watchRpcCall(session: Any, service: str, method: str, called: Deferred) -> None:
    """
    Report the outcome of an RPC call to the observer of its request's
    site, if any.  A method the service does not have is reported as
    C{"(unknown)"}: clients choose method names, metrics must stay bounded.
    """
    observer = observerOf(getattr(session, "request", None))
    if observer is None:
        return

    def ended(result: Any) -> Any:
        outcome, name = "ok", method
        if isinstance(result, Failure):
            outcome = "failure"
            if getattr(result.value, "error", None) == SERVER_METHOD_UNAVAILABLE:
                name = "(unknown)"
        observer.rpcCalled(service, name, outcome)
        return result

    called.addBoth(ended)
