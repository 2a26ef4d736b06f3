"""
Every example that says it runs under C{twistd -n netsvc --config
examples/NAME.py} does: a real twistd child per example, given a free
port as the script's argument, answers a request meaningful for that
example over 127.0.0.1 (a real RPC call for the RPC examples), and exits
0 on SIGTERM with no traceback in its log.  The event-system examples
print what they print as programs and stop twistd themselves.

C{mount_klein.py}, C{mount_resource.py} and C{resource_script.py} are not
netsvc application scripts and are left out on purpose.
"""

from __future__ import annotations

import http.client
import json
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

import pytest
from support import TIMEOUT, freePort
from test_twistd_plugin import EXAMPLES, Twistd

from netsvc_twisted import netrpc

NOT_TWISTD = {"mount_klein.py", "mount_resource.py", "resource_script.py"}


def request(port: int, method: str = "GET", path: str = "/", body: bytes | None = None,
            headers: dict[str, str] | None = None, readBody: bool = True,
            ) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read() if readBody else b""
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


def expect(path: str, status: int, body: bytes | None = None, contains: bytes = b"",
           **kwargs) -> Callable[[int], None]:
    def check(port: int) -> None:
        got, _, data = request(port, path=path, **kwargs)
        assert got == status, (got, data)
        if body is not None:
            assert data == body
        assert contains in data
    return check


def fileServerRoot(cwd: Path) -> None:
    (cwd / "hello.txt").write_text("Hello, file.\n")


def nestedRoots(cwd: Path) -> None:
    for name in ("info", "logs"):
        (cwd / name).mkdir()
        (cwd / name / "x.txt").write_text(f"from {name}\n")


def rpcNetrpc(base: str) -> None:
    assert netrpc.RemoteService(f"{base}/service/validator").echo(1, 2**40, "x") == [
        1, 2**40, "x"]


def rpcClientErrors(base: str) -> None:
    with pytest.raises(netrpc.ServiceUnavailable) as caught:
        netrpc.RemoteService(f"{base}/service/nobody").echo(1)
    assert caught.value.error == 404


def rpcAuthentication(base: str) -> None:
    url = f"{base}/service/validator"
    with pytest.raises(netrpc.AuthenticationFailure):
        netrpc.RemoteService(url).echo("hi")
    assert netrpc.RemoteService(url, "admin", "secret").echo("hi") == ["hi"]


def rpcDuplicates(base: str) -> None:
    # The demo destroyed the first service; the second one answers now.
    assert netrpc.RemoteService(f"{base}/service/validator").whoami() == "second"


def rpcXmlrpc(base: str) -> None:
    proxy = xmlrpc.client.ServerProxy(f"{base}/service/validator")
    assert proxy.echo(1, 1.5, "1") == [1, 1.5, "1"]
    assert proxy.nothing() == ""


def rpcMultipleGateways(base: str) -> None:
    port = int(base.rsplit(":", 1)[1])
    call = json.dumps({"jsonrpc": "2.0", "method": "hello", "params": [], "id": 7})
    status, _, data = request(
        port, "POST", "/json/public", call.encode(), {"Content-Type": "application/json"})
    assert status == 200, data
    answer = json.loads(data)
    assert (answer["id"], answer["result"]) == (7, "public")
    assert netrpc.RemoteService(f"{base}/admin/admin").hello() == "admin"


