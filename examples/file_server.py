"""
E1 (OSE Python Manual pp. 88-89): the smallest file server.

Serves the files of the current directory at ``/``: an existing file is
sent with its Content-Length, anything else gets a 404 page.

Run with ``python examples/file_server.py [port]`` (default 8000).
"""

import os
import signal
import sys

import netsvc_twisted as netsvc


def build(port=8000, directory=None):
    daemon = netsvc.HttpDaemon(port)
    filesrvr = netsvc.FileServer(directory or os.getcwd())
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
