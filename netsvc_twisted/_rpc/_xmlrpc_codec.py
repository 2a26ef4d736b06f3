# -*- test-case-name: tests.rpc.test_rpc_xmlrpc_codec -*-
"""
XML-RPC encoding (spec 10.5) on top of the stdlib marshaller.

Parsing is lenient (C{nil}, C{i8}, missing prolog all accepted) about the
shape of a document but not about its values: the stdlib unmarshaller runs
behind L{_wire.parseXml} (no DTDs, entities or external references), with
integers bounded to signed 64 bits, doubles finite, and every bad value a
fixed description saying which parameter it was in.

Output is strict.  Values are first mapped onto what C{xmlrpc.client} can
marshal, following OSE's rules for types XML-RPC lacks (they become
strings); integers beyond 32 bits go out as C{<i8>}, and what XML-RPC
cannot carry at all (integers beyond 64 bits, NaN and infinities, text XML
forbids) is an L{EncodingError}, never an invalid document.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import xmlrpc.client
from typing import Any, Callable
from xml.sax.saxutils import escape

from netsvc_twisted._rpc._netrpc_codec import _INT_TYPES, _encoders, _scalarOf, serviceEncoding
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._types import Binary, DateTime
from netsvc_twisted._rpc._wire import (
    CANNOT_ENCODE,
    INT64,
    MAXIMUM_DEPTH,
    OUTSIDE_INT64,
    TOO_DEEP,
    DecodingError,
    EncodingError,
    checkDepth,
    parseInt,
    parseXml,
    xmlText,
)

NOT_FINITE = "XML-RPC has no NaN or infinity"

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
        return _double(float(text))
    if kind in _INT_TYPES:
        return _int(int(text))
    if kind == "xsd:base64Binary":
        return base64.b64decode(text)
    if kind == "xsd:dateTime":
        return xmlrpc.client.DateTime(text.replace("-", "")[:8] + text[10:])
    return text


def _int(value: int) -> int:
    if value not in INT64:
        raise EncodingError(OUTSIDE_INT64)
    return int(value)


def _double(value: float) -> float:
    if not math.isfinite(value):
        raise EncodingError(NOT_FINITE)
    return float(value)


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
        checkDepth(active)
        active.add(id(value))
        try:
            if isinstance(value, dict):
                result = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise EncodingError("dictionary keys must be strings")
                    result[xmlText(str(key))] = toMarshallable(
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
        return _int(value)
    if isinstance(value, float):
        return _double(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and not isinstance(value, DateTime):
        return xmlText(str(value))
    scalar = _scalarOf(value)
    if scalar is None:
        kind, text = serviceEncoding(value, encodeObject)
        if kind is None:
            return toMarshallable(text, allowNone, None, active)
        scalar = (kind, str(text))
    result = _fromTyped(scalar[0], scalar[1], allowNone)
    return xmlText(result) if isinstance(result, str) else result


def _marshal(values: Any, allowNone: bool) -> str:
    try:
        return _Marshaller("utf-8", allowNone).dumps(values)
    except (TypeError, OverflowError, ValueError):
        # toMarshallable leaves nothing the marshaller refuses; keep its
        # words out of faults all the same.
        raise EncodingError(CANNOT_ENCODE) from None


class _Unmarshaller(xmlrpc.client.Unmarshaller):
    """
    The stdlib's lenient reader with strict values: bad ones raise
    L{DecodingError} naming the element and the parameter (C{param N}, or
    C{result} in an answer), and base64 and dates come out as this
    package's L{Binary} and L{DateTime}.
    """

    dispatch = dict(xmlrpc.client.Unmarshaller.dispatch)
    del dispatch["bigdecimal"]  # not XML-RPC; no Decimal reaches services

    def __init__(self, response: bool) -> None:
        xmlrpc.client.Unmarshaller.__init__(self, use_builtin_types=True)
        self._response = response
        self._param = 0

    def _where(self) -> str:
        if self._response:
            return "result"
        return f"param {self._param}" if self._param else "params"

    def start(self, tag: str, attrs: Any) -> None:
        name = tag.rpartition(":")[2]
        if name == "param":
            self._param += 1
        # The parameter list counts as one level, as in the other protocols.
        if name in ("array", "struct") and len(self._marks) + 1 >= MAXIMUM_DEPTH:
            raise DecodingError(f"{self._where()}: {TOO_DEEP}")
        if self._value and name not in self.dispatch:
            raise DecodingError(f"{self._where()}: unknown element")
        xmlrpc.client.Unmarshaller.start(self, name, attrs)

    def end(self, tag: str) -> None:
        name = tag.rpartition(":")[2]
        try:
            xmlrpc.client.Unmarshaller.end(self, name)
        except DecodingError:
            raise
        except Exception:
            raise DecodingError(f"{self._where()}: invalid <{name}>") from None

    def end_int(self, data: str) -> None:
        value = parseInt(data)
        if value not in INT64:
            raise DecodingError(f"{self._where()}: {OUTSIDE_INT64}")
        self.append(value)
        self._value = 0

    for _tag in ("i1", "i2", "i4", "i8", "int", "biginteger"):
        dispatch[_tag] = end_int
    del _tag

    def end_double(self, data: str) -> None:
        value = float(data)
        if not math.isfinite(value):
            raise ValueError(data)
        self.append(value)
        self._value = 0

    dispatch["double"] = dispatch["float"] = end_double

    def end_boolean(self, data: str) -> None:
        flag = data.strip()
        if flag not in ("0", "1", "true", "false"):
            raise ValueError(flag)
        self.append(flag in ("1", "true"))
        self._value = 0

    dispatch["boolean"] = end_boolean

    def end_base64(self, data: str) -> None:
        text = "".join(data.split())  # encoders wrap lines
        self.append(Binary(base64.b64decode(text.encode("ascii"), validate=True)))
        self._value = 0

    dispatch["base64"] = end_base64

    def end_dateTime(self, data: str) -> None:
        moment = _dt.datetime.strptime(data.strip(), "%Y%m%dT%H:%M:%S")
        self.append(DateTime(moment))
        self._value = 0

    dispatch["dateTime.iso8601"] = end_dateTime

    def end_struct(self, data: str) -> None:
        items = self._stack[self._marks[-1]:]
        if len(items) % 2 or not all(isinstance(k, str) for k in items[::2]):
            raise ValueError("member without a name or a value")
        xmlrpc.client.Unmarshaller.end_struct(self, data)

    dispatch["struct"] = end_struct

    def close(self) -> tuple:
        if self._type is None or self._marks:
            raise DecodingError("not a methodResponse" if self._response else "not a methodCall")
        if self._type == "fault":
            fault = self._stack[0] if len(self._stack) == 1 else None
            if not isinstance(fault, dict) or set(fault) != {"faultCode", "faultString"}:
                raise DecodingError("invalid fault")
        return xmlrpc.client.Unmarshaller.close(self)


def _parse(data: bytes, response: bool) -> tuple[tuple, str | None]:
    reader = _Unmarshaller(response)
    parseXml(data, reader)
    return reader.close(), reader.getmethodname()


def loadsCall(data: bytes) -> tuple[str, list]:
    """(method name, parameters) of a C{methodCall}; L{DecodingError} else."""
    try:
        params, methodName = _parse(data, False)
    except xmlrpc.client.Fault:
        raise DecodingError("not a methodCall") from None
    if methodName is None:
        raise DecodingError("not a methodCall")
    return methodName, list(params)


def dumpsCall(
    methodName: str,
    params: Any,
    allowNone: bool = False,
    encodeObject: Callable[[Any], tuple] | None = None,
) -> bytes:
    values = tuple(toMarshallable(list(params), allowNone, encodeObject))
    body = _marshal(values, allowNone)
    text = (
        f"{_PROLOG}<methodCall>\n<methodName>{escape(xmlText(methodName))}</methodName>\n"
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
    """A fault answer; L{EncodingError} when the failure's text has no XML form."""
    fault = xmlrpc.client.Fault(_int(failure.error), xmlText(faultString(failure)))
    body = _marshal(fault, False)
    return f"{_PROLOG}<methodResponse>\n{body}</methodResponse>\n".encode("utf-8")


def loadsResponse(data: bytes) -> Any:
    """The result of a C{methodResponse}; a fault raises L{ServiceFailure}."""
    try:
        params, _ = _parse(data, True)
    except xmlrpc.client.Fault as fault:
        code = fault.faultCode if isinstance(fault.faultCode, int) else 0
        raise parseFaultString(code, str(fault.faultString)) from None
    if len(params) != 1:
        raise DecodingError("a response holds exactly one value")
    return params[0]
