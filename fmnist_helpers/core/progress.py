"""Progress and housekeeping lines (training epochs, reused runs, set-aside entries): to the
terminal, never onto a report page.

A build runs each section's kernel with ``$FMNIST_PROGRESS_LOG`` pointing at that section's
kernel log (``<job>.kernel.log`` beside its executed notebook); there these lines are appended to
the log instead of becoming stderr boxes -- with local paths in them -- on the published page.
Anywhere else (the command line, a notebook opened in JupyterLab) they go to stderr as before.

Imports nothing of the package.
"""

from __future__ import annotations

import os
import sys

PROGRESS_LOG_ENV = "FMNIST_PROGRESS_LOG"


def say(message: str) -> None:
    """Show one progress line: on stderr, or in the kernel log during a report build.

    Args:
        message: The line (no trailing newline).
    """
    log = os.environ.get(PROGRESS_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(message + "\n")
        return
    print(message, file=sys.stderr, flush=True)
