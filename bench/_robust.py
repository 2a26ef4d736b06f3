"""
The server child of the robustness benches (leaks, slowloris, soak): the
hostile-traffic mounts of tests/robustness plus an XML-RPC gateway, and
a /_state page reporting the process's live objects, timers and RSS
(after a garbage collection and glibc's malloc_trim, so that RSS counts
live memory, not what the allocator keeps for reuse).

Run as ``python bench/_robust.py IDLE_TIMEOUT``: prints its port, serves
on 127.0.0.1 until SIGTERM.
"""

import gc
import json
import os
import sys
import tempfile

from _common import ROOT, procStatus

sys.path.insert(0, os.path.join(ROOT, "tests", "robustness"))

from hostile_apps import disconnectingClients, mounts  # noqa: E402

__all__ = ["disconnectingClients", "serve", "state"]


def counts():
    from tempfile import SpooledTemporaryFile

    import netsvc_twisted as netsvc
    from netsvc_twisted._http._congestion import CongestionBridge
    from netsvc_twisted._http._lifecycle import ServletCall
    from netsvc_twisted._http._request import ServletChannel

    tracked = {"servlets": netsvc.HttpServlet, "bridges": CongestionBridge,
               "calls": ServletCall, "channels": ServletChannel, "jobs": netsvc.Job,
               "spooled": SpooledTemporaryFile}
    gc.collect()
    found = dict.fromkeys(tracked, 0)
    for obj in gc.get_objects():
        for name, kind in tracked.items():
            if isinstance(obj, kind):
                found[name] += 1
    return found



def trim():
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def serve(idleTimeout):
    from twisted.internet import reactor

    import netsvc_twisted as netsvc
    import netsvc_twisted.xmlrpc

    class Validator(netsvc.Service):
        def __init__(self):
            netsvc.Service.__init__(self, "validator")
            self.joinGroup("web-services")
            self.exportMethod(self.echo)

        def echo(self, *args):
            return args

    class State(netsvc.HttpServlet):
        def processRequest(self):
            report = counts()
            report["timers"] = len([c for c in reactor.getDelayedCalls() if c.active()])
            # Freed heap goes back to the OS first, so RSS shows what is
            # still live rather than what the allocator keeps for reuse.
            trim()
            report["rss"] = procStatus(os.getpid(), "VmRSS")
            data = json.dumps(report).encode()
            self.sendResponse(200)
            self.sendHeader("Content-Type", "application/json")
            self.sendHeader("Content-Length", str(len(data)))
            self.endHeaders()
            self.sendContent(data)
            self.endContent()

    class StateServer(netsvc.HttpServer):
        def servlet(self, session):
            return State(session)

    Validator()
    directory = tempfile.mkdtemp(prefix="netsvc-bench-")
    daemon = netsvc.HttpDaemon(
        # A deep backlog, so that a thousand connections opened at once
        # (bench/slowloris.py) are not slowed down by SYN retries.
        "tcp:0:interface=127.0.0.1:backlog=2048", idleTimeout=idleTimeout)
    for path, server in mounts(directory).items():
        daemon.attach(path, server)
    daemon.attach("/_state", StateServer())
    daemon.attach("/rpc", netsvc_twisted.xmlrpc.RpcGateway("web-services"))
    daemon.start().addCallback(lambda _: print(daemon.port(), flush=True))
    reactor.run()
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    os.rmdir(directory)


def state(port):
    """The server's /_state report."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", "/_state")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def startServer(idleTimeout=60.0):
    from _common import Child

    return Child([os.path.abspath(__file__), str(idleTimeout)])


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
