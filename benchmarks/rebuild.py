"""Rebuild times of the report: nothing changed, one markdown cell changed, the package changed.

Builds the report once (training or reusing whatever the run store lacks), then times three
rebuilds into the same directory: with nothing changed (every section reused), with a sentence
added to one section's markdown (that page re-rendered, nothing executed), and with a comment
added to the package source (every section executed again, every run and cached analysis reused).
The notebooks and the package are edited in temporary copies; the checkout is left as it is.
Target: a no-change quick rebuild in at most 30 s on 2 cores.

Usage:
    python benchmarks/rebuild.py [--profile quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from fmnist_helpers import report

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(**options) -> float:
    start = time.perf_counter()
    status = report.build(**options)
    if status != 0:
        raise SystemExit(f"the build failed (exit {status}); see the index")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--out", default=None, help="report directory (default: a temporary one)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fmnist-rebuild-"))
    out = Path(args.out) if args.out else work / "reports"
    notebooks = work / "notebooks"
    shutil.copytree(report.NOTEBOOK_DIR, notebooks)
    options = {"profile": args.profile, "out_dir": out, "notebook_dir": notebooks}
    first = _timed(**options)
    unchanged = _timed(**options)
    page = notebooks / "02_convnet.ipynb"
    notebook = nbformat.read(page, as_version=4)
    [cell for cell in notebook.cells if cell.cell_type == "markdown"][-1].source += "\n\nEdited."
    nbformat.write(notebook, page)
    markdown = _timed(**options)
    package = work / "fmnist_helpers"
    shutil.copytree(report.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    with open(package / "stats.py", "a") as handle:
        handle.write("\n# a change in the package source\n")
    report.PACKAGE_DIR = package  # fingerprint the edited copy (the kernels import the checkout)
    changed = _timed(**options)
    print(f"\n{args.profile} report, {os.cpu_count()} CPU cores:")
    print(f"  first build (whatever was missing)      {first:7.1f} s")
    print(f"  rebuild, nothing changed                {unchanged:7.1f} s")
    print(f"  rebuild, one markdown cell changed      {markdown:7.1f} s")
    print(f"  rebuild, package source changed         {changed:7.1f} s")
    print(f"  nothing changed vs package changed      {unchanged / changed:7.2f}x the time")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
