"""
The access log file: combined format, values a client controls escaped as
Apache does, lines batched off the request path but complete and in order
once flushed (within a second, or when the daemon stops).
"""

import re

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon


class Hello(netsvc.HttpServer):
    def servlet(self, session):
        return netsvc.ErrorServlet(session, 204)


def logged(tmp_path, requests):
    path = tmp_path / "access.log"
    with MemoryDaemon() as memory:
        daemon = netsvc.HttpDaemon(8000, accessLog=str(path), reactor=memory.clock)
        memory = MemoryDaemon({"/": Hello()}, daemon=daemon, clock=memory.clock)
        for method, target, headers in requests:
            memory.request(method, target, headers=headers)
        daemon.site.accessLog.flush()
        return path.read_bytes().decode("ascii").splitlines()


def test_lines_are_escaped_as_apache_does(tmp_path):
    # Twisted refuses most control bytes in a head; a tab, quotes,
    # backslashes and bytes beyond ASCII get as far as the log.
    [line] = logged(tmp_path, [
        ("GET", '/a%20b?q="x"', {"User-Agent": 'tab\there "agent" \\ \u00e9',
                                   "Referer": "http://r/\u00ff"}),
    ])
    assert re.fullmatch(
        r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
        r'"GET /a%20b\?q=\\"x\\" HTTP/1\.1" 204 - '
        r'"http://r/\\xff" "tab\\x09here \\"agent\\" \\\\ \\xe9"', line), line


def test_lines_wait_for_a_batch_or_a_flush_and_keep_their_order(tmp_path):
    path = tmp_path / "access.log"
    with MemoryDaemon() as memory:
        daemon = netsvc.HttpDaemon(8000, accessLog=str(path), reactor=memory.clock)
        log = daemon.site.accessLog
        log.batch = 3
        memory = MemoryDaemon({"/": Hello()}, daemon=daemon, clock=memory.clock)
        for i in range(5):
            memory.request("GET", f"/{i}")
        # The first three were formatted together; two wait for flush().
        assert len(log._pending) == 2
        log.flush()
    lines = path.read_text().splitlines()
    assert [line.split('"')[1] for line in lines] == [f"GET /{i} HTTP/1.1" for i in range(5)]


def test_stop_writes_what_is_pending(tmp_path):
    path = tmp_path / "access.log"
    with MemoryDaemon() as memory:
        daemon = netsvc.HttpDaemon(8000, accessLog=str(path), reactor=memory.clock)
        MemoryDaemon({"/": Hello()}, daemon=daemon, clock=memory.clock).request("GET", "/x")
        assert path.read_bytes() == b""
        memory.clock.advance(1.0)  # the flush timer
        assert b'"GET /x HTTP/1.1" 204' in path.read_bytes()
