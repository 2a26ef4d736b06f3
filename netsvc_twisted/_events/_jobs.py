# -*- test-case-name: tests.events.test_dispatcher,tests.http.test_job_fairness -*-
"""
OSE's job queue (spec 9.2): three FIFO queues drained from the reactor,
and L{Job}, the cancellable callback that programs schedule on it.

Every streamed part of an OSE servlet is a job run from here, so the
drain is on the hot path: it runs several rounds per reactor turn and
calls entries without a frame of its own.
"""

from __future__ import annotations

import time
from collections import deque
from functools import partial
from typing import Any, Callable, Optional, Sequence

from netsvc_twisted._constants import IDLE_JOB, PRIORITY_JOB, STANDARD_JOB
from netsvc_twisted._events._logging import logException
from netsvc_twisted._events._loop import _cancelCall, _state, _terminated, getReactor

# How long the queue waits before running idle jobs: Twisted cannot tell us
# that no I/O is pending, so idle jobs yield one short reactor turn.
IDLE_DELAY = 0.01
#: A drain runs the jobs its jobs schedule for at most this many rounds and,
#: after the first, seconds: a job that writes a part and schedules itself
#: writes several per reactor turn, and I/O is still polled between drains.
DRAIN_ROUNDS = 16
DRAIN_SLICE = 0.001
_clock = time.monotonic  # DRAIN_SLICE's clock (tests replace it)
#: Called at the end of every drain, and of a hold (L{runHeld}): the
#: http layer sends there what the drain's jobs wrote (its held writes).
afterDrain: list[Callable[[], None]] = []


def _runEntry(entry: Callable[[], object]) -> None:
    try:
        entry()
    except SystemExit as exc:
        _terminated(exc)
    except Exception:
        # decisions.md (7): logged, the loop continues.
        logException(skip=1)


def _nothing() -> None:
    pass


class _JobQueue:
    """
    Three FIFO queues drained by a single pending C{callLater}.

    A drain runs as many priority/standard jobs as were queued when it
    started (priority first), then, in later rounds of as many as were
    queued at each round's start, the jobs those schedule: up to
    L{DRAIN_ROUNDS} rounds and L{DRAIN_SLICE} seconds.  The rest waits for
    the next reactor turn, so I/O is not starved.  Idle jobs run only in a
    drain that found the other two queues empty.
    """

    #: Called when a drain leaves nothing queued: while Dispatcher.run()
    #: owns the reactor, its check whether anything is left to do.
    quiet: Callable[[], None] = staticmethod(_nothing)

    def __init__(self) -> None:
        self.priority: deque[Callable[[], object]] = deque()
        self.standard: deque[Callable[[], object]] = deque()
        self.idle: deque[Callable[[], object]] = deque()
        self.queues = {
            PRIORITY_JOB: self.priority,
            STANDARD_JOB: self.standard,
            IDLE_JOB: self.idle,
        }
        self.call: Any = None
        self.callIsIdle = False
        self.draining = False  # a drain re-arms once, at its end

    def add(self, entry: Callable[[], object], type: int) -> None:
        try:
            queue = self.queues[type]
        except (KeyError, TypeError):
            raise ValueError("invalid job type %r" % (type,)) from None
        queue.append(entry)
        if not self.draining:
            self._arm()

    def pending(self) -> int:
        return len(self.priority) + len(self.standard) + len(self.idle)

    def clear(self) -> None:
        if self.call is not None:
            _cancelCall(self.call)
        self.call = None
        for queue in self.queues.values():
            queue.clear()

    def _arm(self) -> None:
        if self.priority or self.standard:
            if self.call is not None:
                if not self.callIsIdle:
                    return
                _cancelCall(self.call)
            self.call = getReactor().callLater(0, self._drain)
            self.callIsIdle = False
        elif self.idle and self.call is None:
            self.call = getReactor().callLater(IDLE_DELAY, self._drain)
            self.callIsIdle = True

    def _drain(self) -> None:
        self.call = None
        if _state.exit is not None:
            return  # terminating: the rest of the queue never runs
        priority, standard, idle = self.priority, self.standard, self.idle
        self.draining = True
        try:
            if priority or standard:
                self._runRounds()
            else:
                budget = len(idle)
                while budget and idle and not (priority or standard):
                    if _state.exit is not None:
                        break
                    _runEntry(idle.popleft())
                    budget -= 1
        finally:
            _endHold(self)
        if _state.exit is not None:
            return
        if priority or standard or idle:
            self._arm()
        if self.call is None:
            self.quiet()

    def _runRounds(self) -> None:
        priority, standard = self.priority, self.standard
        deadline = _clock() + DRAIN_SLICE
        for round in range(DRAIN_ROUNDS):
            budget = len(priority) + len(standard)
            while budget and (priority or standard):
                if round and _clock() >= deadline:
                    return
                entry = priority.popleft() if priority else standard.popleft()
                # _runEntry(), inlined: one frame less per job.
                try:
                    entry()
                except SystemExit as exc:
                    _terminated(exc)
                except Exception:
                    logException(skip=1)
                if _state.exit is not None:
                    return
                budget -= 1
            if not (priority or standard):
                return


_queue = _JobQueue()


def queueCall(entry: Callable[[], object], type: int = STANDARD_JOB) -> None:
    """
    Queue C{entry()} as a job of priority C{type}: how other layers hand
    the dispatcher work that must run from the event loop, in order with
    the program's jobs (congestion events, spec 5.2).
    """
    _queue.add(entry, type)


def _endHold(queue: _JobQueue) -> None:
    """The end of a drain or of a hold: the L{afterDrain} hooks, then no more draining."""
    try:
        for hook in afterDrain:
            hook()
    finally:
        queue.draining = False


def holdDrain() -> bool:
    """
    Queue jobs without arming a drain until L{runHeld}: for a reactor
    callback (not a job, not a servlet hook) that schedules jobs and then
    runs them itself, in the same turn, without a timer of their own.
    False, and no hold, inside a drain: that drain runs them.
    """
    if _queue.draining:
        return False
    _queue.draining = True
    return True


def runHeld() -> None:
    """End the hold of L{holdDrain} and run what was queued meanwhile."""
    queue = _queue
    if queue.priority or queue.standard:
        queue.draining = False
        if queue.call is not None:
            _cancelCall(queue.call)  # armed before the hold
            queue.call = None
        queue._drain()
        return
    _endHold(queue)
    queue._arm()


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
            # _queue.add(), inlined: a producer schedules a job per part.
            queue = _queue
            try:
                queue.queues[type].append(partial(self._runQueued, self._generation))
            except (KeyError, TypeError):
                raise ValueError("invalid job type %r" % (type,)) from None
            if not queue.draining:
                queue._arm()

    #: Whether execute() is Job's own, which _runQueued() then inlines.
    _plainExecute = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plainExecute = cls.execute is Job.execute

    def _runQueued(self, generation: int) -> None:
        if generation == self._generation:
            if self._plainExecute:
                params = self._params
                if params:
                    self._callback(*params)
                else:
                    self._callback()
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
