"""What the commands print: lines that survive a closed pipe, and errors on stderr.

Rule: an error is one line on stderr that starts `conformance:`; a reader that goes away
(`conformance run -v | head`) silences the output, never the work. `USAGE_ERROR` is the
exit code of unusable input; `OUT_DEFAULT` the folder the commands write and read.
"""

from __future__ import annotations

import os
import sys

OUT_DEFAULT = "reports"
USAGE_ERROR = 2


def err(message: str) -> None:
    print(f"conformance: {message}", file=sys.stderr)


class Echo:
    """Prints one line per finished case; a closed pipe (`run -v | head`) silences it and the
    run goes on to write its results in full."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.closed = False

    def __call__(self, record) -> None:
        if self.closed or (record["status"] == "pass" and not self.verbose):
            return
        line = f"  {record['status']:<11} {record['file']}::{record['id']}  {one_line(record['message'])[:160]}"
        say(self, line)


def one_line(text: str) -> str:
    """Text for one line of output: control characters (newlines included) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def say(echo: Echo | None, line: str) -> None:
    if echo is not None and echo.closed:
        return
    try:
        print(line, flush=True)
    except BrokenPipeError:
        silence_stdout()
        if echo is not None:
            echo.closed = True


def silence_stdout() -> None:
    """Send what is still printed to the null device: the reader of stdout went away."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
