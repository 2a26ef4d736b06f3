"""
The manual's RPC examples E20-E25 (spec 11), run as programs.
"""

import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(example):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", example)],
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
