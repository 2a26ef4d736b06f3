# -*- test-case-name: tests.hosting.test_twistd_plugin -*-
"""
C{twistd netsvc --config app.py}: an OSE-style application script run as a
twistd service.

The script runs as C{python app.py} would run it (C{__name__} is
C{"__main__"}, C{sys.argv} is the script and its arguments, its directory
is first on C{sys.path}), with three differences that hand the process
over to twistd:

  - every L{HttpDaemon} the script creates or starts becomes a child
    service of the plugin's L{MultiService}, so twistd starts and stops it
    (and a script written for twistd may leave out C{daemon.start()});
  - C{daemon.start()} does not listen yet: it returns a Deferred that
    fires with the listening port (or L{None}) once twistd's
    C{privilegedStartService} has listened, so ports below 1024 bind
    before C{--uid}/C{--gid} shed privileges;
  - C{Dispatcher().run()} returns at once; twistd runs the reactor.

C{--listen} endpoints go to the one daemon the script created without a
port (C{HttpDaemon()}); daemons created with a port keep it.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from twisted.application import service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python import usage

from netsvc_twisted._hosting import _workers
from netsvc_twisted._hosting._endpoints import adoptInheritedSockets, endpointProblem
from netsvc_twisted._hosting._failures import (
    describe,
    fullStatusMessages,
    optionAfterArguments,
    printTraceback,
)
from netsvc_twisted._hosting._operations import (
    OPERATIONS_PARAMETERS,
    applyOperations,
    supervisorFor,
)
from netsvc_twisted._http._accesslog import AccessLog
from netsvc_twisted._http._daemon import HttpDaemon, _portOf
from netsvc_twisted._http._proxy import DEFAULT_FORWARDED_ALLOW_IPS, trustedProxies
from netsvc_twisted._events._dispatcher import Dispatcher

_log = Logger(namespace="netsvc.twistd")

__all__ = ["Options", "makeService", "ScriptError"]


class ScriptError(SystemExit, Exception):
    """
    The script could not be run or its daemons could not listen.

    A C{SystemExit} so twistd ends with status 1 and no traceback, and an
    C{Exception} so a daemonising twistd reports it to its parent process
    through the status pipe instead of exiting 0.  The one-line message is
    written to the process's real stderr (twistd has redirected
    C{sys.stderr} into the log by the time services start) and logged.
    """

    def __init__(self, message: str) -> None:
        super().__init__(1)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _fail(message: str) -> ScriptError:
    message = " ".join(message.split("\n"))
    stream = sys.__stderr__
    if stream is not None:
        stream.write(message + "\n")
        stream.flush()
    return ScriptError(message)


# Behind proxies and monitored (docs/howto/deploy): --proxy-headers,
# --forwarded-allow-ips, --metrics-listen.

class _DeploymentOptions(usage.Options):
    """The proxy and metrics options of L{Options}."""

    def __init__(self) -> None:
        super().__init__()
        self["proxy-headers"] = False
        self["forwarded-allow-ips"] = None
        self["metrics-listen"] = None

    def opt_proxy_headers(self) -> None:
        """Believe Forwarded / X-Forwarded-* headers from the peers of --forwarded-allow-ips."""
        self["proxy-headers"] = True

    def opt_forwarded_allow_ips(self, value: str) -> None:
        """Comma-separated proxy addresses or CIDR networks trusted with --proxy-headers (default 127.0.0.1,::1)."""  # noqa: E501
        try:
            trustedProxies(value)
        except ValueError as e:
            raise usage.UsageError(f"--forwarded-allow-ips: {e}") from None
        self["forwarded-allow-ips"] = value

    def opt_metrics_listen(self, description: str) -> None:
        """Endpoint serving GET /metrics (Prometheus) and GET /healthz for every daemon."""
        self["metrics-listen"] = description

    def postOptions(self) -> None:
        # Here, not in makeService: before the script runs and, under
        # --workers, before any worker starts.
        if self["forwarded-allow-ips"] is not None and not self["proxy-headers"]:
            raise usage.UsageError("--forwarded-allow-ips needs --proxy-headers")


def _assignDeployment(services: list[DaemonService], options: usage.Options) -> None:
    """
    Daemons without trusted proxies of their own get --forwarded-allow-ips
    (with --proxy-headers); daemons without a metrics endpoint of their
    own, --metrics-listen.
    """
    allow = options["forwarded-allow-ips"]
    for target in services:
        daemon = target.daemon
        if options["proxy-headers"] and daemon.site.proxies is None:
            daemon.trustProxies(DEFAULT_FORWARDED_ALLOW_IPS if allow is None else allow)
        if options["metrics-listen"] and daemon._metrics is None:
            try:
                daemon.serveMetrics(options["metrics-listen"])
            except ValueError as e:
                raise _fail(f"twistd netsvc: --metrics-listen: {e}") from None


class Options(_DeploymentOptions):
    """
    Command line of C{twistd netsvc}, in the style of C{twistd web}.
    """

    synopsis = "[netsvc options] --config FILE [script arguments...]"
    longdesc = (
        "Run an OSE-style netsvc application script (the program you would run "
        "with 'python FILE') under twistd.  Daemons the script creates or starts "
        "are started and stopped by twistd; Dispatcher().run() returns at once.  "
        "Arguments after the options become the script's sys.argv[1:]."
    )
    optParameters = [
        ["config", "c", None, "The application script to run (required)."],
        ["access-log", None, None,
         "Append the combined-format request log of every daemon that has no "
         "log file of its own to this file."],
        ["backlog", None, None,
         "Listen queue length of every daemon's endpoints that name none "
         "(default 1024).", int],
    ] + OPERATIONS_PARAMETERS
    optFlags = [
        ["traceback", None, "Show the whole traceback of an error in the script."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["args"] = ()
        self.commandLine: list[str] = []

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        # Kept as given: it is each worker's command line under --workers.
        self.commandLine = list(sys.argv[1:] if options is None else options)
        super().parseOptions(options)

    def opt_listen(self, description: str) -> None:
        """Endpoint of the daemon created without a port, HttpDaemon() (repeatable; default tcp:8000); others keep theirs."""  # noqa: E501
        self["listen"].append(description)

    def parseArgs(self, *args: str) -> None:
        misplaced = optionAfterArguments(self, self.commandLine, args)
        if misplaced:
            raise _fail(
                f"twistd netsvc: {misplaced} comes after the script's arguments "
                f"({' '.join(args[:args.index(misplaced)])}): put it before them, or "
                f"write -- before the arguments to give it to the script"
            )
        self["args"] = args

    def postOptions(self) -> None:
        if not self["config"]:
            raise usage.UsageError("--config FILE is required")
        super().postOptions()


class DaemonService(service.Service):
    """
    Starts one L{HttpDaemon} for twistd: listens in
    C{privilegedStartService}, drains in C{stopService}, and answers the
    Deferreds the script got from C{daemon.start()}.
    """

    def __init__(self, daemon: HttpDaemon, script: str) -> None:
        self.daemon = daemon
        self.script = script
        self.extraEndpoints: list[str] = []
        self.waiting: list[defer.Deferred] = []
        self.accessLog: AccessLog | None = None
        #: A worker's L{_workers.SharedSocketReactor}: where it listens.
        self.listenReactor: Any = None
        self._extraPorts: list[Any] = []

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        daemon = self.daemon
        saved = daemon._reactor
        if self.listenReactor is not None:
            daemon._reactor = self.listenReactor
        try:
            self._listen(daemon)
        finally:
            daemon._reactor = saved

    def _listen(self, daemon: HttpDaemon) -> None:
        started = _originalStart(daemon)
        result: list[Any] = []
        started.addBoth(lambda value: (result.append(value), value)[1])
        if result and result[0] is None:
            raise _fail(
                f"twistd netsvc: {self.script}: {daemon!r} could not listen: "
                f"{daemon.startFailure.getErrorMessage()}"
            )
        # The MultiService owns the stop: without this the daemon's own
        # shutdown trigger would stop it a second time.
        trigger, daemon._shutdownTrigger = daemon._shutdownTrigger, None
        if trigger is not None:
            daemon._reactorUsed().removeSystemEventTrigger(trigger)
        for description in self.extraEndpoints:
            endpoint = serverFromString(daemon._reactorUsed(), daemon.withBacklog(description))
            listened: list[Any] = []
            endpoint.listen(daemon.site).addBoth(listened.append)
            if listened and not hasattr(listened[0], "stopListening"):
                raise _fail(
                    f"twistd netsvc: {self.script}: {daemon!r} could not listen on "
                    f"{description}: {listened[0].getErrorMessage()}"
                )
            self._extraPorts.extend(listened)
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            started.addBoth(lambda value, d=d: (d.callback(value), value)[1])

    def stopService(self) -> defer.Deferred:
        super().stopService()
        ports, self._extraPorts = self._extraPorts, []
        stopping = [defer.maybeDeferred(port.stopListening) for port in ports]
        stopping.append(self.daemon.stop())
        d = defer.gatherResults(stopping, consumeErrors=True)

        def closeLog(result: Any) -> Any:
            if self.accessLog is not None:
                self.accessLog.close()
            return result

        return d.addBoth(closeLog)


_originalStart = HttpDaemon.start


class _Adopter:
    """
    Collects the daemons a script creates or starts, in order.
    """

    def __init__(self, script: str) -> None:
        self.script = script
        self.services: dict[int, DaemonService] = {}

    def adopt(self, daemon: HttpDaemon) -> DaemonService:
        found = self.services.get(id(daemon))
        if found is None:
            found = self.services[id(daemon)] = DaemonService(daemon, self.script)
        return found

    @contextmanager
    def capturing(self) -> Iterator[None]:
        originalInit = HttpDaemon.__init__
        originalRun = Dispatcher.run
        adopter = self

        def __init__(daemon: HttpDaemon, *args: Any, **kwargs: Any) -> None:
            originalInit(daemon, *args, **kwargs)
            adopter.adopt(daemon)

        def start(daemon: HttpDaemon) -> defer.Deferred:
            d: defer.Deferred = defer.Deferred()
            adopter.adopt(daemon).waiting.append(d)
            return d

        def run(dispatcher: Dispatcher) -> None:
            return None

        HttpDaemon.__init__ = __init__  # type: ignore[method-assign]
        HttpDaemon.start = start  # type: ignore[method-assign]
        Dispatcher.run = run  # type: ignore[method-assign]
        try:
            yield
        finally:
            HttpDaemon.__init__ = originalInit  # type: ignore[method-assign]
            HttpDaemon.start = _originalStart  # type: ignore[method-assign]
            Dispatcher.run = originalRun  # type: ignore[method-assign]


@contextmanager
def _scriptArguments(path: str, args: Sequence[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = [path, *args]
    try:
        yield
    finally:
        sys.argv = saved


def runScript(
    path: str, args: Sequence[str] = (), showTraceback: bool = False
) -> list[DaemonService]:
    """
    Run the script at C{path} as C{__main__}; return a service per daemon
    it created or started.  Failures become one-line L{ScriptError}s,
    after the whole traceback if C{showTraceback}.
    """
    import runpy

    if not os.path.isfile(path):
        raise _fail(f"twistd netsvc: {path}: no such file")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    adopter = _Adopter(path)
    try:
        with adopter.capturing(), _scriptArguments(path, args):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        if exc.code in (None, 0):
            raise
        raise _fail(f"twistd netsvc: {path}: the script exited with {exc.code!r}") from None
    except BaseException as exc:
        if showTraceback:
            printTraceback(exc)
        raise _fail(f"twistd netsvc: {describe(exc, path)}") from None
    return list(adopter.services.values())


def _assignEndpoints(services: list[DaemonService], listen: list[str], path: str) -> None:
    if not listen:
        return
    portless = [s for s in services if not getattr(s.daemon, "endpointGiven", True)]
    if len(portless) != 1:
        raise _fail(
            f"twistd netsvc: {path}: --listen applies to the one daemon created "
            f"without a port (HttpDaemon()); the script created {len(portless)}"
        )
    target = portless[0]
    daemon = target.daemon
    daemon._description = listen[0]
    daemon._port = _portOf(listen[0])
    target.extraEndpoints = list(listen[1:])


def _assignAccessLog(services: list[DaemonService], path: str | None) -> None:
    if not path:
        return
    for target in services:
        site = target.daemon.site
        existing = site.accessLog
        if existing is not None and existing._file is not None:
            continue
        channel = existing._channel if existing is not None else None
        site.accessLog = target.accessLog = AccessLog(path, channel)


class _WorkerService(service.MultiService):
    """
    A worker's daemons: tells the supervisor once they all listen.
    """

    def __init__(self, link: _workers.SupervisorLink) -> None:
        super().__init__()
        self.link = link

    def startService(self) -> None:
        super().startService()
        from twisted.internet import reactor

        drain = max((child.daemon.drainTimeout for child in self), default=0.0)
        self.link.ready(drain)
        self.link.watch(reactor)
        _workers.exitCleanlyAfterDrain(reactor)


def _checkOptionEndpoints(options: Options) -> None:
    """
    The endpoint strings of the command line, before the script runs:
    one line for the first bad one.
    """
    from twisted.internet import reactor

    given = [("--listen", description) for description in options["listen"]]
    if options["metrics-listen"]:
        given.append(("--metrics-listen", options["metrics-listen"]))
    for option, description in given:
        problem = endpointProblem(reactor, description)
        if problem:
            raise _fail(f"twistd netsvc: {option} {description}: {problem}")


def _checkDaemonEndpoints(services: list[DaemonService], path: str) -> None:
    """
    The endpoint strings of the script's daemons, before anything
    listens: one line for the first bad one.
    """
    from twisted.internet import reactor

    for target in services:
        daemon = target.daemon
        problem = endpointProblem(reactor, daemon._description)
        if problem:
            raise _fail(f"twistd netsvc: {path}: {daemon!r}: {problem}")
        metrics = getattr(daemon._metrics, "server", None)  # HttpDaemon(metrics=...)
        problem = metrics and endpointProblem(reactor, metrics.description)
        if problem:
            raise _fail(f"twistd netsvc: {path}: {daemon!r}: "
                        f"metrics={metrics.description!r}: {problem}")


def makeService(options: Options) -> service.Service:
    """
    Run the script and return a L{MultiService} of its daemons, or under
    C{--workers} the supervisor that runs it in worker processes.
    """
    path = options["config"]
    fullStatusMessages()
    adoptInheritedSockets()  # before a systemd: endpoint is parsed or passed to workers
    _checkOptionEndpoints(options)
    link = _workers.SupervisorLink.fromEnvironment()
    if options["workers"] is not None and link is None:
        if not os.path.isfile(path):
            raise _fail(f"twistd netsvc: {path}: no such file")
        return supervisorFor(options, options.commandLine)
    services = runScript(path, options["args"], options["traceback"])
    if not services:
        _nothingToRun(path)
    _assignEndpoints(services, options["listen"], path)
    _checkDaemonEndpoints(services, path)
    _assignAccessLog(services, options["access-log"])
    _assignDeployment(services, options)
    if options["backlog"] is not None:
        for child in services:
            child.daemon.backlog = options["backlog"]
    applyOperations(services, options)
    top = service.MultiService() if link is None else _WorkerService(link)
    for child in services:
        if link is not None:
            from twisted.internet import reactor

            child.listenReactor = _workers.SharedSocketReactor(reactor, link)
        child.setServiceParent(top)
    return top


def _nothingToRun(path: str) -> None:
    """
    A script that creates no daemon and schedules nothing would run for
    ever doing nothing: say so.  One that scheduled work (an event-system
    program that stops twistd itself) only gets a warning.
    """
    from twisted.internet import reactor

    if not reactor.getDelayedCalls():
        raise _fail(
            f"twistd netsvc: {path}: the script created no HttpDaemon, so there "
            f"is nothing to serve: e.g. daemon = netsvc.HttpDaemon(); "
            f"daemon.attach('/', server)"
        )
    _log.warn("{script} created no HttpDaemon", script=path)

