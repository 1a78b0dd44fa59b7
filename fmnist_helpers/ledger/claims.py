"""The seed report's claims, judged on our recorded runs (section 10).

Two steps keep the judging testable:

1. :func:`fmnist_helpers.ledger.evidence.gather` collects the *facts* of a profile -- per-seed
   numbers from the run store and the cached analyses of the other sections -- into a plain dict.
2. Each claim's judge (:mod:`fmnist_helpers.ledger.judges`) is a pure function ``facts -> Verdict``,
   by the rule of :mod:`fmnist_helpers.ledger.verdicts`. A judge finds a study's variant by its
   config change, never by its label, and a judge whose facts are missing raises (``KeyError``).

This module lists the claims with the metric each is judged on, judges them all, adjusts the
ledger's p-values by Holm's method, and keeps each profile's verdicts for the other profiles'
pages. The verdicts profile's ledger (:data:`fmnist_helpers.core.profiles.VERDICTS_PROFILE`) is
committed with its provenance (:func:`write_verdicts`, ``records/ledgers/<profile>.json``) so that
every report, whatever profile it is built with, shows it (:func:`read_verdicts`). No TensorFlow.

**The rule.** Every claim declares one metric (:attr:`Claim.metric`). A comparison is the mean
difference of that metric with its 95% confidence interval, paired by seed
(:func:`fmnist_helpers.core.stats.compare`); it is *clear* when the interval excludes 0. A claim
that one setting beats another is *supported* when every comparison it needs is clear in its favour,
*not supported* when one is clear against it, *equivalent* when the settings are shown to be
within a declared margin of each other (two one-sided tests, :func:`stats.equivalent`), and
*inconclusive* otherwise. A claim about the end of training (final accuracy) whose runs were still
improving at their last epoch (:func:`stats.convergence`) is *not testable at this budget*: the
verdict would be about where training stopped, not about the claim. Claims about learning speed
are judged at a declared point (the first epoch) instead. Across the ledger, the p-values of all
comparisons are adjusted by Holm's method; each row says whether its verdict holds after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fmnist_helpers.core.profiles import VERDICTS_PROFILE, get_profile
from fmnist_helpers.core.provenance import describe_machine, machine
from fmnist_helpers.core.sections import job_name
from fmnist_helpers.core.stats import holm
from fmnist_helpers.ledger.judges import (
    judge_adam_rmsprop,
    judge_augmentation,
    judge_batchnorm_convnet,
    judge_batchnorm_every_model,
    judge_classes,
    judge_convnet_accuracy,
    judge_deeper,
    judge_dropout_convnet,
    judge_dropout_faster,
    judge_fooling,
    judge_guided_backprop,
    judge_he,
    judge_kernel,
    judge_learning_rate,
    judge_mnist_clusters,
    judge_mnist_easier,
    judge_regularizers,
    judge_relu,
    judge_separable_over_training,
    judge_sparser,
    judge_vgg_best,
)
from fmnist_helpers.ledger.verdicts import (  # noqa: F401  (re-exported: the pages use them from here)
    ALPHA,
    EQUIVALENT,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SUPPORTED,
    VERDICT_COLORS,
    VERDICTS,
    Test,
    Verdict,
    best_is,
    deciding_test,
    rules_out,
)
from fmnist_helpers.store.records import records_dir
from fmnist_helpers.store.runs import write_json
from fmnist_helpers.study.fullscale import full_scale_counts


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the seed report, with the one metric it is judged on."""

    number: int
    seed_section: str
    claim: str
    seed_words: str
    section: str
    judge: Callable[[dict], Verdict]
    metric: str


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "§1.1",
          "MNIST is much easier than Fashion-MNIST (same classifier, same sample count).",
          "MNIST is too easy [...] even classic ML algorithms can achieve 97% [...] (Fashion "
          "MNIST) is a more challenging dataset", job_name("00_data"),
          judge_mnist_easier,
          'accuracy of logistic regression on raw pixels (5-fold cross-validation)'),
    Claim(2, "§11, Fig 26", "MNIST separates into clusters better than Fashion-MNIST in t-SNE.",
          "MNIST data is well clustered in just 400 epochs unlike Fashion-MNIST dataset.",
          job_name("09_observations"), judge_mnist_clusters,
          '5-NN accuracy in a raw-pixel t-SNE map (per draw)'),
    Claim(3, "§4", "Our ConvNet reaches 92.86% validation and 93.7% test accuracy.",
          "Best Validation Accuracy that we achieved was 92.86%. [...] test data gave a Kaggle "
          "Accuracy of 93.7%.", job_name("02_convnet"),
          judge_convnet_accuracy,
          "test accuracy at full scale vs the seed's 93.7%"),
    Claim(4, "§5", "He initialization beats Xavier and random on our ConvNet.",
          "Overall we can see He initializer performs better on this network.",
          job_name("03_initialization"), judge_he,
          'final test accuracy'),
    Claim(5, "§6", "Batch norm makes the ConvNet learn faster; without it validation loss "
          "oscillates.", "learns faster [...] without batch normalization, the loss constantly "
          "oscillates with huge margins", job_name("04_batchnorm"), judge_batchnorm_convnet,
          "validation accuracy after epoch 1; share of loss windows in which the training "
          "loss rose"),
    Claim(6, "§7", "With dropout validation loss falls steadily; without it, it does not.",
          "validation loss on a network with dropouts follows a constant decreasing trend but "
          "without dropouts, it behaves randomly", job_name("05_dropout"), judge_dropout_convnet,
          'epochs whose validation loss rose (needs ≥ 10 epochs)'),
    Claim(7, "§8.2", "Classes become more separable as training goes on.",
          "as we increase the number of epochs the data is getting clustered",
          job_name("06_visualizations"), judge_separable_over_training,
          '5-NN accuracy in a t-SNE map of penultimate features, first vs last recorded epoch'),
    Claim(8, "§8.3", "Guided backprop shows what a neuron detects.",
          "We can see interesting patterns that excites the neuron.", job_name("06_visualizations"),
          judge_guided_backprop,
          'survival of the map under weight randomization (Spearman), guided backprop vs gradient'),
    Claim(9, "§9", "A noise image can be driven to any chosen class; small perturbations make "
          "real images misclassified.", "you can intentionally force the neural network to "
          "predict the wrong output", job_name("07_fooling"), judge_fooling,
          "target classes reached from noise; PGD success rate at the page's epsilon"),
    Claim(10, "§10.2.1", "Deeper is not always better: the ConvNet's losses fall faster than the "
          "VGG-like model's.", "both the training and validation losses of the latter decreases "
          "more rapidly than VGG", job_name("08_experiments", "layers"), judge_deeper,
          'validation loss after epoch 1'),
    Claim(11, "§10.2.2", "5×5 kernels work best on the ConvNet, 3×3 nearly as well, 7×7 worse.",
          "For our ConvNet, 5x5 kernel gives better results [...] a 3x3 kernel too gives good "
          "results", job_name("08_experiments", "kernel_size"), judge_kernel,
          'final test accuracy'),
    Claim(12, "§10.2.3", "A learning rate of 1e-4 works best.",
          "The learning rate of 0.0001 works best for our network.",
          job_name("08_experiments", "learning_rate"), judge_learning_rate,
          'final test accuracy'),
    Claim(13, "§10.2.4", "ReLU works better than sigmoid or tanh.",
          "ReLu activation function works best with CNN models as opposed to sigmoid or tanh.",
          job_name("08_experiments", "activation"), judge_relu,
          'final test accuracy'),
    Claim(14, "§10.2.5", "Adam and RMSProp work about equally well.",
          "Both ADAM and RMSProp works equally well as optimization algorithm.",
          job_name("08_experiments", "optimizer"), judge_adam_rmsprop,
          'final test accuracy (equivalence margin ±1 point)'),
    Claim(15, "§10.2.6", "Batch norm makes training faster on every model.",
          "Batch normalization always makes training faster.",
          job_name("08_experiments", "batchnorm"),
          judge_batchnorm_every_model,
          'validation accuracy after epoch 1'),
    Claim(16, "§10.2.7", "Dropout makes the network learn faster.",
          "Introducing dropouts makes the network learn faster",
          job_name("08_experiments", "dropout"),
          judge_dropout_faster,
          'validation accuracy after epoch 1'),
    Claim(17, "§10.2.8, §12", "Augmentation improves every model's accuracy.",
          "All the models achieved a higher accuracy after using data augmentation.",
          job_name("08_experiments", "augmentation"), judge_augmentation,
          'final test accuracy'),
    Claim(18, "§11", "Shirt is the hardest class and Trouser the easiest.",
          "class 6 (Shirt) is hard to classify and class 1 (Trouser) is very easily classified",
          job_name("09_observations"), judge_classes,
          'final per-class test accuracy'),
    Claim(19, "§12", "The VGG-like model with batch norm and augmentation does best, at 94%.",
          "VGG Like Model With Batchnorm performed the best and achieved a accuracy of 94% using "
          "data augmentation.", job_name("08_experiments", "augmentation"), judge_vgg_best,
          "test accuracy at full scale vs the seed's 94%"),
    Claim(20, "§8.1", "Activations start dense and become sparser as training goes on.",
          "the activations usually start out looking relatively blobby and dense, but as the "
          "training progresses the activations usually become more sparse",
          job_name("06_visualizations"),
          judge_sparser,
          "zero fraction of conv activations on foreground positions, first vs last recorded "
          "epoch"),
    Claim(21, "§12", "Batch norm and dropout each make our ConvNet more accurate.",
          "Regularization techniques like batch-normalization, dropout, etc. achieves better "
          "accuracy.",
          job_name("04_batchnorm"), judge_regularizers,
          "final test accuracy"),
)


