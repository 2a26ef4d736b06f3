"""
Core bugs that hostile input found, each pinned in memory so the test
names the input and fails without the fix.
"""

import pytest
from twisted.logger import LogLevel

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon


class Hello(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent("hello")
        self.endContent()


class HelloServer(netsvc.HttpServer):
    def servlet(self, session):
        return Hello(session)


@pytest.mark.parametrize("target", [
    b"http://[::1/", b"http://]x/", b"http://a[b/", b"http://[x]/",
])
def test_absolute_form_with_unparseable_host_is_400(target, logEvents):
    """
    urlsplit() raises ValueError on these hosts; it escaped the channel,
    so Twisted logged an unhandled error and dropped the connection.  Now
    the head parser refuses them first, and closes.
    """
    connection = MemoryDaemon({"/": HelloServer()}).connect()
    connection.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [r.status for r in connection.replies()] == [400]
    assert connection.transport.disconnecting
    assert not [e for e in logEvents if e.get("log_level", LogLevel.info) > LogLevel.warn]


class Fields(netsvc.FormServlet):
    def handleRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent(repr(self.fields()))
        self.endContent()


class FieldsServer(netsvc.HttpServer):
    def servlet(self, session):
        return Fields(session)


@pytest.mark.parametrize("charset", ["idna", "undefined"])
def test_form_charset_whose_codec_raises_unicode_error_is_400(charset, logEvents):
    """
    These codecs raise UnicodeError, not UnicodeDecodeError, on bad bytes;
    the form decoder let it through as a servlet exception and a 500.
    """
    reply = MemoryDaemon({"/": FieldsServer()}).request(
        "POST", "/", b"a=xn--",
        {"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"})
    assert reply.status == 400
    assert not [e for e in logEvents if e.get("log_level", LogLevel.info) > LogLevel.warn]


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 40,  # in the headers
    b"GET /" + b"a" * 40,  # in the request line
])
def test_a_trickled_head_is_timed_out(head, logEvents):
    """
    Twisted restarts its idle timeout on every byte, so a head sent a
    byte at a time (slowloris) kept its connection open for ever.
    """
    daemon = MemoryDaemon({"/": HelloServer()},
                          netsvc.HttpDaemon(8000, idleTimeout=10))
    connection = daemon.connect()
    for i in range(len(head)):
        if connection.closed:
            break
        connection.send(head[i:i + 1])
        daemon.clock.advance(1)
    assert connection.closed
    assert 10 <= daemon.clock.seconds() <= 11
    assert not [e for e in logEvents if e.get("log_level", LogLevel.info) > LogLevel.warn]


def test_heads_completing_in_time_are_served_one_after_another():
    daemon = MemoryDaemon({"/": HelloServer()}, netsvc.HttpDaemon(8000, idleTimeout=10))
    connection = daemon.connect()
    for _ in range(5):
        head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(0, len(head), 4):
            connection.send(head[i:i + 4])
            daemon.clock.advance(1)
    assert [r.status for r in connection.replies()] == [200] * 5
    assert not connection.closed
