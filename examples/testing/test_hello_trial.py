"""
Tests of examples/hello.py for trial, in memory and over a real socket.

Run with ``python -m twisted.trial examples/testing/test_hello_trial.py``.
"""

import os
import sys

from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool, readBody

from netsvc_twisted.testing import MemoryDaemon, netsvcDaemon

# The application under test: examples/hello.py.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from hello import HttpServer  # noqa: E402


class InMemory(unittest.SynchronousTestCase):
    """No socket, no reactor: MemoryDaemon parses what the servlet wrote."""

    def test_get(self):
        with MemoryDaemon({"/": HttpServer()}) as daemon:
            reply = daemon.request("GET", "/")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.header("Content-Type"), "text/plain")
        self.assertEqual(reply.body, b"Hi there.")

    def test_post_is_refused(self):
        with MemoryDaemon({"/": HttpServer()}) as daemon:
            reply = daemon.request("POST", "/", b"x=1")
        self.assertEqual(reply.status, 400)


class OverTheNetwork(unittest.TestCase):
    """A daemon on a free port of 127.0.0.1 and Twisted's HTTP client."""

    async def test_get(self):
        daemon = await netsvcDaemon(self)  # stopped after the test
        daemon.attach("/", HttpServer())
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(pool.closeCachedConnections)
        url = f"http://127.0.0.1:{daemon.port()}/".encode("ascii")
        response = await Agent(reactor, pool=pool).request(b"GET", url)
        body = await readBody(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(body, b"Hi there.")
