"""Training studies: comparisons of run configs over several seeds, and what they show.

A study is a list of variants (a label, an optional group, and the run-config fields it
changes relative to the profile's baseline ConvNet). :func:`run_study` trains every variant for
every seed through the run store (so a variant equal to the baseline reuses the baseline's runs;
a run the store lacks is read from its committed record if there is one, else trained), and
:class:`StudyResult` aggregates them: per-epoch mean and range of the losses, final accuracies as
mean ± spread, epochs to reach an accuracy threshold, training time, divergence, and observation
sentences generated from those numbers.

A difference between two variants counts only when the 95% confidence interval of their
per-seed differences (paired by seed: seed k of every variant shares its data order) excludes
zero (:func:`fmnist_helpers.core.stats.compare`); otherwise the sentences call it unclear.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from fmnist_helpers.core import progress
from fmnist_helpers.core.choices import MODEL_TITLES, SEED_MODEL_NAMES, TRAINING_AUGMENTATION
from fmnist_helpers.core.profiles import Profile, get_profile
from fmnist_helpers.core.stats import (
    CONVERGENCE_TOLERANCE,
    compare,
    convergence,
    epochs_to_reach,
    spread,
    stayed_at_chance,
    val_loss_rises,
)
from fmnist_helpers.store import records
from fmnist_helpers.store.runs import Run, RunConfig, RunStore
from fmnist_helpers.study.fullscale import FULL_SCALE_ROWS, against_target, full_scale_table
from fmnist_helpers.study.train import train


@dataclasses.dataclass(frozen=True)
class Variant:
    """One arm of a study: a label, an optional group (e.g. the model) and config changes."""

    label: str
    changes: dict[str, Any]
    group: str = ""

    @property
    def key(self) -> str:
        """Unique name within the study: ``"group: label"`` or the label."""
        return f"{self.group}: {self.label}" if self.group else self.label


@dataclasses.dataclass(frozen=True)
class Study:
    """A comparison: its title, the seed figure it re-creates and its variants."""

    name: str
    title: str
    seed_figure: str
    variants: tuple[Variant, ...]
    question: str
    seed_says: str = ""
    #: Full-scale rows (``fullscale.FULL_SCALE_ROWS`` keys) that carry the study's claim at the
    #: seed's scale; its page says what they reached.
    full_scale: tuple[str, ...] = ()


def _studies() -> dict[str, Study]:
    def each(field, values, fmt=str):
        return tuple(Variant(fmt(v), {field: v}) for v in values)

    models = SEED_MODEL_NAMES
    return {s.name: s for s in [
        Study("initialization", "Weight initialization", "Figure 11",
              (Variant("Xavier (Glorot uniform)", {"initializer": "xavier"}),
               Variant("He (normal)", {"initializer": "he"}),
               Variant("random normal (std 0.05)", {"initializer": "random", "init_std": 0.05})),
              "Which initialization trains our ConvNet best?",
              "Overall we can see He initializer performs better on this network."),
        Study("batchnorm_convnet", "Batch normalization on our ConvNet", "Figure 12",
              (Variant("without batch norm", {"batch_norm": False}),
               Variant("with batch norm", {"batch_norm": True})),
              "Does batch norm make our ConvNet learn faster and steady its validation loss?",
              "A network with batch normalization learns faster as compared to the network "
              "without it. [...] Without batch normalization, the loss constantly oscillates "
              "with huge margins especially in the initial iterations."),
        Study("dropout_convnet", "Dropout on our ConvNet", "Figure 13",
              (Variant("without dropout", {"dropout": 0.0}),
               Variant("dropout rate 0.2 (keep 0.8)", {"dropout": 0.2})),
              "Does dropout make the validation loss fall steadily?",
              "Validation loss on a network with dropouts follows a constant decreasing trend "
              "but without dropouts, it behaves randomly."),
        Study("layers", "Number of layers: the six models", "Figure 16",
              tuple(Variant(MODEL_TITLES[m], {"model": m}) for m in models),
              "Do deeper models learn faster and better?",
              "Though VGG-16 has more number of layers than our ConvNet, both the training and "
              "validation losses of the latter decreases more rapidly than VGG."),
        Study("kernel_size", "Kernel size on our ConvNet", "Figure 17",
              each("kernel_size", (3, 5, 7), lambda k: f"{k}x{k}"),
              "Which kernel size suits our ConvNet?",
              "For our ConvNet, 5x5 kernel gives better results. [...] We have also observed "
              "that a 3x3 kernel too gives good results. (A 7x7 filter may not capture the "
              "subtle details.)"),
        Study("learning_rate", "Learning rate on our ConvNet", "Figure 18",
              each("learning_rate", (1e-2, 1e-3, 1e-4, 1e-5), lambda v: f"lr {v:g}"),
              "Which learning rate works best?",
              "The learning rate of 0.0001 works best for our network."),
        Study("activation", "Activation functions on our ConvNet", "Figure 19",
              tuple(Variant(a, {"activation": a}, group="Xavier (the seed's default)")
                    for a in ("relu", "sigmoid", "tanh"))
              + tuple(Variant(a, {"activation": a, "initializer": "he"}, group="He")
                      for a in ("relu", "sigmoid", "tanh")),
              "Does ReLU beat sigmoid and tanh, with either initialization?",
              "ReLu activation function works best with CNN models as opposed to sigmoid or tanh."),
        Study("optimizer", "Optimization algorithms on our ConvNet", "Figure 20",
              (Variant("Adam", {"optimizer": "adam"}), Variant("RMSProp", {"optimizer": "rmsprop"}),
               Variant("SGD", {"optimizer": "sgd"}),
               Variant("SGD, lr 0.01", {"optimizer": "sgd", "learning_rate": 0.01}),
               Variant("SGD, lr 0.1", {"optimizer": "sgd", "learning_rate": 0.1}),
               Variant("SGD + momentum 0.9", {"optimizer": "momentum"})),
              "Do Adam and RMSProp work about equally well (and how far behind is SGD, given a "
              "learning rate of its own)?",
              "Both ADAM and RMSProp works equally well as optimization algorithm."),
        Study("batchnorm", "Batch normalization on every model", "Figure 21",
              tuple(Variant(label, {"model": m, "batch_norm": bn}, group=MODEL_TITLES[m])
                    for m in models for label, bn in (("without batch norm", False),
                                                      ("with batch norm", True))),
              "Does batch norm make training faster on every model?",
              "Batch normalization always makes training faster."),
        Study("dropout", "Dropout rates on our ConvNet", "Figure 22",
              each("dropout", (0.0, 0.2, 0.5), lambda r: f"dropout rate {r:g}"),
              "Does dropout make the network learn faster?",
              "Introducing dropouts makes the network learn faster as effective number of "
              "parameters decrease."),
        Study("augmentation", "Data augmentation on the VGG-like model and our ConvNet",
              "Figure 23",
              tuple(Variant(label, {"model": model, "augment": augment}, group=MODEL_TITLES[model])
                    for model in ("vgg_like", "convnet")
                    for label, augment in (
                        ("without augmentation", ()),
                        ("with augmentation (" + ", ".join(TRAINING_AUGMENTATION) + ")",
                         TRAINING_AUGMENTATION))),
              "Does augmentation improve the accuracy of the VGG-like model and of our ConvNet?",
              "All the models achieved a higher accuracy after using data augmentation.",
              full_scale=("vgg_bn_aug",)),
    ]}


STUDIES: dict[str, Study] = _studies()
def get_study(name: str) -> Study:
    """Return a study by name.

    Raises:
        ValueError: If the name is unknown; the message lists the studies.
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose from {', '.join(STUDIES)}.")
    return STUDIES[name]


