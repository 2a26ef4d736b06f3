import pytest

from netsvc_twisted._http._paths import MountTable, PathError, normalisePath


@pytest.mark.parametrize("raw, expected", [
    (b"/", "/"),
    (b"/a/b", "/a/b"),
    (b"/a/b/", "/a/b/"),
    (b"//a///b", "/a/b"),
    (b"/a/./b", "/a/b"),
    (b"/a/../b", "/b"),
    (b"/a/..", "/"),
    (b"/a/b/..", "/a/"),
    (b"/%7Euser/x%20y", "/~user/x y"),
    (b"/a%2Fb", "/a/b"),
    (b"/a/%2e%2e/b", "/b"),
    (b"/caf%C3%A9", "/caf\u00e9"),
    (b"/caf%E9", "/caf\u00e9"),  # not UTF-8: Latin-1
    (b"/a+b", "/a+b"),
])
def test_normalise(raw, expected):
    assert normalisePath(raw) == expected


@pytest.mark.parametrize("raw, status", [
    (b"/..", 403),
    (b"/a/../..", 403),
    (b"/%2e%2e/etc/passwd", 403),
    (b"/a/%2E%2E/%2e%2e/x", 403),
    (b"/bad%zz", 400),
    (b"/bad%4", 400),
    (b"relative", 400),
    (b"/nul%00byte", 400),
])
def test_refused(raw, status):
    with pytest.raises(PathError) as caught:
        normalisePath(raw)
    assert caught.value.status == status


def test_mount_resolution_table():
    """
    The table of spec 1.3: servers at /test and /.
    """
    mounts = MountTable()
    mounts.attach("/test", "T")
    mounts.attach("/", "R")
    assert mounts.resolve("/test/echo") == ("/test", "T", "echo")
    assert mounts.resolve("/test") == ("/test", "T", "")
    assert mounts.resolve("/test/") == ("/test", "T", "")
    assert mounts.resolve("/test/a/b/") == ("/test", "T", "a/b/")
    assert mounts.resolve("/other/x") == ("/", "R", "other/x")
    assert mounts.resolve("/") == ("/", "R", "")
    assert mounts.resolve("/testing") == ("/", "R", "testing")


def test_longest_mount_and_detach():
    mounts = MountTable()
    mounts.attach("/a", "A")
    mounts.attach("/a/b", "B")
    assert mounts.resolve("/a/b/c") == ("/a/b", "B", "c")
    assert mounts.resolve("/a/bc") == ("/a", "A", "bc")
    mounts.attach("/a/b", None)
    assert mounts.resolve("/a/b/c") == ("/a", "A", "b/c")
    assert mounts.resolve("/x") is None
