"""
Peak RSS growth of a server decoding large form bodies (issue 12).

``text``: 8 concurrent multipart bodies of 63 text fields ``f0..f62`` of
1,000,000 bytes each (60 MiB a body) to a FormServlet under HttpDaemon
with the default limits: each is refused with 413 once its text passes
``_maximumMemorySize`` (2.5 MiB).  Target: growth under 64 MiB (it was
501 MiB before the memory budget).

``budget``: the same bodies with the process's request-body budget at
4 MiB (``OTCLIB_BODYMEMORYLIMIT``): requests that find it spent get 503
with Retry-After instead.  Same target.

``uploads``: the same 8 concurrent bodies with each field sent as a file
part: all accepted (200), every upload spooled to disk.  Same target.

``mounted``: one 80 MB multipart upload to a FormServlet mounted in a
plain twisted.web ``Site(root, parsePOSTFormSubmission=False)`` through
ServletResource; the upload is spooled to disk and its SHA-256 checked.
Target: growth under 48 MiB.  ``--baseline`` adds the same upload to a
default ``Site``, which parses the form into ``request.args`` in memory
first (no target: it shows what ServletResource's warning is about; about
1 GB).

Each server runs in a child process (``--serve``) on 127.0.0.1 so its
memory is its own; the clients generate their bodies as they send them.
Usage: python bench/form_memory.py [--case text|budget|mounted] [--baseline]
"""

import argparse
import hashlib
import json
import os
import socket
import sys
import threading

from _common import MIB, Child, printTable, procStatus

TEXT_TARGET_MIB = 64
MOUNTED_TARGET_MIB = 48
FIELDS = 63
FIELD_SIZE = 1_000_000
CLIENTS = 8
UPLOAD_SIZE = 80_000_000
BOUNDARY = "formMemoryBoundary5c1e"
BLOCK = bytes(range(256)) * 256  # 64 KiB


def serve(kind):
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    import netsvc_twisted as netsvc

    class Upload(netsvc.FormServlet):
        _maximumBodySize = None

        def handleRequest(self):
            fields = self.fields()
            reply = {}
            for name, value in fields.items():
                if isinstance(value, netsvc.UploadedFile):
                    digest = hashlib.file_digest(value.file, "sha256").hexdigest()
                    reply[name] = {"size": value.size, "sha256": digest}
                else:
                    reply[name] = len(value)
            body = json.dumps(reply).encode()
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/json")
            self.sendHeader("Content-Length", str(len(body)))
            self.endHeaders()
            self.sendContent(body)
            self.endContent()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Upload(session)

    if kind == "text":  # the budget case serves "text" with a smaller budget
        daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
        daemon.attach("/", Server())

        def started(_):
            print(daemon.port(), flush=True)

        reactor.callWhenRunning(lambda: daemon.start().addCallback(started))
    else:
        root = Resource()
        root.putChild(b"app", netsvc.ServletResource(Server()))
        site = Site(root, parsePOSTFormSubmission=(kind == "baseline"))
        endpoint = serverFromString(reactor, "tcp:0:interface=127.0.0.1")

        def listening(port):
            print(port.getHost().port, flush=True)

        reactor.callWhenRunning(lambda: endpoint.listen(site).addCallback(listening))
    reactor.run()


# -- clients ----------------------------------------------------------------

