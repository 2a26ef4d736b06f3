"""The manual's file-serving examples E1-E3 (spec 11), built by the
example programs' own build() and driven over real sockets."""

import os
import signal
import subprocess
import sys

import pytest_twisted


from support import LOCAL, TIMEOUT, fetch, started

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))



@pytest_twisted.ensureDeferred
async def test_e1_file_server(daemons, example, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"0123456789")
    port = await started(daemons, example("file_server.py")["build"](LOCAL, str(tmp_path)))
    reply = await fetch(port, path="/a.txt")
    assert (reply.status, reply.body, reply.headers["content-length"]) == (200, b"0123456789", "10")
    reply = await fetch(port, path="/missing")
    assert reply.status == 404 and b"<html" in reply.body.lower()


@pytest_twisted.ensureDeferred
async def test_e2_nested_file_servers(daemons, example, tmp_path):
    for directory in ("info", "logs"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "x").write_text("from " + directory)
    daemon = example("file_servers_nested.py")["build"](0, str(tmp_path))
    assert daemon.port() == 0
    port = await started(daemons, daemon)
    assert port != 0
    assert (await fetch(port, path="/x")).body == b"from info"
    assert (await fetch(port, path="/logs/x")).body == b"from logs"
    assert (await fetch(port, path="/logsx")).status == 404


@pytest_twisted.ensureDeferred
async def test_e3_file_server_options(daemons, example, tmp_path):
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "old.bak").write_text("old")
    (tmp_path / "page.html~").write_text("draft")
    (tmp_path / "both").mkdir()
    (tmp_path / "both" / "index.htm").write_text("htm")
    (tmp_path / "both" / "index.html").write_text("html")
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "index.html").write_text("html only")
    port = await started(daemons, example("file_server_options.py")["build"](LOCAL, str(tmp_path)))
    reply = await fetch(port, path="/code.py")
    assert (reply.headers["content-type"], reply.body) == ("text/plain", b"x = 1\n")
    # decisions.md: the first registered index that exists wins.
    assert (await fetch(port, path="/both/")).body == b"htm"
    assert (await fetch(port, path="/one/")).body == b"html only"
    assert (await fetch(port, path="/old.bak")).status == 404
    assert (await fetch(port, path="/page.html~")).status == 404


def test_e1_runs_as_a_program(tmp_path):
    """The program itself: starts, serves, stops on SIGINT."""
    (tmp_path / "a.txt").write_text("program")
    env = dict(os.environ, PYTHONPATH=ROOT)
    child = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "examples", "file_server.py"), "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert "http://localhost:" in line, child.stderr.read() if not line else line
        port = int(line.rsplit(":", 1)[1].strip("/\n"))
        import http.client
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("GET", "/a.txt")
        assert connection.getresponse().read() == b"program"
        connection.close()
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=TIMEOUT)
