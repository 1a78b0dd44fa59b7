"""The seed report's claims, judged on our recorded runs (section 10).

Two steps keep the judging testable:

1. :func:`gather` collects the *facts* of a profile -- per-seed numbers from the run store and
   the cached analyses of the other sections -- into a plain dict (training or computing only what
   is not recorded yet).
2. Each claim's judge is a pure function ``facts -> Verdict``.

The rule for every comparison is the studies' spread rule: a difference counts only if the
difference of the means exceeds the larger seed-to-seed range (max - min) of the two groups;
otherwise the verdict is "inconclusive". A claim about the seed's full-scale numbers is judged on
full-profile runs when the run store holds them (``benchmarks/accuracy.py`` records them) and is
otherwise inconclusive: a small profile cannot confirm or refute a full-scale accuracy.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd

from fmnist_helpers.studies import (
    TRAINING_AUGMENTATION,
    is_clear_difference,
    spread,
    val_loss_rises,
)

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
#: The seed's headline accuracies (sections 4 and 12).
SEED_CONVNET_VAL, SEED_CONVNET_TEST, SEED_VGG_TEST = 0.9286, 0.937, 0.94
#: "About equally well": means within this margin, and a seed-to-seed spread of at most twice it.
EQUIVALENCE_MARGIN = 0.01


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A judged claim: the verdict and the evidence, in words with the numbers."""

    verdict: str
    evidence: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}.")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the seed report."""

    number: int
    seed_section: str
    claim: str
    seed_words: str
    section: str
    judge: Callable[[dict], Verdict]


def compare(a, b) -> dict:
    """Compare per-seed values: ``a`` minus ``b``, the larger range, and whether it is clear.

    ``None`` and non-finite values (diverged runs) are left out. With fewer than two values in a
    group there is no spread to measure and no difference is clear.
    """
    a = np.asarray([v for v in a if v is not None and np.isfinite(v)], dtype=float)
    b = np.asarray([v for v in b if v is not None and np.isfinite(v)], dtype=float)
    if len(a) == 0 or len(b) == 0:
        return {"difference": float("nan"), "spread": float("nan"), "clear": False,
                "a": float("nan"), "b": float("nan"), "n": min(len(a), len(b))}
    return {"difference": float(a.mean() - b.mean()), "spread": max(spread(a), spread(b)),
            "clear": is_clear_difference(a, b), "a": float(a.mean()), "b": float(b.mean()),
            "n": min(len(a), len(b))}


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _vs(name_a: str, name_b: str, c: dict, fmt=_pct) -> str:
    return (f"{name_a} {fmt(c['a'])} vs {name_b} {fmt(c['b'])} (difference "
            f"{c['difference']:+.3f}, spread {c['spread']:.3f}, {c['n']} seeds)")


def _direction(c: dict, *, higher_is_claimed: bool = True) -> str:
    """Verdict for "a beats b": supported / not supported only when the difference is clear."""
    if not c["clear"]:
        return INCONCLUSIVE
    return SUPPORTED if (c["difference"] > 0) == higher_is_claimed else NOT_SUPPORTED


def _combine(verdicts: list[str]) -> str:
    """All parts supported -> supported; any part not supported -> not supported."""
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    return SUPPORTED if all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE


def best_is(values: dict[str, list], expected: str, *, what: str = "test accuracy") -> Verdict:
    """Is ``expected`` the best variant? Supported if it clearly beats every other one; not
    supported if another clearly beats it; inconclusive otherwise."""
    if expected not in values:
        raise ValueError(f"no variant {expected!r}; the variants are {', '.join(values)}.")
    parts, lines = [], []
    for other, vals in values.items():
        if other == expected:
            continue
        c = compare(values[expected], vals)
        parts.append(_direction(c))
        lines.append(_vs(expected, other, c))
    return Verdict(_combine(parts), f"{what}: " + "; ".join(lines) + ".")


def _study(facts: dict, name: str) -> dict:
    try:
        return facts["studies"][name]
    except KeyError:
        raise ValueError(f"the facts hold no study {name!r}.") from None


def _metric(facts: dict, study: str, metric: str) -> dict[str, list]:
    return {variant: values[metric] for variant, values in _study(facts, study).items()}