@dataclasses.dataclass
class StudyResult:
    """The runs of a study: ``runs[variant.key]`` is the list of runs over seeds."""

    study: Study
    profile: Profile
    runs: dict[str, list[Run]]
    threshold: float

    def values(self, label: str, name: str) -> list[float | None]:
        """Per-seed values of a final metric (``None`` for diverged runs' accuracies)."""
        out = []
        for run in self.runs[label]:
            value = run.result.get(name)
            out.append(None if run.diverged and name.endswith("accuracy") else value)
        return out

    def curves(self, label: str, metric: str) -> np.ndarray:
        """Per-seed curves of a history metric, shape ``(seeds, epochs)``, NaN where missing."""
        epochs = self.profile.epochs
        out = np.full((len(self.runs[label]), epochs), np.nan)
        for i, run in enumerate(self.runs[label]):
            values = [np.nan if v is None else v for v in run.history.get(metric, [])][:epochs]
            out[i, :len(values)] = values
        return out

    def recorded(self) -> dict[str, int]:
        """How many runs came from records, by ``"recorded <date> on <machine>"``."""
        out: dict[str, int] = {}
        for runs in self.runs.values():
            for run in runs:
                if isinstance(run, records.RecordedRun):
                    out[run.recorded] = out.get(run.recorded, 0) + 1
        return out

    def table(self) -> pd.DataFrame:
        """One row per variant: accuracies (mean, spread), epochs to threshold, time, divergence."""
        rows = []
        for variant in self.study.variants:
            label = variant.key
            runs = self.runs[label]
            val = [v for v in self.values(label, "val_accuracy") if v is not None]
            test = [v for v in self.values(label, "test_accuracy") if v is not None]
            reach = [epochs_to_reach(r.history, self.threshold) for r in runs]
            diverged = sum(r.diverged for r in runs)
            chance = sum(not r.diverged and stayed_at_chance(r.history) for r in runs)
            row = {"group": variant.group} if variant.group else {}
            row.update({
                "variant": variant.label,
                "seeds": len(runs),
                "val accuracy": np.mean(val) if val else np.nan,
                "val spread": spread(val),
                "test accuracy": np.mean(test) if test else np.nan,
                "test spread": spread(test),
                f"epochs to {self.threshold:.0%} val": _describe_reach(reach),
                "val loss rises": np.mean([val_loss_rises(r.history) for r in runs]),
                "train seconds": np.mean([r["train_seconds"] for r in runs]),
                "diverged": f"{diverged}/{len(runs)}" if diverged else "",
                "at chance": f"{chance}/{len(runs)}" if chance else "",
            })
            rows.append(row)
        if not any(row["at chance"] for row in rows):  # the column only where a run did not learn
            for row in rows:
                del row["at chance"]
        index = ["group", "variant"] if "group" in rows[0] else "variant"
        table = pd.DataFrame(rows).set_index(index)
        return table.round({"val accuracy": 4, "val spread": 4, "test accuracy": 4,
                            "test spread": 4, "val loss rises": 1, "train seconds": 1})

    def observations(self) -> list[str]:
        """Sentences derived from the numbers (never written by hand)."""
        groups = {}
        for variant in self.study.variants:
            groups.setdefault(variant.group, []).append(variant.key)
        sentences = []
        for labels in groups.values():
            sentences += self._compare(labels)
        improving = []
        for variant in self.study.variants:
            gates = [g for g in (convergence(r.history) for r in self.runs[variant.key])
                     if g is not None]
            if gates and sum(g.still_improving for g in gates) * 2 > len(gates):
                falls = [g.fall for g in gates if g.still_improving and np.isfinite(g.fall)]
                improving.append(f"{variant.key} ({np.median(falls):.0%})" if falls
                                 else variant.key)
        if improving:
            sentences.append(
                "still improving at the last epoch (median fall of the validation loss below its "
                f"best earlier epoch, more than {CONVERGENCE_TOLERANCE:.0%}): "
                + "; ".join(improving) + ". Their final accuracies say where training stopped; "
                "the ledger calls claims resting on them not testable at this budget.")
        recorded = self.recorded()
        if recorded:
            total = sum(len(r) for r in self.runs.values())
            sentences.append(f"{sum(recorded.values())} of these {total} runs were read from "
                             "committed run records (records/), the run store lacking them: "
                             + "; ".join(f"{n} {where}" for where, n in recorded.items()) + ".")
        sentences += self.full_scale()
        seeds = {len(r) for r in self.runs.values()}
        sentences.append(
            f"Each variant ran with {', '.join(map(str, sorted(seeds)))} seed(s) on the "
            f"{self.profile.name} profile, paired by seed; a difference is called clear only when "
            "the 95% confidence interval of the per-seed differences excludes zero.")
        return sentences

    def full_scale(self) -> list[str]:
        """What the study's full-scale rows (run store or records) reached, or how to train them."""
        sentences = []
        for key in self.study.full_scale:
            title, target, whose = FULL_SCALE_ROWS[key]
            found = against_target(full_scale_table(), key)
            sentences.append(
                f"At the seed's full scale (not this profile): {title} reaches {found}; the ledger "
                f"judges the {whose}'s {target:.0%} on these runs (10_conclusions)." if found else
                f"At the seed's full scale, {title} has no run stored or recorded yet (train it: "
                f"`benchmarks/accuracy.py --rows {key}`); the ledger needs it to judge the "
                f"{whose}'s {target:.0%}.")
        return sentences

    def _compare(self, labels: list[str]) -> list[str]:
        """Sentences comparing variants (keys, which name their group) within one group."""
        sentences = []
        diverged = [label for label in labels if any(r.diverged for r in self.runs[label])]
        for label in diverged:
            runs = self.runs[label]
            count = sum(r.diverged for r in runs)
            epochs = sorted({r["diverged_epoch"] for r in runs if r.diverged})
            sentences.append(f"{label} diverged in {count} of {len(runs)} seed(s) "
                             f"(loss not finite at epoch {', '.join(map(str, epochs))}).")
        for label in labels:
            runs = self.runs[label]
            stuck = [r.config.seed for r in runs if not r.diverged and stayed_at_chance(r.history)]
            if stuck:
                sentences.append(
                    f"{label} did not learn in {len(stuck)} of {len(runs)} seed(s) (seed "
                    f"{', '.join(map(str, stuck))}: validation accuracy at chance, 10%, every "
                    "epoch, its loss finite); its mean and interval include them.")
        scored = [(np.mean([v for v in self.values(label, "val_accuracy") if v is not None]), label)
                  for label in labels if label not in diverged
                  or any(not r.diverged for r in self.runs[label])]
        if len(scored) < 2:
            return sentences
        scored.sort(reverse=True)
        best_score, best = scored[0]
        best_values = self.values(best, "val_accuracy")
        clear, unclear = [], []
        for score, label in scored[1:]:
            c = compare(best_values, self.values(label, "val_accuracy"))
            text = (f"{label} ({score:.1%}, {c.difference * 100:.2f} points behind"
                    + (f", 95% interval {c.low * 100:.2f} to {c.high * 100:.2f}"
                       if np.isfinite(c.low) else "") + ")")
            (clear if c.clear else unclear).append(text)
        sentences.append(f"highest final validation accuracy: {best} "
                         f"({best_score:.1%}, range {spread(best_values):.1%} over seeds).")
        if clear:
            sentences.append("clearly behind it: " + "; ".join(clear) + ".")
        if unclear:
            sentences.append("not clearly different from it (the interval of the paired "
                             "difference includes zero): " + "; ".join(unclear) + ".")
        # Speed: the early validation loss, averaged over seeds.
        first = {label: np.nanmean(self.curves(label, "val_loss")[:, 0]) for label in labels}
        finite = {k: v for k, v in first.items() if np.isfinite(v)}
        if len(finite) >= 2:
            fastest = min(finite, key=finite.get)
            sentences.append(f"lowest validation loss after the first epoch: {fastest} "
                             f"({finite[fastest]:.3f}; others "
                             + ", ".join(f"{k} {v:.3f}" for k, v in finite.items() if k != fastest)
                             + ").")
        return sentences


