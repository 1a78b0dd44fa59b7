"""Helpers of the fmnist-study report: data, models, training runs, figures and the report build.

The package is cut into layers, each a sub-package that imports only from the layers before it
(``tests/test_architecture.py`` checks): ``core`` (names, configs, profiles, statistics; no
TensorFlow) -> ``store`` (run store, cache, records) -> ``study`` (data, models, training,
studies) -> ``analyses`` (metrics, saliency, t-SNE, attacks) -> ``ledger`` (the claims and their
verdicts) -> ``pages`` (sentences, tables, figures) -> ``build`` (papermill, nbconvert, workers,
the command line).

Notebooks and users import modules by their short name, ``from fmnist_helpers import data,
display, viz``: this facade finds each in its layer when first used and loads nothing before
(inside the package, modules import from their layer, e.g. ``fmnist_helpers.study.data``). The
one effect of importing the package: TensorFlow's C++ start-up lines (a red "failed call to
cuInit" on CPU-only machines among them), which no log level silences, are kept out of notebook
cells and terminals when TensorFlow is first imported (:mod:`fmnist_helpers.core.quiet`).
"""

import importlib

from fmnist_helpers.core import quiet

quiet.install()

__version__ = "0.1.0"

#: Each module's layer, for ``from fmnist_helpers import <module>``.
LAYER_OF = {
    **dict.fromkeys(("choices", "config", "profiles", "sections", "seed_report", "stats",
                     "provenance", "progress", "quiet"), "core"),
    **dict.fromkeys(("runs", "backup", "cache", "records", "readlog", "store_check"), "store"),
    **dict.fromkeys(("idx", "data", "augment", "models", "recipe", "extras", "train",
                     "studies", "fullscale", "plan"), "study"),
    **dict.fromkeys(("evaluate", "explain", "sanity", "embed", "attacks"), "analyses"),
    **dict.fromkeys(("verdicts", "judges", "claims", "evidence", "verification"), "ledger"),
    **dict.fromkeys(("display", "viz"), "pages"),
    **dict.fromkeys(("report", "render", "site_index", "fingerprint", "executor", "cluster",
                     "cli"), "build"),
}


def __getattr__(name: str):
    """Import ``fmnist_helpers.<layer>.<name>`` on first use of ``fmnist_helpers.<name>``."""
    if name in LAYER_OF:
        module = importlib.import_module(f"fmnist_helpers.{LAYER_OF[name]}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fmnist_helpers' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(LAYER_OF))
