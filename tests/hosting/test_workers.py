"""
C{twistd netsvc --workers N}: a real supervisor and real worker processes
on 127.0.0.1, sharing one port; crash restart, rolling restart on SIGHUP
and the drain on SIGTERM/SIGINT, watched from outside as an operator
would.  Waits are on conditions with deadlines, never on sleeps.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_twistd_plugin import get, twistd
from twisted.internet.testing import MemoryReactorClock

import support
from netsvc_twisted._hosting import _supervisor
from support import freePort, metricSamples

APP = Path(__file__).resolve().parent.parent / "apps" / "pid_app.py"
#: Seconds any one condition may take to come true.
DEADLINE = 30.0
waitUntil = functools.partial(support.waitUntil, deadline=DEADLINE)


def fetch(port: int, path: str = "/", connection: http.client.HTTPConnection | None = None):
    """One GET: (status, worker pid, body, headers)."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return response.status, int(response.getheader("X-Worker-Pid")), body, response
    finally:
        if own:
            connection.close()


class Supervised:
    """
    C{twistd -n netsvc --workers N} on pid_app.py, log in a file; signals
    go to its PID only.
    """

    def __init__(self, tmp_path: Path, workers: int = 2, *extra: str,
                 listen: str = "tcp:0:interface=127.0.0.1", env: dict | None = None) -> None:
        self.log = tmp_path / "twistd.log"
        self.child = subprocess.Popen(
            [*twistd(), "-n", "--pidfile=", f"--logfile={self.log}", "netsvc",
             "--workers", str(workers), "--config", str(APP), "--listen", listen, *extra],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )
        listening = self.waitFor(r"HttpDaemon listening on .*port=(\d+)|HttpDaemon listening")
        self.port = int(listening.group(1)) if listening.group(1) else None

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def waitFor(self, pattern: str, count: int = 1) -> re.Match:
        def found():
            matches = list(re.finditer(pattern, self.text()))
            return matches[count - 1] if len(matches) >= count else None

        return waitUntil(found, f"{pattern!r} x{count} in the log", process=self.child,
                         log=self.log)

    def readyPids(self) -> list[int]:
        return [int(m) for m in re.findall(r"worker \d+ \(pid (\d+)\) is ready", self.text())]

    def ended(self, pid: int) -> str | None:
        found = re.search(rf"worker \d+ \(pid {pid}\) ended: (.*)", self.text())
        return found.group(1) if found else None

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.child.send_signal(signum)
        _, err = self.child.communicate(timeout=DEADLINE)
        return self.child.returncode, err

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        self.child.communicate()
        # A worker outliving its supervisor stops when its control socket
        # closes; make sure none is left whatever happened.
        for pid in self.readyPids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def supervised(tmp_path):
    running: list[Supervised] = []

    def start(workers: int = 2, *extra: str, **kwargs) -> Supervised:
        running.append(Supervised(tmp_path, workers, *extra, **kwargs))
        return running[-1]

    yield start
    for run in running:
        run.close()


def test_two_workers_answer_on_one_port_and_sigterm_exits_0(supervised):
    run = supervised(2)
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    workers = set(run.readyPids())
    assert len(workers) == 2 and os.getpid() not in workers
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: fetch(run.port), range(200)))
    assert {status for status, *_ in results} == {200}
    answered = {pid for _, pid, *_ in results}
    assert answered == workers, answered  # both, and nobody else
    ids = {response.getheader("X-Worker-Id") for *_, response in results}
    assert ids == {"0", "1"}
    [metrics] = {response.getheader("X-Metrics-Dir") for *_, response in results}
    assert os.path.isdir(metrics)
    assert run.stop() == (0, "")
    assert not os.path.exists(metrics)  # the supervisor made it and removed it
    assert all(run.ended(pid) == "exit status 0" for pid in workers), run.text()


def test_metrics_add_up_across_workers(supervised):
    """Every worker counts into one multiprocess directory, and any worker
    answering the shared --metrics-listen port reports the total."""
    metricsPort = freePort()
    run = supervised(2, "--metrics-listen", f"tcp:{metricsPort}:interface=127.0.0.1")
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: fetch(run.port), range(60)))
    assert {pid for _, pid, *_ in results} == set(run.readyPids())

    def served():
        samples = metricSamples(get(metricsPort, "/metrics")[1].decode())
        return sum(value for (name, labels), value in samples.items()
                   if name == "netsvc_http_requests_total" and ("status", "200") in labels)

    # Several scrapes, whichever worker takes each: the same total.
    assert waitUntil(lambda: served() == 60, "60 requests counted")
    assert [served() for _ in range(4)] == [60] * 4
    assert run.stop() == (0, "")


