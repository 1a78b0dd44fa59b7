"""The facts of a real smoke build: every judge finds its evidence among the real studies."""

from __future__ import annotations

import pytest

from fmnist_helpers import claims, evidence
from fmnist_helpers.core.config import change_key
from fmnist_helpers.study.studies import STUDIES


@pytest.mark.slow
def test_facts_of_a_smoke_build_leave_no_judge_without_evidence(smoke_site, monkeypatch):
    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(site.parent / "runs"))
    facts = evidence.gather("smoke")
    for name, study in STUDIES.items():  # every variant is found by its config change
        assert list(facts["studies"][name]) == [change_key(v.changes) for v in study.variants]
    ledger = claims.judge_all(facts)  # raises KeyError if a judge lacks a fact
    assert list(ledger.index) == list(range(1, 22))
    assert set(ledger["verdict"]) <= set(claims.VERDICTS) and len(claims.VERDICTS) == 5
    assert ledger["metric"].str.len().min() > 5 and ledger["profile"].eq("smoke").all()
    assert not ledger["evidence"].str.contains("missing evidence").any()
    # The ledger the build rendered is the one these facts give (same analyses, same arguments).
    page = (site / "10_conclusions.html").read_text()
    for number, row in ledger.iterrows():
        assert f">{number}</td>" in page and row["verdict"] in page


@pytest.mark.slow
def test_numbers_shown_on_a_page_and_in_the_ledger_are_the_same(smoke_site, monkeypatch):
    """One source per number: the separability the pages print over seeds is the one the ledger
    judges (same cached analyses, same arguments)."""
    import re

    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(site.parent / "runs"))
    ledger = claims.judge_all(evidence.gather("smoke"))
    page09 = (site / "09_observations.html").read_text()
    shown = re.search(r"5-NN accuracy MNIST (\d+\.\d%) vs Fashion-MNIST (\d+\.\d%)", page09)
    assert shown, "09 prints the separability over draws"
    assert f"MNIST {shown[1]} vs Fashion-MNIST {shown[2]}" in ledger.loc[2, "evidence"]
    page06 = (site / "06_visualizations.html").read_text()
    shown = re.search(r"epoch (\d+) (\d+\.\d%) → epoch (\d+) (\d+\.\d%)", page06)
    assert shown, "06 prints the separability over seeds"
    assert (f"epoch {shown[3]} {shown[4]} vs epoch {shown[1]} {shown[2]}"
            in ledger.loc[7, "evidence"])
