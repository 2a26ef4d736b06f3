# -*- test-case-name: tests.forms.test_form_decode -*-
"""
multipart/form-data decoding on top of python-multipart's streaming
parser: parts are handed over as the body arrives, text values stay in
memory within the field and memory limits, file parts are spooled.
"""

from __future__ import annotations

from typing import Optional

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser, MultipartState, parse_options_header)

from netsvc_twisted._forms._fields import (
    FormError, RawFields, UploadSpool, _RawUpload, contentTypeOf)

__all__ = ["MultipartDecoder"]


class MultipartDecoder:
    """Feed body chunks with feed(); finish() checks the closing boundary
    was seen, so a truncated body is a 400 rather than a partial form."""

    def __init__(self, fields: RawFields, boundary: str) -> None:
        self.fields = fields
        self.done = False
        self._headers: dict[str, str] = {}
        self._headerName = bytearray()
        self._headerValue = bytearray()
        self._name = b""
        self._text: Optional[bytearray] = None
        self._charset: Optional[str] = None
        self._file: Optional[UploadSpool] = None
        self._filename = b""
        self._fileType = ""
        try:
            self.parser = MultipartParser(boundary.encode("latin-1"), {
                "on_part_begin": self._partBegin,
                "on_header_field": self._headerField,
                "on_header_value": self._headerValueData,
                "on_header_end": self._headerEnd,
                "on_headers_finished": self._headersFinished,
                "on_part_data": self._partData,
                "on_part_end": self._partEnd,
                "on_end": self._end,
            })
        except (FormParserError, UnicodeEncodeError):
            raise FormError(400, "Invalid multipart boundary.") from None

    # -- parser callbacks --------------------------------------------------

    def _partBegin(self) -> None:
        self._headers = {}
        self._headerName.clear()
        self._headerValue.clear()

    def _headerField(self, data: bytes, start: int, end: int) -> None:
        self._headerName += data[start:end]

    def _headerValueData(self, data: bytes, start: int, end: int) -> None:
        self._headerValue += data[start:end]

    def _headerEnd(self) -> None:
        # Latin-1 round-trips raw bytes: filenames are decoded with the
        # form's charset later.
        name = bytes(self._headerName).decode("latin-1").strip().lower()
        self._headers[name] = bytes(self._headerValue).decode(
            "latin-1").strip()
        self._headerName.clear()
        self._headerValue.clear()

    def _headersFinished(self) -> None:
        disposition, params = parse_options_header(
            self._headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in params:
            raise FormError(400, "Multipart part without a form-data name.")
        self.fields.count()
        self._name = params[b"name"]
        contentType = self._headers.get("content-type", "")
        if b"filename" in params:
            self._file = UploadSpool(self.fields)
            self._filename = params[b"filename"]
            self._fileType = contentType or "application/octet-stream"
        else:
            self._text = bytearray()
            self._charset = contentTypeOf(contentType)[1].get("charset")

    def _partData(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(memoryview(data)[start:end])
        elif self._text is not None:
            size = end - start
            self.fields.checkSize(len(self._text) + size)
            self.fields.takeText(size)
            self._text += memoryview(data)[start:end]

    def _partEnd(self) -> None:
        if self._file is not None:
            spool = self._file
            self._file = None
            spool.file.seek(0)
            self.fields.items.append((self._name, _RawUpload(
                self._filename, self._fileType, spool.file, spool.size,
                dict(self._headers))))
        elif self._text is not None:
            # The bytearray itself, not a copy: it is decoded once.
            self.fields.items.append((self._name, (self._text, self._charset)))
            self._text = None

    def _end(self) -> None:
        self.done = True

    # -- decoder interface -------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.done:
            return  # the epilogue after the closing boundary is ignored
        try:
            self.parser.write(data)
        except FormParserError as e:
            raise FormError(400, "Malformed multipart body.") from e

    def finish(self) -> None:
        if not self.done or self.parser.state != MultipartState.END:
            raise FormError(400, "Malformed multipart body: incomplete.")

    def close(self) -> None:
        # A part still being received: its file is closed with the
        # fields' files.
        self._file = None
        self._text = None
