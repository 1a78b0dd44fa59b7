"""Full-scale headline accuracies: the seed's ConvNet and the VGG-like model + BN + augmentation.

Trains (or reuses, through the run store) the full profile's runs -- all 54,000 training images,
full-width models, 30 epochs, batch 1000, Adam 1e-4 -- and writes ``benchmarks/accuracy.md``:
test accuracy (mean and spread over the seeds done), validation accuracy, epochs, training time,
throughput and the machine. The targets are the seed report's numbers (ConvNet 93.7% test,
VGG-like + BN + augmentation 94.0%). Two extra rows train the same two models with a standard
recipe (``fullscale.STANDARD_RECIPE``; ConvNet target 94.5%), and one the ConvNet with that recipe
plus random erasing; ``fmnist_helpers.study.fullscale`` defines every row. An interrupted run
resumes from its last finished epoch when the benchmark is run again. A seed that the run store
lacks but ``records/`` holds (e.g. on a fresh clone) is skipped unless ``--retrain`` is given, so
``--seeds 4`` trains only the fourth seed there. The report is rewritten after every
run, so an interrupted benchmark keeps what it measured; the runs stay in the store for the full
profile's claims ledger.

On a 2-core CPU one run takes one to one and a half hours.

Usage:
    python benchmarks/accuracy.py [--rows convnet,...,speedrun] [--seeds 1]
                                  [--retrain] [--export] [--report PATH] [--report-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fmnist_helpers import records
from fmnist_helpers.core import provenance
from fmnist_helpers.pages import viz
from fmnist_helpers.pages.display import full_scale_display
from fmnist_helpers.store.runs import RunStore
from fmnist_helpers.study.fullscale import (
    FULL_SCALE_ROWS,
    SPEEDRUN_MINUTES,
    SPEEDRUN_RECIPE,
    STANDARD_RECIPE,
    describe_recipe,
    full_scale_configs,
    full_scale_curves,
    full_scale_table,
    replay_note,
)
from fmnist_helpers.study.train import train

ROWS = tuple(FULL_SCALE_ROWS)
REPORT = Path(__file__).with_name("accuracy.md")


def _machine() -> str:
    import tensorflow as tf

    return (f"{provenance.describe_machine(provenance.machine())}; Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}")


def write_report(store: RunStore, path: Path = REPORT) -> str:
    """Write the Markdown report from every run of the rows in the store; return its text."""
    lines = ["# Full-scale headline accuracies", "",
             (f"Measured with `python benchmarks/accuracy.py` on {dt.date.today():%Y-%m-%d}; "
             f"machine: {_machine()}."), "",
             ("Full profile: all 54,000 training images (6,000 held out for validation), the "
              "10,000 test images, full-width models, 30 epochs. The seed's recipe: batch 1000, "
              "Adam 1e-4, Xavier initialization, dropout 0.2. The standard recipe "
              "(`fullscale.STANDARD_RECIPE`) changes only the training of the same "
              f"architectures: {describe_recipe(STANDARD_RECIPE)}; the last row also uses "
              "random erasing (`fullscale.RECIPE_WITH_ERASING`). The speedrun row trains SpeedNet "
              f"with `fullscale.SPEEDRUN_RECIPE` ({describe_recipe(SPEEDRUN_RECIPE)}), aiming at "
              f"94.5% test with every run training within {SPEEDRUN_MINUTES} minutes on 2 CPU "
              "cores. Spread = max - min over seeds."), ""]
    table = full_scale_table(store)
    shown = full_scale_display(table)
    lines += ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(values) + " |" for values in shown.itertuples(index=False)]
    lines += ["", replay_note(table)] if replay_note(table) else []
    figure = path.with_name("time_to_accuracy.png")
    viz.time_to_accuracy(full_scale_curves(store), table).savefig(figure, dpi=80)
    lines += ["", ("Time to accuracy: validation accuracy after each epoch against training "
              "minutes (one thin line per seed, the mean bold) and each row's test accuracy "
              "(mean, 95% interval) at its training time. Rows come from different machines "
              "(the `from` column)."), "", f"![time to accuracy]({figure.name})"]
    lines += ["", ("Runs are kept in the run store (`runs/`); `fmnist-report records export KEY "
              "... --runs-dir DIR` writes them as committed records (`records/`), which every "
              "report's full-scale table and the verdicts ledger read (the `from` column). "
              "Rows read from records were measured where and when that column says."), ""]
    text = "\n".join(lines)
    path.write_text(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS),
                        help="comma-separated: " + ", ".join(ROWS))
    parser.add_argument("--seeds", type=int, default=1, help="seeds per row (default 1)")
    parser.add_argument("--retrain", action="store_true",
                        help="train seeds that have a committed record too (by default a seed "
                             "recorded in records/ and missing from the run store is skipped)")
    parser.add_argument("--report", type=Path, default=REPORT,
                        help=f"where to write the Markdown report (default {REPORT.name} beside "
                             "this script)")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite accuracy.md from the runs already stored")
    parser.add_argument("--export", action="store_true",
                        help="write each run to records/ as soon as it finishes (a change of "
                             "machine loses the run store, never a committed record)")
    args = parser.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown or args.seeds < 1:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}" if unknown else
                     "--seeds must be at least 1")
    store = RunStore()
    if not args.report_only:
        configs = full_scale_configs()
        for key in rows:
            for seed in range(args.seeds):
                config = configs[key].replace(seed=seed)
                recorded = None if args.retrain else records.lookup(store, config)
                if isinstance(recorded, records.RecordedRun):
                    print(f"{key} seed {seed}: skipped, {recorded.recorded} ({recorded.path}); "
                          "--retrain trains it again", flush=True)
                    continue
                run = train(config, store=store)
                print(f"{key} seed {seed}: test accuracy {run['test_accuracy']:.4f} "
                      f"({'reused' if run.reused else 'trained'})", flush=True)
                if args.export:
                    for path in records.export([run]):
                        print(f"{key} seed {seed}: recorded in {path} (commit it)", flush=True)
                write_report(store, args.report)
    print(write_report(store, args.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
