# -*- test-case-name: tests.events.test_dispatcher -*-
"""
OSE's dispatcher, signal monitoring and shutdown sequence (spec 9.1, 9.4)
on the Twisted reactor; the job queue is C{_jobs}, the reactor and loop
state C{_loop}.

OSE runs one event loop per process, so the state here is process-wide: one
three-level job queue drained from the reactor, one table of signal
subscribers and one shutdown sequence.  Everything reaches the reactor
through L{getReactor} so tests can substitute a
L{twisted.internet.task.Clock} or L{MemoryReactorClock} with
L{usingReactor}; with a substitute no OS signal handler is installed and
signals are simulated with L{deliverSignal}.
"""

from __future__ import annotations

import signal as _signal
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Iterator, Optional

from netsvc_twisted._constants import (
    SHUTDOWN_ARRIVED,
    SHUTDOWN_PENDING,
    STANDARD_JOB,
)
from netsvc_twisted._events import _loop
from netsvc_twisted._events._jobs import _queue
from netsvc_twisted._events._logging import logException
from netsvc_twisted._events._loop import (
    _cancelCall,
    _state,
    _stopReactor,
    _terminated,
    getReactor,
)


@contextmanager
def usingReactor(reactor: Any) -> Iterator[Any]:
    """
    Make the event system use C{reactor} (for instance a C{Clock}) inside
    the block; queues, signal subscriptions and shutdown state are reset on
    entry and exit so tests do not leak into each other.
    """
    previous = _loop.reactorOverride
    _resetState()
    _loop.reactorOverride = reactor
    try:
        yield reactor
    finally:
        _resetState()
        _loop.reactorOverride = previous


class _SignalHub:
    """
    Process-wide signal subscriptions.

    The OS handler only hands the signal to the reactor; subscribers run
    from the reactor.  Handlers are installed once the reactor runs, because
    C{reactor.run()} installs Twisted's own SIGINT/SIGTERM handlers.
    """

    def __init__(self) -> None:
        self.subscribers: dict[int, list[tuple[object, Callable[[int], object]]]] = {}
        self.saved: dict[int, Any] = {}
        self.toInstall: set[int] = set()
        self.waitingForStart = False

    def active(self) -> bool:
        return bool(self.subscribers)

    def subscribe(
        self, signum: int, owner: object, callback: Callable[[int], object]
    ) -> None:
        signum = int(signum)
        subscribers = self.subscribers.setdefault(signum, [])
        subscribers[:] = [entry for entry in subscribers if entry[0] is not owner]
        subscribers.append((owner, callback))
        self._install(signum)

    def unsubscribe(self, signum: int, owner: object) -> None:
        signum = int(signum)
        subscribers = self.subscribers.get(signum)
        if subscribers is None:
            return
        subscribers[:] = [entry for entry in subscribers if entry[0] is not owner]
        if not subscribers:
            del self.subscribers[signum]
            self._uninstall(signum)

    def unsubscribeAll(self, owner: object) -> None:
        for signum in list(self.subscribers):
            self.unsubscribe(signum, owner)

    def deliver(self, signum: int) -> None:
        for entry in list(self.subscribers.get(signum, ())):
            if entry in self.subscribers.get(signum, ()):
                try:
                    entry[1](signum)
                except SystemExit as exc:
                    _terminated(exc)
                except Exception:
                    logException()

    def reset(self) -> None:
        for signum in list(self.saved):
            self._uninstall(signum)
        self.subscribers.clear()
        self.toInstall.clear()

    def _handler(self, signum: int, frame: Optional[FrameType]) -> None:
        reactor = getReactor()
        handOver = getattr(reactor, "callFromThread", None)
        if handOver is not None:
            handOver(self.deliver, signum)
        else:
            reactor.callLater(0, self.deliver, signum)

    def _install(self, signum: int) -> None:
        if _loop.reactorOverride is not None or signum in self.saved:
            return
        reactor = getReactor()
        if getattr(reactor, "running", False):
            self.saved[signum] = _signal.signal(signum, self._handler)
            return
        self.toInstall.add(signum)
        if not self.waitingForStart:
            self.waitingForStart = True
            reactor.callWhenRunning(self._installWaiting)

    def _installWaiting(self) -> None:
        self.waitingForStart = False
        waiting, self.toInstall = self.toInstall, set()
        for signum in waiting:
            if signum in self.subscribers:
                self._install(signum)

    def _uninstall(self, signum: int) -> None:
        self.toInstall.discard(signum)
        if signum in self.saved:
            previous = self.saved.pop(signum)
            _signal.signal(signum, _signal.SIG_DFL if previous is None else previous)


