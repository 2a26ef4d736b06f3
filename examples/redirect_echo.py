"""
E7 (OSE Python Manual p. 93): redirects and the echo servlet.

``/old/...`` answers with a permanent redirect to the same path on
``http://hostname/`` (here: ``/new`` on this server, so a browser can
follow it); ``/new/...`` answers with the echo servlet's description of
the request.

Run with ``python examples/redirect_echo.py [port]``.
"""

import signal
import sys

import netsvc_twisted as netsvc


class RedirectServer(netsvc.HttpServer):
    def servlet(self, session):
        return netsvc.RedirectServlet(
            session, "/new/" + session.servletPath(), netsvc.REDIRECT_PERMANENT
        )


class EchoServer(netsvc.HttpServer):
    def servlet(self, session):
        return netsvc.EchoServlet(session)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/old", RedirectServer())
    daemon.attach("/new", EchoServer())
    daemon.attach("/moved", netsvc.RedirectServer("/new"))
    daemon.start()
    dispatcher.run()
