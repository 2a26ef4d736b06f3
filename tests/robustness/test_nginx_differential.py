"""
The framing corpus (framing_cases.py) sent, each case alone and followed
by a pipelined C{GET /second}, to our HttpDaemon and to a real nginx
started on 127.0.0.1.  We must never take a message nginx refuses
(unless the case is one of the deliberate differences below), never
answer a request pipelined behind a refused one, and refuse with the
case's status, a closed connection, no traceback and nothing logged
above warning, still serving afterwards.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, threads

import netsvc_twisted as netsvc
from framing_cases import Case, corpus, runAll
from hostile_apps import LogWatch
from nginx_support import Nginx
from support import fetch, startDaemon

#: Where we take what nginx 1.22 refuses, on purpose, and why.
DELIBERATE = {
    # RFC 9110 5.6.3: OWS is spaces and tabs; nginx trims spaces only.
    "te/valid5": "RFC 9110 5.6.3 (HTAB is OWS)",
    "te/valid6": "RFC 9110 5.6.3 (HTAB is OWS)",
    "cl/valid3": "RFC 9110 5.6.3 (HTAB is OWS)",
    # RFC 9112 3.2.4 and RFC 9110 9.3.7: OPTIONS * asks about the server.
    "target/options-star": "RFC 9112 3.2.4 (asterisk-form)",
    # RFC 9112 7.1: chunk-size has no bound; we take up to 2**63-1 (as
    # for Content-Length), nginx 15 hex digits.
    "chunk/max-size": "RFC 9112 7.1 (chunk-size = 1*HEXDIG)",
}


class Target(netsvc.HttpServlet):
    """Reads the body, then answers 200 with the request path, as nginx."""

    def processRequest(self) -> None:
        pass  # the answer waits for the whole body

    def processContent(self, content: bytes) -> None:
        pass

    def processContentEnd(self) -> None:
        body = self.requestPath().encode("utf-8")
        self.sendResponse(200)
        self.sendHeader("Content-Length", str(len(body)))
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


class TargetServer(netsvc.HttpServer):
    def servlet(self, session):
        return Target(session)


CASES = corpus()


@pytest.fixture(scope="module")
def results():
    with LogWatch() as log:
        daemon = pytest_twisted.blockon(defer.ensureDeferred(
            startDaemon({"/": TargetServer()}, idleTimeout=5)))
        try:
            with Nginx() as nginx:
                theirs = pytest_twisted.blockon(
                    threads.deferToThread(runAll, nginx.port, CASES))
            ours = pytest_twisted.blockon(threads.deferToThread(runAll, daemon.port(), CASES))
            after = pytest_twisted.blockon(fetch(daemon.port(), "GET", "/after"))
        finally:
            pytest_twisted.blockon(daemon.stop())
    yield ours, theirs, after, log


def test_the_corpus_is_large():
    assert len(CASES) >= 300
    assert {case.category for case in CASES} >= {
        "te", "cl", "fold", "eol", "chunk", "trailer", "host", "target", "version",
        "method", "header", "size"}


def problems(case: Case, ours, theirs) -> list[str]:
    key = f"{case.category}/{case.name}"
    found = []
    for pipelined in (False, True):
        mine, nginx = ours[key, pipelined], theirs[key, pipelined]
        where = "pipelined" if pipelined else "alone"
        if mine.accepted and not nginx.accepted and key not in DELIBERATE:
            found.append(f"{where}: taken ({mine.statuses}), nginx refused ({nginx.statuses})")
        if b"Traceback" in mine.raw or b'File "' in mine.raw:
            found.append(f"{where}: traceback in the answer")
        if mine.smuggled:
            found.append(f"{where}: answered a smuggled request")
        if case.expect is not None and mine.first != case.expect:
            found.append(f"{where}: status {mine.statuses}, not {case.expect}")
        if not mine.accepted:
            if not mine.closed:
                found.append(f"{where}: refused but the connection stayed open")
            if mine.secondAnswered:
                found.append(f"{where}: answered the request after a refused one")
        elif pipelined and case.expect == 200 and mine.secondAnswered != case.persistent:
            found.append(f"{where}: second answered: {mine.secondAnswered}")
    return found


@pytest.mark.parametrize("category", sorted({case.category for case in CASES}))
def test_category(results, category):
    ours, theirs, _, _ = results
    failures = {f"{c.name} {c.data[:70]!r}": found
                for c in CASES if c.category == category
                if (found := problems(c, ours, theirs))}
    assert not failures


def test_the_deliberate_differences_are_real(results):
    """Each entry names a case nginx refuses and we take: none is stale."""
    ours, theirs, _, _ = results
    for key in DELIBERATE:
        assert ours[key, False].accepted and not theirs[key, False].accepted, key


def test_still_serving_and_nothing_logged(results):
    _, _, after, log = results
    assert after.status == 200 and after.body == b"/after"
    assert not log.events, log.describe()
