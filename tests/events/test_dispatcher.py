# -*- test-case-name: tests.events.test_dispatcher -*-
"""
Tests for the dispatcher, jobs, signal monitoring and the shutdown sequence.

Everything runs on a substituted C{Clock}/C{MemoryReactorClock}; only the
subprocess tests use a real reactor, in a child process.
"""

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock

from netsvc_twisted._events import _dispatcher, _jobs
from netsvc_twisted._constants import (
    IDLE_JOB,
    PRIORITY_JOB,
    SHUTDOWN_ARRIVED,
    SHUTDOWN_PENDING,
    STANDARD_JOB,
)
from netsvc_twisted._events._dispatcher import Dispatcher, deliverSignal, usingReactor
from netsvc_twisted._events._jobs import Job
from netsvc_twisted._events._loop import getReactor, terminate

from support import failuresIn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def clock():
    reactor = Clock()
    with usingReactor(reactor):
        yield reactor


@pytest.fixture
def memoryReactor():
    reactor = MemoryReactorClock()
    with usingReactor(reactor):
        yield reactor


def settle(reactor, limit=1000):
    """Advance a fake reactor until nothing is scheduled."""
    for _ in range(limit):
        calls = reactor.getDelayedCalls()
        if not calls:
            return
        reactor.advance(max(0.0, min(c.getTime() for c in calls) - reactor.seconds()))
    raise AssertionError("reactor did not settle")


def runOneDrain(clock):
    """Run only the earliest delayed call (Clock.advance would run them all)."""
    call = min(clock.getDelayedCalls(), key=lambda c: c.getTime())
    clock.calls.remove(call)
    call.func(*call.args, **call.kw)


def test_using_reactor_swaps_and_restores():
    real = getReactor()
    fake = Clock()
    with usingReactor(fake) as inside:
        assert inside is fake
        assert getReactor() is fake
    assert getReactor() is real


def test_dispatcher_is_a_singleton():
    assert Dispatcher() is Dispatcher()


def test_priority_order_and_fifo(clock):
    order = []
    dispatcher = Dispatcher()
    dispatcher.schedule(lambda: order.append("idle1"), IDLE_JOB)
    dispatcher.schedule(lambda: order.append("standard1"))
    dispatcher.schedule(lambda: order.append("priority1"), PRIORITY_JOB)
    dispatcher.schedule(lambda: order.append("idle2"), IDLE_JOB)
    dispatcher.schedule(lambda: order.append("standard2"), STANDARD_JOB)
    dispatcher.schedule(lambda: order.append("priority2"), PRIORITY_JOB)
    settle(clock)
    assert order == [
        "priority1", "priority2", "standard1", "standard2", "idle1", "idle2",
    ]


def test_idle_jobs_wait_for_other_jobs(clock):
    order = []
    dispatcher = Dispatcher()
    dispatcher.schedule(lambda: order.append("idle"), IDLE_JOB)
    clock.advance(0)
    assert order == []  # idle jobs yield a reactor turn first

    def standard():
        order.append("standard")
        dispatcher.schedule(lambda: order.append("later"), STANDARD_JOB)

    dispatcher.schedule(standard)
    settle(clock)
    assert order == ["standard", "later", "idle"]


def test_idle_job_scheduling_standard_job_yields(clock):
    order = []
    dispatcher = Dispatcher()

    def idle():
        order.append("idle1")
        dispatcher.schedule(lambda: order.append("standard"))

    dispatcher.schedule(idle, IDLE_JOB)
    dispatcher.schedule(lambda: order.append("idle2"), IDLE_JOB)
    settle(clock)
    assert order == ["idle1", "standard", "idle2"]


