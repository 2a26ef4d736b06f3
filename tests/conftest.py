import sys
from pathlib import Path

import runpy

import pytest
import pytest_twisted
from twisted.logger import globalLogPublisher

from netsvc_twisted._http._budget import bodyMemory

# Test modules share helpers by basename (``from test_twistd_plugin import
# ...``) across the per-layer folders; pytest puts a folder on sys.path
# only once it collects from it, so ``pytest tests/http`` alone would not
# find tests/hosting's helpers.  Every folder is on the path from the start.
for _folder in sorted(p for p in Path(__file__).resolve().parent.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_"))):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))


@pytest.fixture
def daemons():
    """
    Collects daemons started by a test and stops them afterwards.
    """
    started = []
    yield started
    for daemon in started:
        pytest_twisted.blockon(daemon.stop())


@pytest.fixture
def logEvents():
    """Every event logged while the test runs, in order."""
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


@pytest.fixture
def budget():
    """
    The process's body-memory budget, empty at the start, given back its
    limit afterwards; no request may keep a share of it.
    """
    limit = bodyMemory.limit
    assert bodyMemory.used == 0
    yield bodyMemory
    bodyMemory.limit = limit
    leaked, bodyMemory.used = bodyMemory.used, 0
    assert leaked == 0, "a request kept its share of the budget"


@pytest.fixture
def example():
    """Load one of examples/ by file name: its namespace."""
    root = Path(__file__).resolve().parent.parent / "examples"

    def load(name):
        return runpy.run_path(str(root / name), run_name="example_" + name[:-3])

    return load
