"""A corpus of path traversal attempts, sent as raw bytes: none may get
anything but 400/403/404, nor any byte of a file outside the directory
(or of a hidden file inside it)."""

import os

import pytest
import pytest_twisted

from netsvc_twisted._files._server import FileServer

from support import exchange, startDaemon

SECRET = b"TOPSECRET-4b1d"
HIDDEN = b"HIDDEN-77c2"

CORPUS = [
    b"/../secret.txt",
    b"/..%2fsecret.txt",
    b"/..%2Fsecret.txt",
    b"/%2e%2e/secret.txt",
    b"/%2E%2E/secret.txt",
    b"/%2e%2e%2fsecret.txt",
    b"/.%2e/secret.txt",
    b"/%2e./secret.txt",
    b"/%2e%2e%5csecret.txt",
    b"/..%5csecret.txt",
    b"/..\\secret.txt",
    b"/\\..\\secret.txt",
    b"/%252e%252e/secret.txt",
    b"/%252e%252e%252fsecret.txt",
    b"/..%255csecret.txt",
    b"/%25%32%65%25%32%65/secret.txt",
    b"/sub/../../secret.txt",
    b"/sub/%2e%2e/%2e%2e/secret.txt",
    b"/sub/..%2f..%2fsecret.txt",
    b"/sub%2f..%2f..%2fsecret.txt",
    b"/sub/./../../secret.txt",
    b"/./../secret.txt",
    b"/hello.txt/../../secret.txt",
    b"/hello.txt/..%2f..%2fsecret.txt",
    b"/..;/secret.txt",
    b"/.../secret.txt",
    b"/..../secret.txt",
    b"/....//secret.txt",
    b"/%2e%2e%2e/secret.txt",
    b"/..%00/secret.txt",
    b"/%00../secret.txt",
    b"/hello.txt%00",
    b"/hello.txt%00.png",
    b"/%00",
    b"/..%09/secret.txt",
    b"/..%20/secret.txt",
    b"/%c0%ae%c0%ae/secret.txt",
    b"/%c0%ae%c0%ae%c0%afsecret.txt",
    b"/%e0%80%ae%e0%80%ae/secret.txt",
    b"/..%c0%afsecret.txt",
    b"/%uff0e%uff0e/secret.txt",
    b"/%ef%bc%8e%ef%bc%8e/secret.txt",
    b"/%",
    b"/%2",
    b"/%zz/secret.txt",
    b"/../../../../../../etc/passwd",
    b"/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    b"/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/....//....//....//etc/passwd",
    b"//etc/passwd",
    b"/%2fetc%2fpasswd",
    b"/%2Fetc/passwd",
    b"/etc/passwd",
    b"/C:%5cwindows%5cwin.ini",
    b"/\\etc\\passwd",
    b"/file:///etc/passwd",
    b"/link-out.txt",
    b"/dirlink/secret.txt",
    b"/dirlink%2fsecret.txt",
    b"/dirlink/root/hello.txt/../../secret.txt",
    b"/.hidden",
    b"/%2ehidden",
    b"/sub/.hidden",
    b"/sub/%2ehidden",
    b"/.git/config",
    b"/sub/..%2f.hidden",
    b"/#/../secret.txt",
    b"/?/../secret.txt",
    b"..%2fsecret.txt",
    b"secret.txt",
    b"*",
    b"http://x/../secret.txt",
    b"http://x/%2e%2e/secret.txt",
    b"http://127.0.0.1/../../etc/passwd",
    b"ftp://x/secret.txt",
]


@pytest.fixture
def root(tmp_path):
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello")
    (root / ".hidden").write_bytes(HIDDEN)
    (root / "sub").mkdir()
    (root / "sub" / ".hidden").write_bytes(HIDDEN)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(HIDDEN)
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(tmp_path, root / "dirlink")
    return root


def request(target):
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def check(raw, target):
    statusLine = raw.split(b"\r\n", 1)[0]
    assert statusLine.split(b" ")[1] in (b"400", b"403", b"404"), (target, raw[:200])
    assert SECRET not in raw, target
    assert HIDDEN not in raw, target
    assert b"root:" not in raw, target
    assert b"[fonts]" not in raw, target


def test_corpus_size():
    assert len(CORPUS) >= 50
    assert len(set(CORPUS)) == len(CORPUS)


@pytest_twisted.ensureDeferred
async def test_traversal_corpus(daemons, root):
    daemon = await startDaemon({"/": FileServer(str(root)),
                                "/files": FileServer(str(root / "sub"))})
    daemons.append(daemon)
    port = daemon.port()
    # The server does serve what it should.
    raw = await exchange(port, request(b"/hello.txt"))
    assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b"hello")
    for target in CORPUS:
        check(await exchange(port, request(target)), target)
        if target.startswith(b"/"):
            mounted = b"/files" + target
            check(await exchange(port, request(mounted)), mounted)

