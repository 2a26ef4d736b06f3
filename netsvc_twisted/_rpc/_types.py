# -*- test-case-name: tests.rpc.test_rpc_netrpc_codec -*-
"""
RPC value classes (spec 10.4) that have no exact Python 3 built-in.

The date and time classes are C{str} subclasses holding the wire text, so
they compare, print and serialise naturally; they also accept the matching
C{datetime} objects, which is what Python 3 code usually has at hand.
C{Binary} is a C{bytes} subclass for the same reason.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

Boolean = bool


class Binary(bytes):
    """Bytes that travel as base64 (C{xsd:base64Binary}).

    Spec 10.4.
    """

    @property
    def data(self) -> bytes:
        """
        The bytes, as a plain C{bytes} object (OSE's attribute).
        """
        return bytes(self)

    def __repr__(self) -> str:
        return f"Binary({bytes(self)!r})"


class Date(str):
    """C{xsd:date}, text C{[-]YYYY-MM-DD}.

    Spec 10.4; also from a C{datetime.date}.
    """

    def __new__(cls, value: Any = "") -> "Date":
        if isinstance(value, _dt.datetime):
            value = value.date()
        if isinstance(value, _dt.date):
            value = value.isoformat()
        return str.__new__(cls, value)


class DateTime(str):
    """C{xsd:dateTime}, text C{[-]YYYY-MM-DDThh:mm:ss}.

    Spec 10.4; also from a C{datetime.datetime}.
    """

    def __new__(cls, value: Any = "") -> "DateTime":
        if isinstance(value, _dt.datetime):
            value = value.replace(microsecond=0, tzinfo=None).isoformat()
        elif isinstance(value, str) and len(value) == 17 and value[8] == "T":
            # XML-RPC's compact form YYYYMMDDThh:mm:ss.
            value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
        return str.__new__(cls, value)

    def asDatetime(self) -> _dt.datetime:
        """The value as a naive C{datetime.datetime}."""
        return _dt.datetime.fromisoformat(str(self))


class Time(str):
    """C{xsd:time}, text C{hh:mm:ss}.

    Spec 10.4; also from a C{datetime.time}.
    """

    def __new__(cls, value: Any = "") -> "Time":
        if isinstance(value, _dt.time):
            value = value.replace(microsecond=0, tzinfo=None).isoformat()
        return str.__new__(cls, value)


class Duration(str):
    """C{xsd:duration}, text C{[-]P[nY][nM]nDTnHnMnS}.

    Spec 10.4.
    """

    def __new__(cls, value: Any = "") -> "Duration":
        if isinstance(value, _dt.timedelta):
            value = _formatDuration(value)
        return str.__new__(cls, value)


def _formatDuration(delta: _dt.timedelta) -> str:
    sign = "-" if delta < _dt.timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}P{delta.days}DT{hours}H{minutes}M{seconds}S"


class Opaque:
    """A value of a type this side does not know: kept as (type, text).

    Spec 10.4.
    """

    def __init__(self, type: str, data: str) -> None:
        self.type = type
        self.data = data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Opaque):
            return NotImplemented
        return (self.type, self.data) == (other.type, other.data)

    def __hash__(self) -> int:
        return hash((self.type, self.data))

    def __repr__(self) -> str:
        return f"Opaque({self.type!r}, {self.data!r})"
