"""
Slowloris: many idle connections and partial heads trickling a byte at
a time do not stop a normal client from being served, and are closed by
the server: idle ones after the idle timeout, trickling ones once their
head has taken longer than that, however steadily they send.
bench/slowloris.py does the same with 1,000 connections.
"""

import socket
import threading

import pytest_twisted
from twisted.internet import threads

from hostile_apps import LogWatch, mounts
from support import TIMEOUT, fetch, startDaemon

IDLE = 1.0
IDLE_CONNECTIONS = 150
TRICKLING = 50
#: Pacing of the trickle: a byte per connection this often, well inside
#: the idle timeout, so only a deadline on the whole head can end them.
TRICKLE_EVERY = IDLE / 5
#: Bound on trickle rounds before every connection must have been closed.
MAX_ROUNDS = 100

HEAD = b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 4000


def isClosed(s):
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def openAll(port, count):
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.setblocking(False)
        sockets.append(s)
    return sockets


def trickle(sockets, rounds, pause):
    """
    Send the next byte of HEAD on every open connection each round until
    the server closed them all or the rounds ran out; the rounds used.
    """
    for n in range(rounds):
        open_ = [s for s in sockets if not isClosed(s)]
        if not open_:
            return n
        for s in open_:
            try:
                s.send(HEAD[n % len(HEAD):n % len(HEAD) + 1])
            except OSError:
                pass
        pause.wait(TRICKLE_EVERY)
    return None


@pytest_twisted.ensureDeferred
async def test_idle_and_trickling_connections_are_closed_and_others_served(daemons, tmp_path):
    with LogWatch() as log:
        daemon = await startDaemon(mounts(str(tmp_path)), idleTimeout=IDLE)
        daemons.append(daemon)
        port = daemon.port()
        idle = await threads.deferToThread(openAll, port, IDLE_CONNECTIONS)
        slow = await threads.deferToThread(openAll, port, TRICKLING)
        try:
            for s in slow:
                s.send(HEAD[:1])
            served = await fetch(port, "GET", "/files/small.txt")
            assert served.status == 200
            rounds = await threads.deferToThread(
                trickle, idle + slow, MAX_ROUNDS, threading.Event())
            assert rounds is not None, "trickling heads were never timed out"
            served = await fetch(port, "GET", "/files/small.txt")
            assert served.status == 200
        finally:
            for s in idle + slow:
                s.close()
    assert not log.events, log.describe()
