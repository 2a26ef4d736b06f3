# -*- test-case-name: tests.rpc.test_rpc_jsonrpc_codec,tests.rpc.test_rpc_interop -*-
"""
JSON-RPC encoding (spec 10.7): JSON-RPC 2.0 and OSE's 1.0-style envelope.

A request is answered in the version it was made in.  2.0 requests get
2.0 answers: C{"jsonrpc": "2.0"}, C{result} or C{error} (never both), and
the spec's error codes (L{standardCode}), the OSE failure riding in
C{error.data} as C{{"error", "origin", "details"}} so that our clients
rebuild the same L{ServiceFailure} as over NET-RPC.  Requests that are
not 2.0 get OSE's C{{"result", "error", "id"}} with OSE's codes.  When
the version cannot be known (the body is not JSON, not an object), the
answer is 2.0.

Bodies are strict UTF-8 JSON (no NaN or Infinity).  Text that is not
valid Unicode (a lone surrogate escape), numbers out of range and nesting
deeper than L{MAXIMUM_DEPTH} are refused with a fixed description saying
where they were; an answer holding them cannot be encoded and becomes an
internal error.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from typing import Any, Callable

from netsvc_twisted._constants import (
    SERVER_APPLICATION_ERROR,
    SERVER_METHOD_UNAVAILABLE,
    SERVER_PARAMETERS_INCORRECT,
    SERVER_REQUEST_DECODING_ERROR,
    SERVER_REQUEST_HEADERS_INVALID,
    SERVER_RESOURCE_UNAVAILABLE,
    SERVER_RESPONSE_ABORTED,
    SERVER_RESPONSE_ENCODING_ERROR,
    SERVER_UNKNOWN_ERROR,
)
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._netrpc_codec import _FLOAT_TYPES, _INT_TYPES, _encoders, _scalarOf, serviceEncoding
from netsvc_twisted._rpc._wire import (
    CANNOT_ENCODE,
    MAXIMUM_DEPTH,
    MAXIMUM_DIGITS,
    NOT_UNICODE,
    TOO_DEEP,
    DecodingError,
    EncodingError,
    checkDepth,
    checkDigits,
    isUnicode,
    parseInt,
)

_MISSING = object()

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# OSE's server codes (spec 10.6) as JSON-RPC 2.0 ones; other codes are the
# application's own and pass unchanged, as 2.0 allows.
_STANDARD_CODES = {
    SERVER_UNKNOWN_ERROR: INTERNAL_ERROR,
    SERVER_RESOURCE_UNAVAILABLE: INTERNAL_ERROR,
    SERVER_RESPONSE_ENCODING_ERROR: INTERNAL_ERROR,
    SERVER_REQUEST_HEADERS_INVALID: INVALID_REQUEST,
    SERVER_REQUEST_DECODING_ERROR: INVALID_PARAMS,
    SERVER_METHOD_UNAVAILABLE: METHOD_NOT_FOUND,
    SERVER_PARAMETERS_INCORRECT: INVALID_PARAMS,
    SERVER_APPLICATION_ERROR: INTERNAL_ERROR,
    SERVER_RESPONSE_ABORTED: INTERNAL_ERROR,
}

NUMBER_OUT_OF_RANGE = "number out of range"

#: Most calls one JSON-RPC 2.0 batch may carry.
MAXIMUM_BATCH = 100


def standardCode(error: int) -> int:
    """The JSON-RPC 2.0 code of an OSE failure code."""
    return _STANDARD_CODES.get(error, error)


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
    """
    Carries what could be read of the request, to answer in kind: the id,
    the version, the 2.0 C{code}, and whether it was a notification (a
    well-formed 2.0 request without an id is not answered even when its
    parameters are refused).
    """

    def __init__(
        self,
        message: str,
        id: Any = None,
        version: str = "2.0",
        code: int = INVALID_REQUEST,
        isNotification: bool = False,
    ) -> None:
        DecodingError.__init__(self, message)
        self.id = id
        self.version = version
        self.code = code
        self.isNotification = isNotification


def _fromTyped(kind: str, text: str) -> Any:
    if kind == "":
        return None
    if kind == "xsd:boolean":
        return text in ("true", "1")
    if kind in _INT_TYPES:
        return checkDigits(int(text))
    if kind in _FLOAT_TYPES:
        return _finite(float(text))
    return text


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise EncodingError("JSON has no NaN or infinity")
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
        checkDepth(active)
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
        return checkDigits(value)
    if isinstance(value, float):
        return _finite(float(value))
    scalar = _scalarOf(value)
    if scalar is None:
        kind, text = serviceEncoding(value, encodeObject)
        if kind is None:
            return toJsonable(text, None, active)
        scalar = (kind, str(text))
    return _fromTyped(*scalar)


def _dumps(document: Any) -> bytes:
    try:
        text = json.dumps(
            document, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodingError(NOT_UNICODE) from None
    except (ValueError, TypeError, RecursionError):
        # toJsonable leaves nothing json refuses; keep its words out of faults.
        raise EncodingError(CANNOT_ENCODE) from None


# Decoding.


class _OutOfRange:
    """Stands, in a decoded document, for a number Python should not hold."""


_OUT_OF_RANGE = _OutOfRange()

# Only a \uD800-\uDFFF escape can put a surrogate into decoded text (raw
# surrogates are not UTF-8); pairs match too, and merely cost a check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _mayBeDeep(text: str) -> bool:
    """
    False when the brackets of C{text} cannot nest deeper than allowed:
    each pass of C{str.replace} removes the innermost pairs, so brackets
    nested N deep are gone after N passes.  Brackets inside strings only
    make it answer True, and the walk then decides.
    """
    brackets = _NOT_BRACKET.sub("", text)
    for _ in range(MAXIMUM_DEPTH):
        if not brackets:
            return False
        shorter = brackets.replace("[]", "").replace("{}", "")
        if shorter == brackets:
            return True
        brackets = shorter
    return bool(brackets)


class _NotJson(Exception):
    pass


class _Suspects:
    """
    What a decoded document may hold that must be refused, found at C
    speed while parsing, so that the walk over the document only looks for
    what may be there (most documents need no walk at all).
    """

    def __init__(self, text: str) -> None:
        self.strings = _SURROGATE_ESCAPE.search(text) is not None
        self.numbers = False
        self.deep = _mayBeDeep(text)

    def parseInt(self, text: str) -> Any:
        try:
            return parseInt(text)  # also a lower sys.set_int_max_str_digits()
        except ValueError:
            self.numbers = True
            return _OUT_OF_RANGE

    def parseFloat(self, text: str) -> Any:
        value = float(text)
        if math.isfinite(value):
            return value
        self.numbers = True
        return _OUT_OF_RANGE

    def problem(self, value: Any, depth: int) -> str | None:
        """
        What is wrong with a decoded value (text that is not Unicode, a
        number out of range, too deep), C{depth} being the levels already
        around it.  Iterative: a value may be as deep as json's own
        recursion allows.
        """
        if not (self.strings or self.numbers or self.deep):
            return None
        scalars = self.strings or self.numbers
        stack = [(value, depth)]
        while stack:
            item, level = stack.pop()
            if isinstance(item, (list, dict)):
                if level >= MAXIMUM_DEPTH:
                    return TOO_DEEP
                if isinstance(item, dict):
                    if self.strings and not all(map(isUnicode, item)):
                        return NOT_UNICODE
                    item = item.values()
                if scalars:
                    stack.extend(zip(item, itertools.repeat(level + 1)))
                elif not _CONTAINERS.isdisjoint(map(type, item)):
                    stack.extend((c, level + 1) for c in item if type(c) in _CONTAINERS)
            elif item is _OUT_OF_RANGE:
                return NUMBER_OUT_OF_RANGE
            elif self.strings and isinstance(item, str) and not isUnicode(item):
                return NOT_UNICODE
        return None

    def paramsProblem(self, params: list | dict) -> str | None:
        """C{"param N: ..."} for the first bad parameter; the list counts as a level."""
        if isinstance(params, dict):
            for position, (key, value) in enumerate(params.items(), 1):
                if not isUnicode(key):
                    return f"param {position}: name that is not valid Unicode"
                problem = self.problem(value, 1)
                if problem is not None:
                    return f"param {_paramName(key, position)}: {problem}"
            return None
        for position, value in enumerate(params, 1):
            problem = self.problem(value, 1)
            if problem is not None:
                return f"param {position}: {problem}"
        return None


_CONTAINERS = frozenset({list, dict})


def _refuseConstant(name: str) -> Any:
    raise _NotJson(name)


def _loadsDocument(data: bytes) -> tuple[Any, _Suspects]:
    """The JSON document of C{data}; a parse-error L{JsonDecodingError}."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonDecodingError(f"not UTF-8 at byte {e.start}", code=PARSE_ERROR) from None
    suspects = _Suspects(text)
    try:
        document = _parse(text, suspects)
    except json.JSONDecodeError as e:
        raise JsonDecodingError(
            f"not valid JSON at line {e.lineno}, column {e.colno}", code=PARSE_ERROR
        ) from None
    except _NotJson:
        raise JsonDecodingError("NaN and Infinity are not JSON", code=PARSE_ERROR) from None
    except RecursionError:
        raise JsonDecodingError(TOO_DEEP, code=PARSE_ERROR) from None
    return document, suspects


