"""Figures of the report. Every function returns a ``matplotlib.figure.Figure``.

Nothing is configured at import time; notebooks call :func:`notebook_setup` once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_helpers.data import CLASS_NAMES

SPLIT_COLORS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}


def notebook_setup() -> None:
    """Sharp inline figures and a consistent seaborn style (call once per notebook)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid")
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside Jupyter
        pass
    plt.rcParams["figure.dpi"] = 110


def _done(fig) -> plt.Figure:
    """Detach a figure from pyplot so a notebook shows it once, as the cell's value."""
    plt.close(fig)
    return fig


def class_grid(images: np.ndarray, labels: np.ndarray, per_class: int = 10, seed: int = 0):
    """Real samples of every class, one row per class (the seed's Figure 1).

    Args:
        images: ``uint8`` images ``(n, 28, 28)``.
        labels: Their classes.
        per_class: Images per row.
        seed: Which images are drawn.

    Returns:
        The figure.

    Raises:
        ValueError: If a class has fewer than ``per_class`` images.
    """
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(CLASS_NAMES), per_class,
                             figsize=(per_class * 0.8 + 1.6, len(CLASS_NAMES) * 0.8))
    for k, name in enumerate(CLASS_NAMES):
        members = np.flatnonzero(labels == k)
        if len(members) < per_class:
            raise ValueError(f"class {name} has {len(members)} images, fewer than {per_class}.")
        for j, index in enumerate(rng.choice(members, per_class, replace=False)):
            ax = axes[k, j]
            ax.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[k, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Fashion-MNIST: random training images, one row per class")
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.14)
    return _done(fig)


