"""The facts of a real smoke build: every judge finds its evidence among the real studies."""

from __future__ import annotations

import pytest

from fmnist_helpers import claims, evidence
from fmnist_helpers.config import change_key
from fmnist_helpers.studies import STUDIES


@pytest.mark.slow
def test_facts_of_a_smoke_build_leave_no_judge_without_evidence(smoke_site, monkeypatch):
    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(site.parent / "runs"))
    facts = evidence.gather("smoke")
    for name, study in STUDIES.items():  # every variant is found by its config change
        assert list(facts["studies"][name]) == [change_key(v.changes) for v in study.variants]
    ledger = claims.judge_all(facts)  # raises KeyError if a judge lacks a fact
    assert list(ledger.index) == list(range(1, 21))
    assert set(ledger["verdict"]) <= set(claims.VERDICTS)
    assert not ledger["evidence"].str.contains("missing evidence").any()
    # The ledger the build rendered is the one these facts give (same analyses, same arguments).
    page = (site / "10_conclusions.html").read_text()
    for number, row in ledger.iterrows():
        assert f">{number}</td>" in page and row["verdict"] in page
