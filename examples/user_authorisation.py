"""
E5 (OSE Python Manual p. 91): user authorisation with HTTP Basic.

A file server that only serves users it knows; anybody else gets a 401
asking for credentials.

Run with ``python examples/user_authorisation.py [port] [directory]`` and
log in as ``admin`` / ``secret``.
"""

import os
import signal
import sys

import netsvc_twisted as netsvc


class FileServer(netsvc.FileServer):
    users = {"admin": "secret"}

    def authorise(self, login, password):
        return self.users.get(login) == password


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/", FileServer(sys.argv[2] if len(sys.argv) > 2 else os.getcwd()))
    daemon.start()
    dispatcher.run()
