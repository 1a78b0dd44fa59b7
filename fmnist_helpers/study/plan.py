"""The run grid of a build, planned from the section registry: which runs, stored or missing, and
what the missing ones will cost.

Each section declares the runs it reads (``Section.needs``); :func:`plan` resolves them for a
profile -- the baseline and its seeds, every study's variants x seeds (``studies.study_configs``,
the same configs the notebooks train) and, on request, the full-scale rows of
``benchmarks/accuracy.py`` -- without executing a notebook. The cost of a missing run is estimated
from the images/s that stored runs of similar configs measured on this machine. A run the store
lacks but the committed records hold (``records/``) is not trained when every section reading it
needs only its numbers (the studies); a section that needs the model (the baselines) trains it.
"""

from __future__ import annotations

import dataclasses
import statistics

from fmnist_helpers.core.config import RunConfig
from fmnist_helpers.core.profiles import get_profile
from fmnist_helpers.core.sections import SECTION_NAMES, get_section
from fmnist_helpers.store import records
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.fullscale import full_scale_configs
from fmnist_helpers.study.studies import study_configs

#: The full-scale headline rows (``benchmarks/accuracy.py``): planned only when named.
ACCURACY = "accuracy"
#: Seeds per full-scale row that the benchmark trains.
ACCURACY_SEEDS = 3


@dataclasses.dataclass
class PlannedRun:
    """One run of the grid.

    Attributes:
        config: The run's config.
        sections: The sections (jobs) that read it.
        stored: Whether the run store holds it complete.
        estimate: Estimated training seconds if missing (``None``: nothing similar measured).
        recorded: Whether, missing from the store, it is read from its committed record
            instead of trained (only runs no section needs the model of).
    """

    config: RunConfig
    sections: list[str]
    stored: bool
    estimate: float | None = None
    recorded: bool = False

    @property
    def missing(self) -> bool:
        """Whether the run must be trained: neither stored nor read from a record."""
        return not self.stored and not self.recorded

    def describe(self, profile_name: str) -> str:
        """What the run changes from the profile's baseline, e.g. ``"optimizer=sgd, seed 2"``."""
        base = get_profile(profile_name).baseline().to_dict()
        own = self.config.to_dict()
        changed = [f"{k}={_short(v)}" for k, v in own.items()
                   if k not in ("seed", "record_epochs") and base.get(k) != v]
        return ", ".join(changed + [f"seed {self.config.seed}"]) if changed else (
            f"baseline, seed {self.config.seed}")

    def as_dict(self) -> dict:
        """JSON-ready: key, label, sections, stored, estimated seconds."""
        return {"key": self.config.key, "label": self.config.label,
                "sections": self.sections, "stored": self.stored, "recorded": self.recorded,
                "estimated_seconds": None if self.estimate is None else round(self.estimate)}


def _short(value) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _resolve(need: str, profile_name: str, studies: tuple[str, ...]) -> list[RunConfig]:
    profile = get_profile(profile_name)
    if need == "baseline":
        return [profile.baseline()]
    if need == "baselines":
        return [profile.baseline().replace(seed=s) for s in range(profile.seeds)]
    if need == "studies":
        return [c for name in studies for c in _resolve(f"study:{name}", profile_name, ())]
    if need.startswith("study:"):
        return [config for _, _, config in study_configs(need.removeprefix("study:"),
                                                         profile_name)]
    raise ValueError(f"unknown run need {need!r} in the section registry.")


def model_runs(name: str, profile_name: str) -> list[RunConfig]:
    """The runs whose model a section (or ``"accuracy"``) loads: the baselines (a record,
    holding no model, cannot stand in for them).

    Raises:
        ValueError: If the section or the profile is unknown.
    """
    if name == ACCURACY:
        return []
    section = get_section(name)
    if "all" in section.needs:
        return [c for other in SECTION_NAMES if other != name
                for c in model_runs(other, profile_name)]
    return [c for need in section.needs if need in ("baseline", "baselines")
            for c in _resolve(need, profile_name, section.studies)]


