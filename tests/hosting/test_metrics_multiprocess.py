"""
prometheus_client's multiprocess mode: two real processes write their
metrics to one PROMETHEUS_MULTIPROC_DIR (as the workers do) and either
one's /metrics adds them up; a process killed with SIGKILL stops counting
in the live gauges but its counts stay.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

from support import TIMEOUT, metricSamples
from test_twistd_plugin import get

APP = textwrap.dedent("""
    import signal
    import netsvc_twisted as netsvc

    class Hello(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Length", "6")
            self.endHeaders()
            self.sendContent("hello\\n")
            self.endContent()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Hello(session)

    daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1",
                               metrics="tcp:0:interface=127.0.0.1")
    daemon.attach("/", Server())
    daemon.start().addCallback(lambda _: print(
        daemon.port(), daemon._metrics.server.port.getHost().port, flush=True))
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGTERM)
    dispatcher.run()
""")


def start(app, env):
    child = subprocess.Popen([sys.executable, str(app)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = child.stdout.readline()
    assert line, child.stderr.read()
    port, metrics = map(int, line.split())
    return child, port, metrics


def scrape(port):
    status, body = get(port, "/metrics")
    assert status == 200
    return metricSamples(body.decode())


OK = ("netsvc_http_requests_total", (("method", "GET"), ("status", "200")))
OPEN = ("netsvc_http_open_connections", ())


def settled(metrics, expected):
    """The (requests, open connections) seen on `metrics` once they reach
    `expected`, or the last seen at the deadline: a closed connection and a
    finished request are counted a moment after the client has its answer."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        seen = scrape(metrics)
        got = (seen[OK], seen[OPEN])
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_two_processes_add_up(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(directory))
    children = []
    try:
        a, portA, metricsA = start(app, env)
        children.append(a)
        b, portB, metricsB = start(app, env)
        children.append(b)
        for port, count in ((portA, 3), (portB, 5)):
            for _ in range(count):
                assert get(port) == (200, b"hello\n")
        idle = socket.create_connection(("127.0.0.1", portB), timeout=TIMEOUT)
        try:
            for metrics in (metricsA, metricsB):
                assert settled(metrics, (8, 1)) == (8, 1)
            b.send_signal(signal.SIGKILL)
            b.wait(TIMEOUT)
            # B's live gauges went with it; what it counted stays.
            assert settled(metricsA, (8, 0)) == (8, 0)
        finally:
            idle.close()
        a.send_signal(signal.SIGTERM)
        _, err = a.communicate(timeout=TIMEOUT)
        assert a.returncode == 0, err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