def test_jobs_scheduled_during_drain_run_in_bounded_rounds(clock):
    """
    A drain runs the jobs its jobs schedule in further rounds, so a job
    that writes a part and schedules itself (E14) writes several parts
    per reactor turn; but at most DRAIN_ROUNDS rounds, after which the
    rest waits for a later drain (another reactor turn, where I/O is
    polled).  The first round is still what was queued at the start.
    """
    order = []
    dispatcher = Dispatcher()

    def first():
        order.append("first")
        dispatcher.schedule(lambda: order.append("third"))

    dispatcher.schedule(first)
    dispatcher.schedule(lambda: order.append("second"))
    runOneDrain(clock)
    assert order == ["first", "second", "third"]
    assert not clock.getDelayedCalls()

    runs = []

    def forever():
        runs.append(1)
        dispatcher.schedule(forever)

    dispatcher.schedule(forever)
    runOneDrain(clock)
    assert len(runs) == _jobs.DRAIN_ROUNDS
    assert clock.getDelayedCalls()  # the next run waits for the next turn
    runOneDrain(clock)
    assert len(runs) == 2 * _jobs.DRAIN_ROUNDS


def test_drain_slice_bounds_the_later_rounds(clock, monkeypatch):
    """
    After the first round a drain stops once DRAIN_SLICE has passed, even
    in the middle of a round: jobs are slow, or there are many streams.
    The first round always runs whole, as before.
    """
    now = [100.0]

    def tick():
        now[0] += _jobs.DRAIN_SLICE * 0.3
        return now[0]

    monkeypatch.setattr(_jobs, "_clock", tick)
    dispatcher = Dispatcher()
    runs = []

    def job(name):
        def run():
            runs.append(name)
            dispatcher.schedule(run)
        return run

    for name in "abcde":
        dispatcher.schedule(job(name))
    runOneDrain(clock)
    # Five jobs in the first round, then three more (0.3, 0.6 and 0.9 of
    # the slice had passed at their checks, 1.2 at the fourth).
    assert runs == list("abcde") + list("abc")
    runs.clear()
    runOneDrain(clock)
    assert runs[:5] == list("deabc")  # FIFO: the interrupted round goes on first


def test_later_rounds_keep_priority_and_fifo(clock):
    """
    Many self-scheduling streams take turns in order, round after round,
    and a priority job scheduled in a later round runs before the
    standard jobs still queued; idle jobs wait until both queues are empty.
    """
    dispatcher = Dispatcher()
    order = []
    left = {"a": 3, "b": 3, "c": 3}

    def stream(name):
        def run():
            order.append(name)
            left[name] -= 1
            if name == "b" and left[name] == 1:
                dispatcher.schedule(lambda: order.append("P"), PRIORITY_JOB)
            if left[name]:
                dispatcher.schedule(run)
        return run

    dispatcher.schedule(lambda: order.append("idle"), IDLE_JOB)
    for name in "abc":
        dispatcher.schedule(stream(name))
    runOneDrain(clock)
    assert order == ["a", "b", "c", "a", "b", "P", "c", "a", "b", "c"]
    settle(clock)
    assert order[-1] == "idle"


def test_priority_job_scheduled_by_standard_job_runs_next(clock):
    order = []
    dispatcher = Dispatcher()

    def first():
        order.append("standard1")
        dispatcher.schedule(lambda: order.append("priority"), PRIORITY_JOB)

    dispatcher.schedule(first)
    dispatcher.schedule(lambda: order.append("standard2"))
    settle(clock)
    assert order == ["standard1", "priority", "standard2"]


def test_invalid_job_type(clock):
    with pytest.raises(ValueError):
        Dispatcher().schedule(lambda: None, 7)
    with pytest.raises(ValueError):
        Job(lambda: None).schedule(7)


def test_a_job_subclass_that_overrides_execute_is_run_through_it(clock):
    runs = []

    class Logged(Job):
        def execute(self, params=None):
            runs.append("execute")
            Job.execute(self, params)

    Logged(runs.append, ("callback",)).schedule()
    Job(runs.append, ("plain",)).schedule()
    settle(clock)
    assert runs == ["execute", "callback", "plain"]


