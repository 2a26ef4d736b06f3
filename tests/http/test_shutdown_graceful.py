"""
Graceful shutdown: stop accepting, let responses in flight finish for up
to the drain time, then cut the rest.
"""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon

from support import TIMEOUT

APP = Path(__file__).resolve().parent.parent / "apps" / "graceful_app.py"


class Holding(netsvc.HttpServlet):
    held = []

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        Holding.held.append(self)


class Hello(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Length", "5")
        self.endHeaders()
        self.sendContent("hello")
        self.endContent()


class Server(netsvc.HttpServer):
    def servlet(self, session):
        return Holding(session)


def closeIfAsked(connection):
    """
    A StringTransport only records that the server closed it; deliver the
    connectionLost a real transport would.
    """
    if connection.transport.disconnecting and not getattr(connection, "lost", False):
        connection.lost = True
        connection.protocol.connectionLost(Failure(ConnectionDone()))


def test_stop_closes_idle_after_the_grace_and_waits_for_busy():
    Holding.held = []
    daemon = MemoryDaemon({"/": Server()})
    idle = daemon.connect()
    busy = daemon.connect()
    busy.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    stopped = []
    daemon.daemon.stop().addCallback(stopped.append)
    grace = daemon.daemon.site.drainGrace
    assert grace > 0
    daemon.clock.advance(grace * 0.99)
    assert not idle.transport.disconnecting
    daemon.clock.advance(grace * 0.02)
    assert idle.transport.disconnecting
    closeIfAsked(idle)
    assert not busy.transport.disconnecting and stopped == []
    Holding.held[0].endContent()
    (reply,) = busy.replies()
    assert reply.status == 200
    assert busy.transport.disconnecting
    closeIfAsked(busy)
    assert stopped == [None]


def test_stop_aborts_after_drain_time():
    Holding.held = []
    daemon = MemoryDaemon({"/": Server()})
    daemon.daemon.drainTimeout = 5
    busy = daemon.connect()
    busy.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    stopped = []
    daemon.daemon.stop().addCallback(stopped.append)
    daemon.clock.advance(4.9)
    assert not busy.transport.disconnecting
    daemon.clock.advance(0.2)
    assert busy.transport.disconnecting  # abortConnection
    closeIfAsked(busy)
    assert stopped == [None]


def test_request_of_a_just_accepted_connection_is_answered_during_the_drain():
    """
    The race of a rolling restart: a connection accepted just before the
    port stopped listening whose request arrives after the drain began.
    It is answered (Connection: close), not dropped.
    """
    daemon = MemoryDaemon.forServlet(Hello)
    connection = daemon.connect()
    stopped = []
    daemon.daemon.stop().addCallback(stopped.append)
    assert not connection.transport.disconnecting
    daemon.clock.advance(daemon.daemon.site.drainGrace / 2)
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    (reply,) = connection.replies()
    assert (reply.status, reply.body) == (200, b"hello")
    assert reply.header("Connection") == "close"
    assert connection.transport.disconnecting
    closeIfAsked(connection)
    assert stopped == [None]


def test_grace_is_no_longer_than_the_drain_time():
    daemon = MemoryDaemon.forServlet(Hello)
    daemon.daemon.drainTimeout = daemon.daemon.site.drainGrace / 10
    connection = daemon.connect()
    stopped = []
    daemon.daemon.stop().addCallback(stopped.append)
    daemon.clock.advance(daemon.daemon.drainTimeout)
    assert connection.transport.disconnecting
    closeIfAsked(connection)
    assert stopped == [None]
    assert not daemon.clock.getDelayedCalls()


def test_request_arriving_while_draining_is_told_to_close():
    Holding.held = []
    daemon = MemoryDaemon({"/": Server()})
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    daemon.daemon.stop()
    Holding.held[0].endContent()
    (reply,) = connection.replies()
    assert reply.status == 200
    assert connection.transport.disconnecting


def test_sigterm_lets_response_in_flight_finish_and_refuses_new_connections():
    child = subprocess.Popen([sys.executable, str(APP)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("ready"), line
        port = int(line.split()[1])
        client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"part one" not in received:
            received += client.recv(4096)
        child.send_signal(signal.SIGTERM)
        refused = False
        for _ in range(400):  # bounded: at most about 10 s
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except ConnectionRefusedError:
                refused = True
                break
            time.sleep(0.025)
        assert refused
        while not received.endswith(b"0\r\n\r\n"):
            chunk = client.recv(4096)
            assert chunk, received
            received += chunk
        client.close()
        assert b"part two" in received
        assert child.wait(timeout=TIMEOUT) == 0
        assert "stopped" in child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
