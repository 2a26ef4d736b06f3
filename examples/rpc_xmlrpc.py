"""
E24 (OSE Python Manual pp. 119-120): the same service over XML-RPC, with
our XML-RPC client and with Python's own ``xmlrpc.client``.  XML-RPC has
no None, so it comes back as an empty string; a failure reaches a foreign
client as a fault whose string is ``origin -- description``, followed by
a blank line and the details when there are any.

Run as a program, ``python examples/rpc_xmlrpc.py [port]``, it serves on
127.0.0.1 (port 0, the default, picks a free one), makes the calls from a
client thread, prints what it got and exits:

    [1, 1099511627776, 1.1, '1']
    ''
    55 'netsvc -- Method Unavailable'
    56 'netsvc -- Parameters Incorrect\\n\\nExpected 0 arguments, received 1.'
    ServiceFailure 55 netsvc Method Unavailable

Under ``twistd -n netsvc --config examples/rpc_xmlrpc.py [port]`` it makes
the same calls once, printing into the twistd log, and the gateway serves
on until twistd stops (SIGTERM).
"""

import sys
import xmlrpc.client

from twisted.internet import threads

import _rpcdemo
import netsvc_twisted as netsvc
import netsvc_twisted.xmlrpc
from netsvc_twisted import netrpc
import netsvc_twisted.netrpc.xmlrpc


class Validator(netsvc.Service):
    def __init__(self):
        netsvc.Service.__init__(self, "validator")
        self.joinGroup("web-services")
        self.exportMethod(self.echo)
        self.exportMethod(self.nothing)

    def echo(self, *args):
        return args

    def nothing(self):
        return None


def client(url):
    service = netrpc.xmlrpc.RemoteService(url)
    print(service.echo(1, 2**40, 1.1, "1"))
    print(repr(service.nothing()))
    foreign = xmlrpc.client.ServerProxy(url)
    for call in (lambda: foreign.unknown(), lambda: foreign.nothing(1)):
        try:
            call()
        except xmlrpc.client.Fault as fault:
            print(fault.faultCode, repr(fault.faultString))
    try:
        service.unknown()
    except netrpc.ServiceFailure as failure:
        print(type(failure).__name__, failure.error, failure.origin, failure.description)


def demo(daemon):
    """Once the daemon listens, call it from a client thread."""
    return threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}/service/validator")


if __name__ == "__main__":
    Validator()
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", netsvc_twisted.xmlrpc.RpcGateway("web-services"))
    _rpcdemo.run(daemon, demo)