# --- the judges -----------------------------------------------------------------------------

def judge_mnist_easier(facts: dict) -> Verdict:
    m = facts["mnist_logreg"]
    c = compare(m["MNIST"], m["Fashion-MNIST"])
    return Verdict(_direction(c), "logistic regression on raw pixels, "
                   f"{m['samples']:,} images each, accuracy per cross-validation fold: "
                   + _vs("MNIST", "Fashion-MNIST", c).replace("seeds", "folds") + ".")


def judge_mnist_clusters(facts: dict) -> Verdict:
    t = facts["tsne_datasets"]
    c = compare(t["MNIST"], t["Fashion-MNIST"])
    return Verdict(_direction(c), f"5-NN accuracy in raw-pixel t-SNE maps of {t['samples']:,} "
                   "images each, one map per draw: " + _vs("MNIST", "Fashion-MNIST", c)
                   .replace("seeds", "draws") + ".")


def _full_scale(facts: dict, key: str, target: float, label: str) -> Verdict:
    values = facts.get("full", {}).get(key) or []
    if not values:
        return Verdict(INCONCLUSIVE, f"a full-scale claim; the run store holds no full-profile "
                       f"{label} run yet (run benchmarks/accuracy.py). This profile "
                       f"({facts['profile']}) is not the seed's scale.")
    mean, s = float(np.mean(values)), spread(values)
    text = (f"full-profile {label}: test accuracy {mean:.2%} over {len(values)} seed(s) "
            f"(spread {s:.3f}) vs the seed's {target:.1%}.")
    if mean >= target:
        return Verdict(SUPPORTED, text)
    if len(values) > 1 and target - mean > s:
        return Verdict(NOT_SUPPORTED, text)
    if len(values) == 1:
        return Verdict(INCONCLUSIVE, text + " One seed: no spread to judge a shortfall against.")
    return Verdict(INCONCLUSIVE, text)


def _with_recipe_context(verdict: Verdict, facts: dict, key: str, label: str) -> Verdict:
    """Add the standard-recipe row ``key`` to a full-scale verdict's evidence, if stored.

    Context only: the claims are about the seed's recipe, so the verdict does not change.
    """
    recipe = facts.get("full", {}).get(key) or []
    if not recipe:
        return verdict
    return Verdict(verdict.verdict, verdict.evidence + f" For comparison, {label} trained with "
                   f"a standard recipe reaches {np.mean(recipe):.2%} over {len(recipe)} seed(s) "
                   "(full-scale table below).")


def judge_convnet_accuracy(facts: dict) -> Verdict:
    verdict = _full_scale(facts, "convnet", SEED_CONVNET_TEST, "ConvNet (the seed's recipe)")
    return _with_recipe_context(verdict, facts, "convnet_recipe", "the same ConvNet")


def judge_he(facts: dict) -> Verdict:
    values = _metric(facts, "initialization", "test_accuracy")
    he = next(k for k in values if k.startswith("He"))
    return best_is(values, he)


def judge_batchnorm_convnet(facts: dict) -> Verdict:
    first = _metric(facts, "batchnorm_convnet", "epoch1_val_accuracy")
    rises = _metric(facts, "batchnorm_convnet", "val_loss_rises")
    fast = compare(first["with batch norm"], first["without batch norm"])
    steady = compare(rises["without batch norm"], rises["with batch norm"])
    return Verdict(_combine([_direction(fast), _direction(steady)]),
                   "validation accuracy after epoch 1: " + _vs("with", "without", fast)
                   + "; validation-loss rises (oscillation): "
                   + _vs("without", "with", steady, fmt=lambda x: f"{x:.1f}") + ".")


def judge_dropout_convnet(facts: dict) -> Verdict:
    rises = _metric(facts, "dropout_convnet", "val_loss_rises")
    without = next(k for k in rises if k.startswith("without"))
    with_ = next(k for k in rises if k != without)
    c = compare(rises[without], rises[with_])
    return Verdict(_direction(c), "epochs whose validation loss rose: "
                   + _vs("without dropout", "with dropout", c, fmt=lambda x: f"{x:.1f}") + ".")


