"""
E3 (OSE Python Manual p. 90): configuring a file server.

``.py`` files are sent as text/plain; a directory request tries
``index.htm`` then ``index.html`` (the first registered that exists
wins); backups (``.bak``) and editor droppings (``.html~``) are never
served.

Run with ``python examples/file_server_options.py [port]`` (default 8000)
in the directory to serve.
"""

import os
import signal
import sys

import netsvc_twisted as netsvc


def build(port=8000, directory=None):
    daemon = netsvc.HttpDaemon(port)
    filesrvr = netsvc.FileServer(directory or os.getcwd())
    filesrvr.map(".py", "text/plain")
    filesrvr.index("index.htm")
    filesrvr.index("index.html")
    filesrvr.hide(".bak")
    filesrvr.hide(".html~")
    daemon.attach("/", filesrvr)
    return daemon


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = build(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving {os.getcwd()} on http://localhost:{daemon.port()}/", flush=True)
    dispatcher.run()
