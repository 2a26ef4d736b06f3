"""
E13 (OSE Python Manual pp. 100-101): a login form on FormServlet.

``/login`` takes the fields ``user`` and ``password``; the right pair is
redirected (302) to the server root, anything else (a missing field, a
field given twice, a wrong password) gets a 400 page.

Run with ``python examples/login_form.py [port]`` (default 8000) and open
http://localhost:8000/login?user=admin&password=secret.
"""

import signal
import sys

import netsvc_twisted as netsvc

USERS = {"admin": "secret"}


class LoginServlet(netsvc.FormServlet):
    def handleRequest(self):
        if not (self.containsField("user") and self.containsField("password")):
            self.sendError(400, "Both user and password are required.")
            return
        user = self.field("user")
        password = self.field("password")
        # A field given several times arrives as a list of its values.
        if isinstance(user, list) or isinstance(password, list):
            self.sendError(400, "Each field may be given only once.")
            return
        if USERS.get(user) != password:
            self.sendError(400, "Invalid user or password.")
            return
        self.sendResponse(netsvc.REDIRECT_TEMPORARY)
        self.sendHeader("Location", self.serverRoot())
        self.endHeaders()
        self.endContent()


class HttpServer(netsvc.HttpServer):
    def servlet(self, session):
        if session.servletPath() == "login":
            return LoginServlet(session)
        return netsvc.ErrorServlet(session, 404)


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
        print(f"Serving on http://localhost:{daemon.port()}/login", flush=True)
    dispatcher.run()