def test_e26_job_arguments_override_and_cancel(clock):
    """E26: stored arguments, override, cancelled job never runs."""
    printed = []

    def callback(message="hello"):
        printed.append(message)

    dispatcher = Dispatcher()
    dispatcher.schedule(callback, IDLE_JOB)
    job = Job(callback, ("bye",))
    job.schedule(STANDARD_JOB)
    other = Job(callback, ("bye",))
    other.schedule(STANDARD_JOB, ("override",))
    cancelled = Job(callback, ("never",))
    cancelled.schedule(PRIORITY_JOB)
    cancelled.cancel()
    settle(clock)
    assert printed == ["bye", "override", "hello"]


def test_job_execute_and_call():
    seen = []
    job = Job(lambda *args: seen.append(args), (1, 2))
    job.execute()
    job.execute((3,))
    job()
    assert seen == [(1, 2), (3,), (1, 2)]


def test_job_cancel_reset_and_truth(clock):
    seen = []
    job = Job(seen.append, ("x",))
    assert job
    job.cancel()
    assert not job
    job.execute()
    job.schedule(STANDARD_JOB)  # not queued while cancelled
    settle(clock)
    assert seen == []
    job.reset()
    assert job
    job.schedule(STANDARD_JOB)
    settle(clock)
    assert seen == ["x"]


def test_cancel_after_queueing(clock):
    seen = []
    job = Job(seen.append, ("x",))
    job.schedule(STANDARD_JOB)
    job.schedule(IDLE_JOB)
    job.cancel()
    settle(clock)
    assert seen == []


def test_cancelled_entry_stays_dead_after_reset(clock):
    """
    cancel(), reset(), schedule() while the first entry is still queued
    runs the job once, not twice.
    """
    seen = []
    job = Job(seen.append, ("x",))
    job.schedule(STANDARD_JOB)
    job.cancel()
    job.reset()
    job.schedule(STANDARD_JOB)
    settle(clock)
    assert seen == ["x"]


def test_job_exception_is_logged_and_loop_continues(clock, logEvents):
    seen = []

    def broken():
        raise RuntimeError("job bug")

    dispatcher = Dispatcher()
    dispatcher.schedule(broken)
    dispatcher.schedule(lambda: seen.append("after"))
    Job(broken).schedule(PRIORITY_JOB)
    settle(clock)
    assert seen == ["after"]
    failures = failuresIn(logEvents, "netsvc")
    assert len(failures) == 2
    assert all(f.check(RuntimeError) for f in failures)


def test_system_exit_in_job_stops_the_reactor(memoryReactor):
    seen = []
    memoryReactor.running = True
    dispatcher = Dispatcher()
    dispatcher.schedule(lambda: sys.exit(3))
    dispatcher.schedule(lambda: seen.append("not run"))
    memoryReactor.advance(0)
    assert memoryReactor.hasStopped
    assert seen == []
    assert _dispatcher._state.exit.code == 3


def test_terminate_raises_system_exit(memoryReactor):
    memoryReactor.running = True
    with pytest.raises(SystemExit):
        terminate()
    assert memoryReactor.hasStopped


def test_run_returns_at_once_when_reactor_running(memoryReactor):
    memoryReactor.running = True
    Dispatcher().run()
    assert not memoryReactor.hasRun


def test_run_and_stop(memoryReactor):
    dispatcher = Dispatcher()
    assert dispatcher.isStopped()
    dispatcher.run()  # the memory reactor returns at once
    assert memoryReactor.hasRun
    memoryReactor.running = True
    assert dispatcher.isRunning()
    assert dispatcher.isWaiting()
    dispatcher.stop()
    assert memoryReactor.hasStopped
    assert dispatcher.isStopped()


def test_stop_is_safe_without_reactor_stop(clock):
    Dispatcher().stop()  # a bare Clock cannot stop: nothing happens


def test_reset_discards_jobs(clock):
    seen = []
    Dispatcher().schedule(lambda: seen.append(1))
    Dispatcher().reset()
    settle(clock)
    assert seen == []


