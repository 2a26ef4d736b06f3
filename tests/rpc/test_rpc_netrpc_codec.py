"""
NET-RPC payload encoding (spec 10.3, 10.4): exact text, round trips, the
extension hooks and the error cases.
"""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsvc_twisted._rpc import _netrpc_codec as codec
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, Date, DateTime, Duration, Opaque, Time


def test_exactText():
    assert codec.dumps([1, None, {"a": "x<&>"}, []]) == (
        b"<array>\n"
        b'<scalar type="xsd:int">1</scalar>\n'
        b"<scalar></scalar>\n"
        b"<index>\n"
        b'<scalar name="a" type="xsd:string">x&lt;&amp;&gt;</scalar>\n'
        b"</index>\n"
        b"<array>\n</array>\n"
        b"</array>\n"
    )


@pytest.mark.parametrize(
    "value,kind",
    [
        (True, "xsd:boolean"),
        (1, "xsd:int"),
        (2**31, "xsd:long"),
        (-(2**31), "xsd:int"),
        (1.1, "xsd:double"),
        ("é", "xsd:string"),
        (Binary(b"\x00\xff"), "xsd:base64Binary"),
        (Date("2024-01-02"), "xsd:date"),
        (DateTime("2024-01-02T03:04:05"), "xsd:dateTime"),
        (Time("03:04:05"), "xsd:time"),
        (Duration("P1DT0H0M0S"), "xsd:duration"),
        (1 + 2j, "python:complex"),
    ],
)
def test_roundTripTypes(value, kind):
    data = codec.dumps(value)
    assert f'type="{kind}"'.encode() in data
    back = codec.loads(data)
    assert back == value
    assert type(back) is type(value)


def test_pythonDatetimes():
    value = [datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(2024, 1, 2), b"x"]
    assert codec.loads(codec.dumps(value)) == [
        DateTime("2024-01-02T03:04:05"),
        Date("2024-01-02"),
        Binary(b"x"),
    ]


def test_tupleBecomesList():
    assert codec.loads(codec.dumps((1, (2,)))) == [1, [2]]


def test_decodeAliases():
    data = (
        b'<array><scalar type="xsd:short">3</scalar><scalar type="xsd:real">1.5</scalar>'
        b'<scalar type="xsd:boolean">1</scalar><scalar type="x:y">t</scalar></array>'
    )
    assert codec.loads(data) == [3, 1.5, True, Opaque("x:y", "t")]


def test_opaqueEncodes():
    assert codec.loads(codec.dumps(Opaque("x:y", "t"))) == Opaque("x:y", "t")


def test_errors():
    loop = []
    loop.append(loop)
    with pytest.raises(codec.EncodingError):
        codec.dumps(loop)
    with pytest.raises(codec.EncodingError):
        codec.dumps({1: 2})
    with pytest.raises(codec.EncodingError):
        codec.dumps(object())
    for bad in [b"", b"<array>", b"<foo/>", b'<scalar type="xsd:int">x</scalar>',
                b'<!DOCTYPE x [<!ENTITY a "b">]><scalar>&a;</scalar>']:
        with pytest.raises(codec.DecodingError):
            codec.loads(bad)


def test_hooks():
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    class Alias:
        pass

    codec.encoder(Point, lambda p: ("test:point", f"{p.x},{p.y}"))
    codec.encoder(Alias, lambda a: (None, [1, 2]))
    codec.decoder("test:point", lambda t, text: tuple(map(int, text.split(","))))
    try:
        assert codec.loads(codec.dumps([Point(1, 2), Alias()])) == [(1, 2), [1, 2]]
    finally:
        del codec._encoders[Point], codec._encoders[Alias]
        del codec._decoders["test:point"]


def test_perServiceHooks():
    class Thing:
        pass

    data = codec.dumps(Thing(), encodeObject=lambda o: ("test:thing", "T"))
    assert codec.loads(data, decodeValue=lambda t, text: (t, text)) == ("test:thing", "T")


def test_failure():
    failure = ServiceFailure(57, "Application Error", "netsvc", "tb")
    assert codec.loadsFailure(codec.dumpsFailure(failure)) == failure


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text().map(lambda s: s.replace("\r", "")).filter(
        lambda s: all(c in "\t\n" or ord(c) >= 32 for c in s)
        and not any(0xD800 <= ord(c) <= 0xDFFF or ord(c) in (0xFFFE, 0xFFFF) for c in s)
    ),
    lambda children: st.lists(children) | st.dictionaries(st.text("abc"), children),
    max_leaves=10,
)


@given(values)
def test_roundTripProperty(value):
    assert codec.loads(codec.dumps(value)) == value


def test_deepNesting():
    with pytest.raises(codec.DecodingError):
        codec.loads(b"<array>" * 100000 + b"</array>" * 100000)