def judge_separable_over_training(facts: dict) -> Verdict:
    t = facts["tsne_training"]
    c = compare(t["last"], t["first"])
    return Verdict(_direction(c), f"5-NN accuracy in t-SNE maps of the penultimate features: "
                   + _vs(f"epoch {t['epochs'][1]}", f"epoch {t['epochs'][0]}", c) + ".")


def judge_guided_backprop(facts: dict) -> Verdict:
    s = facts["sanity"]
    text = (f"model-randomization check on {s['images']} images: mean Spearman correlation with "
            f"the trained map over the cascade, guided backprop {s['guided']:.2f} vs plain "
            f"gradient {s['gradient']:.2f} (image-to-image range {s['spread']:.2f}).")
    if s["guided_survives"]:
        return Verdict(NOT_SUPPORTED, text + " Guided backprop's maps barely depend on the "
                       "learned weights.")
    if s["guided_changes"]:
        return Verdict(SUPPORTED, text)
    return Verdict(INCONCLUSIVE, text)


def judge_fooling(facts: dict) -> Verdict:
    f = facts["fooling"]
    text = (f"from one noise image {f['reached']} of {f['targets']} target classes reached 99% "
            f"confidence; at epsilon {f['epsilon']:g}, PGD made {f['pgd_success']:.1%} and FGSM "
            f"{f['fgsm_success']:.1%} of correctly classified test images misclassified.")
    if f["reached"] == f["targets"] and f["pgd_success"] > 0.5:
        return Verdict(SUPPORTED, text)
    if f["reached"] < f["targets"]:
        return Verdict(NOT_SUPPORTED, text)
    return Verdict(INCONCLUSIVE, text)


def judge_deeper(facts: dict) -> Verdict:
    loss = _metric(facts, "layers", "epoch1_val_loss")
    convnet = next(k for k in loss if k.startswith("Our ConvNet"))
    vgg = next(k for k in loss if k.startswith("VGG"))
    c = compare(loss[vgg], loss[convnet])
    return Verdict(_direction(c), "validation loss after epoch 1: "
                   + _vs("VGG-like", "ConvNet", c, fmt=lambda x: f"{x:.3f}") + ".")


def judge_kernel(facts: dict) -> Verdict:
    acc = _metric(facts, "kernel_size", "test_accuracy")
    vs3, vs7 = compare(acc["5x5"], acc["3x3"]), compare(acc["5x5"], acc["7x7"])
    parts = [NOT_SUPPORTED if vs3["clear"] and vs3["difference"] < 0 else SUPPORTED,
             _direction(vs7)]
    if not vs3["clear"] and vs3["difference"] < 0:
        parts[0] = INCONCLUSIVE
    return Verdict(_combine(parts), "test accuracy: " + _vs("5x5", "3x3", vs3) + "; "
                   + _vs("5x5", "7x7", vs7) + ".")


def judge_learning_rate(facts: dict) -> Verdict:
    return best_is(_metric(facts, "learning_rate", "test_accuracy"), "lr 0.0001")


def judge_relu(facts: dict) -> Verdict:
    return best_is(_metric(facts, "activation", "test_accuracy"), "relu")


def judge_adam_rmsprop(facts: dict) -> Verdict:
    acc = _metric(facts, "optimizer", "test_accuracy")
    c = compare(acc["Adam"], acc["RMSProp"])
    text = "test accuracy: " + _vs("Adam", "RMSProp", c) + "."
    if c["clear"]:
        return Verdict(NOT_SUPPORTED, text)
    if (c["n"] > 1 and abs(c["difference"]) <= EQUIVALENCE_MARGIN
            and c["spread"] <= 2 * EQUIVALENCE_MARGIN):
        return Verdict(SUPPORTED, text + f" Within {EQUIVALENCE_MARGIN:.0%} of each other, with "
                       f"runs precise enough (spread at most {2 * EQUIVALENCE_MARGIN:.0%}) to say so.")
    return Verdict(INCONCLUSIVE, text)


def _grouped(facts: dict, study: str, metric: str) -> dict[str, dict[str, list]]:
    groups: dict[str, dict[str, list]] = {}
    for variant, values in _study(facts, study).items():
        group, _, label = variant.partition(": ")
        groups.setdefault(group, {})[label] = values[metric]
    return groups


