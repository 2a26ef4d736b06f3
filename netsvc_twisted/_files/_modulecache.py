# -*- test-case-name: tests.files.test_modulecache -*-
"""
OSE's module cache (spec 6.4): import servlet files by location, reload
them when they (or modules they imported through the cache) change.

Servlet files live in the served directory, not on ``sys.path``; each is
registered in ``sys.modules`` under a private label derived from its path
so two ``index.py`` files in different directories never clash.

Source files are compiled from their text on every (re)load rather than
through ``__pycache__``: the bytecode cache validates by whole-second
mtime and size, which would serve a stale servlet after a quick edit.
A failed reload unloads the module, so the previous good version is not
kept alive by accident and every later request reports the error until
the file is fixed.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import time
import types
from typing import Optional

__all__ = ["ModuleCache"]

_PREFIX = "_netsvc_"


def _label(stem: str) -> str:
    """Collision-free sys.modules key for a file path without extension."""
    digest = hashlib.md5(stem.encode("utf-8", "surrogateescape")).hexdigest()
    return "%s%s_%d" % (_PREFIX, digest, len(stem))


def _stamp(path: str) -> Optional[tuple[int, int, int]]:
    """What "the file changed" means: mtime in ns, size, inode.

    Size and inode catch edits that land within one timestamp tick and
    atomic replacements (editors that write a new file and rename it).
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _find(name: str, directory: str) -> Optional[tuple[str, str]]:
    """Locate module `name` in exactly `directory`: (path, kind).

    Kinds: "source", "package", "compiled", "extension"; the order
    mirrors the old ``imp.find_module``: package, then source, compiled
    and extension files.
    """
    base = os.path.join(directory, name)
    init = os.path.join(base, "__init__.py")
    if os.path.isdir(base) and os.path.isfile(init):
        return init, "package"
    for suffix in importlib.machinery.SOURCE_SUFFIXES:
        if os.path.isfile(base + suffix):
            return base + suffix, "source"
    for suffix in importlib.machinery.BYTECODE_SUFFIXES:
        if os.path.isfile(base + suffix):
            return base + suffix, "compiled"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.isfile(base + suffix):
            return base + suffix, "extension"
    return None


class _Entry:
    """Bookkeeping for one cached module (spec 6.4)."""

    __slots__ = ("name", "label", "file", "kind", "stamp", "module",
                 "generation", "children", "lastAccess", "directUses",
                 "indirectUses", "forced")

    def __init__(self, name: str, label: str) -> None:
        self.name = name
        self.label = label
        self.file = ""
        self.kind = ""
        self.stamp: Optional[tuple[int, int, int]] = None
        self.module: Optional[types.ModuleType] = None
        self.generation = 0
        self.children: list[str] = []
        self.lastAccess = 0.0
        self.directUses = 0
        self.indirectUses = 0
        self.forced = False