def _parse(text: str, suspects: _Suspects) -> Any:
    """
    json.loads with our number hooks.  The integer hook costs a Python call
    per integer, so it only runs when json's own parsing would not stop
    at Python's digits limit, or did (to find the parameter).
    """
    limit = sys.get_int_max_str_digits()
    if 0 < limit <= MAXIMUM_DIGITS:
        try:
            return json.loads(
                text, parse_float=suspects.parseFloat, parse_constant=_refuseConstant
            )
        except json.JSONDecodeError:
            raise
        except ValueError:
            pass  # an integer past the digits limit
    return json.loads(
        text,
        parse_int=suspects.parseInt,
        parse_float=suspects.parseFloat,
        parse_constant=_refuseConstant,
    )


def _paramName(key: str, position: int) -> str:
    return repr(key) if key.isidentifier() and len(key) <= 40 else str(position)


def loadsRequest(data: bytes) -> JsonCall | list[JsonCall | JsonDecodingError]:
    """
    Decode a request, or a JSON-RPC 2.0 batch (an array) into its calls
    and, in their places, the errors of the members that are not calls.
    L{JsonDecodingError} when the whole body is unusable.
    """
    document, suspects = _loadsDocument(data)
    if not isinstance(document, list):
        return _callOf(document, suspects)
    if not document:
        raise JsonDecodingError("empty batch")
    if len(document) > MAXIMUM_BATCH:
        raise JsonDecodingError(f"more than {MAXIMUM_BATCH} calls in a batch")
    members: list[JsonCall | JsonDecodingError] = []
    for member in document:
        try:
            members.append(_callOf(member, suspects))
        except JsonDecodingError as e:
            members.append(e)
    return members


