"""
Helpers the tests share, imported rather than written again: daemons on
127.0.0.1, port 0, and blocking HTTP clients run in Twisted's thread pool
so the reactor (run by pytest-twisted) keeps serving while a client
waits; free ports, logged failures, /metrics pages and waits on a
condition done the same way.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer, threads

import netsvc_twisted as netsvc

LOCAL = "tcp:0:interface=127.0.0.1"
TIMEOUT = 20


def freePort() -> int:
    """
    A port of 127.0.0.1 nobody listens on now, for a program that must be
    told its port before it starts (nginx, twistd, a child process); where
    the program can report the port it got from port 0, prefer that, as
    another process may take this one first.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def busyPort() -> Iterator[int]:
    """
    A port of 127.0.0.1 a socket of this process listens on while the
    C{with} block runs, for a start that must fail as "address in use".
    """
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def failuresIn(events, namespace: str = "") -> list:
    """
    The Failures among twisted.logger C{events} (the C{logEvents}
    fixture's), of the loggers whose namespace starts with C{namespace}.
    """
    return [event["log_failure"] for event in events
            if event.get("log_failure") is not None
            and event.get("log_namespace", "").startswith(namespace)]


def metricSamples(text: str) -> dict[tuple[str, tuple], float]:
    """
    A C{/metrics} page (Prometheus text) as {(sample name, sorted label
    pairs): value}, parsed by prometheus_client's own parser.
    """
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def waitUntil(condition: Callable[[], Any], what: str = "the condition",
              deadline: float = TIMEOUT, process: subprocess.Popen | None = None,
              log: Path | None = None) -> Any:
    """
    What C{condition()} returns once it is true, asked every 20 ms; an
    AssertionError naming C{what} after C{deadline} seconds, or as soon as
    C{process} has ended (it will not come true then), with the end of
    C{log} and the process's output.  It blocks: call it from a test the
    reactor does not run, or in a thread (C{threads.deferToThread}).
    """
    end = time.monotonic() + deadline
    while True:
        # Asked before the condition: a process that wrote what was awaited
        # and then ended has its last word checked.
        ended = process is not None and process.poll() is not None
        found = condition()
        if found:
            return found
        if ended or time.monotonic() > end:
            break
        time.sleep(0.02)
    detail = log.read_text() if log is not None and log.exists() else ""
    if ended:
        detail += "".join(stream.read() for stream in (process.stdout, process.stderr)
                          if stream)
    why = f"the process ended ({process.returncode})" if ended else f"not within {deadline} s"
    raise AssertionError(f"{what}: {why}\n{detail[-3000:]}")


@attrs.define
class Reply:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    version: int = 11


async def startDaemon(
    servers: Mapping[str, Any], daemonClass: type = netsvc.HttpDaemon, **kwargs: Any
) -> netsvc.HttpDaemon:
    daemon = daemonClass(LOCAL, **kwargs)
    for path, server in servers.items():
        daemon.attach(path, server)
    await daemon.start()
    assert daemon.startFailure is None, daemon.startFailure
    return daemon


def _fetch(port: int, method: str, path: str, body: bytes | None,
           headers: Mapping[str, str]) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=dict(headers))
        response = connection.getresponse()
        data = response.read()
        return Reply(
            response.status, response.reason,
            {k.lower(): v for k, v in response.getheaders()}, data, response.version,
        )
    finally:
        connection.close()


def fetch(port: int, method: str = "GET", path: str = "/", body: bytes | None = None,
          headers: Mapping[str, str] | None = None) -> defer.Deferred[Reply]:
    return threads.deferToThread(_fetch, port, method, path, body, headers or {})


def _exchange(port: int, data: bytes, readLimit: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        if data:
            s.sendall(data)
        chunks, total = [], 0
        while total < readLimit:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)


def exchange(port: int, data: bytes, readLimit: int = 1 << 24) -> defer.Deferred[bytes]:
    """
    Send raw bytes and read until the server closes the connection.
    """
    return threads.deferToThread(_exchange, port, data, readLimit)


def _sequence(port: int, requests: list[tuple[str, str, bytes | None, dict]]) -> list[Reply]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    replies = []
    try:
        for method, path, body, headers in requests:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            replies.append(Reply(
                response.status, response.reason,
                {k.lower(): v for k, v in response.getheaders()}, response.read(),
                response.version,
            ))
        replies.append(connection.sock is not None)  # type: ignore[arg-type]
    finally:
        connection.close()
    return replies


def fetchSequence(port: int, requests) -> defer.Deferred[list]:
    """
    Several requests on one kept-alive connection; the last item says
    whether the connection was still open afterwards.
    """
    return threads.deferToThread(
        _sequence, port, [(m, p, b, h or {}) for m, p, b, h in requests]
    )


def selfSignedPair():
    """
    A self-signed P-256 key and certificate for "localhost", as
    cryptography objects (pyOpenSSL deprecates its own X509 and PKey).
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def selfSignedCertificate(directory):
    """
    L{selfSignedPair} written to C{directory} as PEM files, for programs
    that read them (nginx): (key path, certificate path).
    """
    from cryptography.hazmat.primitives import serialization

    key, cert = selfSignedPair()
    keyPath, certPath = directory / "key.pem", directory / "cert.pem"
    keyPath.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return keyPath, certPath


class TLSDaemon(netsvc.HttpDaemon):
    """
    An HttpDaemon on a TLS endpoint on 127.0.0.1, port 0, built from
    cryptography objects (ALPN comes from the Site, as with an C{ssl:}
    string, which would load pyOpenSSL objects that pyOpenSSL deprecates).
    """

    def __init__(self, certificate=None, **kwargs):
        super().__init__("ssl:0:interface=127.0.0.1", **kwargs)
        self.certificate = certificate or selfSignedPair()

    def _endpoint(self, reactor):
        from twisted.internet.endpoints import SSL4ServerEndpoint
        from twisted.internet.ssl import CertificateOptions

        key, cert = self.certificate
        options = CertificateOptions(privateKey=key, certificate=cert)
        return SSL4ServerEndpoint(reactor, 0, options, interface="127.0.0.1")


def streamDigest(part, size: int) -> str:
    """
    The SHA-256 of the first C{size} bytes of a stream made of C{part(0)},
    C{part(1)}, ... (what E14's servlet sends), to check a download.
    """
    import hashlib

    digest = hashlib.sha256()
    index, left = 0, size
    while left > 0:
        data = part(index)[:left]
        digest.update(data)
        left -= len(data)
        index += 1
    return digest.hexdigest()


async def started(daemons, daemon):
    """Start C{daemon}, check it listens, have the test stop it: its port."""
    await daemon.start()
    assert daemon.startFailure is None
    daemons.append(daemon)
    return daemon.port()
