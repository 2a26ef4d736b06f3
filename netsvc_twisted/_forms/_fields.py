# -*- test-case-name: tests.forms.test_form_decode,tests.forms.test_form_memory -*-
"""
What every form decoder shares: the limits, the error, the raw fields
collected so far and the uploaded-file type.

Names and values stay bytes until the end: the form's charset may be
announced by a ``_charset_`` field that arrives after the fields it
applies to.
"""

from __future__ import annotations

import codecs
import tempfile
from dataclasses import dataclass
from typing import IO, Any, Optional, Union

from netsvc_twisted._http._budget import BUSY_MESSAGE, BodyHold, MemoryBudget

__all__ = [
    "FormError", "FormLimits", "UploadedFile", "RawFields", "UploadSpool",
    "contentTypeOf", "BUSY", "TEXT_TOO_LARGE",
]

#: FormError status of a submission refused because the process's
#: request-body memory is spent (sent with Retry-After).
BUSY = 503
TEXT_TOO_LARGE = ("Form text too large: over %d bytes in all. "
                  "Send large values as file uploads.")


class FormError(Exception):
    """The submission is refused with `status` (400, 413, or L{BUSY}:
    503 with Retry-After) and a short page text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


@dataclass
class FormLimits:
    """Bounds on what one submission may cost; None means unlimited.

    Text values are kept in memory: ``maximumFieldSize`` bounds each one
    and ``maximumMemorySize`` all of them together (as Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE), 413 past either.  Uploaded files are
    bounded by the body size only: each stays in memory up to
    ``spoolThreshold`` bytes, all of them up to ``maximumMemorySize``,
    and the rest goes to disk.
    """

    maximumBodySize: Optional[int] = 64 * 1024 * 1024
    maximumFieldCount: Optional[int] = 1000
    maximumFieldSize: Optional[int] = 1024 * 1024
    spoolThreshold: int = 64 * 1024
    maximumMemorySize: Optional[int] = 5 * 1024 * 1024 // 2


class UploadedFile:
    """One file part of a multipart form.

    ``file`` is positioned at the start; it is a spooled temporary file
    that lives in memory while small and on disk beyond the threshold,
    and disappears when closed (FormServlet closes it when the servlet
    is destroyed).

    Spec 8.1 as decisions.md (text vs bytes) describes uploads: C{name} is
    the field's, C{filename} and C{content_type} the client's, C{size} in
    bytes, C{headers} the part's own.
    """

    def __init__(self, name: str, filename: str, content_type: str,
                 file: IO[bytes], size: int,
                 headers: dict[str, str]) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.file = file
        self.size = size
        self.headers = headers

    def read(self, size: int = -1) -> bytes:
        """
        Read up to C{size} bytes of the file (all that is left when negative).
        """
        return self.file.read(size)

    def close(self) -> None:
        """
        Close the file, deleting its temporary copy.
        """
        self.file.close()

    def __repr__(self) -> str:
        return "<UploadedFile %r filename=%r %s %d bytes>" % (
            self.name, self.filename, self.content_type, self.size)


#: A raw value: the bytes of a text field with its own charset (or None
#: for the form's), or an upload whose names still need decoding.
RawValue = Union[tuple[bytes, Optional[str]], "_RawUpload"]


class _RawUpload:
    __slots__ = ("filename", "content_type", "file", "size", "headers")

    def __init__(self, filename: bytes, content_type: str, file: IO[bytes],
                 size: int, headers: dict[str, str]) -> None:
        self.filename = filename
        self.content_type = content_type
        self.file = file
        self.size = size
        self.headers = headers


def contentTypeOf(value: str) -> tuple[str, dict[str, str]]:
    """Media type (lower case) and parameters of a Content-Type value."""
    mediaType, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, sep, val = item.partition("=")
        if not sep:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        params[key.strip().lower()] = val
    return mediaType.strip().lower(), params


def _checkCharset(name: str) -> str:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise FormError(400, "Unknown form charset.") from None
    if not getattr(info, "_is_text_encoding", True):
        raise FormError(400, "Unknown form charset.")
    return info.name


class RawFields:
    """Fields in arrival order, counted against the field limit; what
    they hold in memory is counted against the submission's limits and
    `hold`, its share of the process's budget (a private, unlimited one
    when not given)."""

    def __init__(self, limits: FormLimits, hold: Optional[BodyHold] = None) -> None:
        self.limits = limits
        self.hold = hold if hold is not None else MemoryBudget(None).hold()
        self.items: list[tuple[bytes, RawValue]] = []
        self.files: list[IO[bytes]] = []
        self.text = 0
        self.uploads = 0

    # -- memory ------------------------------------------------------------

    def takeText(self, size: int) -> None:
        """Account for `size` more bytes of text values."""
        limit = self.limits.maximumMemorySize
        if limit is not None and self.text + size > limit:
            raise FormError(413, TEXT_TOO_LARGE % limit)
        self.takeBuffer(size)
        self.text += size

    def takeBuffer(self, size: int) -> None:
        """Account for `size` bytes buffered while being decoded."""
        if not self.hold.take(size):
            raise FormError(BUSY, BUSY_MESSAGE)

    def giveBuffer(self, size: int) -> None:
        self.hold.give(size)

    def takeUpload(self, size: int) -> bool:
        """May `size` more bytes of uploads stay in memory?"""
        limit = self.limits.maximumMemorySize
        if limit is not None and self.uploads + size > limit:
            return False
        if not self.hold.take(size):
            return False
        self.uploads += size
        return True

    def giveUpload(self, size: int) -> None:
        self.uploads -= size
        self.hold.give(size)

    def count(self) -> None:
        """Account for one more field before its value is collected."""
        limit = self.limits.maximumFieldCount
        if limit is not None and len(self.items) >= limit:
            raise FormError(400, "Too many form fields.")

    def checkSize(self, size: int) -> None:
        limit = self.limits.maximumFieldSize
        if limit is not None and size > limit:
            raise FormError(413, "Form field too large.")

    def add(self, name: bytes, value: RawValue) -> None:
        self.count()
        self.items.append((name, value))

    def charset(self, fallback: str) -> str:
        """The form's charset: a ``_charset_`` field wins over the
        Content-Type parameter (`fallback`)."""
        for name, value in self.items:
            if name == b"_charset_" and isinstance(value, tuple):
                try:
                    announced = value[0].decode("ascii").strip()
                except UnicodeDecodeError:
                    raise FormError(400, "Unknown form charset.") from None
                if announced:
                    return _checkCharset(announced)
        return _checkCharset(fallback)

    def decode(self, fallback: str = "utf-8") -> dict[str, Any]:
        """Decode to OSE's field dict: one value, or a list of values for
        a repeated name, each a str or an L{UploadedFile}."""
        charset = self.charset(fallback)
        fields: dict[str, Any] = {}
        # Each raw value is dropped once decoded, so the text is not held
        # twice over.
        items, self.items = self.items, []
        for index, (rawName, raw) in enumerate(items):
            items[index] = None  # type: ignore[call-overload]
            try:
                name = rawName.decode(charset)
                if isinstance(raw, tuple):
                    data, own = raw
                    value: Any = data.decode(
                        _checkCharset(own) if own else charset)
                else:
                    # Header values were kept as Latin-1, byte for byte;
                    # they are in the form's charset, like the filename.
                    headers = {key: text.encode("latin-1").decode(charset)
                               for key, text in raw.headers.items()}
                    value = UploadedFile(name, raw.filename.decode(charset),
                                         raw.content_type, raw.file,
                                         raw.size, headers)
            except UnicodeError:
                # Not only UnicodeDecodeError: codecs such as idna and
                # "undefined" raise plain UnicodeError on bad input.
                raise FormError(
                    400, "Form data is not valid %s." % charset) from None
            if name in fields:
                previous = fields[name]
                if isinstance(previous, list):
                    previous.append(value)
                else:
                    fields[name] = [previous, value]
            else:
                fields[name] = value
        return fields

    def close(self) -> None:
        """Close the uploaded files and give back the memory."""
        files, self.files = self.files, []
        for file in files:
            file.close()
        self.items = []
        self.hold.release()


class UploadSpool:
    """Storage for one upload as it arrives: memory first, an unlinked
    disk file past the spool threshold or when the submission's or the
    process's memory is short."""

    def __init__(self, fields: RawFields) -> None:
        self.fields = fields
        # max_size=0: never rolled over by itself, only by write().
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=0)
        fields.files.append(self.file)
        self.size = 0
        self.inMemory = 0
        self.onDisk = False

    def write(self, data: Any) -> None:
        size = len(data)
        if not self.onDisk:
            if (self.size + size > self.fields.limits.spoolThreshold
                    or not self.fields.takeUpload(size)):
                self.file.rollover()  # type: ignore[attr-defined]
                self.onDisk = True
                self.fields.giveUpload(self.inMemory)
                self.inMemory = 0
            else:
                self.inMemory += size
        self.file.write(data)
        self.size += size