_signals = _SignalHub()


def deliverSignal(signum: int) -> None:
    """Deliver C{signum} to its subscribers as if the OS had sent it."""
    _signals.deliver(int(signum))


ShutdownDelivery = Callable[[int, str], object]


class _Shutdown:
    """
    The shutdown sequence (spec 9.4): PENDING to every subscriber, then
    wait for the delay and for every suspension to be resumed, then
    ARRIVED, then stop the reactor.
    """

    def __init__(self) -> None:
        self.subscribers: list[tuple[object, ShutdownDelivery]] = []
        self.suspensions: dict[int, int] = {}
        self.reset()

    def reset(self) -> None:
        for call in (getattr(self, "delayCall", None), getattr(self, "arriveCall", None)):
            if call is not None:
                _cancelCall(call)
        self.state: Optional[int] = None
        self.description = ""
        self.delay = 0.0
        self.delayElapsed = False
        self.delayCall: Any = None
        self.arriveCall: Any = None

    def fullReset(self) -> None:
        self.reset()
        self.subscribers.clear()
        self.suspensions.clear()

    def subscribe(self, owner: object, deliver: ShutdownDelivery) -> None:
        self.unsubscribe(owner)
        self.subscribers.append((owner, deliver))

    def unsubscribe(self, owner: object) -> None:
        self.subscribers[:] = [e for e in self.subscribers if e[0] is not owner]

    def suspended(self) -> int:
        return sum(self.suspensions.values())

    def suspend(self, owner: object) -> None:
        self.suspensions[id(owner)] = self.suspensions.get(id(owner), 0) + 1

    def resume(self, owner: object) -> None:
        count = self.suspensions.get(id(owner), 0)
        if count <= 1:
            self.suspensions.pop(id(owner), None)
        else:
            self.suspensions[id(owner)] = count - 1
        if count and not self.suspended():
            self._arriveSoon()

    def release(self, owner: object) -> None:
        """Forget every suspension of C{owner} (it is being destroyed)."""
        if self.suspensions.pop(id(owner), 0) and not self.suspended():
            self._arriveSoon()

    def schedule(self, delay: float = 0.0, description: str = "") -> bool:
        if self.state is not None:
            return False
        self.state = SHUTDOWN_PENDING
        self.description = description or ""
        self.delay = max(0.0, float(delay or 0.0))
        getReactor().callLater(0, self._notifyPending)
        return True

    def _notify(self, category: int) -> None:
        for entry in list(self.subscribers):
            if entry in self.subscribers:
                try:
                    entry[1](category, self.description)
                except SystemExit as exc:
                    _terminated(exc)
                except Exception:
                    logException()

    def _notifyPending(self) -> None:
        if self.state != SHUTDOWN_PENDING:
            return
        self._notify(SHUTDOWN_PENDING)
        self.delayCall = getReactor().callLater(self.delay, self._delayDone)

    def _delayDone(self) -> None:
        self.delayCall = None
        self.delayElapsed = True
        self._arrive()

    def _arriveSoon(self) -> None:
        if self.state == SHUTDOWN_PENDING and self.delayElapsed and self.arriveCall is None:
            self.arriveCall = getReactor().callLater(0, self._arrive)

    def _arrive(self) -> None:
        self.arriveCall = None
        if self.state != SHUTDOWN_PENDING or not self.delayElapsed or self.suspended():
            return
        self.state = SHUTDOWN_ARRIVED
        self._notify(SHUTDOWN_ARRIVED)
        _stopReactor()


_shutdown = _Shutdown()


# Other modules' process-wide event state (e.g. startup subscribers) that
# usingReactor must reset too.
_resetHooks: list[Callable[[], object]] = []


def _resetState() -> None:
    _queue.clear()
    _signals.reset()
    _shutdown.fullReset()
    _state.reset()
    for hook in _resetHooks:
        hook()


def _requestIdleCheck() -> None:
    """
    After the event system went quiet, check (on the next turn) whether a
    reactor started by L{Dispatcher.run} has anything left to do.
    """
    if not _state.ownsReactor or _state.idleCheck is not None:
        return
    _state.idleCheck = getReactor().callLater(0, _idleCheck)


def _idleCheck() -> None:
    _state.idleCheck = None
    if _state.ownsReactor and _nothingToDo(getReactor()):
        _stopReactor()