def test_warnings_flags(clock):
    dispatcher = Dispatcher()
    dispatcher.disableWarnings()
    assert not dispatcher.warningsEnabled()
    dispatcher.enableWarnings()
    assert dispatcher.warningsEnabled()
    dispatcher.wakeup()


def test_shutdown_and_monitored_signal(memoryReactor):
    events = []
    _dispatcher._shutdown.subscribe(
        "subscriber", lambda category, description: events.append(category)
    )
    memoryReactor.running = True
    Dispatcher().monitor(signal.SIGUSR1)
    deliverSignal(signal.SIGUSR2)  # not monitored
    settle(memoryReactor)
    assert events == []
    deliverSignal(signal.SIGUSR1)
    settle(memoryReactor)
    assert events == [SHUTDOWN_PENDING, SHUTDOWN_ARRIVED]
    assert memoryReactor.hasStopped


def test_dispatcher_shutdown_delay(clock):
    events = []
    _dispatcher._shutdown.subscribe(
        "subscriber", lambda category, description: events.append(category)
    )
    Dispatcher().shutdown(5.0)
    clock.advance(0)
    assert events == [SHUTDOWN_PENDING]
    clock.advance(4.9)
    assert events == [SHUTDOWN_PENDING]
    clock.advance(0.1)
    assert events == [SHUTDOWN_PENDING, SHUTDOWN_ARRIVED]


def test_no_os_handler_with_substitute_reactor(clock):
    before = signal.getsignal(signal.SIGUSR1)
    Dispatcher().monitor(signal.SIGUSR1)
    assert signal.getsignal(signal.SIGUSR1) is before


# -- real processes -------------------------------------------------------------


def runChild(args, sendSignal=None, timeout=20.0):
    """
    Run a child Python, optionally send it C{sendSignal} once it printed
    "ready", and return (exit code, output lines).
    """
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-u"] + args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    try:
        if sendSignal is not None:
            deadline = time.monotonic() + timeout
            selector = selectors.DefaultSelector()
            selector.register(child.stdout, selectors.EVENT_READ)
            seen = b""
            while b"ready\n" not in seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise AssertionError("child never got ready: %r" % (seen,))
                chunk = os.read(child.stdout.fileno(), 4096)
                if not chunk:
                    raise AssertionError("child exited early: %r" % (seen,))
                seen += chunk
            selector.close()
            os.kill(child.pid, sendSignal)
        else:
            seen = b""
        out, err = child.communicate(timeout=timeout)
    except BaseException:
        child.kill()
        child.wait()
        raise
    return child.returncode, (seen + out).decode().splitlines(), err.decode()


SIGTERM_SCRIPT = textwrap.dedent(
    """
    import signal

    from netsvc_twisted._events._agent import Agent
    from netsvc_twisted._constants import SHUTDOWN_PENDING
    from netsvc_twisted._events._dispatcher import Dispatcher


    class Application(Agent):
        def __init__(self):
            Agent.__init__(self)
            self.subscribeShutdown(self.shutdown)
            self.startTimer(self.ready, 0)

        def ready(self):
            print("ready", flush=True)

        def shutdown(self, category):
            print("PENDING" if category == SHUTDOWN_PENDING else "ARRIVED", flush=True)


    dispatcher = Dispatcher()
    dispatcher.monitor(signal.SIGTERM)
    application = Application()
    dispatcher.run()
    print("exited", flush=True)
    """
)


def test_monitored_sigterm_in_real_process():
    code, lines, err = runChild(["-c", SIGTERM_SCRIPT], sendSignal=signal.SIGTERM)
    assert lines == ["ready", "PENDING", "ARRIVED", "exited"], err
    assert code == 0, err


def test_example_event_system():
    code, lines, err = runChild([os.path.join(ROOT, "examples", "event_system.py")])
    assert lines == ["priority", "standard", "bye", "override", "idle"], err
    assert code == 0, err