def judge_batchnorm_every_model(facts: dict) -> Verdict:
    parts, lines = [], []
    for model, arms in _grouped(facts, "batchnorm", "epoch1_val_accuracy").items():
        c = compare(arms["with batch norm"], arms["without batch norm"])
        parts.append(_direction(c))
        lines.append(f"{model}: {_pct(c['a'])} vs {_pct(c['b'])} ({_direction(c)})")
    return Verdict(_combine(parts), "validation accuracy after epoch 1, with vs without batch "
                   "norm: " + "; ".join(lines) + ".")


def judge_dropout_faster(facts: dict) -> Verdict:
    first = _metric(facts, "dropout", "epoch1_val_accuracy")
    none = next(k for k in first if k.endswith(" 0"))
    parts, lines = [], []
    for variant, values in first.items():
        if variant == none:
            continue
        c = compare(values, first[none])
        parts.append(_direction(c))
        lines.append(_vs(variant, "no dropout", c))
    return Verdict(_combine(parts), "validation accuracy after epoch 1: " + "; ".join(lines) + ".")


def judge_augmentation(facts: dict) -> Verdict:
    acc = _metric(facts, "augmentation", "test_accuracy")
    without = next(k for k in acc if k.startswith("without"))
    with_ = next(k for k in acc if k != without)
    c = compare(acc[with_], acc[without])
    return Verdict(_direction(c), "VGG-like model (the one the study trains both ways), test "
                   "accuracy: " + _vs("with augmentation", "without", c) + ".")


def judge_classes(facts: dict) -> Verdict:
    shirt, trouser = facts["classes"]["Shirt"], facts["classes"]["Trouser"]
    return Verdict(_combine([shirt["verdict"], trouser["verdict"]]),
                   f"per-class test accuracy over {facts['classes']['seeds']} seeds: hardest "
                   f"{shirt['extreme']} (Shirt {shirt['verdict']}, gap {shirt['gap']:.1%} vs "
                   f"spread {shirt['spread']:.1%}); easiest {trouser['extreme']} (Trouser "
                   f"{trouser['verdict']}, gap {trouser['gap']:.1%} vs spread "
                   f"{trouser['spread']:.1%}).")


def judge_vgg_best(facts: dict) -> Verdict:
    verdict = _full_scale(facts, "vgg_bn_aug", SEED_VGG_TEST,
                          "VGG-like + batch norm + augmentation")
    return _with_recipe_context(verdict, facts, "vgg_recipe", "the same VGG-like model")


