"""The module cache: import by location, reload on change, dependencies."""

import gc
import os
import sys
import textwrap
import weakref

import pytest

from netsvc_twisted._files._modulecache import ModuleCache

_tick = [2_000_000_000 * 10**9]


def write(path, text):
    """Write a module and give it a fresh, strictly increasing mtime so
    the test never depends on the file system's timestamp resolution."""
    path.write_text(textwrap.dedent(text))
    _tick[0] += 10**9
    os.utime(path, ns=(_tick[0], _tick[0]))


@pytest.fixture
def cache():
    cache = ModuleCache()
    yield cache
    for label in cache.cachedModules():
        cache.unloadModule(label)


def test_singleton_state(cache, tmp_path):
    write(tmp_path / "m.py", "value = 1\n")
    module = cache.importModule("m", str(tmp_path))
    assert ModuleCache().importModule("m", str(tmp_path)) is module
    assert module.__name__ in ModuleCache().cachedModules()
    assert sys.modules[module.__name__] is module
    assert module.__name__.startswith("_netsvc_")


def test_unchanged_is_not_reloaded(cache, tmp_path):
    write(tmp_path / "m.py", "import itertools\ncounter = next(itertools.count())\n")
    first = cache.importModule("m", str(tmp_path))
    assert cache.importModule("m", str(tmp_path)) is first


def test_edit_reloads(cache, tmp_path):
    write(tmp_path / "m.py", "value = 1\n")
    assert cache.importModule("m", str(tmp_path)).value == 1
    write(tmp_path / "m.py", "value = 2\n")
    assert cache.importModule("m", str(tmp_path)).value == 2


def test_same_mtime_different_size_reloads(cache, tmp_path):
    path = tmp_path / "m.py"
    path.write_text("value = 1\n")
    os.utime(path, ns=(5, 5))
    assert cache.importModule("m", str(tmp_path)).value == 1
    path.write_text("value = 222\n")
    os.utime(path, ns=(5, 5))
    assert cache.importModule("m", str(tmp_path)).value == 222


