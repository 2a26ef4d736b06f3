"""
A real nginx (Debian's) in front of C{twistd netsvc --proxy-headers},
all on 127.0.0.1, started and stopped by the test with a generated
configuration (the one docs/howto/deploy.md shows): the original client
from X-Forwarded-For, serverRoot() from X-Forwarded-Proto (nginx
terminates TLS), FileServer's directory redirect to the proxy's scheme and
host, and a slow client through nginx (proxy_buffering off) getting a
64 MiB stream while the servlet sees BLOCKED then CLEARED, the
congested-connections gauge is 1, and the server's memory stays bounded.

The clients connect from 127.0.0.2, so the address nginx forwards is not
the address nginx itself connects from (127.0.0.1, the trusted one).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import runpy
import shutil
import signal
import socket
import ssl
import subprocess
import textwrap
from pathlib import Path

import pytest
from test_twistd_plugin import twistd

from support import (
    TIMEOUT,
    freePort,
    metricSamples,
    selfSignedCertificate,
    streamDigest,
    waitUntil,
)

#: twistd worker processes behind nginx (1 runs the single-process server).
WORKERS = 2
CLIENT = "127.0.0.2"
SIZE = 64 << 20
#: Growth of the servers' resident memory allowed while 64 MiB stream.
RSS_BOUND = 24 << 20

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes auto;
{user}pid {run}/nginx.pid;
error_log {logs}/error.log info;
events {{ worker_connections 1024; }}

http {{
    access_log {logs}/access.log;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

    upstream netsvc {{
        server 127.0.0.1:{backend};
        keepalive 16;
    }}

    server {{
        listen {address}:{http};
        listen {address}:{https} ssl;
        ssl_certificate {certs}/cert.pem;
        ssl_certificate_key {certs}/key.pem;

        location / {{
            proxy_pass http://netsvc;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header Forwarded "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
        }}
    }}
}}
"""

APP = textwrap.dedent("""
    import json
    import os
    import sys

    import netsvc_twisted as netsvc

    EVENTS, FILES, EXAMPLES = sys.argv[1:4]
    sys.path.insert(0, EXAMPLES)
    from slow_clients import SlowClientServlet  # noqa: E402
    NAMES = {netsvc.CONNECTION_BLOCKED: "BLOCKED", netsvc.CONNECTION_CLEARED: "CLEARED"}


    class Describe(netsvc.HttpServlet):
        def processRequest(self):
            body = json.dumps({name: getattr(self, name)() for name in (
                "clientHost", "clientPort", "serverHost", "serverPort", "serverRoot",
                "url")})
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/json")
            self.sendHeader("Content-Length", str(len(body)))
            self.endHeaders()
            self.sendContent(body)
            self.endContent()


    class Stream(SlowClientServlet):
        # The example's servlet (one part at a time, paused while the
        # connection is blocked), writing down what it was told.
        def congestion(self, status, pending):
            if status in NAMES:
                with open(EVENTS, "a") as f:
                    f.write(f"{os.getpid()} {NAMES[status]}\\n")
            super().congestion(status, pending)


    class Server(netsvc.HttpServer):
        def __init__(self, factory):
            self.factory = factory

        def servlet(self, session):
            return self.factory(session)


    daemon = netsvc.HttpDaemon()
    daemon.attach("/describe", Server(Describe))
    daemon.attach("/stream", Server(Stream))
    daemon.attach("/files", netsvc.FileServer(FILES))
""")


def command(name: str) -> str:
    """
    The path of a Debian binary: CI must have it (.ci/run installs it), a
    developer's machine may skip.
    """
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


class Twistd:
    """
    C{twistd -n netsvc} of L{APP} with WORKERS workers, listening on
    C{listen} with metrics on port C{metrics}; ended by its own PID.
    """

    def __init__(self, tmp: Path, listen: str, metrics: int, *options: str,
                 args: tuple[str, ...] = ()):
        self.log = tmp / "twistd.log"
        workers = ["--workers", str(WORKERS)] if WORKERS > 1 else []
        app = tmp / "app.py"
        app.write_text(APP)
        self.child = subprocess.Popen(
            [*twistd(), "-n", "--pidfile=", f"--logfile={self.log}", "netsvc",
             "--config", str(app), "--listen", listen,
             "--metrics-listen", f"tcp:{metrics}:interface=127.0.0.1",
             *workers, *options, *args],
            cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # /healthz answers once the reactor runs (ports are bound before).
        waitUntil(lambda: healthy(metrics), "twistd's /healthz", process=self.child,
                  log=self.log)
        if WORKERS > 1:
            # One worker answering is not all of them started: the memory
            # baseline must not include a worker still importing.
            waitUntil(lambda: self.log.read_text().count(" is ready") >= WORKERS,
                      "every worker ready", process=self.child, log=self.log)

    def rss(self) -> int:
        """Resident bytes of the server's processes (the workers' too)."""
        return sum(rssOf(pid) for pid in processTree(self.child.pid))

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            try:
                _, err = self.child.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.communicate()
                raise
            # Twisted >= 25 ends twistd stopped by a signal with that
            # signal; a script's Dispatcher.monitor(SIGTERM) makes it 0.
            assert self.child.returncode in (0, -signal.SIGTERM), err
            assert "Server Shut Down." in self.log.read_text()
        else:
            self.child.communicate()


def processTree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def rssOf(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) * 1024 if found else 0


class Nginx:
    """nginx with the generated configuration, ended by its master's PID."""

    def __init__(self, tmp: Path, backend: int) -> None:
        binary = command("nginx")
        self.dir = tmp / "nginx"
        self.dir.mkdir()
        selfSignedCertificate(self.dir)
        self.http, self.https = freePort(), freePort()
        # As root, nginx's workers would otherwise run as nobody, who
        # cannot enter pytest's private tmp directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(
            user=user, run=self.dir, logs=self.dir, temp=self.dir, certs=self.dir,
            address="127.0.0.1", backend=backend, http=self.http, https=self.https))
        self.child = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "error.log")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        waitUntil(lambda: accepting(self.http) and accepting(self.https), "nginx",
                  process=self.child, log=self.dir / "error.log")

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.child.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.communicate()
        else:
            self.child.communicate()


