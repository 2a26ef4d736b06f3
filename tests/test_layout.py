"""
The package layout is the architecture: one private subpackage per layer,
imports only downwards, no cycles, small modules, and each module naming
its tests. This walks the source (not the imported objects), so function
level imports count and ``TYPE_CHECKING`` blocks do not.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "netsvc_twisted"

#: Layer of each top-level part of the package; a module may import its own
#: part and any part of a lower layer.
LAYERS = {
    "_constants": 0, "_errors": 0, "_interfaces": 0,
    "_events": 1,
    "_http": 2,
    "_files": 3, "_forms": 3, "_rpc": 3, "_hosting": 3,
    "__init__": 4, "testing": 4, "pytest_plugin": 4,
    "json": 4, "xmlrpc": 4, "netrpc": 4,
}

#: Imports between two parts of one layer that are real and one-way, as
#: (importer, imported). Each must be named in the importer's docstring.
ALLOWED_SIDEWAYS: set[tuple[str, str]] = set()

#: Parts that form the ground floor: they import nothing of ours.
GROUND = {name for name, layer in LAYERS.items() if layer == 0}

MAX_LINES = 700
MAX_TOP_FILES = 12


def moduleName(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {moduleName(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _isTypeChecking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def importsOf(path: Path, known: set[str]) -> set[str]:
    """Our modules that `path` imports at run time (anywhere but under
    ``if TYPE_CHECKING``)."""
    name = moduleName(path)
    isPackage = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(base: str, names: list[str]) -> None:
        if not base.startswith("netsvc_twisted"):
            return
        for alias in names:
            candidate = base + "." + alias
            found.add(candidate if candidate in known else base)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _isTypeChecking(child):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("netsvc_twisted"):
                        found.add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = name.split(".")
                    drop = child.level - (1 if isPackage else 0)
                    anchor = anchor[:len(anchor) - drop] if drop else anchor
                    base = ".".join(anchor + ([base] if base else []))
                resolve(base, [a.name for a in child.names])
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(name)
    return found


def part(module: str) -> str:
    """The top-level part of the package a module belongs to."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def violation(importer: str, imported: str) -> str | None:
    """Why importing `imported` from `importer` breaks the layering, or
    None when it is allowed."""
    src, dst = part(importer), part(imported)
    if src == dst:
        return None
    if src in GROUND:
        return f"{importer} is ground floor and imports {imported}"
    if LAYERS[dst] < LAYERS[src]:
        return None
    if LAYERS[dst] == LAYERS[src] and (LAYERS[src] == 4 or (src, dst) in ALLOWED_SIDEWAYS):
        return None
    kind = "sideways" if LAYERS[dst] == LAYERS[src] else "upward"
    return f"{importer} imports {imported} ({kind})"


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: importsOf(path, known) for name, path in mods.items()}


def test_every_part_has_a_layer():
    tops = {part(name) for name in modules()}
    assert tops == set(LAYERS)


def test_top_level_is_the_wings_and_a_few_files():
    files = [p.name for p in PACKAGE.iterdir() if p.is_file()]
    wings = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert len(files) <= MAX_TOP_FILES, files
    assert {"_events", "_http", "_files", "_forms", "_rpc", "_hosting"} <= wings


def test_no_module_is_too_long():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long


def test_imports_only_go_downwards():
    problems = [why for importer, deps in graph().items() for dep in sorted(deps)
                if (why := violation(importer, dep))]
    assert not problems, "\n".join(problems)


def test_the_layering_check_catches_upward_and_sideways_imports():
    assert violation("netsvc_twisted._http._daemon", "netsvc_twisted._hosting._twistd")
    assert violation("netsvc_twisted._events._agent", "netsvc_twisted._http._servlet")
    assert violation("netsvc_twisted._files._server", "netsvc_twisted._forms._servlet")
    assert violation("netsvc_twisted._constants", "netsvc_twisted._errors")
    assert violation("netsvc_twisted._rpc._servlet", "netsvc_twisted")
    assert violation("netsvc_twisted._files._server", "netsvc_twisted._http._servlet") is None


def findCycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    # A package importing its own modules is not a cycle of modules.
    edges = {name: {d for d in deps if not name.startswith(d + ".") and d != "netsvc_twisted"}
             for name, deps in graph().items()}
    assert findCycle(edges) is None


def test_the_cycle_check_finds_a_cycle():
    assert findCycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert findCycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_names_tests_that_exist(name):
    text = modules()[name].read_text()
    first = text.splitlines()[0] if text else ""
    assert first.startswith("# -*- test-case-name: "), f"{name} has no test-case-name line"
    targets = first.split("test-case-name:")[1].split("-*-")[0].strip().split(",")
    for target in targets:
        path = ROOT.joinpath(*target.split(".")).with_suffix(".py")
        assert path.is_file(), f"{name} names {target}, which does not exist"


def test_wings_say_what_they_are():
    for wing in ("_events", "_http", "_files", "_forms", "_rpc", "_hosting"):
        spec = importlib.util.find_spec("netsvc_twisted." + wing)
        doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text()))
        assert doc and 3 <= len(doc.splitlines()) <= 9, wing
