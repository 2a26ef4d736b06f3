"""
E2 (OSE Python Manual p. 89): two file servers, one nested in the other.

``/`` serves the directory ``info`` and ``/logs`` the directory ``logs``
(both below the current directory): ``/logs/x`` comes from ``logs``,
``/x`` from ``info``.  Port 0 picks a free port; ``port()`` tells which
once the daemon has started.

Run with ``python examples/file_servers_nested.py [port]`` (default 0).
"""

import os
import signal
import sys

import netsvc_twisted as netsvc


def build(port=0, base=None):
    base = base or os.getcwd()
    daemon = netsvc.HttpDaemon(port)
    daemon.attach("/", netsvc.FileServer(os.path.join(base, "info")))
    daemon.attach("/logs", netsvc.FileServer(os.path.join(base, "logs")))
    return daemon


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = build(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    daemon.start()
    if daemon.startFailure is None:  # else run() below exits with the reason
        print(f"Serving on http://localhost:{daemon.port()}/", flush=True)
    dispatcher.run()
