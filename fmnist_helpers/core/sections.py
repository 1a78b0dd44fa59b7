"""The report's sections, in one registry: name, title, notebook and the parameters per profile.

A section is one notebook. Most are executed once per build; the experiments section is executed
once per study (a *job* each, named ``08_experiments_<study>``). The build (``report``), the
claims ledger (which names the section that shows each claim's evidence and calls the sections'
analyses with the same parameters) and the tests all read this registry.

Imports no TensorFlow: it is data about the report.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from fmnist_helpers.core.profiles import ACCURACY_THRESHOLDS, Profile, get_profile


@dataclasses.dataclass(frozen=True)
class Section:
    """One report section.

    Attributes:
        name: The notebook's name without ``.ipynb``, e.g. ``"02_convnet"``.
        title: The section's title in the index.
        settings: ``profile -> {parameter: value}``: what the profile gives the notebook besides
            ``profile`` (the quick profile's values equal the notebook's defaults; a test checks).
        studies: For a section executed once per study: the studies, in order (each job gets a
            ``study`` parameter).
        needs: The training runs the section reads, for the planner (``plan.py``):
            ``"baseline"`` (the profile's baseline, seed 0), ``"baselines"`` (all its seeds),
            ``"study:<name>"`` (every variant x seed of a study), ``"studies"`` (the section's
            own studies), ``"all"`` (every other section's runs).
    """

    name: str
    title: str
    settings: Callable[[Profile], dict[str, Any]] = lambda profile: {}
    studies: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        """The notebook's file name."""
        return f"{self.name}.ipynb"

    def parameters(self, profile: Profile) -> dict[str, Any]:
        """The parameters of the section's (first) job: ``profile`` and the settings."""
        return {"profile": profile.name, **self.settings(profile)}

    def jobs(self, profile: Profile) -> list[tuple[str, str, dict[str, Any]]]:
        """The section's executions.

        Returns:
            ``(job name, title, parameters)`` per job, in order.
        """
        parameters = self.parameters(profile)
        if not self.studies:
            return [(self.name, self.title, parameters)]
        return [(job_name(self.name, study), f"{self.title}: {study.replace('_', ' ')}",
                 {**parameters, "study": study}) for study in self.studies]


def _study_settings(profile: Profile) -> dict[str, Any]:
    return {"seeds": profile.seeds, "accuracy_threshold": ACCURACY_THRESHOLDS[profile.name]}


def _fooling_settings(profile: Profile) -> dict[str, Any]:
    attack_images = 200 if profile.name == "smoke" else 1000
    return {"attack_images": attack_images, "epsilon": 0.1, "pgd_steps": 20, "noise_seed": 0,
            "robustness_images": min(500, attack_images),
            "robustness_epsilons": [0, 0.02, 0.05, 0.1, 0.2], "robustness_steps": 5,
            "shown": 5}


#: The studies of the experiments section (08), in the seed's order.
EXPERIMENT_STUDIES = ("layers", "kernel_size", "learning_rate", "activation", "optimizer",
                      "batchnorm", "dropout", "augmentation")

SECTIONS: tuple[Section, ...] = (
    Section("00_data", "Know your data", lambda p: {
        "samples_per_class": 10,
        "comparison_samples": 1000 if p.name == "smoke" else 5000}),
    Section("01_augmentation", "Data augmentation", lambda p: {
        "first_class": 0, "images_shown": 5,
        "throughput_images": 1000 if p.name == "smoke" else 4000}, needs=("baseline",)),
    Section("02_convnet", "Our ConvNet", needs=("baseline",)),
    Section("03_initialization", "Weight initialization", _study_settings,
            needs=("study:initialization",)),
    Section("04_batchnorm", "Batch normalization", _study_settings,
            needs=("study:batchnorm_convnet",)),
    Section("05_dropout", "Dropout", _study_settings, needs=("study:dropout_convnet",)),
    Section("06_visualizations", "Seeing inside the network", lambda p: {
        "image_class": 9, "guided_layer": "conv4", "guided_channels": 10, "guided_seed": 0,
        "sanity_images": 3 if p.name == "smoke" else 10, "tsne_points": p.probe_size,
        "seeds": p.seeds}, needs=("baselines",)),
    Section("07_fooling", "Fooling the network", _fooling_settings, needs=("baseline",)),
    Section("08_experiments", "Experiments", _study_settings, studies=EXPERIMENT_STUDIES,
            needs=("studies",)),
    Section("09_observations", "Observations", lambda p: {
        "seeds": p.seeds, "shown": 8, "tsne_samples": 300 if p.name == "smoke" else 2000},
        needs=("baselines",)),
    Section("10_conclusions", "Conclusions: the seed's claims, judged", needs=("all",)),
)
SECTION_NAMES = tuple(section.name for section in SECTIONS)


def get_section(name: str) -> Section:
    """Return a section by name.

    Raises:
        ValueError: If no section has that name; the message lists them.
    """
    for section in SECTIONS:
        if section.name == name:
            return section
    raise ValueError(f"unknown section {name!r}; the sections are {', '.join(SECTION_NAMES)}.")


def job_name(section: str, study: str | None = None) -> str:
    """The name of a section's job (and of its HTML page), checked against the registry.

    Args:
        section: A section name.
        study: For a section executed per study, the study.

    Returns:
        ``section`` or ``section_study``.

    Raises:
        ValueError: If the section is unknown, or the study is not one of its studies.
    """
    known = get_section(section)
    if study is None:
        return section
    if study not in known.studies:
        raise ValueError(f"section {section} has no study {study!r}; its studies are "
                         f"{', '.join(known.studies) or 'none'}.")
    return f"{section}_{study}"


def job_title(name: str) -> str:
    """The index title of a job name (``08_experiments_layers`` -> "Experiments: layers").

    Raises:
        ValueError: If the name is no job of any section.
    """
    for section in SECTIONS:
        for job, title, _ in section.jobs(get_profile("quick")):
            if job == name:
                return title
    raise ValueError(f"unknown report page {name!r}.")


def analysis_arguments(section: str, profile: Profile, function: Callable) -> dict[str, Any]:
    """The section's parameters that ``function`` takes, to call it as the notebook does.

    The claims ledger recomputes (or finds cached) what a section shows by calling the section's
    analysis function with the section's own parameters, so no argument is copied by hand.

    Args:
        section: A section name.
        profile: The profile.
        function: The analysis, e.g. ``attacks.fooling_analysis``.

    Returns:
        ``{name: value}`` for every keyword parameter of ``function`` the section sets.
    """
    accepted = inspect.signature(function).parameters
    return {name: value for name, value in get_section(section).parameters(profile).items()
            if name in accepted}
