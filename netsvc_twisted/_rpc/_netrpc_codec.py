# -*- test-case-name: tests.rpc.test_rpc_netrpc_codec -*-
"""
NET-RPC payload encoding (spec 10.3, 10.4), as pure functions.

The payload is a small XML tree (C{array}, C{index}, C{scalar type=...})
without a prolog.  The type table and the C{encoder}/C{decoder} extension
hooks are OSE's; integers are C{xsd:int} when they fit 32 bits and
C{xsd:long} beyond, floats use C{repr()}.  Decoding is one pass of parser
events onto a stack (no tree, no recursion), through L{_wire.parseXml}.
"""

from __future__ import annotations

import base64
import datetime as _dt
from typing import Any, Callable

from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, Date, DateTime, Duration, Opaque, Time
from netsvc_twisted._rpc._wire import (
    MAXIMUM_DEPTH,
    TOO_DEEP,
    DecodingError,
    EncodingError,
    checkDepth,
    intText,
    parseInt,
    parseXml,
    xmlText,
)

EncodeHook = Callable[[Any], "tuple[str | None, Any]"]
DecodeHook = Callable[[str, str], Any]

_encoders: dict[type, EncodeHook] = {}
_decoders: dict[str, DecodeHook] = {}

_INT32 = range(-(2**31), 2**31)
_INT_TYPES = frozenset(
    "xsd:" + t
    for t in (
        "int long short byte integer unsignedInt unsignedLong unsignedShort "
        "unsignedByte nonNegativeInteger positiveInteger negativeInteger "
        "nonPositiveInteger"
    ).split()
)
_FLOAT_TYPES = frozenset({"xsd:double", "xsd:float", "xsd:real"})


def encoder(pythonType: type, fn: EncodeHook) -> None:
    """
    Encode objects of exactly C{pythonType} with C{fn(obj) -> (type, text)};
    a returned type of C{None} means "encode C{text} instead".

    Spec 10.4.
    """
    _encoders[pythonType] = fn


def decoder(typeName: str, fn: DecodeHook) -> None:
    """Decode scalars of C{typeName} with C{fn(typeName, text)}.

    Spec 10.4.
    """
    _decoders[typeName] = fn


