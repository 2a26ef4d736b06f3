"""
XML-RPC encoding (spec 10.5) against the stdlib's own reading of it.
"""

import xmlrpc.client

import pytest

from netsvc_twisted._rpc import _xmlrpc_codec as codec
from netsvc_twisted._rpc._netrpc_codec import DecodingError, EncodingError
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, Date, DateTime, Opaque


def stdlibResult(data: bytes):
    (value,), _ = xmlrpc.client.loads(data, use_builtin_types=True)
    return value


def test_resultTypes():
    value = [1, 2**40, 1.5, "é<", True, {"k": [None]}, Binary(b"\x00")]
    assert stdlibResult(codec.dumpsResult(value)) == [
        1, 2**40, 1.5, "é<", True, {"k": [""]}, b"\x00"
    ]
    assert b"<i8>1099511627776</i8>" in codec.dumpsResult(2**40)


def test_noneWhenAllowed():
    assert b"<nil/>" in codec.dumpsResult(None, allowNone=True)
    assert stdlibResult(codec.dumpsResult(None)) == ""


def test_otherTypesAsStrings():
    data = codec.dumpsResult([Date("2024-01-02"), 1j, Opaque("x", "y")])
    assert stdlibResult(data) == ["2024-01-02", "1j", "y"]


def test_dateTime():
    data = codec.dumpsResult(DateTime("2024-01-02T03:04:05"))
    assert b"<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>" in data


def test_fault():
    failure = ServiceFailure(55, "Method Unavailable", "netsvc", "")
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(codec.dumpsFault(failure))
    assert info.value.faultCode == 55
    assert info.value.faultString == "netsvc -- Method Unavailable"
    full = ServiceFailure(57, "Application Error", "netsvc", "tb\n\nmore")
    assert codec.faultString(full) == "netsvc -- Application Error\n\ntb\n\nmore"
    assert codec.parseFaultString(57, codec.faultString(full)) == full
    assert codec.parseFaultString(3, "plain") == ServiceFailure(3, "plain")


def test_loadsCall():
    data = xmlrpc.client.dumps((1, "é", b"b", [True]), "a.b", allow_none=True).encode()
    assert codec.loadsCall(data) == ("a.b", [1, "é", Binary(b"b"), [True]])
    assert codec.loadsCall(xmlrpc.client.dumps((None,), "m", allow_none=True).encode())[1] == [None]


def test_loadsCallErrors():
    for bad in [b"", b"<methodResponse><params/></methodResponse>", b"<x",
                b'<!DOCTYPE x [<!ENTITY a "b">]><methodCall/>']:
        with pytest.raises(DecodingError):
            codec.loadsCall(bad)


def test_clientSide():
    data = codec.dumpsCall("m", [1, 2**40])
    assert xmlrpc.client.loads(data) == ((1, 2**40), "m")
    assert codec.loadsResponse(codec.dumpsResult([1])) == [1]
    with pytest.raises(ServiceFailure) as info:
        codec.loadsResponse(codec.dumpsFault(ServiceFailure(46, "Service Unavailable", "x", "d")))
    assert info.value == ServiceFailure(46, "Service Unavailable", "x", "d")


def test_encodingErrors():
    with pytest.raises(EncodingError):
        codec.dumpsResult(object())
    with pytest.raises(EncodingError):
        codec.dumpsResult({1: 2})


def test_marshallerRefusalHasTheSharedText():
    """What the stdlib marshaller refuses past toMarshallable's checks (a
    bug) reads as the one documented text, not the marshaller's words."""
    with pytest.raises(EncodingError) as info:
        codec._marshal((object(),), False)
    assert str(info.value) == "value the protocol cannot carry"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_deepNesting():
    deep = b"<value><array><data>" * 5000 + b"</data></array></value>" * 5000
    body = b"<methodCall><methodName>m</methodName><params><param>" + deep + b"</param></params></methodCall>"
    with pytest.raises(DecodingError):
        codec.loadsCall(body)
