"""
What a FormServlet holds in memory, in memory (MemoryDaemon): the text
limit (413), uploads spooled to disk past the submission's memory or
when the process's budget is short, 503 with Retry-After when the budget
is spent, and every byte given back however the request ends.
"""

import json

import pytest

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon

B = "memB"
MULTIPART = "multipart/form-data; boundary=" + B


def part(name, value, filename=None):
    disposition = 'form-data; name="%s"' % name
    if filename is not None:
        disposition += '; filename="%s"' % filename
    return ("--%s\r\nContent-Disposition: %s\r\n\r\n" % (B, disposition)).encode() \
        + value + b"\r\n"


def multipart(*parts):
    return b"".join(parts) + ("--%s--\r\n" % B).encode()


class Report(netsvc.FormServlet):
    """Answers with each field: text length, or where the upload is."""

    _maximumMemorySize = 100
    _spoolThreshold = 64

    def handleRequest(self):
        report = {}
        for name, value in self.fields().items():
            if isinstance(value, netsvc.UploadedFile):
                report[name] = {"size": value.size, "onDisk": value.file._rolled,
                                "data": value.read().decode(),
                                "disposition": value.headers["content-disposition"]}
            else:
                report[name] = len(value)
        body = json.dumps(report).encode()
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/json")
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


@pytest.fixture
def daemon(budget):
    return MemoryDaemon.forServlet(Report)


def post(daemon, body, contentType=MULTIPART):
    return daemon.request("POST", "/", body, {"Content-Type": contentType})


def test_text_within_the_memory_limit(daemon):
    reply = post(daemon, multipart(part("a", b"x" * 50), part("b", b"y" * 50)))
    assert (reply.status, json.loads(reply.body)) == (200, {"a": 50, "b": 50})


def test_text_past_the_memory_limit_is_413(daemon):
    # The repro in small: many fields, each under the field limit.
    reply = post(daemon, multipart(*(part("f%d" % i, b"x" * 40) for i in range(63))))
    assert reply.status == 413
    assert b"Form text too large: over 100 bytes in all" in reply.body
    assert b"file uploads" in reply.body
    reply = post(daemon, b"a=" + b"x" * 60 + b"&b=" + b"%41" * 41,
                 "application/x-www-form-urlencoded")
    assert reply.status == 413
    reply = post(daemon, b"a=" + b"x" * 60 + b"&b=" + b"%41" * 40,
                 "application/x-www-form-urlencoded")
    assert (reply.status, json.loads(reply.body)) == (200, {"a": 60, "b": 40})


def test_uploads_spool_past_the_submission_memory(daemon):
    body = multipart(part("one", b"1" * 50, "1.bin"), part("two", b"2" * 50, "2.bin"),
                     part("three", b"3" * 50, "3.bin"), part("big", b"b" * 65, "b.bin"))
    reply = json.loads(post(daemon, body).body)
    # 100 bytes of uploads in memory at most; one upload 64 at most.
    assert [reply[name]["onDisk"] for name in ("one", "two", "three", "big")] == [
        False, False, True, True]
    assert reply["three"]["data"] == "3" * 50 and reply["big"]["size"] == 65


def test_utf8_filename_in_headers(daemon):
    name = "naïve файл.bin"
    reply = post(daemon, multipart(part("f", b"data", name)))  # sent as UTF-8
    upload = json.loads(reply.body)["f"]
    assert upload["disposition"] == 'form-data; name="f"; filename="%s"' % name


def test_503_with_retry_after_while_the_budget_is_spent(daemon, budget):
    budget.limit = budget.used + 60
    body = multipart(part("a", b"x" * 50))
    held = daemon.connect()
    held.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
              b"Content-Length: %d\r\n\r\n" % (MULTIPART.encode(), len(body)) + body[:-20])
    assert budget.used == 42 and held.replies() == []
    # Text that does not fit: 503 mid-body.
    reply = post(daemon, multipart(part("b", b"y" * 20)))
    assert reply.status == 503 and reply.header("retry-after") == "1"
    # Uploads do not need the memory: spooled instead.
    reply = post(daemon, multipart(part("f", b"z" * 20, "f.bin")))
    assert json.loads(reply.body)["f"]["onDisk"] is True
    budget.limit = budget.used
    reply = post(daemon, multipart(part("b", b"y")))
    assert reply.status == 503 and reply.header("retry-after") == "1"
    # A GET's query is not a body: served.
    reply = daemon.request("GET", "/?q=1")
    assert (reply.status, json.loads(reply.body)) == (200, {"q": 1})
    budget.limit = 60
    held.send(body[-20:])
    [done] = held.replies()
    assert json.loads(done.body) == {"a": 50}


@pytest.mark.parametrize("ending", ["413", "400", "gone", "handled"])
def test_every_ending_gives_the_memory_back(daemon, budget, ending):
    connection = daemon.connect()
    body = multipart(part("a", b"x" * 30), part("f", b"f" * 30, "f.bin"))
    if ending == "413":
        body = multipart(*(part("f%d" % i, b"x" * 40) for i in range(5)))
    elif ending == "400":
        body = body.replace(b"--%s--" % B.encode(), b"--%s" % B.encode())
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (MULTIPART.encode(), len(body) + (100 if ending == "gone" else 0)))
    connection.send(head + body)
    if ending == "gone":
        assert budget.used > 0
        connection.disconnect()
    else:
        [reply] = connection.replies()
        assert reply.status == {"413": 413, "400": 400, "handled": 200}[ending]
    # The budget fixture checks that nothing is held any more.
