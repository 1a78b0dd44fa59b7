"""Helpers of the fmnist-study report: data, models, training runs, figures and the report build.

Modules are imported on demand (``from fmnist_helpers import data``); importing the package itself
loads nothing heavy and has no side effects.
"""

__version__ = "0.1.0"