def section_runs(name: str, profile_name: str) -> list[RunConfig]:
    """The runs one section (or ``"accuracy"``) reads, for a profile.

    Raises:
        ValueError: If the section or the profile is unknown.
    """
    if name == ACCURACY:
        return [config.replace(seed=s) for config in full_scale_configs().values()
                for s in range(ACCURACY_SEEDS)]
    section = get_section(name)
    if "all" in section.needs:
        return [c for other in SECTION_NAMES if other != name
                for c in section_runs(other, profile_name)]
    return [c for need in section.needs for c in _resolve(need, profile_name, section.studies)]


def plan(profile_name: str, sections: list[str] | None = None, *,
         store: RunStore | None = None) -> list[PlannedRun]:
    """Every distinct run the sections need, in the order they first need it.

    Args:
        profile_name: The profile.
        sections: Section names (and/or ``"accuracy"``); default: every section.
        store: The run store (default: ``RunStore()``).

    Returns:
        One :class:`PlannedRun` per distinct config, with stored/missing and an estimate.

    Raises:
        ValueError: If a section or the profile is unknown.
    """
    get_profile(profile_name)
    store = store or RunStore()
    names = list(sections or SECTION_NAMES)
    for name in names:
        if name != ACCURACY and name not in SECTION_NAMES:
            raise ValueError(f"unknown section {name!r}; choose from "
                             f"{', '.join(SECTION_NAMES + (ACCURACY,))}.")
    runs: dict[str, PlannedRun] = {}
    for name in names:
        for config in section_runs(name, profile_name):
            entry = runs.get(config.key)
            if entry is None:
                runs[config.key] = PlannedRun(config, [name], False)
            elif name not in entry.sections:
                entry.sections.append(name)
    measured = _measured(store)
    models = {c.key for name in names for c in model_runs(name, profile_name)}
    for entry in runs.values():
        entry.stored = store.get(entry.config) is not None
        entry.recorded = (not entry.stored and entry.config.key not in models
                          and records.find(entry.config) is not None)
        if entry.missing:
            entry.estimate = estimate_seconds(entry.config, measured)
    return list(runs.values())


def grid_digest(profile_name: str, store: RunStore | None = None) -> str:
    """The digest (``records.digest``) of the runs a profile's build would read now.

    Each planned run is the store's, else its committed record; a run found in neither is left
    out (so a missing run changes the digest too).

    Args:
        profile_name: The profile.
        store: The run store (default: ``RunStore()``).

    Returns:
        16 hex digits.

    Raises:
        ValueError: If the profile is unknown.
    """
    store = store or RunStore()
    found = [records.lookup(store, planned.config) for planned in plan(profile_name, store=store)]
    return records.digest([run for run in found if run is not None])


def _measured(store: RunStore) -> list[tuple[RunConfig, float]]:
    """(config, images/s) of every stored run that trained (not diverged)."""
    out = []
    for run in store.runs():
        ips = run.result.get("images_per_second")
        if ips and not run.diverged:
            out.append((run.config, float(ips)))
    return out


def estimate_seconds(config: RunConfig, measured: list[tuple[RunConfig, float]]) -> float | None:
    """Training seconds of a config from the median images/s of the most similar stored runs:
    same model, width, batch size and augmentation; else same model and width; else none.

    Args:
        config: The run to estimate.
        measured: ``(config, images/s)`` of stored runs.

    Returns:
        Seconds, or ``None`` when no stored run is similar enough.
    """
    images = (config.train_size or 54_000) * config.epochs
    for same in (lambda c: (c.model, c.width, c.batch_size, c.augment, c.batch_norm)
                 == (config.model, config.width, config.batch_size, config.augment,
                     config.batch_norm),
                 lambda c: (c.model, c.width) == (config.model, config.width)):
        rates = [ips for c, ips in measured if same(c)]
        if rates:
            return images / statistics.median(rates)
    return None


def summary(runs: list[PlannedRun]) -> str:
    """One line: runs, stored, read from records, missing and the estimated training time of
    the missing."""
    missing = [r for r in runs if r.missing]
    recorded = sum(r.recorded for r in runs)
    known = [r.estimate for r in missing if r.estimate is not None]
    text = (f"{len(runs)} runs: {len(runs) - len(missing) - recorded} stored, "
            + (f"{recorded} read from records, " if recorded else "") + f"{len(missing)} missing")
    if missing:
        text += (f"; about {sum(known) / 60:.0f} min of training" if known else
                 "; no stored run to estimate their time from")
        if known and len(known) < len(missing):
            text += f" for {len(known)} of them (the others: nothing similar measured yet)"
    return text
