# -*- test-case-name: tests.hosting.test_twistd_plugin -*-
"""
How C{twistd netsvc} reports what went wrong: one line that says what to
fix, for a script error (naming the innermost frame), for an option left
after the script's arguments, and for a failure of a daemonised twistd,
whose message Twisted would cut at 100 bytes, mid-word.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Sequence


def _where(filename: str) -> str:
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


def describe(exc: BaseException, path: str) -> str:
    """
    One line: the innermost frame, why, and the script's line when the
    error was raised elsewhere (a module it imported, the library).
    """
    if isinstance(exc, SyntaxError):
        return f"{exc.filename or path}:{exc.lineno}: {type(exc).__name__}: {exc.msg}"
    script = os.path.abspath(path)
    inner = scriptLine = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        inner = f"{_where(filename)}:{lineno}"
        if os.path.abspath(filename) == script:
            scriptLine = f"{path}:{lineno}"
            inner = scriptLine
    text = str(exc)
    line = f"{inner or path}: {type(exc).__name__}" + (f": {text}" if text else "")
    if scriptLine and scriptLine != inner:
        line += f" (from {scriptLine})"
    return line


def printTraceback(exc: BaseException) -> None:
    """C{--traceback}: the whole of it, on the real stderr."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write("".join(traceback.format_exception(exc)))
        stream.flush()


def optionAfterArguments(options: Any, commandLine: Sequence[str],
                         args: Sequence[str]) -> str | None:
    """
    The first of the script's arguments that is one of our options: getopt
    stops at the first argument, so C{--config app.py 8080 --listen X}
    would give C{--listen X} to the script.  C{--} before the arguments
    says they are all the script's.
    """
    if "--" in commandLine[: len(commandLine) - len(args)]:
        return None
    longs = {"--" + name.rstrip("=") for name in options.longOpt}
    shorts = {"-" + letter for letter in options.shortOpt.replace(":", "")}
    for arg in args:
        if arg.split("=", 1)[0] in longs or arg[:2] in shorts:
            return arg
    return None


def fullStatusMessages() -> None:
    """
    A daemonising twistd reports a startup failure to the terminal through
    a pipe, and reads 100 bytes of it: the message was cut mid-word (and
    shown as a bytes repr).  Let the pipe carry up to 4 KiB, atomically,
    and show the line as it is.  Called before twistd forks.
    """
    from twisted.python.util import untilConcludes
    from twisted.scripts import _twistd_unix

    runner = _twistd_unix.UnixApplicationRunner
    if getattr(runner, "_netsvcFullMessages", False):
        return

    def _formatChildException(self: Any, exception: BaseException) -> bytes:
        line = traceback.format_exception_only(exception.__class__, exception)[-1].strip()
        if hasattr(exception, "message"):  # ScriptError: its line as it is
            line = exception.message
        return ("1 " + line).encode("utf-8", "backslashreplace")[:4000]

    def _waitForStart(self: Any, readPipe: int) -> int:
        data = untilConcludes(os.read, readPipe, 4096)
        if data == b"0":
            return 0
        stream = sys.__stderr__
        if stream is not None:
            untilConcludes(stream.write, data[2:].decode("utf-8", "replace")
                           + "\n(see the log file for more)\n")
        return 1

    runner._formatChildException = _formatChildException  # type: ignore[method-assign]
    runner._waitForStart = _waitForStart  # type: ignore[method-assign]
    runner._netsvcFullMessages = True
