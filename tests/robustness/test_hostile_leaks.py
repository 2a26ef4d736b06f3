"""
Clients that go away mid-stream leave nothing behind: after 2,000 such
requests in memory (streams, uploads, file downloads, blocked readers,
half-sent heads) no servlet, congestion bridge, servlet call, response,
job, uploaded file or timer is alive.  bench/leaks.py does 10,000 over
real sockets and watches RSS as well.
"""

import gc
import tempfile
from tempfile import SpooledTemporaryFile

import pytest
from twisted.internet import reactor

import netsvc_twisted as netsvc
from netsvc_twisted._events import _dispatcher
from netsvc_twisted._http._congestion import CongestionBridge
from netsvc_twisted._http._lifecycle import ServletCall
from netsvc_twisted._http._request import ServletChannel, ServletRequest
from netsvc_twisted._http._response import Response
from netsvc_twisted.testing import MemoryDaemon

from hostile_apps import LogWatch, disconnectingClients, mounts

REQUESTS = 2000
TRACKED = (netsvc.HttpServlet, CongestionBridge, ServletCall, Response, ServletRequest,
           ServletChannel, netsvc.Job, SpooledTemporaryFile)


def alive():
    gc.collect()
    counts = dict.fromkeys(t.__name__ for t in TRACKED)
    for name in counts:
        counts[name] = 0
    for obj in gc.get_objects():
        for kind in TRACKED:
            if isinstance(obj, kind):
                counts[kind.__name__] += 1
    return counts


def pending(clock):
    return [call for call in clock.getDelayedCalls() if call.active()]


@pytest.fixture
def directory():
    with tempfile.TemporaryDirectory() as name:
        yield name


def test_disconnects_mid_stream_leave_nothing_alive(directory):
    realCalls = len(reactor.getDelayedCalls())
    before = alive()
    clients = list(disconnectingClients().values())
    memory = MemoryDaemon(mounts(directory))
    with memory, LogWatch() as log:
        clock = memory.clock
        for i in range(REQUESTS):
            data, block = clients[i % len(clients)]
            connection = memory.connect()
            connection.send(data)
            if block:
                connection.block()
            clock.advance(0)
            clock.advance(0)
            connection.disconnect()
            del connection
        for _ in range(5):
            clock.advance(1)
        assert not memory.daemon.site.connections
        assert _dispatcher._queue.pending() == 0
        assert pending(clock) == []
    del memory
    assert len(reactor.getDelayedCalls()) == realCalls
    after = alive()
    assert after == before, {k: (before[k], after[k]) for k in after if after[k] != before[k]}
    assert not log.events, log.describe()
