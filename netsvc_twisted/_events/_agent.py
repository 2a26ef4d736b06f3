# -*- test-case-name: tests.events.test_agent -*-
"""
OSE's C{Agent} (spec 9.3, 9.4): timers, alarms, actions, signals, sockets,
startup and shutdown notifications for one object.

Servlets and servers mix C{Agent} in to get callbacks later from the event
loop; everything an agent registers is owned by it so L{Agent.destroyAgent}
can cancel it all when the owner goes away (M.p98-99).  Callbacks run from
the reactor, take no argument or the name of their timer/action (found by
introspection), and an exception in one goes to
L{Agent.unexpectedException} without disturbing the agent.
"""

from __future__ import annotations

import calendar
import fnmatch
import inspect
import itertools
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from zope.interface import implementer

from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor

from netsvc_twisted._events import _dispatcher
from netsvc_twisted._constants import (
    CALLBACK_PERSISTENT,
    CALLBACK_TRANSIENT,
    SOCKET_POLLHUP,
    SOCKET_POLLIN,
    SOCKET_POLLOUT,
    SOCKET_POLLPRI,
    STANDARD_JOB,
)
from netsvc_twisted._events._jobs import Job
from netsvc_twisted._events._loop import _cancelCall, getReactor
from netsvc_twisted._events._environ import uniqueId
from netsvc_twisted._events._logging import logException

_MANY = 1 << 30


def _positionalCount(callback: Callable[..., object]) -> int:
    """How many positional arguments C{callback} takes (-1: unknown)."""
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return -1
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return _MANY
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


def _callByArity(callback: Callable[..., object], args: tuple[Any, ...]) -> object:
    """Call C{callback} with as many leading C{args} as it accepts."""
    count = _positionalCount(callback)
    return callback(*(args if count < 0 else args[:count]))


# -- cron-style schedules -----------------------------------------------------

_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31),
                ("month", 1, 12), ("day of week", 0, 7))


