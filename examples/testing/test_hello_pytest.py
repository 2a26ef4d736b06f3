"""
Tests of examples/hello.py for pytest, in memory and over a real socket.

Run with ``python -m pytest examples/testing/test_hello_pytest.py``; the
socket test needs pytest-twisted (installed by the test extra).
"""

import os
import sys
import urllib.request

import pytest_twisted
from twisted.internet import threads

from netsvc_twisted.testing import MemoryDaemon

# The application under test: examples/hello.py.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from hello import HttpServer  # noqa: E402


def test_get_in_memory():
    with MemoryDaemon({"/": HttpServer()}) as daemon:
        reply = daemon.request("GET", "/")
    assert (reply.status, reply.body) == (200, b"Hi there.")


@pytest_twisted.ensureDeferred
async def test_get_over_the_network(netsvc_daemon):
    netsvc_daemon.attach("/", HttpServer())
    url = f"http://127.0.0.1:{netsvc_daemon.port()}/"
    # A blocking client runs in a thread: the reactor serves the daemon.
    body = await threads.deferToThread(lambda: urllib.request.urlopen(url, timeout=10).read())
    assert body == b"Hi there."