def _escape(text: str) -> str:
    return (
        xmlText(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def _escapeAttribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def serviceEncoding(value: Any, encodeObject: Callable | None) -> tuple:
    """
    C{(kind, text)} for a value no codec knows, from the service's
    C{encodeObject()}.  A missing hook is an L{EncodingError}; the hook's
    own exceptions go up untouched, as those of the L{encoder} hooks do, so
    that the gateway logs them and the client reads a fixed text
    (L{_wire.CANNOT_ENCODE}), never the exception's.
    """
    if encodeObject is None:
        raise EncodingError(f"cannot encode {type(value).__name__} objects")
    return encodeObject(value)


def _scalarOf(value: Any) -> tuple[str, str] | None:
    """The built-in (type, text) of a scalar, or None when not built in."""
    if value is None:
        return "", ""
    if isinstance(value, bool):
        return "xsd:boolean", "true" if value else "false"
    if isinstance(value, int):
        return ("xsd:int" if value in _INT32 else "xsd:long"), intText(value)
    if isinstance(value, float):
        return "xsd:double", repr(value)
    if isinstance(value, DateTime):
        return "xsd:dateTime", str(value)
    if isinstance(value, Date):
        return "xsd:date", str(value)
    if isinstance(value, Time):
        return "xsd:time", str(value)
    if isinstance(value, Duration):
        return "xsd:duration", str(value)
    if isinstance(value, str):
        return "xsd:string", str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "xsd:base64Binary", base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, _dt.datetime):
        return "xsd:dateTime", str(DateTime(value))
    if isinstance(value, _dt.date):
        return "xsd:date", str(Date(value))
    if isinstance(value, _dt.time):
        return "xsd:time", str(Time(value))
    if isinstance(value, _dt.timedelta):
        return "xsd:duration", str(Duration(value))
    if isinstance(value, complex):
        return "python:complex", repr(value)
    if isinstance(value, Opaque):
        return str(value.type), str(value.data)
    return None


def _encode(
    value: Any,
    name: str | None,
    out: list[str],
    active: set[int],
    encodeObject: EncodeHook | None,
) -> None:
    attribute = "" if name is None else f' name="{_escapeAttribute(name)}"'
    hook = _encoders.get(type(value))
    if hook is not None:
        kind, text = hook(value)
        if kind is None:
            _encode(text, name, out, active, encodeObject)
        else:
            _scalar(out, attribute, kind, str(text))
        return
    if isinstance(value, (list, tuple, dict)):
        if id(value) in active:
            raise EncodingError("recursive structure")
        checkDepth(active)
        active.add(id(value))
        if isinstance(value, dict):
            out.append(f"<index{attribute}>\n")
            for key, item in value.items():
                if not isinstance(key, str):
                    raise EncodingError("dictionary keys must be strings")
                _encode(item, key, out, active, encodeObject)
            out.append("</index>\n")
        else:
            out.append(f"<array{attribute}>\n")
            for item in value:
                _encode(item, None, out, active, encodeObject)
            out.append("</array>\n")
        active.discard(id(value))
        return
    scalar = _scalarOf(value)
    if scalar is None:
        kind, text = serviceEncoding(value, encodeObject)
        if kind is None:
            _encode(text, name, out, active, None)
            return
        scalar = (kind, str(text))
    _scalar(out, attribute, *scalar)


def _scalar(out: list[str], attribute: str, kind: str, text: str) -> None:
    typed = f' type="{_escapeAttribute(kind)}"' if kind else ""
    out.append(f"<scalar{attribute}{typed}>{_escape(text)}</scalar>\n")


def dumps(value: Any, encodeObject: EncodeHook | None = None) -> bytes:
    """Encode one value as a NET-RPC payload (UTF-8)."""
    out: list[str] = []
    _encode(value, None, out, set(), encodeObject)
    return "".join(out).encode("utf-8")


def _decodeScalar(kind: str, text: str, decodeValue: DecodeHook | None) -> Any:
    hook = _decoders.get(kind)
    if hook is not None:
        return hook(kind, text)
    if kind == "":
        return None
    if kind in _INT_TYPES:
        return parseInt(text)
    if kind in _FLOAT_TYPES:
        return float(text.strip())
    if kind == "xsd:string":
        return text
    if kind == "xsd:boolean":
        flag = text.strip()
        if flag in ("true", "1"):
            return True
        if flag in ("false", "0"):
            return False
        raise ValueError(flag)
    if kind == "xsd:base64Binary":
        return Binary(base64.b64decode(text.encode("ascii"), validate=False))
    if kind == "xsd:dateTime":
        return DateTime(text.strip())
    if kind == "xsd:date":
        return Date(text.strip())
    if kind == "xsd:time":
        return Time(text.strip())
    if kind == "xsd:duration":
        return Duration(text.strip())
    if kind == "python:complex":
        return complex(text.strip())
    if decodeValue is not None:
        return decodeValue(kind, text)
    return Opaque(kind, text)


_BUILT_IN = _INT_TYPES | _FLOAT_TYPES | {
    "xsd:boolean", "xsd:base64Binary", "xsd:dateTime", "xsd:date", "xsd:time",
    "xsd:duration", "python:complex",
}


def _knownName(kind: str) -> str:
    """A type name to quote in a fault: never one the client made up."""
    return kind if kind in _BUILT_IN or kind in _decoders else "scalar"


class _Frame:
    """An open element: its tag, the value being built, its name if any."""

    __slots__ = ("tag", "value", "name", "kind")

    def __init__(self, tag: str, value: Any, name: str | None, kind: str) -> None:
        self.tag = tag
        self.value = value
        self.name = name
        self.kind = kind


class _Reader:
    """
    Parser events to one value.  Descriptions of bad input say where it
    is: C{item N} for the Nth child of the top array or index (for a
    request, the Nth parameter), C{value} for the top element itself.
    """

    def __init__(self, decodeValue: DecodeHook | None) -> None:
        self._decodeValue = decodeValue
        self._stack: list[_Frame] = []
        self._text: list[str] = []
        self._item = 0
        self.result: Any = None

    def _where(self) -> str:
        return f"item {self._item}" if self._item else "value"

    def xml(self, encoding: Any, standalone: Any) -> None:
        pass

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        parent = self._stack[-1] if self._stack else None
        if len(self._stack) == 1:
            self._item += 1
        if parent is not None and parent.tag == "scalar":
            raise DecodingError(f"{self._where()}: scalar with children")
        name = attrs.get("name")
        if parent is not None and parent.tag == "index" and name is None:
            raise DecodingError(f"{self._where()}: index member without a name")
        if tag == "scalar":
            frame = _Frame(tag, None, name, attrs.get("type", ""))
        elif tag in ("array", "index"):
            if len(self._stack) >= MAXIMUM_DEPTH:
                raise DecodingError(f"{self._where()}: {TOO_DEEP}")
            frame = _Frame(tag, [] if tag == "array" else {}, name, "")
        else:
            raise DecodingError(f"{self._where()}: unexpected element")
        self._stack.append(frame)
        self._text = []

    def data(self, text: str) -> None:
        self._text.append(text)

    def end(self, tag: str) -> None:
        frame = self._stack.pop()
        value = frame.value
        if frame.tag == "scalar":
            try:
                value = _decodeScalar(frame.kind, "".join(self._text), self._decodeValue)
            except Exception:
                raise DecodingError(
                    f"{self._where()}: invalid {_knownName(frame.kind)}"
                ) from None
        if not self._stack:
            self.result = value
        elif self._stack[-1].tag == "array":
            self._stack[-1].value.append(value)
        else:
            self._stack[-1].value[frame.name] = value


def loads(data: bytes, decodeValue: DecodeHook | None = None) -> Any:
    """Decode a NET-RPC payload; L{DecodingError} with a fixed description."""
    reader = _Reader(decodeValue)
    parseXml(data, reader)
    return reader.result


def dumpsFailure(failure: ServiceFailure) -> bytes:
    """The body of an C{X-RPC-Content-Type: failure} response."""
    return dumps(
        {
            "error": failure.error,
            "description": failure.description,
            "origin": failure.origin,
            "details": failure.details,
        }
    )


def loadsFailure(data: bytes) -> ServiceFailure:
    value = loads(data)
    if not isinstance(value, dict) or not isinstance(value.get("error"), int):
        raise DecodingError("not a failure")
    return ServiceFailure(
        value["error"],
        str(value.get("description") or ""),
        str(value.get("origin") or ""),
        str(value.get("details") or ""),
    )
