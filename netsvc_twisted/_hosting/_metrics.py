# -*- test-case-name: tests.hosting.test_metrics,tests.hosting.test_metrics_multiprocess -*-
"""
C{HttpDaemon(metrics=ENDPOINT)} and C{twistd netsvc --metrics-listen}:
C{GET /metrics} in the Prometheus text format (prometheus_client) and
C{GET /healthz} for load balancers, on an endpoint of their own.

The engine reports through the L{IHttpObserver} hooks of
C{netsvc_twisted._http._observe}; this module turns them into
prometheus_client metrics.  With C{PROMETHEUS_MULTIPROC_DIR} set (worker
processes), prometheus_client keeps every value in a file of that
directory and C{/metrics}, whichever process answers, adds up all of
them; gauges count live processes only (C{livesum}), and the files of
live-only gauges of processes that are gone are removed at each scrape.
"""

from __future__ import annotations

import glob
import os
import time
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import multiprocess
from prometheus_client.exposition import choose_encoder
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server
from zope.interface import implementer

from netsvc_twisted._http._observe import IHttpObserver, IMetricsEndpoint

_log = Logger(namespace="netsvc.metrics")
_monotonic = time.monotonic

#: Methods counted by name; any other is counted as C{OTHER}.
_METHODS = {
    method.encode("ascii"): method
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
}
#: Distinct label sets of one metric remembered for a cheap inc().
_CHILDREN = 4096


def _children(metric: Any) -> Any:
    cache: dict[tuple[str, ...], Any] = {}

    def child(*labels: str) -> Any:
        found = cache.get(labels)
        if found is None:
            found = metric.labels(*labels)
            if len(cache) < _CHILDREN:
                cache[labels] = found
        return found

    return child


class Metrics:
    """
    The metrics of one process, in prometheus_client's default registry
    (so an application's own metrics are served alongside).  The
    congestion metrics come first: no other server reports them.
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if path is not None and not os.path.isdir(path):
            raise ValueError(f"PROMETHEUS_MULTIPROC_DIR={path!r} is not a directory")
        live = {"multiprocess_mode": "livesum"}
        r = {"registry": registry}
        self.congested = Gauge(
            "netsvc_http_congested_connections",
            "Responses blocked by a client that does not read (CONNECTION_BLOCKED)",
            **live, **r)
        self.congestedBytes = Gauge(
            "netsvc_http_congested_bytes",
            "Response bytes queued in the server behind blocked connections",
            **live, **r)
        self.stallAborts = Counter(
            "netsvc_http_stall_aborts",
            "Responses aborted after staying blocked for stallTimeout", **r)
        self.requests = Counter(
            "netsvc_http_requests",
            "Requests by method and status (aborted: the connection was lost first)",
            ["method", "status"], **r)
        self.duration = Histogram(
            "netsvc_http_request_duration_seconds",
            "Time from the end of the request head to the end of the response", **r)
        self.connections = Gauge(
            "netsvc_http_open_connections", "Client connections open", **live, **r)
        self.servlets = Gauge(
            "netsvc_http_servlets_in_flight", "Servlets created and not yet destroyed",
            **live, **r)
        self.drainAborts = Counter(
            "netsvc_http_drain_aborts",
            "Connections aborted because a drain ran out of time", **r)
        self.bodyBytes = Counter(
            "netsvc_http_request_body_bytes", "Request body bytes received by servlets", **r)
        self.rpcCalls = Counter(
            "netsvc_rpc_calls", "RPC calls by service, method and outcome",
            ["service", "method", "outcome"], **r)


@implementer(IHttpObserver)
class PrometheusObserver:
    """
    The engine's hooks onto L{Metrics}.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._requests = _children(metrics.requests)
        self._rpc = _children(metrics.rpcCalls)
        self.connectionOpened = metrics.connections.inc
        self.connectionClosed = metrics.connections.dec
        self.servletStarted = metrics.servlets.inc
        self.servletEnded = metrics.servlets.dec
        self.stallAborted = metrics.stallAborts.inc
        self.bodyReceived = metrics.bodyBytes.inc
        self._observe = metrics.duration.observe

    def requestStarted(self, request: Any) -> None:
        request._netsvcStarted = _monotonic()

    def requestFinished(self, request: Any) -> None:
        self._ended(request, str(request.code))

    def requestAborted(self, request: Any) -> None:
        self._ended(request, "aborted")

    def _ended(self, request: Any, status: str) -> None:
        started = getattr(request, "_netsvcStarted", None)
        if started is None:
            return  # Not dispatched, or counted already.
        request._netsvcStarted = None
        self._observe(_monotonic() - started)
        self._requests(_METHODS.get(request.method, "OTHER"), status).inc()

    def congestionChanged(self, connections: int, queued: int) -> None:
        metrics = self.metrics
        if connections:
            metrics.congested.inc(connections)
        if queued:
            metrics.congestedBytes.inc(queued)

    def drainAborted(self, connections: int) -> None:
        self.metrics.drainAborts.inc(connections)

    def rpcCalled(self, service: str, method: str, outcome: str) -> None:
        self._rpc(service, method, outcome).inc()


