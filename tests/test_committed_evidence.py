"""Evidence that travels: a profile's ledger committed with its provenance and read back, the
committed verdicts on every report, and a section rendered from run records alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fmnist_helpers import claims, display, evidence, fullscale, provenance
from fmnist_helpers.build.site_index import full_scale_figures
from fmnist_helpers.core.profiles import VERDICTS_PROFILE, get_profile
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.plan import grid_digest, plan
from fmnist_helpers.study.studies import StudyResult, get_study

COMMITTED = Path(__file__).resolve().parent.parent / "records"


def _cli(*args, env, timeout=900):
    return subprocess.run([sys.executable, "-m", "fmnist_helpers.build.cli", *args],
                          capture_output=True, text=True, env={**os.environ, **env},
                          timeout=timeout, check=False)


def test_committing_a_ledger_refuses_while_runs_are_neither_stored_nor_recorded(
        tmp_path, monkeypatch):
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path / "empty-store"))
    with pytest.raises(ValueError, match=r"fmnist-report runs --profile smoke"):
        evidence.commit_verdicts("smoke", tmp_path / "ledgers")
    assert not (tmp_path / "ledgers").exists()
    assert claims.read_verdicts("smoke", tmp_path / "ledgers") is None


@pytest.mark.slow
def test_a_committed_ledger_reads_back_with_its_provenance(smoke_site, tmp_path, monkeypatch):
    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(site.parent / "runs"))
    result = _cli("records", "ledger", "--profile", "smoke", "--out", str(tmp_path / "ledgers"),
                  env={})
    assert result.returncode == 0, result.stderr[-2000:]
    committed = claims.read_verdicts("smoke", tmp_path / "ledgers")
    judged = claims.judge_all(evidence.gather("smoke"))  # the same facts, from the cache
    for column in ("metric", "verdict", "difference", "holm", "evidence", "section"):
        assert list(committed.ledger[column]) == list(judged[column]), column
    assert ([None if pd.isna(n) else int(n) for n in committed.ledger["seeds"]]
            == [None if pd.isna(n) else int(n) for n in judged["seeds"]])
    assert committed.machine == provenance.machine() and committed.settings["seeds"] == 2
    grid = committed.grid
    assert grid["runs"] == len(plan("smoke")) == grid["stored"] and grid["missing"] == 0
    assert grid["train_seconds"] > 0 and grid["first_finished"] <= grid["last_finished"]
    assert committed.describe().startswith("smoke profile (2 seeds; 1,000 training images")
    assert not committed.stale and not committed.full_scale_changed
    # The full-scale claims rest on runs trained apart from the grid: when full-scale runs are
    # recorded after the judging (here: the committed records, hidden from the judging by the
    # test records directory), the ledger says which rows changed.
    assert not any(grid["full_scale"].values())
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(COMMITTED))
    assert "convnet_recipe" in committed.full_scale_changed
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(tmp_path / "no-records"))
    # A reader checks a committed ledger by judging again: it matches, and a verdict changed by
    # hand is named.
    check = _cli("records", "ledger", "--profile", "smoke", "--check", "--out",
                 str(tmp_path / "ledgers"), env={})
    assert check.returncode == 0 and "matches a judgement again" in check.stdout, check.stdout
    data = json.loads(committed.path.read_text())
    original = committed.path.read_text()
    row = next(r for r in data["rows"] if r["verdict"] != "supported")
    row["verdict"] = "supported"
    committed.path.write_text(json.dumps(data))
    check = _cli("records", "ledger", "--profile", "smoke", "--check", "--out",
                 str(tmp_path / "ledgers"), env={})
    assert check.returncode == 1, check.stdout
    assert f"claim {row['number']} verdict: 'supported' -> " in check.stdout
    assert "1 mismatch(es)" in check.stdout
    # Judged on another CPU: numbers may differ (listed), decisions may not.
    data = json.loads(original)
    data["machine"]["cpu"] = "Another CPU"
    row = next(r for r in data["rows"] if r["difference"])
    row["difference"] += " (edited)"
    committed.path.write_text(json.dumps(data))
    check = _cli("records", "ledger", "--profile", "smoke", "--check", "--out",
                 str(tmp_path / "ledgers"), env={})
    assert check.returncode == 0, check.stdout
    assert f"claim {row['number']} difference: " in check.stdout
    assert "0 mismatch(es)" in check.stdout and "numbers may differ" in check.stdout
    committed.path.write_text(original)
    # A ledger that names claims this code does not have is refused, not shown.
    data = json.loads(committed.path.read_text())
    data["rows"] = data["rows"][:-1]
    committed.path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="judge the profile again"):
        claims.read_verdicts("smoke", tmp_path / "ledgers")


@pytest.mark.slow
def test_a_study_section_renders_from_records_alone_with_an_empty_run_store(smoke_site,
                                                                            tmp_path):
    """Export the smoke build's dropout study as records, then build that section on an empty
    store: nothing is trained, the page says where its runs were recorded, and its table is the
    one the store-backed page shows."""
    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    out = tmp_path / "records"
    exported = _cli("records", "export", "--profile", "smoke", "--sections", "05_dropout",
                    "--runs-dir", str(site.parent / "runs"), "--out", str(out), env={})
    assert exported.returncode == 0, exported.stderr[-2000:]
    count = len(list(out.glob("*.json")))
    assert count == len(plan("smoke", ["05_dropout"]))
    empty = tmp_path / "empty-store"
    built = _cli("build", "--profile", "smoke", "--sections", "05_dropout", "--out",
                 str(tmp_path / "site"),
                 env={"FMNIST_RUNS_DIR": str(empty), "FMNIST_RECORDS_DIR": str(out)})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert RunStore(empty).runs() == [], "nothing is trained when every run has a record"
    page = (tmp_path / "site" / "smoke" / "05_dropout.html").read_text()
    assert f"{count} of these {count} runs were read from committed run records" in page
    assert "recorded 20" in page and provenance.describe_machine(provenance.machine()) in page

    def table(html):
        return re.search(r"<table[^>]*dataframe.*?</table>", html, re.DOTALL)[0]

    assert table(page) == table((site / "05_dropout.html").read_text())


@pytest.mark.skipif(not claims.ledger_path(VERDICTS_PROFILE, COMMITTED / "ledgers").is_file(),
                    reason="no verdicts ledger committed yet")
def test_the_committed_ledger_was_judged_on_the_committed_records(tmp_path, monkeypatch):
    verdicts = claims.read_verdicts(VERDICTS_PROFILE, COMMITTED / "ledgers")
    empty = RunStore(tmp_path / "empty-store")
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(empty.root))
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(COMMITTED))
    assert grid_digest(VERDICTS_PROFILE, empty) == verdicts.grid["digest"]
    note = "the runs of this ledger's grid are not the ones it was judged on"
    assert note not in display.verdicts_intro(verdicts, verdicts.ledger, "quick").data
    # A record exported anew with another number: the page says to judge the ledger again.
    copied = tmp_path / "records"
    shutil.copytree(COMMITTED, copied)
    record = copied / f"{plan(VERDICTS_PROFILE, store=empty)[-1].config.key}.json"
    data = json.loads(record.read_text())
    data["result"]["test_accuracy"] += 0.001
    record.write_text(json.dumps(data))
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(copied))
    assert grid_digest(VERDICTS_PROFILE, empty) != verdicts.grid["digest"]
    text = display.verdicts_intro(verdicts, verdicts.ledger, "quick").data
    assert note in text and f"records ledger --profile {VERDICTS_PROFILE}`" in text
    record.unlink()  # a missing record changes it too
    assert grid_digest(VERDICTS_PROFILE, empty) != verdicts.grid["digest"]


def test_the_convnet_page_gives_the_full_scale_numbers_claim_3_is_judged_on(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(COMMITTED))
    table = fullscale.full_scale_table(RunStore(tmp_path / "empty-store"))
    columns, sentences = fullscale.convnet_beside_seed(table)
    seeds = int(table.loc[fullscale.FULL_SCALE_ROWS["convnet"][0], "seeds"])
    assert seeds >= 3 and f"ours, full scale, seed's recipe ({seeds} seeds)" in columns
    claim = claims.read_verdicts(VERDICTS_PROFILE, COMMITTED / "ledgers").ledger.iloc[2]
    assert claim["claim"].startswith("Our ConvNet reaches") and int(claim["seeds"]) == seeds
    # The same difference and interval on 02_convnet as in the ledger's row of claim 3.
    difference = re.search(r"(-?\d+\.\d\d) points \(95% CI (-?\d+\.\d\d) to (-?\d+\.\d\d)\)",
                           claim["difference"]).groups()
    first = sentences[0].replace("+", "")
    assert "Claim 3" in first and all(number in first for number in difference), (first,
                                                                                  difference)
    # The index's headline figures give the same rows.
    figures = dict(full_scale_figures(RunStore(tmp_path / "empty-store")))
    assert figures["Full scale: Our ConvNet (seed's recipe)"].startswith(
        fullscale.accuracy_text(table.loc[fullscale.FULL_SCALE_ROWS["convnet"][0]]))
    # Without any full-scale run the page says how to train them instead.
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(tmp_path / "no-records"))
    columns, sentences = fullscale.convnet_beside_seed(
        fullscale.full_scale_table(RunStore(tmp_path / "empty-store")))
    assert not columns and "make accuracy" in sentences[0]


def test_the_augmentation_page_gives_claim_19s_full_scale_run_or_how_to_train_it(tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path / "empty-store"))
    result = StudyResult(get_study("augmentation"), get_profile("quick"), {}, 0.8)
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(tmp_path / "no-records"))
    expected = ("At the seed's full scale, VGG-like + batch norm + augmentation (seed's recipe) "
                "has no run stored or recorded yet (train it: `benchmarks/accuracy.py --rows "
                "vgg_bn_aug`); the ledger needs it to judge the seed report's 94%.")
    assert result.full_scale() == [expected]
    monkeypatch.setenv("FMNIST_RECORDS_DIR", str(COMMITTED))
    claim = claims.read_verdicts(VERDICTS_PROFILE, COMMITTED / "ledgers").ledger.iloc[18]
    assert claim["claim"].startswith("The VGG-like model with batch norm")
    if claim["difference"] != "—":  # the committed ledger has judged a full-scale run
        sentence = result.full_scale()[0].replace("+", "")
        difference = re.search(r"(-?\d+\.\d\d) points", claim["difference"]).group(1)
        assert f"{difference} points against the seed report's 94.0%" in sentence, sentence


@pytest.mark.slow
@pytest.mark.skipif(not claims.ledger_path(VERDICTS_PROFILE, COMMITTED / "ledgers").is_file(),
                    reason="no verdicts ledger committed yet")
def test_every_report_shows_the_committed_verdicts_beside_its_own_ledger(smoke_site, tmp_path):
    site, build = smoke_site
    assert build.returncode == 0, build.stdout[-2000:]
    verdicts = claims.read_verdicts(VERDICTS_PROFILE, COMMITTED / "ledgers")
    assert not verdicts.stale and verdicts.grid["missing"] == 0
    assert verdicts.settings["seeds"] >= 5 == get_profile(VERDICTS_PROFILE).seeds
    store = tmp_path / "runs"
    shutil.copytree(site.parent / "runs", store)
    built = _cli("build", "--profile", "smoke", "--sections", "10_conclusions", "--out",
                 str(tmp_path / "site"),
                 env={"FMNIST_RUNS_DIR": str(store), "FMNIST_RECORDS_DIR": str(COMMITTED)})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    page = (tmp_path / "site" / "smoke" / "10_conclusions.html").read_text()
    assert f"are the <code>{VERDICTS_PROFILE}</code> profile" in page
    assert verdicts.describe().split(":")[0] in page
    summary = claims.summary_line(verdicts.ledger, VERDICTS_PROFILE)
    index = (tmp_path / "site" / "smoke" / "index.html").read_text()
    assert summary in index and "The verdicts" in index
    # The committed full-scale records stand beside the seed's numbers in the headline figures.
    assert re.search(r"Full scale: Our ConvNet, standard recipe</th><td>9\d\.\d\d% test \(\d+ "
                     r"seeds, 95% CI 9\d\.\d\d% to 9\d\.\d\d%\); recorded 20", index), index
    # The build's own verdicts are marked where they differ from the committed ones.
    for number, verdict in claims.differences(verdicts.ledger, _ledger_of(store)).items():
        assert f"this build (smoke): {verdict}" in page, number


def _ledger_of(store: Path):
    saved = json.loads((store / "results" / "ledgers" / "ledger-smoke.json").read_text())
    return pd.DataFrame({"verdict": {int(n): v for n, v in saved.items()}})


def test_the_accuracy_benchmark_skips_seeds_that_are_recorded_and_not_stored(tmp_path):
    # A fresh clone: empty run store, committed records. Asking for three seeds of the seed's
    # recipe must not retrain the 4.5 hours that records/ already holds.
    report = tmp_path / "accuracy.md"
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "accuracy.py"
    result = subprocess.run(
        [sys.executable, str(script), "--rows", "convnet", "--seeds", "3", "--report",
         str(report)], capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "FMNIST_RUNS_DIR": str(tmp_path / "empty-store"),
             "FMNIST_RECORDS_DIR": str(COMMITTED)})
    assert result.returncode == 0, result.stderr[-2000:]
    skipped = re.findall(r"^convnet seed (\d): skipped, recorded 20\d\d-\d\d-\d\d on .+"
                         r"--retrain trains it again$", result.stdout, flags=re.MULTILINE)
    assert skipped == ["0", "1", "2"], result.stdout[-2000:]
    assert "trained" not in result.stdout.replace("--retrain trains", "")
    assert not (tmp_path / "empty-store").exists() or not any((tmp_path / "empty-store").iterdir())
    assert "| Our ConvNet (seed's recipe) | 3 | 91.09% |" in report.read_text()