#: The facts whose lists hold one value per seed of the profile (``evidence.gather``); the
#: full-scale rows (``"full"``) hold one per full-scale seed. Leaving a seed out drops that
#: entry everywhere. Facts computed from seed 0's model only (sanity checks, fooling) or already
#: reduced over seeds (the class ranking's comparison) do not change with a left-out seed.
PER_SEED_FACTS = ("studies", "tsne_datasets", "tsne_training", "sparsity",
                  "baseline_convergence")


def leave_seed_out(facts: dict, seed: int) -> dict:
    """The facts without one seed: its entry dropped from every per-seed list
    (:data:`PER_SEED_FACTS`, and each full-scale row that has that seed).

    Args:
        facts: :func:`evidence.gather` output.
        seed: The position to drop (0 .. seeds - 1).

    Returns:
        A new facts dict (the input is not changed).
    """
    seeds = facts["seeds"]

    def drop(value, length):
        if isinstance(value, list) and len(value) == length:
            return [v for i, v in enumerate(value) if i != seed]
        if isinstance(value, dict):
            return {k: drop(v, length) for k, v in value.items()}
        return value

    out = dict(facts)
    for name in PER_SEED_FACTS:
        if name in out:
            out[name] = drop(out[name], seeds)
    out["full"] = {key: ([v for i, v in enumerate(values) if i != seed]
                         if values and len(values) > 2 and seed < len(values) else values)
                   for key, values in (facts.get("full") or {}).items()}
    return out


