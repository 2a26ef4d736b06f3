"""
A real nginx on 127.0.0.1 for the differential tests: a generated
config in a temporary directory, a free port, started in the foreground
and stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from support import freePort

#: The config: every request is answered 200 with its target as the
#: body, the body (if any) read and dropped; short timeouts so a case
#: nginx waits on ends quickly; header buffers as large as our head limit.
CONFIG = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_header_timeout 5s;
    client_body_timeout 5s;
    keepalive_timeout 5s;
    large_client_header_buffers 4 16k;
    client_max_body_size 0;
    default_type text/plain;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "$request_uri"; }}
    }}
}}
"""


def nginxBinary() -> str | None:
    """
    The nginx to run; in CI a missing nginx fails instead of skipping.
    """
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    return found


class Nginx:
    """
    An nginx process answering 200 on C{port}; a context manager.
    """

    def __init__(self) -> None:
        self.binary = nginxBinary()
        self.prefix = tempfile.mkdtemp(prefix="nginx-diff")
        self.port = 0
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        self.port = freePort()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONFIG.format(prefix=self.prefix, port=self.port))
        self.process = subprocess.Popen(
            [self.binary, "-p", self.prefix, "-c", conf, "-e", os.path.join(
                self.prefix, "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read()!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("nginx did not start listening")

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # nginx's "fast shutdown"
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(self.prefix, ignore_errors=True)