def textBody(files=False):
    """The 63 fields (text, or file parts), yielded block by block."""
    value = (b"x" * 1000) * (FIELD_SIZE // 1000)
    for index in range(FIELDS):
        yield (b"--%s\r\nContent-Disposition: form-data; name=\"f%d\"%s\r\n\r\n"
               % (BOUNDARY.encode(), index, b'; filename="f.txt"' if files else b""))
        for start in range(0, FIELD_SIZE, len(BLOCK)):
            yield value[start:start + len(BLOCK)]
        yield b"\r\n"
    yield b"--%s--\r\n" % BOUNDARY.encode()


def textLength(files=False):
    return sum(len(part) for part in textBody(files))


UPLOAD_HEAD = (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; "
               b"filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
               % BOUNDARY.encode())
UPLOAD_TAIL = b"\r\n--%s--\r\n" % BOUNDARY.encode()


def uploadBody(digest):
    yield UPLOAD_HEAD
    left = UPLOAD_SIZE
    while left > 0:
        block = BLOCK if left >= len(BLOCK) else BLOCK[:left]
        digest.update(block)
        left -= len(block)
        yield block
    yield UPLOAD_TAIL


def uploadLength():
    return len(UPLOAD_HEAD) + UPLOAD_SIZE + len(UPLOAD_TAIL)


def post(port, path, parts, length):
    """
    Send one POST while a second thread reads the answer, so a response
    that refuses the body early is read before the server closes; the
    status code (or None) and the body of the answer.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=300)
    received = []

    def reader():
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received.append(data)
                head = b"".join(received)
                if b"\r\n\r\n" in head:
                    top, _, body = head.partition(b"\r\n\r\n")
                    lengthLine = [line for line in top.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")]
                    if lengthLine and len(body) >= int(lengthLine[0].split(b":")[1]):
                        break
        except OSError:
            pass

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n"
                     b"Content-Type: multipart/form-data; boundary=%s\r\n\r\n"
                     % (path.encode(), length, BOUNDARY.encode()))
        for part in parts:
            sock.sendall(part)
    except OSError:
        pass  # refused early: the server stopped reading
    thread.join(300)
    sock.close()
    data = b"".join(received)
    if not data.startswith(b"HTTP/1.1 "):
        return None, b""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(data.split(b" ", 2)[1]), head + b"\r\n\r\n" + body


def measure(kind, run, env=None):
    child = Child([os.path.abspath(__file__), "--serve", kind], env=env)
    try:
        baseline = procStatus(child.pid, "VmHWM")
        outcome = run(child.port)
        peak = procStatus(child.pid, "VmHWM")
    finally:
        child.close()
    return baseline, peak - baseline, outcome


def concurrentText(port, files=False):
    length = textLength(files)
    statuses = [None] * CLIENTS
    heads = [b""] * CLIENTS

    def one(index):
        statuses[index], heads[index] = post(port, "/", textBody(files), length)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    retry = all(b"\r\nretry-after: " in head.lower() for status, head
                in zip(statuses, heads) if status == 503)
    return counts, retry


def mountedUpload(port):
    digest = hashlib.sha256()
    status, raw = post(port, "/app/", uploadBody(digest), uploadLength())
    reply = json.loads(raw.partition(b"\r\n\r\n")[2]) if status == 200 else None
    ok = (status == 200 and reply["file"]["size"] == UPLOAD_SIZE
          and reply["file"]["sha256"] == digest.hexdigest())
    return status, ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--case", choices=["text", "budget", "uploads", "mounted"],
                        action="append",
                        help="which case(s) to run (default: all)")
    parser.add_argument("--baseline", action="store_true",
                        help="also upload to a default Site that parses forms (about 1 GB)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve)
        return 0
    rows = [("case", "server", "requests", "answers", "RSS before", "growth", "result")]
    failed = False
    cases = options.case or ["text", "budget", "uploads", "mounted"]
    for case in cases:
        if case in ("text", "budget", "uploads"):
            env = dict(os.environ)
            if case == "budget":
                env["OTCLIB_BODYMEMORYLIMIT"] = str(4 * MIB)
            files = case == "uploads"
            before, growth, (counts, retry) = measure(
                "text", lambda port: concurrentText(port, files), env)
            expected = {"text": {413}, "budget": {413, 503}, "uploads": {200}}[case]
            answered = set(counts) <= expected and (case != "budget" or 503 in counts)
            passed = growth < TEXT_TARGET_MIB * MIB and answered and retry
            target = TEXT_TARGET_MIB
            answers = ", ".join("%d x %s" % (n, s) for s, n in sorted(
                counts.items(), key=lambda item: str(item[0])))
            server = "HttpDaemon" + (", budget 4 MiB" if case == "budget" else "")
            requests = "%d x %d MiB %s" % (CLIENTS, textLength(files) // MIB,
                                           "of files" if files else "text")
        else:
            before, growth, (status, ok) = measure("mounted", mountedUpload)
            passed = growth < MOUNTED_TARGET_MIB * MIB and ok
            target = MOUNTED_TARGET_MIB
            answers = "%s%s" % (status, ", sha256 ok" if ok else "")
            server = "Site(parsePOSTFormSubmission=False)"
            requests = "1 x 80 MB upload"
        failed |= not passed
        rows.append((case, server, requests, answers, "%.1f MiB" % (before / MIB),
                     "%.1f MiB" % (growth / MIB),
                     "PASS" if passed else "FAIL (target < %d MiB)" % target))
    if options.baseline:
        before, growth, (status, ok) = measure("baseline", mountedUpload)
        rows.append(("baseline", "Site() (parses forms)", "1 x 80 MB upload",
                     "%s%s" % (status, ", sha256 ok" if ok else ""),
                     "%.1f MiB" % (before / MIB), "%.1f MiB" % (growth / MIB),
                     "(no target)"))
    printTable(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
