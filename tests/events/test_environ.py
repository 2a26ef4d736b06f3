# -*- test-case-name: tests.test_environ -*-
"""Tests for the OSE environment helpers."""

import os

from netsvc_twisted._events._environ import expandEnviron, lookupEnviron, mergeEnviron, uniqueId


def test_lookup_unset_is_none(monkeypatch):
    monkeypatch.delenv("NETSVC_TEST_UNSET", raising=False)
    assert lookupEnviron("NETSVC_TEST_UNSET") is None


def test_merge_sets_os_environ(monkeypatch):
    monkeypatch.delenv("NETSVC_TEST_VAR", raising=False)
    mergeEnviron("NETSVC_TEST_VAR", "value")
    try:
        assert os.environ["NETSVC_TEST_VAR"] == "value"
        assert lookupEnviron("NETSVC_TEST_VAR") == "value"
    finally:
        os.environ.pop("NETSVC_TEST_VAR", None)


def test_expand_both_forms(monkeypatch):
    monkeypatch.setenv("NETSVC_A", "alpha")
    monkeypatch.setenv("NETSVC_B", "beta")
    monkeypatch.delenv("NETSVC_UNSET", raising=False)
    assert expandEnviron("${NETSVC_A}/$NETSVC_B.x") == "alpha/beta.x"
    assert expandEnviron("[$NETSVC_UNSET][${NETSVC_UNSET}]") == "[][]"
    assert expandEnviron("cost $5 and $") == "cost $5 and $"


def test_unique_id():
    first, second = uniqueId(), uniqueId("$TIMER?")
    assert first != second
    assert second.startswith("$TIMER?")
    assert len({uniqueId() for _ in range(100)}) == 100