def test_a_killed_worker_is_replaced_and_the_other_serves_on(supervised):
    run = supervised(2)
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    # A download in flight on one worker; the other one is killed.
    slow = http.client.HTTPConnection("127.0.0.1", run.port, timeout=20)
    slow.request("GET", "/slow")
    download = slow.getresponse()
    survivor = int(download.getheader("X-Worker-Pid"))
    [victim] = set(run.readyPids()) - {survivor}
    os.kill(victim, signal.SIGKILL)
    assert run.waitFor(rf"worker \d \(pid {victim}\) ended: killed by signal 9")
    killedAt = time.monotonic()
    seen, failures = set(), []

    def replaced():
        try:
            status, pid, *_ = fetch(run.port)
            seen.add(pid)
            if status != 200:
                failures.append(status)
        except OSError as e:
            failures.append(e)
        return seen - {survivor}

    [newcomer] = waitUntil(replaced, "a new worker answers", deadline=5.0)
    assert time.monotonic() - killedAt < 5.0
    assert failures == [] and newcomer != victim
    assert download.read().count(b"part ") == 20  # on the survivor, uncut
    slow.close()
    assert "restarting worker" in run.text()


def loopRequests(port: int, stop: threading.Event, keepAlive: bool, seen: list, errors: list):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20) if keepAlive else None
    while not stop.is_set():
        try:
            status, pid, *_ = fetch(port, connection=connection)
            seen.append(pid)
            if status != 200:
                errors.append(status)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            errors.append(repr(e))
            if connection is not None:
                connection.close()


def test_sighup_replaces_every_worker_without_a_failed_request(supervised):
    run = supervised(2)
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    old = set(run.readyPids())
    stop = threading.Event()
    loops = [([], [], keepAlive) for keepAlive in (False, True, False, True)]
    threads = [threading.Thread(target=loopRequests, args=(run.port, stop, k, s, e))
               for s, e, k in loops]
    for thread in threads:
        thread.start()
    try:
        waitUntil(lambda: all(len(s) > 20 for s, _, _ in loops), "the clients are running")
        run.child.send_signal(signal.SIGHUP)
        run.waitFor(r"worker \d \(pid \d+\) is ready", count=4)
        new = set(run.readyPids()) - old
        assert len(new) == 2
        waitUntil(lambda: all(run.ended(pid) for pid in old), "the old workers ended")
        marks = [len(s) for s, _, _ in loops]
        waitUntil(lambda: all(len(s) > m + 20 for (s, _, _), m in zip(loops, marks)),
                  "the clients go on")
    finally:
        stop.set()
        for thread in threads:
            thread.join(DEADLINE)
    for seen, errors, _ in loops:
        assert errors == []
        assert set(seen[-10:]) <= new  # every worker PID was replaced
    assert {run.ended(pid) for pid in old} == {"exit status 0"}
    assert run.stop() == (0, "")


