"""The seed report's claims, judged on our recorded runs (section 10).

Two steps keep the judging testable:

1. :func:`fmnist_helpers.evidence.gather` collects the *facts* of a profile -- per-seed numbers
   from the run store and the cached analyses of the other sections -- into a plain dict.
2. Each claim's judge here is a pure function ``facts -> Verdict``. A judge finds a study's
   variant by its config change (``runs.change_key``), never by its label, and a judge whose
   facts are missing raises (``KeyError``) instead of quietly calling the claim inconclusive.

Imports no TensorFlow.

The rule for every comparison is the studies' spread rule: a difference counts only if the
difference of the means exceeds the larger seed-to-seed range (max - min) of the two groups;
otherwise the verdict is "inconclusive". A claim about the seed's full-scale numbers is judged on
full-profile runs when the run store holds them (``benchmarks/accuracy.py`` records them) and is
otherwise inconclusive: a small profile cannot confirm or refute a full-scale accuracy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from fmnist_helpers.choices import MODEL_NAMES, TRAINING_AUGMENTATION
from fmnist_helpers.config import change_key
from fmnist_helpers.sections import job_name
from fmnist_helpers.seed_report import SEED_CONVNET_TEST, SEED_VGG_TEST
from fmnist_helpers.stats import compare_spread, spread

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
#: The colour of each verdict on the pages (table and bar).
VERDICT_COLORS = {SUPPORTED: "#2e7d32", NOT_SUPPORTED: "#b00020", INCONCLUSIVE: "#8a6d00"}
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
        c = compare_spread(values[expected], vals)
        parts.append(_direction(c))
        lines.append(_vs(expected, other, c))
    return Verdict(_combine(parts), f"{what}: " + "; ".join(lines) + ".")


def _study(facts: dict, name: str) -> dict:
    try:
        return facts["studies"][name]
    except KeyError:
        raise KeyError(f"the facts hold no study {name!r}.") from None


def _metric(facts: dict, study: str, metric: str) -> dict[str, list]:
    """Per-seed values of ``metric`` for every variant of a study, by the variant's label."""
    return {arm["label"]: arm[metric] for arm in _study(facts, study).values()}


def _arm(facts: dict, study: str, **changes) -> dict:
    """The facts of the variant of ``study`` that makes exactly ``changes`` to the baseline.

    Raises:
        KeyError: If no variant makes those changes; the message lists the variants.
    """
    arms = _study(facts, study)
    key = change_key(changes)
    if key not in arms:
        raise KeyError(f"study {study!r} has no variant with {key}; its variants change: "
                       + "; ".join(arms))
    return arms[key]


# --- the judges -----------------------------------------------------------------------------

def judge_mnist_easier(facts: dict) -> Verdict:
    m = facts["mnist_logreg"]
    c = compare_spread(m["MNIST"], m["Fashion-MNIST"])
    return Verdict(_direction(c), "logistic regression on raw pixels, "
                   f"{m['samples']:,} images each, accuracy per cross-validation fold: "
                   + _vs("MNIST", "Fashion-MNIST", c).replace("seeds", "folds") + ".")


def judge_mnist_clusters(facts: dict) -> Verdict:
    t = facts["tsne_datasets"]
    c = compare_spread(t["MNIST"], t["Fashion-MNIST"])
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
    return best_is(values, _arm(facts, "initialization", initializer="he")["label"])


def judge_batchnorm_convnet(facts: dict) -> Verdict:
    with_ = _arm(facts, "batchnorm_convnet", batch_norm=True)
    without = _arm(facts, "batchnorm_convnet", batch_norm=False)
    fast = compare_spread(with_["epoch1_val_accuracy"], without["epoch1_val_accuracy"])
    steady = compare_spread(without["val_loss_rises"], with_["val_loss_rises"])
    return Verdict(_combine([_direction(fast), _direction(steady)]),
                   "validation accuracy after epoch 1: " + _vs("with", "without", fast)
                   + "; validation-loss rises (oscillation): "
                   + _vs("without", "with", steady, fmt=lambda x: f"{x:.1f}") + ".")


def judge_dropout_convnet(facts: dict) -> Verdict:
    without = _arm(facts, "dropout_convnet", dropout=0.0)["val_loss_rises"]
    with_ = _arm(facts, "dropout_convnet", dropout=0.2)["val_loss_rises"]
    c = compare_spread(without, with_)
    return Verdict(_direction(c), "epochs whose validation loss rose: "
                   + _vs("without dropout", "with dropout", c, fmt=lambda x: f"{x:.1f}") + ".")


