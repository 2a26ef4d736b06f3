"""
E20 (OSE Python Manual pp. 112-113): a service exported over NET-RPC.

A ``Validator`` service named ``validator`` joins the group
``web-services``; an ``RpcGateway`` for that group is mounted at
``/service``; a NET-RPC client calls ``echo`` and gets its arguments back
as a list, types preserved.

Run as a program, ``python examples/rpc_netrpc.py [port]``, it serves on
127.0.0.1 (port 0, the default, picks a free one), makes the call from a
client thread once the daemon listens, prints the result and exits:

    [1, 1099511627776, 1.1, '1']
    int int float str

Under ``twistd -n netsvc --config examples/rpc_netrpc.py [port]`` it makes
the same call once, printing into the twistd log, and the gateway serves
on until twistd stops (SIGTERM).
"""

import sys

from twisted.internet import threads

import _rpcdemo
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
    result = netrpc.RemoteService(url).echo(1, 2**40, 1.1, "1")
    print(result, flush=True)
    print(*(type(value).__name__ for value in result), flush=True)


def demo(daemon):
    """Once the daemon listens, call it from a client thread."""
    return threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}/service/validator")


if __name__ == "__main__":
    Validator()
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    _rpcdemo.run(daemon, demo)