def _decision(row) -> tuple[str, bool]:
    return row["verdict"], str(row["holm"]).startswith("holds")


def stability(facts: dict, ledger: pd.DataFrame, *, alpha: float = ALPHA) -> dict[int, str]:
    """Judge the ledger again with each seed left out in turn (Holm's step with it); a claim
    whose verdict or Holm decision changes under any single left-out seed is *borderline*.

    Args:
        facts: The facts ``ledger`` was judged on.
        ledger: :func:`judge_all` output on ``facts``.
        alpha: Holm's family-wise error rate.

    Returns:
        ``{claim number: "stable" | "borderline (without seed k: verdict[, Holm ...])"}``;
        with fewer than 3 seeds every claim is ``"not checked (fewer than 3 seeds)"``.
    """
    if facts.get("seeds", 0) < 3:
        return {number: "not checked (fewer than 3 seeds)" for number in ledger.index}
    moved: dict[int, list[str]] = {}
    for seed in range(facts["seeds"]):
        again = judge_all(leave_seed_out(facts, seed), alpha=alpha, with_stability=False)
        for number, row in ledger.iterrows():
            verdict, holds = _decision(again.loc[number])
            if (verdict, holds) != _decision(row):
                change = verdict if verdict != row["verdict"] else (
                    "Holm holds" if holds else "not after Holm")
                moved.setdefault(number, []).append(f"without seed {seed}: {change}")
    return {number: ("borderline (" + "; ".join(moved[number]) + ")" if number in moved
                     else "stable") for number in ledger.index}


