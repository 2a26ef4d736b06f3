"""
Issue 14: the README's set-up is two commands on a fresh machine, the
first a light install (the package and its runtime dependencies) that is
enough to run every example, the second the test command, which .ci/run
runs exactly.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    """The indented command lines of the README's Set-up section."""
    section = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_two_commands_light_install_first():
    first, second = commands()
    assert "pip install -e . " in first and "[" not in first, first
    assert "examples/" in first
    assert second.startswith("pip install -q -e '.[test]' && "), second
    assert second.endswith("python -m pytest -q"), second


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands()[1] in ci, ".ci/run must run the README's test command as written"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtimeModules() -> set[str]:
    """Top-level modules the package's runtime dependencies provide."""
    requirements = importlib.metadata.requires("netsvc_twisted") or []
    runtime = {
        _normalise(re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0])
        for requirement in requirements if "extra ==" not in requirement
    }
    provided = set()
    for module, distributions in importlib.metadata.packages_distributions().items():
        if any(_normalise(d) in runtime for d in distributions):
            provided.add(module)
    return provided


def _guarded(tree: ast.Module) -> set[int]:
    """Lines of imports inside try/except ImportError (optional extras)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            lines.update(n.lineno for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return lines


def test_examples_need_only_the_runtime_dependencies():
    """No example (except the tests of examples/testing) imports a test-only package."""
    allowed = _runtimeModules() | set(sys.stdlib_module_names) | {"netsvc_twisted"}
    assert {"twisted", "zope", "multipart"} <= allowed
    examples = ROOT / "examples"
    local = {p.stem for p in examples.rglob("*.py")}
    wrong = []
    for path in sorted(examples.rglob("*.py")):
        if "testing" in path.relative_to(examples).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = _guarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in allowed and top not in local and node.lineno not in optional:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert not wrong, (
        "examples import packages that pip install -e . does not install:\n" + "\n".join(wrong)
    )
