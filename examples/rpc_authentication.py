"""
E22 (OSE Python Manual p. 114): an RPC gateway that wants a login, on a
daemon that only accepts connections from an allow-list of hosts.

Run as a program, ``python examples/rpc_authentication.py [port]``, it
serves on 127.0.0.1 (port 0, the default, picks a free one), calls the
gateway from a client thread without, with wrong and with right
credentials, prints what it got and exits:

    no credentials: AuthenticationFailure 401
    wrong password: AuthenticationFailure 401
    admin/secret: ['hello']

Under ``twistd -n netsvc --config examples/rpc_authentication.py [port]``
it makes the same calls once, printing into the twistd log, and the
gateway serves on until twistd stops (SIGTERM).
"""

import sys

from twisted.internet import threads

import _rpcdemo
import netsvc_twisted as netsvc
from netsvc_twisted import netrpc


class Validator(netsvc.Service):
    def __init__(self):
        netsvc.Service.__init__(self, "validator")
        self.joinGroup("web-services")
        self.exportMethod(self.echo)

    def echo(self, *args):
        return args


class HttpDaemon(netsvc.HttpDaemon):
    allowed = ["127.0.0.1"]

    def authorise(self, host):
        return host in self.allowed


class RpcGateway(netsvc.RpcGateway):
    users = {"admin": "secret"}

    def authorise(self, login, password):
        return self.users.get(login) == password and login in self.users


def client(url):
    for label, credentials in [("no credentials", ()),
                               ("wrong password", ("admin", "guess")),
                               ("admin/secret", ("admin", "secret"))]:
        try:
            print(f"{label}:", netrpc.RemoteService(url, *credentials).echo("hello"))
        except netrpc.AuthenticationFailure as failure:
            print(f"{label}:", type(failure).__name__, failure.error)


def demo(daemon):
    """Once the daemon listens, call it from a client thread."""
    return threads.deferToThread(client, f"http://127.0.0.1:{daemon.port()}/service/validator")


if __name__ == "__main__":
    Validator()
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    daemon = HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", RpcGateway("web-services"))
    _rpcdemo.run(daemon, demo)
