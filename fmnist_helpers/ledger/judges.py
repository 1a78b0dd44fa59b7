"""The judges of the seed report's claims: each a pure function ``facts -> Verdict``.

A judge finds a study's variant by its config change (``config.change_key``), never by its label,
and a judge whose facts are missing raises (``KeyError``) instead of quietly calling the claim
inconclusive. The facts come from :func:`fmnist_helpers.ledger.evidence.gather`; the rule from
:mod:`fmnist_helpers.ledger.verdicts`.

Imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fmnist_helpers.core.choices import MODEL_TITLES, SEED_MODEL_NAMES, TRAINING_AUGMENTATION
from fmnist_helpers.core.config import change_key
from fmnist_helpers.core.seed_report import SEED_CONVNET_TEST, SEED_VGG_TEST
from fmnist_helpers.core.stats import Comparison, compare, compare_to, equivalent
from fmnist_helpers.ledger.verdicts import (
    ALPHA,
    EQUIVALENCE_MARGIN,
    EQUIVALENT,
    INCONCLUSIVE,
    MIN_EPOCHS_FOR_OSCILLATION,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SUPPORTED,
    TARGET_MARGIN,
    Test,
    Verdict,
    _beats,
    _direction,
    _gated,
    _judged,
    _mean,
    _num,
    _pct,
    _vs,
    best_is,
    interval_text,
)


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



def judge_mnist_easier(facts: dict) -> Verdict:
    m = facts["mnist_logreg"]
    c = compare(m["MNIST"], m["Fashion-MNIST"], paired=False, alpha=ALPHA)
    return _judged([(_direction(c), Test("MNIST minus Fashion-MNIST", c))],
                   "logistic regression on raw pixels, "
                   f"{m['samples']:,} images each, accuracy per cross-validation fold (Welch: "
                   "the folds of two datasets are not paired): "
                   + _vs("MNIST", "Fashion-MNIST", m["MNIST"], m["Fashion-MNIST"], c,
                         what="folds") + ".")


def judge_mnist_clusters(facts: dict) -> Verdict:
    t = facts["tsne_datasets"]
    c = compare(t["MNIST"], t["Fashion-MNIST"], paired=False, alpha=ALPHA)
    return _judged([(_direction(c), Test("MNIST minus Fashion-MNIST", c))],
                   f"5-NN accuracy in raw-pixel t-SNE maps of {t['samples']:,} images each, one "
                   "map per draw (Welch): "
                   + _vs("MNIST", "Fashion-MNIST", t["MNIST"], t["Fashion-MNIST"], c,
                         what="draws") + ".")


def _full_scale(facts: dict, key: str, target: float, label: str) -> Verdict:
    values = [v for v in facts.get("full", {}).get(key) or [] if v is not None]
    if not values:
        return Verdict(INCONCLUSIVE, f"a full-scale claim; no full-profile {label} run is "
                       "stored or recorded (records/) yet (train it: benchmarks/accuracy.py "
                       f"--rows {key}). This profile "
                       f"({facts['profile']}) is not the seed's scale.")
    c = compare_to(values, target, alpha=ALPHA)
    text = (f"full-profile {label}: test accuracy {np.mean(values):.2%} over {len(values)} "
            f"seed(s) vs the seed's {target:.1%}: {interval_text(c)}.")
    if len(values) < 2:
        return Verdict(INCONCLUSIVE, text + " One seed: no interval yet (at least two needed).",
                       (Test(f"{label} minus the seed's {target:.1%}", c, decisive=False),))
    test = Test(f"{label} minus the seed's {target:.1%}", c)
    if c.clear:
        return Verdict(SUPPORTED if c.difference > 0 else NOT_SUPPORTED, text, (test,))
    e = equivalent(values, [target] * len(values), TARGET_MARGIN, alpha=ALPHA)
    if e.equivalent:
        return Verdict(EQUIVALENT, text + f" Within {TARGET_MARGIN * 100:.1f} points of it (two "
                       "one-sided tests): the number is reproduced.",
                       (Test(f"{label} minus the seed's {target:.1%}", e),))
    return Verdict(INCONCLUSIVE, text, (dataclasses.replace(test, decisive=False),))


def _with_recipe_context(verdict: Verdict, facts: dict, key: str, label: str,
                         recipe: str = "a standard recipe") -> Verdict:
    """Add the full-scale row ``key`` (``label`` trained with ``recipe``) to a full-scale
    verdict's evidence, if stored or recorded.

    Context only: the claims are about the seed's recipe, so the verdict does not change.
    """
    values = [v for v in facts.get("full", {}).get(key) or [] if v is not None]
    if not values:
        return verdict
    return dataclasses.replace(
        verdict, evidence=verdict.evidence + f" For comparison, {label} trained with {recipe} "
        f"reaches {np.mean(values):.2%} over {len(values)} seed(s) (full-scale table below).")


def judge_convnet_accuracy(facts: dict) -> Verdict:
    verdict = _full_scale(facts, "convnet", SEED_CONVNET_TEST, "ConvNet (the seed's recipe)")
    return _with_recipe_context(verdict, facts, "convnet_recipe", "the same ConvNet")


def _arms(facts: dict, study: str) -> list[dict]:
    return list(_study(facts, study).values())


def judge_he(facts: dict) -> Verdict:
    values = _metric(facts, "initialization", "test_accuracy")
    verdict = best_is(values, _arm(facts, "initialization", initializer="he")["label"])
    return _gated(verdict, _arms(facts, "initialization"), facts)


def judge_batchnorm_convnet(facts: dict) -> Verdict:
    with_ = _arm(facts, "batchnorm_convnet", batch_norm=True)
    without = _arm(facts, "batchnorm_convnet", batch_norm=False)
    fast_verdict, fast = _beats(with_["epoch1_val_accuracy"], without["epoch1_val_accuracy"])
    rough_with, rough_without = with_["loss_rise_fraction"], without["loss_rise_fraction"]
    if None in rough_with + rough_without:
        return Verdict(INCONCLUSIVE, "the runs were trained before the per-window training loss "
                       "was recorded; retrain them (`fmnist-report build --force`).")
    steady_verdict, steady = _beats(rough_without, rough_with)
    steps = facts.get("loss_window_steps", "a few")
    return _judged([(fast_verdict, Test("with minus without BN, epoch-1 val accuracy", fast)),
                    (steady_verdict, Test("without minus with BN, share of loss rises", steady))],
                   "learns faster — validation accuracy after epoch 1 (the declared point): "
                   + _vs("with", "without", with_["epoch1_val_accuracy"],
                         without["epoch1_val_accuracy"], fast)
                   + f"; oscillates without — share of {steps}-step windows in which the "
                   "training loss rose: "
                   + _vs("without", "with", rough_without, rough_with, steady, fmt=_pct) + ".")


def judge_dropout_convnet(facts: dict) -> Verdict:
    without = _arm(facts, "dropout_convnet", dropout=0.0)
    with_ = _arm(facts, "dropout_convnet", dropout=0.2)
    verdict, c = _beats(without["val_loss_rises"], with_["val_loss_rises"])
    epochs = facts["epochs"]
    text = ("epochs whose validation loss rose: "
            + _vs("without dropout", "with dropout", without["val_loss_rises"],
                  with_["val_loss_rises"], c, fmt=lambda x: f"{x:.1f}",
                  diff_fmt=lambda x: f"{x:+.1f}", unit="") + ".")
    test = Test("without minus with dropout, validation-loss rises", c, unit="epochs")
    if epochs < MIN_EPOCHS_FOR_OSCILLATION:
        return Verdict(NOT_TESTABLE, text + f" Not testable at this budget: {epochs} epochs give "
                       f"{epochs - 1} epoch-to-epoch steps of the validation loss; at least "
                       f"{MIN_EPOCHS_FOR_OSCILLATION} epochs are needed to tell a steady fall "
                       "from a random one.", (dataclasses.replace(test, decisive=False),))
    return _judged([(verdict, test)], text)


def judge_separable_over_training(facts: dict) -> Verdict:
    t = facts["tsne_training"]
    c = compare(t["last"], t["first"], alpha=ALPHA)
    first, last = t["epochs"]
    return _judged([(_direction(c), Test(f"epoch {last} minus epoch {first}", c))],
                   "5-NN accuracy in t-SNE maps of the penultimate features, paired by seed: "
                   + _vs(f"epoch {last}", f"epoch {first}", t["last"], t["first"], c) + ".")


def _sanity_comparison(s: dict) -> Comparison:
    return Comparison(s["difference"], s["low"], s["high"], s["p_value"], s["images"], True,
                      ALPHA)


def judge_guided_backprop(facts: dict) -> Verdict:
    parts, lines = [], []
    for target, s in (("class logit", facts["sanity"]["logits"]),
                      ("conv4 channel (the seed's Figure 15)", facts["sanity"]["conv4"])):
        c = _sanity_comparison(s)
        verdict = (NOT_SUPPORTED if s["guided_survives"] else
                   SUPPORTED if s["guided_changes"] else INCONCLUSIVE)
        parts.append((verdict, Test(f"guided minus gradient survival, {target}", c,
                                    unit="correlation")))
        lines.append(f"{target}: guided backprop {s['guided']:.2f} vs plain gradient "
                     f"{s['gradient']:.2f}, {interval_text(c, lambda x: f'{x:+.2f}', '')}, "
                     f"{s['images']} images")
    verdict = _judged(parts, "model-randomization check: mean Spearman correlation of each "
                      "method's map with the trained model's map over the cascade (lower = the "
                      "map depends more on the learned weights), paired by image — "
                      + "; ".join(lines) + ".")
    if verdict.verdict == NOT_SUPPORTED:
        verdict = dataclasses.replace(verdict, evidence=verdict.evidence + " Guided backprop's "
                                      "maps barely depend on the learned weights.")
    return verdict


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
    verdict, c = _beats(vgg, convnet)
    return _judged([(verdict, Test("VGG-like minus ConvNet, epoch-1 val loss", c, unit="loss"))],
                   "validation loss after epoch 1 (the declared point), paired by seed: "
                   + _vs("VGG-like", "ConvNet", vgg, convnet, c, fmt=_num,
                         diff_fmt=lambda x: f"{x:+.3f}", unit="") + ".")


def judge_kernel(facts: dict) -> Verdict:
    arms = {size: _arm(facts, "kernel_size", kernel_size=size) for size in (3, 5, 7)}
    acc = {size: arm["test_accuracy"] for size, arm in arms.items()}
    near, vs3 = _beats(acc[5], acc[3], margin=EQUIVALENCE_MARGIN)
    # "3x3 nearly as well": only a clear win of 3x3 over 5x5 contradicts the claim.
    near = {NOT_SUPPORTED: NOT_SUPPORTED, INCONCLUSIVE: INCONCLUSIVE}.get(near, SUPPORTED)
    worse, vs7 = _beats(acc[5], acc[7])
    verdict = _judged([(near, Test("5x5 minus 3x3", vs3)), (worse, Test("5x5 minus 7x7", vs7))],
                      "test accuracy, paired by seed: " + _vs("5x5", "3x3", acc[5], acc[3], vs3)
                      + "; " + _vs("5x5", "7x7", acc[5], acc[7], vs7) + ".")
    return _gated(verdict, list(arms.values()), facts)


def judge_learning_rate(facts: dict) -> Verdict:
    verdict = best_is(_metric(facts, "learning_rate", "test_accuracy"),
                      _arm(facts, "learning_rate", learning_rate=1e-4)["label"])
    return _gated(verdict, _arms(facts, "learning_rate"), facts)


def judge_relu(facts: dict) -> Verdict:
    parts, lines, arms = [], [], []
    for init, changes in (("Xavier", {}), ("He", {"initializer": "he"})):
        relu = _arm(facts, "activation", activation="relu", **changes)
        arms.append(relu)
        for other in ("sigmoid", "tanh"):
            arm = _arm(facts, "activation", activation=other, **changes)
            arms.append(arm)
            verdict, c = _beats(relu["test_accuracy"], arm["test_accuracy"],
                                margin=EQUIVALENCE_MARGIN)
            parts.append((verdict, Test(f"ReLU minus {other}, {init}", c)))
            lines.append(f"{init}: " + _vs("ReLU", other, relu["test_accuracy"],
                                           arm["test_accuracy"], c))
    verdict = _judged(parts, "test accuracy, each pair trained with the same initialization "
                      "(Xavier, the seed's default, and He, which suits ReLU): "
                      + "; ".join(lines) + ".")
    return _gated(verdict, arms, facts)


def judge_adam_rmsprop(facts: dict) -> Verdict:
    adam = _arm(facts, "optimizer", optimizer="adam")
    rmsprop = _arm(facts, "optimizer", optimizer="rmsprop")
    c = compare(adam["test_accuracy"], rmsprop["test_accuracy"], alpha=ALPHA)
    e = equivalent(adam["test_accuracy"], rmsprop["test_accuracy"], EQUIVALENCE_MARGIN,
                   alpha=ALPHA)
    text = ("test accuracy, paired by seed: "
            + _vs("Adam", "RMSProp", adam["test_accuracy"], rmsprop["test_accuracy"], c)
            + f"; equivalence margin ±{EQUIVALENCE_MARGIN * 100:.0f} point, two one-sided "
            f"tests: {interval_text(e)}.")
    if e.equivalent:
        verdict = Verdict(EQUIVALENT, text + " Equivalent within the margin: the claim holds.",
                          (Test("Adam minus RMSProp (equivalence)", e),))
    elif c.clear:
        verdict = Verdict(NOT_SUPPORTED, text, (Test("Adam minus RMSProp", c),))
    else:
        verdict = Verdict(INCONCLUSIVE, text + " Neither a clear difference nor shown to be "
                          "within the margin.", (Test("Adam minus RMSProp (equivalence)", e,
                                                      decisive=False),))
    return _gated(verdict, [adam, rmsprop], facts)


def judge_batchnorm_every_model(facts: dict) -> Verdict:
    parts, lines = [], []
    for model in SEED_MODEL_NAMES:
        with_ = _arm(facts, "batchnorm", model=model, batch_norm=True)
        without = _arm(facts, "batchnorm", model=model, batch_norm=False)
        verdict, c = _beats(with_["epoch1_val_accuracy"], without["epoch1_val_accuracy"])
        parts.append((verdict, Test(f"{MODEL_TITLES[model]}: with minus without BN", c)))
        lines.append(f"{with_['group']}: {_pct(_mean(with_['epoch1_val_accuracy']))} vs "
                     f"{_pct(_mean(without['epoch1_val_accuracy']))}, "
                     f"{interval_text(c)} ({verdict})")
    return _judged(parts, "validation accuracy after epoch 1 (the declared point: 'faster' is "
                   "more accuracy after the same number of steps), with vs without batch norm, "
                   "paired by seed: " + "; ".join(lines) + ".")


def judge_dropout_faster(facts: dict) -> Verdict:
    none = _arm(facts, "dropout", dropout=0.0)
    parts, lines = [], []
    for rate in (0.2, 0.5):
        arm = _arm(facts, "dropout", dropout=rate)
        verdict, c = _beats(arm["epoch1_val_accuracy"], none["epoch1_val_accuracy"])
        parts.append((verdict, Test(f"dropout {rate:g} minus none, epoch-1 val accuracy", c)))
        lines.append(_vs(arm["label"], "no dropout", arm["epoch1_val_accuracy"],
                         none["epoch1_val_accuracy"], c))
    return _judged(parts, "validation accuracy after epoch 1 (the declared point), paired by "
                   "seed: " + "; ".join(lines) + ".")


def judge_augmentation(facts: dict) -> Verdict:
    parts, lines, arms = [], [], []
    for model in ("vgg_like", "convnet"):
        without = _arm(facts, "augmentation", model=model, augment=())
        with_ = _arm(facts, "augmentation", model=model, augment=TRAINING_AUGMENTATION)
        arms += [without, with_]
        verdict, c = _beats(with_["test_accuracy"], without["test_accuracy"],
                            margin=EQUIVALENCE_MARGIN)
        parts.append((verdict, Test(f"{MODEL_TITLES[model]}: with minus without augmentation",
                                    c)))
        lines.append(f"{MODEL_TITLES[model]}: " + _vs("with", "without", with_["test_accuracy"],
                                                      without["test_accuracy"], c))
    verdict = _judged(parts, "test accuracy, paired by seed (two of the six models: the VGG-like "
                      "model and our ConvNet): " + "; ".join(lines) + ".")
    return _gated(verdict, arms, facts)


def _baseline_arm(facts: dict) -> dict:
    return {"label": "the baseline ConvNet", "convergence": facts["baseline_convergence"]}


def judge_classes(facts: dict) -> Verdict:
    parts, lines = [], []
    for name, word in (("Shirt", "hardest"), ("Trouser", "easiest")):
        r = facts["classes"][name]
        c = Comparison(**r["comparison"])
        verdict = r["verdict"]
        parts.append((verdict, Test(f"{name} minus {r['other']}", c)))
        lines.append(f"{word} {r['extreme']} ({name} {verdict}: {name} minus {r['other']} "
                     f"{interval_text(c)})")
    verdict = _judged(parts, f"per-class test accuracy over {facts['classes']['seeds']} seeds, "
                      "paired by seed: " + "; ".join(lines) + ".")
    return _gated(verdict, [_baseline_arm(facts)], facts)


def judge_vgg_best(facts: dict) -> Verdict:
    verdict = _full_scale(facts, "vgg_bn_aug", SEED_VGG_TEST,
                          "VGG-like + batch norm + augmentation")
    # "Does best": the other model trained at full scale with the seed's recipe.
    verdict = _with_recipe_context(verdict, facts, "convnet", "our ConvNet",
                                   recipe="the same (seed's) recipe")
    return _with_recipe_context(verdict, facts, "vgg_recipe", "the same VGG-like model")


def judge_sparser(facts: dict) -> Verdict:
    s = facts["sparsity"]
    c = compare(s["last"], s["first"], alpha=ALPHA)
    first, last = s["epochs"]
    dead = (f" Dead filters (zero for every probe image, counted apart) at epoch {last}: "
            f"{_mean(s['dead_last']):.1f} of {s['filters']} on average. Over every position, "
            f"background included, the zero fraction goes {_pct(_mean(s['all_first']))} → "
            f"{_pct(_mean(s['all_last']))}.")
    return _judged([(_direction(c), Test(f"epoch {last} minus epoch {first}", c))],
                   "fraction of zero conv activations on foreground positions (those that see "
                   "the garment; the blank background is zero by construction), mean over conv "
                   "layers, paired by seed: "
                   + _vs(f"epoch {last}", f"epoch {first}", s["last"], s["first"], c) + "."
                   + dead)


def judge_regularizers(facts: dict) -> Verdict:
    parts, lines, arms = [], [], []
    for study, label, claimed, baseline in (
            ("batchnorm_convnet", "batch norm", {"batch_norm": True}, {"batch_norm": False}),
            ("dropout_convnet", "dropout 0.2", {"dropout": 0.2}, {"dropout": 0.0})):
        with_, without = _arm(facts, study, **claimed), _arm(facts, study, **baseline)
        arms += [with_, without]
        verdict, c = _beats(with_["test_accuracy"], without["test_accuracy"],
                            margin=EQUIVALENCE_MARGIN)
        parts.append((verdict, Test(f"with minus without {label}", c)))
        lines.append(f"{label}: " + _vs("with", "without", with_["test_accuracy"],
                                         without["test_accuracy"], c))
    verdict = _judged(parts, "test accuracy of our ConvNet, paired by seed: "
                      + "; ".join(lines) + ".")
    return _gated(verdict, arms, facts)
