# -*- test-case-name: tests.test_agent -*-
"""
Tests for Agent: timers, alarms, actions, cron schedules, signals, sockets,
startup/shutdown and destruction, all on a substituted reactor.
"""

import functools
import os
import signal
from datetime import datetime

import pytest
from twisted.internet.testing import MemoryReactorClock

from netsvc_twisted._events import _dispatcher
from netsvc_twisted._events._agent import Agent, CronSchedule, nextCronTime
from netsvc_twisted._constants import (
    CALLBACK_PERSISTENT,
    CALLBACK_TRANSIENT,
    IDLE_JOB,
    PRIORITY_JOB,
    SHUTDOWN_ARRIVED,
    SHUTDOWN_PENDING,
    SOCKET_POLLHUP,
    SOCKET_POLLIN,
    SOCKET_POLLOUT,
    STANDARD_JOB,
)
from netsvc_twisted._events._dispatcher import deliverSignal, usingReactor
from netsvc_twisted._events._jobs import Job

from support import failuresIn
from test_dispatcher import ROOT, runChild, settle


@pytest.fixture
def clock():
    reactor = MemoryReactorClock()
    with usingReactor(reactor):
        yield reactor


class Recorder(Agent):
    """An agent whose callbacks record what they got."""

    def __init__(self):
        Agent.__init__(self)
        self.seen = []
        self.errors = []

    def noArgs(self):
        self.seen.append("noArgs")

    def withName(self, name):
        self.seen.append(("withName", name))

    def shutdown(self, category):
        self.seen.append(category)

    def unexpectedException(self):
        import sys

        self.errors.append(sys.exc_info()[1])


# -- timers ---------------------------------------------------------------------


def test_timer_fires_once_with_name(clock):
    agent = Recorder()
    name = agent.startTimer(agent.withName, 2.0, "t")
    assert name == "t" and agent.timerPending("t")
    clock.advance(1.9)
    assert agent.seen == []
    clock.advance(0.1)
    assert agent.seen == [("withName", "t")]
    assert not agent.timerPending("t")
    clock.advance(10)
    assert agent.seen == [("withName", "t")]


def test_generated_timer_name(clock):
    agent = Recorder()
    first = agent.startTimer(agent.noArgs, 1)
    second = agent.startTimer(agent.noArgs, 1)
    assert first.startswith("$TIMER?") and second.startswith("$TIMER?")
    assert first != second
    clock.advance(1)
    assert agent.seen == ["noArgs", "noArgs"]


def test_named_timer_replaces(clock):
    agent = Recorder()
    agent.startTimer(lambda: agent.seen.append("old"), 1, "t")
    agent.startTimer(lambda: agent.seen.append("new"), 3, "t")
    settle(clock)
    assert agent.seen == ["new"]


def test_cancel_timer_and_glob(clock):
    agent = Recorder()
    for name in ("poll-a", "poll-b", "other"):
        agent.startTimer(agent.withName, 1, name)
    agent.cancelTimer("missing")  # harmless
    agent.cancelAllTimers("poll-*")
    assert not agent.timerPending("poll-a") and agent.timerPending("other")
    settle(clock)
    assert agent.seen == [("withName", "other")]
    agent.startTimer(agent.withName, 1, "x")
    agent.cancelAllTimers()
    settle(clock)
    assert agent.seen == [("withName", "other")]


def test_arity_detection(clock):
    agent = Recorder()
    got = []

    class CallableObject:
        def __call__(self, name):
            got.append(("object", name))

    def defaulted(name=None):
        got.append(("defaulted", name))

    agent.startTimer(lambda: got.append("lambda"), 1, "a")
    agent.startTimer(lambda *args: got.append(("varargs", args)), 1, "b")
    agent.startTimer(CallableObject(), 1, "c")
    agent.startTimer(defaulted, 1, "d")
    agent.startTimer(functools.partial(got.append, "partial"), 1, "e")
    agent.startTimer(Recorder.noArgs.__get__(agent), 1, "f")
    settle(clock)
    assert got == [
        "lambda",
        ("varargs", ("b",)),
        ("object", "c"),
        ("defaulted", "d"),
        "partial",
    ]
    assert agent.seen == ["noArgs"]


