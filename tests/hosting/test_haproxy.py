"""
A real HAProxy (Debian's) in TCP mode in front of C{twistd netsvc
--listen haproxy:tcp:PORT:...}, with the configuration docs/howto/deploy.md
shows: the PROXY protocol header (v2 with C{send-proxy-v2}, v1 with
C{send-proxy}) gives clientHost(), clientPort() and the access log the
original client's address, and HAProxy's health check asks /healthz.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess

import pytest

from support import TIMEOUT, freePort, waitUntil
from test_proxy_nginx import CLIENT, DEPLOY, EXAMPLES, Twistd, accepting, command

HAPROXY_CONF = """\
global
    maxconn 256
    stats socket {run}/haproxy.sock

defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend netsvc_v2
    bind {address}:{v2}
    default_backend netsvc_v2

frontend netsvc_v1
    bind {address}:{v1}
    default_backend netsvc_v1

backend netsvc_v2
    option httpchk
    http-check send meth GET uri /healthz
    server app 127.0.0.1:{backend} send-proxy-v2 check port {metrics} inter {inter}

backend netsvc_v1
    server app 127.0.0.1:{backend} send-proxy
"""


class HAProxy:
    """haproxy -db with the generated configuration, ended by its PID."""

    def __init__(self, tmp, backend: int, metrics: int) -> None:
        binary = command("haproxy")
        self.v2, self.v1 = freePort(), freePort()
        self.conf = tmp / "haproxy.cfg"
        self.conf.write_text(HAPROXY_CONF.format(
            run=tmp, address="127.0.0.1", inter="200ms", v2=self.v2, v1=self.v1,
            backend=backend, metrics=metrics))
        self.socket = tmp / "haproxy.sock"
        check = subprocess.run([binary, "-c", "-f", str(self.conf)],
                               capture_output=True, text=True, timeout=TIMEOUT)
        assert check.returncode == 0, check.stdout + check.stderr
        self.child = subprocess.Popen([binary, "-db", "-f", str(self.conf)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        waitUntil(lambda: accepting(self.v2) and accepting(self.v1), "haproxy", process=self.child)

    def checkStatus(self) -> str:
        """HAProxy's last health check of the v2 backend's server."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(TIMEOUT)
            s.connect(str(self.socket))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        names = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(names, line.split(",")))
            if (row.get("pxname"), row.get("svname")) == ("netsvc_v2", "app"):
                return row["check_status"]
        raise AssertionError(data.decode())

    def stop(self) -> str:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGUSR1)  # soft stop
            try:
                return self.child.communicate(timeout=TIMEOUT)[0]
            except subprocess.TimeoutExpired:
                self.child.kill()
        return self.child.communicate()[0]


def describe(port: int):
    with socket.socket() as s:
        s.bind((CLIENT, 0))
        source = s.getsockname()[1]
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", port))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.sock = s
        connection.request("GET", "/describe/")
        response = connection.getresponse()
        assert response.status == 200
        return source, json.loads(response.read())


def test_the_documented_configuration_is_the_tested_one():
    documented = HAPROXY_CONF.format(run="/run/haproxy", address="0.0.0.0", inter="2s",
                                     v2=80, v1=81, backend=8000, metrics=9100)
    assert documented in DEPLOY.read_text()


@pytest.fixture
def balanced(tmp_path):
    command("haproxy")
    backend, metrics = freePort(), freePort()
    access = tmp_path / "access.log"
    server = Twistd(tmp_path, f"haproxy:tcp:{backend}:interface=127.0.0.1", metrics,
                    f"--access-log={access}",
                    args=(str(tmp_path / "events.log"), str(tmp_path), str(EXAMPLES)))
    proxy = None
    try:
        proxy = HAProxy(tmp_path, backend, metrics)
        yield proxy, backend, access
    finally:
        output = proxy.stop() if proxy is not None else ""
        server.stop()
        assert "is DOWN" not in output, output


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_proxy_protocol_gives_the_original_client(balanced, version):
    proxy, _, access = balanced
    source, seen = describe(getattr(proxy, version))
    assert (seen["clientHost"], seen["clientPort"]) == (CLIENT, str(source))
    waitUntil(lambda: access.exists() and access.read_text(), "the access log")
    [line] = access.read_text().splitlines()
    assert line.startswith(f"{CLIENT} - - [") and '"GET /describe/ HTTP/1.1" 200' in line


def test_haproxy_health_check_asks_healthz(balanced):
    proxy, _, _ = balanced
    # L7OK: HAProxy's "GET /healthz" was answered 200 on the metrics port.
    waitUntil(lambda: proxy.checkStatus() == "L7OK", "HAProxy's health check")


def test_a_connection_without_proxy_header_is_closed(balanced):
    _, backend, _ = balanced
    with socket.create_connection(("127.0.0.1", backend), timeout=TIMEOUT) as s:
        s.sendall(b"GET /describe/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(65536) == b""