def judge_sparser(facts: dict) -> Verdict:
    s = facts["sparsity"]
    c = compare(s["last"], s["first"])
    return Verdict(_direction(c), "fraction of zero conv activations on the probe set (mean "
                   "over conv layers): " + _vs(f"epoch {s['epochs'][1]}",
                                               f"epoch {s['epochs'][0]}", c) + ".")


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "§1.1", "MNIST is much easier than Fashion-MNIST (same classifier, same sample count).",
          "MNIST is too easy [...] even classic ML algorithms can achieve 97% [...] (Fashion "
          "MNIST) is a more challenging dataset", "00_data",
          judge_mnist_easier),
    Claim(2, "§11, Fig 26", "MNIST separates into clusters better than Fashion-MNIST in t-SNE.",
          "MNIST data is well clustered in just 400 epochs unlike Fashion-MNIST dataset.",
          "09_observations", judge_mnist_clusters),
    Claim(3, "§4", "Our ConvNet reaches 92.86% validation and 93.7% test accuracy.",
          "Best Validation Accuracy that we achieved was 92.86%. [...] test data gave a Kaggle "
          "Accuracy of 93.7%.", "02_convnet",
          judge_convnet_accuracy),
    Claim(4, "§5", "He initialization beats Xavier and random on our ConvNet.",
          "Overall we can see He initializer performs better on this network.",
          "03_initialization", judge_he),
    Claim(5, "§6", "Batch norm makes the ConvNet learn faster; without it validation loss "
          "oscillates.", "learns faster [...] without batch normalization, the loss constantly "
          "oscillates with huge margins", "04_batchnorm", judge_batchnorm_convnet),
    Claim(6, "§7", "With dropout validation loss falls steadily; without it, it does not.",
          "validation loss on a network with dropouts follows a constant decreasing trend but "
          "without dropouts, it behaves randomly", "05_dropout", judge_dropout_convnet),
    Claim(7, "§8.2", "Classes become more separable as training goes on.",
          "as we increase the number of epochs the data is getting clustered",
          "06_visualizations", judge_separable_over_training),
    Claim(8, "§8.3", "Guided backprop shows what a neuron detects.",
          "We can see interesting patterns that excites the neuron.", "06_visualizations",
          judge_guided_backprop),
    Claim(9, "§9", "A noise image can be driven to any chosen class; small perturbations make "
          "real images misclassified.", "you can intentionally force the neural network to "
          "predict the wrong output", "07_fooling", judge_fooling),
    Claim(10, "§10.2.1", "Deeper is not always better: the ConvNet's losses fall faster than the "
          "VGG-like model's.", "both the training and validation losses of the latter decreases "
          "more rapidly than VGG", "08_experiments_layers", judge_deeper),
    Claim(11, "§10.2.2", "5×5 kernels work best on the ConvNet, 3×3 nearly as well, 7×7 worse.",
          "For our ConvNet, 5x5 kernel gives better results [...] a 3x3 kernel too gives good "
          "results", "08_experiments_kernel_size", judge_kernel),
    Claim(12, "§10.2.3", "A learning rate of 1e-4 works best.",
          "The learning rate of 0.0001 works best for our network.",
          "08_experiments_learning_rate", judge_learning_rate),
    Claim(13, "§10.2.4", "ReLU works better than sigmoid or tanh.",
          "ReLu activation function works best with CNN models as opposed to sigmoid or tanh.",
          "08_experiments_activation", judge_relu),
    Claim(14, "§10.2.5", "Adam and RMSProp work about equally well.",
          "Both ADAM and RMSProp works equally well as optimization algorithm.",
          "08_experiments_optimizer", judge_adam_rmsprop),
    Claim(15, "§10.2.6", "Batch norm makes training faster on every model.",
          "Batch normalization always makes training faster.", "08_experiments_batchnorm",
          judge_batchnorm_every_model),
    Claim(16, "§10.2.7", "Dropout makes the network learn faster.",
          "Introducing dropouts makes the network learn faster", "08_experiments_dropout",
          judge_dropout_faster),
    Claim(17, "§10.2.8, §12", "Augmentation improves every model's accuracy.",
          "All the models achieved a higher accuracy after using data augmentation.",
          "08_experiments_augmentation", judge_augmentation),
    Claim(18, "§11", "Shirt is the hardest class and Trouser the easiest.",
          "class 6 (Shirt) is hard to classify and class 1 (Trouser) is very easily classified",
          "09_observations", judge_classes),
    Claim(19, "§12", "The VGG-like model with batch norm and augmentation does best, at 94%.",
          "VGG Like Model With Batchnorm performed the best and achieved a accuracy of 94% using "
          "data augmentation.", "08_experiments_augmentation", judge_vgg_best),
    Claim(20, "§8.1", "Activations start dense and become sparser as training goes on.",
          "the activations usually start out looking relatively blobby and dense, but as the "
          "training progresses the activations usually become more sparse", "06_visualizations",
          judge_sparser),
)


def judge_all(facts: dict) -> pd.DataFrame:
    """Judge every claim on the facts.

    Returns:
        The ledger: one row per claim (``number``, ``seed_section``, ``claim``, ``seed_words``,
        ``evidence``, ``verdict``, ``section``). A judge that fails for lack of facts gives
        "inconclusive" with the reason, so one missing analysis never hides the others.
    """
    rows = []
    for claim in CLAIMS:
        try:
            verdict = claim.judge(facts)
        except (KeyError, ValueError, StopIteration) as error:
            verdict = Verdict(INCONCLUSIVE, f"not judged: missing evidence ({error!r}).")
        rows.append({"number": claim.number, "seed_section": claim.seed_section,
                     "claim": claim.claim, "seed_words": claim.seed_words,
                     "evidence": verdict.evidence, "verdict": verdict.verdict,
                     "section": claim.section})
    return pd.DataFrame(rows).set_index("number")


