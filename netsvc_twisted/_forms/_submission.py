# -*- test-case-name: tests.forms.test_form_decode -*-
"""
Incremental decoding of HTML form submissions, independent of servlets.

A decoder is fed body chunks as they arrive and enforces the limits as it
goes, so an oversized or malformed body is refused (L{FormError}) without
first being buffered.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import parse_qsl

from netsvc_twisted._forms._fields import (
    FormError, FormLimits, RawFields, contentTypeOf)
from netsvc_twisted._forms._multipart import MultipartDecoder
from netsvc_twisted._http._budget import BodyHold

__all__ = [
    "UrlEncodedDecoder", "DiscardDecoder", "decoderFor", "parseQuery",
    "FormSubmission", "checkLength",
]


class UrlEncodedDecoder:
    """application/x-www-form-urlencoded, split at ``&`` as it arrives so
    that only one incomplete field is ever buffered."""

    def __init__(self, fields: RawFields) -> None:
        self.fields = fields
        self.pending = b""

    def _piece(self, piece: bytes) -> None:
        # parse_qsl() on bytes insists the result is ASCII; going through
        # Latin-1 text keeps the raw octets for the charset decoding.
        for name, value in parse_qsl(piece.decode("latin-1"),
                                     keep_blank_values=True,
                                     encoding="latin-1"):
            rawValue = value.encode("latin-1")
            self.fields.checkSize(len(rawValue))
            self.fields.takeText(len(rawValue))
            self.fields.add(name.encode("latin-1"), (rawValue, None))

    def feed(self, data: bytes) -> None:
        # The raw bytes count against the process's budget while they
        # are buffered, the decoded values against the form's limits.
        fields = self.fields
        fields.takeBuffer(len(data))
        buffered = self.pending + data
        pieces = buffered.split(b"&")
        self.pending = pieces.pop()
        limit = fields.limits.maximumFieldSize
        # Percent-encoding triples a value; allow a generous name too.
        if limit is not None and len(self.pending) > 3 * limit + 4096:
            raise FormError(413, "Form field too large.")
        for piece in pieces:
            self._piece(piece)
        fields.giveBuffer(len(buffered) - len(self.pending))

    def finish(self) -> None:
        pending, self.pending = self.pending, b""
        self._piece(pending)
        self.fields.giveBuffer(len(pending))


class DiscardDecoder:
    """A body of a media type that is not a form: no fields (as OSE's
    cgi-based decoding), the bytes are only counted."""

    def __init__(self, fields: RawFields) -> None:
        self.fields = fields

    def feed(self, data: bytes) -> None:
        pass

    def finish(self) -> None:
        pass


def decoderFor(contentType: str, fields: RawFields):
    """The decoder for a request body of `contentType`; no Content-Type at
    all is url-encoded, as with the cgi module OSE used."""
    mediaType, params = contentTypeOf(contentType)
    if mediaType in ("", "application/x-www-form-urlencoded"):
        return UrlEncodedDecoder(fields)
    if mediaType == "multipart/form-data":
        boundary = params.get("boundary", "")
        if not boundary:
            raise FormError(400, "Multipart form without a boundary.")
        return MultipartDecoder(fields, boundary)
    return DiscardDecoder(fields)


def parseQuery(query: bytes, fields: RawFields) -> None:
    """Add the fields of a (raw) query string."""
    decoder = UrlEncodedDecoder(fields)
    decoder.feed(query)
    decoder.finish()


def checkLength(limits: FormLimits, length: int) -> None:
    """Refuse a body whose (declared or received) length is too big."""
    limit = limits.maximumBodySize
    if limit is not None and length > limit:
        raise FormError(413, "Request body too large.")


class FormSubmission:
    """One submission: query-string fields first, then the body's, with
    the body size limit checked on every chunk; what it holds in memory
    is counted in `hold` (see L{RawFields})."""

    def __init__(self, contentType: str, limits: FormLimits,
                 query: bytes = b"", hold: Optional[BodyHold] = None) -> None:
        self.limits = limits
        self.received = 0
        self.raw = RawFields(limits, hold)
        self.decoder: Any = None
        try:
            self.charset = contentTypeOf(contentType)[1].get(
                "charset", "utf-8")
            if query:
                parseQuery(query, self.raw)
            self.decoder = decoderFor(contentType, self.raw)
        except BaseException:
            self.close()
            raise

    def checkLength(self, length: int) -> None:
        """Refuse up front a body whose declared length is too big."""
        checkLength(self.limits, length)

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        checkLength(self.limits, self.received)
        self.decoder.feed(data)

    def finish(self) -> dict[str, Any]:
        self.decoder.finish()
        return self.raw.decode(self.charset)

    def close(self) -> None:
        closer = getattr(self.decoder, "close", None)
        if closer is not None:
            closer()
        self.raw.close()