_observer: PrometheusObserver | None = None


def processObserver() -> PrometheusObserver:
    """The observer of this process's metrics, made on first use."""
    global _observer
    if _observer is None:
        _observer = PrometheusObserver(Metrics())
    return _observer


def forgetDeadProcesses(path: str) -> None:
    """
    Remove the live-only gauge files of processes that no longer exist,
    so a worker killed without its supervisor's bookkeeping does not
    count for ever.
    """
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = os.path.basename(name)[:-3].rpartition("_")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(int(pid), path)
        except PermissionError:
            pass  # Alive, another user's.


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """
    The body and content type of C{/metrics}: every process's metrics
    under C{PROMETHEUS_MULTIPROC_DIR}, else this process's registry.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    registry: CollectorRegistry = REGISTRY
    if path:
        forgetDeadProcesses(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path)
    encoder, contentType = choose_encoder(accept)
    return encoder(registry), contentType


class _Endpoint(resource.Resource):
    isLeaf = True

    def __init__(self, metricsServer: MetricsServer) -> None:
        super().__init__()
        self.metricsServer = metricsServer

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"cache-control", b"no-store")
        if request.path == b"/metrics":
            accept = request.getHeader(b"accept")
            body, contentType = exposition(accept.decode("latin-1") if accept else None)
            request.setHeader(b"content-type", contentType.encode("ascii"))
            return body
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        if request.path == b"/healthz":
            if self.metricsServer.draining:
                request.setResponseCode(503)
                return b"draining\n"
            return b"ok\n"
        request.setResponseCode(404)
        return b"GET /metrics or /healthz\n"


class _QuietSite(server.Site):
    # Scrapes and health checks every few seconds are not worth a line.
    noisy = False

    def log(self, request: server.Request) -> None:
        pass


class MetricsServer:
    """
    One metrics endpoint and the daemons it reports on: listening while
    any of them runs, C{/healthz} 503 once one of them drains.
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self.daemons: set[int] = set()
        self.draining: set[int] = set()
        self.port: Any = None
        self._waiting: list[defer.Deferred] = []

    def start(self, daemon: Any, reactor: Any) -> defer.Deferred:
        self.daemons.add(id(daemon))
        self.draining.discard(id(daemon))
        if self.port is not None:
            return defer.succeed(self.port)
        waiting: defer.Deferred = defer.Deferred()
        self._waiting.append(waiting)
        if len(self._waiting) == 1:
            site = _QuietSite(_Endpoint(self))
            # A description Twisted cannot parse fails the Deferred too.
            defer.maybeDeferred(serverFromString, reactor, self.description).addCallback(
                lambda endpoint: endpoint.listen(site)).addBoth(self._listened)
        return waiting

    def _listened(self, result: Any) -> None:
        waiting, self._waiting = self._waiting, []
        if isinstance(result, Failure):
            self.daemons.clear()
            _servers.pop(self.description, None)
            result = Failure(OSError(f"metrics endpoint {self.description}: "
                                     f"{result.getErrorMessage()}"))
        else:
            self.port = result
            _log.info("Metrics and health on {description} ({address})",
                      description=self.description, address=result.getHost())
        for d in waiting:
            d.callback(result)

    def stop(self, daemon: Any) -> defer.Deferred:
        self.daemons.discard(id(daemon))
        self.draining.discard(id(daemon))
        if self.daemons or self.port is None:
            return defer.succeed(None)
        port, self.port = self.port, None
        _servers.pop(self.description, None)
        return defer.maybeDeferred(port.stopListening)


_servers: dict[str, MetricsServer] = {}


@implementer(IMetricsEndpoint)
class DaemonMetrics:
    """One daemon's share of a L{MetricsServer}."""

    def __init__(self, metricsServer: MetricsServer, daemon: Any) -> None:
        self.server = metricsServer
        self._daemon = daemon
        self.observer = processObserver()

    def start(self, reactor: Any) -> defer.Deferred:
        metricsServer = _servers.setdefault(self.server.description, self.server)
        self.server = metricsServer
        return metricsServer.start(self._daemon, reactor)

    def draining(self) -> None:
        if id(self._daemon) in self.server.daemons:
            self.server.draining.add(id(self._daemon))

    def stop(self) -> defer.Deferred:
        return self.server.stop(self._daemon)


def metricsFor(daemon: Any, endpoint: str) -> DaemonMetrics:
    """The metrics provider registered with C{netsvc_twisted._http._observe}."""
    found = _servers.get(endpoint) or MetricsServer(endpoint)
    return DaemonMetrics(found, daemon)
