"""
Helpers shared by the RPC tests: a fixture that withdraws every service a
test created, so the process-wide registry does not leak between tests.
"""

import pytest

from netsvc_twisted._rpc._registry import registry


@pytest.fixture
def cleanServices():
    before = set(map(id, registry.services()))
    yield registry
    for service in list(registry.services()):
        if id(service) not in before:
            service.destroyService()