def request(port: int, path: str, tls: bool = False, headers=None, source=CLIENT):
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=TIMEOUT, context=context, source_address=(source, 0))
    else:
        connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=TIMEOUT, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


#: What docs/howto/deploy.md shows in place of the test's directory and ports.
DOCUMENTED = {"user": "user www-data;\n", "run": "/run", "logs": "/var/log/nginx",
              "temp": "/var/lib/nginx", "certs": "/etc/ssl/netsvc", "address": "0.0.0.0",
              "backend": 8000, "http": 80, "https": 443}
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "howto" / "deploy.md"
EXAMPLES = ROOT / "examples"
EXAMPLE = runpy.run_path(str(EXAMPLES / "slow_clients.py"))


def test_the_documented_configuration_is_the_tested_one():
    assert NGINX_CONF.format(**DOCUMENTED) in DEPLOY.read_text()


@pytest.fixture
def deployment(tmp_path):
    command("nginx")
    (tmp_path / "files" / "docs").mkdir(parents=True)
    (tmp_path / "files" / "docs" / "index.html").write_text("<p>docs</p>")
    backend, metrics = freePort(), freePort()
    server = Twistd(tmp_path, f"tcp:{backend}:interface=127.0.0.1", metrics, "--proxy-headers",
                    args=(str(tmp_path / "events.log"), str(tmp_path / "files"), str(EXAMPLES)))
    proxy = None
    try:
        proxy = Nginx(tmp_path, backend)
        yield server, proxy, backend, metrics, tmp_path / "events.log"
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()


def test_nginx_forwards_client_scheme_and_host(deployment):
    server, proxy, backend, _, _ = deployment
    status, _, body = request(proxy.http, "/describe/x?y=1",
                              headers={"X-Forwarded-For": "6.6.6.6"})
    seen = json.loads(body)
    assert status == 200
    # nginx appended the real client to the forged value: the right-most
    # untrusted address is the client's.
    assert seen["clientHost"] == CLIENT
    assert seen["serverRoot"] == f"http://127.0.0.1:{proxy.http}/describe"
    assert seen["url"] == f"http://127.0.0.1:{proxy.http}/describe/x?y=1"
    status, _, body = request(proxy.https, "/describe/x?y=1", tls=True)
    seen = json.loads(body)
    assert seen["clientHost"] == CLIENT
    assert seen["serverRoot"] == f"https://127.0.0.1:{proxy.https}/describe"
    assert (seen["serverHost"], seen["serverPort"]) == ("127.0.0.1", str(proxy.https))
    # Straight to the backend from an untrusted address: headers ignored.
    status, _, body = request(backend, "/describe/", headers={
        "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    seen = json.loads(body)
    assert seen["clientHost"] == CLIENT
    assert seen["serverRoot"] == f"http://127.0.0.1:{backend}/describe"


def test_file_server_directory_redirect_points_at_the_proxy(deployment):
    _, proxy, _, _, _ = deployment
    status, headers, _ = request(proxy.https, "/files/docs?x=1", tls=True)
    assert status == 302
    assert headers["Location"] == f"https://127.0.0.1:{proxy.https}/files/docs/?x=1"
    status, _, body = request(proxy.https, "/files/docs/index.html", tls=True)
    assert (status, body) == (200, b"<p>docs</p>")


def congested(metrics: int) -> float:
    status, _, body = request(metrics, "/metrics", source="127.0.0.1")
    assert status == 200
    return metricSamples(body.decode())[("netsvc_http_congested_connections", ())]


def expectedDigest(size):
    return streamDigest(EXAMPLE["part"], size)


def test_slow_client_through_nginx(deployment):
    server, proxy, _, metrics, events = deployment
    baseline = server.rss()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(TIMEOUT)
        s.bind((CLIENT, 0))
        s.connect(("127.0.0.1", proxy.http))
        s.sendall(b"GET /stream?size=%d HTTP/1.1\r\nHost: shop.example\r\n\r\n" % SIZE)
        # Not reading: nginx's buffers fill, then the server's connection
        # to nginx blocks.
        waitUntil(lambda: events.exists() and "BLOCKED" in events.read_text(), "BLOCKED")
        # nginx may still take a little now and then (CLEARED, BLOCKED...)
        # until its buffers are full too; then it stays blocked.
        waitUntil(lambda: congested(metrics) == 1, "the congested-connections gauge at 1")
        peak = server.rss()
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        digest = hashlib.sha256(body)
        received = len(body)
        while received < SIZE:
            chunk = s.recv(65536)
            assert chunk, f"connection closed after {received} bytes"
            digest.update(chunk)
            received += len(chunk)
            if received % (4 << 20) < 65536:
                peak = max(peak, server.rss())
    assert received == SIZE and digest.hexdigest() == expectedDigest(SIZE)
    lines = events.read_text().split("\n")
    assert any(line.endswith("CLEARED") for line in lines)
    waitUntil(lambda: congested(metrics) == 0, "the gauge to fall back to 0")
    assert peak - baseline < RSS_BOUND, (baseline, peak)
