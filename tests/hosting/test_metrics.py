"""
Metrics and health: the engine's hooks counted in memory (congestion,
stalls, drains, bodies, servlets, RPC calls), then /metrics parsed with
prometheus_client.parser and /healthz over real sockets, with a real slow
client and a real drain.  Processes sharing PROMETHEUS_MULTIPROC_DIR are
in test_metrics_multiprocess.py.
"""

from __future__ import annotations

import json
import runpy
import socket
import threading
from pathlib import Path

import pytest
import pytest_twisted
from prometheus_client import REGISTRY
from twisted.internet import reactor, task, threads
from twisted.internet.testing import MemoryReactorClock

import netsvc_twisted as netsvc
from netsvc_twisted._hosting import _twistd
from netsvc_twisted._hosting._metrics import processObserver
from netsvc_twisted._http._observe import IHttpObserver
from netsvc_twisted.testing import MemoryDaemon, servletServer
from rpc_support import cleanServices  # noqa: F401
from support import LOCAL, TIMEOUT, busyPort, fetch, freePort, metricSamples, startDaemon

def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counts:
    """The samples a test looks at, to compare before and after."""

    NAMES = ("netsvc_http_congested_connections", "netsvc_http_congested_bytes",
             "netsvc_http_stall_aborts_total", "netsvc_http_open_connections",
             "netsvc_http_servlets_in_flight", "netsvc_http_drain_aborts_total",
             "netsvc_http_request_body_bytes_total", "netsvc_http_request_duration_seconds_count")

    def __init__(self):
        self.start = {name: value(name) for name in self.NAMES}

    def delta(self, name):
        return value(name) - self.start[name]


class Hold(netsvc.HttpServlet):
    """Starts a response and keeps it open until told; reads bodies."""

    held: list = []

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.monitorCongestion(lambda status, pending: None)
        Hold.held.append(self)

    def processContent(self, content):
        pass

    def finish(self, data=b"done"):
        self.sendContent(data)
        self.endContent()


def memory():
    clock = MemoryReactorClock()
    daemon = netsvc.HttpDaemon(8000, reactor=clock, metrics="tcp:0:interface=127.0.0.1",
                               stallTimeout=30, drainTimeout=5)
    return MemoryDaemon({"/hold": servletServer(Hold),
                         "/ok": servletServer(netsvc.EchoServlet)}, daemon=daemon, clock=clock)


def test_the_observer_provides_its_interface():
    assert IHttpObserver.providedBy(processObserver())
    assert netsvc.HttpDaemon(8000).site.observer is None


def test_requests_connections_servlets_and_bodies():
    counts = Counts()
    requests = value("netsvc_http_requests_total", method="POST", status="200")
    missing = value("netsvc_http_requests_total", method="GET", status="404")
    other = value("netsvc_http_requests_total", method="OTHER", status="404")
    daemon = memory()
    connection = daemon.connect()
    assert counts.delta("netsvc_http_open_connections") == 1
    connection.request("POST", "/ok/", body=b"x" * 1000)
    connection.request("GET", "/nothing-here")
    connection.request("BREW", "/nothing-here")
    replies = connection.replies()
    assert [r.status for r in replies] == [200, 404, 404]
    assert value("netsvc_http_requests_total", method="POST", status="200") == requests + 1
    assert value("netsvc_http_requests_total", method="GET", status="404") == missing + 1
    assert value("netsvc_http_requests_total", method="OTHER", status="404") == other + 1
    assert counts.delta("netsvc_http_request_duration_seconds_count") == 3
    assert counts.delta("netsvc_http_request_body_bytes_total") == 1000
    assert counts.delta("netsvc_http_servlets_in_flight") == 0
    connection.request("GET", "/hold")
    assert counts.delta("netsvc_http_servlets_in_flight") == 1
    aborted = value("netsvc_http_requests_total", method="GET", status="aborted")
    connection.disconnect()
    assert value("netsvc_http_requests_total", method="GET", status="aborted") == aborted + 1
    assert counts.delta("netsvc_http_servlets_in_flight") == 0
    assert counts.delta("netsvc_http_open_connections") == 0


