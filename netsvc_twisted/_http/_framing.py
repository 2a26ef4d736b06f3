# -*- test-case-name: tests.http.test_request_parsing -*-
"""
A chunked request body read as strictly as its head (RFC 9112 7.1):
twisted.web's decoder with the chunk-size line and the trailer section
held to the grammar.  twisted.web takes a size of any length, ignores
what follows it up to ";" in part, and keeps any trailer line, so a
request that follows a last chunk without its empty line was swallowed
as "trailers".
"""

from __future__ import annotations

import re

from twisted.web.http import (
    _ChunkedTransferDecoder,
    _MalformedChunkedDataError,
    maxChunkSizeLineLength,
)

from netsvc_twisted._http._parser import FIELD_LINE, TOKEN, BadRequest, parseLength

_TOKEN = TOKEN.pattern
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# chunk-size [ chunk-ext ], chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]+)((?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|"
    + _QUOTED + rb"))?)*)")


class StrictChunkedDecoder(_ChunkedTransferDecoder):
    """
    Refuses (with twisted.web's L{_MalformedChunkedDataError}, which the
    channel answers with a 400) a chunk-size line or trailer line that is
    not in the grammar, a size beyond 2**63-1, and a bare LF.
    """

    def _dataReceived_CHUNK_LENGTH(self) -> bool:
        buffer = self._buffer
        eol = buffer.find(b"\r\n", self._start)
        if eol == -1:
            if b"\n" in buffer:
                raise _MalformedChunkedDataError("Bare LF in a chunk-size line.")
            if len(buffer) > maxChunkSizeLineLength:
                raise _MalformedChunkedDataError("Chunk-size line too long.")
            self._start = max(len(buffer) - 1, 0)
            return False
        match = _CHUNK_LINE.fullmatch(buffer, 0, eol) if eol < maxChunkSizeLineLength else None
        if match is None:
            raise _MalformedChunkedDataError("Bad chunk-size line.")
        try:
            length = parseLength(match.group(1), 16)
        except BadRequest:
            raise _MalformedChunkedDataError("Chunk size too large.") from None
        self.state = "BODY" if length else "TRAILER"
        self.length = length
        del buffer[:eol + 2]
        self._start = 0
        return True

    def _dataReceived_TRAILER(self) -> bool:
        buffer = self._buffer
        eol = buffer.find(b"\r\n", self._start)
        if eol == -1:
            if b"\n" in buffer:
                raise _MalformedChunkedDataError("Bare LF in the trailer section.")
        elif eol > 0 and FIELD_LINE.fullmatch(buffer, 0, eol) is None:
            raise _MalformedChunkedDataError("Bad trailer line.")
        return super()._dataReceived_TRAILER()