#: Servers: (setup of the working directory, check of the running server).
SERVERS: dict[str, tuple[Callable[[Path], None] | None, Callable[[int], None]]] = {
    "aliases.py": (None, expect("/login.html", 200, contains=b"Login page")),
    "custom_server.py": (None, expect("/test/hello", 200, contains=b"Hello from")),
    "delayed_response.py": (None, expect("/", 200, readBody=False)),
    "file_plugins.py": (None, expect("/function/readme.txt", 200, b"Read me.\n")),
    "file_server.py": (fileServerRoot, expect("/hello.txt", 200, b"Hello, file.\n")),
    "file_server_options.py": (fileServerRoot, expect("/hello.txt", 200, b"Hello, file.\n")),
    "file_servers_nested.py": (nestedRoots, expect("/logs/x.txt", 200, b"from logs\n")),
    "form_by_hand.py": (None, expect("/?name=value", 200, contains=b"name=value")),
    "hello.py": (None, expect("/", 200, b"Hi there.")),
    "host_authorisation.py": (None, expect("/", 200, contains=b"HTTP Echo Server")),
    "login_form.py": (None, expect("/login?user=admin&password=secret", 302)),
    "python_plugins.py": (None, expect("/hello.py", 200, b"Hi there.")),
    "redirect_echo.py": (None, expect("/old/x", 301)),
    "slow_clients.py": (None, expect("/?size=4096", 200, contains=b"\0" * 8)),
    "twistd_app.py": (None, expect("/", 200, b"Hello from netsvc.\n")),
    "user_authorisation.py": (None, expect("/", 401)),
}

#: RPC examples: (the demo's last line, a call of our own).
RPC: dict[str, tuple[str, Callable[[str], None]]] = {
    "rpc_netrpc.py": ("int int float str", rpcNetrpc),
    "rpc_client_errors.py": ("ServiceUnavailable 46 True", rpcClientErrors),
    "rpc_authentication.py": ("admin/secret: ['hello']", rpcAuthentication),
    "rpc_duplicates.py": ("second", rpcDuplicates),
    "rpc_xmlrpc.py": ("ServiceFailure 55 netsvc Method Unavailable", rpcXmlrpc),
    "rpc_multiple_gateways.py": ("/json: public", rpcMultipleGateways),
}

#: Event-system examples: (script arguments, lines printed in this order).
EVENTS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "event_system.py": ((), ["priority", "standard", "bye", "override", "idle"]),
    "shutdown.py": (("0.5",), ["ready", "timeout timeout", "shutdown pending",
                               "cleaned up", "shutdown arrived", "exiting"]),
}


def test_every_example_is_covered():
    # _rpcdemo.py is what the RPC examples share, not an example.
    names = {path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_")}
    assert names == set(SERVERS) | set(RPC) | set(EVENTS) | NOT_TWISTD


def serve(tmp_path: Path, name: str) -> tuple[Twistd, int]:
    port = freePort()
    run = Twistd(tmp_path, "--config", str(EXAMPLES / name), str(port))
    run.waitFor(rf"HttpDaemon listening on \S*\b{port}\b")
    return run, port


def stopCleanly(run: Twistd) -> str:
    code, err = run.terminate()
    log = run.log.read_text()
    assert (code, err) == (0, ""), log
    assert "Traceback" not in log, log
    return log


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_server_example(tmp_path, name):
    setup, check = SERVERS[name]
    if setup is not None:
        setup(tmp_path)
    run, port = serve(tmp_path, name)
    try:
        check(port)
        stopCleanly(run)
    finally:
        run.close()


@pytest.mark.parametrize("name", sorted(RPC))
def test_rpc_example_serves_on(tmp_path, name):
    """
    The demo runs once into the log and does not stop twistd; the gateway
    then answers a call of ours.
    """
    lastLine, call = RPC[name]
    run, port = serve(tmp_path, name)
    try:
        run.waitFor(r"\[stdout#info\] " + lastLine.replace("[", r"\[").replace("]", r"\]"))
        call(f"http://127.0.0.1:{port}")
        assert run.child.poll() is None
        stopCleanly(run)
    finally:
        run.close()


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_event_example_stops_twistd_itself(tmp_path, name):
    args, lines = EVENTS[name]
    run = Twistd(tmp_path, "--config", str(EXAMPLES / name), *args)
    try:
        out, err = run.child.communicate(timeout=TIMEOUT)
        log = run.log.read_text()
        assert (run.child.returncode, err) == (0, ""), log
        assert "Traceback" not in log, log
        # What the script prints while twistd runs it is on stdout; the
        # rest is in the log.
        printed = out.splitlines() + [
            line.split("[stdout#info] ", 1)[1]
            for line in log.splitlines() if "[stdout#info] " in line]
        assert printed == lines
    finally:
        if run.child.poll() is None:
            run.close()
