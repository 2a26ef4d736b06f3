"""
E21 (OSE Python Manual p. 113): what a client sees when a call cannot be
made.  A URL that is not http gives ``AddressInvalid``, a service that does
not exist gives ``ServiceUnavailable``; both are ``ServiceFailure``s.

Run with ``python examples/rpc_client_errors.py [port]``; it prints:

    AddressInvalid 45 True
    ServiceUnavailable 404 True
    ServiceUnavailable 46 True
"""

import socket
import sys

from twisted.internet import task, threads
from twisted.internet.defer import ensureDeferred

import netsvc_twisted as netsvc
from netsvc_twisted import netrpc


def report(call):
    try:
        call()
    except netrpc.ServiceFailure as failure:
        print(type(failure).__name__, failure.error,
              isinstance(failure, netsvc.ServiceFailure))


def client(base, closedPort):
    report(lambda: netrpc.RemoteService("ftp://127.0.0.1/service/validator").echo(1))
    report(lambda: netrpc.RemoteService(base + "/service/nobody").echo(1))
    # Nothing listens there: the connection itself fails.
    report(lambda: netrpc.RemoteService(
        f"http://127.0.0.1:{closedPort}/service/validator").echo(1))


async def main(reactor, port="0"):
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    await daemon.start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closedPort = s.getsockname()[1]
    try:
        await threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}", closedPort)
    finally:
        await daemon.stop()


if __name__ == "__main__":
    task.react(lambda reactor, *args: ensureDeferred(main(reactor, *args)), sys.argv[1:])
