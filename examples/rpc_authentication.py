"""
E22 (OSE Python Manual p. 114): an RPC gateway that wants a login, on a
daemon that only accepts connections from an allow-list of hosts.

Run with ``python examples/rpc_authentication.py [port]``; it prints:

    no credentials: AuthenticationFailure 401
    wrong password: AuthenticationFailure 401
    admin/secret: ['hello']
"""

import sys

from twisted.internet import task, threads
from twisted.internet.defer import ensureDeferred

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


async def main(reactor, port="0"):
    Validator()
    daemon = HttpDaemon(f"tcp:{port}:interface=127.0.0.1")
    daemon.attach("/service", RpcGateway("web-services"))
    await daemon.start()
    try:
        await threads.deferToThread(
            client, f"http://127.0.0.1:{daemon.port()}/service/validator")
    finally:
        await daemon.stop()


if __name__ == "__main__":
    task.react(lambda reactor, *args: ensureDeferred(main(reactor, *args)), sys.argv[1:])
