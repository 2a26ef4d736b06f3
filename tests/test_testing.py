# -*- test-case-name: tests.test_testing -*-
"""
The testing helpers users get: the worked example of
C{netsvc_twisted.testing} runs as written, the in-memory helpers added for
the docs, and the C{netsvc_daemon} pytest fixture, in this process and as
a plugin loaded by a separate pytest run.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap

import pytest
import pytest_twisted

import netsvc_twisted as netsvc
from netsvc_twisted import testing
from netsvc_twisted.testing import MemoryDaemon
from support import fetch

PLUGIN = "netsvc_twisted.pytest_plugin"


def codeBlock(docstring: str) -> str:
    """The first C{::} literal block of a docstring."""
    lines = docstring.split("::\n", 1)[1].splitlines()
    block = []
    for line in lines:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def test_worked_example_of_the_module_docstring():
    namespace: dict = {}
    exec(codeBlock(testing.__doc__), namespace)
    namespace["test_later"]()


class Counter(netsvc.HttpServlet):
    """Streams parts from a job that reschedules itself: never settles."""

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.job = netsvc.Job(self.more)
        self.job.schedule()

    def more(self):
        self.sendContent("x")
        self.job.schedule()


def test_settle_gives_up_on_endless_work():
    with MemoryDaemon.forServlet(Counter) as daemon:
        daemon.connect().request()
        with pytest.raises(RuntimeError, match="still busy after 50 turns"):
            daemon.settle(maxTurns=50)


def test_for_servlet_mounts_at_a_path_and_disconnect_destroys():
    destroyed = []

    class Quiet(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.endHeaders()

        def destroyServlet(self):
            destroyed.append(self.servletPath())
            netsvc.HttpServlet.destroyServlet(self)

    with MemoryDaemon.forServlet(Quiet, "/app") as daemon:
        assert daemon.request("GET", "/elsewhere").status == 404
        connection = daemon.connect()
        connection.request("GET", "/app/x")
        assert destroyed == []
        connection.disconnect()
        assert destroyed == ["x"]


class Hello(netsvc.HttpServer):
    def servlet(self, session):
        return HelloServlet(session)


class HelloServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("Hi there.")
        self.endContent()


@pytest_twisted.ensureDeferred
async def test_netsvc_daemon_fixture(netsvc_daemon):
    netsvc_daemon.attach("/", Hello())
    reply = await fetch(netsvc_daemon.port(), "GET", "/")
    assert (reply.status, reply.body) == (200, b"Hi there.")


def test_fixture_as_a_plugin_of_another_pytest_run(tmp_path):
    """
    What a user's project sees: the fixture without an import, from the
    pytest11 entry point of the installed package.
    """
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import urllib.request
        import pytest_twisted
        from twisted.internet import threads
        import netsvc_twisted as netsvc

        class Hello(netsvc.HttpServer):
            def servlet(self, session):
                return netsvc.EchoServlet(session)

        @pytest_twisted.ensureDeferred
        async def test_echo(netsvc_daemon):
            netsvc_daemon.attach("/", Hello())
            url = f"http://127.0.0.1:{netsvc_daemon.port()}/x"
            body = await threads.deferToThread(
                lambda: urllib.request.urlopen(url, timeout=20).read())
            assert b"HTTP Echo Server" in body

        def test_stopped_after_the_test(netsvc_daemon):
            pass
    '''))
    assert [
        entry.name for entry in importlib.metadata.entry_points(group="pytest11")
        if entry.value == PLUGIN
    ] == ["netsvc_twisted"], "the pytest11 entry point is missing: reinstall the project"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


# Issue 14: the helpers a first app's tests missed.

EXAMPLE_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "examples", "testing")


class Upload(netsvc.FormServlet):
    def handleRequest(self):
        photo = self.field("photo")
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent(json.dumps({
            "user": self.field("user"),
            "tags": self.field("tag"),
            "photo": [photo.filename, photo.content_type, photo.read().decode()],
            "note": [self.field("note").filename, self.field("note").content_type],
        }))
        self.endContent()


def test_encode_multipart_reaches_form_servlet_fields():
    body, contentType = testing.encodeMultipart([
        ("user", "zoë"),
        ("tag", "a"), ("tag", b"b"),
        ("photo", ("c\"at.png", "PNG…", "image/png")),
        ("note", ("n.txt", b"x")),
    ])
    assert contentType.startswith("multipart/form-data; boundary=netsvc-")
    with MemoryDaemon.forServlet(Upload) as daemon:
        reply = daemon.request("POST", "/", body, {"Content-Type": contentType})
    assert reply.status == 200, reply
    assert json.loads(reply.body) == {
        "user": "zoë", "tags": ["a", "b"],
        "photo": ["c%22at.png", "image/png", "PNG…"],
        "note": ["n.txt", "application/octet-stream"],
    }


def test_memory_daemon_hosts_a_site_with_mounted_servers():
    from twisted.web.resource import Resource

    class Home(Resource):
        isLeaf = True

        def render_GET(self, request):
            return b"home"

    class Where(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.endHeaders()
            self.job = netsvc.Job(self.answer)
            self.job.schedule()

        def answer(self):
            self.sendContent(f"{self.serverPath()} {self.servletPath()}")
            self.endContent()

    root = Resource()
    root.putChild(b"", Home())
    root.putChild(b"app", netsvc.ServletResource(testing.servletServer(Where)))
    with MemoryDaemon.forResource(root) as daemon:
        assert daemon.request("GET", "/").body == b"home"
        connection = daemon.connect()
        connection.request("GET", "/app/x/y")
        daemon.settle()
        assert connection.reply().body == b"/app x/y"
        with pytest.raises(TypeError, match="putChild"):
            daemon.attach("/other", testing.servletServer(Where))


def _docstringExample() -> dict:
    namespace: dict = {}
    exec(codeBlock(testing.__doc__), namespace)
    return namespace


#: The servlet of the module docstring: it answers from a job.
Later = _docstringExample()["Later"]


def test_jobs_outside_the_with_block_are_explained():
    daemon = MemoryDaemon.forServlet(Later)
    try:
        with pytest.raises(AssertionError) as raised:
            daemon.request("GET", "/")
    finally:
        netsvc.Dispatcher().reset()  # the job the test never ran
    message = str(raised.value)
    assert message.startswith("no complete response to GET / (received so far: b'HTTP/1.1 200")
    assert "1 job(s) wait on the process's event loop" in message
    assert "with MemoryDaemon(...) as daemon:" in message and "daemon.settle()" in message


def test_jobs_not_settled_and_timers_not_advanced_are_explained():
    class Timer(netsvc.HttpServlet):
        def processRequest(self):
            self.timer = netsvc.Agent()
            self.timer.startTimer(self.answer, 2.5)

        def answer(self):
            self.sendResponse(204)
            self.endHeaders()
            self.endContent()

    with MemoryDaemon.forServlet(Later) as daemon:
        connection = daemon.connect()
        connection.request()
        with pytest.raises(AssertionError, match=r"due now: call daemon\.settle\(\) first"):
            connection.reply()
        daemon.settle()
        assert connection.reply().body == b"done"
    with MemoryDaemon.forServlet(Timer) as daemon:
        connection = daemon.connect()
        connection.request()
        with pytest.raises(AssertionError, match=r"nothing received\); a timer is due in "
                           r"2\.5 s: call daemon\.clock\.advance\(2\.5\) first"):
            connection.reply()
        daemon.clock.advance(2.5)
        assert connection.reply().status == 204


def test_reply_keeps_the_pipelined_rest():
    with MemoryDaemon.forServlet(HelloServlet) as daemon:
        connection = daemon.connect()
        connection.request()
        connection.request()
        assert connection.reply().body == b"Hi there."
        assert [reply.body for reply in connection.replies()] == [b"Hi there."]


def test_trial_example_of_the_docs_runs_under_trial(tmp_path):
    """docs/howto/testing.md's trial example, netsvcDaemon included."""
    run = subprocess.run(
        [sys.executable, "-m", "twisted.trial",
         os.path.join(EXAMPLE_TESTS, "test_hello_trial.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED (successes=3)" in run.stdout, run.stdout


def test_pytest_example_of_the_docs_runs_under_pytest(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         os.path.join(EXAMPLE_TESTS, "test_hello_pytest.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout, run.stdout


def test_netsvc_daemon_fails_the_test_when_it_cannot_listen(tmp_path):
    """The helper's failure names the endpoint; the process is not ended."""
    from twisted.trial import unittest

    class Case(unittest.TestCase):
        def test(self):
            pass

    case = Case("test")
    failures = []
    testing.netsvcDaemon(case, "tcpp:0").addErrback(failures.append)
    [failure] = failures
    assert "could not listen on tcpp:0: Unknown endpoint type" in failure.getErrorMessage()
