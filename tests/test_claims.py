"""The claims ledger, judged on constructed facts: every verdict each judge can give, the
convergence gate, equivalence, and Holm's adjustment across the ledger."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from fmnist_helpers import claims
from fmnist_helpers.core.choices import MODEL_TITLES
from fmnist_helpers.core.config import change_key
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import SECTION_NAMES
from fmnist_helpers.core.stats import compare
from fmnist_helpers.ledger.claims import (
    EQUIVALENT,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SUPPORTED,
)
from fmnist_helpers.study.studies import STUDIES

SEEDS = 3
_draws = itertools.count()


def _vals(mean: float, sd: float = 0.002) -> list[float]:
    """Per-seed values around ``mean``: a different small jitter for every call, so that paired
    differences have a spread (identical differences give no interval)."""
    rng = np.random.default_rng(next(_draws))
    return list(mean + rng.normal(0, sd, SEEDS))


def _converged(still_improving=False, fall=-0.01, epochs=30):
    return {"still_improving": still_improving, "fall": fall, "epochs": epochs,
            "tolerance": 0.02}


def _arm(acc, first=None, loss1=1.0, rises=1.0, rough=0.3, improving=False):
    """One study variant (three seeds) around the given means."""
    return {"test_accuracy": _vals(acc), "val_accuracy": _vals(acc),
            "epoch1_val_accuracy": _vals(acc if first is None else first),
            "epoch1_val_loss": _vals(loss1), "val_loss_rises": _vals(rises, 0.1),
            "loss_rise_fraction": _vals(rough, 0.01),
            "convergence": [_converged(improving, 0.08 if improving else -0.01)] * SEEDS}


def _study(name: str, arms: dict, default=None) -> dict:
    """Facts of one real study (``studies.STUDIES``): arms given by variant key, keyed by change."""
    out = {}
    for variant in STUDIES[name].variants:
        values = arms.get(variant.key, default)
        assert values is not None, f"{name}: no values for {variant.key!r}"
        out[change_key(variant.changes)] = {"label": variant.key, "group": variant.group,
                                            "changes": dict(variant.changes), **values}
    return out


def _set(facts: dict, study: str, label: str, **values) -> None:
    """Change some per-seed values of the variant of ``study`` whose key is ``label``."""
    arm = next(a for a in facts["studies"][study].values() if a["label"] == label)
    arm.update(values)


def _sanity(guided, gradient, images=10):
    c = compare(_vals(guided, 0.05)[:SEEDS] * 4, _vals(gradient, 0.05)[:SEEDS] * 4)
    return {"guided": guided, "gradient": gradient, "difference": c.difference, "low": c.low,
            "high": c.high, "p_value": c.p_value, "images": images,
            "guided_survives": c.clear and c.difference > 0,
            "guided_changes": c.clear and c.difference < 0}


def _class(verdict, extreme, other, gap):
    c = compare(_vals(0.6), _vals(0.6 + gap))
    return {"verdict": verdict, "extreme": extreme, "other": other,
            "comparison": {"difference": c.difference, "low": c.low, "high": c.high,
                           "p_value": c.p_value, "n": c.n, "paired": True, "alpha": 0.05}}


XAVIER, HE = "Xavier (the seed's default)", "He"
WITH_AUG = "with augmentation (flip, translate, scale)"


def _facts():
    """Facts under which every claim of the seed report holds (14 as "equivalent"); the same
    values at every call."""
    global _draws
    _draws = itertools.count()
    bn = {}
    for model in MODEL_TITLES.values():
        bn[f"{model}: without batch norm"] = _arm(0.8, 0.6)
        bn[f"{model}: with batch norm"] = _arm(0.8, 0.7)
    return {
        "profile": "quick", "seeds": SEEDS, "epochs": 30, "convergence_tolerance": 0.02,
        "loss_window_steps": 4,
        "studies": {
            "initialization": _study("initialization", {
                "Xavier (Glorot uniform)": _arm(0.80), "He (normal)": _arm(0.85),
                "random normal (std 0.05)": _arm(0.78)}),
            "batchnorm_convnet": _study("batchnorm_convnet", {
                "without batch norm": _arm(0.80, 0.6, rough=0.45),
                "with batch norm": _arm(0.85, 0.75, rough=0.3)}),
            "dropout_convnet": _study("dropout_convnet", {
                "without dropout": _arm(0.80, rises=8),
                "dropout rate 0.2 (keep 0.8)": _arm(0.83, rises=2)}),
            "layers": _study("layers", {"Our ConvNet": _arm(0.8, loss1=0.5),
                                        "VGG-like": _arm(0.8, loss1=0.9)},
                             default=_arm(0.8)),
            "kernel_size": _study("kernel_size", {"3x3": _arm(0.805), "5x5": _arm(0.81),
                                                  "7x7": _arm(0.70)}),
            "learning_rate": _study("learning_rate", {
                "lr 0.01": _arm(0.5), "lr 0.001": _arm(0.8), "lr 0.0001": _arm(0.9),
                "lr 1e-05": _arm(0.6)}),
            "activation": _study("activation", {
                f"{XAVIER}: relu": _arm(0.9), f"{XAVIER}: sigmoid": _arm(0.1),
                f"{XAVIER}: tanh": _arm(0.8), f"{HE}: relu": _arm(0.91),
                f"{HE}: sigmoid": _arm(0.2), f"{HE}: tanh": _arm(0.82)}),
            "optimizer": _study("optimizer", {
                "Adam": _arm(0.900), "RMSProp": _arm(0.899), "SGD": _arm(0.5),
                "SGD, lr 0.01": _arm(0.7), "SGD, lr 0.1": _arm(0.8),
                "SGD + momentum 0.9": _arm(0.6)}),
            "batchnorm": _study("batchnorm", bn),
            "dropout": _study("dropout", {"dropout rate 0": _arm(0.8, 0.6),
                                          "dropout rate 0.2": _arm(0.8, 0.7),
                                          "dropout rate 0.5": _arm(0.8, 0.72)}),
            "augmentation": _study("augmentation", {
                "VGG-like: without augmentation": _arm(0.8),
                f"VGG-like: {WITH_AUG}": _arm(0.85),
                "Our ConvNet: without augmentation": _arm(0.8),
                f"Our ConvNet: {WITH_AUG}": _arm(0.83)}),
        },
        "mnist_logreg": {"samples": 5000, "MNIST": [0.91, 0.92, 0.90, 0.915, 0.905],
                         "Fashion-MNIST": [0.82, 0.83, 0.81, 0.825, 0.815]},
        "tsne_datasets": {"samples": 2000, "MNIST": _vals(0.9), "Fashion-MNIST": _vals(0.7)},
        "tsne_training": {"epochs": (0, 4), "first": _vals(0.70), "last": _vals(0.80)},
        "sparsity": {"epochs": (0, 4), "first": _vals(0.4), "last": _vals(0.6),
                     "all_first": _vals(0.6), "all_last": _vals(0.7), "dead_last": [1, 0, 2],
                     "filters": 240},
        "baseline_convergence": [_converged()] * SEEDS,
        "classes": {"seeds": SEEDS, "Shirt": _class(SUPPORTED, "Shirt", "Pullover", 0.2),
                    "Trouser": _class(SUPPORTED, "Trouser", "Bag", 0.03)},
        "sanity": {"logits": _sanity(0.3, 0.7), "conv4": _sanity(0.2, 0.6)},
        "fooling": {"targets": 10, "reached": 10, "epsilon": 0.1, "pgd_success": 0.8,
                    "fgsm_success": 0.6},
        "full": {"convnet": [0.945, 0.947, 0.944], "vgg_bn_aug": [0.948, 0.951, 0.950]},
    }


EXPECTED = {n: SUPPORTED for n in range(1, 22)} | {14: EQUIVALENT}


def _verdicts(facts):
    return claims.judge_all(facts)["verdict"].to_dict()


def test_the_ledger_covers_the_twenty_one_claims_in_order():
    assert [c.number for c in claims.CLAIMS] == list(range(1, 22))
    ledger = claims.judge_all(_facts())
    assert list(ledger.index) == list(range(1, 22))
    assert set(ledger.columns) >= {"claim", "seed_words", "metric", "verdict", "difference",
                                   "seeds", "holm", "evidence", "section", "profile"}
    for section in ledger["section"]:
        assert section.startswith(SECTION_NAMES), section
    assert ledger["metric"].str.len().min() > 5  # every claim declares its metric
    assert ledger.loc[4, "seeds"] == SEEDS and "95% CI" in ledger.loc[4, "difference"]


def test_every_claim_holds_on_facts_that_support_it():
    verdicts = _verdicts(_facts())
    assert verdicts == EXPECTED, verdicts


def _improving(f, study, label):
    _set(f, study, label, convergence=[_converged(True, 0.09, 4)] * SEEDS)


# (claim number, change to the facts, expected verdict)
CASES = [
    (1, lambda f: f["mnist_logreg"].update({"MNIST": [0.81, 0.84, 0.80, 0.83, 0.82]}),
     INCONCLUSIVE),
    (1, lambda f: f["mnist_logreg"].update({"MNIST": [0.70, 0.71, 0.70, 0.72, 0.69]}),
     NOT_SUPPORTED),
    (2, lambda f: f["tsne_datasets"].update({"MNIST": _vals(0.6)}), NOT_SUPPORTED),
    (3, lambda f: f["full"].update({"convnet": []}), INCONCLUSIVE),
    (3, lambda f: f["full"].update({"convnet": [0.90, 0.91, 0.905]}), NOT_SUPPORTED),
    (3, lambda f: f["full"].update({"convnet": [0.95]}), INCONCLUSIVE),  # one seed: no interval
    (3, lambda f: f["full"].update({"convnet": [0.90, 0.97, 0.94]}), INCONCLUSIVE),
    (3, lambda f: f["full"].update({"convnet": [0.9368, 0.9372, 0.9371, 0.9369]}), EQUIVALENT),
    (4, lambda f: _set(f, "initialization", "He (normal)", test_accuracy=[0.79, 0.86, 0.80]),
     INCONCLUSIVE),
    (4, lambda f: _set(f, "initialization", "He (normal)", **_arm(0.70)), NOT_SUPPORTED),
    (4, lambda f: [_set(f, "initialization", label, **_arm(0.80))
                   for label in ("He (normal)", "random normal (std 0.05)")], EQUIVALENT),
    (4, lambda f: _improving(f, "initialization", "He (normal)"), NOT_TESTABLE),
    (5, lambda f: _set(f, "batchnorm_convnet", "without batch norm",
                       loss_rise_fraction=_vals(0.3, 0.01)), INCONCLUSIVE),
    (5, lambda f: _set(f, "batchnorm_convnet", "with batch norm",
                       epoch1_val_accuracy=_vals(0.5)), NOT_SUPPORTED),
    (5, lambda f: _set(f, "batchnorm_convnet", "with batch norm",
                       loss_rise_fraction=[None] * SEEDS), INCONCLUSIVE),
    (6, lambda f: _set(f, "dropout_convnet", "without dropout", val_loss_rises=[0, 9, 2]),
     INCONCLUSIVE),
    (6, lambda f: _set(f, "dropout_convnet", "without dropout", **_arm(0.8, rises=0.5)),
     NOT_SUPPORTED),
    (7, lambda f: f["tsne_training"].update({"last": _vals(0.6)}), NOT_SUPPORTED),
    (8, lambda f: f["sanity"].update({"logits": _sanity(0.8, 0.3)}), NOT_SUPPORTED),
    (8, lambda f: f["sanity"].update({"conv4": {
        "guided": 0.5, "gradient": 0.5, "difference": 0.0, "low": -0.1, "high": 0.1,
        "p_value": 0.9, "images": 10, "guided_survives": False, "guided_changes": False}}),
     INCONCLUSIVE),
    (9, lambda f: f["fooling"].update({"reached": 7}), NOT_SUPPORTED),
    (9, lambda f: f["fooling"].update({"pgd_success": 0.3}), INCONCLUSIVE),
    (10, lambda f: _set(f, "layers", "VGG-like", epoch1_val_loss=_vals(0.3)), NOT_SUPPORTED),
    (10, lambda f: _set(f, "layers", "VGG-like", epoch1_val_loss=[0.3, 0.9, 0.6]),
     INCONCLUSIVE),
    (11, lambda f: _set(f, "kernel_size", "3x3", **_arm(0.9)), NOT_SUPPORTED),
    (11, lambda f: _set(f, "kernel_size", "7x7", test_accuracy=[0.80, 0.83, 0.78]),
     INCONCLUSIVE),
    (11, lambda f: _improving(f, "kernel_size", "7x7"), NOT_TESTABLE),
    (12, lambda f: _set(f, "learning_rate", "lr 0.001", **_arm(0.95)), NOT_SUPPORTED),
    (12, lambda f: _improving(f, "learning_rate", "lr 0.0001"), NOT_TESTABLE),
    (13, lambda f: _set(f, "activation", f"{HE}: tanh", test_accuracy=[0.85, 0.95, 0.92]),
     INCONCLUSIVE),
    (13, lambda f: _set(f, "activation", f"{HE}: tanh", **_arm(0.95)), NOT_SUPPORTED),
    (13, lambda f: _improving(f, "activation", f"{HE}: relu"), NOT_TESTABLE),
    (14, lambda f: _set(f, "optimizer", "RMSProp", **_arm(0.80)), NOT_SUPPORTED),
    (14, lambda f: _set(f, "optimizer", "RMSProp", test_accuracy=[0.85, 0.95, 0.90]),
     INCONCLUSIVE),  # close means, but too imprecise to call them equal
    (14, lambda f: _improving(f, "optimizer", "RMSProp"), NOT_TESTABLE),
    (15, lambda f: _set(f, "batchnorm", "VGG-like: with batch norm",
                        epoch1_val_accuracy=_vals(0.5)), NOT_SUPPORTED),
    (15, lambda f: _set(f, "batchnorm", "VGG-like: with batch norm",
                        epoch1_val_accuracy=[0.55, 0.7, 0.62]), INCONCLUSIVE),
    (16, lambda f: _set(f, "dropout", "dropout rate 0.5", epoch1_val_accuracy=_vals(0.5)),
     NOT_SUPPORTED),
    (17, lambda f: _set(f, "augmentation", "Our ConvNet: without augmentation", **_arm(0.9)),
     NOT_SUPPORTED),
    (17, lambda f: _set(f, "augmentation", "VGG-like: without augmentation", **_arm(0.85)),
     INCONCLUSIVE),  # one model equivalent, the other better: not "every model"
    (17, lambda f: _improving(f, "augmentation", f"VGG-like: {WITH_AUG}"), NOT_TESTABLE),
    (18, lambda f: f["classes"].update({"Trouser": _class(INCONCLUSIVE, "Bag", "Trouser", 0)}),
     INCONCLUSIVE),
    (18, lambda f: f["classes"].update({"Shirt": _class(NOT_SUPPORTED, "T-shirt/top", "Shirt",
                                                        0.1)}), NOT_SUPPORTED),
    (18, lambda f: f.update({"baseline_convergence": [_converged(True, 0.05, 4)] * SEEDS}),
     NOT_TESTABLE),
    (19, lambda f: f["full"].update({"vgg_bn_aug": []}), INCONCLUSIVE),
    (20, lambda f: f["sparsity"].update({"last": _vals(0.3)}), NOT_SUPPORTED),
    (21, lambda f: _set(f, "dropout_convnet", "dropout rate 0.2 (keep 0.8)", **_arm(0.7)),
     NOT_SUPPORTED),
    (21, lambda f: _improving(f, "batchnorm_convnet", "with batch norm"), NOT_TESTABLE),
]


@pytest.mark.parametrize("number, change, expected", CASES)
def test_each_judge_gives_each_verdict_on_facts_made_for_it(number, change, expected):
    facts = copy.deepcopy(_facts())
    change(facts)
    verdicts = _verdicts(facts)
    assert verdicts[number] == expected
    assert {n: v for n, v in verdicts.items() if n != number} == {
        n: v for n, v in EXPECTED.items() if n != number}


def test_the_gate_says_why_and_keeps_the_numbers():
    facts = copy.deepcopy(_facts())
    _improving(facts, "learning_rate", "lr 0.0001")
    row = claims.judge_all(facts).loc[12]
    assert row["verdict"] == NOT_TESTABLE and row["holm"] == "—"
    assert "lr 0.0001: validation loss fell a median 9% below its best earlier epoch" in (
        row["evidence"])
    assert "3 of 3 seeds still improving" in row["evidence"] and "test accuracy:" in (
        row["evidence"])
    facts["epochs"] = 4  # claim 6 needs enough epochs to measure oscillation
    assert claims.judge_all(facts).loc[6, "verdict"] == NOT_TESTABLE
    # A diverged arm (no convergence record) is reported by its accuracy, never gated.
    facts = copy.deepcopy(_facts())
    _set(facts, "learning_rate", "lr 0.01", convergence=[None] * SEEDS,
         test_accuracy=[None] * SEEDS)
    assert claims.judge_all(facts).loc[12, "verdict"] == SUPPORTED


def test_seeds_that_did_not_learn_are_named_in_the_evidence():
    facts = copy.deepcopy(_facts())
    assert "Did not learn" not in claims.judge_all(facts).loc[12, "evidence"]
    _set(facts, "learning_rate", "lr 0.01", at_chance=[False, True, False])
    row = claims.judge_all(facts).loc[12]
    assert row["verdict"] == SUPPORTED  # the verdict rests on the numbers, which include it
    assert "Did not learn (validation accuracy at chance every epoch, loss finite; counted in " \
        "the means): lr 0.01 in 1 of 3 seed(s)." in row["evidence"]


def test_holm_adjusts_across_the_ledger():
    ledger = claims.judge_all(_facts())
    assert ledger.loc[4, "holm"].startswith("holds (adjusted p = ")
    assert ledger.loc[9, "holm"] == "—"  # a count, no test
    # A barely clear difference does not survive the adjustment when the ledger holds other
    # comparisons with larger p-values (Holm multiplies the k-th smallest of m by m - k + 1).
    facts = copy.deepcopy(_facts())
    facts["tsne_training"].update({"first": [0.70, 0.71, 0.72], "last": [0.72, 0.72, 0.74]})
    facts["tsne_datasets"].update({"MNIST": [0.70, 0.75, 0.72], "Fashion-MNIST": [0.71, 0.73,
                                                                                 0.74]})
    facts["sparsity"].update({"first": [0.4, 0.5, 0.45], "last": [0.45, 0.44, 0.47]})
    _set(facts, "layers", "VGG-like", epoch1_val_loss=[0.3, 0.9, 0.6])
    row = claims.judge_all(facts).loc[7]
    assert row["verdict"] == SUPPORTED
    assert row["holm"].startswith("not after adjustment")


def test_best_is_needs_the_expected_variant():
    assert claims.best_is({"a": _vals(0.9), "b": _vals(0.5)}, "a").verdict == SUPPORTED
    with pytest.raises(ValueError, match="no variant"):
        claims.best_is({"a": [0.9]}, "z")


def test_missing_evidence_fails_loudly_instead_of_downgrading_a_claim():
    facts = _facts()
    del facts["sanity"]
    with pytest.raises(KeyError, match="sanity"):
        claims.judge_all(facts)
    facts = _facts()
    del facts["studies"]["optimizer"]
    with pytest.raises(KeyError, match="no study 'optimizer'"):
        claims.judge_all(facts)
    facts = _facts()  # a variant renamed keeps its verdict: judges find it by its change
    for arm in facts["studies"]["initialization"].values():
        arm["label"] = arm["label"].upper()
    assert claims.judge_all(facts).loc[4, "verdict"] == SUPPORTED
    facts = _facts()  # a variant whose change differs (removed, or changed) is an error
    arms = facts["studies"]["learning_rate"]
    facts["studies"]["learning_rate"] = {key.replace("0.0001", "0.0002"): arm
                                         for key, arm in arms.items()}
    with pytest.raises(KeyError, match="no variant with learning_rate=0.0001"):
        claims.judge_all(facts)


def test_summary_and_conclusion_name_the_profile_and_the_counts():
    facts = _facts()
    facts["fooling"]["reached"] = 3
    ledger = claims.judge_all(facts)
    line = claims.summary_line(ledger, "quick")
    borderline = int(ledger["stability"].str.startswith("borderline").sum())
    assert line == ("19 supported, 1 not supported, 1 equivalent, 0 inconclusive, "
                    f"0 not testable at this budget ({borderline} of 21 borderline: a verdict "
                    "or Holm decision moves when one seed is left out) — quick profile")
    text = " ".join(claims.conclusion(ledger, "quick"))
    assert "(9) A noise image" in text and "quick profile" in text
    with pytest.raises(ValueError, match="verdict must be"):
        claims.Verdict("maybe", "")


def test_verdicts_that_differ_between_profiles_are_found(tmp_path):
    quick = claims.judge_all(_facts())
    facts = copy.deepcopy(_facts())
    facts["profile"] = "smoke"
    facts["fooling"]["reached"] = 3
    smoke = claims.judge_all(facts)
    claims.save_ledger(smoke, tmp_path)
    claims.save_ledger(quick, tmp_path)
    assert claims.other_verdicts(quick, tmp_path) == {9: {"smoke": NOT_SUPPORTED}}
    assert claims.other_verdicts(smoke, tmp_path) == {9: {"quick": SUPPORTED}}


def _store_full_run(store, config, test_accuracy):
    """A constructed full-scale entry: the numbers the table reads, and a small real model (no
    training), complete enough to pass the store's check of an entry."""
    from fmnist_helpers.store.runs import EXTRAS_FIELDS, RESULT_FILE, write_json
    from fmnist_helpers.study.models import build_model

    entry = store.new_entry(config)
    epochs = config.epochs
    write_json(entry / "history.json", {
        "loss": [0.3] * epochs, "val_loss": [0.3] * epochs,
        "accuracy": list(np.linspace(0.8, test_accuracy + 0.02, epochs)),
        "val_accuracy": list(np.linspace(0.8, test_accuracy + 0.002, epochs))})
    build_model("feedforward", width=0.125).save(entry / "model.keras")
    for epoch in config.record_epochs:
        np.savez(entry / "extras" / f"epoch_{epoch:03d}.npz",
                 **{name: np.zeros(2) for name in EXTRAS_FIELDS})
    write_json(entry / RESULT_FILE, {
        "test_accuracy": test_accuracy, "val_accuracy": test_accuracy + 0.002,
        "best_val_accuracy": test_accuracy + 0.002, "test_loss": 0.3, "val_loss": 0.3,
        "epochs_completed": epochs, "train_seconds": 3600.0,
        "images_per_second": 450.0, "diverged": False})
    store.commit(config, entry)