def judge_all(facts: dict, *, alpha: float = ALPHA,
              with_stability: bool = True) -> pd.DataFrame:
    """Judge every claim on the facts, and adjust the ledger's p-values by Holm's method.

    Args:
        facts: :func:`evidence.gather` output.
        alpha: The family-wise error rate of the Holm adjustment.

    Returns:
        The ledger: one row per claim, indexed by ``number``: ``seed_section``, ``claim``,
        ``seed_words``, ``metric``, ``verdict``, ``difference`` (the deciding test's
        difference and interval, in words: ``verdicts.deciding_test``), ``seeds`` (its ``n``),
        ``rules_out`` (for an inconclusive or untestable verdict, what its interval rules out
        and the difference its seeds would detect: ``verdicts.rules_out``; else ``""``),
        ``holm`` (whether the verdict holds after the adjustment, with the largest adjusted
        p-value of its decisive tests),
        ``evidence``, ``section``, ``profile`` and ``stability`` (:func:`stability`; left out
        when ``with_stability`` is false).

    Raises:
        KeyError: If a judge finds its facts missing (a study, a variant, an analysis): a
            renamed or removed variant must fail loudly, not downgrade a claim quietly.
    """
    verdicts = [(claim, claim.judge(facts)) for claim in CLAIMS]
    tests = [(i, t) for i, (_, v) in enumerate(verdicts) for t in v.tests]
    adjusted = holm([t.result.p_value for _, t in tests])
    by_claim: dict[int, list[tuple[Test, float]]] = {}
    for (i, test), p in zip(tests, adjusted):
        by_claim.setdefault(i, []).append((test, p))
    rows = []
    for i, (claim, verdict) in enumerate(verdicts):
        judged = by_claim.get(i, [])
        deciding = deciding_test(verdict)
        rows.append({"number": claim.number, "seed_section": claim.seed_section,
                     "claim": claim.claim, "seed_words": claim.seed_words,
                     "metric": claim.metric, "verdict": verdict.verdict,
                     "difference": f"{deciding.name}: {deciding.text()}" if deciding else "—",
                     "seeds": deciding.result.n if deciding else None,
                     "rules_out": (rules_out(deciding) if deciding and verdict.verdict in
                                   (INCONCLUSIVE, NOT_TESTABLE) else ""),
                     "holm": _holm_text(verdict, judged, alpha),
                     "evidence": verdict.evidence, "section": claim.section,
                     "profile": facts["profile"]})
    ledger = pd.DataFrame(rows).set_index("number")
    if with_stability:
        marks = stability(facts, ledger, alpha=alpha)
        ledger["stability"] = [marks[number] for number in ledger.index]
    return ledger



