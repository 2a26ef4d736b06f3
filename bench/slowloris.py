"""
Slowloris over real sockets: 1,000 idle connections plus partial heads
trickling a byte at a time (well inside the idle timeout) while a normal
client keeps fetching a file.  The normal client must be served
throughout, idle connections must be closed after the idle timeout and
trickling heads once they have taken longer than it in all.

Usage: python bench/slowloris.py [--idle 1000] [--trickling 200] [--timeout 5]
Prints one row per second: connections still open, the normal client's
latency; the server is a child process on 127.0.0.1, ended by its PID.
"""

import argparse
import resource
import socket
import statistics
import sys
import threading
import time

from _common import printTable
from _robust import startServer

HEAD = b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 8000


def isClosed(s):
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def connect(port, count):
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setblocking(False)
        sockets.append(s)
    return sockets


def normalFetch(port):
    """Seconds one ordinary request takes, or None when it failed."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    return time.perf_counter() - start if data.startswith(b"HTTP/1.1 200") else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--trickling", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="the server's idleTimeout (seconds)")
    args = parser.parse_args()
    needed = 2 * (args.idle + args.trickling) + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    server = startServer(args.timeout)
    idle = slow = []
    try:
        port = server.port
        began = time.monotonic()
        idle = connect(port, args.idle)
        slow = connect(port, args.trickling)
        started = time.monotonic()
        print("opened %d connections in %.1f s" % (len(idle) + len(slow), started - began))
        latencies, failures = [], 0
        rows = [["second", "idle open", "trickling open", "normal requests",
                 "failed", "median ms", "max ms"]]
        deadline = started + 4 * args.timeout + 10
        sent, pause, second, recent = 0, threading.Event(), 0, []
        while time.monotonic() < deadline:
            openSlow = [s for s in slow if not isClosed(s)]
            openIdle = [s for s in idle if not isClosed(s)]
            for s in openSlow:
                try:
                    s.send(HEAD[sent % len(HEAD):sent % len(HEAD) + 1])
                except OSError:
                    pass
            sent += 1
            took = normalFetch(port)
            if took is None:
                failures += 1
            else:
                latencies.append(took)
                recent.append(took)
            done = not openSlow and not openIdle
            if time.monotonic() - started >= second or done:
                rows.append([int(time.monotonic() - started), len(openIdle), len(openSlow),
                             len(latencies), failures,
                             "%.1f" % (1000 * statistics.median(recent or [0])),
                             "%.1f" % (1000 * max(recent or [0]))])
                second, recent = int(time.monotonic() - started) + 1, []
            if done:
                break
            pause.wait(args.timeout / 20)
        elapsed = time.monotonic() - started
        printTable(rows)
        allClosed = not openSlow and not openIdle
        ok = allClosed and failures == 0 and latencies
        print("\n%d idle and %d trickling connections: %s after %.1f s (idle timeout %.1f s); "
              "%d normal requests, %d failed: %s"
              % (args.idle, args.trickling,
                 "all closed by the server" if allClosed else "NOT all closed",
                 elapsed, args.timeout, len(latencies), failures, "PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        for s in idle + slow:
            s.close()
        server.close()


if __name__ == "__main__":
    sys.exit(main())