def test_congestion_stall_and_drain_aborts():
    counts = Counts()
    daemon = memory()
    Hold.held[:] = []
    connection = daemon.connect()
    connection.request("GET", "/hold")
    [servlet] = Hold.held
    servlet.sendContent(b"y" * 10000)
    servlet.flushContent()
    connection.block()
    assert counts.delta("netsvc_http_congested_connections") == 1
    queued = counts.delta("netsvc_http_congested_bytes")
    assert queued >= 10000
    servlet.sendContent(b"z" * 5000)
    servlet.flushContent()
    framing = len(b"%x\r\n\r\n" % 5000)  # the chunk's size line and CRLF
    assert counts.delta("netsvc_http_congested_bytes") == queued + 5000 + framing
    connection.unblock()
    assert counts.delta("netsvc_http_congested_connections") == 0
    assert counts.delta("netsvc_http_congested_bytes") == 0
    # Blocked for longer than stallTimeout: aborted, no longer congested.
    connection.block()
    assert counts.delta("netsvc_http_congested_connections") == 1
    daemon.clock.advance(30)
    assert counts.delta("netsvc_http_stall_aborts_total") == 1
    assert counts.delta("netsvc_http_congested_connections") == 0
    assert counts.delta("netsvc_http_congested_bytes") == 0
    connection.disconnect()  # What the abort does to a real socket.
    # A drain that runs out of time.
    busy = daemon.connect()
    busy.request("GET", "/hold")
    stopped = daemon.daemon.stop()
    daemon.clock.advance(5)
    assert counts.delta("netsvc_http_drain_aborts_total") == 1
    busy.disconnect()
    assert stopped.called
    assert counts.delta("netsvc_http_open_connections") == 0
    assert counts.delta("netsvc_http_servlets_in_flight") == 0


class Calculator(netsvc.Service):
    def __init__(self):
        netsvc.Service.__init__(self, "calculator")
        self.joinGroup("metrics-tests")
        self.exportMethod(self.add)
        self.exportMethod(self.fail)

    def add(self, a, b):
        return a + b

    def fail(self):
        raise RuntimeError("no")


def test_rpc_calls_by_service_method_and_outcome(cleanServices):  # noqa: F811
    Calculator()
    daemon = memory()
    daemon.attach("/rpc", netsvc.RpcGateway("metrics-tests"))

    def count(method, outcome):
        return value("netsvc_rpc_calls_total", service="calculator", method=method,
                     outcome=outcome)

    before = {key: count(*key) for key in
              [("add", "ok"), ("fail", "failure"), ("(unknown)", "failure")]}
    calls = [{"method": "add", "params": [1, 2]}, {"method": "fail", "params": []},
             {"method": "nope1", "params": []}, {"method": "nope2", "params": []}]
    connection = daemon.connect()
    for number, call in enumerate(calls):
        body = json.dumps({"jsonrpc": "2.0", "id": number, **call}).encode()
        connection.request("POST", "/rpc/calculator", body=body,
                           headers=[("Content-Type", "application/json")])
    daemon.settle()
    assert len(connection.replies()) == 4
    assert count("add", "ok") == before[("add", "ok")] + 1
    assert count("fail", "failure") == before[("fail", "failure")] + 1
    assert count("(unknown)", "failure") == before[("(unknown)", "failure")] + 2
    assert value("netsvc_rpc_calls_total", service="calculator", method="nope1",
                 outcome="failure") == 0


# Real sockets.


def scrape(port):
    return threads.deferToThread(_scrape, port)


def _scrape(port):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("content-type").startswith("text/plain; version=0.0.4")
        text = response.read().decode("utf-8")
    finally:
        connection.close()
    return metricSamples(text)


def metricsPort(daemon):
    return daemon._metrics.server.port.getHost().port


async def waitFor(condition, what):
    for _ in range(int(TIMEOUT / 0.02)):
        if condition():
            return
        await task.deferLater(reactor, 0.02, lambda: None)
    raise AssertionError(f"timed out waiting for {what}")


EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples"
                             / "slow_clients.py"))
SIZE = 32 << 20


class Stream(EXAMPLE["SlowClientServlet"]):
    """examples/slow_clients.py's producer, noting its congestion events."""

    events: list = []

    def congestion(self, status, pending):
        Stream.events.append(status)
        super().congestion(status, pending)


def slowClient(port, go):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /stream?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % SIZE)
        assert go.wait(TIMEOUT)
        received = 0
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
            if received >= SIZE:  # head included: the last part arrived
                break
        return received