def summary_line(ledger: pd.DataFrame, profile_name: str) -> str:
    """E.g. ``"12 supported, 3 not supported, 5 inconclusive — quick profile"``."""
    counts = ledger["verdict"].value_counts()
    return (", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)
            + f" — {profile_name} profile")


def conclusion(ledger: pd.DataFrame, profile_name: str) -> list[str]:
    """A short conclusion generated from the verdicts."""
    def listing(verdict):
        rows = ledger[ledger["verdict"] == verdict]
        return "; ".join(f"({n}) {c.rstrip('.')}" for n, c in zip(rows.index, rows["claim"])) or "none"

    return [f"Of the seed report's {len(ledger)} claims, on the {profile_name} profile: "
            f"{summary_line(ledger, profile_name).split(' — ')[0]}.",
            f"Supported: {listing(SUPPORTED)}",
            f"Not supported: {listing(NOT_SUPPORTED)}",
            f"Inconclusive (difference within the seed-to-seed spread, or not measurable at "
            f"this scale): {listing(INCONCLUSIVE)}",
            "A verdict is about this profile's runs: a quick-profile verdict says what 6,000 "
            "images, quarter-width models and 4 epochs show, not what the seed's full-scale runs "
            "would." if profile_name != "full" else
            "These verdicts rest on the seed's scale (full profile)."]


# --- gathering the facts --------------------------------------------------------------------

def _study_facts(result) -> dict:
    out = {}
    for variant in result.study.variants:
        key = variant.key
        runs = result.runs[key]
        out[key] = {
            "test_accuracy": result.values(key, "test_accuracy"),
            "val_accuracy": result.values(key, "val_accuracy"),
            "epoch1_val_accuracy": [None if r.diverged else r.history["val_accuracy"][0]
                                    for r in runs],
            "epoch1_val_loss": [None if r.diverged else r.history["val_loss"][0] for r in runs],
            "val_loss_rises": [val_loss_rises(r.history) for r in runs],
        }
    return out


def _stored_runs(store, config, seeds: int) -> list:
    """The runs of ``config`` with seeds ``0 .. seeds - 1`` already in the store (never trains)."""
    runs = [store.get(config.replace(seed=seed)) for seed in range(seeds)]
    return [run for run in runs if run is not None]


def _full_runs(store, config, seeds: int) -> list[float]:
    """Test accuracies of a full-profile config's stored runs that did not diverge."""
    return [float(run["test_accuracy"]) for run in _stored_runs(store, config, seeds)
            if not run.diverged]


#: The extra rows of the full-scale benchmark: the seed's ConvNet and VGG-like model trained with
#: a standard modern recipe instead of the seed's (He initialization, batch norm, batch 128, Adam
#: 1e-3 with cosine decay to zero, label smoothing 0.1, horizontal flips and small translations;
#: same 30 epochs and dropout 0.2). The ledger does not judge the seed's claims on them.
STANDARD_RECIPE = {"initializer": "he", "batch_norm": True, "batch_size": 128,
                   "learning_rate": 1e-3, "lr_schedule": "cosine", "label_smoothing": 0.1,
                   "augment": ("flip", "translate")}
RECIPE_TARGET = 0.945
#: The standard recipe plus random erasing (probability 0.5, 2-33% of the image; Zhong et al.
#: 2017), a regularizer the seed does not use.
RECIPE_WITH_ERASING = {**STANDARD_RECIPE, "augment": ("flip", "translate", "erase")}


def full_scale_configs():
    """The full-profile configs of the headline rows: ``{key: RunConfig}`` (seed 0).

    ``convnet`` and ``vgg_bn_aug`` follow the seed's recipe (claims 3 and 19);
    ``convnet_recipe`` and ``vgg_recipe`` are the ConvNet and the VGG-like model trained with
    :data:`STANDARD_RECIPE` (which includes batch norm and augmentation); ``convnet_erasing``
    is the ConvNet with :data:`RECIPE_WITH_ERASING`.
    """
    from fmnist_helpers.profiles import get_profile

    full = get_profile("full")
    return {"convnet": full.baseline(),
            "vgg_bn_aug": full.run_config(model="vgg_like", batch_norm=True,
                                          augment=TRAINING_AUGMENTATION),
            "convnet_recipe": full.run_config(**STANDARD_RECIPE),
            "vgg_recipe": full.run_config(model="vgg_like", **STANDARD_RECIPE),
            "convnet_erasing": full.run_config(**RECIPE_WITH_ERASING)}


