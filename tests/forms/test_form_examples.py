"""The manual's form examples E12 and E13 (spec 11), built by the example
programs' own build() and driven over real sockets."""

import http.client

import pytest_twisted
from twisted.internet import threads


from support import LOCAL, TIMEOUT, fetch, started





def postInPieces(port, path, pieces):
    """POST a body written in several separate sends."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(sum(map(len, pieces))))
        connection.endheaders()
        for piece in pieces:
            connection.send(piece)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest_twisted.ensureDeferred
async def test_e12_form_by_hand(daemons, example):
    port = await started(daemons, example("form_by_hand.py")["build"](LOCAL))
    query = "user=fred&colour=red&colour=blue&empty=&note=a%20b"
    reply = await fetch(port, path="/?" + query)
    assert reply.status == 200
    expected = b"colour=red\ncolour=blue\nempty=\nnote=a b\nuser=fred\n"
    assert reply.body == expected
    body = query.encode()
    pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
    status, data = await threads.deferToThread(postInPieces, port, "/", pieces)
    assert (status, data) == (200, expected)
    # processForm() not overridden: 501.
    assert (await fetch(port, path="/bare?x=1")).status == 501
    assert (await fetch(port, "PUT", "/", body=b"x")).status == 400


@pytest_twisted.ensureDeferred
async def test_e13_login_servlet(daemons, example):
    port = await started(daemons, example("login_form.py")["build"](LOCAL))
    reply = await fetch(port, path="/login?user=admin&password=secret")
    assert reply.status == 302
    assert reply.headers["location"] == "http://127.0.0.1:%d" % port
    reply = await fetch(port, "POST", "/login", body=b"user=admin&password=secret",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 302
    assert (await fetch(port, path="/login?user=admin")).status == 400
    assert (await fetch(port, path="/login?user=admin&password=wrong")).status == 400
    reply = await fetch(port, path="/login?user=admin&user=other&password=secret")
    assert reply.status == 400 and b"only once" in reply.body
    assert (await fetch(port, path="/elsewhere")).status == 404
