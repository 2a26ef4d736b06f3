"""
E18 (OSE Python Manual p. 108): writing plugins.

A plugin is anything called as ``plugin(session, file)`` that returns a
servlet.  Three file servers over ``examples/htdocs`` register one kind
each for ``.txt``:

* ``/function``: a function returning ``FileServlet(session, file, type)``;
* ``/class``: the ``FileServlet`` class itself (no content type);
* ``/object``: an object with ``__call__``.

Run with ``python examples/file_plugins.py [port]`` (default 8000) and
open http://localhost:8000/function/readme.txt.
"""

import os
import signal
import sys

import netsvc_twisted as netsvc

HTDOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "htdocs")


def textPlugin(session, file):
    return netsvc.FileServlet(session, file, "text/plain; charset=utf-8")


class TypedPlugin:
    def __init__(self, type):
        self._type = type

    def __call__(self, session, file):
        return netsvc.FileServlet(session, file, self._type)


def build(port=8000, directory=HTDOCS):
    daemon = netsvc.HttpDaemon(port)
    for path, plugin in (("/function", textPlugin),
                         ("/class", netsvc.FileServlet),
                         ("/object", TypedPlugin("text/x-readme"))):
        filesrvr = netsvc.FileServer(directory)
        filesrvr.plugin(".txt", plugin)
        daemon.attach(path, filesrvr)
    return daemon


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = build(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving on http://localhost:{daemon.port()}/function/readme.txt", flush=True)
    dispatcher.run()