def judge_separable_over_training(facts: dict) -> Verdict:
    t = facts["tsne_training"]
    c = compare_spread(t["last"], t["first"])
    return Verdict(_direction(c), "5-NN accuracy in t-SNE maps of the penultimate features: "
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
    vgg = _arm(facts, "layers", model="vgg_like")["epoch1_val_loss"]
    convnet = _arm(facts, "layers", model="convnet")["epoch1_val_loss"]
    c = compare_spread(vgg, convnet)
    return Verdict(_direction(c), "validation loss after epoch 1: "
                   + _vs("VGG-like", "ConvNet", c, fmt=lambda x: f"{x:.3f}") + ".")


def judge_kernel(facts: dict) -> Verdict:
    acc = {size: _arm(facts, "kernel_size", kernel_size=size)["test_accuracy"]
           for size in (3, 5, 7)}
    vs3, vs7 = compare_spread(acc[5], acc[3]), compare_spread(acc[5], acc[7])
    parts = [NOT_SUPPORTED if vs3["clear"] and vs3["difference"] < 0 else SUPPORTED,
             _direction(vs7)]
    if not vs3["clear"] and vs3["difference"] < 0:
        parts[0] = INCONCLUSIVE
    return Verdict(_combine(parts), "test accuracy: " + _vs("5x5", "3x3", vs3) + "; "
                   + _vs("5x5", "7x7", vs7) + ".")


def judge_learning_rate(facts: dict) -> Verdict:
    return best_is(_metric(facts, "learning_rate", "test_accuracy"),
                   _arm(facts, "learning_rate", learning_rate=1e-4)["label"])


def judge_relu(facts: dict) -> Verdict:
    return best_is(_metric(facts, "activation", "test_accuracy"),
                   _arm(facts, "activation", activation="relu")["label"])


def judge_adam_rmsprop(facts: dict) -> Verdict:
    c = compare_spread(_arm(facts, "optimizer", optimizer="adam")["test_accuracy"],
                _arm(facts, "optimizer", optimizer="rmsprop")["test_accuracy"])
    text = "test accuracy: " + _vs("Adam", "RMSProp", c) + "."
    if c["clear"]:
        return Verdict(NOT_SUPPORTED, text)
    if (c["n"] > 1 and abs(c["difference"]) <= EQUIVALENCE_MARGIN
            and c["spread"] <= 2 * EQUIVALENCE_MARGIN):
        return Verdict(SUPPORTED, text + f" Within {EQUIVALENCE_MARGIN:.0%} of each other, with "
                       f"runs precise enough (spread at most {2 * EQUIVALENCE_MARGIN:.0%}) to "
                       "say so.")
    return Verdict(INCONCLUSIVE, text)


def judge_batchnorm_every_model(facts: dict) -> Verdict:
    parts, lines = [], []
    for model in MODEL_NAMES:
        with_ = _arm(facts, "batchnorm", model=model, batch_norm=True)
        without = _arm(facts, "batchnorm", model=model, batch_norm=False)
        c = compare_spread(with_["epoch1_val_accuracy"], without["epoch1_val_accuracy"])
        parts.append(_direction(c))
        lines.append(f"{with_['group']}: {_pct(c['a'])} vs {_pct(c['b'])} ({_direction(c)})")
    return Verdict(_combine(parts), "validation accuracy after epoch 1, with vs without batch "
                   "norm: " + "; ".join(lines) + ".")


def judge_dropout_faster(facts: dict) -> Verdict:
    first = _metric(facts, "dropout", "epoch1_val_accuracy")
    none = _arm(facts, "dropout", dropout=0.0)["label"]
    parts, lines = [], []
    for variant, values in first.items():
        if variant == none:
            continue
        c = compare_spread(values, first[none])
        parts.append(_direction(c))
        lines.append(_vs(variant, "no dropout", c))
    return Verdict(_combine(parts), "validation accuracy after epoch 1: " + "; ".join(lines) + ".")


def judge_augmentation(facts: dict) -> Verdict:
    without = _arm(facts, "augmentation", model="vgg_like", augment=())["test_accuracy"]
    with_ = _arm(facts, "augmentation", model="vgg_like",
                 augment=TRAINING_AUGMENTATION)["test_accuracy"]
    c = compare_spread(with_, without)
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
    c = compare_spread(s["last"], s["first"])
    return Verdict(_direction(c), "fraction of zero conv activations on the probe set (mean "
                   "over conv layers): " + _vs(f"epoch {s['epochs'][1]}",
                                               f"epoch {s['epochs'][0]}", c) + ".")


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "§1.1",
          "MNIST is much easier than Fashion-MNIST (same classifier, same sample count).",
          "MNIST is too easy [...] even classic ML algorithms can achieve 97% [...] (Fashion "
          "MNIST) is a more challenging dataset", job_name("00_data"),
          judge_mnist_easier),
    Claim(2, "§11, Fig 26", "MNIST separates into clusters better than Fashion-MNIST in t-SNE.",
          "MNIST data is well clustered in just 400 epochs unlike Fashion-MNIST dataset.",
          job_name("09_observations"), judge_mnist_clusters),
    Claim(3, "§4", "Our ConvNet reaches 92.86% validation and 93.7% test accuracy.",
          "Best Validation Accuracy that we achieved was 92.86%. [...] test data gave a Kaggle "
          "Accuracy of 93.7%.", job_name("02_convnet"),
          judge_convnet_accuracy),
    Claim(4, "§5", "He initialization beats Xavier and random on our ConvNet.",
          "Overall we can see He initializer performs better on this network.",
          job_name("03_initialization"), judge_he),
    Claim(5, "§6", "Batch norm makes the ConvNet learn faster; without it validation loss "
          "oscillates.", "learns faster [...] without batch normalization, the loss constantly "
          "oscillates with huge margins", job_name("04_batchnorm"), judge_batchnorm_convnet),
    Claim(6, "§7", "With dropout validation loss falls steadily; without it, it does not.",
          "validation loss on a network with dropouts follows a constant decreasing trend but "
          "without dropouts, it behaves randomly", job_name("05_dropout"), judge_dropout_convnet),
    Claim(7, "§8.2", "Classes become more separable as training goes on.",
          "as we increase the number of epochs the data is getting clustered",
          job_name("06_visualizations"), judge_separable_over_training),
    Claim(8, "§8.3", "Guided backprop shows what a neuron detects.",
          "We can see interesting patterns that excites the neuron.", job_name("06_visualizations"),
          judge_guided_backprop),
    Claim(9, "§9", "A noise image can be driven to any chosen class; small perturbations make "
          "real images misclassified.", "you can intentionally force the neural network to "
          "predict the wrong output", job_name("07_fooling"), judge_fooling),
    Claim(10, "§10.2.1", "Deeper is not always better: the ConvNet's losses fall faster than the "
          "VGG-like model's.", "both the training and validation losses of the latter decreases "
          "more rapidly than VGG", job_name("08_experiments", "layers"), judge_deeper),
    Claim(11, "§10.2.2", "5×5 kernels work best on the ConvNet, 3×3 nearly as well, 7×7 worse.",
          "For our ConvNet, 5x5 kernel gives better results [...] a 3x3 kernel too gives good "
          "results", job_name("08_experiments", "kernel_size"), judge_kernel),
    Claim(12, "§10.2.3", "A learning rate of 1e-4 works best.",
          "The learning rate of 0.0001 works best for our network.",
          job_name("08_experiments", "learning_rate"), judge_learning_rate),
    Claim(13, "§10.2.4", "ReLU works better than sigmoid or tanh.",
          "ReLu activation function works best with CNN models as opposed to sigmoid or tanh.",
          job_name("08_experiments", "activation"), judge_relu),
    Claim(14, "§10.2.5", "Adam and RMSProp work about equally well.",
          "Both ADAM and RMSProp works equally well as optimization algorithm.",
          job_name("08_experiments", "optimizer"), judge_adam_rmsprop),
    Claim(15, "§10.2.6", "Batch norm makes training faster on every model.",
          "Batch normalization always makes training faster.",
          job_name("08_experiments", "batchnorm"),
          judge_batchnorm_every_model),
    Claim(16, "§10.2.7", "Dropout makes the network learn faster.",
          "Introducing dropouts makes the network learn faster",
          job_name("08_experiments", "dropout"),
          judge_dropout_faster),
    Claim(17, "§10.2.8, §12", "Augmentation improves every model's accuracy.",
          "All the models achieved a higher accuracy after using data augmentation.",
          job_name("08_experiments", "augmentation"), judge_augmentation),
    Claim(18, "§11", "Shirt is the hardest class and Trouser the easiest.",
          "class 6 (Shirt) is hard to classify and class 1 (Trouser) is very easily classified",
          job_name("09_observations"), judge_classes),
    Claim(19, "§12", "The VGG-like model with batch norm and augmentation does best, at 94%.",
          "VGG Like Model With Batchnorm performed the best and achieved a accuracy of 94% using "
          "data augmentation.", job_name("08_experiments", "augmentation"), judge_vgg_best),
    Claim(20, "§8.1", "Activations start dense and become sparser as training goes on.",
          "the activations usually start out looking relatively blobby and dense, but as the "
          "training progresses the activations usually become more sparse",
          job_name("06_visualizations"),
          judge_sparser),
)


