# -*- test-case-name: tests.rpc.test_rpc_jsonrpc_codec -*-
"""
JSON-RPC encoding (spec 10.7): JSON-RPC 2.0 and OSE's 1.0-style envelope.

A request is answered in the version it was made in: 2.0 requests get
C{{"jsonrpc": "2.0", "result"|"error", "id"}}, others OSE's
C{{"result", "error", "id"}} with the OSE failure fields.  Failure codes
are OSE's (spec 10.6) in both, as decisions.md asks.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from netsvc_twisted._rpc._netrpc_codec import (
    _FLOAT_TYPES,
    _INT_TYPES,
    DecodingError,
    EncodingError,
    _encoders,
    _scalarOf,
)
from netsvc_twisted._rpc._failure import ServiceFailure

_MISSING = object()


class JsonCall:
    """A decoded request: C{method}, C{params} (list or dict), C{id}."""

    def __init__(self, method: str, params: Any, id: Any, version: str) -> None:
        self.method = method
        self.params = params
        self.id = id
        self.version = version

    @property
    def isNotification(self) -> bool:
        """A 2.0 request without an id expects no answer."""
        return self.version == "2.0" and self.id is _MISSING


class JsonDecodingError(DecodingError):
    """Carries what could be read of the request, to answer in kind."""

    def __init__(self, message: str, id: Any = None, version: str = "1.0") -> None:
        DecodingError.__init__(self, message)
        self.id = id
        self.version = version


def _fromTyped(kind: str, text: str) -> Any:
    if kind == "":
        return None
    if kind == "xsd:boolean":
        return text in ("true", "1")
    if kind in _INT_TYPES:
        return int(text)
    if kind in _FLOAT_TYPES:
        return _finite(float(text))
    return text


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise EncodingError("JSON has no encoding for NaN or infinity")
    return value


def toJsonable(
    value: Any,
    encodeObject: Callable[[Any], tuple] | None = None,
    _active: set[int] | None = None,
) -> Any:
    """C{value} with every part replaced by a plain JSON type."""
    active = set() if _active is None else _active
    hook = _encoders.get(type(value))
    if hook is not None:
        kind, text = hook(value)
        if kind is None:
            return toJsonable(text, encodeObject, active)
        return _fromTyped(kind, str(text))
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
                    result[str(key)] = toJsonable(item, encodeObject, active)
                return result
            return [toJsonable(item, encodeObject, active) for item in value]
        finally:
            active.discard(id(value))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite(float(value))
    scalar = _scalarOf(value)
    if scalar is None:
        if encodeObject is None:
            raise EncodingError(f"cannot encode {type(value).__name__} objects")
        try:
            kind, text = encodeObject(value)
        except Exception as e:
            raise EncodingError(str(e)) from e
        if kind is None:
            return toJsonable(text, None, active)
        scalar = (kind, str(text))
    return _fromTyped(*scalar)


def _dumps(document: dict | list) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


#: Most calls one JSON-RPC 2.0 batch may carry.
MAXIMUM_BATCH = 100


def loadsRequest(data: bytes) -> JsonCall | list[JsonCall | JsonDecodingError]:
    """
    Decode a request, or a JSON-RPC 2.0 batch (an array) into its calls
    and, in their places, the errors of the members that are not calls.
    L{JsonDecodingError} when the whole body is unusable.
    """
    document = _loadsDocument(data)
    if not isinstance(document, list):
        return _callOf(document)
    if not document:
        raise JsonDecodingError("empty batch", None, "2.0")
    if len(document) > MAXIMUM_BATCH:
        raise JsonDecodingError(f"more than {MAXIMUM_BATCH} calls in a batch", None, "2.0")
    members: list[JsonCall | JsonDecodingError] = []
    for member in document:
        try:
            members.append(_callOf(member))
        except JsonDecodingError as e:
            if not isinstance(member, dict):
                e.version = "2.0"  # a batch is a 2.0 request
            members.append(e)
    return members


def loadsCall(data: bytes) -> JsonCall:
    """Decode a single request; L{JsonDecodingError} when it is not one."""
    return _callOf(_loadsDocument(data))


def _loadsDocument(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise JsonDecodingError(str(e) or type(e).__name__) from e


def _callOf(document: Any) -> JsonCall:
    if not isinstance(document, dict):
        raise JsonDecodingError("request must be a JSON object")
    version = "2.0" if document.get("jsonrpc") == "2.0" else "1.0"
    id = document.get("id", _MISSING)
    answerId = None if id is _MISSING else id
    method = document.get("method")
    if not isinstance(method, str):
        raise JsonDecodingError("method must be a string", answerId, version)
    params = document.get("params", _MISSING)
    if version == "2.0":
        if params is _MISSING:
            params = []
        if not isinstance(params, (list, dict)):
            raise JsonDecodingError("params must be an array or object", answerId, version)
    else:
        if not isinstance(params, list):
            raise JsonDecodingError("params must be an array", answerId, version)
        if id is _MISSING:
            raise JsonDecodingError("id is missing", None, version)
    return JsonCall(method, params, id, version)


def dumpsResult(
    call: JsonCall, value: Any, encodeObject: Callable[[Any], tuple] | None = None
) -> bytes:
    return _dumps(resultDocument(call, value, encodeObject))


def resultDocument(
    call: JsonCall, value: Any, encodeObject: Callable[[Any], tuple] | None = None
) -> dict:
    result = toJsonable(value, encodeObject)
    if call.version == "2.0":
        return {"jsonrpc": "2.0", "result": result, "id": call.id}
    return {"result": result, "error": None, "id": call.id}


def dumpsFailure(failure: ServiceFailure, id: Any = None, version: str = "1.0") -> bytes:
    return _dumps(failureDocument(failure, id, version))


def dumpsDocument(document: dict | list) -> bytes:
    """An answer document, or a batch's list of them, as UTF-8 JSON."""
    return _dumps(document)


