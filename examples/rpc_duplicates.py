"""
E23 (OSE Python Manual p. 114): two services with the same name in the
same group.  The one announced first answers; once it is destroyed, the
next one takes over.

Run as a program, ``python examples/rpc_duplicates.py [port]``, it serves
on 127.0.0.1 (port 0, the default, picks a free one), asks ``whoami``
from a client thread, destroys the first service, asks again, prints the
answers and exits:

    first
    second

Under ``twistd -n netsvc --config examples/rpc_duplicates.py [port]`` it
does the same once, printing into the twistd log; the gateway then serves
on, the second service answering, until twistd stops (SIGTERM).
"""

import sys

from twisted.internet import threads
from twisted.internet.defer import ensureDeferred

import _rpcdemo
import netsvc_twisted as netsvc
from netsvc_twisted import netrpc


class Validator(netsvc.Service):
    def __init__(self, label):
        netsvc.Service.__init__(self, "validator")
        self.joinGroup("web-services")
        self.label = label
        self.exportMethod(self.whoami)

    def whoami(self):
        return self.label


async def calls(daemon, first):
    service = netrpc.RemoteService(f"http://127.0.0.1:{daemon.port()}/service/validator")
    print(await threads.deferToThread(service.whoami))
    first.destroyService()
    print(await threads.deferToThread(service.whoami))


def demo(daemon, first):
    """Once the daemon listens, call it from a client thread."""
    return ensureDeferred(calls(daemon, first))


if __name__ == "__main__":
    first = Validator("first")
    Validator("second")
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    _rpcdemo.run(daemon, demo, first)
