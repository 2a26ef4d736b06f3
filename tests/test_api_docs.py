"""
Issue 14: the API reference covers every public name.

Every name a user can import (C{netsvc_twisted.__all__}, the public RPC
modules, C{testing}, C{pytest_plugin}) and every public method of the
public classes has a docstring; the OSE names say which section of the
spec (or decisions.md) they come from; and each has an entry in the built
API pages (the Sphinx inventory, objects.inv), so a new public name or
method without documentation fails here.  The constants' table gives
their real values.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from test_docs import DOCS, builtDocs  # noqa: F401  (the session fixture)

import netsvc_twisted

#: Modules whose __all__ is public API, with the OSE ones first.
OSE_MODULES = [
    "netsvc_twisted",
    "netsvc_twisted.xmlrpc",
    "netsvc_twisted.json",
    "netsvc_twisted.netrpc",
    "netsvc_twisted.netrpc.xmlrpc",
    "netsvc_twisted.netrpc.json",
]
TESTING_MODULES = ["netsvc_twisted.testing", "netsvc_twisted.pytest_plugin"]

#: Names that are aliases of built-ins (documented by hand).
ALIASES = {"Boolean"}

SPEC = re.compile(r"\b[Ss]pec \d+|\bdecisions\.md\b|\b[Bb]eyond OSE\b")


def _isConstant(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def publicNames() -> list[tuple[str, str, object]]:
    """(module, name, object) for every public name, each object once."""
    seen: dict[int, str] = {}
    found = []
    for module in OSE_MODULES + TESTING_MODULES:
        namespace = importlib.import_module(module)
        for name in namespace.__all__:
            if not name.isidentifier():
                # pytest's assertion rewriting adds @py_builtins and
                # @pytest_ar to the globals __init__ builds __all__ from.
                continue
            value = getattr(namespace, name)
            if not _isConstant(value):
                if id(value) in seen:
                    continue
                seen[id(value)] = f"{module}.{name}"
            found.append((module, name, value))
    return found


def publicMethods(cls: type) -> list[tuple[str, object, type]]:
    """
    The public methods and properties a user sees on C{cls}: defined in
    the class or in a private base of the package (a public base documents
    its own).
    """
    public = {id(value) for _, _, value in publicNames()}
    found = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next(base for base in cls.__mro__ if name in vars(base))
        if not owner.__module__.startswith("netsvc_twisted"):
            continue
        if owner is not cls and id(owner) in public:
            continue
        raw = vars(owner)[name]
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if not (inspect.isfunction(raw) or isinstance(raw, property)):
            continue
        found.append((name, raw, owner))
    return found


NAMES = publicNames()
CLASSES = [(m, n, v) for m, n, v in NAMES if inspect.isclass(v)]


def _docstring(value: object) -> str:
    return inspect.getdoc(value) or ""


@pytest.mark.parametrize(
    "module, name, value",
    [(m, n, v) for m, n, v in NAMES if not _isConstant(v) and n not in ALIASES],
    ids=[f"{m}.{n}" for m, n, v in NAMES if not _isConstant(v) and n not in ALIASES],
)
def test_public_name_has_a_docstring(module, name, value):
    own = getattr(value, "__doc__", None)
    assert own and own.strip(), f"{module}.{name} has no docstring"
    if module in OSE_MODULES and (inspect.isclass(value) or inspect.isfunction(value)):
        assert SPEC.search(own), (
            f"{module}.{name}: the docstring does not say which section of the OSE spec "
            f"(spec N.N), decisions.md, or 'Beyond OSE' it comes from"
        )


def test_every_public_method_has_a_docstring_naming_its_arguments():
    missing, unnamed = [], []
    for module, name, cls in CLASSES:
        if issubclass(cls, BaseException):
            continue
        for method, raw, owner in publicMethods(cls):
            where = f"{module}.{name}.{method}"
            doc = _docstring(getattr(cls, method)) if not isinstance(raw, property) \
                else (raw.__doc__ or "")
            if not doc.strip():
                missing.append(where)
                continue
            function = raw.fget if isinstance(raw, property) else raw
            if getattr(function, "__code__", None) is not None and \
                    function.__code__.co_varnames[1:2] == ("args",) and \
                    function.__name__ != method:
                continue  # a generated delegate; its docstring is the target's
            try:
                parameters = list(inspect.signature(function).parameters.values())[1:]
            except (TypeError, ValueError):
                continue
            for parameter in parameters:
                if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                    continue
                if not re.search(r"\b%s\b" % re.escape(parameter.name), doc):
                    unnamed.append(f"{where}: {parameter.name}")
    assert not missing, "public methods without a docstring:\n" + "\n".join(missing)
    assert not unnamed, "docstrings that do not mention an argument:\n" + "\n".join(unnamed)


def _inventory(html: Path) -> set[str]:
    from sphinx.util.inventory import InventoryFile

    with open(html / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    names = set()
    for kind, entries in inventory.items():
        if kind.startswith("py:"):
            names.update(entries)
    return names


def test_every_public_name_and_method_has_an_entry(builtDocs):  # noqa: F811
    documented = _inventory(builtDocs)
    where = {id(v): f"{m}.{n}" for m, n, v in NAMES if not _isConstant(v)}
    missing = []
    for module, name, value in NAMES:
        canonical = f"{module}.{name}" if _isConstant(value) else where[id(value)]
        if canonical not in documented and f"netsvc_twisted.{name}" not in documented:
            missing.append(canonical)
    for module, name, cls in CLASSES:
        if issubclass(cls, BaseException):
            continue
        base = where[id(cls)]
        for method, _, _ in publicMethods(cls):
            if f"{base}.{method}" not in documented:
                missing.append(f"{base}.{method}")
    assert not missing, (
        "public names without an entry in docs/api (add them to the page of "
        "their group):\n" + "\n".join(missing)
    )


def test_constants_table_gives_the_real_values():
    page = (Path(DOCS) / "api" / "constants.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \{constant\}`(\w+)` \| ([^|]+) \|", page, re.MULTILINE)
    messages = re.findall(r"\| \{constant\}`(\w+_MESSAGE)` \| ('[^']*') \|", page)
    wrong = [
        f"{name}: the page says {text.strip()}, the code {getattr(netsvc_twisted, name)!r}"
        for name, text in rows + messages
        if text.strip() != repr(getattr(netsvc_twisted, name))
    ]
    constants = {n for n in netsvc_twisted.__all__ if n.isupper()}
    assert not wrong, "\n".join(wrong)
    assert {name for name, _ in rows + messages} == constants
