"""
Streaming to slow and fast readers: memory and throughput.

Slow reader (small receive buffer, small reads, a short pause between
reads): the server's peak RSS growth while streaming ``--slow-size`` bytes
(default 256 MiB) with the E14 example servlet, with FileServlet, and with
a naive servlet that writes everything at once ignoring congestion (it
grows).  Target: under 8 MiB for the first two.

Fast reader: MB/s of ``--fast-size`` bytes (default 256 MiB) through the
E14 servlet path against a bare twisted.web resource driving the same
parts with an IPushProducer, measured interleaved in the same run
(``--rounds`` rounds, median reported).  Target: at least 0.9x.

Each server runs in its own child process on 127.0.0.1 so its memory is
its own.  Usage: python bench/slow_client.py [--slow-size N] [--fast-size N] [--rounds N]
"""

import argparse
import os
import runpy
import statistics
import sys
import tempfile
import time

from _common import MIB, Child, closeAll, download, peakRss, printTable
from _servers import bareStreamResource, listenTwisted

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "slow_clients.py")


def serve(kind, size, path):
    from twisted.internet import reactor
    from twisted.web import server

    import netsvc_twisted as netsvc

    example = runpy.run_path(EXAMPLE)
    part = example["part"]

    class Naive(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Length", str(size))
            self.endHeaders()
            index = sent = 0
            while sent < size:
                data = part(index)[: size - sent]
                self.sendContent(data)
                sent += len(data)
                index += 1
            self.endContent()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            if kind == "file":
                return netsvc.FileServlet(session, path, "application/octet-stream")
            if kind == "naive":
                return Naive(session)
            return example["SlowClientServlet"](session)

    if kind == "bare":
        listenTwisted(server.Site(bareStreamResource(size)))
        return
    daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
    daemon.attach("/", Server())
    daemon.start().addCallback(lambda _: print(daemon.port(), flush=True))
    reactor.run()


def startChild(kind, size, path=""):
    return Child([os.path.abspath(__file__), "--serve", kind, str(size), path])


def slowCase(kind, size, path):
    child = startChild(kind, size, path)
    try:
        download(child.port, 1 << 20, slow=False)  # warm up
        before = peakRss(child.pid)
        started = time.monotonic()
        download(child.port, size, slow=True)
        elapsed = time.monotonic() - started
        return peakRss(child.pid) - before, elapsed
    finally:
        child.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--slow-size", type=int, default=256 * MIB)
    parser.add_argument("--fast-size", type=int, default=256 * MIB)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        kind, size, path = options.serve
        serve(kind, int(size), path)
        return 0

    failed = False
    with tempfile.NamedTemporaryFile(prefix="netsvc-bench-") as handle:
        block = os.urandom(MIB)
        for _ in range(options.slow_size // MIB):
            handle.write(block)
        handle.flush()
        print("Slow reader, %d MiB" % (options.slow_size // MIB))
        rows = [("servlet", "RSS growth", "time", "result")]
        for kind in ("example", "file", "naive"):
            growth, elapsed = slowCase(kind, options.slow_size, handle.name)
            ok = growth < 8 * MIB
            if kind != "naive":
                failed |= not ok
            verdict = ("PASS" if ok else "FAIL (target < 8 MiB)") if kind != "naive" \
                else "(baseline: ignores congestion)"
            rows.append((kind, "%.1f MiB" % (growth / MIB), "%.1fs" % elapsed, verdict))
        printTable(rows)

    print("\nFast reader, %d MiB, %d rounds interleaved" % (options.fast_size // MIB,
                                                          options.rounds))
    children = {}
    rates = {"bare": [], "example": []}
    try:
        for kind in rates:
            children[kind] = startChild(kind, options.fast_size)
        for _ in range(options.rounds):
            for kind, child in children.items():
                started = time.monotonic()
                download(child.port, options.fast_size, slow=False)
                rates[kind].append(options.fast_size / MIB / (time.monotonic() - started))
    finally:
        closeAll(children.values())
    base = statistics.median(rates["bare"])
    rows = [("server", "MiB/s", "min-max", "ratio")]
    for kind in ("bare", "example"):
        median = statistics.median(rates[kind])
        rows.append((kind, "%.0f" % median, "%.0f-%.0f" % (min(rates[kind]), max(rates[kind])),
                     "%.2fx" % (median / base)))
    printTable(rows)
    ratio = statistics.median(rates["example"]) / base
    print("servlet path vs bare twisted.web: %.2fx (target >= 0.9x) %s"
          % (ratio, "PASS" if ratio >= 0.9 else "FAIL"))
    failed |= ratio < 0.9
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
