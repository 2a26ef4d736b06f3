"""
Jobs that schedule themselves (E14's producer) run several times per
reactor turn, but never starve I/O on other connections, and never run on
past a CONNECTION_BLOCKED the servlet has not heard yet.
"""

import runpy
import socket
import threading
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import threads

import netsvc_twisted as netsvc
from netsvc_twisted._events import _jobs
from netsvc_twisted.testing import MemoryDaemon, _runTurn
from support import TIMEOUT, fetch, startDaemon
from support import waitUntil as waitFor

EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent
                             / "examples" / "slow_clients.py"))


class Hello(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent(b"hello")
        self.endContent()


class HelloServer(netsvc.HttpServer):
    def servlet(self, session):
        return Hello(session)


@pytest_twisted.ensureDeferred
async def test_a_job_scheduling_itself_forever_does_not_starve_requests(daemons):
    runs = []

    def spin():
        runs.append(1)
        job.schedule(netsvc.STANDARD_JOB)

    job = netsvc.Job(spin)
    job.schedule(netsvc.STANDARD_JOB)
    try:
        daemon = await startDaemon({"/hello": HelloServer()})
        daemons.append(daemon)
        before = len(runs)
        reply = await fetch(daemon.port(), path="/hello")
        assert reply.status == 200 and reply.body == b"hello"
        assert len(runs) > before  # it kept running while the request was served
    finally:
        job.cancel()


def readForever(port, progress, stop):
    """Take an endless E14 stream as fast as possible until C{stop} is set."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (1 << 50))
        buffer = bytearray(1 << 20)
        while not stop.is_set():
            count = s.recv_into(buffer)
            assert count, "the stream ended"
            progress.append(count)


@pytest_twisted.ensureDeferred
async def test_a_fast_stream_does_not_starve_another_connection(daemons):
    daemon = await startDaemon({"/": EXAMPLE["HttpServer"](), "/hello": HelloServer()})
    daemons.append(daemon)
    progress, stop = [], threading.Event()
    reader = threads.deferToThread(readForever, daemon.port(), progress, stop)
    try:
        await threads.deferToThread(waitFor, lambda: sum(progress) > 4 << 20)
        reply = await fetch(daemon.port(), path="/hello")
        assert reply.status == 200 and reply.body == b"hello"
        streamed = sum(progress)
        await threads.deferToThread(waitFor, lambda: sum(progress) > streamed)
    finally:
        stop.set()
        await reader


@pytest.mark.parametrize("priority", [netsvc.STANDARD_JOB, netsvc.PRIORITY_JOB])
def test_no_part_is_produced_past_an_unheard_block(monkeypatch, priority):
    """
    The producer's job blocks the connection while it writes its third
    part and schedules itself again: CONNECTION_BLOCKED, a priority job,
    reaches it in the same drain before that job runs, whatever the
    producer's own priority, so the third part is the last.
    """
    monkeypatch.setattr(_jobs, "_clock", lambda: 0.0)  # no slice: only rounds count
    parts, servlets = [], []

    class Blocking(EXAMPLE["SlowClientServlet"]):
        def processRequest(self):
            servlets.append(self)
            super().processRequest()

        def produce(self):  # E14's, rescheduling itself at `priority`
            parts.append(self.index)
            if len(parts) == 3:
                connection.block()  # as Twisted does when its buffer fills
            self.sendContent(EXAMPLE["part"](self.index))
            self.index += 1
            self.job.schedule(priority)

    with MemoryDaemon.forServlet(Blocking) as daemon:
        connection = daemon.connect()
        connection.send(b"GET /?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (64 << 20))
        assert _runTurn(daemon.clock)  # one drain: three parts, the block, BLOCKED heard
        assert parts == [0, 1, 2]
        assert servlets[0].events == [netsvc.CONNECTION_BLOCKED]
        daemon.settle()
        assert parts == [0, 1, 2]
        # CLEARED at once, from the transport: E14 schedules a fresh job,
        # which runs right there, for several parts, without a timer.
        connection.unblock()
        assert len(parts) == 3 + _jobs.DRAIN_ROUNDS
        _runTurn(daemon.clock)
        assert len(parts) == 3 + 2 * _jobs.DRAIN_ROUNDS
        connection.disconnect()
        daemon.settle()
