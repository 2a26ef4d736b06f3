# -*- test-case-name: tests.test_twistd_plugin -*-
"""
C{twistd netsvc}: real twistd child processes serving examples over
127.0.0.1, one-line errors, and plugin discovery from a wheel and from an
editable install, each in a fresh venv.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support import busyPort, freePort, waitUntil

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"
PIP_TIMEOUT = 300
#: Seconds a child has to log what it was awaited for.
STARTUP = 30


def twistd(binDir: Path | None = None) -> list[str]:
    script = (binDir or Path(sys.executable).parent) / "twistd"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def waitForLog(log: Path, pattern: str, child: subprocess.Popen) -> re.Match:
    return waitUntil(lambda: re.search(pattern, log.read_text() if log.exists() else ""),
                     f"{pattern!r} in the log", deadline=STARTUP, process=child, log=log)


class Twistd:
    """
    One C{twistd -n netsvc ...} child with its log in a file; stopped by
    its own PID only.
    """

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.log = tmp_path / "twistd.log"
        self.child = subprocess.Popen(
            [*twistd(), "-n", "--pidfile=", f"--logfile={self.log}", "netsvc", *args],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def waitFor(self, pattern: str) -> re.Match:
        return waitForLog(self.log, pattern, self.child)

    def terminate(self) -> tuple[int, str]:
        self.child.send_signal(signal.SIGTERM)
        _, err = self.child.communicate(timeout=30)
        return self.child.returncode, err

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        self.child.communicate()


def test_listen_serves_a_portless_daemon_and_sigterm_exits_0(tmp_path):
    """
    The script's HttpDaemon() takes --listen; start() fires once twistd
    listened (the script prints the real port); SIGTERM stops it cleanly.
    """
    run = Twistd(tmp_path, "--config", str(EXAMPLES / "twistd_app.py"),
                 "--listen", "tcp:0:interface=127.0.0.1")
    try:
        port = int(run.waitFor(r"Serving on http://localhost:(\d+)/").group(1))
        assert get(port) == (200, b"Hello from netsvc.\n")
        status, body = get(port, "/echo/x?y=1")
        assert status == 200 and b"HTTP Echo Server" in body
        code, err = run.terminate()
        assert (code, err) == (0, "")
        log = run.log.read_text()
        assert "Server Shut Down." in log and "Traceback" not in log
    finally:
        run.close()


def test_manual_example_with_script_argument_and_access_log(tmp_path):
    """
    Arguments after the options are the script's sys.argv[1:]: hello.py
    reads its port there.  --access-log writes the combined-format lines.
    """
    port = freePort()
    access = tmp_path / "access.log"
    run = Twistd(tmp_path, "--config", str(EXAMPLES / "hello.py"),
                 f"--access-log={access}", str(port))
    try:
        run.waitFor(r"HttpDaemon listening on tcp:\d+")
        assert get(port) == (200, b"Hi there.")
        assert run.terminate() == (0, "")
        assert '"GET / HTTP/1.1" 200 9' in access.read_text()
    finally:
        run.close()


def test_two_listen_endpoints_share_one_daemon(tmp_path):
    first, second = freePort(), freePort()
    run = Twistd(tmp_path, "--config", str(EXAMPLES / "twistd_app.py"),
                 "--listen", f"tcp:{first}:interface=127.0.0.1",
                 "--listen", f"tcp:{second}:interface=127.0.0.1")
    try:
        run.waitFor(r"Serving on")
        assert get(first)[0] == get(second)[0] == 200
        assert run.terminate() == (0, "")
    finally:
        run.close()


def failing(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    child = subprocess.run(
        [*twistd(), "-n", "--pidfile=", f"--logfile={tmp_path / 'twistd.log'}",
         "netsvc", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    return child.returncode, child.stderr.splitlines()


SCRIPTS = {
    "syntax": ("x = (\n", r"syntax\.py:1: SyntaxError: '\(' was never closed"),
    "boom": ("import os\n\ndef f():\n    return 1 / 0\n\nf()\n",
             r"boom\.py:4: ZeroDivisionError: division by zero"),
    "exits": ("import sys\nsys.exit('no config')\n",
              r"exits\.py: the script exited with 'no config'"),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_errors_are_one_line(tmp_path, name):
    source, expected = SCRIPTS[name]
    (tmp_path / f"{name}.py").write_text(source)
    code, lines = failing(tmp_path, "--config", f"{name}.py")
    assert code != 0
    assert len(lines) == 1, lines
    assert re.fullmatch(r"twistd netsvc: " + expected, lines[0]), lines[0]


def test_missing_script_is_one_line(tmp_path):
    code, lines = failing(tmp_path, "--config", "nowhere.py")
    assert code != 0 and lines == ["twistd netsvc: nowhere.py: no such file"]


def test_port_in_use_is_one_line(tmp_path):
    with busyPort() as port:
        code, lines = failing(tmp_path, "--config", str(EXAMPLES / "twistd_app.py"),
                              "--listen", f"tcp:{port}:interface=127.0.0.1")
    assert code != 0 and len(lines) == 1, lines
    assert "twistd_app.py" in lines[0] and "could not listen" in lines[0]
    assert "Address already in use" in lines[0]


def test_listen_without_a_portless_daemon_is_refused(tmp_path):
    code, lines = failing(tmp_path, "--config", str(EXAMPLES / "hello.py"),
                          "--listen", "tcp:0")
    assert code != 0 and len(lines) == 1
    assert "hello.py: --listen applies to the one daemon created without a port" in lines[0]


@pytest.mark.parametrize("listen, expected", [
    ("8080", "--listen 8080: a bare port is not an endpoint: write tcp:8080"),
    ("127.0.0.1:8080", "--listen 127.0.0.1:8080: write tcp:8080:interface=127.0.0.1"),
    ("tcpp:80", "--listen tcpp:80: unknown endpoint type 'tcpp' (tcp, tcp6, ssl, unix, "
                "systemd, ...): e.g. tcp:8080:interface=127.0.0.1"),
    ("tcp:80:interfac=x", "--listen tcp:80:interfac=x: tcp has no option 'interfac': "
                          "e.g. tcp:8080:interface=127.0.0.1"),
])
def test_bad_listen_is_one_line_with_a_good_example(tmp_path, listen, expected):
    code, lines = failing(tmp_path, "--config", str(EXAMPLES / "twistd_app.py"),
                          "--listen", listen)
    assert code == 1 and lines == ["twistd netsvc: " + expected]


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
@pytest.mark.parametrize("metrics, expected", [
    ("9100", "--metrics-listen 9100: a bare port is not an endpoint: write tcp:9100"),
    ("tcp:9100:interfac=x", "--metrics-listen tcp:9100:interfac=x: tcp has no option "
                            "'interfac': e.g. tcp:8080:interface=127.0.0.1"),
])
def test_bad_metrics_listen_is_one_line_with_a_good_example(tmp_path, workers, metrics,
                                                            expected):
    """Checked as --listen is, before the script runs or a worker starts."""
    code, lines = failing(tmp_path, "--config", str(EXAMPLES / "twistd_app.py"), *workers,
                          "--listen", "tcp:0:interface=127.0.0.1", "--metrics-listen", metrics)
    assert code == 1 and lines == ["twistd netsvc: " + expected]
    log = tmp_path / "twistd.log"
    assert not log.exists() or "worker" not in log.read_text()


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_metrics_listen_port_in_use_is_one_line(tmp_path, workers):
    with busyPort() as port:
        code, lines = failing(tmp_path, "--config", str(EXAMPLES / "twistd_app.py"),
                              *workers, "--listen", "tcp:0:interface=127.0.0.1",
                              "--metrics-listen", f"tcp:{port}:interface=127.0.0.1")
    assert code == 1 and len(lines) == 1, lines
    assert re.fullmatch(
        r"twistd netsvc: \S*twistd_app\.py: <HttpDaemon 'tcp:0:interface=127\.0\.0\.1'> "
        rf"could not listen: metrics endpoint tcp:{port}:interface=127\.0\.0\.1: "
        rf"Couldn't listen on 127\.0\.0\.1:{port}: \[Errno 98\] Address already in use\.",
        lines[0]), lines[0]


@pytest.mark.parametrize("arguments, expected", [
    ("'tcpp:80'", "<HttpDaemon 'tcpp:80'>: unknown endpoint type 'tcpp' (tcp, tcp6, ssl, "
                  "unix, systemd, ...): e.g. tcp:8080:interface=127.0.0.1"),
    ("'tcp:0', metrics='9100'", "<HttpDaemon 'tcp:0'>: metrics='9100': a bare port is not "
                                "an endpoint: write tcp:9100"),
])
def test_bad_endpoint_in_the_script_is_one_line(tmp_path, arguments, expected):
    (tmp_path / "app.py").write_text(
        f"import netsvc_twisted as netsvc\nnetsvc.HttpDaemon({arguments})\n")
    code, lines = failing(tmp_path, "--config", "app.py")
    assert code == 1 and lines == ["twistd netsvc: app.py: " + expected]


def test_a_script_that_creates_no_daemon_is_an_error(tmp_path):
    (tmp_path / "nothing.py").write_text("import netsvc_twisted\nx = 1\n")
    code, lines = failing(tmp_path, "--config", "nothing.py")
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("twistd netsvc: nothing.py: the script created no HttpDaemon")


def test_an_option_after_the_script_arguments_is_refused(tmp_path):
    code, lines = failing(tmp_path, "--config", str(EXAMPLES / "hello.py"), "8080",
                          "--listen", "tcp:0")
    assert code == 1 and lines == [
        "twistd netsvc: --listen comes after the script's arguments (8080): put it "
        "before them, or write -- before the arguments to give it to the script"]


def test_after_a_double_dash_everything_is_the_script_s(tmp_path):
    (tmp_path / "argv.py").write_text(
        "import sys\nsys.exit('argv ' + ' '.join(sys.argv[1:]))\n")
    code, lines = failing(tmp_path, "--config", "argv.py", "--", "1", "--listen", "x")
    assert code == 1
    assert lines == ["twistd netsvc: argv.py: the script exited with 'argv 1 --listen x'"]


def usageError(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """
    The exit status, the last stdout line (twistd prints the usage before
    it) and stderr of a twistd refusing its command line.
    """
    command = twistd()
    child = subprocess.run(
        [*command, "-n", "--pidfile=", f"--logfile={tmp_path / 'twistd.log'}", "netsvc",
         *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    argv0 = command[0] if len(command) == 1 else "-c"
    last = child.stdout.splitlines()[-1] if child.stdout else ""
    return child.returncode, last.replace(f"{argv0} -n: ", "twistd -n: ", 1), child.stderr


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_forwarded_allow_ips_without_proxy_headers_is_a_usage_error(tmp_path, workers):
    """
    Refused with the command line: the script never runs and, under
    --workers, no worker starts (it was "worker 0 could not start").
    """
    ran = tmp_path / "ran"
    (tmp_path / "app.py").write_text(
        f"import pathlib\npathlib.Path({str(ran)!r}).touch()\n"
        "import netsvc_twisted as netsvc\nnetsvc.HttpDaemon()\n")
    code, last, err = usageError(tmp_path, "--config", "app.py", *workers,
                                 "--listen", "tcp:0:interface=127.0.0.1",
                                 "--forwarded-allow-ips", "10.0.0.1")
    assert (code, last, err) == (
        1, "twistd -n: --forwarded-allow-ips needs --proxy-headers", "")
    assert not ran.exists() and not (tmp_path / "twistd.log").exists()


def test_error_names_the_innermost_frame_and_traceback_shows_it_all(tmp_path):
    (tmp_path / "helper.py").write_text("def boom():\n    return {}['x']\n")
    (tmp_path / "app.py").write_text("import helper\n\nhelper.boom()\n")
    code, lines = failing(tmp_path, "--config", "app.py")
    assert code == 1 and lines == [
        "twistd netsvc: helper.py:2: KeyError: 'x' (from app.py:3)"]
    code, lines = failing(tmp_path, "--traceback", "--config", "app.py")
    assert code == 1 and lines[0] == "Traceback (most recent call last):"
    text = "\n".join(lines)
    assert 'app.py", line 3, in <module>' in text and 'helper.py", line 2, in boom' in text
    assert lines[-2:] == ["KeyError: 'x'",
                          "twistd netsvc: helper.py:2: KeyError: 'x' (from app.py:3)"]


def test_daemonised_failure_message_is_whole(tmp_path):
    """
    Without -n twistd forks and its parent reports the child's failure; it
    used to read 100 bytes of it, cutting the message mid-word.
    """
    with busyPort() as port:
        child = subprocess.run(
            [*twistd(), f"--pidfile={tmp_path / 'twistd.pid'}",
             f"--logfile={tmp_path / 'twistd.log'}", "netsvc",
             "--config", str(EXAMPLES / "twistd_app.py"),
             "--listen", f"tcp:{port}:interface=127.0.0.1"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert child.returncode == 1
    first, *rest = child.stderr.splitlines()
    assert first.startswith("twistd netsvc: ") and "twistd_app.py" in first
    assert first.endswith("[Errno 98] Address already in use.")
    assert rest == ["(see the log file for more)"]


# Discovery from real installs, each in its own fresh venv.

def pip(venv: Path, *args: str) -> None:
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", *args],
        check=True, timeout=PIP_TIMEOUT, capture_output=True,
    )


def newVenv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         "--disable-pip-version-check", "-w", str(out), str(ROOT)],
        check=True, timeout=PIP_TIMEOUT, capture_output=True,
    )
    [built] = out.glob("netsvc_twisted-*.whl")
    return built


def helpLists(venv: Path, cwd: Path, wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [*(wrap or []), *twistd(venv / "bin"), "--help"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def sitePlugins(venv: Path) -> Path:
    [plugins] = (venv / "lib").glob("python3*/site-packages/twisted/plugins")
    return plugins


def test_wheel_install_finds_the_plugin_even_read_only(tmp_path, wheel):
    venv = newVenv(tmp_path / "venv")
    pip(venv, str(wheel))
    plugins = sitePlugins(venv)
    assert (plugins / "netsvc_plugin.py").exists()
    # Runs from an empty directory: the source tree is not on sys.path.
    found = helpLists(venv, tmp_path)
    assert found.returncode == 0 and re.search(r"^\s+netsvc\s", found.stdout, re.M)

    # Read-only site-packages: Twisted cannot write dropin.cache.
    for cache in plugins.glob("dropin.cache*"):
        cache.unlink()
    if os.geteuid() == 0:
        # Root ignores file modes: a read-only bind mount in a private
        # mount namespace, and proof that writing there fails.
        assert shutil.which("unshare"), "unshare(1) is needed to test as root"
        wrap = ["unshare", "-m", "sh", "-c",
                f'mount --bind -o ro "{plugins}" "{plugins}" && '
                f'! touch "{plugins}/probe" 2>/dev/null && exec "$0" "$@"']
    else:
        plugins.chmod(0o555)
        wrap = []
        assert not os.access(plugins, os.W_OK)
    try:
        readOnly = helpLists(venv, tmp_path, wrap)
    finally:
        plugins.chmod(0o755)
    assert readOnly.returncode == 0, readOnly.stderr
    assert re.search(r"^\s+netsvc\s", readOnly.stdout, re.M)
    assert "Traceback" not in readOnly.stdout + readOnly.stderr
    assert not (plugins / "dropin.cache").exists()


def test_editable_install_finds_the_plugin(tmp_path, wheel):
    venv = newVenv(tmp_path / "venv")
    # Dependencies from the wheel's metadata first, then the project
    # itself editable (hatchling's .pth puts the source root on sys.path).
    pip(venv, str(wheel))
    pip(venv, "--no-deps", "--force-reinstall", "-e", str(ROOT))
    assert not (sitePlugins(venv) / "netsvc_plugin.py").exists()
    found = helpLists(venv, tmp_path)
    assert found.returncode == 0, found.stderr
    assert re.search(r"^\s+netsvc\s", found.stdout, re.M)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_same_script_standalone_stops_gracefully(signum):
    """
    C{python examples/twistd_app.py ENDPOINT}: the Dispatcher runs the
    reactor and the monitored signal ends it with status 0.
    """
    child = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "twistd_app.py"), "tcp:0:interface=127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = child.stdout.readline()
        port = int(re.search(r"localhost:(\d+)/", line).group(1))
        assert get(port) == (200, b"Hello from netsvc.\n")
        child.send_signal(signum)
        _, err = child.communicate(timeout=30)
        assert (child.returncode, err) == (0, "")
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
