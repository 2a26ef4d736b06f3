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
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "slow_clients.py")
MIB = 1 << 20


def serve(kind, size, path):
    from twisted.internet import reactor
    from twisted.internet.interfaces import IPushProducer
    from twisted.web import resource, server
    from zope.interface import implementer

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

    @implementer(IPushProducer)
    class Parts:
        def __init__(self, request, size):
            self.request, self.left, self.index = request, size, 0
            self.paused = False
            request.registerProducer(self, True)
            reactor.callLater(0, self.resumeProducing)

        def resumeProducing(self):
            self.paused = False
            while not self.paused and self.left > 0:
                data = part(self.index)[: self.left]
                self.index += 1
                self.left -= len(data)
                self.request.write(data)
            if self.left <= 0 and self.request is not None:
                request, self.request = self.request, None
                request.unregisterProducer()
                request.finish()

        def pauseProducing(self):
            self.paused = True

        def stopProducing(self):
            self.paused = True
            self.left = 0

    class Bare(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            wanted = int(request.args.get(b"size", [size])[0])
            request.setHeader(b"content-length", b"%d" % wanted)
            Parts(request, wanted)
            return server.NOT_DONE_YET

    if kind == "bare":
        port = reactor.listenTCP(0, server.Site(Bare()), interface="127.0.0.1")
        print(port.getHost().port, flush=True)
    else:
        daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
        daemon.attach("/", Server())
        daemon.start().addCallback(lambda _: print(daemon.port(), flush=True))
    reactor.run()


def peakRss(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise KeyError("VmHWM")


def download(port, size, slow):
    with socket.socket() as s:
        if slow:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(120)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /?size=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        received = len(data.partition(b"\r\n\r\n")[2])
        step = 16384 if slow else 1 << 20
        while received < size:
            chunk = s.recv(step)
            if not chunk:
                raise RuntimeError("closed after %d bytes" % received)
            received += len(chunk)
            if slow:
                time.sleep(0.0002)
        return received


class Child:
    def __init__(self, kind, size, path=""):
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", kind, str(size), path],
            stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def close(self):
        self.process.terminate()
        self.process.wait()
        self.process.stdout.close()


def slowCase(kind, size, path):
    child = Child(kind, size, path)
    try:
        download(child.port, 1 << 20, slow=False)  # warm up
        before = peakRss(child.process.pid)
        started = time.monotonic()
        download(child.port, size, slow=True)
        elapsed = time.monotonic() - started
        return peakRss(child.process.pid) - before, elapsed
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
        print("%-10s %14s %8s  %s" % ("servlet", "RSS growth", "time", "result"))
        for kind in ("example", "file", "naive"):
            growth, elapsed = slowCase(kind, options.slow_size, handle.name)
            ok = growth < 8 * MIB
            if kind != "naive":
                failed |= not ok
            verdict = ("PASS" if ok else "FAIL (target < 8 MiB)") if kind != "naive" \
                else "(baseline: ignores congestion)"
            print("%-10s %10.1f MiB %7.1fs  %s" % (kind, growth / MIB, elapsed, verdict))

    print("\nFast reader, %d MiB, %d rounds interleaved" % (options.fast_size // MIB,
                                                          options.rounds))
    children = {kind: Child(kind, options.fast_size) for kind in ("bare", "example")}
    rates = {kind: [] for kind in children}
    try:
        for _ in range(options.rounds):
            for kind, child in children.items():
                started = time.monotonic()
                download(child.port, options.fast_size, slow=False)
                rates[kind].append(options.fast_size / MIB / (time.monotonic() - started))
    finally:
        for child in children.values():
            child.close()
    base = statistics.median(rates["bare"])
    print("%-10s %10s %16s %8s" % ("server", "MiB/s", "min-max", "ratio"))
    for kind in ("bare", "example"):
        median = statistics.median(rates[kind])
        print("%-10s %10.0f %7.0f-%-8.0f %7.2fx" % (kind, median, min(rates[kind]),
                                                   max(rates[kind]), median / base))
    ratio = statistics.median(rates["example"]) / base
    print("servlet path vs bare twisted.web: %.2fx (target >= 0.9x) %s"
          % (ratio, "PASS" if ratio >= 0.9 else "FAIL"))
    failed |= ratio < 0.9
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