#: The rows of the full-scale table: key -> (title, target test accuracy, whose target).
FULL_SCALE_ROWS = {
    "convnet": ("Our ConvNet (seed's recipe)", SEED_CONVNET_TEST, "seed report"),
    "vgg_bn_aug": ("VGG-like + batch norm + augmentation (seed's recipe)", SEED_VGG_TEST,
                   "seed report"),
    "convnet_recipe": ("Our ConvNet, standard recipe", RECIPE_TARGET, "our target"),
    "vgg_recipe": ("VGG-like + batch norm + augmentation, standard recipe", SEED_VGG_TEST,
                   "seed report"),
    "convnet_erasing": ("Our ConvNet, standard recipe + random erasing", RECIPE_TARGET,
                        "our target"),
}


def _full_scale_runs(store, max_seeds: int):
    """Each :data:`FULL_SCALE_ROWS` entry as ``(config, (title, target, source), stored runs)``."""
    from fmnist_helpers.runs import RunStore

    store = store or RunStore()
    configs = full_scale_configs()
    return [(configs[key], row, _stored_runs(store, configs[key], max_seeds))
            for key, row in FULL_SCALE_ROWS.items()]


def full_scale_table(store=None, *, max_seeds: int = 10) -> pd.DataFrame:
    """The full-scale headline runs found in the run store (never trains).

    Args:
        store: A ``RunStore`` (default: the configured one).
        max_seeds: Seeds looked up per row (0 .. max_seeds - 1).

    Returns:
        One row per :data:`FULL_SCALE_ROWS` entry, indexed by title: ``seeds`` found,
        ``test_accuracy`` (mean), ``spread`` (max - min, ``NaN`` for one seed),
        ``val_accuracy`` (mean), ``epochs``, ``minutes`` (training per run), ``images_per_s``,
        ``target``, ``target_from`` and ``reached`` (``None`` while no run is stored).
    """
    rows = []
    for config, (title, target, source), runs in _full_scale_runs(store, max_seeds):
        test = [float(r["test_accuracy"]) for r in runs]
        mean = float(np.mean(test)) if runs else np.nan
        rows.append({
            "model": title, "seeds": len(runs), "test_accuracy": mean,
            "spread": spread(test) if len(runs) > 1 else np.nan,
            "val_accuracy": float(np.mean([r["val_accuracy"] for r in runs])) if runs else np.nan,
            "epochs": runs[0]["epochs_completed"] if runs else config.epochs,
            "minutes": float(np.mean([r["train_seconds"] for r in runs])) / 60 if runs else np.nan,
            "images_per_s": (float(np.mean([r["images_per_second"] for r in runs]))
                             if runs else np.nan),
            "target": target, "target_from": source,
            "reached": bool(mean >= target) if runs else None,
        })
    return pd.DataFrame(rows).set_index("model")


def full_scale_curves(store=None, *, max_seeds: int = 10) -> pd.DataFrame:
    """Per-epoch accuracies of the full-scale headline runs in the run store (never trains).

    Args:
        store: A ``RunStore`` (default: the configured one).
        max_seeds: Seeds looked up per row (0 .. max_seeds - 1).

    Returns:
        Long form, one row per run and epoch: ``model`` (the row's title), ``seed``, ``epoch``
        (from 1), ``accuracy`` (training, on augmented images where the row augments) and
        ``val_accuracy``. Empty (with those columns) while no run is stored.
    """
    rows = []
    for _, (title, _, _), runs in _full_scale_runs(store, max_seeds):
        for run in runs:
            for epoch, (train, val) in enumerate(zip(run.history["accuracy"],
                                                     run.history["val_accuracy"]), start=1):
                rows.append({"model": title, "seed": run.config.seed, "epoch": epoch,
                             "accuracy": train, "val_accuracy": val})
    return pd.DataFrame(rows, columns=["model", "seed", "epoch", "accuracy", "val_accuracy"])


