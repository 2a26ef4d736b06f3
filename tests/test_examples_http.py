"""
The manual's HTTP examples (E4-E7, E9-E11) under examples/, ported to
Python 3: each is loaded and served, in memory or over 127.0.0.1.
"""

import runpy
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest_twisted

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon, parseResponses
from support import TIMEOUT, exchange, fetch, freePort, startDaemon

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))


def test_e9_hello():
    example = load("hello")
    daemon = MemoryDaemon({"/": example["HttpServer"]()})
    reply = daemon.request("GET", "/")
    assert (reply.status, reply.body) == (200, b"Hi there.")
    assert reply.header("content-type") == "text/plain"
    assert reply.header("content-length") == "9"
    post = daemon.request("POST", "/", b"x")
    assert post.status == 400 and b"400 Bad Request" in post.body


def test_e9_hello_runs_standalone_and_stops_on_sigterm():
    port = freePort()
    child = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "hello.py"), str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert "Serving on" in child.stdout.readline()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := c.recv(4096):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"Hi there.")
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=TIMEOUT) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


@pytest_twisted.ensureDeferred
async def test_e4_host_authorisation(daemons):
    example = load("host_authorisation")
    allowed = await startDaemon({"/": example["EchoServer"]()},
                                daemonClass=example["HttpDaemon"])
    daemons.append(allowed)
    reply = await fetch(allowed.port(), "GET", "/x")
    assert reply.status == 200 and b"HTTP Echo Server" in reply.body

    class Elsewhere(example["HttpDaemon"]):
        allowed = ["192.0.2.1"]

    refused = await startDaemon({"/": example["EchoServer"]()}, daemonClass=Elsewhere)
    daemons.append(refused)
    assert await exchange(refused.port(), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""


def test_e5_user_authorisation(tmp_path):
    (tmp_path / "page.txt").write_text("members only")
    example = load("user_authorisation")
    daemon = MemoryDaemon({"/": example["FileServer"](str(tmp_path))})
    anonymous = daemon.request("GET", "/page.txt")
    assert anonymous.status == 401
    assert anonymous.header("www-authenticate") == 'Basic realm=""'
    wrong = daemon.request("GET", "/page.txt", headers={"Authorization": "Basic YWRtaW46bm8="})
    assert wrong.status == 401
    right = daemon.request("GET", "/page.txt",
                           headers={"Authorization": "Basic YWRtaW46c2VjcmV0"})
    assert (right.status, right.body) == (200, b"members only")


def test_e6_custom_server():
    example = load("custom_server")
    daemon = MemoryDaemon({"/test": example["HttpServer"]()})
    echo = daemon.request("GET", "/test/echo")
    assert echo.status == 200 and b"Servlet-Path: echo" in echo.body
    assert b"Server-Path: /test" in echo.body
    assert daemon.request("GET", "/test/hello").body == b"Hello from /test.\n"
    assert daemon.request("GET", "/test/unknown").status == 404
    # Nothing is mounted at the root.
    assert daemon.request("GET", "/echo").status == 404


def test_e7_redirect_and_echo():
    example = load("redirect_echo")
    daemon = MemoryDaemon({"/old": example["RedirectServer"](),
                           "/new": example["EchoServer"](),
                           "/moved": netsvc.RedirectServer("/new")})
    moved = daemon.request("GET", "/old/a/b", headers={"Host": "example.org:8080"})
    assert moved.status == 301
    assert moved.header("location") == "http://example.org:8080/new/a/b"
    subtree = daemon.request("GET", "/moved/x/y?q=1", headers={"Host": "h"})
    assert subtree.status == 301
    assert subtree.header("location") == "http://h/new/x/y?q=1"
    echo = daemon.request("POST", "/new/thing?z=9", b"the body")
    for item in (b"<TITLE>HTTP Echo Server</TITLE>", b"Servlet-Path: thing",
                 b"Query-String: z=9", b"Request-Method: POST",
                 b"<H1>Request Contents</H1>", b"the body", b"Raw Headers",
                 b"Processed Headers"):
        assert item in echo.body


def test_e10_headers_first_body_after_timer():
    example = load("delayed_response")
    with MemoryDaemon({"/": example["HttpServer"]()}) as daemon:
        connection = daemon.connect()
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = connection.received()
        assert head.startswith(b"HTTP/1.1 200 OK") and b"Hi there." not in head
        daemon.clock.advance(9.9)
        assert connection.received() == b""
        daemon.clock.advance(0.2)
        rest = connection.received()
        assert b"Hi there." in rest
        (reply,), _ = parseResponses(head + rest)
        assert (reply.status, reply.body) == (200, b"Hi there.")


def test_e11_disconnect_cancels_timer():
    example = load("delayed_response")
    destroyed = []

    class Servlet(example["HttpServlet"]):
        def destroyServlet(self):
            super().destroyServlet()
            destroyed.append(self.timerPending("timeout"))

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Servlet(session)

    with MemoryDaemon({"/": Server()}) as daemon:
        connection = daemon.connect()
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        connection.disconnect()
        assert destroyed == [False]
        daemon.clock.advance(20)  # the cancelled timer never fires
        assert destroyed == [False]
