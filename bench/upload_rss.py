"""
Peak RSS growth of a FormServlet receiving a large multipart upload.

The server runs in a child process (``--serve``) so its memory is
measured alone; the parent streams a multipart/form-data body of
``--size`` bytes (default 1 GiB) over 127.0.0.1 without holding it in
memory, then reads the child's VmHWM (peak resident set) from /proc.
Target: growth under 32 MiB.

Usage: python bench/upload_rss.py [--size BYTES] [--chunked]
"""

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time

TARGET_MIB = 32
BLOCK = bytes(range(256)) * 256  # 64 KiB, the pattern repeated


def serve():
    from twisted.internet import reactor

    import netsvc_twisted as netsvc
    from netsvc_twisted._formservlet import FormServlet

    class Upload(FormServlet):
        _maximumBodySize = None

        def handleRequest(self):
            upload = self.field("file")
            digest = hashlib.sha256()
            while True:
                block = upload.file.read(1 << 20)
                if not block:
                    break
                digest.update(block)
            body = json.dumps({"size": upload.size, "sha256": digest.hexdigest(),
                               "note": self.field("note")}).encode()
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/json")
            self.sendHeader("Content-Length", str(len(body)))
            self.endHeaders()
            self.sendContent(body)
            self.endContent()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Upload(session)

    daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
    daemon.attach("/", Server())

    def started(_):
        print(daemon.port(), flush=True)

    reactor.callWhenRunning(lambda: daemon.start().addCallback(started))
    reactor.run()


def status(pid, field):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def upload(port, size, chunked):
    boundary = "benchBOUNDARY7d3f"
    head = ("--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nbench\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" % (boundary, boundary)).encode()
    tail = ("\r\n--%s--\r\n" % boundary).encode()
    digest = hashlib.sha256()

    def body():
        yield head
        left = size
        while left > 0:
            block = BLOCK if left >= len(BLOCK) else BLOCK[:left]
            digest.update(block)
            left -= len(block)
            yield block
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Content-Type": "multipart/form-data; boundary=" + boundary}
    if chunked:
        connection.request("POST", "/", body=body(), headers=headers, encode_chunked=True)
    else:
        headers["Content-Length"] = str(len(head) + size + len(tail))
        connection.request("POST", "/", body=body(), headers=headers)
    response = connection.getresponse()
    reply = json.loads(response.read())
    connection.close()
    assert response.status == 200, response.status
    assert reply["size"] == size and reply["sha256"] == digest.hexdigest(), reply
    return reply


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 30)
    parser.add_argument("--chunked", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve()
        return 0
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"],
                             stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        upload(port, 1 << 20, options.chunked)  # warm up: imports, buffers
        baseline = status(child.pid, "VmHWM")
        started = time.monotonic()
        upload(port, options.size, options.chunked)
        elapsed = time.monotonic() - started
        peak = status(child.pid, "VmHWM")
    finally:
        child.terminate()
        child.wait()
    growth = peak - baseline
    mib = 1 << 20
    rows = [
        ("upload size", "%.0f MiB" % (options.size / mib)),
        ("transfer", "chunked" if options.chunked else "Content-Length"),
        ("time", "%.1f s" % elapsed),
        ("throughput", "%.0f MiB/s" % (options.size / mib / elapsed)),
        ("server peak RSS before", "%.1f MiB" % (baseline / mib)),
        ("server peak RSS after", "%.1f MiB" % (peak / mib)),
        ("growth", "%.1f MiB" % (growth / mib)),
        ("target", "< %d MiB" % TARGET_MIB),
        ("result", "PASS" if growth < TARGET_MIB * mib else "FAIL"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print("%-*s  %s" % (width, name, value))
    return 0 if growth < TARGET_MIB * mib else 1


if __name__ == "__main__":
    sys.exit(main())