def loadsCall(data: bytes) -> JsonCall:
    """Decode a single request; L{JsonDecodingError} when it is not one."""
    return _callOf(*_loadsDocument(data))


def _callOf(document: Any, suspects: _Suspects) -> JsonCall:
    if not isinstance(document, dict):
        raise JsonDecodingError("request must be a JSON object")
    version = "2.0" if "jsonrpc" in document else "1.0"
    id = document.get("id", _MISSING)
    if id is not _MISSING:
        problem = suspects.problem(id, 0)
        if problem is not None:
            code = PARSE_ERROR if problem == NOT_UNICODE else INVALID_REQUEST
            raise JsonDecodingError(f"id: {problem}", None, version, code)
        if version == "2.0" and (
            isinstance(id, bool) or not isinstance(id, (str, int, float, type(None)))
        ):
            raise JsonDecodingError("id must be a string, number or null")
    answerId = None if id is _MISSING else id
    if version == "2.0" and document["jsonrpc"] != "2.0":
        raise JsonDecodingError('jsonrpc must be "2.0"', answerId)
    method = document.get("method")
    if not isinstance(method, str):
        raise JsonDecodingError("method must be a string", answerId, version)
    if not isUnicode(method):
        raise JsonDecodingError(f"method: {NOT_UNICODE}", answerId, version, PARSE_ERROR)
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
    problem = suspects.paramsProblem(params)
    if problem is not None:
        raise JsonDecodingError(
            problem, answerId, version, INVALID_PARAMS,
            isNotification=version == "2.0" and id is _MISSING,
        )
    return JsonCall(method, params, id, version)


# Answers.


def resultDocument(
    call: JsonCall, value: Any, encodeObject: Callable[[Any], tuple] | None = None
) -> dict:
    result = toJsonable(value, encodeObject)
    if call.version == "2.0":
        return {"jsonrpc": "2.0", "result": result, "id": call.id}
    return {"result": result, "error": None, "id": call.id}


def dumpsResult(
    call: JsonCall, value: Any, encodeObject: Callable[[Any], tuple] | None = None
) -> bytes:
    """The answer to C{call}; L{EncodingError} when C{value} has no JSON form."""
    return _dumps(resultDocument(call, value, encodeObject))


def failureDocument(
    failure: ServiceFailure, id: Any = None, version: str = "1.0", code: int | None = None
) -> dict:
    """
    A failure answer; C{code} overrides the 2.0 code L{standardCode}
    gives (a decoding error knows whether it was a parse error).
    """
    if id is _MISSING:
        id = None
    if version == "2.0":
        error = {
            "code": standardCode(failure.error) if code is None else code,
            "message": failure.description,
            "data": {
                "error": failure.error,
                "origin": failure.origin,
                "details": failure.details,
            },
        }
        return {"jsonrpc": "2.0", "error": error, "id": id}
    error = {
        "error": failure.error,
        "description": failure.description,
        "origin": failure.origin,
        "details": failure.details,
    }
    return {"result": None, "error": error, "id": id}


def dumpsFailure(
    failure: ServiceFailure, id: Any = None, version: str = "1.0", code: int | None = None
) -> bytes:
    """L{failureDocument} as UTF-8; L{EncodingError} when its text is not Unicode."""
    return _dumps(failureDocument(failure, id, version, code))


def dumpsBatch(answers: list[bytes]) -> bytes:
    """A batch's answers, each already encoded, as one JSON array."""
    return b"[" + b",".join(answers) + b"]"


# The client side.


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
    document, suspects = _loadsDocument(data)
    if not isinstance(document, dict) or not (
        "result" in document or "error" in document
    ):
        raise DecodingError("not a JSON-RPC response")
    problem = suspects.problem(document, -1)  # the envelope is no level
    if problem is not None:
        raise DecodingError(f"answer: {problem}")
    error = document.get("error")
    if error is None:
        return document.get("result")
    if not isinstance(error, dict):
        raise ServiceFailure(0, str(error))
    if "code" in error:
        data = error.get("data")
        data = data if isinstance(data, dict) else {"details": data or ""}
        code = data.get("error")
        return _raise(
            code if isinstance(code, int) else error.get("code"),
            error.get("message"), data.get("origin"), data.get("details"),
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