def healthz(port: int) -> int | None:
    """The status of GET /healthz, or None when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_lets_a_slow_download_finish_within_the_drain_timeout(supervised, signum):
    run = supervised(2, "--drain-timeout", "10")
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    workers = set(run.readyPids())
    slow = http.client.HTTPConnection("127.0.0.1", run.port, timeout=20)
    slow.request("GET", "/slow")
    download = slow.getresponse()
    assert download.read(7) == b"part 0\n"
    started = time.monotonic()
    run.child.send_signal(signum)
    rest = download.read()
    assert rest.count(b"part ") == 19 and rest.endswith(b"part 19\n")
    code = run.child.wait(timeout=DEADLINE)
    assert time.monotonic() - started < 10
    assert code == 0, run.text()
    assert {run.ended(pid) for pid in workers} == {"exit status 0"}
    slow.close()


def test_healthz_answers_503_while_a_worker_drains(supervised):
    """A balancer's health check sees the drain before the download in
    flight ends, and the download still completes."""
    metricsPort = freePort()
    run = supervised(1, "--drain-timeout", "10",
                     "--metrics-listen", f"tcp:{metricsPort}:interface=127.0.0.1")
    run.waitFor(r"worker \d \(pid \d+\) is ready")
    assert healthz(metricsPort) == 200
    slow = http.client.HTTPConnection("127.0.0.1", run.port, timeout=20)
    slow.request("GET", "/slow")
    download = slow.getresponse()
    assert download.read(7) == b"part 0\n"
    run.child.send_signal(signal.SIGTERM)
    assert waitUntil(lambda: healthz(metricsPort) == 503, "/healthz 503 while draining")
    rest = download.read()
    assert rest.endswith(b"part 19\n")
    assert run.child.wait(timeout=DEADLINE) == 0, run.text()
    slow.close()


def test_a_script_that_cannot_start_stops_the_supervisor_with_one_line(tmp_path):
    (tmp_path / "boom.py").write_text("import os\n\ndef f():\n    return 1 / 0\n\nf()\n")
    child = subprocess.run(
        [*twistd(), "-n", "--pidfile=", f"--logfile={tmp_path / 'twistd.log'}", "netsvc",
         "--workers", "3", "--config", "boom.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE,
    )
    assert child.returncode == 1
    assert child.stderr.splitlines() == [
        "twistd netsvc: boom.py:4: ZeroDivisionError: division by zero"]
    log = (tmp_path / "twistd.log").read_text()
    assert "worker 0 could not start (exit status 1)" in log
    assert not re.search(r"worker [12]", log)  # one worker tried, not three


def test_a_reload_that_cannot_start_leaves_the_old_workers_serving(tmp_path, supervised):
    broken = tmp_path / "broken"
    run = supervised(2, env={"PID_APP_FAIL_IF": str(broken)})
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    old = set(run.readyPids())
    broken.touch()  # the new code is broken
    run.child.send_signal(signal.SIGHUP)
    run.waitFor(r"reload abandoned: new worker \d exit status 1 before it was ready")
    waitUntil(lambda: len(re.findall(r"ended:", run.text())) >= 2, "the new workers are gone")
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: fetch(run.port), range(50)))
    assert {status for status, *_ in results} == {200}
    assert {pid for _, pid, *_ in results} <= old
    assert not any(run.ended(pid) for pid in old)
    broken.unlink()  # fixed: the next reload goes through
    run.child.send_signal(signal.SIGHUP)
    waitUntil(lambda: all(run.ended(pid) for pid in old), "the old workers ended")
    assert fetch(run.port)[1] not in old
    code, err = run.stop()
    assert code == 0
    # The failed workers' own one line, passed on to the operator.
    assert set(err.splitlines()) == {
        f"twistd netsvc: {APP}: the script exited with 'pid_app: failing as asked'"}


def test_workers_stop_when_the_supervisor_is_killed(supervised):
    run = supervised(2)
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    workers = run.readyPids()
    run.child.kill()
    run.child.wait(timeout=DEADLINE)

    def gone(pid):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rpartition(")")[2].split()[0] == "Z"
        except FileNotFoundError:
            return True

    waitUntil(lambda: all(gone(pid) for pid in workers), "the orphaned workers stop")


def unixGet(path: Path) -> tuple[int, int]:
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(20)
        client.connect(str(path))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    pid = int(re.search(rb"X-Worker-Pid: (\d+)", reply, re.I).group(1))
    return status, pid


def test_a_unix_socket_is_shared_and_outlives_a_reload(tmp_path, supervised):
    path = tmp_path / "app.sock"
    run = supervised(2, listen=f"unix:{path}")
    run.waitFor(r"worker \d \(pid \d+\) is ready", count=2)
    old = set(run.readyPids())
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: unixGet(path), range(100)))
    assert {status for status, _ in results} == {200}
    assert {pid for _, pid in results} == old
    run.child.send_signal(signal.SIGHUP)
    waitUntil(lambda: all(run.ended(pid) for pid in old), "the old workers ended")
    # The old workers closed their copies: the file is still there.
    status, pid = unixGet(path)
    assert status == 200 and pid not in old
    assert run.stop() == (0, "")
    assert not path.exists()  # the supervisor's port removed it


def test_restart_back_off_doubles_and_resets_once_a_worker_lived():
    """The policy alone, on a memory clock: no process is started."""
    clock = MemoryReactorClock()
    supervisor = _supervisor.Supervisor(1, [], 1.0, reactor=clock)
    delays = []
    for age in (1, 1, 1, 1, 1, 1, 1, 1, 1, _supervisor.STABLE + 1, 1):
        supervisor._restart(SimpleNamespace(slot=0, started=time.monotonic() - age))
        call = supervisor._restarts.pop(0)
        delays.append(round(call.getTime() - clock.seconds(), 3))
        call.cancel()
    assert delays == [0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 0.0, 0.1]