def failureDocument(failure: ServiceFailure, id: Any = None, version: str = "1.0") -> dict:
    if id is _MISSING:
        id = None
    if version == "2.0":
        error = {
            "code": failure.error,
            "message": failure.description,
            "data": {"origin": failure.origin, "details": failure.details},
        }
        return {"jsonrpc": "2.0", "error": error, "id": id}
    error = {
        "error": failure.error,
        "description": failure.description,
        "origin": failure.origin,
        "details": failure.details,
    }
    return {"result": None, "error": error, "id": id}


def dumpsCall(
    method: str,
    params: Any,
    id: Any,
    version: str = "2.0",
    encodeObject: Callable[[Any], tuple] | None = None,
) -> bytes:
    document = {"method": method, "params": toJsonable(list(params), encodeObject), "id": id}
    if version == "2.0":
        document = {"jsonrpc": "2.0", **document}
    return _dumps(document)


def loadsResponse(data: bytes) -> Any:
    """The result; a failure in either envelope raises L{ServiceFailure}."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise DecodingError(str(e) or type(e).__name__) from e
    if not isinstance(document, dict) or not (
        "result" in document or "error" in document
    ):
        raise DecodingError("not a JSON-RPC response")
    error = document.get("error")
    if error is None:
        return document.get("result")
    if not isinstance(error, dict):
        raise ServiceFailure(0, str(error))
    if "code" in error:
        data = error.get("data")
        data = data if isinstance(data, dict) else {"details": data or ""}
        return _raise(
            error.get("code"), error.get("message"), data.get("origin"), data.get("details")
        )
    return _raise(
        error.get("error"), error.get("description"), error.get("origin"), error.get("details")
    )


def _raise(code: Any, description: Any, origin: Any, details: Any) -> Any:
    raise ServiceFailure(
        code if isinstance(code, int) else 0,
        str(description or ""),
        str(origin or ""),
        "" if details is None else str(details),
    )
