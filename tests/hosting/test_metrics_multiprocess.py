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

from prometheus_client.parser import text_string_to_metric_families

from test_twistd_plugin import get

TIMEOUT = 20

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
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


OK = ("netsvc_http_requests_total", (("method", "GET"), ("status", "200")))
OPEN = ("netsvc_http_open_connections", ())


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
                # The connection is counted once B has accepted it.
                for _ in range(int(TIMEOUT / 0.05)):
                    seen = scrape(metrics)
                    if seen[OPEN] == 1:
                        break
                    time.sleep(0.05)
                assert (seen[OK], seen[OPEN]) == (8, 1), seen
            b.send_signal(signal.SIGKILL)
            b.wait(TIMEOUT)
            seen = scrape(metricsA)
            # B's live gauges went with it; what it counted stays.
            assert (seen[OK], seen[OPEN]) == (8, 0), seen
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
