"""A real browser against FileServer and FormServlet (issue 6).

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven
by selenium loads an HTML form served by a L{FileServer}, types
non-ASCII text, attaches a file whose name is non-ASCII and submits it
to a L{FormServlet}; the page that comes back must show the field, the
file name, and the file's size and SHA-256.

The reactor runs in the main thread (pytest-twisted), so the browser is
driven from a thread of Twisted's pool and the daemon keeps serving
meanwhile.  Nothing is skipped when the browser is missing: CI installs
it, and a missing browser is a failure to see.
"""

import hashlib
import html

import pytest_twisted
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from twisted.internet import threads

import netsvc_twisted as netsvc
from netsvc_twisted._files._server import FileServer
from netsvc_twisted._forms._fields import UploadedFile
from netsvc_twisted._forms._servlet import FormServlet

from support import startDaemon

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Longer than support.TIMEOUT: a page load in a headless chromium.
PAGE_TIMEOUT = 30

TEXT = "Grüße, 世界 \"quoted\" & <tag>"
FILENAME = "résumé-日本.txt"
# Every byte value, CRLFs and a fake boundary line: the part must come
# back byte for byte.
CONTENT = (bytes(range(256)) * 64 + b"\r\n--boundary\r\n" +
           "Grüße, 世界\n".encode("utf-8")) * 3

FORM_PAGE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Upload</title></head>
<body>
<form method="post" action="/submit/result" enctype="multipart/form-data">
<input type="hidden" name="_charset_">
<input type="text" name="comment" id="comment">
<input type="file" name="upload" id="upload">
<input type="submit" id="send" value="Send">
</form>
</body>
</html>
"""


class ResultServlet(FormServlet):
    """Shows the submitted comment and the upload's name, size and
    SHA-256 in an HTML page."""

    def handleRequest(self):
        upload = self.field("upload")
        if not isinstance(upload, UploadedFile):
            self.sendError(400, "No file uploaded.")
            return
        digest = hashlib.sha256()
        size = 0
        while True:
            block = upload.read(65536)
            if not block:
                break
            digest.update(block)
            size += len(block)
        rows = [
            ("comment", self.field("comment")),
            ("charset", self.field("_charset_")),
            ("filename", upload.filename),
            ("size", str(upload.size)),
            ("read", str(size)),
            ("sha256", digest.hexdigest()),
        ]
        body = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
                "<title>Result</title></head><body>\n" +
                "".join('<p id="%s">%s</p>\n' % (key, html.escape(value))
                        for key, value in rows) +
                "</body></html>\n").encode("utf-8")
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/html; charset=utf-8")
        self.sendHeader("Content-Length", str(len(body)))
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


class ResultServer(netsvc.HttpServer):
    def servlet(self, session):
        return ResultServlet(session)


def browse(port, profile, upload):
    """In a worker thread: fill in the form and submit it, return the
    result page's values."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-dev-shm-usage",
                 "--user-data-dir=%s" % profile):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        driver.get("http://127.0.0.1:%d/upload.html" % port)
        assert driver.title == "Upload"
        driver.find_element(By.ID, "comment").send_keys(TEXT)
        driver.find_element(By.ID, "upload").send_keys(str(upload))
        driver.find_element(By.ID, "send").click()
        WebDriverWait(driver, PAGE_TIMEOUT).until(
            expected_conditions.title_is("Result"))
        return {key: driver.find_element(By.ID, key).text
                for key in ("comment", "charset", "filename", "size", "read",
                            "sha256")}
    finally:
        driver.quit()


@pytest_twisted.ensureDeferred
async def test_browser_uploads_non_ascii_form(daemons, tmp_path, monkeypatch):
    # Selenium Manager is never needed (the driver path is given); make
    # sure it would not try the network anyway.
    monkeypatch.setenv("SE_OFFLINE", "1")
    htdocs = tmp_path / "htdocs"
    htdocs.mkdir()
    (htdocs / "upload.html").write_text(FORM_PAGE, encoding="utf-8")
    upload = tmp_path / FILENAME
    upload.write_bytes(CONTENT)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()

    daemon = await startDaemon({"/": FileServer(str(htdocs)),
                                "/submit": ResultServer()})
    daemons.append(daemon)

    shown = await threads.deferToThread(
        browse, daemon.port(), profile, upload)

    # .text is the rendered text: trailing blanks are stripped.
    assert shown == {
        "comment": TEXT,
        "charset": "UTF-8",
        "filename": FILENAME,
        "size": str(len(CONTENT)),
        "read": str(len(CONTENT)),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
    }