def test_full_scale_table_reports_stored_runs_and_says_what_is_missing(tmp_path):
    from fmnist_helpers import display, fullscale, viz
    from fmnist_helpers.store.runs import RunStore

    store = RunStore(tmp_path)
    empty = fullscale.full_scale_table(store)
    assert list(empty["seeds"]) == [0] * len(fullscale.FULL_SCALE_ROWS)
    assert empty["reached"].isna().all()
    assert "not run yet" in display.full_scale_table(empty).data

    recipe = fullscale.full_scale_configs()["convnet_recipe"]
    _store_full_run(store, recipe, 0.950)
    _store_full_run(store, recipe.replace(seed=1), 0.944)
    _store_full_run(store, fullscale.full_scale_configs()["convnet"], 0.913)
    table = fullscale.full_scale_table(store)
    row = table.loc["Our ConvNet, standard recipe"]
    assert row["seeds"] == 2 and row["test_accuracy"] == pytest.approx(0.947)
    assert row["spread"] == pytest.approx(0.006) and row["reached"]
    assert row["minutes"] == pytest.approx(60.0)
    seed_row = table.loc["Our ConvNet (seed's recipe)"]
    assert seed_row["seeds"] == 1 and not seed_row["reached"]
    html = display.full_scale_table(table).data
    assert "94.70%" in html and "one seed" in html and "91.30%" in html

    curves = fullscale.full_scale_curves(store)
    assert len(curves) == 3 * recipe.epochs  # one line per stored run
    recipe_curves = curves[curves["model"] == "Our ConvNet, standard recipe"]
    assert sorted(recipe_curves["seed"].unique()) == [0, 1]
    last = recipe_curves[recipe_curves["epoch"] == recipe.epochs].set_index("seed")
    assert last.loc[0, "val_accuracy"] == pytest.approx(0.952)
    figure = viz.full_scale_curves(curves, table)
    assert len(figure.axes) == 2 and len(figure.axes[0].lines) == 3
    # One legend entry per row, with its seed count (not one per seed).
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == [
        "Our ConvNet (seed's recipe) (1 seed)", "Our ConvNet, standard recipe (2 seeds)"]
    # A seed beyond the full profile's reaches the table, the ledger's facts and its counts alike.
    convnet = fullscale.full_scale_configs()["convnet"]
    _store_full_run(store, convnet.replace(seed=get_profile("full").seeds + 2), 0.911)
    table = fullscale.full_scale_table(store)
    assert fullscale.full_scale_counts(store)["convnet"] == 2 == (
        table.loc["Our ConvNet (seed's recipe)", "seeds"])
    assert fullscale.stored_test_accuracies(store, convnet, fullscale.FULL_SCALE_SEEDS) == (
        pytest.approx([0.913, 0.911]))
    targets = {target for _, target, _ in fullscale.FULL_SCALE_ROWS.values()}
    assert len(figure.axes[1].lines) == 3 + len(targets)  # runs, then one line per target
    assert len(viz.full_scale_curves(fullscale.full_scale_curves(RunStore(tmp_path / "empty")),
                                     empty).axes) == 1


