"""
E12 (OSE Python Manual pp. 99-100): decoding a form by hand.

The manual's servlet fed the request to ``cgi.FieldStorage``; ``cgi`` is
gone from Python 3, so this one decodes with ``urllib.parse.parse_qs``
(url-encoded forms only).  The pattern is the point: a GET is decoded
from the query string at once, a POST body is collected in
``processContent()`` until ``contentLength()`` bytes have arrived, then
``processForm()`` runs.  ``processForm()`` not overridden gives 501
(netsvc_twisted's decision; the manual's only sent a status line).

Run with ``python examples/form_by_hand.py [port]`` (default 8000) and
open http://localhost:8000/?name=value.
"""

import signal
import sys
from urllib.parse import parse_qs

import netsvc_twisted as netsvc


class FormServlet(netsvc.HttpServlet):
    def __init__(self, session):
        super().__init__(session)
        self._content = []
        self._contentLength = 0
        self._form = {}

    def processRequest(self):
        if self.requestMethod() == "GET":
            self._form = parse_qs(self.queryString(), keep_blank_values=True)
            self.processForm()
        elif self.requestMethod() == "POST":
            if self.contentLength() < 0:
                self.sendError(400, "Content length required for POST.")
            elif self.contentLength() == 0:
                self.processForm()
            # else: wait for the body in processContent()
        else:
            self.sendError(400)

    def processContent(self, content):
        self._content.append(content)
        self._contentLength += len(content)
        if self._contentLength >= self.contentLength():
            body = b"".join(self._content)[:self.contentLength()]
            self._content = []
            self._form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            self.processForm()

    def processForm(self):
        self.sendError(501)


class EchoFormServlet(FormServlet):
    """Lists the fields it received, one ``name=value`` a line."""

    def processForm(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain; charset=utf-8")
        self.endHeaders()
        for name in sorted(self._form):
            for value in self._form[name]:
                self.sendContent("%s=%s\n" % (name, value))
        self.endContent()


class HttpServer(netsvc.HttpServer):
    def servlet(self, session):
        if session.servletPath() == "bare":
            return FormServlet(session)
        return EchoFormServlet(session)


def build(port=8000):
    daemon = netsvc.HttpDaemon(port)
    daemon.attach("/", HttpServer())
    return daemon


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = build(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving on http://localhost:{daemon.port()}/", flush=True)
    dispatcher.run()
