"""Figures of the report, by topic; data in, ``matplotlib.figure.Figure`` out.

Nothing is configured at import time; notebooks call :func:`notebook_setup` once. Markdown and
HTML displays are in :mod:`fmnist_helpers.pages.display`. Every figure function is re-exported
here, so notebooks write ``viz.learning_curves(...)``.
"""

from fmnist_helpers.pages.viz.attacks import adversarial_examples, fooling_grid, robustness_plot
from fmnist_helpers.pages.viz.augmentation import augmentation_examples, throughput_bars
from fmnist_helpers.pages.viz.common import accuracy_bars, notebook_setup
from fmnist_helpers.pages.viz.conclusions import (
    full_scale_curves,
    time_to_accuracy,
    verdict_bars,
    verdict_matrix,
)
from fmnist_helpers.pages.viz.data import (
    class_balance_chart,
    class_grid,
    mean_images,
    pixel_histogram,
)
from fmnist_helpers.pages.viz.embed import dataset_tsne, tsne_panels
from fmnist_helpers.pages.viz.evaluate import confusion_heatmaps, misclassified_grid, per_class_bars
from fmnist_helpers.pages.viz.explain import (
    activation_grid,
    filter_grid,
    guided_grid,
    image_with_label,
    map_comparison,
    sanity_curves,
    sanity_grid,
    sparsity_plot,
)
from fmnist_helpers.pages.viz.training import (
    architecture_diagram,
    learning_curves,
    study_accuracy,
    study_curves,
)

__all__ = [
    "accuracy_bars", "activation_grid", "adversarial_examples", "architecture_diagram",
    "augmentation_examples", "class_balance_chart", "class_grid", "confusion_heatmaps",
    "dataset_tsne", "filter_grid", "fooling_grid", "full_scale_curves", "guided_grid",
    "image_with_label", "learning_curves", "map_comparison", "mean_images", "misclassified_grid",
    "notebook_setup", "per_class_bars", "pixel_histogram", "robustness_plot", "sanity_curves",
    "sanity_grid", "sparsity_plot", "study_accuracy", "study_curves", "throughput_bars",
    "time_to_accuracy", "tsne_panels", "verdict_bars", "verdict_matrix",
]
