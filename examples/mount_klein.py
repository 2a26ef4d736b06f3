"""
Mounting a server in a Klein application.

A branch route returns the ``ServletResource``: Klein hands it the rest of
the path, so ``/app/x/y`` reaches ``WhereServer`` (from
``examples/mount_resource.py``) with server path ``/app`` and servlet
path ``x/y``.  ``/app`` redirects to ``/app/`` (the branch route's
root).  ``/`` is an ordinary Klein route.

Needs ``pip install klein``.  Run with ``python examples/mount_klein.py
[port]`` (default 8000).
"""

import os
import signal
import sys

try:
    from klein import Klein
except ImportError:
    sys.exit("examples/mount_klein.py needs Klein, which netsvc_twisted does not install: "
             "pip install klein")

import netsvc_twisted as netsvc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_resource import WhereServer  # noqa: E402

app = Klein()
servlets = netsvc.ServletResource(WhereServer())


@app.route("/")
def home(request):
    request.setHeader("Content-Type", "text/plain")
    return "A Klein application; servlets under /app/\n"


@app.route("/app/", branch=True)
def mounted(request):
    return servlets


if __name__ == "__main__":
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.web.server import Site

    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    try:
        reactor.listenTCP(port, Site(app.resource()))
    except CannotListenError as e:
        sys.exit(f"{sys.argv[0]}: {e}")  # one line on stderr, exit status 1
    print(f"Serving on http://localhost:{port}/", flush=True)
    dispatcher.run()