def test_callback_exception_goes_to_unexpected_exception(clock):
    agent = Recorder()

    def broken():
        raise KeyError("oops")

    agent.startTimer(broken, 1)
    agent.startTimer(agent.noArgs, 2)
    settle(clock)
    assert [type(e) for e in agent.errors] == [KeyError]
    assert agent.seen == ["noArgs"]


def test_default_unexpected_exception_logs(clock, logEvents):
    agent = Agent()
    agent.startTimer(lambda: 1 / 0, 0)
    settle(clock)
    assert any(f.check(ZeroDivisionError) for f in failuresIn(logEvents))


def test_agent_without_init_call(clock):
    class Lazy(Agent):
        def __init__(self):
            self.seen = []

    agent = Lazy()
    agent.startTimer(lambda: agent.seen.append(1), 1)
    settle(clock)
    assert agent.seen == [1]


def test_suspend_and_resume_events(clock):
    agent = Recorder()
    agent.suspendEvents()
    agent.startTimer(agent.withName, 1, "a")
    agent.startTimer(agent.withName, 2, "b")
    clock.advance(5)
    assert agent.seen == []
    agent.resumeEvents()
    settle(clock)
    assert agent.seen == [("withName", "a"), ("withName", "b")]


# -- alarms ---------------------------------------------------------------------


def test_alarm_at_absolute_time(clock):
    clock.advance(1000)
    agent = Recorder()
    name = agent.setAlarm(agent.withName, 1005)
    assert name.startswith("$ALARM?") and agent.alarmPending(name)
    clock.advance(4.9)
    assert agent.seen == []
    clock.advance(0.1)
    assert agent.seen == [("withName", name)]
    assert not agent.alarmPending(name)


def test_alarm_in_the_past_fires_at_once(clock):
    clock.advance(1000)
    agent = Recorder()
    agent.setAlarm(agent.noArgs, 10, "late")
    clock.advance(0)
    assert agent.seen == ["noArgs"]


def test_cancel_alarms(clock):
    agent = Recorder()
    agent.setAlarm(agent.noArgs, 5, "a")
    agent.setAlarm(agent.noArgs, 5, "b")
    agent.cancelAlarm("a")
    assert not agent.alarmPending("a") and agent.alarmPending("b")
    agent.cancelAllAlarms()
    settle(clock)
    assert agent.seen == []


# -- actions --------------------------------------------------------------------


def test_one_shot_actions_by_priority(clock):
    agent = Recorder()
    idle = agent.scheduleAction(agent.withName, IDLE_JOB, "idle")
    agent.scheduleAction(agent.withName, STANDARD_JOB, "standard")
    agent.scheduleAction(agent.withName, PRIORITY_JOB, "priority")
    generated = agent.scheduleAction(agent.noArgs)
    assert generated.startswith("$ACTION?")
    assert agent.actionPending(idle)
    settle(clock)
    assert agent.seen == [
        ("withName", "priority"),
        ("withName", "standard"),
        "noArgs",
        ("withName", "idle"),
    ]
    assert not agent.actionPending(idle)


def test_cancel_action_before_it_runs(clock):
    agent = Recorder()
    agent.scheduleAction(agent.noArgs, STANDARD_JOB, "a")
    agent.scheduleAction(agent.noArgs, IDLE_JOB, "b")
    agent.cancelAction("a")
    agent.cancelAllActions()
    settle(clock)
    assert agent.seen == []


def test_invalid_action_mode(clock):
    agent = Recorder()
    with pytest.raises(ValueError):
        agent.scheduleAction(agent.noArgs, 9, "bad")
    with pytest.raises(ValueError):
        agent.scheduleAction(agent.noArgs, "* * *", "bad")
    assert not agent.actionPending("bad")


def test_transient_subscription(clock):
    agent = Recorder()
    name = agent.subscribeAction(agent.withName, CALLBACK_TRANSIENT, "t")
    assert agent.triggerAction(name)
    assert not agent.triggerAction(name)  # already triggered
    settle(clock)
    assert agent.seen == [("withName", "t")]
    assert not agent.triggerAction(name)  # subscription gone
    assert not agent.triggerAction("unknown")


