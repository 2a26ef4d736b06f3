# -*- test-case-name: tests.events.test_dispatcher -*-
"""
OSE's dispatcher, jobs, signal monitoring and shutdown sequence (spec 9.1,
9.2, 9.4) on the Twisted reactor.

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
import time
from collections import deque
from contextlib import contextmanager
from functools import partial
from types import FrameType
from typing import Any, Callable, Iterator, Optional, Sequence

from twisted.internet.error import AlreadyCalled, AlreadyCancelled, ReactorNotRunning

from netsvc_twisted._constants import (
    IDLE_JOB,
    PRIORITY_JOB,
    SHUTDOWN_ARRIVED,
    SHUTDOWN_PENDING,
    STANDARD_JOB,
)
from netsvc_twisted._events._logging import logException

# How long the queue waits before running idle jobs: Twisted cannot tell us
# that no I/O is pending, so idle jobs yield one short reactor turn.
IDLE_DELAY = 0.01
#: A drain runs the jobs its jobs schedule for at most this many rounds and,
#: after the first, seconds: a job that writes a part and schedules itself
#: writes several per reactor turn, and I/O is still polled between drains.
DRAIN_ROUNDS = 16
DRAIN_SLICE = 0.001
_clock = time.monotonic  # DRAIN_SLICE's clock (tests replace it)

_reactorOverride: Any = None


def getReactor() -> Any:
    """Return the reactor every event-system object uses."""
    if _reactorOverride is not None:
        return _reactorOverride
    from twisted.internet import reactor

    return reactor


@contextmanager
def usingReactor(reactor: Any) -> Iterator[Any]:
    """
    Make the event system use C{reactor} (for instance a C{Clock}) inside
    the block; queues, signal subscriptions and shutdown state are reset on
    entry and exit so tests do not leak into each other.
    """
    global _reactorOverride
    previous = _reactorOverride
    _resetState()
    _reactorOverride = reactor
    try:
        yield reactor
    finally:
        _resetState()
        _reactorOverride = previous


def _cancelCall(call: Any) -> None:
    try:
        call.cancel()
    except (AlreadyCalled, AlreadyCancelled):
        pass


def _stopReactor() -> None:
    stop = getattr(getReactor(), "stop", None)
    if stop is None:
        return
    try:
        stop()
    except ReactorNotRunning:
        pass


class _LoopState:
    """Dispatcher bookkeeping that is not a queue."""

    def __init__(self) -> None:
        self.ownsReactor = False
        self.exit: Optional[SystemExit] = None
        self.idleCheck: Any = None
        self.warnings = True
        self.fatal: Optional[str] = None

    def reset(self) -> None:
        if self.idleCheck is not None:
            _cancelCall(self.idleCheck)
        self.idleCheck = None
        self.exit = None
        self.fatal = None


_state = _LoopState()


def _terminated(exc: SystemExit) -> None:
    """A callback raised SystemExit: stop, and let Dispatcher.run re-raise."""
    if _state.exit is None:
        _state.exit = exc
    _stopReactor()


def fatalError(message: str) -> None:
    """
    Make the program L{Dispatcher.run} runs (or is about to run) end with
    the one-line C{message} on stderr and exit status 1: how a part of
    the program that cannot work (a daemon that cannot listen) stops it
    loudly instead of leaving a process that serves nothing.  Ignored
    when something else runs the reactor (twistd, a test runner), whose
    owner sees the failure its own way; the first message wins.
    """
    reactor = getReactor()
    if getattr(reactor, "running", False) and not _state.ownsReactor:
        return
    if _state.fatal is None:
        _state.fatal = " ".join(message.split())
    if _state.ownsReactor:
        _stopReactor()


def terminate() -> None:
    """Stop the dispatcher and raise C{SystemExit} (spec 1.5)."""
    _stopReactor()
    raise SystemExit()


def _runEntry(entry: Callable[[], object]) -> None:
    try:
        entry()
    except SystemExit as exc:
        _terminated(exc)
    except Exception:
        # decisions.md (7): logged, the loop continues.
        logException(skip=1)


class _JobQueue:
    """
    Three FIFO queues drained by a single pending C{callLater}.

    A drain runs as many priority/standard jobs as were queued when it
    started (priority first), then, in later rounds of as many as were
    queued at each round's start, the jobs those schedule: up to
    L{DRAIN_ROUNDS} rounds and L{DRAIN_SLICE} seconds, while no event waits
    for the reactor (L{eventQueued}).  The rest waits for the next reactor
    turn, so I/O is not starved.  Idle jobs run only in a drain that found
    the other two queues empty.
    """

    def __init__(self) -> None:
        self.queues: dict[int, deque[Callable[[], object]]] = {
            PRIORITY_JOB: deque(),
            STANDARD_JOB: deque(),
            IDLE_JOB: deque(),
        }
        self.call: Any = None
        self.callIsIdle = False
        # Events queued for delivery from the reactor and not yet delivered.
        self.events = 0
        self.draining = False  # a drain re-arms once, at its end

    def add(self, entry: Callable[[], object], type: int) -> None:
        try:
            queue = self.queues[type]
        except (KeyError, TypeError):
            raise ValueError("invalid job type %r" % (type,)) from None
        queue.append(entry)
        self._arm()

    def pending(self) -> int:
        return sum(len(queue) for queue in self.queues.values())

    def clear(self) -> None:
        if self.call is not None:
            _cancelCall(self.call)
        self.call = None
        self.events = 0
        for queue in self.queues.values():
            queue.clear()

    def _arm(self) -> None:
        if self.draining:
            return
        if self.queues[PRIORITY_JOB] or self.queues[STANDARD_JOB]:
            if self.call is not None:
                if not self.callIsIdle:
                    return
                _cancelCall(self.call)
            self.call = getReactor().callLater(0, self._drain)
            self.callIsIdle = False
        elif self.queues[IDLE_JOB] and self.call is None:
            self.call = getReactor().callLater(IDLE_DELAY, self._drain)
            self.callIsIdle = True

    def _drain(self) -> None:
        self.call = None
        if _state.exit is not None:
            return  # terminating: the rest of the queue never runs
        priority = self.queues[PRIORITY_JOB]
        standard = self.queues[STANDARD_JOB]
        idle = self.queues[IDLE_JOB]
        self.draining = True
        try:
            if priority or standard:
                self._runRounds(priority, standard)
            else:
                budget = len(idle)
                while budget and idle and not (priority or standard):
                    if _state.exit is not None:
                        break
                    _runEntry(idle.popleft())
                    budget -= 1
        finally:
            self.draining = False
        if _state.exit is not None:
            return
        self._arm()
        if self.call is None:
            _requestIdleCheck()

    def _runRounds(self, priority: deque, standard: deque) -> None:
        started = _clock()
        for round in range(DRAIN_ROUNDS):
            budget = len(priority) + len(standard)
            while budget and (priority or standard) and _state.exit is None:
                if round and (self.events or _clock() - started >= DRAIN_SLICE):
                    return
                _runEntry(priority.popleft() if priority else standard.popleft())
                budget -= 1
            if _state.exit is not None or not (priority or standard):
                return


_queue = _JobQueue()


def eventQueued() -> None:
    """
    Note an event waiting for the reactor to deliver it (C{CONNECTION_BLOCKED}):
    until L{eventDelivered}, drains run no later rounds, so a job that
    schedules itself does not run on past news meant for it.
    """
    _queue.events += 1


def eventDelivered() -> None:
    """The event noted by L{eventQueued} was delivered or dropped."""
    if _queue.events:
        _queue.events -= 1


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
        if _reactorOverride is not None or signum in self.saved:
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


class Job:
    """
    A callback with stored arguments that can be scheduled repeatedly and
    cancelled, even while it is queued (spec 9.2).
    """

    def __init__(self, callback: Callable[..., object], params: Sequence[Any] = ()):
        self._callback = callback
        self._params = tuple(params)
        self._cancelled = False
        # Bumped by cancel(): a queue entry from before a cancel() never runs,
        # even after reset(), so cancel/reset/schedule (the slow client
        # pattern) cannot leave two entries producing in parallel.
        self._generation = 0

    def execute(self, params: Optional[Sequence[Any]] = None) -> None:
        """Call the callback with C{params}, or the stored ones, unless cancelled."""
        if not self._cancelled:
            self._callback(*(self._params if params is None else tuple(params)))

    def schedule(
        self, type: int = STANDARD_JOB, params: Optional[Sequence[Any]] = None
    ) -> None:
        """Queue the job unless cancelled, with priority C{type} (C{IDLE_JOB},
        C{STANDARD_JOB}, C{PRIORITY_JOB}); C{params}, when given, replace the
        stored arguments (spec 9.2)."""
        if params is not None:
            self._params = tuple(params)
        if not self._cancelled:
            _queue.add(partial(self._runQueued, self._generation), type)

    def _runQueued(self, generation: int) -> None:
        if generation == self._generation:  # execute(), inlined unless overridden
            if type(self).execute is Job.execute:
                self._callback(*self._params)
            else:
                self.execute()

    def cancel(self) -> None:
        """Make sure the callback never runs, even if already queued."""
        self._cancelled = True
        self._generation += 1

    def reset(self) -> None:
        """Undo L{cancel}."""
        self._cancelled = False

    def __bool__(self) -> bool:
        return not self._cancelled

    def __call__(self) -> None:
        self.execute()


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
            reactor.callWhenRunning(_requestIdleCheck)
            try:
                reactor.run()
            finally:
                _state.ownsReactor = False
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
        and none while an event waits for a servlet (a
        C{CONNECTION_BLOCKED}), so sockets are polled between them.
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
