# -*- test-case-name: tests.rpc.test_rpc_netrpc_codec -*-
"""
NET-RPC payload encoding (spec 10.3, 10.4), as pure functions.

The payload is a small XML tree (C{array}, C{index}, C{scalar type=...})
without a prolog.  The type table and the C{encoder}/C{decoder} extension
hooks are OSE's; integers are C{xsd:int} when they fit 32 bits and
C{xsd:long} beyond, floats use C{repr()}.
"""

from __future__ import annotations

import base64
import datetime as _dt
from typing import Any, Callable
from xml.etree import ElementTree

from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, Date, DateTime, Duration, Opaque, Time

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


class EncodingError(ValueError):
    """A value has no NET-RPC encoding."""


class DecodingError(ValueError):
    """A payload is not valid NET-RPC."""


def encoder(pythonType: type, fn: EncodeHook) -> None:
    """
    Encode objects of exactly C{pythonType} with C{fn(obj) -> (type, text)};
    a returned type of C{None} means "encode C{text} instead".
    """
    _encoders[pythonType] = fn


def decoder(typeName: str, fn: DecodeHook) -> None:
    """Decode scalars of C{typeName} with C{fn(typeName, text)}."""
    _decoders[typeName] = fn


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def _escapeAttribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _scalarOf(value: Any) -> tuple[str, str] | None:
    """The built-in (type, text) of a scalar, or None when not built in."""
    if value is None:
        return "", ""
    if isinstance(value, bool):
        return "xsd:boolean", "true" if value else "false"
    if isinstance(value, int):
        return ("xsd:int" if value in _INT32 else "xsd:long"), str(int(value))
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
        if encodeObject is None:
            raise EncodingError(f"cannot encode {type(value).__name__} objects")
        try:
            kind, text = encodeObject(value)
        except EncodingError:
            raise
        except Exception as e:
            raise EncodingError(str(e)) from e
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
        return int(text.strip())
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
        raise DecodingError(f"invalid boolean {flag!r}")
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


def _decode(element: ElementTree.Element, decodeValue: DecodeHook | None) -> Any:
    if element.tag == "scalar":
        if len(element):
            raise DecodingError("scalar with children")
        return _decodeScalar(element.get("type", ""), element.text or "", decodeValue)
    if element.tag == "array":
        return [_decode(child, decodeValue) for child in element]
    if element.tag == "index":
        result = {}
        for child in element:
            name = child.get("name")
            if name is None:
                raise DecodingError("index member without a name")
            result[name] = _decode(child, decodeValue)
        return result
    raise DecodingError(f"unexpected element {element.tag!r}")


def loads(data: bytes, decodeValue: DecodeHook | None = None) -> Any:
    """Decode a NET-RPC payload; raises L{DecodingError}."""
    if b"<!" in data:
        raise DecodingError("declarations are not allowed")
    try:
        root = ElementTree.fromstring(data)
        return _decode(root, decodeValue)
    except DecodingError:
        raise
    except Exception as e:
        raise DecodingError(str(e)) from e


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
