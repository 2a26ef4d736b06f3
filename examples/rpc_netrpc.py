"""
E20 (OSE Python Manual pp. 112-113): a service exported over NET-RPC.

A ``Validator`` service named ``validator`` joins the group
``web-services``; an ``RpcGateway`` for that group is mounted at
``/service``; a NET-RPC client calls ``echo`` and gets its arguments back
as a list, types preserved.

Run with ``python examples/rpc_netrpc.py [port]``: it serves on 127.0.0.1
(port 0 picks a free one), makes the call from a client thread, prints
the result and exits:

    [1, 1099511627776, 1.1, '1']
    int int float str
"""

import sys

from twisted.internet import task, threads
from twisted.internet.defer import ensureDeferred

import netsvc_twisted as netsvc
from netsvc_twisted import netrpc


class Validator(netsvc.Service):
    def __init__(self, name="validator"):
        netsvc.Service.__init__(self, name)
        self.joinGroup("web-services")
        self.exportMethod(self.echo)

    def echo(self, *args):
        return args


def client(url):
    # 1L of the Python 2 original: an integer too big for 32 bits.
    return netrpc.RemoteService(url).echo(1, 2**40, 1.1, "1")


async def main(reactor, port="0"):
    Validator()
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    await daemon.start()
    url = f"http://127.0.0.1:{daemon.port()}/service/validator"
    try:
        result = await threads.deferToThread(client, url)
        print(result)
        print(*(type(value).__name__ for value in result))
    finally:
        await daemon.stop()


if __name__ == "__main__":
    task.react(lambda reactor, *args: ensureDeferred(main(reactor, *args)), sys.argv[1:])
