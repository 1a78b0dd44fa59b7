"""The profiles and the section registry: what each profile gives each section."""

from __future__ import annotations

import pytest

from fmnist_helpers import sections
from fmnist_helpers.core.profiles import PROFILES, get_profile


def test_profiles_are_ordered_by_scale_and_rejected_by_name():
    smoke, quick, converged, full = (get_profile(n)
                                     for n in ("smoke", "quick", "converged", "full"))
    assert smoke.train_size < quick.train_size < converged.train_size and full.train_size is None
    assert smoke.width < quick.width == converged.width < full.width == 1.0
    assert quick.epochs < converged.epochs and quick.seeds < converged.seeds == full.seeds == 5
    assert quick.baseline().record_epochs == quick.record_epochs
    assert quick.run_config(model="cnn1").model == "cnn1"
    with pytest.raises(ValueError,
                       match="unknown profile 'huge'; choose from smoke, quick, converged, full"):
        get_profile("huge")
    with pytest.raises(ValueError, match="unknown field"):
        quick.run_config(colour="red")


def test_every_section_has_jobs_for_every_profile():
    for profile in PROFILES.values():
        names = [job for section in sections.SECTIONS for job, _, _ in section.jobs(profile)]
        assert len(names) == len(set(names)) == 18
        for section in sections.SECTIONS:
            for _, _, parameters in section.jobs(profile):
                assert parameters["profile"] == profile.name


def test_experiment_jobs_and_titles():
    jobs = sections.get_section("08_experiments").jobs(get_profile("smoke"))
    assert [j[0] for j in jobs][:2] == ["08_experiments_layers", "08_experiments_kernel_size"]
    assert jobs[1][1] == "Experiments: kernel size" and jobs[1][2]["study"] == "kernel_size"
    assert sections.job_title("08_experiments_kernel_size") == "Experiments: kernel size"
    assert sections.job_title("02_convnet") == "Our ConvNet"


def test_job_names_are_checked_against_the_registry():
    assert sections.job_name("08_experiments", "dropout") == "08_experiments_dropout"
    with pytest.raises(ValueError, match="no study 'depth'"):
        sections.job_name("08_experiments", "depth")
    with pytest.raises(ValueError, match="unknown section '11_extra'"):
        sections.job_name("11_extra")


def test_analysis_arguments_are_the_sections_own_parameters():
    def analysis(model, *, epsilon, pgd_steps, robustness_images):
        return None

    smoke = get_profile("smoke")
    given = sections.analysis_arguments("07_fooling", smoke, analysis)
    assert given == {"epsilon": 0.1, "pgd_steps": 20, "robustness_images": 200}
    quick = sections.analysis_arguments("07_fooling", get_profile("quick"), analysis)
    assert quick["robustness_images"] == 500