def _parseCronField(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        rangeText, _, stepText = item.partition("/")
        try:
            step = int(stepText) if stepText else 1
            if rangeText == "*":
                first, last = low, high
            elif "-" in rangeText:
                firstText, lastText = rangeText.split("-", 1)
                first, last = int(firstText), int(lastText)
            else:
                first = int(rangeText)
                last = high if stepText else first
        except ValueError:
            raise ValueError("bad cron %s field %r" % (name, text)) from None
        if step < 1 or not low <= first <= last <= high:
            raise ValueError("bad cron %s field %r" % (name, text))
        values.update(range(first, last + 1, step))
    return frozenset(values)


class CronSchedule:
    """
    A five-field cron specification C{"min hour dom month dow"} (C{*},
    lists, ranges and C{/step}; Sunday is 0 or 7), evaluated in local time.
    As in cron, when both day fields are restricted either may match.
    """

    def __init__(self, spec: str):
        fields = spec.split()
        if len(fields) != 5:
            raise ValueError("cron schedule needs 5 fields: %r" % (spec,))
        parsed = [
            _parseCronField(text, name, low, high)
            for text, (name, low, high) in zip(fields, _CRON_FIELDS)
        ]
        self.spec = spec
        self.minutes = sorted(parsed[0])
        self.hours = parsed[1]
        self.days = parsed[2]
        self.months = parsed[3]
        self.weekdays = frozenset(day % 7 for day in parsed[4])
        self.anyDay = fields[2] == "*"
        self.anyWeekday = fields[4] == "*"

    def _dayMatches(self, moment: datetime) -> bool:
        dayOk = moment.day in self.days
        weekdayOk = (moment.weekday() + 1) % 7 in self.weekdays
        if self.anyDay or self.anyWeekday:
            return dayOk and weekdayOk
        return dayOk or weekdayOk

    def nextTime(self, after: float) -> float:
        """Return the first matching minute (epoch seconds) after C{after}."""
        moment = datetime.fromtimestamp(after).replace(second=0, microsecond=0)
        moment += timedelta(minutes=1)
        end = moment + timedelta(days=366 * 8 + 2)
        while moment < end:
            if moment.month not in self.months:
                days = calendar.monthrange(moment.year, moment.month)[1]
                moment = moment.replace(day=1, hour=0, minute=0)
                moment += timedelta(days=days)
                continue
            if not self._dayMatches(moment):
                moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if moment.hour not in self.hours:
                moment = moment.replace(minute=0) + timedelta(hours=1)
                continue
            minute = next((m for m in self.minutes if m >= moment.minute), None)
            if minute is None:
                moment = moment.replace(minute=0) + timedelta(hours=1)
                continue
            moment = moment.replace(minute=minute)
            when = moment.timestamp()
            if when > after:
                return when
            moment += timedelta(minutes=1)
        raise ValueError("cron schedule %r never fires" % (self.spec,))


def nextCronTime(spec: str, after: float) -> float:
    """Return when cron C{spec} next fires after epoch time C{after}."""
    return CronSchedule(spec).nextTime(after)


# -- agent machinery ----------------------------------------------------------


class _Action:
    """One named action: a one-shot job, a cron schedule or a subscription."""

    def __init__(self, callback: Callable[..., object], kind: str, mode: Any):
        self.callback = callback
        self.kind = kind
        self.mode = mode
        self.pending: dict[int, Job] = {}
        self.call: Any = None
        self.cron: Optional[CronSchedule] = None
        self.last = 0.0
        self.triggered = False

    def cancel(self) -> None:
        for job in self.pending.values():
            job.cancel()
        self.pending.clear()
        if self.call is not None:
            _cancelCall(self.call)
            self.call = None


@implementer(IReadDescriptor, IWriteDescriptor)
class _SocketWatcher:
    """Lets the reactor watch a plain file descriptor for an agent."""

    def __init__(self, agent: "Agent", callback: Callable[..., object], fd: int,
                 events: int):
        self.agent = agent
        self.callback = callback
        self.fd = fd
        self.events = events
        self.watching = False

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return "netsvc.Agent"

    def doRead(self) -> None:
        self.agent._agentSocketEvent(self, SOCKET_POLLIN)

    def doWrite(self) -> None:
        self.agent._agentSocketEvent(self, SOCKET_POLLOUT)

    def connectionLost(self, reason: Any) -> None:
        self.watching = False
        self.agent._agentSocketLost(self)

    def start(self) -> None:
        if self.watching:
            return
        reactor = getReactor()
        if self.events & (SOCKET_POLLIN | SOCKET_POLLPRI):
            reactor.addReader(self)
        if self.events & SOCKET_POLLOUT:
            reactor.addWriter(self)
        self.watching = True

    def stop(self) -> None:
        if not self.watching:
            return
        reactor = getReactor()
        reactor.removeReader(self)
        reactor.removeWriter(self)
        self.watching = False


class _AgentState:
    def __init__(self) -> None:
        self.timers: dict[str, Any] = {}
        self.alarms: dict[str, Any] = {}
        self.actions: dict[str, _Action] = {}
        self.sockets: dict[int, _SocketWatcher] = {}
        self.jobs: dict[int, Job] = {}
        self.suspended = False
        self.backlog: list[tuple[Callable[..., object], tuple[Any, ...]]] = []
        self.replay: Optional[Job] = None


_keys = itertools.count()
_startupSubscribers: list[tuple["Agent", Callable[..., object]]] = []
_dispatcher._resetHooks.append(_startupSubscribers.clear)


def _matches(name: str, pattern: Optional[str]) -> bool:
    return pattern is None or fnmatch.fnmatchcase(name, pattern)


class Agent:
    """
    Mix-in giving an object event callbacks (spec 9.3).  Calling
    C{Agent.__init__} is optional: the bookkeeping is created on first use.
    """

    def __init__(self) -> None:
        self.__dict__.setdefault("_netsvcAgent", _AgentState())

    @property
    def _agentState(self) -> _AgentState:
        state = self.__dict__.get("_netsvcAgent")
        if state is None:
            state = self.__dict__["_netsvcAgent"] = _AgentState()
        return state

    # -- delivery ------------------------------------------------------------

    def unexpectedException(self) -> None:
        """Called when a callback raised; by default logs the exception."""
        logException()

    def _agentInvoke(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        try:
            _callByArity(callback, args)
        except SystemExit as exc:
            _dispatcher._terminated(exc)
        except Exception:
            try:
                self.unexpectedException()
            except Exception:
                logException()

    def _agentDeliver(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        state = self._agentState
        if state.suspended:
            state.backlog.append((callback, args))
        else:
            self._agentInvoke(callback, args)

    def suspendEvents(self) -> None:
        """Hold this agent's events (sockets stop being watched) until resumed."""
        state = self._agentState
        state.suspended = True
        for watcher in state.sockets.values():
            watcher.stop()

    def resumeEvents(self) -> None:
        """Deliver the held events, in order, from the reactor."""
        state = self._agentState
        state.suspended = False
        for watcher in state.sockets.values():
            watcher.start()
        if state.backlog and state.replay is None:
            state.replay = Job(self._agentReplay)
            state.replay.schedule(STANDARD_JOB)

    def _agentReplay(self) -> None:
        state = self._agentState
        state.replay = None
        while state.backlog and not state.suspended:
            callback, args = state.backlog.pop(0)
            self._agentInvoke(callback, args)

    # -- timers and alarms ---------------------------------------------------

    def startTimer(self, callback: Callable[..., object], delay: float,
                   name: Optional[str] = None) -> str:
        """Call C{callback} once after C{delay} seconds; returns the name."""
        if name is None:
            name = uniqueId("$TIMER?")
        else:
            self.cancelTimer(name)
        self._agentState.timers[name] = getReactor().callLater(
            max(0.0, float(delay)), self._agentTimerFired, name, callback
        )
        return name

    def _agentTimerFired(self, name: str, callback: Callable[..., object]) -> None:
        self._agentState.timers.pop(name, None)
        self._agentDeliver(callback, (name,))
        _dispatcher._requestIdleCheck()

    def cancelTimer(self, name: str) -> None:
        """
        Cancel the timer C{name}, if pending (spec 9.3).
        """
        call = self._agentState.timers.pop(name, None)
        if call is not None:
            _cancelCall(call)
            _dispatcher._requestIdleCheck()

    def cancelAllTimers(self, pattern: Optional[str] = None) -> None:
        """Cancel every timer, or those whose name matches glob C{pattern}."""
        for name in [n for n in self._agentState.timers if _matches(n, pattern)]:
            self.cancelTimer(name)

    def timerPending(self, name: str) -> bool:
        """
        Whether the timer C{name} is still to fire (spec 9.3).
        """
        return name in self._agentState.timers

    def setAlarm(self, callback: Callable[..., object], time: float,
                 name: Optional[str] = None) -> str:
        """Call C{callback} at epoch time C{time}; returns the name."""
        if name is None:
            name = uniqueId("$ALARM?")
        else:
            self.cancelAlarm(name)
        reactor = getReactor()
        self._agentState.alarms[name] = reactor.callLater(
            max(0.0, float(time) - reactor.seconds()), self._agentAlarmFired, name, callback
        )
        return name

    def _agentAlarmFired(self, name: str, callback: Callable[..., object]) -> None:
        self._agentState.alarms.pop(name, None)
        self._agentDeliver(callback, (name,))
        _dispatcher._requestIdleCheck()

    def cancelAlarm(self, name: str) -> None:
        """
        Cancel the alarm C{name}, if pending (spec 9.3).
        """
        call = self._agentState.alarms.pop(name, None)
        if call is not None:
            _cancelCall(call)
            _dispatcher._requestIdleCheck()

    def cancelAllAlarms(self, pattern: Optional[str] = None) -> None:
        """
        Cancel every alarm, or those whose name matches glob C{pattern} (spec 9.3).
        """
        for name in [n for n in self._agentState.alarms if _matches(n, pattern)]:
            self.cancelAlarm(name)

    def alarmPending(self, name: str) -> bool:
        """
        Whether the alarm C{name} is still to go off (spec 9.3).
        """
        return name in self._agentState.alarms

    # -- actions -------------------------------------------------------------

    def scheduleAction(self, callback: Callable[..., object],
                       mode: Any = STANDARD_JOB, name: Optional[str] = None) -> str:
        """
        An integer C{mode} runs C{callback} once as a job of that priority;
        a string is a recurring cron schedule (see L{CronSchedule}).

        C{name} defaults to a unique one and is returned (spec 9.3).
        """
        if name is None:
            name = uniqueId("$ACTION?")
        else:
            self.cancelAction(name)
        if isinstance(mode, str):
            action = _Action(callback, "cron", mode)
            action.cron = CronSchedule(mode)
            action.last = getReactor().seconds()
            self._agentState.actions[name] = action
            self._agentArmCron(name, action)
        else:
            action = _Action(callback, "job", mode)
            self._agentQueueAction(name, action, int(mode))
            self._agentState.actions[name] = action
        return name

    def _agentQueueAction(self, name: str, action: _Action, type: int) -> None:
        key = next(_keys)
        job = Job(self._agentActionRun, (name, action, key))
        job.schedule(type)
        action.pending[key] = job

    def _agentActionRun(self, name: str, action: _Action, key: int) -> None:
        action.pending.pop(key, None)
        actions = self._agentState.actions
        if actions.get(name) is not action:
            return
        if action.kind == "job" or action.mode != CALLBACK_PERSISTENT:
            del actions[name]
        self._agentDeliver(action.callback, (name,))

    def _agentArmCron(self, name: str, action: _Action) -> None:
        assert action.cron is not None
        reactor = getReactor()
        now = reactor.seconds()
        action.last = action.cron.nextTime(max(now, action.last))
        action.call = reactor.callLater(
            max(0.0, action.last - now), self._agentCronFired, name, action
        )

    def _agentCronFired(self, name: str, action: _Action) -> None:
        action.call = None
        if self._agentState.actions.get(name) is not action:
            return
        self._agentArmCron(name, action)
        self._agentDeliver(action.callback, (name,))

    def subscribeAction(self, callback: Callable[..., object],
                        mode: int = CALLBACK_TRANSIENT,
                        name: Optional[str] = None) -> str:
        """
        Register C{callback} to run when L{triggerAction} is called with
        the returned name: once (transient) or every time (persistent).

        C{mode} is C{CALLBACK_TRANSIENT} or C{CALLBACK_PERSISTENT}; C{name}
        defaults to a unique one (spec 9.3).
        """
        if name is None:
            name = uniqueId("$ACTION?")
        else:
            self.cancelAction(name)
        self._agentState.actions[name] = _Action(callback, "subscription", mode)
        return name

    def triggerAction(self, name: str, type: int = STANDARD_JOB) -> bool:
        """Queue the subscribed action C{name} as a job; False if none.

        C{type} is the job priority (spec 9.3).
        """
        action = self._agentState.actions.get(name)
        if action is None or action.kind != "subscription":
            return False
        if action.mode != CALLBACK_PERSISTENT:
            if action.triggered:
                return False
            action.triggered = True
        self._agentQueueAction(name, action, type)
        return True

    def cancelAction(self, name: str) -> None:
        """
        Cancel the action C{name}: scheduled, subscribed or cron (spec 9.3).
        """
        action = self._agentState.actions.pop(name, None)
        if action is not None:
            action.cancel()
            _dispatcher._requestIdleCheck()

    def cancelAllActions(self, pattern: Optional[str] = None) -> None:
        """
        Cancel every action, or those whose name matches glob C{pattern} (spec 9.3).
        """
        for name in [n for n in self._agentState.actions if _matches(n, pattern)]:
            self.cancelAction(name)

    def actionPending(self, name: str) -> bool:
        """
        Whether the action C{name} is scheduled or subscribed (spec 9.3).
        """
        return name in self._agentState.actions

    def scheduleJob(self, job: Job, type: int = STANDARD_JOB) -> None:
        """Run C{job} as a job owned by this agent (cancelled with it).

        C{type} is the job priority (spec 9.3).
        """
        key = next(_keys)
        wrapper = Job(self._agentJobRun, (key, job))
        wrapper.schedule(type)
        self._agentState.jobs[key] = wrapper

    def _agentJobRun(self, key: int, job: Job) -> None:
        self._agentState.jobs.pop(key, None)
        self._agentDeliver(job.execute, ())

    # -- signals -------------------------------------------------------------

    def subscribeSignal(self, callback: Callable[..., object], signum: int) -> None:
        """Call C{callback(signum)} from the reactor whenever C{signum} arrives."""
        _dispatcher._signals.subscribe(
            signum, self, lambda received: self._agentDeliver(callback, (received,))
        )

    def unsubscribeSignal(self, signum: int) -> None:
        """
        Stop delivering signal C{signum} to this agent (spec 9.3).
        """
        _dispatcher._signals.unsubscribe(signum, self)
        _dispatcher._requestIdleCheck()

    def unsubscribeAllSignals(self) -> None:
        """
        Stop delivering every signal to this agent (spec 9.3).
        """
        _dispatcher._signals.unsubscribeAll(self)
        _dispatcher._requestIdleCheck()

    # -- sockets -------------------------------------------------------------

    def subscribeSocket(self, callback: Callable[..., object], fd: Any,
                        events: int = SOCKET_POLLIN) -> None:
        """
        Call C{callback(fd, event)} (or fewer arguments) from the reactor
        when C{fd} is readable (SOCKET_POLLIN) or writable (SOCKET_POLLOUT);
        SOCKET_POLLHUP is delivered once if the reactor drops the descriptor.

        C{events} or-s the C{SOCKET_POLL*} constants wanted (spec 9.3).
        """
        fd = fd if isinstance(fd, int) else fd.fileno()
        self.unsubscribeSocket(fd)
        watcher = _SocketWatcher(self, callback, fd, events)
        self._agentState.sockets[fd] = watcher
        if not self._agentState.suspended:
            watcher.start()

    def unsubscribeSocket(self, fd: Any, events: Optional[int] = None) -> None:
        """Stop watching C{fd} (only for C{events} if given)."""
        fd = fd if isinstance(fd, int) else fd.fileno()
        sockets = self._agentState.sockets
        watcher = sockets.get(fd)
        if watcher is None:
            return
        watcher.stop()
        if events is not None and watcher.events & ~events & (
            SOCKET_POLLIN | SOCKET_POLLPRI | SOCKET_POLLOUT
        ):
            watcher.events &= ~events
            if not self._agentState.suspended:
                watcher.start()
            return
        del sockets[fd]
        _dispatcher._requestIdleCheck()

    def unsubscribeAllSockets(self) -> None:
        """
        Stop watching every socket this agent watches (spec 9.3).
        """
        for fd in list(self._agentState.sockets):
            self.unsubscribeSocket(fd)

    def _agentSocketEvent(self, watcher: _SocketWatcher, event: int) -> None:
        if self._agentState.sockets.get(watcher.fd) is watcher:
            self._agentInvoke(watcher.callback, (watcher.fd, event))

    def _agentSocketLost(self, watcher: _SocketWatcher) -> None:
        sockets = self._agentState.sockets
        if sockets.get(watcher.fd) is watcher:
            del sockets[watcher.fd]
            self._agentInvoke(watcher.callback, (watcher.fd, SOCKET_POLLHUP))

    # -- startup and shutdown ------------------------------------------------

    def subscribeStartup(self, callback: Callable[..., object]) -> None:
        """Call C{callback()} when any agent calls L{scheduleStartup}."""
        self.unsubscribeStartup()
        _startupSubscribers.append((self, callback))

    def unsubscribeStartup(self) -> None:
        """
        Undo C{subscribeStartup()} (spec 9.3).
        """
        _startupSubscribers[:] = [e for e in _startupSubscribers if e[0] is not self]

    def scheduleStartup(self) -> None:
        """Notify every startup subscriber, from the reactor."""
        Job(_notifyStartup).schedule(STANDARD_JOB)

    def subscribeShutdown(self, callback: Callable[..., object]) -> None:
        """
        Call C{callback(category)} or C{callback(category, description)}
        with SHUTDOWN_PENDING and later SHUTDOWN_ARRIVED.
        """
        _dispatcher._shutdown.subscribe(
            self,
            lambda category, description: self._agentInvoke(
                callback, (category, description)
            ),
        )

    def unsubscribeShutdown(self) -> None:
        """
        Undo C{subscribeShutdown()} (spec 9.4).
        """
        _dispatcher._shutdown.unsubscribe(self)

    def scheduleShutdown(self, delay: float = 0.0, description: str = "") -> None:
        """Start the shutdown sequence (ignored while one is in progress).

        It arrives after C{delay} seconds; C{description} says why, for the
        log (spec 9.4).
        """
        _dispatcher._shutdown.schedule(delay, description)

    def suspendShutdown(self) -> None:
        """Hold back SHUTDOWN_ARRIVED until a matching L{resumeShutdown}."""
        _dispatcher._shutdown.suspend(self)

    def resumeShutdown(self) -> None:
        """
        Undo one C{suspendShutdown()}: once none holds it back any more, the
        shutdown arrives (spec 9.4).
        """
        _dispatcher._shutdown.resume(self)

    # -- destruction ---------------------------------------------------------

    def destroyAgent(self) -> None:
        """Cancel everything this agent registered; it stays usable."""
        state = self._agentState
        self.cancelAllTimers()
        self.cancelAllAlarms()
        self.cancelAllActions()
        for job in state.jobs.values():
            job.cancel()
        state.jobs.clear()
        self.unsubscribeAllSignals()
        self.unsubscribeAllSockets()
        self.unsubscribeStartup()
        self.unsubscribeShutdown()
        _dispatcher._shutdown.release(self)
        state.backlog.clear()
        if state.replay is not None:
            state.replay.cancel()
            state.replay = None
        state.suspended = False

    destroyReferences = destroyAgent


def _notifyStartup() -> None:
    for entry in list(_startupSubscribers):
        if entry in _startupSubscribers:
            agent, callback = entry
            agent._agentDeliver(callback, ())
