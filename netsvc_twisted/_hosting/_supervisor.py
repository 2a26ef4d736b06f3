# -*- test-case-name: tests.hosting.test_workers -*-
"""
The supervisor of C{twistd netsvc --workers N}: starts N worker processes
(each a C{twistd -n netsvc} running the script), binds the listening
sockets they ask for once and hands them over, restarts a worker that
dies, drains them all on SIGTERM/SIGINT and replaces them all on SIGHUP.

It never runs the script and never touches a request: no application
state lives here, and its only steady work is relaying the workers' log
lines.  Everything is on the reactor (C{spawnProcess}, a control socket
per worker), no threads.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from twisted.application import service
from twisted.internet import defer, error, protocol
from twisted.logger import Logger, eventFromJSON, globalLogPublisher
from twisted.protocols.basic import LineOnlyReceiver

from netsvc_twisted._hosting import _workers

_log = Logger(namespace="netsvc.supervisor")

#: prometheus_client's multiprocess directory (set for the workers unless
#: the operator set it).
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds between restarts of a worker that keeps dying: doubled from
#: the first to the last, reset once a worker lived C{STABLE} seconds.
BACKOFF_FIRST, BACKOFF_LAST, STABLE = 0.1, 10.0, 10.0
#: Seconds a worker may take beyond its drain time before it is killed.
KILL_GRACE = 5.0
#: How long a worker may take to start before it counts as failed.
START_TIMEOUT = 60.0
#: Bytes of a worker's output line kept while waiting for its newline.
MAX_LINE = 1 << 16


def cpuCount() -> int:
    """The CPUs this process may run on (affinity, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Control(LineOnlyReceiver):
    """
    The supervisor's end of one worker's control socket.
    """

    delimiter = b"\n"

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker

    def lineReceived(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            _log.warn("worker {id}: bad control message {line!r}", id=self.worker.slot, line=line)
            return
        supervisor = self.worker.supervisor
        if "listen" in message:
            try:
                port = supervisor.sharedPort(tuple(message["listen"]))
            except error.CannotListenError as e:
                self.sendLine(json.dumps({"error": str(e.socketError)}).encode())
                return
            self.transport.sendFileDescriptor(port.fileno())
            self.sendLine(json.dumps({"family": int(port.addressFamily)}).encode())
        elif "ready" in message:
            self.worker.becameReady(message["ready"])


class _NoConnections(protocol.Factory):
    """The factory of the supervisor's ports, which never accept."""

    noisy = False


class WorkerProcess(protocol.ProcessProtocol):
    """
    One worker: its process, its control socket, its log relay.
    """

    def __init__(self, supervisor: Supervisor, slot: int) -> None:
        self.supervisor = supervisor
        self.slot = slot
        self.pid: int | None = None
        self.ready = False
        self.retired = False
        self.drainTimeout = supervisor.drainTimeout
        self.started = time.monotonic()
        self.ended: defer.Deferred = defer.Deferred()
        self._buffers = {1: b"", 2: b""}
        self._killCall: Any = None
        self._startCall: Any = None

    def connectionMade(self) -> None:
        self.pid = self.transport.pid
        self.transport.closeStdin()

    def childDataReceived(self, fd: int, data: bytes) -> None:
        lines = (self._buffers.get(fd, b"") + data).split(b"\n")
        rest = lines.pop()
        if len(rest) > MAX_LINE:  # no newline in sight: pass it on anyway
            lines.append(rest)
            rest = b""
        self._buffers[fd] = rest
        for line in lines:
            self._relay(fd, line)

    def _relay(self, fd: int, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        if fd == 1 and text.startswith("{"):
            try:
                event = eventFromJSON(text)
            except ValueError:
                event = None
            if event is not None:
                namespace = event.get("log_namespace", "-")
                level = getattr(event.get("log_level"), "name", "-")
                event["log_system"] = f"worker {self.slot}:{namespace}#{level}"
                globalLogPublisher(event)
                return
        if fd == 2:
            # Before its log starts (a script error's one line) a worker
            # writes to stderr: the operator sees it where the
            # supervisor's own would go.
            stream = sys.__stderr__
            if stream is not None:
                try:
                    stream.write(text + "\n")
                    stream.flush()
                except (OSError, ValueError):
                    pass
        _log.info("worker {id}: {line}", id=self.slot, line=text)

    def becameReady(self, info: dict) -> None:
        self.ready = True
        self.drainTimeout = float(info.get("drain", self.drainTimeout))
        self._cancel("_startCall")
        _log.info("worker {id} (pid {pid}) is ready", id=self.slot, pid=self.pid)
        self.supervisor.workerReady(self)

    def terminate(self) -> None:
        """SIGTERM for a graceful drain; SIGKILL if it outlives it."""
        if self.ended.called:
            return
        self.retired = True
        self._signal("TERM")
        if self._killCall is None:
            reactor = self.supervisor.reactor
            self._killCall = reactor.callLater(
                self.drainTimeout + KILL_GRACE, self._kill)

    def _kill(self) -> None:
        self._killCall = None
        _log.warn("worker {id} (pid {pid}) still running {seconds} s after SIGTERM: killing it",
                  id=self.slot, pid=self.pid, seconds=self.drainTimeout + KILL_GRACE)
        self._signal("KILL")

    def _signal(self, name: str) -> None:
        try:
            self.transport.signalProcess(name)
        except error.ProcessExitedAlready:
            pass

    def _cancel(self, attribute: str) -> None:
        call = getattr(self, attribute)
        setattr(self, attribute, None)
        if call is not None and call.active():
            call.cancel()

    def processEnded(self, reason: Any) -> None:
        self._cancel("_killCall")
        self._cancel("_startCall")
        for fd, rest in self._buffers.items():
            if rest:
                self._relay(fd, rest)
        value = reason.value
        code, sig = getattr(value, "exitCode", None), getattr(value, "signal", None)
        self.status = f"killed by signal {sig}" if sig else f"exit status {code}"
        self.clean = code == 0
        self.supervisor.workerEnded(self)
        self.ended.callback(self)


class Supervisor(service.Service):
    """
    The service C{twistd netsvc --workers N} runs instead of the script.

    @param argv: the worker's command after the interpreter: twistd's
        options, C{netsvc} and the netsvc command line.
    """

    def __init__(self, count: int, argv: list[str], drainTimeout: float,
                 reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.count = count
        self.argv = argv
        self.drainTimeout = drainTimeout
        self.workers: dict[int, WorkerProcess] = {}
        self.rolling: dict[int, WorkerProcess] | None = None
        self.stopping = False
        self.everReady = False
        self.failed: str | None = None
        self._ports: dict[tuple, Any] = {}
        self._failures = [0] * count
        self._restarts: dict[int, Any] = {}
        self._metricsDir: str | None = None
        self._forwarded = self._systemdDescriptors()

    # Start and stop.

    def startService(self) -> None:
        super().startService()
        if not os.environ.get(METRICS_DIR):
            self._metricsDir = tempfile.mkdtemp(prefix="netsvc-metrics-")
        signal.signal(signal.SIGHUP, self._sighup)
        _log.info("supervisor (pid {pid}) starting {count} worker(s)",
                  pid=os.getpid(), count=self.count)
        # One first: a script that cannot start fails once, with one
        # message, and the others start once it could.
        self.workers[0] = self._spawn(0)

    def _sighup(self, signum: int, frame: Any) -> None:
        self.reactor.callFromThread(self.reload)

    def stopService(self) -> defer.Deferred:
        super().stopService()
        self.stopping = True
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        self._cancelRestarts()
        everyone = list(self.workers.values()) + list((self.rolling or {}).values())
        self.rolling = None
        for worker in everyone:
            worker.terminate()
        d = defer.gatherResults([w.ended for w in everyone if not w.ended.called])
        return d.addBoth(self._stopped)

    def _stopped(self, result: Any) -> defer.Deferred:
        ports = [defer.maybeDeferred(port.stopListening) for port in self._ports.values()]
        self._ports.clear()
        if self._metricsDir is not None:
            shutil.rmtree(self._metricsDir, ignore_errors=True)
        _log.info("supervisor: every worker has stopped")
        # twistd would end by the signal that stopped it; a supervisor that
        # drained its workers has done what it was asked and exits 0.
        if self.failed is None and hasattr(self.reactor, "_exitSignal"):
            self.reactor._exitSignal = None
        # Closed, and a Unix socket's file removed, before the reactor ends.
        return defer.gatherResults(ports, consumeErrors=True)

    # Workers.

    def _environment(self, slot: int, controlFd: int) -> dict[str, str]:
        env = dict(os.environ)
        env[_workers.WORKER_ID] = str(slot)
        env[_workers.CONTROL_FD] = str(controlFd)
        if self._metricsDir is not None:
            env[METRICS_DIR] = self._metricsDir
        if self._forwarded:
            fds, names = self._forwarded
            env.update(LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=":".join(names))
            env[_workers.FORWARDED_LISTEN_FDS] = "1"
        return env

    def _spawn(self, slot: int) -> WorkerProcess:
        worker = WorkerProcess(self, slot)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = self._forwarded[0] if self._forwarded else []
        controlFd = 3 + len(fds)
        childFDs: dict[int, Any] = {0: "w", 1: "r", 2: "r", controlFd: theirs.fileno()}
        childFDs.update({fd: fd for fd in fds})
        try:
            self.reactor.spawnProcess(
                worker, sys.executable, [sys.executable, *self.argv],
                env=self._environment(slot, controlFd), path=os.getcwd(), childFDs=childFDs)
        finally:
            theirs.close()
        self.reactor.adoptStreamConnection(
            mine.fileno(), socket.AF_UNIX, protocol.Factory.forProtocol(lambda: _Control(worker)))
        mine.close()
        worker._startCall = self.reactor.callLater(START_TIMEOUT, self._tooSlow, worker)
        return worker

    def _tooSlow(self, worker: WorkerProcess) -> None:
        worker._startCall = None
        _log.error("worker {id} (pid {pid}) not ready after {seconds} s: stopping it",
                   id=worker.slot, pid=worker.pid, seconds=START_TIMEOUT)
        worker.terminate()

    def workerReady(self, worker: WorkerProcess) -> None:
        if not self.everReady:
            self.everReady = True
            for slot in range(1, self.count):
                self.workers[slot] = self._spawn(slot)
        rolling = self.rolling
        if rolling is not None and all(w.ready for w in rolling.values()):
            self._cancelRestarts()  # the new set has every slot
            old, self.workers, self.rolling = self.workers, rolling, None
            _log.info("reload: {count} new worker(s) ready, draining the old ones",
                      count=len(rolling))
            for previous in old.values():
                previous.terminate()

    def workerEnded(self, worker: WorkerProcess) -> None:
        log = _log.info if worker.retired and worker.clean else _log.warn
        log("worker {id} (pid {pid}) ended: {status}",
            id=worker.slot, pid=worker.pid, status=worker.status)
        self._markDead(worker)
        if self.stopping:
            return
        if self.rolling is not None and self.rolling.get(worker.slot) is worker:
            self._abandonReload(worker)
            return
        if self.workers.get(worker.slot) is not worker:
            return  # an old one, replaced
        # A current worker died, or was stopped for starting too slowly.
        if not worker.ready and not self.everReady:
            self._fail(f"worker {worker.slot} could not start ({worker.status})")
            return
        self._restart(worker)

    def _restart(self, worker: WorkerProcess) -> None:
        slot = worker.slot
        if time.monotonic() - worker.started >= STABLE:
            self._failures[slot] = 0
        failures = self._failures[slot]
        self._failures[slot] = failures + 1
        delay = 0.0 if failures == 0 else min(BACKOFF_FIRST * 2 ** (failures - 1), BACKOFF_LAST)
        _log.info("restarting worker {id} in {delay:.1f} s", id=slot, delay=delay)
        self._restarts[slot] = self.reactor.callLater(delay, self._respawn, slot)

    def _cancelRestarts(self) -> None:
        for call in self._restarts.values():
            if call.active():
                call.cancel()
        self._restarts.clear()

    def _respawn(self, slot: int) -> None:
        del self._restarts[slot]
        if not self.stopping:
            self.workers[slot] = self._spawn(slot)

    def _fail(self, reason: str) -> None:
        self.failed = reason
        _log.error("supervisor: {reason}: stopping", reason=reason)
        # Exit 1, as a single process would for a script that cannot run,
        # once twistd has cleaned up (pid file, log).
        atexit.register(_exitFailed)
        if self.reactor.running:
            self.reactor.stop()

    def _markDead(self, worker: WorkerProcess) -> None:
        directory = self._metricsDir or os.environ.get(METRICS_DIR)
        if not directory or worker.pid is None:
            return
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, directory)

    # Reload.

    def reload(self) -> None:
        """
        SIGHUP: start a new set of workers (new code), and drain the old
        ones once every new one is ready.  A new worker that fails to
        start abandons the reload; the old ones serve on.
        """
        if self.stopping:
            return
        if self.rolling is not None or not self.everReady:
            _log.warn("reload: a start or a reload is under way, SIGHUP ignored")
            return
        _log.info("reload: starting {count} new worker(s)", count=self.count)
        self.rolling = {}
        for slot in range(self.count):
            self.rolling[slot] = self._spawn(slot)

    def _abandonReload(self, failed: WorkerProcess) -> None:
        rolling, self.rolling = self.rolling or {}, None
        _log.error("reload abandoned: new worker {id} {status} before it was ready; "
                   "the old workers serve on", id=failed.slot, status=failed.status)
        for worker in rolling.values():
            if worker is not failed:
                worker.terminate()

    # Shared sockets.

    def sharedPort(self, spec: tuple) -> Any:
        """
        The listening port for C{spec} (made once, kept until the
        supervisor stops): bound as Twisted binds it, but never read here.
        """
        port = self._ports.get(spec)
        if port is None:
            kind, *args = spec
            if kind == "tcp":
                number, backlog, interface = args
                port = self.reactor.listenTCP(number, _NoConnections(), backlog, interface)
            elif kind == "unix":
                address, backlog, mode, wantPID = args
                port = self.reactor.listenUNIX(address, _NoConnections(), backlog, mode, wantPID)
            else:
                raise error.CannotListenError(None, None, f"unknown socket type {kind!r}")
            port.stopReading()
            self._ports[spec] = port
        return port

    def _systemdDescriptors(self) -> tuple[list[int], list[str]] | None:
        """
        Sockets from systemd socket activation, passed on to every worker
        at the same numbers.
        """
        from twisted.internet.endpoints import _SystemdParser

        listen = _SystemdParser._sddaemon
        fds = listen.inheritedDescriptors()
        if not fds:
            return None
        return fds, list(getattr(listen, "_names", ())) or ["unknown"] * len(fds)


def _exitFailed() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(1)
