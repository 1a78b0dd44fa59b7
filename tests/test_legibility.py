"""The legibility check on constructed figures: each problem it reports, and a clean figure."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from fmnist_helpers.pages.viz import legibility


def _clean():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1, 2], [0.1, 0.5, 0.4], label="validation")
    ax.set(xlabel="epoch", ylabel="loss", title="A clean figure")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def test_a_clean_figure_has_no_problems():
    assert legibility.problems(_clean()) == []


def test_overlapping_text_and_text_outside_the_figure_are_reported():
    fig = _clean()
    ax = fig.axes[0]
    ax.text(1, 0.3, "a label on a whisker")
    ax.text(1, 0.3, "another label")
    ax.annotate("far right", (1.0, 0.5), xycoords="figure fraction", xytext=(5, 0),
                textcoords="offset points")
    found = legibility.problems(fig)
    assert "text 'a label on a whisker' overlaps 'another label'" in found
    assert "text 'far right' sticks out of the figure" in found


def test_an_axis_with_numbers_but_no_label_is_reported_and_categories_are_not():
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    left.plot([0, 1], [0, 1])
    left.set_title("numbers")
    right.barh(["Shirt", "Bag"], [0.6, 0.9])
    right.set(title="categories", xlabel="accuracy")
    fig.tight_layout()
    found = legibility.problems(fig)
    assert "'numbers': the x axis has no label" in found
    assert "'numbers': the y axis has no label" in found
    assert not any("categories" in p for p in found)


def test_a_colour_map_without_a_colour_bar_is_reported_a_grey_picture_is_not():
    values = np.random.default_rng(0).normal(size=(8, 8))
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(9, 3), layout="constrained")
    a.imshow(values, cmap="gray_r")
    b.imshow(values, cmap="coolwarm", vmin=-3, vmax=3)
    c.imshow(values, cmap="coolwarm", vmin=-3, vmax=3)
    for ax, title in zip((a, b, c), ("picture", "difference", "same scale")):
        ax.set_title(title)
        ax.axis("off")
    assert legibility.problems(fig) == ["'difference': a coolwarm image without a colour bar",
                                        "'same scale': a coolwarm image without a colour bar"]
    fig.colorbar(c.images[0], ax=[b, c])  # one bar for both: same colour map and range
    assert legibility.problems(fig) == []


def test_a_build_records_each_figure_under_its_function(tmp_path, monkeypatch):
    import json

    from fmnist_helpers import viz

    log = tmp_path / "legibility.jsonl"
    monkeypatch.setenv("FMNIST_LEGIBILITY_LOG", str(log))
    viz.learning_curves({"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.5, 0.6],
                         "val_accuracy": [0.45, 0.55]}, title="curves")
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["figure"] == "learning_curves" and entry["problems"] == []


@pytest.mark.slow
def test_every_figure_of_the_smoke_build_is_legible(smoke_site):
    """The check ran on every figure the figure functions returned during the real build."""
    import json

    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    entries = [json.loads(line)
               for line in (site.parent / "legibility.jsonl").read_text().splitlines()]
    assert len(entries) >= 40 and len({e["figure"] for e in entries}) >= 20
    problems = [f"{e['figure']}: {p}" for e in entries for p in e["problems"]]
    assert problems == []
