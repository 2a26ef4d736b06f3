"""
Leak check over real sockets: clients that go away mid-stream (streams,
blocked readers, uploads, file downloads, half-sent heads; see
tests/robustness/hostile_apps.disconnectingClients) must leave no
servlet, congestion bridge, servlet call, job, spooled upload or timer
alive in the server, and its RSS must come back within 5% of the level
measured after a warm-up.

Usage: python bench/leaks.py [--requests 10000] [--warmup 1000] [--threads 32]
Prints one row per batch of 1,000 requests and the verdict; the server
is a child process on 127.0.0.1, ended by its PID.
"""

import argparse
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _common import MIB, printTable
from _robust import disconnectingClients, startServer, state

CLIENTS = list(disconnectingClients().items())
SETTLE_POLLS = 200
BATCH = 1000


def leave(port, index):
    """One client: send its bytes, read a little or nothing, hang up."""
    name, (data, block) = CLIENTS[index % len(CLIENTS)]
    with socket.socket() as s:
        if block:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        if not block and name.startswith(("stream", "file")):
            s.recv(65536)
        if index % 2:
            # Half the clients reset the connection instead of closing it.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def settle(port, baseline):
    """
    Poll the server until nothing is in flight any more (a bounded number
    of times); its last report.
    """
    report = state(port)
    for _ in range(SETTLE_POLLS):
        if all(report[k] <= baseline[k] for k in ("servlets", "bridges", "calls", "jobs",
                                                    "spooled", "channels", "timers")):
            break
        time.sleep(0.05)
        report = state(port)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    server = startServer()
    try:
        port = server.port
        baseline = state(port)
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda i: leave(port, i), range(args.warmup)))
            warm = settle(port, baseline)
            rows = [["requests", "RSS MiB", "vs warm", "servlets", "bridges", "calls",
                     "jobs", "uploads", "channels", "timers"]]

            def row(done, report):
                rows.append([done, "%.1f" % (report["rss"] / MIB),
                             "%+.1f%%" % (100.0 * (report["rss"] - warm["rss"]) / warm["rss"]),
                             report["servlets"], report["bridges"], report["calls"],
                             report["jobs"], report["spooled"], report["channels"],
                             report["timers"]])

            row("warm-up %d" % args.warmup, warm)
            done = 0
            while done < args.requests:
                count = min(BATCH, args.requests - done)
                list(pool.map(lambda i: leave(port, i), range(done, done + count)))
                done += count
                row(done, settle(port, baseline))
        final = settle(port, baseline)
        row("settled", final)
        printTable(rows)
        leftovers = {k: final[k] - baseline[k] for k in
                     ("servlets", "bridges", "calls", "jobs", "spooled", "channels", "timers")
                     if final[k] > baseline[k]}
        growth = (final["rss"] - warm["rss"]) / warm["rss"]
        ok = not leftovers and growth <= 0.05
        print("\nbaseline (the /_state request itself): %s" % {
            k: v for k, v in baseline.items() if k != "rss"})
        print("left alive beyond the baseline: %s" % (leftovers or "nothing"))
        print("RSS after %d requests: %+.1f%% of the warmed-up level (target within 5%%): %s"
              % (args.requests, 100 * growth, "PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
