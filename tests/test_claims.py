"""The claims ledger, judged on constructed facts: each verdict, and the spread rule."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fmnist_helpers import claims
from fmnist_helpers.choices import MODEL_TITLES
from fmnist_helpers.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from fmnist_helpers.config import change_key
from fmnist_helpers.sections import SECTION_NAMES
from fmnist_helpers.studies import STUDIES


def _arm(acc, first=None, loss1=1.0, rises=(0, 0)):
    """Per-seed values of one study variant (two seeds)."""
    first = acc if first is None else first
    return {"test_accuracy": list(acc), "val_accuracy": list(acc),
            "epoch1_val_accuracy": list(first), "epoch1_val_loss": [loss1, loss1],
            "val_loss_rises": list(rises)}


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


def _facts():
    """Facts under which every claim of the seed report is supported."""
    bn = {}
    for model in MODEL_TITLES.values():
        bn[f"{model}: without batch norm"] = _arm((0.8, 0.8), (0.6, 0.61))
        bn[f"{model}: with batch norm"] = _arm((0.8, 0.8), (0.7, 0.71))
    return {
        "profile": "quick", "seeds": 2,
        "studies": {
            "initialization": _study("initialization", {
                "Xavier (Glorot uniform)": _arm((0.80, 0.81)), "He (normal)": _arm((0.85, 0.86)),
                "random normal (std 0.05)": _arm((0.78, 0.79))}),
            "batchnorm_convnet": _study("batchnorm_convnet", {
                "without batch norm": _arm((0.8, 0.8), (0.6, 0.62), rises=(3, 4)),
                "with batch norm": _arm((0.85, 0.85), (0.75, 0.76))}),
            "dropout_convnet": _study("dropout_convnet", {
                "without dropout": _arm((0.8, 0.8), rises=(3, 3)),
                "dropout rate 0.2 (keep 0.8)": _arm((0.8, 0.8), rises=(0, 1))}),
            "layers": _study("layers", {"Our ConvNet": _arm((0.8, 0.8), loss1=0.5),
                                        "VGG-like": _arm((0.8, 0.8), loss1=0.9)},
                             default=_arm((0.8, 0.8))),
            "kernel_size": _study("kernel_size", {"3x3": _arm((0.80, 0.81)),
                                                  "5x5": _arm((0.81, 0.82)),
                                                  "7x7": _arm((0.70, 0.71))}),
            "learning_rate": _study("learning_rate", {
                "lr 0.01": _arm((0.5, 0.52)), "lr 0.001": _arm((0.8, 0.81)),
                "lr 0.0001": _arm((0.9, 0.91)), "lr 1e-05": _arm((0.6, 0.61))}),
            "activation": _study("activation", {"relu": _arm((0.9, 0.91)),
                                                "sigmoid": _arm((0.1, 0.1)),
                                                "tanh": _arm((0.8, 0.81))}),
            "optimizer": _study("optimizer", {
                "Adam": _arm((0.900, 0.905)), "RMSProp": _arm((0.899, 0.904)),
                "SGD": _arm((0.5, 0.5)), "SGD + momentum 0.9": _arm((0.6, 0.6))}),
            "batchnorm": _study("batchnorm", bn),
            "dropout": _study("dropout", {"dropout rate 0": _arm((0.8, 0.8), (0.6, 0.61)),
                                          "dropout rate 0.2": _arm((0.8, 0.8), (0.7, 0.71)),
                                          "dropout rate 0.5": _arm((0.8, 0.8), (0.72, 0.73))}),
            "augmentation": _study("augmentation", {
                "without augmentation": _arm((0.8, 0.81)),
                "with augmentation (flip, translate, scale)": _arm((0.85, 0.86))}),
        },
        "mnist_logreg": {"samples": 5000, "MNIST": [0.91, 0.92, 0.90],
                         "Fashion-MNIST": [0.82, 0.83, 0.81]},
        "tsne_datasets": {"samples": 2000, "MNIST": [0.9, 0.91], "Fashion-MNIST": [0.7, 0.72]},
        "tsne_training": {"epochs": (0, 4), "first": [0.70, 0.71], "last": [0.80, 0.81]},
        "sparsity": {"epochs": (0, 4), "first": [0.4, 0.41], "last": [0.6, 0.62]},
        "classes": {"seeds": 2,
                    "Shirt": {"verdict": SUPPORTED, "extreme": "Shirt", "runner_up": "Pullover",
                              "gap": 0.2, "spread": 0.05},
                    "Trouser": {"verdict": SUPPORTED, "extreme": "Trouser", "runner_up": "Bag",
                                "gap": 0.03, "spread": 0.01}},
        "sanity": {"guided": 0.3, "gradient": 0.7, "spread": 0.1, "difference": -0.4,
                   "images": 10, "guided_survives": False, "guided_changes": True},
        "fooling": {"targets": 10, "reached": 10, "epsilon": 0.1, "pgd_success": 0.8,
                    "fgsm_success": 0.6},
        "full": {"convnet": [0.938, 0.940], "vgg_bn_aug": [0.941, 0.945]},
    }


def _verdicts(facts):
    return claims.judge_all(facts)["verdict"].to_dict()


def test_the_ledger_covers_the_twenty_claims_in_order():
    assert [c.number for c in claims.CLAIMS] == list(range(1, 21))
    ledger = claims.judge_all(_facts())
    assert list(ledger.index) == list(range(1, 21))
    assert set(ledger.columns) >= {"claim", "seed_words", "evidence", "verdict", "section"}
    for section in ledger["section"]:
        assert section.startswith(SECTION_NAMES), section


def test_every_claim_is_supported_by_facts_that_support_it():
    verdicts = _verdicts(_facts())
    assert verdicts == {n: SUPPORTED for n in range(1, 21)}, verdicts


# (claim number, change to the facts, expected verdict)
CASES = [
    (1, lambda f: f["mnist_logreg"].update({"MNIST": [0.81, 0.84, 0.80]}), INCONCLUSIVE),
    (1, lambda f: f["mnist_logreg"].update({"MNIST": [0.70, 0.71, 0.70]}), NOT_SUPPORTED),
    (2, lambda f: f["tsne_datasets"].update({"MNIST": [0.6, 0.61]}), NOT_SUPPORTED),
    (3, lambda f: f["full"].update({"convnet": []}), INCONCLUSIVE),
    (3, lambda f: f["full"].update({"convnet": [0.90, 0.91]}), NOT_SUPPORTED),
    (3, lambda f: f["full"].update({"convnet": [0.93]}), INCONCLUSIVE),
    (3, lambda f: f["full"].update({"convnet": [0.90, 0.94]}), INCONCLUSIVE),  # within spread
    (4, lambda f: _set(f, "initialization", "He (normal)", **_arm((0.79, 0.83))), INCONCLUSIVE),
    (4, lambda f: _set(f, "initialization", "He (normal)", **_arm((0.70, 0.71))), NOT_SUPPORTED),
    (5, lambda f: _set(f, "batchnorm_convnet", "without batch norm", val_loss_rises=[0, 0]),
     INCONCLUSIVE),
    (5, lambda f: _set(f, "batchnorm_convnet", "with batch norm",
                       epoch1_val_accuracy=[0.5, 0.5]), NOT_SUPPORTED),
    (6, lambda f: _set(f, "dropout_convnet", "without dropout", val_loss_rises=[0, 3]),
     INCONCLUSIVE),
    (7, lambda f: f["tsne_training"].update({"last": [0.6, 0.6]}), NOT_SUPPORTED),
    (8, lambda f: f["sanity"].update({"guided_survives": True, "guided_changes": False}),
     NOT_SUPPORTED),
    (8, lambda f: f["sanity"].update({"guided_survives": False, "guided_changes": False}),
     INCONCLUSIVE),
    (9, lambda f: f["fooling"].update({"reached": 7}), NOT_SUPPORTED),
    (9, lambda f: f["fooling"].update({"pgd_success": 0.3}), INCONCLUSIVE),
    (10, lambda f: _set(f, "layers", "VGG-like", epoch1_val_loss=[0.3, 0.3]),
     NOT_SUPPORTED),
    (11, lambda f: _set(f, "kernel_size", "3x3", **_arm((0.9, 0.91))), NOT_SUPPORTED),
    (11, lambda f: _set(f, "kernel_size", "7x7", **_arm((0.80, 0.83))), INCONCLUSIVE),
    (12, lambda f: _set(f, "learning_rate", "lr 0.001", **_arm((0.95, 0.96))),
     NOT_SUPPORTED),
    (13, lambda f: _set(f, "activation", "tanh", **_arm((0.88, 0.93))), INCONCLUSIVE),
    (14, lambda f: _set(f, "optimizer", "RMSProp", **_arm((0.80, 0.81))),
     NOT_SUPPORTED),
    (14, lambda f: _set(f, "optimizer", "RMSProp", **_arm((0.85, 0.95))),
     INCONCLUSIVE),  # close means, but a spread too wide to call them equal
    (15, lambda f: _set(f, "batchnorm", "VGG-like: with batch norm",
                        epoch1_val_accuracy=[0.5, 0.5]), NOT_SUPPORTED),
    (15, lambda f: _set(f, "batchnorm", "VGG-like: with batch norm",
                        epoch1_val_accuracy=[0.55, 0.7]), INCONCLUSIVE),
    (16, lambda f: _set(f, "dropout", "dropout rate 0.5", epoch1_val_accuracy=[0.5, 0.5]),
     NOT_SUPPORTED),
    (17, lambda f: _set(f, "augmentation", "without augmentation", **_arm((0.9, 0.91))),
     NOT_SUPPORTED),
    (18, lambda f: f["classes"]["Trouser"].update({"verdict": INCONCLUSIVE}), INCONCLUSIVE),
    (18, lambda f: f["classes"]["Shirt"].update({"verdict": NOT_SUPPORTED}), NOT_SUPPORTED),
    (19, lambda f: f["full"].update({"vgg_bn_aug": []}), INCONCLUSIVE),
    (20, lambda f: f["sparsity"].update({"last": [0.3, 0.3]}), NOT_SUPPORTED),
]


@pytest.mark.parametrize("number, change, expected", CASES)
def test_each_claim_can_be_unsupported_or_inconclusive(number, change, expected):
    facts = copy.deepcopy(_facts())
    change(facts)
    verdicts = _verdicts(facts)
    assert verdicts[number] == expected
    assert all(v == SUPPORTED for n, v in verdicts.items() if n != number)


def test_best_is_needs_the_expected_variant():
    assert claims.best_is({"a": [0.9, 0.91], "b": [0.5, 0.5]}, "a").verdict == SUPPORTED
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
    assert line == "19 supported, 1 not supported, 0 inconclusive — quick profile"
    text = " ".join(claims.conclusion(ledger, "quick"))
    assert "(9) A noise image" in text and "quick profile" in text
    with pytest.raises(ValueError, match="verdict must be"):
        claims.Verdict("maybe", "")


def _store_full_run(store, config, test_accuracy):
    """A constructed full-scale entry: the numbers the table reads, and a small real model (no
    training), complete enough to pass the store's check of an entry."""
    from fmnist_helpers.models import build_model
    from fmnist_helpers.runs import EXTRAS_FIELDS, RESULT_FILE, write_json

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
    from fmnist_helpers.runs import RunStore

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
    targets = {target for _, target, _ in fullscale.FULL_SCALE_ROWS.values()}
    assert len(figure.axes[1].lines) == 3 + len(targets)  # runs, then one line per target
    assert len(viz.full_scale_curves(fullscale.full_scale_curves(RunStore(tmp_path / "empty")),
                                     empty).axes) == 1


def test_the_standard_recipe_is_context_for_claims_3_and_19_never_evidence():
    facts = copy.deepcopy(_facts())
    facts["full"].update({"convnet": [0.90, 0.91], "convnet_recipe": [0.95, 0.951]})
    ledger = claims.judge_all(facts)
    assert ledger.loc[3, "verdict"] == NOT_SUPPORTED
    assert "standard recipe reaches 95.05% over 2 seed(s)" in ledger.loc[3, "evidence"]
    facts["full"].update({"vgg_bn_aug": [0.899, 0.90], "vgg_recipe": [0.944]})
    ledger = claims.judge_all(facts)
    assert ledger.loc[19, "verdict"] == NOT_SUPPORTED
    assert ("same VGG-like model trained with a standard recipe reaches 94.40% over 1 seed(s)"
            in ledger.loc[19, "evidence"])
