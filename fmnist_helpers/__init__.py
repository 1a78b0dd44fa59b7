"""Helpers of the fmnist-study report: data, models, training runs, figures and the report build.

Modules are imported on demand (``from fmnist_helpers import data``); importing the package itself
loads nothing heavy. Its one effect: TensorFlow's C++ start-up lines (a red "failed call to
cuInit" on CPU-only machines among them), which no log level silences, are kept out of notebook
cells and terminals when TensorFlow is first imported (:mod:`fmnist_helpers.quiet`).
"""

from fmnist_helpers import quiet

quiet.install()

__version__ = "0.1.0"
