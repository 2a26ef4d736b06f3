"""
WSGI hosting (spec 8.2) through the daemon: the environ, start_response
rules of PEP 3333, errors, bodies, and a real Flask application.
"""

import json
import sys

import pytest
import pytest_twisted

from netsvc_twisted._hosting._wsgi import WsgiServer, pathInfo
from support import fetch, startDaemon


def environApp(environ, start_response):
    body = environ["wsgi.input"].read()
    keys = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR", "REQUEST_METHOD",
            "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT",
            "SERVER_PROTOCOL", "HTTP_X_TEST", "REMOTE_USER"]
    data = {k: environ.get(k) for k in keys}
    data["multithread"] = environ["wsgi.multithread"]
    data["version"] = list(environ["wsgi.version"])
    data["body"] = body.decode()
    data["hasHttpContentType"] = "HTTP_CONTENT_TYPE" in environ
    out = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]


def errorApp(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/before":
        raise RuntimeError("before")
    if path == "/retry":
        start_response("200 OK", [])
        try:
            raise ValueError("x")
        except ValueError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]
    if path == "/twice":
        start_response("200 OK", [])
        start_response("200 OK", [])
        return [b"never"]
    if path == "/after":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"part"
            raise RuntimeError("after")
        return gen()
    if path == "/stream":
        write = start_response("201 Made", [("Content-Type", "text/plain")])
        write(b"a")
        return iter([b"", b"b", b"c"])
    start_response("404 Not Found", [])
    return []


class Closing:
    closed = []

    def __init__(self, environ, start_response):
        start_response("200 OK", [])

    def __iter__(self):
        yield b"x"

    def close(self):
        Closing.closed.append(True)


async def serve(daemons, servers):
    daemon = await startDaemon(servers)
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_environ(daemons):
    port = await serve(daemons, {"/app": WsgiServer(environApp), "/": WsgiServer(environApp)})
    reply = await fetch(port, "POST", "/app/a/b%20c/?x=1&y=%20", b"hello",
                        {"X-Test": "t", "Content-Type": "text/plain"})
    assert reply.status == 200
    env = json.loads(reply.body)
    assert env["SCRIPT_NAME"] == "/app"
    assert env["PATH_INFO"] == "/a/b c/"
    assert env["QUERY_STRING"] == "x=1&y=%20"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REQUEST_METHOD"] == "POST"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == "5"
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(port)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["HTTP_X_TEST"] == "t"
    assert env["multithread"] is True
    assert env["version"] == [1, 0]
    assert env["body"] == "hello"
    assert env["hasHttpContentType"] is False
    env = json.loads((await fetch(port, "GET", "/app")).body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "")
    # PEP 3333: below the mount, PATH_INFO starts with "/".
    env = json.loads((await fetch(port, "GET", "/app/")).body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/")
    env = json.loads((await fetch(port, "GET", "/app/x/")).body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/x/")
    env = json.loads((await fetch(port, "GET", "/")).body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/")
    env = json.loads((await fetch(port, "GET", "/x/y")).body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/x/y")

    def chunks():
        yield b"ab"
        yield b"cd"

    env = json.loads((await fetch(port, "PUT", "/app", chunks())).body)
    assert (env["body"], env["CONTENT_LENGTH"]) == ("abcd", "4")


@pytest_twisted.ensureDeferred
async def test_responses(daemons):
    port = await serve(daemons, {"/e": WsgiServer(errorApp), "/c": WsgiServer(Closing)})
    reply = await fetch(port, "GET", "/e/before")
    assert reply.status == 500
    reply = await fetch(port, "GET", "/e/retry")
    assert (reply.status, reply.reason, reply.body) == (500, "Oops", b"replaced")
    reply = await fetch(port, "GET", "/e/twice")
    assert reply.status == 500
    reply = await fetch(port, "GET", "/e/stream")
    assert (reply.status, reply.reason, reply.body) == (201, "Made", b"abc")
    with pytest.raises(Exception):
        await fetch(port, "GET", "/e/after")
    reply = await fetch(port, "GET", "/c")
    assert reply.body == b"x"
    assert Closing.closed == [True]


@pytest_twisted.ensureDeferred
async def test_bodyLimit(daemons):
    server = WsgiServer(environApp)
    port = await serve(daemons, {"/app": server})
    import netsvc_twisted._hosting._wsgi as wsgi

    old = wsgi.WsgiServlet.maximumContentLength
    wsgi.WsgiServlet.maximumContentLength = 10
    try:
        reply = await fetch(port, "POST", "/app", b"x" * 11)
        assert reply.status == 413
    finally:
        wsgi.WsgiServlet.maximumContentLength = old


def test_pathInfoBelowNestedAndRebound():
    assert pathInfo("/a/b/", "/a/b", "") == "/"
    assert pathInfo("/a/b", "/a/b", "") == ""
    assert pathInfo("/a/bc", "/a", "bc") == "/bc"
    assert pathInfo("/", "/", "") == "/"
    # A server that rebound the servlet path elsewhere is believed.
    assert pathInfo("/elsewhere", "/a", "x/y") == "/x/y"
    assert pathInfo("/elsewhere", "/a", "") == ""


@pytest_twisted.ensureDeferred
async def test_flask(daemons):
    import flask
    app = flask.Flask("netsvc_test_app")

    @app.get("/hello")
    def hello():
        return {"name": flask.request.args.get("name"), "root": flask.request.script_root,
                "url": flask.url_for("hello")}

    @app.post("/form")
    def form():
        return f"{flask.request.form['a']}+{flask.request.form.getlist('b')}"

    @app.get("/")
    def root():
        return "root"

    port = await serve(daemons, {"/flask": WsgiServer(app)})
    # The example of docs/howto/wsgi.md: no redirect to itself.
    reply = await fetch(port, "GET", "/flask/")
    assert (reply.status, reply.body) == (200, b"root")
    reply = await fetch(port, "GET", "/flask/hello?name=J%20rgen")
    assert reply.status == 200
    assert json.loads(reply.body) == {"name": "J rgen", "root": "/flask", "url": "/flask/hello"}
    reply = await fetch(port, "POST", "/flask/form", b"a=%C3%A9&b=1&b=2",
                        {"Content-Type": "application/x-www-form-urlencoded"})
    assert (reply.status, reply.body.decode()) == (200, "é+['1', '2']")
    reply = await fetch(port, "GET", "/flask/missing")
    assert reply.status == 404
    reply = await fetch(port, "GET", "/flask/form")
    assert reply.status == 405


def bigApp(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    block = b"z" * 65536
    return (block for _ in range(256))


@pytest_twisted.ensureDeferred
async def test_largeStream(daemons):
    """16 MiB through congestion pauses arrives whole."""
    port = await serve(daemons, {"/big": WsgiServer(bigApp)})
    reply = await fetch(port, "GET", "/big")
    assert len(reply.body) == 256 * 65536
