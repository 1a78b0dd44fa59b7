"""A machine check of a figure's legibility: what a careful reader would trip over.

:func:`problems` draws a ``matplotlib.figure.Figure`` once and reports

- text that overlaps other text (titles, labels, tick labels, annotations, legend entries),
- text that sticks out of the figure,
- an axis with numeric tick labels but no label (categorical tick labels name themselves),
- a colour image whose values mean something (any colour map but a grey one) without a colour
  bar: neither its own nor one shared with the images of the same colour map and range.

During a report build, every figure function's result is checked when ``$FMNIST_LEGIBILITY_LOG``
names a file (:func:`record`, called by ``viz.common._done``): one JSON line per figure, with the
function that drew it and its problems. The smoke build's test reads that log.

matplotlib has no such check; it is written here on its public artist API (``get_window_extent``).
"""

from __future__ import annotations

import json
import os
import re

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.text import Text

#: Colour maps that draw a picture (intensities), not a quantity that needs a scale.
GREY_MAPS = {"gray", "gray_r", "Greys", "Greys_r", "binary", "binary_r"}
#: Overlaps smaller than this many square pixels (at 100 dpi) are anti-aliasing, not collisions.
MIN_OVERLAP = 4.0
_NUMBER = re.compile(r"^[\s\u2212+\-−]*[\d.,]+\s*(%|e[\u2212+\-]?\d+)?$")


def _texts(fig: Figure) -> list[Text]:
    """The texts the figure draws: its own (suptitle, ``fig.text``, figure legends) and, for
    every visible axes, its title, ``ax.text``/``annotate`` texts, legend, and -- where the axis
    is shown -- its axis labels and tick labels."""
    found = [c for c in fig.get_children() if isinstance(c, Text)]
    for legend in fig.legends:
        found += legend.get_texts() + [legend.get_title()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        found += [ax.title, *ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            found += legend.get_texts() + [legend.get_title()]
        if ax.axison:
            found += [ax.xaxis.label, ax.yaxis.label]
            found += _drawn_ticklabels(ax.xaxis) + _drawn_ticklabels(ax.yaxis)
    unique = {id(t): t for t in found}
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def _drawn_ticklabels(axis) -> list[Text]:
    """Tick labels of ticks inside the axis's view (the others exist but are not drawn)."""
    low, high = sorted(axis.get_view_interval())
    span = (high - low) * 1e-6
    return [label for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
            if low - span <= loc <= high + span]


def _describe(text: Text) -> str:
    return repr(text.get_text().strip().replace("\n", " ")[:40])


def _numeric_ticks(labels) -> bool:
    shown = [t.get_text() for t in labels if t.get_visible() and t.get_text().strip()]
    return bool(shown) and all(_NUMBER.match(s) for s in shown)


def problems(fig: Figure) -> list[str]:
    """What makes a figure hard to read; an empty list when nothing does.

    Args:
        fig: The figure (drawn here with its own canvas).

    Returns:
        One sentence per problem, naming the text or the axes.
    """
    if not hasattr(fig.canvas, "get_renderer"):  # a figure detached from pyplot
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    figure_box = fig.bbox
    boxes = []
    for text in _texts(fig):
        box = text.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        if (box.x0 < figure_box.x0 - 1 or box.y0 < figure_box.y0 - 1
                or box.x1 > figure_box.x1 + 1 or box.y1 > figure_box.y1 + 1):
            found.append(f"text {_describe(text)} sticks out of the figure")
        boxes.append((text, box))
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if width > 0 and height > 0 and width * height > MIN_OVERLAP:
                found.append(f"text {_describe(a)} overlaps {_describe(b)}")
    colorbars = _colorbar_axes(fig)
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison or id(ax) in colorbars:
            continue
        name = ax.get_title() or ax.get_label() or "an axes"
        if _numeric_ticks(ax.get_xticklabels()) and not ax.get_xlabel().strip():
            found.append(f"{name!r}: the x axis has no label")
        if _numeric_ticks(ax.get_yticklabels()) and not ax.get_ylabel().strip():
            found.append(f"{name!r}: the y axis has no label")
    found += _images_without_scale(fig)
    return found


def _colorbar_axes(fig: Figure) -> set[int]:
    return {id(m.colorbar.ax) for m in fig.findobj(lambda a: isinstance(a, ScalarMappable))
            if m.colorbar is not None}


def _images_without_scale(fig: Figure) -> list[str]:
    images = [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)
              and im.get_visible()]
    scaled = {(im.get_cmap().name, im.norm.vmin, im.norm.vmax) for im in images
              if im.colorbar is not None}
    out = []
    for im in images:
        if im.get_cmap().name in GREY_MAPS or im.get_array().ndim == 3:  # a picture (or RGB)
            continue
        if (im.get_cmap().name, im.norm.vmin, im.norm.vmax) not in scaled:
            title = im.axes.get_title() or "an image"
            out.append(f"{title!r}: a {im.get_cmap().name} image without a colour bar")
    return out


def record(fig: Figure, function: str) -> None:
    """Append the figure's problems to ``$FMNIST_LEGIBILITY_LOG`` when it is set (builds).

    Args:
        fig: The figure a figure function returns.
        function: That function's name.
    """
    path = os.environ.get("FMNIST_LEGIBILITY_LOG")
    if not path:
        return
    line = json.dumps({"figure": function, "problems": problems(fig)})
    with open(path, "a") as handle:
        handle.write(line + "\n")
