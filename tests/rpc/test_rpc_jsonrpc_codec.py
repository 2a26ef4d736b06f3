"""
JSON-RPC encoding (spec 10.7): both envelopes, answers in the request's
version, failures.
"""

import json

import pytest

from netsvc_twisted._rpc import _jsonrpc_codec as codec
from netsvc_twisted._rpc._netrpc_codec import EncodingError
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, DateTime


def test_v1():
    call = codec.loadsCall(b'{"method": "echo", "params": [1, "x"], "id": 7}')
    assert (call.method, call.params, call.id, call.version) == ("echo", [1, "x"], 7, "1.0")
    assert json.loads(codec.dumpsResult(call, [1])) == {"result": [1], "error": None, "id": 7}
    failure = ServiceFailure(55, "Method Unavailable", "netsvc")
    assert json.loads(codec.dumpsFailure(failure, 7)) == {
        "result": None,
        "error": {"error": 55, "description": "Method Unavailable", "origin": "netsvc",
                  "details": ""},
        "id": 7,
    }


def test_v2():
    call = codec.loadsCall(b'{"jsonrpc": "2.0", "method": "m", "params": {"a": 1}, "id": "x"}')
    assert (call.params, call.version, call.isNotification) == ({"a": 1}, "2.0", False)
    assert json.loads(codec.dumpsResult(call, None)) == {"jsonrpc": "2.0", "result": None, "id": "x"}
    out = json.loads(codec.dumpsFailure(ServiceFailure(56, "Parameters Incorrect", "o", "d"), "x", "2.0"))
    assert out == {"jsonrpc": "2.0", "id": "x", "error": {
        "code": -32602, "message": "Parameters Incorrect",
        "data": {"error": 56, "origin": "o", "details": "d"}}}
    assert codec.loadsCall(b'{"jsonrpc": "2.0", "method": "m"}').isNotification


@pytest.mark.parametrize("bad", [
    b"", b"[1]", b"{", b'{"method": 1, "params": [], "id": 1}',
    b'{"method": "m", "params": 3, "id": 1}', b'{"method": "m", "id": 1}',
    b'{"jsonrpc": "2.0", "method": "m", "params": 1, "id": 1}',
])
def test_decodingErrors(bad):
    with pytest.raises(codec.JsonDecodingError):
        codec.loadsCall(bad)


def test_values():
    call = codec.loadsCall(b'{"method": "m", "params": [], "id": null}')
    out = json.loads(codec.dumpsResult(call, [2**70, 1.5, Binary(b"a"), DateTime("2024-01-02T00:00:00"), "é"]))
    assert out["result"] == [2**70, 1.5, "YQ==", "2024-01-02T00:00:00", "é"]
    with pytest.raises(EncodingError):
        codec.dumpsResult(call, float("nan"))
    with pytest.raises(EncodingError):
        codec.dumpsResult(call, object())


def test_marshallerRefusalHasTheSharedText():
    """What json.dumps refuses past toJsonable's checks (a bug) reads as the
    one documented text, not json's own words."""
    with pytest.raises(EncodingError) as info:
        codec._dumps({"x": object()})
    assert str(info.value) == "value the protocol cannot carry"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_clientSide():
    assert json.loads(codec.dumpsCall("m", (1,), 3)) == {"jsonrpc": "2.0", "method": "m", "params": [1], "id": 3}
    assert codec.loadsResponse(b'{"jsonrpc":"2.0","result":5,"id":1}') == 5
    for data in [codec.dumpsFailure(ServiceFailure(1, "d", "o", "x"), 1),
                 codec.dumpsFailure(ServiceFailure(1, "d", "o", "x"), 1, "2.0")]:
        with pytest.raises(ServiceFailure) as info:
            codec.loadsResponse(data)
        assert info.value == ServiceFailure(1, "d", "o", "x")


def test_deepNesting():
    with pytest.raises(codec.JsonDecodingError):
        codec.loadsCall(b'{"method": "m", "id": 1, "params": ' + b"[" * 100000 + b"]" * 100000 + b"}")


@pytest.mark.parametrize("ose,standard", [
    (50, -32603), (52, -32603), (53, -32600), (54, -32602), (55, -32601), (56, -32602),
    (57, -32603), (58, -32603), (1001, 1001), (46, 46),
])
def test_standardCodes(ose, standard):
    """OSE's server codes map onto 2.0's; the application's own pass as they are."""
    assert codec.standardCode(ose) == standard


def test_v2RequestsAreChecked():
    for body, code in [
        (b'{"jsonrpc": "2.0", "method": "m", "id": true}', codec.INVALID_REQUEST),
        (b'{"jsonrpc": "2", "method": "m", "id": 1}', codec.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "method": "m", "params": [Infinity], "id": 1}', codec.PARSE_ERROR),
        (b'\xef\xbb\xbf{"jsonrpc": "2.0", "method": "m", "id": 1}', codec.PARSE_ERROR),
    ]:
        with pytest.raises(codec.JsonDecodingError) as info:
            codec.loadsCall(body)
        assert info.value.code == code, body
    assert codec.loadsCall(b'{"jsonrpc": "2.0", "method": "m", "id": null}').isNotification is False


def test_boundsAreInclusive():
    """99 levels inside a parameter (100 with the list) and 4300 digits are fine,
    and such a value encodes back."""
    inner = b"[" * 99 + b"]" * 99
    call = codec.loadsCall(b'{"jsonrpc": "2.0", "method": "m", "id": 1, "params": [%s, %s]}'
                           % (inner, b"9" * 4300))
    assert codec.dumpsResult(call, call.params).startswith(b'{"jsonrpc":"2.0","result":[')
    with pytest.raises(EncodingError):
        codec.dumpsResult(call, [call.params])
    with pytest.raises(EncodingError):
        codec.dumpsResult(call, 10**4300)
