"""
The Sphinx site in docs/ builds with warnings as errors.

This is the check issue 4 asks for: a broken cross-reference, a docstring
whose markup does not parse, or a page missing from the toctree fails the
test suite, not only a separate docs job.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")

# What the build needs beyond the package itself (the "test" extra).
REQUIRED = {"sphinx": "sphinx", "myst_parser": "myst-parser"}


def test_docs_build_without_warnings(tmp_path):
    missing = [dist for module, dist in REQUIRED.items() if importlib.util.find_spec(module) is None]
    if missing:
        pytest.fail(
            "building the docs needs %s; install the test extra "
            "(pip install -e '.[test]')" % ", ".join(missing)
        )
    command = [
        sys.executable, "-m", "sphinx",
        "-W", "--keep-going", "-E", "-q",
        "-b", "html",
        "-d", str(tmp_path / "doctrees"),
        DOCS, str(tmp_path / "html"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        "sphinx build failed (exit %d):\n%s\n%s"
        % (result.returncode, result.stdout[-4000:], result.stderr[-8000:])
    )
    assert (tmp_path / "html" / "index.html").exists()
