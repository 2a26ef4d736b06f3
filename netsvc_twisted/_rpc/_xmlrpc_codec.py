# -*- test-case-name: tests.rpc.test_rpc_xmlrpc_codec -*-
"""
XML-RPC encoding (spec 10.5) on top of the stdlib marshaller.

Parsing is lenient (C{nil}, C{i8}, missing prolog all accepted), output is
strict.  Values are first mapped onto what C{xmlrpc.client} can marshal,
following OSE's rules for types XML-RPC lacks (they become strings), and
integers beyond 32 bits go out as C{<i8>} instead of failing.
"""

from __future__ import annotations

import base64
import datetime as _dt
import xmlrpc.client
from typing import Any, Callable
from xml.sax.saxutils import escape

from netsvc_twisted._rpc._netrpc_codec import (
    _INT_TYPES,
    DecodingError,
    EncodingError,
    _encoders,
    _scalarOf,
)
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, DateTime

_INT32 = range(-(2**31), 2**31)
_PROLOG = "<?xml version='1.0'?>\n"


class _Marshaller(xmlrpc.client.Marshaller):
    dispatch = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_long(self, value: int, write: Callable[[str], Any]) -> None:
        tag = "int" if value in _INT32 else "i8"
        write(f"<value><{tag}>{int(value)}</{tag}></value>\n")

    dispatch[int] = dump_long


def _fromTyped(kind: str, text: str, allowNone: bool) -> Any:
    """Map a NET-RPC (type, text) pair onto an XML-RPC value (spec 10.5)."""
    if kind == "":
        return None if allowNone else ""
    if kind == "xsd:boolean":
        return text in ("true", "1")
    if kind in ("xsd:double", "xsd:float"):
        return float(text)
    if kind in _INT_TYPES:
        return int(text)
    if kind == "xsd:base64Binary":
        return base64.b64decode(text)
    if kind == "xsd:dateTime":
        return xmlrpc.client.DateTime(text.replace("-", "")[:8] + text[10:])
    return text


def toMarshallable(
    value: Any,
    allowNone: bool = False,
    encodeObject: Callable[[Any], tuple] | None = None,
    _active: set[int] | None = None,
) -> Any:
    """C{value} with every part replaced by something the marshaller takes."""
    active = set() if _active is None else _active
    hook = _encoders.get(type(value))
    if hook is not None:
        kind, text = hook(value)
        if kind is None:
            return toMarshallable(text, allowNone, encodeObject, active)
        return _fromTyped(kind, str(text), allowNone)
    if isinstance(value, (list, tuple, dict)):
        if id(value) in active:
            raise EncodingError("recursive structure")
        active.add(id(value))
        try:
            if isinstance(value, dict):
                result = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise EncodingError("dictionary keys must be strings")
                    result[str(key)] = toMarshallable(
                        item, allowNone, encodeObject, active
                    )
                return result
            return [toMarshallable(v, allowNone, encodeObject, active) for v in value]
        finally:
            active.discard(id(value))
    if value is None:
        return None if allowNone else ""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and not isinstance(value, DateTime):
        return str(value)
    scalar = _scalarOf(value)
    if scalar is None:
        if encodeObject is None:
            raise EncodingError(f"cannot encode {type(value).__name__} objects")
        try:
            kind, text = encodeObject(value)
        except Exception as e:
            raise EncodingError(str(e)) from e
        if kind is None:
            return toMarshallable(text, allowNone, None, active)
        scalar = (kind, str(text))
    return _fromTyped(scalar[0], scalar[1], allowNone)


def _marshal(values: Any, allowNone: bool) -> str:
    try:
        return _Marshaller("utf-8", allowNone).dumps(values)
    except (TypeError, OverflowError, ValueError) as e:
        raise EncodingError(str(e)) from e


def fromWire(value: Any) -> Any:
    """Decoded stdlib values as this package hands them to Python code."""
    if isinstance(value, bytes):
        return Binary(value)
    if isinstance(value, _dt.datetime):
        return DateTime(value)
    if isinstance(value, list):
        return [fromWire(v) for v in value]
    if isinstance(value, dict):
        return {k: fromWire(v) for k, v in value.items()}
    return value


def _parse(data: bytes) -> tuple[tuple, str | None]:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DecodingError("DTDs are not allowed")
    return xmlrpc.client.loads(data, use_builtin_types=True)


def loadsCall(data: bytes) -> tuple[str, list]:
    """(method name, parameters) of a C{methodCall}; L{DecodingError} else."""
    try:
        params, methodName = _parse(data)
        if methodName is None:
            raise DecodingError("not a methodCall")
        return methodName, [fromWire(p) for p in params]
    except DecodingError:
        raise
    except Exception as e:
        raise DecodingError(str(e) or type(e).__name__) from e


def dumpsCall(
    methodName: str,
    params: Any,
    allowNone: bool = False,
    encodeObject: Callable[[Any], tuple] | None = None,
) -> bytes:
    values = tuple(toMarshallable(list(params), allowNone, encodeObject))
    body = _marshal(values, allowNone)
    text = (
        f"{_PROLOG}<methodCall>\n<methodName>{escape(methodName)}</methodName>\n"
        f"{body}</methodCall>\n"
    )
    return text.encode("utf-8")


def dumpsResult(
    value: Any,
    allowNone: bool = False,
    encodeObject: Callable[[Any], tuple] | None = None,
) -> bytes:
    body = _marshal((toMarshallable(value, allowNone, encodeObject),), allowNone)
    return f"{_PROLOG}<methodResponse>\n{body}</methodResponse>\n".encode("utf-8")


def faultString(failure: ServiceFailure) -> str:
    """C{origin -- description\\n\\ndetails}, parts left out when empty."""
    text = failure.description
    if failure.origin:
        text = f"{failure.origin} -- {text}"
    if failure.details:
        text = f"{text}\n\n{failure.details}"
    return text


def parseFaultString(code: int, text: str) -> ServiceFailure:
    """The inverse of L{faultString}, as OSE's client does it."""
    head, _, details = text.partition("\n\n")
    origin, separator, description = head.partition(" -- ")
    if not separator:
        origin, description = "", head
    return ServiceFailure(code, description, origin, details)


def dumpsFault(failure: ServiceFailure) -> bytes:
    fault = xmlrpc.client.Fault(failure.error, faultString(failure))
    body = _marshal(fault, False)
    return f"{_PROLOG}<methodResponse>\n{body}</methodResponse>\n".encode("utf-8")


def loadsResponse(data: bytes) -> Any:
    """The result of a C{methodResponse}; a fault raises L{ServiceFailure}."""
    try:
        params, _ = _parse(data)
    except xmlrpc.client.Fault as fault:
        code = fault.faultCode if isinstance(fault.faultCode, int) else 0
        raise parseFaultString(code, str(fault.faultString)) from None
    except DecodingError:
        raise
    except Exception as e:
        raise DecodingError(str(e) or type(e).__name__) from e
    if len(params) != 1:
        raise DecodingError("a response holds exactly one value")
    return fromWire(params[0])
