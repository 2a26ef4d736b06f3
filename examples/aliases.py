"""
E19 (OSE Python Manual p. 109): aliases (views) of servlet files.

* ``/``: ``plugin(".py", PythonPlugin(), ".html")`` plus ``hide(".py")``:
  ``/login.html`` runs ``login.py`` and ``/login.py`` is a 404, so the
  source is never exposed;
* ``/both``: the plugin registered twice, for ``.py`` and as the
  ``.html`` view: ``/both/login.py`` and ``/both/login.html`` both run it;
* ``/bare``: the alias ``""``: ``/bare/login`` runs ``login.py``.

Run with ``python examples/aliases.py [port]`` (default 8000) and open
http://localhost:8000/login.html.
"""

import os
import signal
import sys

import netsvc_twisted as netsvc

HTDOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "htdocs")


def build(port=8000, directory=HTDOCS):
    daemon = netsvc.HttpDaemon(port)

    hidden = netsvc.FileServer(directory)
    hidden.plugin(".py", netsvc.PythonPlugin(), ".html")
    hidden.hide(".py")
    daemon.attach("/", hidden)

    both = netsvc.FileServer(directory)
    both.plugin(".py", netsvc.PythonPlugin())
    both.plugin(".py", netsvc.PythonPlugin(), ".html")
    daemon.attach("/both", both)

    bare = netsvc.FileServer(directory)
    bare.plugin(".py", netsvc.PythonPlugin(), "")
    bare.hide(".py")
    daemon.attach("/bare", bare)
    return daemon


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = build(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving on http://localhost:{daemon.port()}/login.html", flush=True)
    dispatcher.run()
