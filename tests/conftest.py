import pytest
import pytest_twisted


@pytest.fixture
def daemons():
    """
    Collects daemons started by a test and stops them afterwards.
    """
    started = []
    yield started
    for daemon in started:
        pytest_twisted.blockon(daemon.stop())
