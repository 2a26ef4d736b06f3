"""
E9 (OSE Python Manual pp. 95-96): the smallest servlet.

GET answers "Hi there." as text/plain; any other method gets a 400 page.

Run with ``python examples/hello.py [port]`` (default 8000) and open
http://localhost:8000/.
"""

import signal
import sys

import netsvc_twisted as netsvc


class HttpServlet(netsvc.HttpServlet):
    def processRequest(self):
        if self.requestMethod() != "GET":
            self.sendError(400)
            return
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.sendHeader("Content-Length", "9")
        self.endHeaders()
        self.sendContent("Hi there.")
        self.endContent()


class HttpServer(netsvc.HttpServer):
    def servlet(self, session):
        return HttpServlet(session)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/", HttpServer())
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving on http://localhost:{daemon.port()}/", flush=True)
    dispatcher.run()
