"""Gathering the facts the claims ledger judges: per-seed numbers from the run store and the
sections' analyses, called exactly as the sections call them.

:func:`gather` trains or computes only what is not recorded yet (the results cache makes a full
build compute each analysis once). Facts are plain dicts of numbers and lists; the judges in
:mod:`fmnist_helpers.ledger.claims` are pure functions of them. A study's variants are keyed by
their config change (``runs.change_key``), never by their label.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from fmnist_helpers.analyses import attacks, embed, evaluate, explain, sanity
from fmnist_helpers.core.config import change_key
from fmnist_helpers.core.profiles import ACCURACY_THRESHOLDS, get_profile
from fmnist_helpers.core.provenance import describe_machine, machine
from fmnist_helpers.core.sections import analysis_arguments, get_section
from fmnist_helpers.core.stats import (
    CONVERGENCE_TOLERANCE,
    convergence,
    rise_fraction,
    stayed_at_chance,
    val_loss_rises,
)
from fmnist_helpers.ledger.claims import (
    judge_all,
    ledger_path,
    plain,
    read_verdicts,
    write_verdicts,
)
from fmnist_helpers.store import records
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.data import probe_set
from fmnist_helpers.study.fullscale import (
    FULL_SCALE_SEEDS,
    full_scale_configs,
    full_scale_counts,
    stored_test_accuracies,
)
from fmnist_helpers.study.plan import plan
from fmnist_helpers.study.studies import STUDIES, StudyResult, run_study
from fmnist_helpers.study.train import baseline_run


def ledger_directory() -> Path:
    """Where each profile's verdicts are kept for the other profiles' ledgers to compare with
    (``<run store>/results/ledgers``; see ``claims.save_ledger``)."""
    return RunStore().root / "results" / "ledgers"


def study_facts(result: StudyResult) -> dict:
    """The per-seed numbers of a study's variants, keyed by each variant's config change.

    Args:
        result: A trained study.

    Returns:
        ``{change key: {"label", "group", "changes", "test_accuracy", "val_accuracy",
        "epoch1_val_accuracy", "epoch1_val_loss", "val_loss_rises", "loss_rise_fraction",
        "convergence", "at_chance"}}``, in the study's order; the metrics are per-seed lists
        (``None`` for a diverged run's accuracies, or a measure the run did not record);
        ``at_chance`` is true for a seed that did not learn (``stats.stayed_at_chance``).
    """
    out = {}
    for variant in result.study.variants:
        key = variant.key
        runs = result.runs[key]
        out[change_key(variant.changes)] = {
            "label": key,
            "group": variant.group,
            "changes": dict(variant.changes),
            "test_accuracy": result.values(key, "test_accuracy"),
            "val_accuracy": result.values(key, "val_accuracy"),
            "epoch1_val_accuracy": [None if r.diverged else r.history["val_accuracy"][0]
                                    for r in runs],
            "epoch1_val_loss": [None if r.diverged else r.history["val_loss"][0] for r in runs],
            "val_loss_rises": [val_loss_rises(r.history) for r in runs],
            "loss_rise_fraction": [_rise_fraction(r) for r in runs],
            "convergence": [_convergence(r) for r in runs],
            "at_chance": [not r.diverged and stayed_at_chance(r.history) for r in runs],
        }
    return out


def _rise_fraction(run) -> float | None:
    windows = run.result.get("train_loss_windows")
    return None if windows is None else rise_fraction(windows)


def _convergence(run) -> dict | None:
    gate = convergence(run.history)
    return None if gate is None else dataclasses.asdict(gate)


def gather(profile_name: str, *, verbose: bool = False) -> dict:
    """Collect the facts the judges need for a profile.

    Runs come from the run store (trained first if missing, as in their sections) and analyses
    from the results cache, called with the sections' own parameters (from
    :mod:`fmnist_helpers.core.sections`), so a full build computes each once. Full-scale runs are
    only looked up, never trained.

    Args:
        profile_name: a name in ``profiles.PROFILES``.
        verbose: Print progress of studies being trained or reused.

    Returns:
        The facts dict (plain numbers and lists).

    Raises:
        ValueError: If the profile is unknown.
    """
    profile = get_profile(profile_name)
    store = RunStore()
    facts: dict = {"profile": profile.name, "seeds": profile.seeds, "epochs": profile.epochs,
                   "convergence_tolerance": CONVERGENCE_TOLERANCE, "studies": {}}
    for name in STUDIES:
        result = run_study(name, profile.name, threshold=ACCURACY_THRESHOLDS[profile.name],
                           verbose=verbose)
        facts["studies"][name] = study_facts(result)

    samples = get_section("00_data").parameters(profile)["comparison_samples"]
    logreg = evaluate.mnist_vs_fashion(samples)
    facts["mnist_logreg"] = {"samples": samples, **{d: list(logreg.loc[d, "folds"])
                                                    for d in ("MNIST", "Fashion-MNIST")}}

    tsne_samples = get_section("09_observations").parameters(profile)["tsne_samples"]
    maps = embed.dataset_draws(tsne_samples, profile.seeds)
    facts["tsne_datasets"] = {"samples": tsne_samples, **{
        d: [m.loc[d, "knn_accuracy"] for m in maps] for d in ("MNIST", "Fashion-MNIST")}}

    # Trained (or reused from the store), not read from records: the t-SNE tables need the probe
    # features each baseline kept, which records leave out, and the checks below need a model.
    baselines = [baseline_run(profile.name, seed=s, verbose=verbose) for s in range(profile.seeds)]
    visual = get_section("06_visualizations").parameters(profile)
    tables = embed.training_tables(baselines, points=visual["tsne_points"])
    facts["tsne_training"] = {"epochs": (int(tables[0]["epoch"].iloc[0]),
                                         int(tables[0]["epoch"].iloc[-1])),
                              "first": [t["knn_accuracy"].iloc[0] for t in tables],
                              "last": [t["knn_accuracy"].iloc[-1] for t in tables]}
    facts["baseline_convergence"] = [_convergence(run) for run in baselines]
    facts["loss_window_steps"] = baselines[0].result.get("loss_window_steps", "a few")
    tables = [explain.activation_sparsity(run) for run in baselines]
    means = [t.groupby("epoch")[["foreground_zero_fraction", "zero_fraction"]].mean()
             for t in tables]
    last_epoch = int(tables[0]["epoch"].max())
    facts["sparsity"] = {
        "epochs": (int(means[0].index[0]), int(means[0].index[-1])),
        "first": [m["foreground_zero_fraction"].iloc[0] for m in means],
        "last": [m["foreground_zero_fraction"].iloc[-1] for m in means],
        "all_first": [m["zero_fraction"].iloc[0] for m in means],
        "all_last": [m["zero_fraction"].iloc[-1] for m in means],
        "dead_last": [int(t.loc[t["epoch"] == last_epoch, "dead_filters"].sum()) for t in tables],
        "filters": int(tables[0].loc[tables[0]["epoch"] == last_epoch, "filters"].sum())}

    per_class = evaluate.per_class_accuracy(baselines)
    facts["classes"] = {"seeds": len(baselines)}
    for name, hardest in (("Shirt", True), ("Trouser", False)):
        ranking = evaluate.class_ranking(per_class, name, hardest=hardest)
        other = ranking["runner_up"] if ranking["extreme"] == name else ranking["extreme"]
        facts["classes"][name] = {"verdict": ranking["verdict"], "extreme": ranking["extreme"],
                                  "other": other,
                                  "comparison": dataclasses.asdict(ranking["comparison"])}

    model = baselines[0].load_model()
    _, images, _ = probe_set(baselines[0].config.probe_size)
    facts["sanity"] = {}
    for layer, methods in sanity.SANITY_TARGETS.items():
        scores, _ = sanity.sanity_check(model, images[:visual["sanity_images"]],
                                         methods=methods, layer=layer)
        facts["sanity"][layer] = sanity.sanity_verdict(scores)

    fooling = attacks.fooling_analysis(
        model, **analysis_arguments("07_fooling", profile, attacks.fooling_analysis))
    facts["fooling"] = {"targets": len(fooling.noise_info["success"]),
                        "reached": int(sum(fooling.noise_info["success"])),
                        "epsilon": get_section("07_fooling").parameters(profile)["epsilon"],
                        "pgd_success": float(fooling.table.loc["PGD untargeted", "success_rate"]),
                        "fgsm_success": float(fooling.table.loc["FGSM untargeted",
                                                                "success_rate"])}

    facts["full"] = {key: stored_test_accuracies(store, config, FULL_SCALE_SEEDS)
                     for key, config in full_scale_configs().items()}
    return facts


def grid_summary(profile_name: str, store: RunStore | None = None) -> dict:
    """What a profile's ledger rests on: its planned runs, where they come from, their training.

    Args:
        profile_name: The profile.
        store: The run store (default: ``RunStore()``).

    Returns:
        ``runs`` (planned), ``stored``, ``from_records``, ``missing``, ``train_seconds`` (summed
        over the runs found), ``first_finished`` / ``last_finished`` (UTC dates of the runs
        that recorded them), ``full_scale`` (runs found per full-scale row) and ``digest``
        (``records.digest`` of the runs found: ``plan.grid_digest`` recomputes it).
    """
    store = store or RunStore()
    planned_runs = plan(profile_name, store=store)
    found, from_records = [], 0
    for planned in planned_runs:
        run = records.lookup(store, planned.config)
        if run is not None:
            found.append(run)
            from_records += isinstance(run, records.RecordedRun)
    finished = sorted(_finished(run) for run in found)
    total = len(planned_runs)
    return {"runs": total, "stored": len(found) - from_records, "from_records": from_records,
            "missing": total - len(found),
            "train_seconds": round(sum(run.result.get("train_seconds") or 0 for run in found)),
            "first_finished": finished[0] if finished else None,
            "last_finished": finished[-1] if finished else None,
            "full_scale": full_scale_counts(store), "digest": records.digest(found)}


def _finished(run) -> str:
    """When a run finished (UTC, ISO 8601): its stamp, its record's date, else its entry's time."""
    if isinstance(run, records.RecordedRun):
        return run.provenance.get("date", "")
    return run.result.get("finished") or dt.datetime.fromtimestamp(
        (run.path / "result.json").stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")


def commit_verdicts(profile_name: str, directory: Path | None = None) -> Path:
    """Judge a profile's claims and commit its ledger with provenance (``records/ledgers``).

    Args:
        profile_name: The profile (the verdicts profile, normally).
        directory: Default ``records/ledgers``.

    Returns:
        The file written.

    Raises:
        ValueError: If the profile is unknown, or some of its runs are neither stored nor
            recorded (the ledger would train them: build or train the profile first).
    """
    grid = _complete_grid(profile_name)
    return write_verdicts(judge_all(gather(profile_name)), grid, directory)


def _complete_grid(profile_name: str) -> dict:
    """:func:`grid_summary`, refusing a grid with runs neither stored nor recorded."""
    grid = grid_summary(profile_name)
    if grid["missing"]:
        raise ValueError(f"{grid['missing']} of the {profile_name} profile's {grid['runs']} runs "
                         "are neither in the run store nor recorded: train them first "
                         f"(fmnist-report runs --profile {profile_name}).")
    return grid


#: The columns of a committed ledger that judging again must reproduce, on any machine: the
#: decision (Holm's column compared up to its adjusted p-value).
DECISION_COLUMNS = ("metric", "verdict", "seeds", "holm")
#: The columns holding the numbers: identical on the CPU model and versions that judged the
#: ledger (training is deterministic there); elsewhere the runs that need a model are trained again
#: and differ like another draw of them (measured 2026-12-01: the converged ledger, judged on an
#: Intel Xeon, judged again on an AMD EPYC with its 5 baselines retrained there: most numbers
#: moved, and 3 decisions -- claims 14 and 21 inconclusive -> not supported, claim 10's Holm).
NUMBER_COLUMNS = ("difference", "rules_out", "evidence")


@dataclasses.dataclass
class LedgerCheck:
    """What :func:`check_verdicts` found: whether the committed ledger held, and lines to print."""

    ok: bool
    lines: list[str]


def check_verdicts(profile_name: str, directory: Path | None = None) -> LedgerCheck:
    """Judge a profile's claims again, from its runs (stored, else recorded), and compare the
    result with its committed ledger: what a reader runs to check the committed verdicts.

    The runs that need a model (the baselines) are trained when the store lacks them. On the CPU
    model, TensorFlow and Keras versions that judged the ledger every checked column must be
    identical; elsewhere the decisions (:data:`DECISION_COLUMNS`) must be, and differing numbers
    are listed without failing the check.

    Args:
        profile_name: The profile whose committed ledger to check.
        directory: Where the committed ledgers are (default ``records/ledgers``).

    Returns:
        The :class:`LedgerCheck`: one line per difference (the runs' digest, or a claim's
        column: committed -> now), then a summary line.

    Raises:
        ValueError: If the profile has no committed ledger, or some of its runs are neither stored
            nor recorded.
    """
    committed = read_verdicts(profile_name, directory)
    if committed is None:
        raise ValueError(f"no committed ledger of the {profile_name} profile in "
                         f"{ledger_path(profile_name, directory)}; write one with "
                         f"fmnist-report records ledger --profile {profile_name}.")
    grid = _complete_grid(profile_name)
    judged = judge_all(gather(profile_name))
    here = machine()
    same = all(here.get(k) == committed.machine.get(k) for k in ("cpu", "tensorflow", "keras"))
    lines, failures = [], 0
    if grid["digest"] != committed.grid.get("digest"):
        lines.append(f"runs: the {grid['runs']} runs found now (digest {grid['digest']}) are not "
                     f"those judged (digest {committed.grid.get('digest')})")
        failures += same
    for number in committed.ledger.index:
        for column in DECISION_COLUMNS + NUMBER_COLUMNS:
            then, now = committed.ledger.loc[number, column], judged.loc[number, column]
            if _comparable(then) == _comparable(now):
                continue
            lines.append(f"claim {number} {column}: {_comparable(then)!r} -> {_comparable(now)!r}")
            failures += same or (column in DECISION_COLUMNS
                                 and _comparable(then, column) != _comparable(now, column))
    where = (f"on {describe_machine(here)}, the machine and versions that judged it" if same else
             f"on {describe_machine(here)}; it was judged on "
             f"{describe_machine(committed.machine)}: numbers may differ, decisions may not")
    lines.append(f"{failures} mismatch(es): the {profile_name} profile's committed ledger "
                 + ("does not match" if failures else "matches")
                 + f" a judgement again from its runs, {where}")
    return LedgerCheck(ok=not failures, lines=lines)


def _comparable(value, column: str | None = None):
    """A ledger cell as the committed JSON holds it (:func:`claims.plain`); Holm's column without
    its adjusted p-value when ``column`` is ``"holm"``."""
    value = plain(value)
    return value.split(" (")[0] if column == "holm" and isinstance(value, str) else value