def test_the_standard_recipe_is_context_for_claims_3_and_19_never_evidence():
    facts = copy.deepcopy(_facts())
    facts["full"].update({"convnet": [0.90, 0.91, 0.905], "convnet_recipe": [0.95, 0.951]})
    ledger = claims.judge_all(facts)
    assert ledger.loc[3, "verdict"] == NOT_SUPPORTED
    assert "standard recipe reaches 95.05% over 2 seed(s)" in ledger.loc[3, "evidence"]
    facts["full"].update({"vgg_bn_aug": [0.899, 0.90, 0.901], "vgg_recipe": [0.944]})
    ledger = claims.judge_all(facts)
    assert ledger.loc[19, "verdict"] == NOT_SUPPORTED
    assert ("same VGG-like model trained with a standard recipe reaches 94.40% over 1 seed(s)"
            in ledger.loc[19, "evidence"])
    # "Does best": our ConvNet with the seed's recipe is named beside it, as context only.
    assert ("our ConvNet trained with the same (seed's) recipe reaches 90.50% over 3 seed(s)"
            in ledger.loc[19, "evidence"])
    facts["full"].update({"convnet": [0.99, 0.991, 0.992]})
    assert claims.judge_all(facts).loc[19, "verdict"] == NOT_SUPPORTED


