"""
The servers the robustness tests and bench scripts aim hostile traffic
at: a servlet that reads its body and reports on the request through
every accessor, a FormServlet, a FileServer on a directory of small
files, and a streaming servlet that honours congestion.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from twisted.logger import LogLevel, globalLogPublisher

import netsvc_twisted as netsvc
from netsvc_twisted._forms._fields import UploadedFile

#: Files the FileServer serves, by name.
FILES = {
    "index.html": b"<html>index</html>\n",
    "small.txt": b"0123456789" * 100,
    "data.bin": bytes(range(256)) * 64,
    "big.bin": bytes(range(256)) * 1024,  # several 64 KiB blocks
}


class BodyReport(netsvc.HttpServlet):
    """
    Reads the whole body, then answers with JSON built from every request
    accessor, so hostile heads exercise the session's decoding too.
    """

    def processRequest(self) -> None:
        self.size = 0
        self.digest = hashlib.sha256()

    def processContent(self, content: bytes) -> None:
        self.size += len(content)
        self.digest.update(content)

    def processContentEnd(self) -> None:
        report = {
            "method": self.requestMethod(), "url": self.url(),
            "path": self.requestPath(), "query": self.queryString(),
            "root": self.serverRoot(), "servletPath": self.servletPath(),
            "host": self.serverHost(), "port": self.serverPort(),
            "headers": self.headers(), "length": self.contentLength(),
            "type": self.contentType(), "size": self.size,
            "sha256": self.digest.hexdigest(),
        }
        data = json.dumps(report).encode()
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/json")
        self.sendHeader("Content-Length", str(len(data)))
        self.endHeaders()
        self.sendContent(data)
        self.endContent()


def describe(value: Any) -> Any:
    if isinstance(value, list):
        return [describe(v) for v in value]
    if isinstance(value, UploadedFile):
        return {"filename": value.filename, "size": value.size,
                "sha256": hashlib.sha256(value.file.read()).hexdigest()}
    return value


class FormReport(netsvc.FormServlet):
    """
    Small limits, so hostile bodies reach them quickly.
    """

    _maximumBodySize = 256 * 1024
    _maximumFieldCount = 64
    _maximumFieldSize = 16 * 1024
    _spoolThreshold = 1024

    def handleRequest(self) -> None:
        data = json.dumps({k: describe(v) for k, v in self.fields().items()},
                          sort_keys=True).encode()
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/json")
        self.sendHeader("Content-Length", str(len(data)))
        self.endHeaders()
        self.sendContent(data)
        self.endContent()


class Stream(netsvc.HttpServlet):
    """
    C{GET /stream/?size=N} streams N bytes in 16 KiB parts, one part per
    job, pausing while the connection is blocked (the E14 pattern).
    """

    PART = b"s" * 16384

    def processRequest(self) -> None:
        query = self.queryString()
        size = query[5:] if query.startswith("size=") else ""
        self.left = int(size) if size.isdigit() else 1 << 20
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/octet-stream")
        self.sendHeader("Content-Length", str(self.left))
        self.endHeaders()
        self.job: Any = None
        self.monitorCongestion(self.congestion)
        self.schedule()

    def schedule(self) -> None:
        self.job = netsvc.Job(self.produce)
        self.job.schedule(netsvc.STANDARD_JOB)

    def produce(self) -> None:
        self.job = None
        part = self.PART[:self.left]
        self.left -= len(part)
        self.sendContent(part)
        self.flushContent()
        if self.left:
            self.schedule()
        else:
            self.endContent()

    def congestion(self, status: int, pending: int) -> None:
        if status == netsvc.CONNECTION_BLOCKED and self.job is not None:
            self.job.cancel()
            self.job = None
        elif status == netsvc.CONNECTION_CLEARED and self.job is None and self.left:
            self.schedule()

    def destroyServlet(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job = None
        super().destroyServlet()


class Servers(netsvc.HttpServer):
    def __init__(self, servlet: type) -> None:
        self._servlet = servlet

    def servlet(self, session: Any) -> Any:
        return self._servlet(session)


def writeFiles(directory: str) -> str:
    for name, data in FILES.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    return directory


def mounts(directory: str) -> dict[str, Any]:
    """
    What a hostile-traffic daemon serves; C{directory} gets L{FILES}.
    """
    files = netsvc.FileServer(writeFiles(directory))
    files.index("index.html")
    return {
        "/": Servers(BodyReport),
        "/form": Servers(FormReport),
        "/files": files,
        "/stream": Servers(Stream),
        "/echo": Servers(netsvc.EchoServlet),
    }


def disconnectingClients():
    """
    Raw requests whose clients go away mid-stream, by kind: the bytes to
    send, and whether to pause reading (block) before hanging up.
    """
    boundary = b"leak"
    multipart = (b"--leak\r\nContent-Disposition: form-data; name=\"f\"; "
                 b"filename=\"f.bin\"\r\n\r\n" + b"u" * 8192)
    return {
        "stream": (b"GET /stream/?size=1048576 HTTP/1.1\r\nHost: x\r\n\r\n", False),
        "stream-blocked": (b"GET /stream/?size=1048576 HTTP/1.1\r\nHost: x\r\n\r\n", True),
        "body": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                 + b"b" * 30000, False),
        "chunked": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"1000\r\n" + b"c" * 4096 + b"\r\n", False),
        "upload": (b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                   b"boundary=" + boundary + b"\r\nContent-Length: 100000\r\n\r\n"
                   + multipart, False),
        "file": (b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n", False),
        "file-blocked": (b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n", True),
        "keep-alive": (b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\n\r\nGET / HT", False),
        "head-only": (b"GET /stream/ HTTP/1.1\r\nHost: x\r\nX-Partial: ", False),
    }


class LogWatch:
    """
    Collects twisted.logger events above warning (and any failure) while
    installed on the global publisher.
    """

    def __init__(self) -> None:
        self.events: list[dict] = []

    def __call__(self, event: dict) -> None:
        level = event.get("log_level", LogLevel.info)
        if level > LogLevel.warn or "log_failure" in event:
            self.events.append(event)

    def __enter__(self) -> LogWatch:
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        globalLogPublisher.removeObserver(self)

    def describe(self) -> list[str]:
        from twisted.logger import formatEvent

        return [formatEvent(e) + ("\n" + e["log_failure"].getTraceback()
                                  if "log_failure" in e else "")
                for e in self.events]