@pytest_twisted.ensureDeferred
async def test_metrics_endpoint_shows_a_blocked_client(daemons):
    Stream.events[:] = []
    daemon = await startDaemon({"/stream": servletServer(Stream),
                                "/ok": servletServer(netsvc.EchoServlet)},
                               metrics="tcp:0:interface=127.0.0.1")
    daemons.append(daemon)
    port = metricsPort(daemon)
    before = await scrape(port)
    congested = ("netsvc_http_congested_connections", ())
    assert before[congested] == 0
    go = threading.Event()
    client = threads.deferToThread(slowClient, daemon.port(), go)
    await waitFor(lambda: netsvc.CONNECTION_BLOCKED in Stream.events, "BLOCKED")
    during = await scrape(port)
    assert during[congested] == 1
    # What the socket refused of the write that blocked waits in Twisted.
    assert during[("netsvc_http_congested_bytes", ())] > 0
    assert during[("netsvc_http_servlets_in_flight", ())] == before[
        ("netsvc_http_servlets_in_flight", ())] + 1
    go.set()
    assert await client >= SIZE
    await waitFor(lambda: not daemon.site.connections, "the slow connection to close")
    after = await scrape(port)
    assert netsvc.CONNECTION_CLEARED in Stream.events
    assert after[congested] == 0 and after[("netsvc_http_congested_bytes", ())] == 0
    key = ("netsvc_http_requests_total", (("method", "GET"), ("status", "200")))
    assert after[key] == before.get(key, 0) + 1
    # The scrapes themselves are not requests of the daemon.
    assert (await scrape(port))[key] == after[key]


@pytest_twisted.ensureDeferred
async def test_healthz_fails_while_draining(daemons):
    Hold.held[:] = []
    daemon = await startDaemon({"/hold": servletServer(Hold)},
                               metrics="tcp:0:interface=127.0.0.1")
    daemons.append(daemon)  # stopped again at the end if a check fails first
    port = metricsPort(daemon)
    health = await fetch(port, "GET", "/healthz")
    assert (health.status, health.body) == (200, b"ok\n")
    assert (await fetch(port, "GET", "/other")).status == 404
    reply = fetch(daemon.port(), "GET", "/hold")
    await waitFor(lambda: Hold.held, "the held servlet")
    stopped = daemon.stop()
    health = await fetch(port, "GET", "/healthz")
    assert (health.status, health.body) == (503, b"draining\n")
    assert not stopped.called
    Hold.held[0].finish()
    assert (await reply).body == b"done"
    await stopped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


@pytest_twisted.ensureDeferred
async def test_two_daemons_share_one_metrics_endpoint(daemons):
    free = freePort()
    endpoint = f"tcp:{free}:interface=127.0.0.1"
    first = await startDaemon({}, metrics=endpoint)
    second = await startDaemon({}, metrics=endpoint)
    daemons.extend((first, second))
    assert first._metrics.server is second._metrics.server
    await first.stop()
    assert (await fetch(free, "GET", "/healthz")).status == 200
    await second.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", free), timeout=TIMEOUT).close()


@pytest_twisted.ensureDeferred
async def test_a_metrics_endpoint_in_use_fails_the_start():
    with busyPort() as taken:
        daemon = netsvc.HttpDaemon(LOCAL, metrics=f"tcp:{taken}:interface=127.0.0.1")
        assert await daemon.start() is None
        assert f"metrics endpoint tcp:{taken}" in daemon.startFailure.getErrorMessage()
        assert daemon._listening is None
        await daemon.stop()


@pytest_twisted.ensureDeferred
async def test_a_bad_metrics_description_fails_the_start():
    """A Deferred that fails, as IMetricsEndpoint.start says, not an exception."""
    daemon = netsvc.HttpDaemon(LOCAL, metrics="9100")
    assert await daemon.start() is None
    assert "metrics endpoint 9100: " in daemon.startFailure.getErrorMessage()
    assert daemon._listening is None
    await daemon.stop()


def test_twistd_metrics_listen(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import netsvc_twisted as netsvc\n"
                   "a = netsvc.HttpDaemon()\n"
                   "b = netsvc.HttpDaemon(8001, metrics='tcp:9999')\n")
    options = _twistd.Options()
    options.parseOptions(["--config", str(app), "--metrics-listen", "tcp:9100"])
    first, second = _twistd.makeService(options)
    assert first.daemon._metrics.server.description == "tcp:9100"
    assert second.daemon._metrics.server.description == "tcp:9999"
    assert first.daemon.site.observer is processObserver()