def test_the_ledger_row_shows_the_comparison_that_decides_the_verdict():
    """Claim 12's shape: 1e-4 against 1e-2 is unclear (interval across zero) but 1e-3 beats
    1e-4 clearly: the row must show 1e-4 vs 1e-3, not the first test."""
    from fmnist_helpers.ledger.verdicts import NOT_SUPPORTED, SUPPORTED, best_is, deciding_test

    values = {"1e-4": [0.85, 0.86, 0.84, 0.85, 0.86], "1e-2": [0.10, 0.95, 0.30, 0.99, 0.60],
              "1e-3": [0.89, 0.90, 0.89, 0.90, 0.91]}
    verdict = best_is(values, "1e-4")
    assert verdict.verdict == NOT_SUPPORTED
    assert verdict.tests[0].name == "1e-4 minus 1e-2"
    assert deciding_test(verdict).name == "1e-4 minus 1e-3"
    # Supported: the hardest rival (largest p-value) decides.
    clear = {"a": [0.90, 0.91, 0.90, 0.92, 0.91], "far": [0.50, 0.52, 0.49, 0.51, 0.50],
             "near": [0.885, 0.90, 0.885, 0.905, 0.895]}
    supported = best_is(clear, "a")
    assert supported.verdict == SUPPORTED and deciding_test(supported).name == "a minus near"


