"""
FormServlet mounted in a foreign twisted.web Site through ServletResource,
over 127.0.0.1: a Site that still parses form posts is named in one
warning with the fix; one that does not leaves the body to the servlet's
own streaming decoders, with the same limits as under HttpDaemon.
"""

import hashlib

import pytest_twisted
import requests
from twisted.internet import threads
from twisted.internet.endpoints import serverFromString
from twisted.web.resource import Resource
from twisted.web.server import Site

import netsvc_twisted as netsvc
from netsvc_twisted._http import _resource
from netsvc_twisted._http._budget import bodyMemory

from support import LOCAL, TIMEOUT


class Digest(netsvc.FormServlet):
    _maximumMemorySize = 1000

    def handleRequest(self):
        upload = self.field("file")
        text = "%s %d %s %s" % (self.field("note"), upload.size,
                                 hashlib.sha256(upload.read()).hexdigest(),
                                 upload.file._rolled)
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent(text)
        self.endContent()


class Server(netsvc.HttpServer):
    def servlet(self, session):
        return Digest(session)


def parsingWarnings(events):
    return [e for e in events if e.get("log_format") == _resource.FORM_PARSING_WARNING]


async def listen(**siteOptions):
    from twisted.internet import reactor

    root = Resource()
    root.putChild(b"app", netsvc.ServletResource(Server()))
    site = Site(root, **siteOptions)
    port = await serverFromString(reactor, LOCAL).listen(site)
    return port, "http://127.0.0.1:%d/app/" % port.getHost().port


def post(url, **kwargs):
    return threads.deferToThread(requests.post, url, timeout=TIMEOUT, **kwargs)


@pytest_twisted.ensureDeferred
async def test_a_site_that_parses_forms_is_named_once(logEvents):
    port, url = await listen()
    try:
        for _ in range(2):
            reply = await post(url, data={"note": "n"}, files={"file": ("f", b"abc")})
            assert reply.status_code == 200
        [event] = parsingWarnings(logEvents)
        assert "Site(root, parsePOSTFormSubmission=False)" in event["log_format"]
        assert event["log_level"].name == "warn"
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_streaming_decoders_and_limits_in_a_foreign_site(logEvents):
    port, url = await listen(parsePOSTFormSubmission=False)
    data = bytes(range(256)) * 4096  # 1 MiB
    try:
        reply = await post(url, data={"note": "big"}, files={"file": ("f.bin", data)})
        assert reply.text == "big %d %s True" % (len(data), hashlib.sha256(data).hexdigest())
        # The servlet's text limit, as under HttpDaemon.
        reply = await post(url, data={"note": "x" * 1001}, files={"file": ("f", b"")})
        assert reply.status_code == 413 and "Form text too large" in reply.text
        # And the process's budget.
        limit, bodyMemory.limit = bodyMemory.limit, bodyMemory.used
        try:
            reply = await post(url, data={"note": "n"}, files={"file": ("f", b"")})
        finally:
            bodyMemory.limit = limit
        assert reply.status_code == 503 and reply.headers["retry-after"] == "1"
        assert parsingWarnings(logEvents) == []
        assert bodyMemory.used == 0
    finally:
        await port.stopListening()
