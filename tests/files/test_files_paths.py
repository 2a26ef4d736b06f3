"""Pure tests of FileServer's path checks and confinement."""

import os

import pytest

from netsvc_twisted._files._confinement import Confinement, servletPathAllowed


@pytest.mark.parametrize("path", [
    "", "a.txt", "dir/", "dir/a.txt", "a b/c%d.txt", "x..y", "name.", "ünï.txt"])
def test_allowed(path):
    assert servletPathAllowed(path)


@pytest.mark.parametrize("path", [
    "..", "../x", "a/../b", "a/..", ".", "./a", "a/./b", "/etc/passwd",
    "a\\b", "..\\x", "a\x00b", ".hidden", "d/.git/config", "%2e%2e/x",
    "%2E%2E", "a%2fb", "a%5cb", "x%00"])
def test_refused(path):
    assert not servletPathAllowed(path)


def test_dot_files_when_enabled():
    assert servletPathAllowed(".well-known/x", dotFiles=True)
    assert not servletPathAllowed("../x", dotFiles=True)


def test_confinement(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "in.txt").write_text("x")
    (tmp_path / "out.txt").write_text("x")
    os.symlink(tmp_path / "out.txt", root / "out-link")
    os.symlink(root / "in.txt", root / "in-link")
    os.symlink(tmp_path, root / "up")
    (tmp_path / "root-sibling").mkdir()
    confined = Confinement(str(root))
    assert confined.contains(str(root))
    assert confined.contains(str(root / "in.txt"))
    assert confined.contains(str(root / "in-link"))
    assert confined.contains(str(root / "missing"))
    assert not confined.contains(str(root / "out-link"))
    assert not confined.contains(str(root / "up" / "out.txt"))
    assert not confined.contains(str(tmp_path / "root-sibling"))
    assert Confinement(str(root), followLinks=True).contains(str(root / "out-link"))
