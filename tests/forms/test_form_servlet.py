"""FormServlet over real sockets: methods and lengths, url-encoded and
multipart bodies sent by a real client library, limits, errors."""

import hashlib
import json
import socket

import pytest_twisted
import requests
from twisted.internet import threads

import netsvc_twisted as netsvc
from netsvc_twisted._forms._fields import UploadedFile
from netsvc_twisted._forms._servlet import FormServlet

from support import TIMEOUT, fetch, startDaemon

CLOSED = []


def describe(value):
    if isinstance(value, list):
        return [describe(v) for v in value]
    if isinstance(value, UploadedFile):
        CLOSED.append(value.file)
        data = value.file.read()
        return {"filename": value.filename, "type": value.content_type,
                "size": value.size, "sha256": hashlib.sha256(data).hexdigest(),
                "len": len(data)}
    return value


class Show(FormServlet):
    """Answers with the decoded fields as JSON."""

    def handleRequest(self):
        body = json.dumps({name: describe(value)
                           for name, value in self.fields().items()},
                          sort_keys=True).encode()
        assert self.containsField("nothing") is False
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/json")
        self.sendHeader("Content-Length", str(len(body)))
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


class Small(Show):
    _maximumBodySize = 1000
    _maximumFieldCount = 3
    _maximumFieldSize = 20


class Server(netsvc.HttpServer):
    def __init__(self, servletClass):
        self.servletClass = servletClass

    def servlet(self, session):
        return self.servletClass(session)


async def serve(daemons, servletClass=Show):
    daemon = await startDaemon({"/": Server(servletClass)})
    daemons.append(daemon)
    return daemon.port()


def fields(reply):
    assert reply.status == 200, reply.body
    return json.loads(reply.body)


def post(port, path="/", **kwargs):
    return threads.deferToThread(
        requests.post, "http://127.0.0.1:%d%s" % (port, path), timeout=TIMEOUT,
        **kwargs)


def rawResponse(port, data):
    """Send raw bytes; read one response (by its Content-Length)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(data)
        buffered = b""
        while b"\r\n\r\n" not in buffered:
            chunk = s.recv(65536)
            if not chunk:
                return buffered
            buffered += chunk
        head, _, body = buffered.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


def statusOf(raw):
    return int(raw.split(b" ", 2)[1])


@pytest_twisted.ensureDeferred
async def test_get_query(daemons):
    port = await serve(daemons)
    reply = await fetch(port, path="/?a=1&b=&a=2&c=%2F+x")
    assert fields(reply) == {"a": ["1", "2"], "b": "", "c": "/ x"}
    assert fields(await fetch(port, path="/")) == {}


@pytest_twisted.ensureDeferred
async def test_get_query_non_ascii(daemons):
    port = await serve(daemons)
    reply = await fetch(port, path="/?c=%C3%A9+x")
    assert fields(reply) == {"c": "é x"}
    assert (await fetch(port, path="/?a=%FF")).status == 400


@pytest_twisted.ensureDeferred
async def test_methods_and_lengths(daemons):
    port = await serve(daemons)
    for method in ("PUT", "HEAD", "DELETE"):
        assert (await fetch(port, method, "/")).status == 501
    raw = await threads.deferToThread(
        rawResponse, port, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert statusOf(raw) == 400 and b"Content length required" in raw
    raw = await threads.deferToThread(
        rawResponse, port,
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    assert statusOf(raw) == 400 and b"Unexpected content length" in raw
    raw = await threads.deferToThread(
        rawResponse, port, b"GET / HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert statusOf(raw) == 400


@pytest_twisted.ensureDeferred
async def test_post_urlencoded_merges_query(daemons):
    port = await serve(daemons)
    reply = await post(port, "/?q=1&a=query", data={"a": "body", "u": "Zoë"})
    assert reply.json() == {"a": ["query", "body"], "q": "1", "u": "Zoë"}
    reply = await post(port, data=b"",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.json() == {}


@pytest_twisted.ensureDeferred
async def test_post_chunked(daemons):
    port = await serve(daemons)

    def pieces():
        yield b"user=fr"
        yield b"ed&pass"
        yield b"word=s%20cret"

    reply = await post(port, data=pieces(), headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert reply.json() == {"user": "fred", "password": "s cret"}


@pytest_twisted.ensureDeferred
async def test_multipart_upload_from_requests(daemons):
    port = await serve(daemons)
    data = bytes(range(256)) * 4000  # ~1 MiB, spooled to disk
    reply = await post(port, "/?from=query", data={"title": "Grüße", "n": ["1", "2"]},
                       files={"upload": ("naïve файл.bin", data, "application/x-demo"),
                              "small": ("s.txt", b"tiny")})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "from": "query", "title": "Grüße", "n": ["1", "2"],
        "upload": {"filename": "naïve файл.bin", "type": "application/x-demo",
                   "size": len(data), "len": len(data),
                   "sha256": hashlib.sha256(data).hexdigest()},
        "small": {"filename": "s.txt", "type": "application/octet-stream", "size": 4,
                  "len": 4, "sha256": hashlib.sha256(b"tiny").hexdigest()},
    }
    # The spooled files went with the servlet.
    assert CLOSED and all(f.closed for f in CLOSED)


@pytest_twisted.ensureDeferred
async def test_other_body_type_gives_no_fields(daemons):
    port = await serve(daemons)
    reply = await post(port, data=b'{"a": 1}',
                       headers={"Content-Type": "application/json"})
    assert reply.json() == {}


@pytest_twisted.ensureDeferred
async def test_limits(daemons):
    port = await serve(daemons, Small)
    reply = await post(port, data={"a": "x" * 20})
    assert reply.status_code == 200
    reply = await post(port, data={"a": "x" * 21})
    assert reply.status_code == 413
    reply = await post(port, data={"a": "1", "b": "2", "c": "3", "d": "4"})
    assert reply.status_code == 400 and "Too many" in reply.text
    reply = await post(port, files={"f": ("f.bin", b"z" * 2000)})
    assert reply.status_code == 413
    # A declared length beyond the limit is refused before the body.
    raw = await threads.deferToThread(
        rawResponse, port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
    assert statusOf(raw) == 413


@pytest_twisted.ensureDeferred
async def test_malformed_and_undecodable(daemons):
    port = await serve(daemons)
    reply = await post(port, data=b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx",
                       headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert reply.status_code == 400
    reply = await post(port, data=b"junk",
                       headers={"Content-Type": "multipart/form-data"})
    assert reply.status_code == 400
    reply = await post(port, data=b"a=%FF",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 400
    # The charset can be declared, though.
    reply = await post(port, data=b"a=%FF", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=latin-1"})
    assert reply.json() == {"a": "ÿ"}


@pytest_twisted.ensureDeferred
async def test_default_handle_request_is_501(daemons):
    port = await serve(daemons, FormServlet)
    assert (await fetch(port, path="/?a=1")).status == 501
    reply = await post(port, data={"a": "1"})
    assert reply.status_code == 501