def _describe_reach(reach: list[int | None]) -> str:
    done = [r for r in reach if r is not None]
    if not done:
        return "not reached"
    text = f"{np.mean(done):.1f}"
    if len(done) < len(reach):
        text += f" ({len(reach) - len(done)} not reached)"
    return text


def study_configs(name: str, profile_name: str, *,
                  seeds: int | None = None) -> list[tuple[Variant, int, RunConfig]]:
    """The run configs of a study: every variant for every seed, in order.

    A variant equal to the baseline is the baseline's run (with its recorded extras); the
    others record none (recording them for every variant would cost about a fifth of the
    study's time).

    Args:
        name: The study.
        profile_name: The profile whose baseline the variants change.
        seeds: Seeds per variant (default: the profile's).

    Returns:
        ``(variant, seed, config)`` triples.

    Raises:
        ValueError: If the study, the profile or the seed count is invalid.
    """
    study = get_study(name)
    profile = get_profile(profile_name)
    seeds = profile.seeds if seeds is None else seeds
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    base = profile.baseline()
    out = []
    for variant in study.variants:
        for seed in range(seeds):
            config = base.replace(seed=seed, **variant.changes)
            if config.replace(seed=base.seed) != base:
                config = config.replace(record_epochs=())
            out.append((variant, seed, config))
    return out


