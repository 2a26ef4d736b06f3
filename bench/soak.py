"""
Soak: mixed load for a bounded time against one server process on
127.0.0.1 (hello, url-encoded and multipart forms, file downloads, 1 MiB
streams, XML-RPC calls), sampling the server's RSS and counting answers
and client errors.  The verdict wants zero 5xx, zero errors and flat
memory: RSS at the end within 5% of RSS once warmed up (at a fifth of
the run).

Usage: python bench/soak.py [--seconds 300] [--workers 8]
The server is a child process (bench/_robust.py), ended by its PID.
"""

import argparse
import http.client
import statistics
import sys
import threading
import time
import uuid
import xmlrpc.client
from collections import Counter, defaultdict

from _common import MIB, printTable, procStatus
from _robust import startServer

BOUNDARY = "soak" + uuid.uuid4().hex
UPLOAD = b"u" * 20000
MULTIPART = (
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n"
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n"
    f"Content-Type: application/octet-stream\r\n\r\n"
).encode() + UPLOAD + f"\r\n--{BOUNDARY}--\r\n".encode()


def hello(connection, rpc):
    connection.request("GET", "/hello")
    return connection.getresponse()


def formUrlencoded(connection, rpc):
    connection.request("POST", "/form", body=b"user=ann&password=s%20cret&n=1",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    return connection.getresponse()


def formMultipart(connection, rpc):
    connection.request("POST", "/form", body=MULTIPART, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    return connection.getresponse()


def file(connection, rpc):
    connection.request("GET", "/files/big.bin")
    return connection.getresponse()


def stream(connection, rpc):
    connection.request("GET", "/stream/?size=1048576")
    return connection.getresponse()


def call(connection, rpc):
    assert rpc.echo(1, "two", [3.0]) == [1, "two", [3.0]]
    return None


KINDS = {"hello": hello, "form": formUrlencoded, "upload": formMultipart, "file": file,
         "stream": stream, "rpc": call}
EXPECTED = {"file": 256 * 1024, "stream": MIB}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.errors = Counter()
        self.times = defaultdict(list)
        self.byKind = Counter()
        self.fivexx = Counter()

    def add(self, kind, status, seconds, error=None):
        with self.lock:
            self.byKind[kind] += 1
            if error is not None:
                self.errors[kind] += 1
                self.lastError = f"{kind}: {error!r}"
            else:
                self.statuses[status // 100] += 1
                if status >= 500:
                    self.fivexx[kind] += 1
                self.times[kind].append(seconds)


def worker(port, index, stop, tally):
    kinds = list(KINDS.items())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    rpc = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/rpc/validator")
    n = index
    while not stop.is_set():
        kind, run = kinds[n % len(kinds)]
        n += 1
        start = time.perf_counter()
        try:
            response = run(connection, rpc)
            if response is None:
                status = 200
            else:
                body = response.read()
                status = response.status
                if status == 200 and kind in EXPECTED and len(body) != EXPECTED[kind]:
                    raise AssertionError(f"{len(body)} bytes")
            tally.add(kind, status, time.perf_counter() - start)
        except Exception as e:
            tally.add(kind, 0, 0, e)
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    interval = max(1.0, args.seconds / 30)
    server = startServer()
    stop, tally = threading.Event(), Tally()
    threads = [threading.Thread(target=worker, args=(server.port, i, stop, tally))
               for i in range(args.workers)]
    rows = [["t s", "requests", "req/s", "2xx", "4xx", "5xx", "errors", "RSS MiB"]]
    samples = []
    try:
        for thread in threads:
            thread.start()
        started = last = time.monotonic()
        previous = 0
        while True:
            stop.wait(interval)
            now = time.monotonic()
            rss = procStatus(server.pid, "VmRSS")
            with tally.lock:
                total = sum(tally.byKind.values())
                row = [int(now - started), total, "%.0f" % ((total - previous) / (now - last)),
                       tally.statuses[2], tally.statuses[4], tally.statuses[5],
                       sum(tally.errors.values()), "%.1f" % (rss / MIB)]
            rows.append(row)
            samples.append((now - started, rss))
            previous, last = total, now
            if now - started >= args.seconds:
                break
        stop.set()
        for thread in threads:
            thread.join(120)
    finally:
        stop.set()
        server.close()
    printTable(rows)
    print()
    summary = [["kind", "requests", "5xx", "errors", "median ms", "p99 ms"]]
    for kind in KINDS:
        times = sorted(tally.times[kind]) or [0]
        summary.append([kind, tally.byKind[kind], tally.fivexx[kind], tally.errors[kind],
                        "%.1f" % (1000 * statistics.median(times)),
                        "%.1f" % (1000 * times[min(len(times) - 1, int(len(times) * 0.99))])])
    printTable(summary)
    warm = next(rss for t, rss in samples if t >= args.seconds / 5)
    end = samples[-1][1]
    growth = (end - warm) / warm
    fivexx, errors = sum(tally.fivexx.values()), sum(tally.errors.values())
    ok = fivexx == 0 and errors == 0 and growth <= 0.05
    print(f"\n{sum(tally.byKind.values())} requests in {args.seconds:.0f} s: {fivexx} 5xx, "
          f"{errors} errors; RSS {warm / MIB:.1f} MiB once warm, {end / MIB:.1f} MiB at the "
          f"end ({100 * growth:+.1f}%, target within 5%): {'PASS' if ok else 'FAIL'}")
    if errors:
        print("last error:", tally.lastError)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