def _holm_text(verdict: Verdict, judged: list[tuple[Test, float]], alpha: float) -> str:
    """Whether a verdict's decisive tests stay significant after Holm's adjustment."""
    decisive = [p for t, p in judged if t.decisive and np.isfinite(p)]
    if verdict.verdict in (INCONCLUSIVE, NOT_TESTABLE) or not decisive:
        return "—"
    worst = max(decisive)
    return (f"holds (adjusted p = {worst:.2g})" if worst < alpha
            else f"not after adjustment (adjusted p = {worst:.2g})")


def summary_line(ledger: pd.DataFrame, profile_name: str) -> str:
    """E.g. ``"7 supported, 2 not supported, 1 equivalent, ... — quick profile"``."""
    counts = ledger["verdict"].value_counts()
    marks = ledger.get("stability", pd.Series(dtype=str)).astype(str)
    borderline = int(marks.str.startswith("borderline").sum())
    checked = int((marks.str.startswith("borderline") | (marks == "stable")).sum())
    stability_text = (f" ({borderline} of {checked} borderline: a verdict or Holm decision "
                      "moves when one seed is left out)" if checked else "")
    return (", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS) + stability_text
            + f" — {profile_name} profile")


def save_ledger(ledger: pd.DataFrame, directory: Path) -> Path:
    """Keep a profile's verdicts (``ledger-<profile>.json``) for the other profiles' pages.

    Returns:
        The file written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    profile = str(ledger["profile"].iloc[0])
    path = directory / f"ledger-{profile}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({str(n): v for n, v in ledger["verdict"].items()}, indent=1))
    tmp.replace(path)
    return path


def other_verdicts(ledger: pd.DataFrame, directory: Path) -> dict[int, dict[str, str]]:
    """Verdicts of the other profiles' saved ledgers that differ from this ledger's.

    Returns:
        ``{claim number: {profile: verdict}}`` for every claim whose verdict differs on a
        profile whose ledger was saved in ``directory`` (missing profiles are left out).
    """
    profile = str(ledger["profile"].iloc[0])
    out: dict[int, dict[str, str]] = {}
    for path in sorted(Path(directory).glob("ledger-*.json")):
        other = path.stem.removeprefix("ledger-")
        if other == profile:
            continue
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for number, verdict in ledger["verdict"].items():
            theirs = saved.get(str(number))
            if theirs is not None and theirs != verdict:
                out.setdefault(int(number), {})[other] = theirs
    return out


def conclusion(ledger: pd.DataFrame, profile_name: str,
               verdicts: CommittedLedger | None = None) -> list[str]:
    """A short conclusion generated from the verdicts: the committed verdicts profile's ledger
    if there is one (then a line on where this build's ledger differs), else this build's.

    Args:
        ledger: This build's ledger.
        profile_name: This build's profile.
        verdicts: :func:`read_verdicts` output.

    Returns:
        Sentences.
    """
    if verdicts is not None and verdicts.profile != profile_name:
        differ = differences(verdicts.ledger, ledger)
        lines = conclusion(verdicts.ledger, verdicts.profile)
        lines.append(
            f"On this build's {profile_name} profile, " + (
                "; ".join(f"({n}) {verdicts.ledger.loc[n, 'verdict']} on {verdicts.profile}, "
                          f"{v} here" for n, v in differ.items())
                if differ else "every verdict is the same") + ".")
        return lines
    def listing(verdict):
        rows = ledger[ledger["verdict"] == verdict]
        return ("; ".join(f"({n}) {c.rstrip('.')}" for n, c in zip(rows.index, rows["claim"]))
                or "none")

    return [(f"Of the seed report's {len(ledger)} claims, on the {profile_name} profile: "
            f"{summary_line(ledger, profile_name).split(' — ')[0]}."),
            f"Supported: {listing(SUPPORTED)}",
            f"Not supported: {listing(NOT_SUPPORTED)}",
            f"Equivalent (shown to be within the declared margin): {listing(EQUIVALENT)}",
            (f"Inconclusive (the 95% interval includes no difference and no equivalence, or "
             f"too few seeds): {listing(INCONCLUSIVE)}"),
            (f"Not testable at this budget (the runs were still improving at their last epoch, "
             f"or too few epochs to measure): {listing(NOT_TESTABLE)}"),
            _budget_sentence(profile_name)]


def _budget_sentence(profile_name: str) -> str:
    if profile_name == "full":
        return "These verdicts rest on the seed's scale (full profile)."
    p = get_profile(profile_name)
    images = "all 54,000" if p.train_size is None else f"{p.train_size:,}"
    return (f"A verdict is about its profile's runs: a {profile_name}-profile verdict says what "
            f"{images} training images, models at width ×{p.width:g} and {p.epochs} epochs "
            f"({p.seeds} seeds) show, not what the seed's full-scale runs would.")


LEDGER_FORMAT = 1
_ROW_FIELDS = ("seed_section", "claim", "seed_words", "metric", "verdict", "difference", "seeds",
               "rules_out", "holm", "stability", "evidence", "section", "profile")


@dataclasses.dataclass(frozen=True)
class CommittedLedger:
    """A profile's ledger as committed under ``records/ledgers/``, with its provenance.

    Attributes:
        ledger: The rows, as :func:`judge_all` returns them.
        profile: The profile's name.
        settings: The profile's settings when it was judged (``Profile.summary``).
        judged: When the ledger was judged (UTC, ISO 8601).
        machine: Where (``provenance.machine``: CPU, cores, GPUs, versions, lock file hash).
        grid: The runs it rests on: ``runs``, ``from_records``, ``train_seconds`` (summed over
            runs), ``first_finished``, ``last_finished`` and ``full_scale`` (runs found per
            full-scale row, which the full-scale claims are judged on).
        path: The file it was read from.
    """

    ledger: pd.DataFrame
    profile: str
    settings: dict
    judged: str
    machine: dict
    grid: dict
    path: Path

    @property
    def stale(self) -> bool:
        """Whether the profile's settings have changed since the ledger was judged."""
        now = json.loads(json.dumps(get_profile(self.profile).summary()))
        return now != self.settings

    @property
    def full_scale_changed(self) -> list[str]:
        """Full-scale rows whose runs (stored or recorded) differ in number from the judged ones.

        The full-scale claims rest on those runs, which train apart from the profile's grid.
        """
        judged = self.grid.get("full_scale")
        if judged is None:
            return []
        now = full_scale_counts()
        # Rows added after the ledger was judged (e.g. ``speedrun``) carry no claim it judged.
        return [key for key, count in now.items() if key in judged and count != judged[key]]

    def _trained_when(self) -> str:
        """When the ledger's runs finished: 'on DATE' or 'DATE to DATE'."""
        first, last = ((self.grid.get(end) or "?")[:10] for end in ("first_finished",
                                                                    "last_finished"))
        return f"on {first}" if first == last else f"{first} to {last}"

    def describe(self) -> str:
        """One line of provenance, for the pages and the index."""
        s = self.settings
        images = "all 54,000" if s.get("train_size") is None else f"{s['train_size']:,}"
        return (f"{self.profile} profile ({s.get('seeds')} seeds; {images} training images, "
                f"width ×{s.get('width')}, {s.get('epochs')} epochs, batch {s.get('batch_size')}, "
                f"Adam {s.get('learning_rate')}): {self.grid.get('runs')} runs trained "
                f"{self._trained_when()}, judged {self.judged[:10]} on "
                f"{describe_machine(self.machine)} (Python {self.machine.get('python')}, "
                f"TensorFlow {self.machine.get('tensorflow')}, Keras {self.machine.get('keras')}, "
                f"lock file {self.machine.get('lock')})")


def ledger_path(profile_name: str = VERDICTS_PROFILE, directory: Path | None = None) -> Path:
    """``<records>/ledgers/<profile>.json``."""
    return Path(directory or records_dir() / "ledgers") / f"{profile_name}.json"


def write_verdicts(ledger: pd.DataFrame, grid: dict, directory: Path | None = None) -> Path:
    """Commit a profile's ledger with its provenance (see :class:`CommittedLedger`).

    Args:
        ledger: :func:`judge_all` output.
        grid: What the ledger rests on (see :attr:`CommittedLedger.grid`).
        directory: Default ``records/ledgers``.

    Returns:
        The file written.
    """
    profile = str(ledger["profile"].iloc[0])
    rows = [{"number": int(number), **{name: plain(row[name]) for name in _ROW_FIELDS}}
            for number, row in ledger.iterrows()]
    for row in rows:
        row["seeds"] = None if row["seeds"] is None else int(row["seeds"])
    data = {"format": LEDGER_FORMAT, "profile": profile, "settings": get_profile(profile).summary(),
            "judged": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "grid": grid, "rows": rows}
    path = ledger_path(profile, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    return path


def plain(value):
    """A ledger cell as the committed JSON holds it.

    Args:
        value: A cell of :func:`judge_all`'s ledger.

    Returns:
        ``None`` for a missing or non-finite number, a Python scalar for a numpy one, else it.
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def read_verdicts(profile_name: str = VERDICTS_PROFILE,
                  directory: Path | None = None) -> CommittedLedger | None:
    """The committed ledger of a profile, or ``None`` if none is committed.

    Raises:
        ValueError: If the file is not a ledger of this format, or names claims this code
            does not have (a claim renamed or removed since: judge the profile again).
    """
    path = ledger_path(profile_name, directory)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        frame = pd.DataFrame(data["rows"]).set_index("number")
        if "rules_out" not in frame:  # judged before inconclusive rows said what they rule out
            frame["rules_out"] = ""
        if "stability" not in frame:  # judged before verdicts carried a stability mark
            frame["stability"] = "not checked (judged before the stability mark)"
        ledger = frame[list(_ROW_FIELDS)]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a committed ledger ({type(error).__name__}: {error}); "
                         f"write it again with fmnist-report records ledger.") from None
    if data.get("format") != LEDGER_FORMAT:
        raise ValueError(f"{path} has format {data.get('format')}, this code reads "
                         f"{LEDGER_FORMAT}; write it again with fmnist-report records ledger.")
    known = {claim.number for claim in CLAIMS}
    if set(ledger.index) != known:
        raise ValueError(f"{path} judges claims {sorted(set(ledger.index) ^ known)} that this "
                         "code's ledger does not have in common with it; judge the profile "
                         "again (fmnist-report records ledger).")
    ledger = ledger.loc[[claim.number for claim in CLAIMS]]
    return CommittedLedger(ledger=ledger, profile=data["profile"], settings=data["settings"],
                           judged=data["judged"], machine=data["machine"], grid=data["grid"],
                           path=path)


def differences(ledger: pd.DataFrame, other: pd.DataFrame) -> dict[int, str]:
    """``{claim number: the other ledger's verdict}`` where the two verdicts differ."""
    return {int(n): other.loc[n, "verdict"] for n in ledger.index
            if n in other.index and other.loc[n, "verdict"] != ledger.loc[n, "verdict"]}


def side_by_side(verdicts: CommittedLedger | None, ledger: pd.DataFrame,
                 profile_name: str) -> dict[str, pd.DataFrame]:
    """The ledgers to show side by side: the committed verdicts (when there are, and they are
    another profile's) then this build's, keyed by column heading."""
    out = {}
    if verdicts is not None and verdicts.profile != profile_name:
        out[f"{verdicts.profile}: the verdicts"] = verdicts.ledger
    out[f"this build: {profile_name}"] = ledger
    return out
