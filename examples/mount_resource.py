"""
Mounting a server in an existing twisted.web site: a plain ``Resource``
tree.

``ServletResource(server)`` makes any server object a twisted.web
resource, so ``putChild()`` mounts it wherever the site wants it.  Here
``/`` is a static page of the site and ``/app/...`` is served by
``WhereServer``, whose servlets tell their server path and servlet path
(``/app/x/y`` gives ``/app`` and ``x/y``), as under ``HttpDaemon``.

A foreign ``Site`` reads a request body before rendering, so servlets
mounted this way get it after it fully arrived.

Run with ``python examples/mount_resource.py [port]`` (default 8000).
"""

import signal
import sys

from twisted.web.resource import Resource

import netsvc_twisted as netsvc


class Page(Resource):
    """A page of the site itself, not a servlet."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"Content-Type", b"text/plain")
        return b"A twisted.web site; servlets under /app/\n"


class WhereServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent(
            f"server path: {self.serverPath()}\nservlet path: {self.servletPath()}\n"
        )
        self.endContent()


class WhereServer(netsvc.HttpServer):
    def servlet(self, session):
        return WhereServlet(session)


def build():
    """The site's root resource, with the server mounted at /app."""
    root = Resource()
    root.putChild(b"", Page())
    root.putChild(b"app", netsvc.ServletResource(WhereServer()))
    return root


if __name__ == "__main__":
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.web.server import Site

    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    try:
        reactor.listenTCP(port, Site(build()))
    except CannotListenError as e:
        sys.exit(f"{sys.argv[0]}: {e}")  # one line on stderr, exit status 1
    print(f"Serving on http://localhost:{port}/", flush=True)
    dispatcher.run()
