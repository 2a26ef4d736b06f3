# -*- test-case-name: tests.test_testing -*-
"""
The testing helpers users get: the worked example of
C{netsvc_twisted.testing} runs as written, the in-memory helpers added for
the docs, and the C{netsvc_daemon} pytest fixture, in this process and as
a plugin loaded by a separate pytest run.
"""

from __future__ import annotations

import importlib.metadata
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
