"""Form decoding without sockets: url-encoded and multipart, fed in
chunks of every size, with the limits and error statuses."""

import hashlib

import pytest
from urllib3 import encode_multipart_formdata

from netsvc_twisted._forms._fields import FormError, FormLimits, UploadedFile
from netsvc_twisted._forms._submission import FormSubmission


def decode(body, contentType, chunk=None, limits=None, query=b""):
    submission = FormSubmission(contentType, limits or FormLimits(), query)
    try:
        step = chunk or max(len(body), 1)
        for start in range(0, len(body), step):
            submission.feed(body[start:start + step])
        return submission.finish()
    except BaseException:
        submission.close()
        raise


URLENC = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("chunk", [None, 1, 2, 5])
def test_urlencoded(chunk):
    body = b"user=fred&password=&a=1&a=2&a=3&sp=a+b%20c&u=%C3%A9t%C3%A9&flag"
    fields = decode(body, URLENC, chunk)
    assert fields == {"user": "fred", "password": "", "a": ["1", "2", "3"],
                      "sp": "a b c", "u": "été", "flag": ""}


def test_no_content_type_is_urlencoded():
    assert decode(b"x=1", "") == {"x": "1"}


def test_other_media_type_gives_no_fields():
    assert decode(b'{"x": 1}', "application/json") == {}


def test_query_fields_come_first():
    fields = decode(b"a=body", URLENC, query=b"a=query&q=1")
    assert fields == {"a": ["query", "body"], "q": "1"}


def test_charset_field_and_content_type_charset():
    body = "_charset_=iso-8859-1&name=%E9t%E9".encode()
    assert decode(body, URLENC)["name"] == "été"
    assert decode(b"name=%E9", URLENC + "; charset=latin-1")["name"] == "é"


@pytest.mark.parametrize("body,contentType", [
    (b"name=%E9", URLENC),
    (b"name=%FF%FE", URLENC),
    (b"_charset_=no-such-charset&x=1", URLENC),
    (b"x=1", URLENC + "; charset=rot13"),
])
def test_undecodable_is_400(body, contentType):
    with pytest.raises(FormError) as e:
        decode(body, contentType)
    assert e.value.status == 400


def multipart(fields, boundary="xXxBOUNDARYxXx"):
    body, contentType = encode_multipart_formdata(fields, boundary=boundary)
    return body, contentType


@pytest.mark.parametrize("chunk", [None, 1, 3, 17, 4096])
def test_multipart_text_and_file(chunk):
    data = bytes(range(256)) * 40
    body, contentType = multipart([
        ("user", "Zoë"),
        ("empty", ""),
        ("multi", "1"), ("multi", "2"),
        ("upload", ("résumé.bin", data, "application/x-thing")),
    ])
    fields = decode(body, contentType, chunk)
    assert fields["user"] == "Zoë"
    assert fields["empty"] == ""
    assert fields["multi"] == ["1", "2"]
    upload = fields["upload"]
    assert isinstance(upload, UploadedFile)
    assert upload.filename == "résumé.bin"
    assert upload.content_type == "application/x-thing"
    assert upload.size == len(data)
    assert upload.file.read() == data
    upload.close()


def test_multipart_large_file_spools_to_disk():
    data = b"0123456789abcdef" * 8192  # 128 KiB
    body, contentType = multipart([("f", ("big.bin", data))])
    limits = FormLimits(spoolThreshold=1024)
    fields = decode(body, contentType, 1000, limits)
    upload = fields["f"]
    assert upload.file._rolled  # on disk, not in memory
    assert hashlib.sha256(upload.file.read()).digest() == \
        hashlib.sha256(data).digest()
    upload.close()


def test_multipart_small_file_stays_in_memory():
    body, contentType = multipart([("f", ("a.txt", b"tiny"))])
    upload = decode(body, contentType)["f"]
    assert not upload.file._rolled
    assert upload.read() == b"tiny"


def test_empty_file_field_as_browsers_send_it():
    body = (b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\""
            b"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n")
    upload = decode(body, "multipart/form-data; boundary=B")["f"]
    assert (upload.filename, upload.size) == ("", 0)


def test_part_charset():
    body = (b"--B\r\nContent-Disposition: form-data; name=\"t\"\r\n"
            b"Content-Type: text/plain; charset=latin-1\r\n\r\n\xe9\r\n--B--\r\n")
    assert decode(body, "multipart/form-data; boundary=B") == {"t": "é"}


def test_epilogue_ignored():
    body, contentType = multipart([("a", "1")])
    assert decode(body + b"trailing junk", contentType) == {"a": "1"}


@pytest.mark.parametrize("body,contentType", [
    (None, "multipart/form-data"),  # no boundary
    (b"not multipart at all", "multipart/form-data; boundary=B"),
    (b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",
     "multipart/form-data; boundary=B"),  # truncated
    (b"--B\r\nContent-Disposition: attachment\r\n\r\nv\r\n--B--\r\n",
     "multipart/form-data; boundary=B"),  # no form-data name
    (b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
     + b"X-Pad: " + b"p" * 10000 + b"\r\n\r\nv\r\n--B--\r\n",
     "multipart/form-data; boundary=B"),  # oversized part header
    (b"", "multipart/form-data; boundary=B"),
])
def test_malformed_multipart_is_400(body, contentType):
    with pytest.raises(FormError) as e:
        decode(body or b"", contentType, 3)
    assert e.value.status == 400


def test_field_count_limit():
    limits = FormLimits(maximumFieldCount=3)
    assert len(decode(b"a=1&b=2&c=3", URLENC, limits=limits)) == 3
    with pytest.raises(FormError) as e:
        decode(b"a=1&b=2&c=3&d=4", URLENC, limits=limits)
    assert e.value.status == 400
    body, contentType = multipart([(str(i), "x") for i in range(4)])
    with pytest.raises(FormError) as e:
        decode(body, contentType, limits=limits)
    assert e.value.status == 400
    # Query-string fields count too.
    with pytest.raises(FormError):
        decode(b"a=1", URLENC, limits=limits, query=b"q=1&r=2&s=3")


def test_field_size_limit():
    limits = FormLimits(maximumFieldSize=10)
    assert decode(b"a=" + b"x" * 10, URLENC, limits=limits) == {"a": "x" * 10}
    with pytest.raises(FormError) as e:
        decode(b"a=" + b"x" * 11, URLENC, limits=limits)
    assert e.value.status == 413
    # A field that never ends is refused before it is all buffered.
    submission = FormSubmission(URLENC, limits)
    with pytest.raises(FormError):
        for _ in range(1000):
            submission.feed(b"x" * 100)
    body, contentType = multipart([("t", "y" * 11)])
    with pytest.raises(FormError) as e:
        decode(body, contentType, 4, limits)
    assert e.value.status == 413
    # Files are not bound by the field size.
    body, contentType = multipart([("f", ("f.bin", b"z" * 100))])
    assert decode(body, contentType, limits=limits)["f"].size == 100


def test_body_size_limit():
    limits = FormLimits(maximumBodySize=100)
    submission = FormSubmission(URLENC, limits)
    with pytest.raises(FormError) as e:
        submission.checkLength(101)
    assert e.value.status == 413
    with pytest.raises(FormError) as e:
        decode(b"a=" + b"x" * 200, URLENC, 7, limits)
    assert e.value.status == 413
    with pytest.raises(FormError) as e:
        decode(b"x" * 200, "application/octet-stream", 50, limits)
    assert e.value.status == 413
