# -*- test-case-name: tests.test_mounting -*-
"""
ServletResource mounted three ways, each from its example and over
127.0.0.1: in a plain Resource tree, under a Klein branch route, and as
a C{twistd web --resource-script}.
"""

from __future__ import annotations

import runpy
import signal
import subprocess
from pathlib import Path

import pytest_twisted
from twisted.internet.endpoints import serverFromString
from twisted.web.server import Site

from support import LOCAL, fetch, freePort
from test_twistd_plugin import get, twistd, waitForLog

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def load(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))


async def serve(root) -> tuple[int, object]:
    from twisted.internet import reactor

    port = await serverFromString(reactor, LOCAL).listen(Site(root))
    return port.getHost().port, port


def paths(body: bytes) -> tuple[str, str]:
    lines = body.decode().splitlines()
    return lines[0].split(": ", 1)[1], lines[1].split(": ", 1)[1]


@pytest_twisted.ensureDeferred
async def test_resource_tree():
    number, port = await serve(load("mount_resource")["build"]())
    try:
        page = await fetch(number, "GET", "/")
        assert page.body.startswith(b"A twisted.web site")
        reply = await fetch(number, "GET", "/app/x/y?z=1")
        assert reply.status == 200 and paths(reply.body) == ("/app", "x/y")
        assert reply.headers["content-type"] == "text/plain"
        assert paths((await fetch(number, "GET", "/app")).body) == ("/app", "")
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_klein_branch_route():
    app = load("mount_klein")["app"]
    number, port = await serve(app.resource())
    try:
        home = await fetch(number, "GET", "/")
        assert home.body.startswith(b"A Klein application")
        reply = await fetch(number, "GET", "/app/x/y")
        assert reply.status == 200 and paths(reply.body) == ("/app", "x/y")
        assert paths((await fetch(number, "GET", "/app/")).body) == ("/app", "")
    finally:
        await port.stopListening()


def test_twistd_web_resource_script(tmp_path):
    port = freePort()
    log = tmp_path / "twistd.log"
    child = subprocess.Popen(
        [*twistd(), "-n", "--pidfile=", f"--logfile={log}", "web",
         "--listen", f"tcp:{port}:interface=127.0.0.1",
         "--resource-script", str(EXAMPLES / "resource_script.py")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        waitForLog(log, r"Site .*starting on", child)
        status, body = get(port, "/app/x/y")
        assert status == 200 and paths(body) == ("/app", "x/y")
        assert get(port, "/")[1].startswith(b"A twisted.web site")
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
        # twistd (unlike a script that monitors SIGTERM) reports the signal
        # in its exit status after the clean shutdown.
        assert (child.returncode, err) == (-signal.SIGTERM, "")
        assert "Server Shut Down." in log.read_text()
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