def test_an_inconclusive_row_says_what_it_rules_out_and_what_its_seeds_would_detect():
    from fmnist_helpers.ledger.verdicts import INCONCLUSIVE, best_is, deciding_test, rules_out

    values = {"x": [0.90, 0.91, 0.89, 0.92, 0.90], "y": [0.92, 0.90, 0.885, 0.95, 0.89],
              "z": [0.70, 0.72, 0.69, 0.71, 0.70]}
    verdict = best_is(values, "x")
    assert verdict.verdict == INCONCLUSIVE
    test = deciding_test(verdict)
    assert test.name == "x minus y"  # the rival nearest x, not the one x clearly beats
    text = rules_out(test)
    assert text.startswith("rules out a difference below -") and "or above +" in text
    assert "with 5 seeds a true difference of" in text and "80% of the time" in text


def test_a_verdict_that_one_seed_decides_is_marked_borderline():
    """He beats Xavier by 1.0, 1.2 and 2.0 points: clear with three seeds, not with any one
    left out (two seeds: t <= 11 against 12.7): claim 4 is borderline. By 5.000, 5.002 and
    5.005 points (and far ahead of random) it stays clear, after Holm too, whichever seed is
    left out: stable."""
    facts = copy.deepcopy(_facts())
    he = [0.91, 0.912, 0.92]
    _set(facts, "initialization", "He (normal)", test_accuracy=he)
    _set(facts, "initialization", "Xavier (Glorot uniform)",
         test_accuracy=[0.90, 0.90, 0.90])
    _set(facts, "initialization", "random normal (std 0.05)", test_accuracy=[0.5, 0.51, 0.49])
    ledger = claims.judge_all(facts)
    assert ledger.loc[4, "verdict"] == SUPPORTED
    assert ledger.loc[4, "stability"].startswith("borderline (without seed 0: inconclusive")
    _set(facts, "initialization", "He (normal)", test_accuracy=[0.95, 0.95002, 0.95005])
    _set(facts, "initialization", "random normal (std 0.05)",
         test_accuracy=[0.5, 0.50003, 0.50001])
    ledger = claims.judge_all(facts)
    assert ledger.loc[4, "stability"] == "stable"
    assert "borderline" in claims.summary_line(ledger, "quick")
    left_out = claims.leave_seed_out(facts, 1)
    arm = next(a for a in left_out["studies"]["initialization"].values()
               if a["label"] == "He (normal)")
    assert arm["test_accuracy"] == [0.95, 0.95005] and len(arm["convergence"]) == 2
    assert len(facts["studies"]["initialization"]["initializer=he"]["test_accuracy"]) == 3
