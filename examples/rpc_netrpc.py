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

import signal
import sys

from twisted.internet import threads
from twisted.python.failure import Failure

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


def demo(listening, daemon):
    """Once the daemon listens, call it from a client thread."""
    if listening is None:
        return daemon.startFailure
    return threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}/service/validator")


#: True while Dispatcher().run() below runs the reactor, which it does only
#: when the script runs as a program: under twistd run() returns at once.
dispatching = False


def finish(result):
    """
    The demo is over (or the daemon could not listen).  Run as a program,
    end with status 0, or 1 after a failure; under twistd serve on.
    """
    if isinstance(result, Failure):
        result.printTraceback(sys.stderr)
    status = 1 if isinstance(result, Failure) else 0
    netsvc.Dispatcher().schedule(lambda: end(status))


def end(status):
    # A job runs from the reactor, so by now run() either runs it (a
    # program: the daemon drains as the reactor stops) or has returned.
    if dispatching:
        sys.exit(status)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    Validator()
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    daemon.start().addCallback(demo, daemon).addBoth(finish)
    dispatching = True
    dispatcher.run()
    dispatching = False