def run_study(name: str, profile_name: str, *, seeds: int | None = None,
              threshold: float = 0.8, verbose: bool = True) -> StudyResult:
    """Train (or reuse, or read from its record) every variant of a study for every seed.

    Args:
        name: The study (see :data:`STUDIES`).
        profile_name: The profile whose baseline ConvNet the variants change.
        seeds: Seeds per variant (default: the profile's).
        threshold: Validation accuracy for the "epochs to reach" column.
        verbose: Print a line per epoch / reused run.

    Returns:
        The :class:`StudyResult`.

    Raises:
        ValueError: If the study, the profile or the seed count is invalid.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be an accuracy in (0, 1), got {threshold}.")
    study = get_study(name)
    profile = get_profile(profile_name)
    runs = {variant.key: [] for variant in study.variants}
    store = RunStore()
    for variant, seed, config in study_configs(name, profile_name, seeds=seeds):
        run = records.lookup(store, config) or train(config, store=store, verbose=False)
        runs[variant.key].append(run)
        if verbose:
            outcome = (f"DIVERGED at epoch {run['diverged_epoch']}" if run.diverged else
                       f"val accuracy {run['val_accuracy']:.3f}")
            how = ("read from its record" if isinstance(run, records.RecordedRun)
                   else "reused" if run.reused else "trained")
            progress.say(f"{variant.key}, seed {seed}: {how} {run.config.label} "
                         f"({run['train_seconds']:.0f} s of training), {outcome}")
    return StudyResult(study=study, profile=profile, runs=runs, threshold=threshold)
