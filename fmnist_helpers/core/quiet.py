"""TensorFlow's C++ start-up lines kept out of notebooks and terminals, real messages kept.

Importing TensorFlow prints, whatever ``TF_CPP_MIN_LOG_LEVEL`` says, lines written before its
logging is initialized: "WARNING: All log messages before absl::InitializeLog() ...", "I0000 ...
oneDNN custom operations are on ...", "... Could not find cuda drivers ...", "This TensorFlow
binary is optimized ...", and on a machine without an NVIDIA driver, at the first use of a
device, a red "E0000 ... failed call to cuInit: ... CUDA error". Measured on TF 2.21: neither
``TF_CPP_MIN_LOG_LEVEL`` (1, 2 or 3) nor ``CUDA_VISIBLE_DEVICES`` (empty or -1) removes the
first three; only level 3 removes the cuInit line, and it hides every real error too.

:func:`install` (called by the package's ``__init__``) makes the first import of TensorFlow,
whoever does it (Keras, our modules, a notebook cell), run with the process's stderr (file
descriptor 2, where C++ writes) sent to a temporary file, together with the device discovery
that prints the cuInit line; afterwards every line that is not one of these start-up lines is
written to stderr again. Set ``FMNIST_TF_STARTUP_LOG=1`` to see them all. Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path

#: Set to 1 to keep TensorFlow's start-up lines.
SHOW_ENV = "FMNIST_TF_STARTUP_LOG"

_NOISE = [
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"^[IW]\d{4} [\d:. ]+\d+ \S+\.(cc|h):\d+\] "),  # C++ info and warning lines
    re.compile(r"^To enable the following instructions: .* rebuild TensorFlow"),
]
#: The cuInit failure is noise only where there is no NVIDIA driver to talk to.
_NO_DRIVER_CUINIT = re.compile(r"^E\d{4} [\d:. ]+\d+ cuda_platform\.cc:\d+\] failed call to "
                               r"cuInit")


def is_startup_noise(line: str, *, nvidia_driver: bool | None = None) -> bool:
    """Whether a stderr line is one of TensorFlow's start-up lines (see the module docstring).

    Args:
        line: One line, without its newline.
        nvidia_driver: Whether the machine has an NVIDIA driver (default: look in ``/proc``);
            with one, a cuInit failure is a real error and is kept.

    Returns:
        ``True`` for a start-up line.
    """
    if any(pattern.search(line) for pattern in _NOISE):
        return True
    if nvidia_driver is None:
        nvidia_driver = Path("/proc/driver/nvidia").exists()
    return not nvidia_driver and bool(_NO_DRIVER_CUINIT.search(line))


@contextlib.contextmanager
def stderr_to(file) -> None:
    """Point file descriptor 2 (where C++ code and child processes write) at an open binary
    file for the block, then back."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def startup_lines_dropped():
    """Send file descriptor 2 to a temporary file for the block; then write back to stderr
    every line that :func:`is_startup_noise` does not recognise."""
    with tempfile.TemporaryFile() as caught:
        try:
            with stderr_to(caught):
                yield
        finally:
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors="replace").splitlines()
                    if line.strip() and not is_startup_noise(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` like the other finders, then runs its module (and the device
    discovery) inside :func:`startup_lines_dropped`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the real finders do the finding
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            with startup_lines_dropped():
                run_module(module)
                module.config.list_physical_devices()  # the cuInit line is printed here

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Quiet TensorFlow's start-up lines at its first import (nothing when it is already
    imported, or when ``$FMNIST_TF_STARTUP_LOG`` is 1). Sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless
    set, which silences TensorFlow's later info lines."""
    if os.environ.get(SHOW_ENV) == "1" or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
