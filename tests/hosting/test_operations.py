"""
The operations options of C{twistd netsvc}: C{--access-log-format json},
C{--drain-timeout}, and C{--listen systemd:...} with sockets handed over
the way systemd's socket activation does it (C{LISTEN_FDS}, C{LISTEN_PID}),
by a real parent process on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_twistd_plugin import twistd
from test_workers import APP, DEADLINE, Supervised, fetch
from twisted.internet.endpoints import _SystemdParser
from twisted.python.systemd import ListenFDs

import netsvc_twisted as netsvc
from netsvc_twisted._hosting._endpoints import adoptInheritedSockets
from netsvc_twisted._http._accesslog import AccessLog
from netsvc_twisted.testing import MemoryDaemon


class Single(Supervised):
    """One C{twistd -n netsvc} process on pid_app.py (no --workers)."""

    def __init__(self, tmp_path: Path, *extra: str, command: list[str] | None = None,
                 program: list[str] | None = None, **popen) -> None:
        self.log = tmp_path / "twistd.log"
        self.child = subprocess.Popen(
            [*(command or []), *(program or twistd()), "-n", "--pidfile=",
             f"--logfile={self.log}",
             "netsvc", "--config", str(APP), *extra],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen,
        )
        self.port = int(self.waitFor(r"HttpDaemon listening on .*port=(\d+)").group(1))


@pytest.fixture
def started(tmp_path):
    running = []

    def start(*extra, **kwargs):
        running.append(Single(tmp_path, *extra, **kwargs))
        return running[-1]

    yield start
    for run in running:
        run.close()


def test_json_access_log_has_the_combined_fields(tmp_path, started):
    access = tmp_path / "access.log"
    run = started("--listen", "tcp:0:interface=127.0.0.1",
                  f"--access-log={access}", "--access-log-format=json")
    # Quotes and backslashes, which a line format must escape (twisted.web
    # already refuses control characters).
    with socket.create_connection(("127.0.0.1", run.port), timeout=20) as client:
        client.sendall(b'GET /?q="x"\\ HTTP/1.1\r\nHost: x\r\n'
                       b'User-Agent: probe "1" \\\r\nConnection: close\r\n\r\n')
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    body = reply.split(b"\r\n\r\n", 1)[1]
    assert run.stop()[0] == -signal.SIGTERM
    [line] = access.read_bytes().splitlines()
    assert line.isascii()
    entry = json.loads(line)
    assert set(entry) == {"host", "user", "time", "method", "uri", "protocol", "status",
                          "bytes", "referer", "user_agent"}
    assert entry["host"] == "127.0.0.1" and entry["user"] is None
    assert (entry["method"], entry["uri"], entry["protocol"]) == (
        "GET", '/?q="x"\\', "HTTP/1.1")
    assert (entry["status"], entry["bytes"]) == (200, len(body))
    assert entry["referer"] is None and entry["user_agent"] == 'probe "1" \\'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", entry["time"])


def test_access_log_format_is_checked():
    child = subprocess.run(
        [*twistd(), "-n", "--pidfile=", "netsvc", "--config", str(APP),
         "--access-log-format=xml"], capture_output=True, text=True, timeout=DEADLINE)
    assert child.returncode != 0
    assert "--access-log-format is one of combined, json, not 'xml'" in child.stdout


def test_json_and_combined_lines_in_memory(tmp_path):
    path = tmp_path / "access.log"
    log = AccessLog(str(path), format="json")
    daemon = MemoryDaemon.forServlet(netsvc.EchoServlet)
    daemon.daemon.site.accessLog = log
    daemon.request("GET", "/a")
    log.format = "combined"
    daemon.request("GET", "/b")
    log.close()
    first, second = path.read_bytes().splitlines()
    assert json.loads(first)["uri"] == "/a"
    assert re.search(rb'"GET /b HTTP/1.1" 200 \d+ "-" "-"$', second)


def test_drain_timeout_cuts_a_download_that_outlasts_it(started):
    run = started("--listen", "tcp:0:interface=127.0.0.1", "--drain-timeout", "0.3")
    slow = http.client.HTTPConnection("127.0.0.1", run.port, timeout=20)
    slow.request("GET", "/slow")
    download = slow.getresponse()
    assert download.read(7) == b"part 0\n"
    run.child.send_signal(signal.SIGTERM)
    received = b""
    try:
        while chunk := download.read1(65536):
            received += chunk
    except (http.client.IncompleteRead, ConnectionResetError):
        pass  # cut, as it should be
    assert received.count(b"part ") < 19  # 20 parts take 2 s
    assert run.child.wait(timeout=DEADLINE) == -signal.SIGTERM
    assert "still busy after the drain time: aborting" in run.text()
    slow.close()


#: Runs the rest of its arguments with a listening socket at fd 3 and
#: LISTEN_FDS/LISTEN_PID set as systemd sets them (no LISTEN_FDNAMES, as
#: systemd < 227 and other socket activators do); prints the port first.
ACTIVATE = """
import os, socket, sys
listening = socket.create_server(("127.0.0.1", 0))
if listening.fileno() != 3:
    os.dup2(listening.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.environ.pop("LISTEN_FDNAMES", None)
print(listening.getsockname()[1], flush=True)
os.execvp(sys.argv[1], sys.argv[1:])
"""


#: twistd run by a program that imports twisted.internet.endpoints before
#: the plugin, as a stale plugin cache that cannot be rewritten does
#: (Twisted's own plugins are then imported to rebuild it).
ENDPOINTS_FIRST = [sys.executable, "-c", "import twisted.internet.endpoints\n"
                   "from twisted.scripts.twistd import run\nrun()\n"]


@pytest.mark.parametrize("program", [None, ENDPOINTS_FIRST], ids=["twistd", "endpoints-first"])
@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_listen_systemd_adopts_the_inherited_socket(tmp_path, workers, program):
    run = Single(tmp_path, *workers, "--listen", "systemd:domain=INET:index=0",
                 command=[sys.executable, "-c", ACTIVATE], program=program)
    try:
        port = int(run.child.stdout.readline())
        assert port == run.port
        if workers:
            run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(lambda _: fetch(port), range(100)))
        assert {status for status, *_ in results} == {200}
        pids = {pid for _, pid, *_ in results}
        assert len(pids) == (2 if workers else 1)
        assert run.child.pid not in pids or not workers
        run.child.send_signal(signal.SIGTERM)
        code = run.child.wait(timeout=DEADLINE)
        assert code == (0 if workers else -signal.SIGTERM)
    finally:
        run.close()


def test_listen_systemd_without_a_socket_is_one_line(tmp_path):
    child = subprocess.run(
        [*twistd(), "-n", "--pidfile=", "netsvc", "--config", str(APP),
         "--listen", "systemd:domain=INET:index=0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE)
    assert child.returncode != 0
    assert child.stderr.splitlines() == [
        "twistd netsvc: --listen systemd:domain=INET:index=0: no such socket inherited "
        "from systemd (LISTEN_FDS=unset): start it from a systemd socket unit, "
        "e.g. systemd:domain=INET:index=0 with one ListenStream="]


@pytest.fixture
def noSockets(monkeypatch):
    """Twisted's systemd: parser as it is with nothing inherited, restored after."""
    monkeypatch.setattr(_SystemdParser, "_sddaemon", ListenFDs([], ()))


def test_sockets_come_from_the_start_environment_once_twisted_deleted_them(noSockets):
    me = str(os.getpid())
    adoptInheritedSockets({}, lambda: {"LISTEN_PID": me, "LISTEN_FDS": "2"})
    assert _SystemdParser._sddaemon == ListenFDs([3, 4], ("unknown", "unknown"))
    # Sockets Twisted already has are kept.
    adoptInheritedSockets({"LISTEN_PID": me, "LISTEN_FDS": "1"}, dict)
    assert _SystemdParser._sddaemon == ListenFDs([3, 4], ("unknown", "unknown"))


@pytest.mark.parametrize("start", [
    {"LISTEN_FDS": "1"},  # not this process's
    {"LISTEN_PID": "1", "LISTEN_FDS": "1"},
    {"LISTEN_PID": "{pid}", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"},  # Twisted's rule
    {"LISTEN_PID": "{pid}", "LISTEN_FDS": "x"},
])
def test_no_sockets_where_the_environment_gives_none(noSockets, start):
    start = {key: value.format(pid=os.getpid()) for key, value in start.items()}
    adoptInheritedSockets({}, lambda: start)
    assert _SystemdParser._sddaemon.inheritedDescriptors() == []


def test_names_given_are_kept(noSockets):
    adoptInheritedSockets({"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2",
                           "LISTEN_FDNAMES": "web:admin"}, dict)
    assert _SystemdParser._sddaemon.inheritedNamedDescriptors() == {"web": 3, "admin": 4}
