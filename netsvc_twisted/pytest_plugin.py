# -*- test-case-name: tests.test_testing -*-
"""
A pytest plugin (the C{pytest11} entry point) with the C{netsvc_daemon}
fixture: an L{HttpDaemon} listening on a free port of 127.0.0.1 for
end-to-end tests, stopped (and drained) after the test.

It needs pytest-twisted, which runs the reactor the daemon listens on;
the import is deferred to the fixture so that installing netsvc_twisted
never breaks a pytest run that does not use it.  Example::

    import urllib.request

    import pytest_twisted
    from twisted.internet import threads

    import netsvc_twisted as netsvc

    class Echo(netsvc.HttpServer):
        def servlet(self, session):
            return netsvc.EchoServlet(session)

    @pytest_twisted.ensureDeferred
    async def test_echo(netsvc_daemon):
        netsvc_daemon.attach("/", Echo())
        url = f"http://127.0.0.1:{netsvc_daemon.port()}/"
        body = await threads.deferToThread(
            lambda: urllib.request.urlopen(url, timeout=10).read())
        assert b"HTTP Echo Server" in body

Blocking clients must run outside the reactor's thread (as above):
the daemon is served by the same reactor the test runs under.  For
trial, L{netsvc_twisted.testing.netsvcDaemon} is the counterpart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["netsvc_daemon"]


def _blockon(d: Any) -> Any:
    try:
        import pytest_twisted
    except ImportError:  # pragma: no cover - depends on the environment
        pytest.fail("the netsvc_daemon fixture needs pytest-twisted (pip install pytest-twisted)")
    return pytest_twisted.blockon(d)


@pytest.fixture
def netsvc_daemon() -> Iterator[Any]:
    """
    A started L{netsvc_twisted.HttpDaemon} on a free port of 127.0.0.1
    (C{testing.LOCAL_ENDPOINT}) with no server attached yet: C{attach()} what the
    test needs, C{port()} tells where.  Stopped and drained after the
    test.  For trial tests, L{netsvc_twisted.testing.netsvcDaemon} does
    the same.
    """
    # Imported here: a pytest run that does not use the fixture needs
    # neither Twisted's web modules nor pytest-twisted.
    from netsvc_twisted.testing import LOCAL_ENDPOINT, _startDaemon

    try:
        daemon = _blockon(_startDaemon(LOCAL_ENDPOINT))
    except RuntimeError as e:
        pytest.fail(f"netsvc_daemon: {e}")
    try:
        yield daemon
    finally:
        _blockon(daemon.stop())