def test_same_name_in_two_directories(cache, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a" / "index.py", "where = 'a'\n")
    write(tmp_path / "b" / "index.py", "where = 'b'\n")
    a = cache.importModule("index", str(tmp_path / "a"))
    b = cache.importModule("index", str(tmp_path / "b"))
    assert (a.where, b.where) == ("a", "b")
    assert a.__name__ != b.__name__


def test_missing_module(cache, tmp_path):
    with pytest.raises(ImportError):
        cache.importModule("nothere", str(tmp_path))


def test_not_on_sys_path(cache, tmp_path):
    write(tmp_path / "secretmod.py", "x = 1\n")
    cache.importModule("secretmod", str(tmp_path))
    assert str(tmp_path) not in sys.path
    assert "secretmod" not in sys.modules


def test_dependency_reload(cache, tmp_path):
    write(tmp_path / "template.py", "title = 'one'\n")
    write(tmp_path / "plainly.py", "word = 'plain'\n")
    write(tmp_path / "page.py", f"""
        import os, sys
        from netsvc_twisted._files._modulecache import ModuleCache
        template = ModuleCache().importModule("template", os.path.dirname(__file__))
        sys.path.insert(0, {str(tmp_path)!r})
        try:
            import plainly
        finally:
            sys.path.pop(0)
        def render():
            return template.title + "/" + plainly.word
    """)
    try:
        page = cache.importModule("page", str(tmp_path))
        assert page.render() == "one/plain"
        info = cache.moduleInfo(page.__name__)
        assert info["children"] == [page.template.__name__]
        # Touching only the template reloads the page too.
        write(tmp_path / "template.py", "title = 'two'\n")
        page2 = cache.importModule("page", str(tmp_path))
        assert page2 is not page
        assert page2.render() == "two/plain"
        # A plain import is not tracked: editing it does not reload.
        write(tmp_path / "plainly.py", "word = 'changed'\n")
        assert cache.importModule("page", str(tmp_path)) is page2
    finally:
        sys.modules.pop("plainly", None)


def test_dependency_of_dependency(cache, tmp_path):
    write(tmp_path / "leaf.py", "n = 1\n")
    write(tmp_path / "mid.py", """
        import os
        from netsvc_twisted._files._modulecache import ModuleCache
        leaf = ModuleCache().importModule("leaf", os.path.dirname(__file__))
    """)
    write(tmp_path / "top.py", """
        import os
        from netsvc_twisted._files._modulecache import ModuleCache
        mid = ModuleCache().importModule("mid", os.path.dirname(__file__))
    """)
    top = cache.importModule("top", str(tmp_path))
    assert top.mid.leaf.n == 1
    write(tmp_path / "leaf.py", "n = 2\n")
    assert cache.importModule("top", str(tmp_path)).mid.leaf.n == 2


def test_syntax_error_then_fix(cache, tmp_path):
    write(tmp_path / "m.py", """
        class Marker:
            pass
        marker = Marker()
        value = 1
    """)
    module = cache.importModule("m", str(tmp_path))
    label = module.__name__
    alive = weakref.ref(module.marker)
    del module
    write(tmp_path / "m.py", "value = (\n")
    with pytest.raises(SyntaxError):
        cache.importModule("m", str(tmp_path))
    # The old good version is gone, not silently kept serving.
    assert label not in sys.modules
    assert label not in cache.cachedModules()
    gc.collect()
    assert alive() is None
    with pytest.raises(SyntaxError):
        cache.importModule("m", str(tmp_path))
    write(tmp_path / "m.py", "value = 3\n")
    assert cache.importModule("m", str(tmp_path)).value == 3


def test_runtime_error_unloads(cache, tmp_path):
    write(tmp_path / "m.py", "raise RuntimeError('boom')\n")
    with pytest.raises(RuntimeError):
        cache.importModule("m", str(tmp_path))
    assert cache.cachedModules() == []


def test_vanished_file(cache, tmp_path):
    write(tmp_path / "m.py", "value = 1\n")
    label = cache.importModule("m", str(tmp_path)).__name__
    os.unlink(tmp_path / "m.py")
    with pytest.raises(ImportError):
        cache.importModule("m", str(tmp_path))
    assert label not in cache.cachedModules()
    assert label not in sys.modules


def test_dependency_failure_propagates(cache, tmp_path):
    write(tmp_path / "dep.py", "x = 1\n")
    write(tmp_path / "top.py", """
        import os
        from netsvc_twisted._files._modulecache import ModuleCache
        dep = ModuleCache().importModule("dep", os.path.dirname(__file__))
    """)
    cache.importModule("top", str(tmp_path))
    write(tmp_path / "dep.py", "x = (\n")
    with pytest.raises(SyntaxError):
        cache.importModule("top", str(tmp_path))
    write(tmp_path / "dep.py", "x = 5\n")
    assert cache.importModule("top", str(tmp_path)).dep.x == 5


def test_force_reload_purge_and_info(cache, tmp_path):
    write(tmp_path / "m.py", "value = 1\n")
    first = cache.importModule("m", str(tmp_path))
    cache.forceReload("m", str(tmp_path))
    second = cache.importModule("m", str(tmp_path))
    assert second is not first
    info = cache.moduleInfo(second.__name__)
    assert info["name"] == "m"
    assert info["file"] == str(tmp_path / "m.py")
    assert info["module"] is second
    assert info["directUses"] == 2
    os.unlink(tmp_path / "m.py")
    cache.purgeDefunct()
    assert cache.cachedModules() == []
    with pytest.raises(KeyError):
        cache.moduleInfo(second.__name__)


def test_package(cache, tmp_path):
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "pkg" / "__init__.py", "value = 'pkg'\n")
    assert cache.importModule("pkg", str(tmp_path)).value == "pkg"


def test_cycle_does_not_recurse(cache, tmp_path):
    for name, other in (("a", "b"), ("b", "a")):
        write(tmp_path / f"{name}.py", f"""
            import os
            from netsvc_twisted._files._modulecache import ModuleCache
            {other} = ModuleCache().importModule("{other}", os.path.dirname(__file__))
            name = "{name}"
        """)
    a = cache.importModule("a", str(tmp_path))
    assert a.b.a is a
    assert cache.importModule("a", str(tmp_path)) is a
