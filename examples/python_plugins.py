"""
E15-E17 (OSE Python Manual pp. 105-108): servlets in ``.py`` files.

A file server over ``examples/htdocs`` runs ``.py`` files through
``PythonPlugin`` instead of sending their source:

* ``/hello.py``: ``__servlet__`` is a servlet class (E15);
* ``/select.py/...``: ``__servlet__`` is a function choosing a servlet,
  ``/proxy.py``: an object supplying extra constructor arguments (E16);
* ``/page.py``: imports ``template.py`` through the module cache, so
  editing either file shows on the next request (E17).

Run with ``python examples/python_plugins.py [port]`` (default 8000).
"""

import os
import signal
import sys

import netsvc_twisted as netsvc

HTDOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "htdocs")


def build(port=8000, directory=HTDOCS):
    daemon = netsvc.HttpDaemon(port)
    filesrvr = netsvc.FileServer(directory)
    filesrvr.plugin(".py", netsvc.PythonPlugin())
    filesrvr.index("index.html")
    daemon.attach("/", filesrvr)
    return daemon


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = build(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving on http://localhost:{daemon.port()}/hello.py", flush=True)
    dispatcher.run()
