# -*- test-case-name: tests.rpc.test_rpc_hostile,tests.rpc.test_rpc_netrpc_codec -*-
"""
What the three codecs share about bodies nobody checked: the two error
types, the bounds on nesting and numbers, the text XML can carry, and one
XML parser with DTDs, entities and external references refused.

Every message here is a fixed description of what was wrong (and the
caller adds where), listed in docs/howto/rpc.md: a fault never carries
the text of a Python exception raised while decoding or encoding, which
would tell a client about our internals and nothing about its request.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.xmlrpc import DefusedExpatParser

#: Most levels of arrays and structs in one request or answer, the list of
#: parameters counting as one; each level costs stack in the encoders.
MAXIMUM_DEPTH = 100

#: Most digits of an integer: Python's own default bound on int <-> text
#: (sys.get_int_max_str_digits), fixed here so the process setting cannot
#: turn a huge number into quadratic work or an internal error message.
MAXIMUM_DIGITS = 4300
_DIGITS_BOUND = 10**MAXIMUM_DIGITS

INT64 = range(-(2**63), 2**63)

TOO_DEEP = f"nested deeper than {MAXIMUM_DEPTH} levels"
TOO_MANY_DIGITS = f"integer with more than {MAXIMUM_DIGITS} digits"
NOT_UNICODE = "text that is not valid Unicode"
NOT_XML_TEXT = "text with a character XML cannot carry"
OUTSIDE_INT64 = "integer outside signed 64 bits"
EMPTY_BODY = "empty body"
DTD_FORBIDDEN = "DTDs are not allowed"
ENTITY_FORBIDDEN = "entity declarations are not allowed"
EXTERNAL_FORBIDDEN = "external references are not allowed"
UNSUPPORTED_ENCODING = "unsupported encoding"
#: For an encoder's failure that is not one of the texts above (a bug, or
#: an application's hook), the same in every protocol: a client knows which
#: one it speaks.  A gateway logs such an exception before answering with
#: it; a codec raises it for whatever its marshaller refuses past the checks.
CANNOT_ENCODE = "value the protocol cannot carry"
#: For a client's decoder failing with anything but L{DecodingError}, which
#: it raises for every fault of a body: so a bug, chained to the failure.
CANNOT_DECODE = "answer the protocol cannot read"

# XML 1.0's Char production, complemented: C0 controls other than tab, LF
# and CR, the surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNKNOWN_ENCODING = expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING]


class EncodingError(ValueError):
    """A value has no encoding in the protocol; the message is a fixed text."""


class DecodingError(ValueError):
    """A body is not a valid request or answer; the message is a fixed text."""


def isUnicode(text: str) -> bool:
    """False for text holding lone surrogates (it has no UTF-8 form)."""
    return _SURROGATE.search(text) is None


def xmlText(text: str) -> str:
    """C{text}, once checked that an XML 1.0 document can carry it."""
    if _NOT_XML.search(text):
        raise EncodingError(NOT_XML_TEXT)
    return text


def checkDigits(value: int) -> int:
    """C{value} as an int, or L{EncodingError} past L{MAXIMUM_DIGITS} digits."""
    if -_DIGITS_BOUND < value < _DIGITS_BOUND:
        return int(value)
    raise EncodingError(TOO_MANY_DIGITS)


def intText(value: int) -> str:
    """The decimal text of C{value}, within L{MAXIMUM_DIGITS}."""
    return str(checkDigits(value))


def parseInt(text: str) -> int:
    """Decimal text to int; ValueError (never its message) when it is not one."""
    text = text.strip()
    if len(text.lstrip("+-")) > MAXIMUM_DIGITS:
        raise ValueError(TOO_MANY_DIGITS)
    return int(text)


def checkDepth(active: set[int]) -> None:
    """Raise when one more container would nest deeper than allowed."""
    if len(active) >= MAXIMUM_DEPTH:
        raise EncodingError(TOO_DEEP)


def parseXml(data: bytes, target: Any) -> None:
    """
    Feed C{data} to the event C{target} (C{xml}, C{start}, C{data}, C{end}
    methods, as for C{xmlrpc.client.ExpatParser}) through expat, with
    defusedxml refusing any DTD, entity declaration or external reference
    whatever the document's encoding.  Expat's own amplification limits
    stay on behind it.  L{DecodingError} for anything else wrong; the
    target raises L{DecodingError} itself for values it cannot take.
    """
    if not data.strip():
        raise DecodingError(EMPTY_BODY)
    parser = DefusedExpatParser(
        target, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        parser.close()
    except DecodingError:
        raise
    except DTDForbidden:
        raise DecodingError(DTD_FORBIDDEN) from None
    except EntitiesForbidden:
        raise DecodingError(ENTITY_FORBIDDEN) from None
    except ExternalReferenceForbidden:
        raise DecodingError(EXTERNAL_FORBIDDEN) from None
    except (LookupError, ValueError):
        # pyexpat's answer to an encoding it cannot map (UTF-32, Shift-JIS,
        # a made-up name); the target's own errors are DecodingErrors.
        raise DecodingError(UNSUPPORTED_ENCODING) from None
    except expat.ExpatError as e:
        if e.code == _UNKNOWN_ENCODING:
            raise DecodingError(UNSUPPORTED_ENCODING) from None
        # Columns count from 1, as in the JSON-RPC texts (expat's from 0).
        raise DecodingError(
            f"not well-formed XML at line {e.lineno}, column {e.offset + 1}"
        ) from None
