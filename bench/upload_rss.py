"""
Peak RSS growth of a server receiving a large streamed upload.

Two servlets: ``discard``, a plain HttpServlet that hashes and drops each
processContent() chunk (the core's streamed request bodies), and
``form``, a FormServlet parsing a multipart/form-data upload (spooled to
disk).  The server runs in a child process (``--serve``) so its memory
is measured alone; the parent streams a body of ``--size`` bytes
(default 1 GiB) over 127.0.0.1 without holding it in memory, then reads
the child's VmHWM (peak resident set) from /proc.  Target: growth under
32 MiB for each.

Usage: python bench/upload_rss.py [--size BYTES] [--chunked] [--servlet discard|form]
"""

import argparse
import hashlib
import http.client
import json
import os
import sys
import time

from _common import MIB, Child, printTable, procStatus

TARGET_MIB = 32
BLOCK = bytes(range(256)) * 256  # 64 KiB, the pattern repeated


def serve():
    from twisted.internet import reactor

    import netsvc_twisted as netsvc
    from netsvc_twisted._forms._servlet import FormServlet

    class Upload(FormServlet):
        _maximumBodySize = None

        def handleRequest(self):
            upload = self.field("file")
            digest = hashlib.file_digest(upload.file, "sha256")
            body = json.dumps({"size": upload.size, "sha256": digest.hexdigest(),
                               "note": self.field("note")}).encode()
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/json")
            self.sendHeader("Content-Length", str(len(body)))
            self.endHeaders()
            self.sendContent(body)
            self.endContent()

    class Discard(netsvc.HttpServlet):
        def processRequest(self):
            self.size = 0
            self.digest = hashlib.sha256()

        def processContent(self, content):
            self.size += len(content)
            self.digest.update(content)

        def processContentEnd(self):
            body = json.dumps({"size": self.size, "sha256": self.digest.hexdigest()})
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/json")
            self.endHeaders()
            self.sendContent(body)
            self.endContent()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            if session.servletPath() == "discard":
                return Discard(session)
            return Upload(session)

    daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
    daemon.attach("/", Server())

    def started(_):
        print(daemon.port(), flush=True)

    reactor.callWhenRunning(lambda: daemon.start().addCallback(started))
    reactor.run()


def upload(port, size, chunked, servlet="form"):
    boundary = "benchBOUNDARY7d3f"
    if servlet == "form":
        head = ("--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nbench\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                "filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                % (boundary, boundary)).encode()
        tail = ("\r\n--%s--\r\n" % boundary).encode()
    else:
        head = tail = b""
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
        connection.request("POST", "/" + servlet, body=body(), headers=headers,
                           encode_chunked=True)
    else:
        headers["Content-Length"] = str(len(head) + size + len(tail))
        connection.request("POST", "/" + servlet, body=body(), headers=headers)
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
    parser.add_argument("--servlet", choices=["discard", "form"], action="append",
                        help="which servlet(s) to measure (default: both)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve()
        return 0
    mib = MIB
    rows = [("servlet", "transfer", "size", "MiB/s", "RSS before", "growth", "result")]
    failed = False
    for servlet in options.servlet or ["discard", "form"]:
        # A fresh server per servlet, so each growth is its own.
        child = Child([os.path.abspath(__file__), "--serve"])
        try:
            upload(child.port, 1 << 20, options.chunked, servlet)  # warm up
            baseline = procStatus(child.pid, "VmHWM")
            started = time.monotonic()
            upload(child.port, options.size, options.chunked, servlet)
            elapsed = time.monotonic() - started
            peak = procStatus(child.pid, "VmHWM")
        finally:
            child.close()
        growth = peak - baseline
        passed = growth < TARGET_MIB * mib
        failed |= not passed
        rows.append((servlet, "chunked" if options.chunked else "Content-Length",
                     "%.0f MiB" % (options.size / mib),
                     "%.0f" % (options.size / mib / elapsed),
                     "%.1f MiB" % (baseline / mib), "%.1f MiB" % (growth / mib),
                     "PASS" if passed else "FAIL (target < %d MiB)" % TARGET_MIB))
    printTable(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