def test_persistent_subscription(clock):
    agent = Recorder()
    agent.subscribeAction(agent.noArgs, CALLBACK_PERSISTENT, "p")
    agent.triggerAction("p")
    agent.triggerAction("p", PRIORITY_JOB)
    settle(clock)
    agent.triggerAction("p")
    settle(clock)
    assert agent.seen == ["noArgs"] * 3
    agent.triggerAction("p")
    agent.cancelAction("p")  # cancels the queued delivery too
    settle(clock)
    assert agent.seen == ["noArgs"] * 3
    assert not agent.triggerAction("p")


def test_schedule_job(clock):
    agent = Recorder()
    seen = []
    job = Job(seen.append, ("job",))
    agent.scheduleJob(job, PRIORITY_JOB)
    agent.scheduleJob(Job(lambda: 1 / 0), STANDARD_JOB)
    settle(clock)
    assert seen == ["job"]
    assert [type(e) for e in agent.errors] == [ZeroDivisionError]


# -- cron -----------------------------------------------------------------------


def local(*fields):
    return datetime(*fields).timestamp()


def at(timestamp):
    return datetime.fromtimestamp(timestamp).replace(microsecond=0)


@pytest.mark.parametrize(
    "spec, after, expected",
    [
        ("* * * * *", (2024, 3, 14, 10, 7, 30), (2024, 3, 14, 10, 8)),
        ("*/15 * * * *", (2024, 3, 14, 10, 7), (2024, 3, 14, 10, 15)),
        ("*/15 * * * *", (2024, 3, 14, 10, 15), (2024, 3, 14, 10, 30)),
        ("0,30 9-17 * * *", (2024, 3, 14, 17, 45), (2024, 3, 15, 9, 0)),
        # Friday afternoon -> Monday morning for a weekday schedule.
        ("0 9 * * 1-5", (2024, 3, 15, 10, 0), (2024, 3, 18, 9, 0)),
        ("0 0 * * 7", (2024, 3, 14, 0, 0), (2024, 3, 17, 0, 0)),
        ("30 2 1 * *", (2024, 3, 14, 0, 0), (2024, 4, 1, 2, 30)),
        ("0 0 29 2 *", (2024, 3, 1, 0, 0), (2028, 2, 29, 0, 0)),
        ("0 12 1 1 *", (2024, 12, 31, 23, 59), (2025, 1, 1, 12, 0)),
        ("5-59/20 * * * *", (2024, 3, 14, 10, 26), (2024, 3, 14, 10, 45)),
        # Both day fields restricted: either matches (cron rule).
        ("0 0 20 * 1", (2024, 3, 14, 0, 0), (2024, 3, 18, 0, 0)),
        ("0 0 15 * 1", (2024, 3, 14, 0, 0), (2024, 3, 15, 0, 0)),
    ],
)
def test_next_cron_time(spec, after, expected):
    assert at(nextCronTime(spec, local(*after))) == datetime(*expected)


@pytest.mark.parametrize(
    "spec",
    ["", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
     "* * * 13 *", "* * * * 8", "a * * * *", "*/0 * * * *", "5-1 * * * *"],
)
def test_bad_cron_specs(spec):
    with pytest.raises(ValueError):
        CronSchedule(spec)


def test_impossible_cron_spec():
    with pytest.raises(ValueError):
        nextCronTime("0 0 31 2 *", local(2024, 1, 1))


def test_cron_action_recurs(clock):
    start = local(2024, 3, 14, 10, 7)
    clock.advance(start)
    agent = Recorder()
    agent.scheduleAction(agent.withName, "*/5 * * * *", "cron")
    clock.advance(local(2024, 3, 14, 10, 10) - clock.seconds() - 1)
    assert agent.seen == []
    clock.advance(1)
    assert agent.seen == [("withName", "cron")]
    clock.advance(300)
    assert agent.seen == [("withName", "cron")] * 2
    assert agent.actionPending("cron")
    agent.cancelAction("cron")
    clock.advance(3600)
    assert len(agent.seen) == 2


