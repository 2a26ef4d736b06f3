"""
E21 (OSE Python Manual p. 113): what a client sees when a call cannot be
made.  A URL that is not http gives ``AddressInvalid``, a service that does
not exist gives ``ServiceUnavailable``; both are ``ServiceFailure``s.

Run as a program, ``python examples/rpc_client_errors.py [port]``, it
serves an empty gateway on 127.0.0.1 (port 0, the default, picks a free
one), makes the failing calls from a client thread, prints what it got
and exits:

    AddressInvalid 45 True
    ServiceUnavailable 404 True
    ServiceUnavailable 46 True

Under ``twistd -n netsvc --config examples/rpc_client_errors.py [port]``
it makes the same calls once, printing into the twistd log, and the
gateway serves on until twistd stops (SIGTERM).
"""

import socket
import sys

from twisted.internet import threads

import _rpcdemo
import netsvc_twisted as netsvc
from netsvc_twisted import netrpc


def report(call):
    try:
        call()
    except netrpc.ServiceFailure as failure:
        print(type(failure).__name__, failure.error,
              isinstance(failure, netsvc.ServiceFailure))


def client(base):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closedPort = s.getsockname()[1]
    report(lambda: netrpc.RemoteService("ftp://127.0.0.1/service/validator").echo(1))
    report(lambda: netrpc.RemoteService(base + "/service/nobody").echo(1))
    # Nothing listens there: the connection itself fails.
    report(lambda: netrpc.RemoteService(
        f"http://127.0.0.1:{closedPort}/service/validator").echo(1))


def demo(daemon):
    """Once the daemon listens, call it from a client thread."""
    return threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}")


if __name__ == "__main__":
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    _rpcdemo.run(daemon, demo)