def _nothingToDo(reactor: Any) -> bool:
    # Anything we cannot see counts as work: stopping early is the bug to
    # avoid, running on is what a plain reactor.run() does anyway.
    if _queue.pending() or _signals.active() or _shutdown.state is not None:
        return False
    try:
        if reactor.getWriters():
            return False
        internal = getattr(reactor, "_internalReaders", set())
        if [r for r in reactor.getReaders() if r not in internal]:
            return False
        if any(call.active() for call in reactor.getDelayedCalls()):
            return False
        pool = getattr(reactor, "threadpool", None)
        if pool is not None:
            stats = pool._team.statistics()
            if stats.busyWorkerCount or stats.backloggedWorkCount:
                return False
    except Exception:
        return False
    return True


class Dispatcher:
    """
    The process's event loop (spec 9.1); every instance is the same object.

    C{run()} returns when the reactor stops, and (as in OSE) also when a
    reactor it started has nothing left to do: no jobs, timers, sockets,
    monitored signals, busy threads or pending shutdown.
    """

    _instance: Optional["Dispatcher"] = None

    def __new__(cls) -> "Dispatcher":
        if Dispatcher._instance is None:
            Dispatcher._instance = object.__new__(cls)
        return Dispatcher._instance

    def run(self) -> None:
        """
        Run the reactor until it stops (spec 9.1); return at once if it
        already runs (under twistd or a test runner).

        A callback's C{SystemExit} is raised again from here.  A fatal
        error reported before or while it runs (an L{HttpDaemon} that
        could not listen, unless its C{required} is false) stops
        the reactor and raises C{SystemExit(message)}: Python prints the
        one-line message on stderr and the process exits with status 1.
        """
        reactor = getReactor()
        if getattr(reactor, "running", False) or not hasattr(reactor, "run"):
            return
        if _state.fatal is None:
            _state.ownsReactor = True
            # Only a reactor run() started can be found idle and stopped.
            _queue.quiet = _requestIdleCheck
            reactor.callWhenRunning(_requestIdleCheck)
            try:
                reactor.run()
            finally:
                _state.ownsReactor = False
                del _queue.quiet  # back to the class's no-op
        fatal, _state.fatal = _state.fatal, None
        if fatal is not None:
            raise SystemExit(fatal)
        exc, _state.exit = _state.exit, None
        if exc is not None:
            raise exc

    def stop(self) -> None:
        """Stop the reactor; harmless if it is not running."""
        _stopReactor()

    def schedule(self, callback: Callable[[], object], type: int = STANDARD_JOB) -> None:
        """
        Queue C{callback()} as a job of priority C{type}.  Jobs run in
        order from the reactor, priority before standard, idle only when
        neither waits; one scheduled by a running job may run in the same
        reactor turn, for a few rounds (a producer writes several parts
        while nothing else waits), but at most 16 rounds or about 1 ms,
        so sockets are polled between them.
        """
        _queue.add(callback, type)

    def monitor(self, signum: int) -> None:
        """Make signal C{signum} start the shutdown sequence."""
        _signals.subscribe(signum, self, self._signalled)

    def _signalled(self, signum: int) -> None:
        _shutdown.schedule(0.0, "")

    def shutdown(self, delay: float = 0.0) -> None:
        """Start the shutdown sequence, arriving after C{delay} seconds."""
        _shutdown.schedule(delay, "")

    def isRunning(self) -> bool:
        """
        Whether the reactor runs (spec 9.1).
        """
        return bool(getattr(getReactor(), "running", False))

    def isStopped(self) -> bool:
        """
        Whether the reactor does not run (spec 9.1).
        """
        return not self.isRunning()

    def isWaiting(self) -> bool:
        """True when running with no job queued (waiting for events)."""
        return self.isRunning() and not _queue.pending()

    def reset(self) -> None:
        """
        Discard queued jobs, a pending exit and a finished shutdown.  (A
        Twisted reactor cannot be run a second time.)
        """
        _queue.clear()
        _state.reset()
        if _shutdown.state == SHUTDOWN_ARRIVED:
            _shutdown.reset()

    def wakeup(self) -> None:
        """Wake the reactor from its wait."""
        wakeUp = getattr(getReactor(), "wakeUp", None)
        if wakeUp is not None:
            wakeUp()

    def warningsEnabled(self) -> bool:
        """
        Whether warnings are enabled (spec 9.1; kept for OSE programs).
        """
        return _state.warnings

    def enableWarnings(self) -> None:
        """
        Enable warnings (spec 9.1).
        """
        _state.warnings = True

    def disableWarnings(self) -> None:
        """
        Disable warnings (spec 9.1).
        """
        _state.warnings = False