# -- signals and sockets --------------------------------------------------------


def test_signal_subscription(clock):
    agent = Recorder()
    got = []
    agent.subscribeSignal(got.append, signal.SIGUSR1)
    agent.subscribeSignal(lambda: got.append("no-arg"), signal.SIGUSR2)
    deliverSignal(signal.SIGUSR1)
    deliverSignal(signal.SIGUSR2)
    agent.unsubscribeSignal(signal.SIGUSR1)
    deliverSignal(signal.SIGUSR1)
    agent.unsubscribeAllSignals()
    deliverSignal(signal.SIGUSR2)
    assert got == [signal.SIGUSR1, "no-arg"]


def test_socket_subscription(clock):
    agent = Recorder()
    got = []
    readFd, writeFd = os.pipe()
    try:
        agent.subscribeSocket(lambda fd, event: got.append((fd, event)), readFd)
        [watcher] = clock.getReaders()
        assert watcher.fileno() == readFd
        assert clock.getWriters() == []
        watcher.doRead()
        assert got == [(readFd, SOCKET_POLLIN)]
        agent.unsubscribeSocket(readFd)
        assert clock.getReaders() == []

        agent.subscribeSocket(lambda fd: got.append(fd), writeFd, SOCKET_POLLOUT)
        [watcher] = clock.getWriters()
        watcher.doWrite()
        watcher.connectionLost(None)
        assert got[1:] == [writeFd, writeFd]
        assert agent._agentState.sockets == {}
    finally:
        os.close(readFd)
        os.close(writeFd)


def test_socket_events_argument(clock):
    agent = Recorder()
    got = []
    agent.subscribeSocket(lambda fd, event: got.append(event), 99,
                          SOCKET_POLLIN | SOCKET_POLLOUT)
    [reader], [writer] = clock.getReaders(), clock.getWriters()
    assert reader is writer
    agent.unsubscribeSocket(99, SOCKET_POLLOUT)
    assert clock.getWriters() == [] and clock.getReaders() == [reader]
    reader.connectionLost(None)
    assert got == [SOCKET_POLLHUP]


def test_suspended_agent_stops_watching_sockets(clock):
    agent = Recorder()
    agent.subscribeSocket(agent.noArgs, 42)
    agent.suspendEvents()
    assert clock.getReaders() == []
    agent.resumeEvents()
    assert len(clock.getReaders()) == 1


# -- startup and shutdown -------------------------------------------------------


def test_startup(clock):
    first, second = Recorder(), Recorder()
    first.subscribeStartup(first.noArgs)
    second.subscribeStartup(second.noArgs)
    second.unsubscribeStartup()
    first.scheduleStartup()
    settle(clock)
    assert first.seen == ["noArgs"] and second.seen == []


def test_shutdown_pending_then_arrived(clock):
    clock.running = True
    agent = Recorder()
    described = []
    agent.subscribeShutdown(agent.shutdown)
    other = Agent()
    other.subscribeShutdown(lambda category, description: described.append(
        (category, description)))
    agent.scheduleShutdown(2.0, "maintenance")
    assert agent.seen == []  # notified from the reactor, not re-entrantly
    clock.advance(0)
    assert agent.seen == [SHUTDOWN_PENDING]
    assert not clock.hasStopped
    clock.advance(2)
    assert agent.seen == [SHUTDOWN_PENDING, SHUTDOWN_ARRIVED]
    assert described == [(SHUTDOWN_PENDING, "maintenance"),
                         (SHUTDOWN_ARRIVED, "maintenance")]
    assert clock.hasStopped


def test_second_shutdown_does_not_restart(clock):
    agent = Recorder()
    agent.subscribeShutdown(agent.shutdown)
    agent.scheduleShutdown(10)
    clock.advance(0)
    clock.advance(5)
    agent.scheduleShutdown(1)
    _dispatcher.Dispatcher().shutdown(0)
    clock.advance(4)
    assert agent.seen == [SHUTDOWN_PENDING]
    clock.advance(1)
    assert agent.seen == [SHUTDOWN_PENDING, SHUTDOWN_ARRIVED]


