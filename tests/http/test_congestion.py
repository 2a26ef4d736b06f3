"""
Congestion callbacks over a real HTTPChannel on a StringTransport whose
flow control the test drives, with a MemoryReactorClock for time.
"""

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon

B, C, K = netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED, netsvc.CONNECTION_BACKLOG


class Streamer(netsvc.HttpServlet):
    """
    Writes `blocks` flushed blocks per call of `more()`; records events.
    """

    instances = []

    def __init__(self, session):
        super().__init__(session)
        self.events = []
        self.destroyed = 0
        Streamer.instances.append(self)

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.monitorCongestion(self.congestion)

    def congestion(self, status, pending):
        self.events.append((status, pending))

    def more(self, blocks, size=10):
        for _ in range(blocks):
            self.sendContent(b"x" * size)
            self.flushContent()

    def destroyServlet(self):
        self.destroyed += 1
        super().destroyServlet()


def start(stallTimeout=None):
    Streamer.instances = []

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Streamer(session)

    daemon = MemoryDaemon({"/": Server()})
    if stallTimeout is not None:
        daemon.daemon.site.stallTimeout = stallTimeout
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return daemon, connection, Streamer.instances[0]


def test_blocked_cleared_order_and_not_reentrant():
    daemon, connection, servlet = start()
    servlet.more(3)
    connection.block()
    # Not delivered inside the write that filled the buffer.
    assert servlet.events == []
    daemon.clock.advance(0)
    assert servlet.events == [(B, 3)]
    connection.unblock()
    daemon.clock.advance(0)
    assert servlet.events == [(B, 3), (C, 0)]


def test_backlog_then_drain_to_zero():
    daemon, connection, servlet = start()
    connection.block()
    servlet.more(256)
    servlet.more(256)
    daemon.clock.advance(0)
    assert servlet.events == [(B, 1), (K, 256), (K, 512)]
    connection.unblock()
    daemon.clock.advance(0)
    assert servlet.events[3:] == [(C, 0), (K, 0)]


def test_backlog_without_block_then_drain():
    daemon, connection, servlet = start()
    servlet.more(256)
    daemon.clock.advance(0)
    assert servlet.events == [(K, 256)]
    connection.received()  # the client reads everything
    daemon.clock.advance(0.1)
    assert servlet.events == [(K, 256), (K, 0)]


def test_pending_restarts_once_the_client_has_read():
    daemon, connection, servlet = start()
    servlet.more(200)
    connection.received()
    servlet.more(200)  # 400 blocks, but the first 200 were read
    daemon.clock.advance(0.1)
    assert servlet.events == []


def test_threshold_from_environment(monkeypatch):
    monkeypatch.setenv("OTCLIB_STREAMTHRESHOLD", "4")
    daemon, connection, servlet = start()
    connection.block()
    servlet.more(9)
    daemon.clock.advance(0)
    assert servlet.events == [(B, 1), (K, 4), (K, 8)]


def test_stall_timeout_aborts_and_destroys():
    daemon, connection, servlet = start(stallTimeout=30)
    connection.block()
    servlet.more(1)
    daemon.clock.advance(29)
    assert servlet.destroyed == 0 and not connection.transport.disconnecting
    daemon.clock.advance(2)
    assert servlet.destroyed == 1
    assert connection.transport.disconnecting


def test_unblocked_in_time_is_not_aborted():
    daemon, connection, servlet = start(stallTimeout=30)
    connection.block()
    daemon.clock.advance(20)
    connection.unblock()
    daemon.clock.advance(100)
    assert servlet.destroyed == 0


def test_the_stall_timeout_counts_the_current_block_only():
    """
    One timer serves many block/clear cycles: a response that cleared
    and blocked again is aborted a whole timeout after the later block.
    """
    daemon, connection, servlet = start(stallTimeout=30)
    connection.block()
    daemon.clock.advance(20)
    connection.unblock()
    daemon.clock.advance(5)
    connection.block()  # at 25: the timer set at 0 fires at 30 and looks again
    daemon.clock.advance(29)
    assert servlet.destroyed == 0 and not connection.transport.disconnecting
    daemon.clock.advance(2)  # 56: blocked for 31 s
    assert servlet.destroyed == 1
    assert connection.transport.disconnecting


def test_cycles_leave_one_stall_timer():
    daemon, connection, servlet = start(stallTimeout=30)

    def stallTimers():
        return [call for call in daemon.clock.getDelayedCalls()
                if getattr(call.func, "__name__", "") == "_stallCheck"]

    for _ in range(50):
        connection.block()
        connection.unblock()
    assert len(stallTimers()) == 1
    daemon.clock.advance(31)  # the timer finds no block and is gone
    assert servlet.destroyed == 0
    assert stallTimers() == []


def test_disconnect_destroys_once_and_stops_events():
    daemon, connection, servlet = start()
    connection.block()
    connection.disconnect()
    daemon.clock.advance(0)
    assert servlet.destroyed == 1
    assert servlet.events == []


def test_ignore_congestion_unregisters():
    daemon, connection, servlet = start()
    servlet.ignoreCongestion()
    connection.block()
    daemon.clock.advance(0)
    assert servlet.events == []
    servlet.endContent()
    assert connection.replies()[0].status == 200


def test_callback_exception_aborts_connection():
    daemon, connection, servlet = start()

    def broken(status, pending):
        raise RuntimeError("callback failed")

    servlet.monitorCongestion(broken)
    servlet.more(1)
    connection.block()
    daemon.clock.advance(0)
    assert servlet.destroyed == 1
    assert connection.transport.disconnecting


def test_response_completes_with_producer_registered():
    daemon, connection, servlet = start()
    servlet.more(2)
    servlet.endContent()
    reply = connection.replies()[0]
    assert reply.body == b"x" * 20
    assert servlet.destroyed == 1


def test_block_cleared_within_one_turn_is_not_reported():
    daemon, connection, servlet = start()
    servlet.more(2)
    connection.block()
    connection.unblock()
    daemon.clock.advance(0)
    assert servlet.events == []


def test_cleared_is_delivered_at_once_from_the_reactor():
    daemon, connection, servlet = start()
    connection.block()
    daemon.clock.advance(0)
    assert servlet.events == [(B, 1)]
    connection.unblock()  # as Twisted's doWrite would
    assert servlet.events == [(B, 1), (C, 0)]