def judge_all(facts: dict) -> pd.DataFrame:
    """Judge every claim on the facts.

    Returns:
        The ledger: one row per claim (``number``, ``seed_section``, ``claim``, ``seed_words``,
        ``evidence``, ``verdict``, ``section``).

    Raises:
        KeyError: If a judge finds its facts missing (a study, a variant, an analysis): a
            renamed or removed variant must fail loudly, not downgrade a claim quietly.
    """
    rows = []
    for claim in CLAIMS:
        verdict = claim.judge(facts)
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
        return ("; ".join(f"({n}) {c.rstrip('.')}" for n, c in zip(rows.index, rows["claim"]))
                or "none")

    return [(f"Of the seed report's {len(ledger)} claims, on the {profile_name} profile: "
            f"{summary_line(ledger, profile_name).split(' — ')[0]}."),
            f"Supported: {listing(SUPPORTED)}",
            f"Not supported: {listing(NOT_SUPPORTED)}",
            (f"Inconclusive (difference within the seed-to-seed spread, or not measurable at "
            f"this scale): {listing(INCONCLUSIVE)}"),
            "A verdict is about this profile's runs: a quick-profile verdict says what 6,000 "
            "images, quarter-width models and 4 epochs show, not what the seed's full-scale runs "
            "would." if profile_name != "full" else
            "These verdicts rest on the seed's scale (full profile)."]


