"""
E25 (OSE Python Manual p. 123): several gateways on one daemon, next to a
file server.  ``/service`` serves the group ``web-services``, ``/admin``
the group ``admin-services``; the ``web-services`` group is also offered
one protocol per path (``/netrpc``, ``/xmlrpc``, ``/json``; OSE's SOAP
gateway is not part of this package).  ``/download`` serves this
directory.

Run as a program, ``python examples/rpc_multiple_gateways.py [port]``, it
serves on 127.0.0.1 (port 0, the default, picks a free one), calls each
path from a client thread, prints what it got and exits:

    /download: 200
    /service: public
    /admin: admin
    /service/admin: ServiceUnavailable
    /netrpc: public
    /xmlrpc: public
    /json: public

Under ``twistd -n netsvc --config examples/rpc_multiple_gateways.py
[port]`` it makes the same calls once, printing into the twistd log, and
the daemon serves on until twistd stops (SIGTERM).
"""

import os
import sys
import urllib.request

from twisted.internet import threads

import _rpcdemo
import netsvc_twisted as netsvc
import netsvc_twisted.json
import netsvc_twisted.xmlrpc
from netsvc_twisted import netrpc
import netsvc_twisted.netrpc.json
import netsvc_twisted.netrpc.xmlrpc


class Named(netsvc.Service):
    def __init__(self, name, group, answer):
        netsvc.Service.__init__(self, name)
        self.joinGroup(group)
        self.answer = answer
        self.exportMethod(self.hello)

    def hello(self):
        return self.answer


def client(base):
    here = os.path.basename(__file__)
    with urllib.request.urlopen(f"{base}/download/{here}") as response:
        print("/download:", response.status)
    print("/service:", netrpc.RemoteService(f"{base}/service/public").hello())
    print("/admin:", netrpc.RemoteService(f"{base}/admin/admin").hello())
    try:
        netrpc.RemoteService(f"{base}/service/admin").hello()
    except netrpc.ServiceUnavailable as failure:
        print("/service/admin:", type(failure).__name__)
    print("/netrpc:", netrpc.RemoteService(f"{base}/netrpc/public").hello())
    print("/xmlrpc:", netrpc.xmlrpc.RemoteService(f"{base}/xmlrpc/public").hello())
    print("/json:", netrpc.json.RemoteService(f"{base}/json/public").hello())


def demo(daemon):
    """Once the daemon listens, call it from a client thread."""
    return threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}")


if __name__ == "__main__":
    Named("public", "web-services", "public")
    Named("admin", "admin-services", "admin")
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = netsvc.HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/download", netsvc.FileServer(os.path.dirname(os.path.abspath(__file__))))
    daemon.attach("/service", netsvc.RpcGateway("web-services"))
    daemon.attach("/admin", netsvc.RpcGateway("admin-services"))
    daemon.attach("/netrpc", netsvc.RpcGateway("web-services"))
    daemon.attach("/xmlrpc", netsvc_twisted.xmlrpc.RpcGateway("web-services"))
    daemon.attach("/json", netsvc_twisted.json.RpcGateway("web-services"))
    _rpcdemo.run(daemon, demo)
