"""
Issue 14: the mistakes of a first program fail loudly, run as a user runs
them (C{python script.py}): one line on stderr that says what to change,
and a non-zero exit status, instead of a process that serves nothing or a
first request that ends in a traceback in the log.

(The failures of C{twistd netsvc} are tested in tests/hosting.)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
#: Longer than support.TIMEOUT: a whole Python process, from start to exit.
RUN_TIMEOUT = 60


def run(script: str | list[str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Run a script (source text, or the path of a file) with this Python."""
    if isinstance(script, str):
        path = tmp_path / "app.py"
        path.write_text(textwrap.dedent(script))
        command = [sys.executable, str(path), *args]
    else:
        command = [sys.executable, *script, *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
    )


def stderrLines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture
def takenPort():
    """A port of 127.0.0.1 (and so of every interface) somebody listens on."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_hello_on_a_taken_port_says_so_and_exits(tmp_path, takenPort):
    result = run([os.path.join(EXAMPLES, "hello.py")], tmp_path, str(takenPort))
    assert result.returncode == 1, result
    assert "Serving on" not in result.stdout
    [line] = stderrLines(result)
    assert f"tcp:{takenPort}" in line and "already in use" in line, line
    assert f"HttpDaemon({takenPort + 1})" in line and "HttpDaemon(0)" in line, line


def test_a_script_without_a_print_does_not_exit_0(tmp_path, takenPort):
    result = run(f"""
        import netsvc_twisted as netsvc
        daemon = netsvc.HttpDaemon({takenPort})
        daemon.attach("/", netsvc.HttpServer())
        daemon.start()
        netsvc.Dispatcher().run()
        print("not reached")
    """, tmp_path)
    assert result.returncode == 1 and "not reached" not in result.stdout, result
    assert len(stderrLines(result)) == 1, result.stderr


@pytest.mark.parametrize("description, bad", [
    ("tcpp:80", "Unknown endpoint type: 'tcpp'"),
    ("tcp:eighty", "invalid literal for int()"),
])
def test_a_bad_endpoint_description_names_the_bad_part(tmp_path, description, bad):
    result = run(f"""
        import netsvc_twisted as netsvc
        daemon = netsvc.HttpDaemon({description!r})
        daemon.start()
        netsvc.Dispatcher().run()
    """, tmp_path)
    assert result.returncode == 1, result
    [line] = stderrLines(result)
    assert repr(description) in line and bad in line, line
    assert 'HttpDaemon("tcp:8080:interface=127.0.0.1")' in line, line


def test_a_daemon_started_while_running_stops_the_loop(tmp_path, takenPort):
    """start() from a job, once run() runs: the reactor stops, exit 1."""
    result = run(f"""
        import signal
        import netsvc_twisted as netsvc
        dispatcher = netsvc.Dispatcher()
        dispatcher.monitor(signal.SIGTERM)  # would keep run() going for ever
        daemon = netsvc.HttpDaemon({takenPort})
        dispatcher.schedule(daemon.start)
        dispatcher.run()
    """, tmp_path)
    assert result.returncode == 1, result
    [line] = stderrLines(result)
    assert "already in use" in line, line


def test_a_daemon_not_required_lets_the_program_go_on(tmp_path, takenPort):
    result = run(f"""
        import netsvc_twisted as netsvc
        optional = netsvc.HttpDaemon({takenPort})
        optional.required = False
        optional.start()
        print("failure kept:", optional.startFailure is not None)
        main = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
        main.start()
        netsvc.Dispatcher().shutdown()
        netsvc.Dispatcher().run()
        print("went on")
    """, tmp_path)
    assert result.returncode == 0, result
    assert result.stdout.split("\n")[:2] == ["failure kept: True", "went on"], result
    assert result.stderr == ""


def test_attach_refuses_what_is_not_a_server(tmp_path):
    result = run("""
        import netsvc_twisted as netsvc
        daemon = netsvc.HttpDaemon(0)
        daemon.attach("/", "x")
    """, tmp_path)
    assert result.returncode == 1, result
    last = stderrLines(result)[-1]
    assert last.startswith("TypeError: HttpDaemon.attach('/', 'x'): not a server object;"), last
    assert "servlet(session)" in last, last


def test_attach_accepts_servers_and_duck_typed_ones_and_none():
    import netsvc_twisted as netsvc

    class Duck:
        def servlet(self, session):
            return None

    daemon = netsvc.HttpDaemon(0)
    daemon.attach("/", netsvc.HttpServer())
    daemon.attach("/duck", Duck())
    daemon.attach("/duck", None)
    with pytest.raises(TypeError):
        daemon.attach("/", netsvc.HttpServer)  # the class, not an instance


def test_file_server_refuses_a_missing_directory(tmp_path):
    result = run("""
        import netsvc_twisted as netsvc
        netsvc.FileServer("missing")
    """, tmp_path)
    assert result.returncode == 1, result
    last = stderrLines(result)[-1]
    expected = f"FileNotFoundError: FileServer('missing'): {str(tmp_path / 'missing')!r} does not exist;"
    assert last.startswith(expected), last


def test_file_server_refuses_a_file(tmp_path):
    (tmp_path / "page.html").write_text("x")
    result = run("""
        import netsvc_twisted as netsvc
        netsvc.FileServer("page.html")
    """, tmp_path)
    assert result.returncode == 1, result
    assert stderrLines(result)[-1].startswith("NotADirectoryError: FileServer('page.html'):")