def class_balance_chart(balance: pd.DataFrame):
    """Images per class in each split, as grouped bars.

    Args:
        balance: ``evaluate.class_balance`` output.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(10, 3.8))
    positions = np.arange(len(balance))
    width = 0.8 / len(balance.columns)
    for i, split in enumerate(balance.columns):
        ax.bar(positions + (i - (len(balance.columns) - 1) / 2) * width, balance[split],
               width, label=f"{split} ({balance[split].sum():,})",
               color=SPLIT_COLORS.get(split))
    ax.set_xticks(positions, balance.index, rotation=30, ha="right")
    ax.set_ylabel("images")
    ax.set_title("Class balance per split")
    ax.legend(title="split (total)", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _done(fig)


def mean_images(images: np.ndarray, labels: np.ndarray):
    """The mean image of every class.

    Args:
        images: ``uint8`` images.
        labels: Their classes.

    Returns:
        The figure.
    """
    fig, axes = plt.subplots(1, len(CLASS_NAMES), figsize=(13, 1.9))
    for k, (ax, name) in enumerate(zip(axes, CLASS_NAMES)):
        ax.imshow(images[labels == k].mean(axis=0), cmap="magma", vmin=0, vmax=255)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle("Mean image per class (training split)", y=1.02)
    return _done(fig)


def pixel_histogram(datasets: dict[str, np.ndarray]):
    """Histogram of pixel intensities, one line per dataset, log-scaled counts.

    Args:
        datasets: ``{name: uint8 images}``.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bins = np.arange(257)
    for name, images in datasets.items():
        counts, _ = np.histogram(images, bins=bins)
        ax.step(bins[:-1], counts / counts.sum(), where="post", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("pixel intensity (0 = black background, 255 = white)")
    ax.set_ylabel("fraction of pixels (log)")
    ax.set_title("Pixel-intensity distribution")
    ax.set_xlim(0, 255)
    ax.legend()
    fig.tight_layout()
    return _done(fig)


def accuracy_bars(table: pd.DataFrame, *, title: str, value: str = "accuracy",
                  error: str | None = "std"):
    """Horizontal bars of accuracies with error bars, labelled with their values.

    Args:
        table: Rows to plot, indexed by name.
        title: The figure's title.
        value: Column with the accuracy (0-1).
        error: Column with the error bar half-width, or ``None``.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(table) + 1.3))
    errors = table[error] if error else None
    ax.barh(table.index, table[value], xerr=errors, color="#4C72B0", capsize=4)
    for y, (v, e) in enumerate(zip(table[value], errors if errors is not None else [0] * len(table))):
        ax.text(min(v + (e or 0) + 0.01, 0.98), y, f"{v:.1%}", va="center",
                ha="left" if v < 0.9 else "right", color="black")
    ax.set_xlim(0, 1)
    ax.set_xlabel(value)
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    return _done(fig)


def architecture_diagram(table: pd.DataFrame, *, title: str):
    """A drawn diagram of a model: one block per layer with its output shape.

    Args:
        table: ``models.parameter_table`` of the model.
        title: The figure's title.

    Returns:
        The figure.
    """
    shown = table[~table["type"].isin(["Dropout", "Activation", "BatchNormalization"])]
    colors = {"Conv2D": "#4C72B0", "MaxPooling2D": "#DD8452", "Flatten": "#8C8C8C",
              "Dense": "#55A868"}
    fig, ax = plt.subplots(figsize=(max(8, 1.05 * (len(shown) + 1)), 3.4))
    x = 0.0
    ax.add_patch(plt.Rectangle((x, -0.5), 0.9, 1.0, color="#CCCCCC"))
    ax.text(x + 0.45, 0, "input\n28x28x1", ha="center", va="center", fontsize=8)
    for _, row in shown.iterrows():
        x += 1.25
        shape = row["output_shape"]
        # block height grows with the spatial size, so downsampling is visible
        height = 0.5 + 0.5 * (shape[0] / 28 if len(shape) == 3 else 0.15)
        ax.add_patch(plt.Rectangle((x, -height), 0.9, 2 * height,
                                   color=colors.get(row["type"], "#999999"), alpha=0.85))
        ax.annotate("", xy=(x, 0), xytext=(x - 0.35, 0),
                    arrowprops=dict(arrowstyle="->", color="#444444"))
        ax.text(x + 0.45, height + 0.12, row["layer"], ha="center", va="bottom", fontsize=11,
                fontweight="bold")
        ax.text(x + 0.45, 0, "x".join(str(s) for s in shape), ha="center", va="center",
                fontsize=10, color="white", rotation=90 if len(shape) == 3 else 0)
        ax.text(x + 0.45, -height - 0.12, f"{row['parameters']:,}", ha="center", va="top",
                fontsize=9, color="#333333")
    ax.set_xlim(-0.2, x + 1.1)
    ax.set_ylim(-1.5, 1.5)
    ax.axis("off")
    ax.set_title(title + " (in blocks: output shape; below: parameters)", fontsize=12)
    fig.tight_layout()
    return _done(fig)


def learning_curves(history: dict[str, list], *, title: str):
    """Training and validation loss and accuracy per epoch (the seed's Figure 10).

    Args:
        history: A run's history (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``).
        title: The figure's title.

    Returns:
        The figure.
    """
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        for prefix, label, style in (("", "train", "-o"), ("val_", "validation", "-s")):
            values = np.array([np.nan if v is None else v for v in history.get(prefix + metric, [])],
                              dtype=float)
            if len(values):
                ax.plot(epochs[:len(values)], values, style, label=label, markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_xticks(epochs)
        ax.legend()
    loss_ax.set_title("loss (cross-entropy)")
    acc_ax.set_title("accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def findings(sentences: list[str]):
    """Show generated sentences as a Markdown bullet list in a notebook.

    Args:
        sentences: Text derived from measured numbers.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    from IPython.display import Markdown

    return Markdown("\n".join(f"- {s}" for s in sentences))


def profile_banner(profile_name: str):
    """Show which profile a notebook runs with and what that means.

    Args:
        profile_name: ``smoke``, ``quick`` or ``full``.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    from IPython.display import Markdown

    from fmnist_helpers.profiles import get_profile

    p = get_profile(profile_name)
    sizes = ", ".join(f"{name} {'all' if size is None else f'{size:,}'}" for name, size in
                      (("train", p.train_size), ("validation", p.val_size), ("test", p.test_size)))
    note = ("" if p.name == "full" else
            " Numbers here are **not** the seed report's full-scale results.")
    return Markdown(
        f"> **Profile `{p.name}`** — {p.description}: images {sizes}; {p.epochs} epochs; "
        f"model width x{p.width}; batch {p.batch_size}; Adam learning rate {p.learning_rate:g}; "
        f"{p.seeds} seeds per comparison.{note}")


def study_curves(result, *, metrics=("loss", "val_loss")):
    """Loss curves of a study: mean over seeds with a min-max band, one line per variant.

    With grouped variants (e.g. batch norm on each model) there is one panel per group showing
    the validation loss (solid) and training loss (dashed). Diverged runs end where their loss
    stopped being finite, marked with an ``x``.

    Args:
        result: A :class:`~fmnist_helpers.studies.StudyResult`.
        metrics: History metrics to plot when variants are not grouped (one panel each).

    Returns:
        The figure.
    """
    variants = result.study.variants
    groups = list(dict.fromkeys(v.group for v in variants))
    epochs = np.arange(1, result.profile.epochs + 1)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    titles = {"loss": "training loss", "val_loss": "validation loss"}
    if groups == [""]:
        panels = [(titles.get(m, m), [(v, m, "-") for v in variants]) for m in metrics]
    else:
        panels = [(g, [(v, m, "-" if m == "val_loss" else "--") for v in variants if v.group == g
                       for m in ("val_loss", "loss")]) for g in groups]
    columns = min(len(panels), 3)
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False)
    labels_in_group = {}
    for ax, (title, lines) in zip(axes.flat, panels):
        for variant, metric, style in lines:
            index = labels_in_group.setdefault(variant.label, len(labels_in_group))
            color = palette[index % len(palette)]
            curves = result.curves(variant.key, metric)
            with np.errstate(all="ignore"):
                mean = np.nanmean(curves, axis=0) if np.isfinite(curves).any() else curves[0]
            lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
            label = variant.label if (groups == [""] or metric == "val_loss") else None
            ax.plot(epochs, mean, style, color=color, label=label, marker="o", markersize=3)
            if curves.shape[0] > 1:
                ax.fill_between(epochs, lo, hi, color=color, alpha=0.18, linewidth=0)
            for run in result.runs[variant.key]:
                if run.diverged and run["diverged_epoch"]:
                    ax.plot([run["diverged_epoch"]], [np.nanmax(curves[np.isfinite(curves)])
                                                      if np.isfinite(curves).any() else 0],
                            "x", color=color, markersize=10, markeredgewidth=2)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_xticks(epochs)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    seeds = max(len(r) for r in result.runs.values())
    subtitle = ("solid: validation, dashed: training; " if groups != [""] else "")
    fig.suptitle(f"{result.study.title} (seed {result.study.seed_figure}) — {subtitle}mean of "
                 f"{seeds} seeds, band: min–max, x: diverged; {result.profile.name} profile")
    fig.tight_layout()
    return _done(fig)


def study_accuracy(result):
    """Final validation and test accuracy per variant, mean with min-max error bars.

    Args:
        result: A :class:`~fmnist_helpers.studies.StudyResult`.

    Returns:
        The figure.
    """
    variants = result.study.variants
    names = [v.key for v in variants]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(variants) * 2 + 1.4))
    y = np.arange(len(variants))
    for offset, metric, color in ((-0.18, "val_accuracy", "#DD8452"),
                                  (0.18, "test_accuracy", "#55A868")):
        means, lows, highs = [], [], []
        for v in variants:
            values = [x for x in result.values(v.key, metric) if x is not None]
            means.append(np.mean(values) if values else 0.0)
            lows.append(means[-1] - (min(values) if values else 0.0))
            highs.append((max(values) if values else 0.0) - means[-1])
        ax.barh(y + offset, means, 0.36, xerr=[lows, highs], color=color, capsize=3,
                label=metric.replace("_", " "))
        for yi, m in zip(y + offset, means):
            ax.text(m + 0.005, yi, f"{m:.1%}", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    finite = [m for v in variants for m in result.values(v.key, "val_accuracy") if m is not None]
    low = max(0.0, min(finite) - 0.1) if finite else 0.0
    ax.set_xlim(low, 1.0)
    ax.set_xlabel("accuracy (bars: mean over seeds; whiskers: min–max)")
    ax.set_title(f"{result.study.title}: final accuracy ({result.profile.name} profile)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return _done(fig)


def augmentation_examples(images: np.ndarray, labels: np.ndarray, examples: dict[str, list]):
    """Each augmentation applied to the same real images (the seed's Figures 2-8).

    Args:
        images: ``(n, 28, 28, 1)`` float originals in ``[0, 1]``.
        labels: Their classes.
        examples: ``{augmentation title: [augmented batch, ...]}``; each batch is shaped like
            ``images``.

    Returns:
        The figure: one row per augmentation (plus the originals), one column per image.
    """
    rows = [("original", [images])] + list(examples.items())
    draws = max(len(batches) for _, batches in rows)
    n = len(images)
    fig, axes = plt.subplots(len(rows), n * draws, figsize=(0.95 * n * draws + 1.8, 1.05 * len(rows)),
                             squeeze=False)
    for r, (title, batches) in enumerate(rows):
        for d in range(draws):
            for i in range(n):
                ax = axes[r, d * n + i]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if d < len(batches):
                    ax.imshow(batches[d][i, ..., 0], cmap="gray_r", vmin=0, vmax=1)
                else:
                    ax.axis("off")
                if r == 0 and d == 0:
                    ax.set_title(CLASS_NAMES[int(labels[i])], fontsize=8)
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Each augmentation on the same real images" +
                 (f" ({draws} random draws side by side)" if draws > 1 else ""))
    fig.subplots_adjust(wspace=0.04, hspace=0.08, left=0.17)
    return _done(fig)


def throughput_bars(table: pd.DataFrame):
    """Images per second of each augmentation stage beside training's.

    Args:
        table: Indexed by stage name with an ``images/s`` column.

    Returns:
        The figure (log-scaled x axis).
    """
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(table) + 1.4))
    colors = ["#C44E52" if "training" in name else "#4C72B0" for name in table.index]
    ax.barh(table.index, table["images/s"], color=colors)
    for y, value in enumerate(table["images/s"]):
        ax.text(value * 1.05, y, f"{value:,.0f}", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("images per second (log scale)")
    ax.set_title("Augmentation throughput vs training throughput (red)")
    ax.invert_yaxis()
    fig.tight_layout()
    return _done(fig)


def study_intro(name: str):
    """Introduce a study: what it compares, the seed's figure and words, the question.

    Args:
        name: A study name from ``studies.STUDIES``.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    from IPython.display import Markdown

    from fmnist_helpers.studies import get_study

    study = get_study(name)
    arms = "; ".join(f"{v.group + ': ' if v.group else ''}{v.label}" for v in study.variants)
    return Markdown(
        f"## {study.title} (seed {study.seed_figure})\n\n"
        f"**Compared:** {arms}.\n\n"
        f"**The seed says:** \"{study.seed_says}\"\n\n"
        f"**Question:** {study.question} Everything not named here is as in the profile's baseline "
        "ConvNet run.")


def fooling_grid(start: np.ndarray, images: np.ndarray, info: dict):
    """The noise start and, for each target class, the image the model was fooled by.

    Args:
        start: The noise image ``(28, 28, 1)``.
        images: The fooling images ``(k, 28, 28, 1)``.
        info: ``attacks.fool_from_noise``'s info.

    Returns:
        The figure.
    """
    count = len(images)
    columns = int(np.ceil((count + 1) / 2))
    fig, axes = plt.subplots(2, columns, figsize=(1.9 * columns, 5.4))
    axes = axes.ravel()
    axes[0].imshow(start[..., 0], cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title(f"noise start\npredicted {CLASS_NAMES[info['start_prediction'][0]]}\n"
                      f"({info['start_confidence'][0]:.0%})", fontsize=9)
    for ax, image, target, confidence, steps, ok in zip(
            axes[1:], images, info["target"], info["confidence"], info["steps"], info["success"]):
        ax.imshow(image[..., 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"-> {CLASS_NAMES[target]}\n{confidence:.1%}, {steps} steps"
                     + ("" if ok else "\nNOT reached"), fontsize=9,
                     color="black" if ok else "#b00020")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes)[count + 1:]:
        ax.axis("off")
    fig.suptitle("From one noise image to every class (title: target, its probability, steps)")
    fig.tight_layout()
    fig.subplots_adjust(hspace=0.55)
    return _done(fig)


def adversarial_examples(model, images: np.ndarray, labels: np.ndarray,
                         adversarial: dict[str, np.ndarray], shown: int = 5):
    """Originals, adversarial versions and their differences, with predictions and confidences.

    Args:
        model: The attacked model (logits).
        images: Original float images.
        labels: True classes.
        adversarial: ``{attack name: adversarial images}`` (same order as ``images``).
        shown: Images per row.

    Returns:
        The figure: a row of originals, then for each attack a row of adversarial images and a
        row of differences (red: brighter, blue: darker).
    """
    from fmnist_helpers.attacks import predict_proba

    images, labels = images[:shown], np.asarray(labels)[:shown]
    rows = [("original", images, None)]
    for name, adv in adversarial.items():
        rows.append((name, adv[:shown], None))
        rows.append(("difference", adv[:shown] - images, name))
    fig, axes = plt.subplots(len(rows), shown, figsize=(1.7 * shown + 2.2, 1.75 * len(rows)),
                             squeeze=False)
    for r, (title, batch, _) in enumerate(rows):
        probs = predict_proba(model, batch) if title != "difference" else None
        for i in range(shown):
            ax = axes[r, i]
            if title == "difference":
                limit = max(float(np.abs(batch).max()), 1e-6)
                ax.imshow(batch[i, ..., 0], cmap="coolwarm", vmin=-limit, vmax=limit)
                ax.set_title(f"L-inf {np.abs(batch[i]).max():.2f}", fontsize=7)
            else:
                ax.imshow(batch[i, ..., 0], cmap="gray_r", vmin=0, vmax=1)
                predicted = int(probs[i].argmax())
                wrong = predicted != labels[i]
                ax.set_title(f"{CLASS_NAMES[predicted]} {probs[i].max():.0%}", fontsize=7,
                             color="#b00020" if wrong else "black")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
    for i in range(shown):
        axes[0, i].set_xlabel(f"true: {CLASS_NAMES[int(labels[i])]}", fontsize=7)
    fig.suptitle("Adversarial examples (title: prediction and confidence; red: misclassified)")
    fig.tight_layout()
    return _done(fig)


def robustness_plot(curve: pd.DataFrame, *, title: str):
    """Test accuracy against the perturbation budget epsilon, one line per attack.

    Args:
        curve: ``attacks.robustness_curve`` output.
        title: The figure's title.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for column, marker in zip(curve.columns, "os^"):
        ax.plot(curve.index, curve[column], marker=marker, label=column)
    ax.axhline(0.1, color="#888888", linestyle=":", label="chance (10%)")
    ax.set_xlabel("epsilon (L-infinity budget, pixel scale 0-1)")
    ax.set_ylabel("test accuracy under attack")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return _done(fig)


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _image_grid(maps, *, columns: int, cmap: str, titles=None, symmetric: bool = False,
                size: float = 1.0, title: str = ""):
    """Small multiples of 2-D maps, each scaled on its own."""
    count = len(maps)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.1 + 0.6),
                             squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        _blank(ax)
        if i >= count:
            ax.axis("off")
            continue
        m = np.asarray(maps[i]).squeeze()
        if symmetric:
            limit = np.abs(m).max() or 1.0
            ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(m, cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_with_label(image: np.ndarray, label: int, *, title: str = ""):
    """One image, large, titled with its class (the seed's Figure 14a)."""
    fig, ax = plt.subplots(figsize=(2.6, 2.9))
    ax.imshow(np.asarray(image).squeeze(), cmap="gray_r", vmin=0, vmax=1)
    _blank(ax)
    ax.set_title(title or f"The image looked at:\n{CLASS_NAMES[label]}", fontsize=10)
    fig.tight_layout()
    return _done(fig)


def filter_grid(filters: np.ndarray, *, title: str):
    """First-layer kernels, red positive / blue negative, each on its own scale (Figure 14b)."""
    columns = min(16, len(filters))
    fig = _image_grid(list(filters), columns=columns, cmap="RdBu_r", symmetric=True, size=0.7,
                      title=title)
    return _done(fig)


def activation_grid(values: np.ndarray, *, title: str, limit: int = 64):
    """Feature maps ``(h, w, channels)`` of one image, one panel per channel (Figure 14c).

    All-zero maps are marked "0" so dead or silent filters are visible.
    """
    channels = min(limit, values.shape[-1])
    maps = [values[..., c] for c in range(channels)]
    titles = ["0" if not np.any(m) else "" for m in maps]
    fig = _image_grid(maps, columns=min(16, channels), cmap="viridis", titles=titles, size=0.7,
                      title=title)
    return _done(fig)


def guided_grid(image: np.ndarray, maps: np.ndarray, channels, *, layer: str):
    """Guided-backprop maps of several channels next to the image (the seed's Figure 15)."""
    panels = [np.asarray(image).squeeze()] + [np.abs(m).squeeze() for m in maps]
    titles = ["image"] + [f"{layer} ch {c}" for c in channels]
    count = len(panels)
    columns = min(6, count)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.7, rows * 1.9), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        _blank(ax)
        if i >= count:
            ax.axis("off")
            continue
        ax.imshow(panels[i], cmap="gray_r" if i == 0 else "magma")
        ax.set_title(titles[i], fontsize=9)
    fig.suptitle(f"Guided backpropagation of {len(channels)} random {layer} channels "
                 "(absolute value, each panel on its own scale)")
    fig.tight_layout()
    return _done(fig)


def sparsity_plot(table: pd.DataFrame):
    """Fraction of zero activations and dead filters per conv layer over training."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for block, group in table.groupby("block", sort=False):
        left.plot(group["epoch"], group["zero_fraction"], marker="o", label=block)
        right.plot(group["epoch"], group["dead_filters"] / group["filters"], marker="o",
                   label=block)
    dead = (table["dead_filters"] / table["filters"]).max()
    left.set(xlabel="epoch", ylabel="fraction of activations = 0", ylim=(0, 1),
             title="Sparsity of conv activations (probe set)")
    right.set(xlabel="epoch", ylabel="fraction of filters dead", ylim=(-0.01, max(0.1, dead * 1.2)),
              title="Dead filters (zero for every probe image)")
    epochs = sorted(table["epoch"].unique())
    for ax in (left, right):
        ax.set_xticks(epochs)
        ax.legend(title="layer", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return _done(fig)


def _class_scatter(ax, embedding, labels, title: str, names=CLASS_NAMES) -> None:
    import seaborn as sns

    colors = sns.color_palette("tab10", len(names))
    for k, name in enumerate(names):
        points = embedding[labels == k]
        ax.scatter(points[:, 0], points[:, 1], s=3, color=colors[k], label=name, alpha=0.8,
                   linewidths=0)
    _blank(ax)
    ax.set_title(title, fontsize=10)


def tsne_panels(embeddings: dict, labels: np.ndarray, table: pd.DataFrame, *, title: str):
    """One t-SNE panel per recorded epoch, coloured by class, with its separability numbers."""
    count = len(embeddings)
    fig, axes = plt.subplots(1, count, figsize=(3.3 * count + 1.8, 3.9), squeeze=False)
    scores = table.set_index("epoch")
    for ax, (epoch, embedding) in zip(axes[0], embeddings.items()):
        row = scores.loc[epoch]
        name = "before training" if epoch == 0 else f"after epoch {epoch}"
        _class_scatter(ax, embedding, labels,
                       f"{name}\n5-NN {row['knn_accuracy']:.1%}, silhouette "
                       f"{row['silhouette']:.2f}")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), markerscale=4,
                       fontsize=8, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def dataset_tsne(embeddings: dict, table: pd.DataFrame):
    """MNIST and Fashion-MNIST t-SNE side by side (the seed's Figure 26)."""
    digit_names = [str(d) for d in range(10)]
    fig, axes = plt.subplots(1, len(embeddings), figsize=(12, 5.2))
    for ax, (name, (embedding, labels)) in zip(axes, embeddings.items()):
        row = table.loc[name]
        names = digit_names if name == "MNIST" else CLASS_NAMES
        _class_scatter(ax, embedding, labels,
                       f"{name}: {int(row['images']):,} images, raw pixels\n5-NN "
                       f"{row['knn_accuracy']:.1%}, silhouette {row['silhouette']:.2f}", names)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=5, markerscale=4,
                  fontsize=8, frameon=False)
    fig.tight_layout()
    return _done(fig)


def map_comparison(image: np.ndarray, maps: dict[str, np.ndarray], *, title: str):
    """The image and one map per method (absolute values, each on its own scale)."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.3 * (len(maps) + 1), 2.8))
    axes[0].imshow(np.asarray(image).squeeze(), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title("image", fontsize=10)
    for ax, (name, m) in zip(axes[1:], maps.items()):
        ax.imshow(np.abs(m).squeeze(), cmap="magma")
        ax.set_title(name, fontsize=10)
    for ax in axes:
        _blank(ax)
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def sanity_grid(image: np.ndarray, maps: dict, titles: dict):
    """Maps of one image as the model's weights are re-initialized from the top down.

    Args:
        image: The image explained.
        maps: ``explain.sanity_check``'s maps (``{(0, method, step): map}``).
        titles: Method name -> title.
    """
    methods = list(dict.fromkeys(method for _, method, _ in maps))
    steps = list(dict.fromkeys(step for _, _, step in maps))
    fig, axes = plt.subplots(len(methods), len(steps) + 1,
                             figsize=(1.45 * (len(steps) + 1) + 0.8, 1.6 * len(methods) + 0.9),
                             squeeze=False)
    for r, method in enumerate(methods):
        axes[r, 0].imshow(np.asarray(image).squeeze(), cmap="gray_r", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(titles[method], fontsize=9)
        for c, step in enumerate(steps, start=1):
            axes[r, c].imshow(np.abs(maps[0, method, step]).squeeze(), cmap="magma")
            if r == 0:
                axes[r, c].set_title("trained" if step == "none" else f"→ {step}", fontsize=9)
        for ax in axes[r]:
            _blank(ax)
    axes[0, 0].set_title("image", fontsize=9)
    fig.suptitle("Cascading randomization: weights re-initialized from the top layer down "
                 "to the named one")
    fig.tight_layout()
    return _done(fig)


def sanity_curves(summary: pd.DataFrame, titles: dict):
    """Similarity to the trained model's maps as layers are re-initialized (mean, range)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, score, label in ((axes[0], "spearman", "Spearman rank correlation"),
                             (axes[1], "ssim", "SSIM")):
        for method, group in summary.groupby("method", sort=False):
            x = group["step"].to_numpy()
            ax.plot(x, group[f"{score}_mean"], marker="o", label=titles[method])
            ax.fill_between(x, group[f"{score}_min"], group[f"{score}_max"], alpha=0.15)
        steps = summary.drop_duplicates("step").sort_values("step")
        ax.set_xticks(steps["step"], ["trained" if s == "none" else s
                                      for s in steps["randomized"]], rotation=30)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set(xlabel="re-initialized down to", ylabel=label, ylim=(-1.05, 1.05))
    axes[0].legend()
    fig.suptitle("How much of each map survives when the weights are destroyed "
                 "(line: mean over images; band: range)")
    fig.tight_layout()
    return _done(fig)


def misclassified_grid(images: np.ndarray, table: pd.DataFrame, *, shown: int = 8, seed: int = 0):
    """A few probe images each recorded epoch got wrong (the seed's Figure 24).

    Args:
        images: The probe images.
        table: ``evaluate.misclassified_over_training`` output.
        shown: Images per epoch.
        seed: Which of the misclassified images are drawn.
    """
    epochs = sorted(table["epoch"].unique())
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(epochs), shown, figsize=(1.55 * shown, 2.0 * len(epochs) + 0.4),
                             squeeze=False)
    for r, epoch in enumerate(epochs):
        rows = table[table["epoch"] == epoch]
        chosen = rows.iloc[np.sort(rng.choice(len(rows), min(shown, len(rows)), replace=False))]
        for c, ax in enumerate(axes[r]):
            _blank(ax)
            if c >= len(chosen):
                ax.axis("off")
                continue
            row = chosen.iloc[c]
            ax.imshow(images[row["probe"]].squeeze(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"{row['true']}\n→ {row['predicted']} {row['confidence']:.0%}",
                         fontsize=7.5)
        axes[r, 0].set_ylabel(f"epoch {epoch}", fontsize=10)
    fig.suptitle("Misclassified probe images (title: true class → predicted, confidence)")
    fig.tight_layout()
    return _done(fig)


def confusion_heatmaps(counts: pd.DataFrame, normalized: pd.DataFrame, *, title: str):
    """The confusion matrix as counts and row-normalized (the seed's Figure 25)."""
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=axes[0],
                annot_kws={"fontsize": 7.5})
    sns.heatmap(normalized * 100, annot=True, fmt=".0f", cmap="Blues", cbar=False, ax=axes[1],
                annot_kws={"fontsize": 7.5}, vmin=0, vmax=100)
    axes[0].set_title("counts")
    axes[1].set_title("% of each true class (rows sum to 100)")
    for ax in axes:
        ax.tick_params(labelsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def per_class_bars(table: pd.DataFrame, *, title: str):
    """Per-class accuracy, mean over seeds with the seed-to-seed range as an error bar."""
    seeds = [c for c in table.columns if c.startswith("seed ")]
    fig, ax = plt.subplots(figsize=(9, 3.8))
    low = table["mean"] - table[seeds].min(axis=1)
    high = table[seeds].max(axis=1) - table["mean"]
    ax.bar(table.index, table["mean"], yerr=[low, high], capsize=3, color="#4C72B0")
    for x, value in enumerate(table["mean"]):
        ax.text(x, value + 0.015, f"{value:.0%}", ha="center", fontsize=8)
    ax.set(ylabel="test accuracy (recall)", ylim=(0, 1.08), title=title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return _done(fig)


VERDICT_COLORS = {"supported": "#2e7d32", "not supported": "#b00020", "inconclusive": "#8a6d00"}


def claims_table(ledger: pd.DataFrame):
    """The claims ledger as an HTML table: claim, the seed's words, our evidence, verdict, link.

    Args:
        ledger: ``claims.judge_all`` output.

    Returns:
        An ``IPython.display.HTML`` object.
    """
    import html

    from IPython.display import HTML

    from fmnist_helpers.report import SECTIONS

    from fmnist_helpers.studies import STUDIES

    cell = "style='text-align:left;vertical-align:top'"
    rows = []
    for number, row in ledger.iterrows():
        color = VERDICT_COLORS[row["verdict"]]
        section = row["section"]
        study = section.removeprefix("08_experiments_")
        title = (f"Experiments: {STUDIES[study].title}" if study in STUDIES and study != section
                 else SECTIONS.get(section, section))
        values = [str(number), html.escape(row["seed_section"]), html.escape(row["claim"]),
                  f"<em>&ldquo;{html.escape(row['seed_words'])}&rdquo;</em>",
                  html.escape(row["evidence"]),
                  f"<span style='color:{color};font-weight:bold;white-space:nowrap'>"
                  f"{html.escape(row['verdict'])}</span>",
                  f"<a href='{html.escape(section)}.html'>{html.escape(title)}</a>"]
        rows.append("<tr>" + "".join(f"<td {cell}>{v}</td>" for v in values) + "</tr>")
    head = "".join(f"<th {cell}>{h}</th>" for h in
                   ("#", "seed", "claim", "the seed's words", "our evidence", "verdict", "shown in"))
    return HTML("<table class='claims' style='font-size:0.85em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def verdict_bars(ledger: pd.DataFrame, *, title: str):
    """How many claims got each verdict, as one stacked bar with the claim numbers in it."""
    from fmnist_helpers.claims import VERDICTS

    fig, ax = plt.subplots(figsize=(10, 1.9))
    left = 0
    for verdict in VERDICTS:
        numbers = [str(n) for n in ledger.index[ledger["verdict"] == verdict]]
        if not numbers:
            continue
        ax.barh(0, len(numbers), left=left, color=VERDICT_COLORS[verdict])
        ax.text(left + len(numbers) / 2, 0, f"{verdict}: {len(numbers)}\n" + ", ".join(numbers),
                ha="center", va="center", color="white", fontsize=9, fontweight="bold")
        left += len(numbers)
    ax.set(xlim=(0, len(ledger)), yticks=[], xticks=range(0, len(ledger) + 1, 2),
           xlabel="claims (numbers as in the table)")
    ax.set_title(title)
    ax.grid(False)
    fig.tight_layout()
    return _done(fig)


def headline(text: str):
    """Show one line in bold (e.g. the claims summary, which the index page reads back).

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    from IPython.display import Markdown

    return Markdown(f"**{text}**")


def full_scale_display(table: pd.DataFrame) -> pd.DataFrame:
    """The full-scale table as display strings (one column per heading), for HTML or Markdown.

    Args:
        table: ``claims.full_scale_table`` output.

    Returns:
        A DataFrame of strings; rows without a stored run say "not run yet".
    """
    rows = []
    for title, row in table.iterrows():
        shown = {"model": title, "seeds": str(row["seeds"]),
                 "test accuracy": "not run yet", "spread": "", "validation accuracy": "",
                 "epochs": str(row["epochs"]), "training per run": "", "images/s": "",
                 "target": f"{row['target']:.1%} ({row['target_from']})", "reached": ""}
        if row["seeds"]:
            shown.update({
                "test accuracy": f"{row['test_accuracy']:.2%}",
                "spread": "one seed" if row["seeds"] == 1 else f"{row['spread']:.2%}",
                "validation accuracy": f"{row['val_accuracy']:.2%}",
                "training per run": f"{row['minutes']:.0f} min",
                "images/s": f"{row['images_per_s']:.0f}",
                "reached": "yes" if row["reached"] else "no"})
        rows.append(shown)
    return pd.DataFrame(rows)


def full_scale_table(table: pd.DataFrame):
    """The full-scale headline runs as an HTML table (``claims.full_scale_table`` output).

    Returns:
        An ``IPython.display.HTML`` object.
    """
    import html

    from IPython.display import HTML

    shown = full_scale_display(table)
    cell = "style='text-align:left;vertical-align:top'"
    head = "".join(f"<th {cell}>{html.escape(h)}</th>" for h in shown.columns)
    rows = ["<tr>" + "".join(f"<td {cell}>{html.escape(v)}</td>" for v in values) + "</tr>"
            for values in shown.itertuples(index=False)]
    note = ("" if table["seeds"].all() else
            "<p>Rows not run yet are trained by <code>make accuracy</code> "
            "(about an hour per run on 2 CPU cores).</p>")
    return HTML("<table class='full-scale' style='font-size:0.9em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}")


def full_scale_curves(curves: pd.DataFrame, table: pd.DataFrame):
    """Training and validation accuracy per epoch of the full-scale runs, with the targets.

    Args:
        curves: ``claims.full_scale_curves`` output (one line per row and seed).
        table: ``claims.full_scale_table`` output (gives every row its colour and target).

    Returns:
        The figure; while no full-scale run is stored, a small figure that says so.
    """
    import seaborn as sns

    if curves.empty:
        fig, ax = plt.subplots(figsize=(8, 1.2))
        _blank(ax)
        ax.text(0.5, 0.5, "No full-scale run is stored yet: make accuracy trains them.",
                ha="center", va="center", transform=ax.transAxes, fontsize=11)
        return _done(fig)
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.8))
    titles = list(table.index)
    colors = dict(zip(titles, sns.color_palette("tab10", len(titles))))
    for ax, column, name in ((axes[0], "accuracy", "training (on augmented images where used)"),
                             (axes[1], "val_accuracy", "validation (6,000 held-out images)")):
        for (title, _), run in curves.groupby(["model", "seed"], sort=False):
            ax.plot(run["epoch"], run[column], color=colors[title], linewidth=1.6,
                    label=title if ax is axes[0] else None)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
    styles = iter(["--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))])
    for target, source in sorted({(row["target"], row["target_from"])
                                  for _, row in table.iterrows()}):
        axes[1].axhline(target, color="0.3", linestyle=next(styles), linewidth=1.1,
                        label=f"target {target:.1%} test ({source})")
    axes[0].set_ylim(max(0.75, float(curves["accuracy"].min()) - 0.01), 1.0)
    val_low = max(0.85, float(curves["val_accuracy"].min()) - 0.005)
    axes[1].set_ylim(val_low, max(float(curves["val_accuracy"].max()), table["target"].max())
                     + 0.005)
    axes[0].legend(loc="lower right", fontsize=8, title="run (one line per seed)",
                   title_fontsize=8)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle("Full-scale runs: accuracy per epoch (54,000 training images)")
    fig.tight_layout()
    return _done(fig)
