"""
The manual's RPC examples E20-E25 (spec 11), run as programs.

Until the package root exports the RPC names, the child is started with a
bootstrap that adds any missing ones from the private modules; once they
are exported it changes nothing.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BOOTSTRAP = """
import runpy, sys
import netsvc_twisted as netsvc
from netsvc_twisted import _service, _rpcfailure, _rpctypes, _rpcgateway
from netsvc_twisted import _netrpc_servlet, _wsgi, _fileserver
names = {
    "Service": _service.Service, "LocalService": _service.LocalService,
    "RpcGateway": _rpcgateway.RpcGateway, "HttpBridge": _rpcgateway.HttpBridge,
    "RpcServlet": _netrpc_servlet.RpcServlet, "FileServer": _fileserver.FileServer,
    "WsgiServer": _wsgi.WsgiServer, "WsgiServlet": _wsgi.WsgiServlet,
}
for module in (_rpcfailure, _rpctypes):
    names.update((k, v) for k, v in vars(module).items() if k[:1].isupper())
for name, value in names.items():
    if not hasattr(netsvc, name):
        setattr(netsvc, name, value)
path = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name="__main__")
"""


def run(example):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, os.path.join(ROOT, "examples", example)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )
    assert child.returncode == 0, child.stderr
    return child.stdout.splitlines()


def test_e20_netrpc():
    assert run("rpc_netrpc.py") == ["[1, 1099511627776, 1.1, '1']", "int int float str"]


def test_e21_clientErrors():
    assert run("rpc_client_errors.py") == [
        "AddressInvalid 45 True", "ServiceUnavailable 404 True", "ServiceUnavailable 46 True"]


def test_e22_authentication():
    assert run("rpc_authentication.py") == [
        "no credentials: AuthenticationFailure 401",
        "wrong password: AuthenticationFailure 401",
        "admin/secret: ['hello']",
    ]


def test_e23_duplicates():
    assert run("rpc_duplicates.py") == ["first", "second"]


def test_e24_xmlrpc():
    assert run("rpc_xmlrpc.py") == [
        "[1, 1099511627776, 1.1, '1']",
        "''",
        "55 'netsvc -- Method Unavailable'",
        "56 'netsvc -- Parameters Incorrect\\n\\nExpected 0 arguments, received 1.'",
        "ServiceFailure 55 netsvc Method Unavailable",
    ]


def test_e25_multipleGateways():
    assert run("rpc_multiple_gateways.py") == [
        "/download: 200", "/service: public", "/admin: admin",
        "/service/admin: ServiceUnavailable", "/netrpc: public", "/xmlrpc: public",
        "/json: public",
    ]
