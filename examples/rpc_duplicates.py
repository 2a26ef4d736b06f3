"""
E23 (OSE Python Manual p. 114): two services with the same name in the
same group.  The one announced first answers; once it is destroyed, the
next one takes over.

Run with ``python examples/rpc_duplicates.py [port]``; it prints:

    first
    second
"""

import sys

from twisted.internet import task, threads
from twisted.internet.defer import ensureDeferred

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


async def main(reactor, port="0"):
    first = Validator("first")
    Validator("second")
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    await daemon.start()
    service = netrpc.RemoteService(f"http://127.0.0.1:{daemon.port()}/service/validator")
    try:
        print(await threads.deferToThread(service.whoami))
        first.destroyService()
        print(await threads.deferToThread(service.whoami))
    finally:
        await daemon.stop()


if __name__ == "__main__":
    task.react(lambda reactor, *args: ensureDeferred(main(reactor, *args)), sys.argv[1:])