def test_suspend_resume_balancing(clock):
    clock.running = True
    agent, helper = Recorder(), Recorder()
    agent.subscribeShutdown(agent.shutdown)

    def pending(category):
        if category == SHUTDOWN_PENDING:
            helper.suspendShutdown()
            helper.suspendShutdown()

    helper.subscribeShutdown(pending)
    agent.suspendShutdown()
    agent.scheduleShutdown()
    settle(clock)
    assert agent.seen == [SHUTDOWN_PENDING]
    helper.resumeShutdown()
    agent.resumeShutdown()
    settle(clock)
    assert agent.seen == [SHUTDOWN_PENDING]  # helper still holds one
    agent.resumeShutdown()  # unbalanced extra resume is ignored
    settle(clock)
    assert agent.seen == [SHUTDOWN_PENDING]
    helper.resumeShutdown()
    assert agent.seen == [SHUTDOWN_PENDING]  # arrives from the reactor
    settle(clock)
    assert agent.seen == [SHUTDOWN_PENDING, SHUTDOWN_ARRIVED]
    assert clock.hasStopped


def test_destroyed_agent_releases_its_suspension(clock):
    agent, holder = Recorder(), Recorder()
    agent.subscribeShutdown(agent.shutdown)
    holder.suspendShutdown()
    agent.scheduleShutdown()
    settle(clock)
    assert agent.seen == [SHUTDOWN_PENDING]
    holder.destroyAgent()
    settle(clock)
    assert agent.seen == [SHUTDOWN_PENDING, SHUTDOWN_ARRIVED]


def test_unsubscribe_shutdown(clock):
    agent = Recorder()
    agent.subscribeShutdown(agent.shutdown)
    agent.unsubscribeShutdown()
    agent.scheduleShutdown()
    settle(clock)
    assert agent.seen == []


def test_shutdown_callback_exception(clock):
    agent = Recorder()

    def broken(category):
        raise RuntimeError(category)

    agent.subscribeShutdown(broken)
    agent.scheduleShutdown()
    settle(clock)
    assert [str(e) for e in agent.errors] == [str(SHUTDOWN_PENDING),
                                              str(SHUTDOWN_ARRIVED)]


# -- destruction ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["destroyAgent", "destroyReferences"])
def test_destroy_cancels_everything(clock, method):
    agent = Recorder()
    agent.startTimer(agent.noArgs, 1, "timer")
    agent.setAlarm(agent.noArgs, 5, "alarm")
    agent.scheduleAction(agent.noArgs, STANDARD_JOB, "action")
    agent.scheduleAction(agent.noArgs, "* * * * *", "cron")
    agent.subscribeAction(agent.noArgs, CALLBACK_PERSISTENT, "subscribed")
    agent.triggerAction("subscribed")
    agent.scheduleJob(Job(agent.noArgs))
    agent.subscribeSignal(agent.noArgs, signal.SIGUSR1)
    agent.subscribeSocket(agent.noArgs, 42)
    agent.subscribeStartup(agent.noArgs)
    agent.subscribeShutdown(agent.shutdown)
    getattr(agent, method)()
    assert clock.getReaders() == []
    assert not agent.timerPending("timer") and not agent.alarmPending("alarm")
    assert not agent.actionPending("cron")
    deliverSignal(signal.SIGUSR1)
    agent.scheduleStartup()
    _dispatcher.Dispatcher().shutdown()
    clock.advance(120)
    settle(clock)
    assert agent.seen == []
    # Still usable afterwards.
    agent.startTimer(agent.noArgs, 1)
    settle(clock)
    assert agent.seen == ["noArgs"]


# -- examples -------------------------------------------------------------------


def test_example_shutdown_by_timer():
    code, lines, err = runChild([os.path.join(ROOT, "examples", "shutdown.py"), "0.05"])
    assert lines == [
        "ready",
        "timeout timeout",
        "shutdown pending",
        "cleaned up",
        "shutdown arrived",
        "exiting",
    ], err
    assert code == 0, err