def gather(profile_name: str, *, verbose: bool = False) -> dict:
    """Collect the facts the judges need for a profile.

    Runs come from the run store (trained first if missing, as in their sections) and analyses
    from the results cache, called with the same arguments as the sections that show them, so a
    full build computes each once. Full-scale runs are only looked up, never trained.

    Args:
        profile_name: ``smoke``, ``quick`` or ``full``.
        verbose: Print progress of studies being trained or reused.

    Returns:
        The facts dict (plain numbers and lists).
    """
    from fmnist_helpers import attacks, embed, evaluate, explain
    from fmnist_helpers.profiles import ACCURACY_THRESHOLDS, get_profile, section_parameters
    from fmnist_helpers.runs import RunStore
    from fmnist_helpers.studies import STUDIES, run_study
    from fmnist_helpers.train import baseline_run, probe_set

    profile = get_profile(profile_name)
    store = RunStore()
    facts: dict = {"profile": profile.name, "seeds": profile.seeds, "studies": {}}
    for name in STUDIES:
        result = run_study(name, profile.name, threshold=ACCURACY_THRESHOLDS[profile.name],
                           verbose=verbose)
        facts["studies"][name] = _study_facts(result)

    samples = section_parameters(profile, "00_data")["comparison_samples"]
    logreg = evaluate.mnist_vs_fashion(samples)
    facts["mnist_logreg"] = {"samples": samples, **{d: list(logreg.loc[d, "folds"])
                                                    for d in ("MNIST", "Fashion-MNIST")}}

    tsne_samples = section_parameters(profile, "09_observations")["tsne_samples"]
    maps = [embed.mnist_vs_fashion(tsne_samples, seed=s)[1] for s in range(profile.seeds)]
    facts["tsne_datasets"] = {"samples": tsne_samples, **{
        d: [m.loc[d, "knn_accuracy"] for m in maps] for d in ("MNIST", "Fashion-MNIST")}}

    baselines = [baseline_run(profile.name, seed=s, verbose=verbose) for s in range(profile.seeds)]
    points = section_parameters(profile, "06_visualizations")["tsne_points"]
    tables = [embed.tsne_over_training(run, points=points)[2] for run in baselines]
    facts["tsne_training"] = {"epochs": (int(tables[0]["epoch"].iloc[0]),
                                         int(tables[0]["epoch"].iloc[-1])),
                              "first": [t["knn_accuracy"].iloc[0] for t in tables],
                              "last": [t["knn_accuracy"].iloc[-1] for t in tables]}
    sparsity = [explain.activation_sparsity(run).groupby("epoch")["zero_fraction"].mean()
                for run in baselines]
    facts["sparsity"] = {"epochs": (int(sparsity[0].index[0]), int(sparsity[0].index[-1])),
                         "first": [s.iloc[0] for s in sparsity],
                         "last": [s.iloc[-1] for s in sparsity]}

    per_class = evaluate.per_class_accuracy(baselines)
    facts["classes"] = {"seeds": len(baselines),
                        "Shirt": evaluate.class_ranking(per_class, "Shirt", hardest=True),
                        "Trouser": evaluate.class_ranking(per_class, "Trouser", hardest=False)}

    model = baselines[0].load_model()
    visual = section_parameters(profile, "06_visualizations")
    _, images, labels = probe_set(baselines[0].config.probe_size)
    scores, _ = explain.sanity_check(model, images[:visual["sanity_images"]])
    facts["sanity"] = explain.sanity_verdict(scores)

    fooling = section_parameters(profile, "07_fooling")
    _, noise_info = attacks.fool_from_noise(model, list(range(10)),
                                            start=attacks.noise_start(fooling["noise_seed"]))
    _, attack_images, attack_labels = probe_set(fooling["attack_images"])
    table, _ = attacks.attack_table(model, attack_images, attack_labels,
                                    epsilon=fooling["epsilon"], steps=fooling["pgd_steps"])
    facts["fooling"] = {"targets": len(noise_info["success"]),
                        "reached": int(sum(noise_info["success"])),
                        "epsilon": fooling["epsilon"],
                        "pgd_success": float(table.loc["PGD untargeted", "success_rate"]),
                        "fgsm_success": float(table.loc["FGSM untargeted", "success_rate"])}

    facts["full"] = {key: _full_runs(store, config, get_profile("full").seeds)
                     for key, config in full_scale_configs().items()}
    return facts