class _CacheState:
    """The process-wide cache behind every ModuleCache() handle."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.generation = 0
        # Labels being executed right now: a cycle of cache imports must
        # not re-enter a module that is still running its body.
        self.loading: set[str] = set()


_state = _CacheState()


class ModuleCache:
    """Handle onto the process-wide module cache; every instance shares
    the same state, like OSE's singleton.

    Spec 6.4.
    """

    def __init__(self) -> None:
        self._state = _state

    # -- public OSE API -------------------------------------------------

    def importModule(self, name: str, directory: str) -> types.ModuleType:
        """Import (or reload when changed) module `name` found in exactly
        `directory`; raises ImportError if it is not there and any error
        its code raises while loading."""
        directory = os.path.abspath(directory)
        found = _find(name, directory)
        stem = os.path.join(directory, name)
        label = _label(stem)
        entry = self._state.entries.get(label)
        if found is None:
            if entry is not None:
                self.unloadModule(label)
            raise ImportError("No module named %r in %r" % (name, directory),
                              name=name)
        path, kind = found
        if entry is None:
            entry = _Entry(name, label)
            self._state.entries[label] = entry
        if label in self._state.loading:
            # A cycle of cache imports: hand back the half-run module, as
            # a plain import statement would.
            return sys.modules.get(label) or entry.module  # type: ignore[return-value]
        if entry.file != path or entry.module is None:
            entry.file, entry.kind = path, kind
            self._load(entry)
        else:
            self._refresh(entry, set())
        entry.lastAccess = time.time()
        entry.directUses += 1
        assert entry.module is not None
        return entry.module

    def forceReload(self, name: str, directory: str) -> None:
        """Reload `name` on its next importModule().

        C{directory} is where it lives (spec 6.4).
        """
        label = _label(os.path.join(os.path.abspath(directory), name))
        entry = self._state.entries.get(label)
        if entry is not None:
            entry.forced = True

    def unloadModule(self, label: str) -> None:
        """Forget a module: drop it from the cache and sys.modules.

        C{label} is one of C{cachedModules()} (spec 6.4).
        """
        self._state.entries.pop(label, None)
        sys.modules.pop(label, None)

    def purgeDefunct(self) -> None:
        """Unload every module whose file no longer exists."""
        for label, entry in list(self._state.entries.items()):
            if not os.path.exists(entry.file):
                self.unloadModule(label)

    def cachedModules(self) -> list[str]:
        """Labels of the modules currently cached."""
        return list(self._state.entries)

    def moduleInfo(self, label: str) -> dict:
        """The bookkeeping record of one cached module (KeyError if
        unknown).

        C{label} is one of C{cachedModules()} (spec 6.4).
        """
        entry = self._state.entries[label]
        return {
            "name": entry.name, "label": entry.label, "file": entry.file,
            "mtime": entry.stamp[0] / 1e9 if entry.stamp else None,
            "module": entry.module, "generation": entry.generation,
            "children": list(entry.children),
            "lastAccess": entry.lastAccess,
            "directUses": entry.directUses,
            "indirectUses": entry.indirectUses,
        }

    # -- internals --------------------------------------------------------

    def _refresh(self, entry: _Entry, visiting: set[str]) -> None:
        """Reload `entry` if it or any dependency changed (recursively)."""
        if entry.label in visiting:
            return
        visiting.add(entry.label)
        directory = os.path.dirname(entry.file)
        if entry.kind == "package":
            directory = os.path.dirname(directory)
        found = _find(entry.name, directory)
        stamp = _stamp(entry.file)
        if found is None or stamp is None:
            self.unloadModule(entry.label)
            raise ImportError("Module file vanished: %r" % entry.file,
                              name=entry.name, path=entry.file)
        stale = entry.forced or stamp != entry.stamp
        if found != (entry.file, entry.kind):
            # e.g. a .py source appeared next to a compiled module.
            entry.file, entry.kind = found
            stale = True
        for childLabel in entry.children:
            child = self._state.entries.get(childLabel)
            if child is None:
                stale = True
                continue
            if childLabel in visiting:
                # A cycle: that module is being checked further up.
                continue
            try:
                self._refresh(child, visiting)
            except Exception:
                stale = True
                continue
            child.indirectUses += 1
            if child.generation > entry.generation:
                stale = True
        if stale:
            self._load(entry)

    def _load(self, entry: _Entry) -> None:
        """(Re)execute the module file into a fresh module object.

        On failure the entry is unloaded and the exception propagates.
        """
        state = self._state
        module = self._execute(entry)
        module_children = sorted({
            value.__name__ for value in vars(module).values()
            if isinstance(value, types.ModuleType)
            and value.__name__.startswith(_PREFIX)
            and value.__name__ != entry.label})
        state.generation += 1
        entry.module = module
        entry.generation = state.generation
        entry.children = module_children
        entry.forced = False
        sys.modules[entry.label] = module

    def _execute(self, entry: _Entry) -> types.ModuleType:
        label, path = entry.label, entry.file
        stamp = _stamp(path)
        if entry.kind in ("source", "package"):
            module = types.ModuleType(label)
            module.__file__ = path
            module.__spec__ = importlib.util.spec_from_file_location(
                label, path, submodule_search_locations=(
                    [os.path.dirname(path)] if entry.kind == "package"
                    else None))
            module.__loader__ = module.__spec__.loader if module.__spec__ \
                else None
            if entry.kind == "package":
                module.__path__ = [os.path.dirname(path)]
                module.__package__ = label
            else:
                module.__package__ = ""
            module.__cached__ = None  # type: ignore[attr-defined]
            runner = self._runSource
        else:
            spec = importlib.util.spec_from_file_location(label, path)
            if spec is None or spec.loader is None:
                self.unloadModule(label)
                raise ImportError("Cannot load %r" % path, path=path)
            module = importlib.util.module_from_spec(spec)
            runner = self._runSpec
        # Registered before execution so that code inside the module can
        # find itself (dataclasses, pickling, recursive cache imports).
        sys.modules[label] = module
        state = self._state
        state.loading.add(label)
        try:
            runner(module, path)
        except BaseException:
            state.loading.discard(label)
            self.unloadModule(label)
            del module
            raise
        state.loading.discard(label)
        entry.stamp = stamp
        return module

    @staticmethod
    def _runSource(module: types.ModuleType, path: str) -> None:
        with open(path, "rb") as handle:
            source = handle.read()
        code = compile(source, path, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    @staticmethod
    def _runSpec(module: types.ModuleType, path: str) -> None:
        spec = module.__spec__
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(module)
