"""The ``fmnist-report`` command.

Subcommands:
    data     where the data was found, counts per split, checksums verified
    params   the parameter table of a model
    train    train a run (or reuse it from the run store) and print its metrics
    build    execute the section notebooks and render the HTML report
    store    check the run store: broken, invalid, temporary and interrupted entries

Every failure ends in one line, ``error: ...``, naming the file or value and the fix (exit 1; 2
for bad arguments); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (``--workers 0`` is refused, not read as the
    default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _tolerance(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _quiet_tensorflow() -> None:
    """Import TensorFlow; its C++ start-up lines are dropped and real messages kept by the
    package's import hook (:mod:`fmnist_helpers.core.quiet`)."""
    import tensorflow  # noqa: F401


def cmd_data(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.study import data

    try:
        fmnist = data.load_fashion_mnist(args.data_dir, download=not args.no_download)
        splits = data.load_splits(data_dir=fmnist.source)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Fashion-MNIST found in {fmnist.source}")
    for path in fmnist.files.values():
        check = ("SHA-256 of the file and of its content verified" if path.suffix == ".gz"
                 else "SHA-256 of the content verified (raw file)")
        print(f"  {path.name:28s} {check}")
    for name, count in splits.counts().items():
        print(f"  {name:5s} {count:6d} images")
    return 0


def cmd_params(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.study import models

    try:
        model = models.build_model(args.model, width=args.width)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = models.parameter_table(model)
    import pandas as pd

    with pd.option_context("display.max_rows", None, "display.width", 120):
        print(table.to_string(index=False))
    print(f"total parameters: {int(table['parameters'].sum()):,} "
          f"(Keras count_params: {model.count_params():,})")
    return 0


def cmd_train(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.core.config import parse_value
    from fmnist_helpers.core.profiles import get_profile
    from fmnist_helpers.store.runs import RunStore

    try:
        profile = get_profile(args.profile)
        changes = {"model": args.model}
        for item in args.set or []:
            if "=" not in item:
                raise ValueError(f"--set expects key=value, got {item!r}.")
            key, value = item.split("=", 1)
            changes[key.strip()] = parse_value(key.strip(), value.strip())
        config = profile.run_config(**changes)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from fmnist_helpers.study.train import train

    run = train(config, store=RunStore(args.runs_dir) if args.runs_dir else None)
    summary = run.summary()
    if args.json:
        print(json.dumps({**summary, "profile": profile.name, "path": str(run.path)}))
    else:
        print(f"run {summary['label']} ({'reused' if run.reused else 'trained'}), "
              f"profile {profile.name}, stored in {run.path}")
        if run.diverged:
            print(f"  DIVERGED at epoch {summary['diverged_epoch']}")
        print(f"  validation accuracy {summary['val_accuracy']:.4f}  "
              f"test accuracy {summary['test_accuracy']:.4f}  "
              f"({summary['epochs_completed']} epochs, {summary['train_seconds']:.1f}s, "
              f"{summary['images_per_second']:.0f} images/s)")
    return 0


def cmd_build(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.build import cluster, executor, report

    try:
        sections = report.resolve_sections(args.sections)
        force = (True if args.force == "all" else
                 report.resolve_sections(args.force) if args.force else False)
        return report.build(
            profile=args.profile, sections=sections, out_dir=args.out,
            show_code=args.show_code, fail_fast=args.fail_fast, force=force,
            workers=args.workers if args.workers is not None else executor.DEFAULT_WORKERS,
            address=cluster.cluster_address(args.address),
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _planned(args):
    from fmnist_helpers.store.runs import RunStore
    from fmnist_helpers.study import plan

    sections = [s.strip() for s in args.sections.split(",")] if args.sections else None
    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    return plan.plan(args.profile, sections, store=store)


def cmd_plan(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.study import plan

    runs = _planned(args)
    if args.json:
        print(json.dumps([r.as_dict() for r in runs], indent=1))
        return 0
    for run in runs:
        state = "stored " if run.stored else "record " if run.recorded else "MISSING"
        cost = (f"~{run.estimate:.0f} s" if run.estimate is not None else
                "" if not run.missing else "no estimate")
        print(f"{state} {run.config.key}  {run.describe(args.profile):44s} {cost:>11s}  "
              f"{','.join(run.sections)}")
    print(plan.summary(runs))
    return 0


def cmd_runs(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.build import cluster, executor
    from fmnist_helpers.store.runs import RunStore
    from fmnist_helpers.study import plan

    try:
        address = cluster.cluster_address(args.address)
        runs = _planned(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    missing = [r.config for r in runs if r.missing]
    workers = args.workers if args.workers is not None else executor.DEFAULT_WORKERS
    where = f"on the Ray cluster at {address}" if address else f"with {workers} worker(s)"
    print(plan.summary(runs) + (f"; training them {where}" if missing else ""), flush=True)
    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    try:
        outcome = executor.execute(missing, workers=workers, address=address, store=store)
    except ConnectionError as error:
        print(f"error: no Ray cluster answered at {address} ({error}); start one with "
              "`ray start --head`, or leave out --address and RAY_ADDRESS to train here.",
              file=sys.stderr)
        return 2
    for failure in outcome.failed:
        print(f"FAILED {failure['label']} ({failure['key']}): {failure['error']}",
              file=sys.stderr)
    print(f"{len(outcome.trained)} run(s) done, {len(outcome.failed)} failed.")
    return 0 if outcome.ok else 1


def cmd_records(args) -> int:
    _quiet_tensorflow()
    from fmnist_helpers.ledger import verification
    from fmnist_helpers.store import records
    from fmnist_helpers.store.runs import RunStore

    if args.action == "check":
        directory = Path(args.out) if args.out else records.records_dir()
        damaged = records.check_records(directory)
        for line in damaged:
            print(f"  damaged  {line}")
        count = len(list(directory.glob("*.json")))
        print(f"records {directory}: " + (f"{len(damaged)} of {count} damaged (never used until "
                                          "fixed)." if damaged else
                                          f"all {count} are sound."))
        return 1 if damaged else 0
    if args.action == "verify":
        if len(args.keys) != 1:
            raise ValueError("records verify takes one KEY (the record records/KEY.json).")
        report = verification.verify(args.keys[0], epochs=args.epochs, tolerance=args.tolerance)
        for line in report.lines:
            print(line)
        return 0 if report.ok else 1
    if args.action == "ledger":
        if args.runs_dir:
            os.environ["FMNIST_RUNS_DIR"] = args.runs_dir
        from fmnist_helpers.ledger import evidence

        directory = Path(args.out) if args.out else None
        if args.check:
            check = evidence.check_verdicts(args.profile, directory)
            for line in check.lines:
                print(line)
            return 0 if check.ok else 1
        path = evidence.commit_verdicts(args.profile, directory)
        print(f"the {args.profile} profile's ledger, with its provenance, written to {path}")
        return 0
    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    if args.keys:
        by_key = {run.key: run for run in store.runs()}
        unknown = [key for key in args.keys if key not in by_key]
        if unknown:
            raise ValueError(f"no complete run with key(s) {', '.join(unknown)} in {store.root} "
                             "(fmnist-report plan lists the keys).")
        runs = [by_key[key] for key in args.keys]
    else:
        runs = [store.get(r.config) for r in _planned(args) if r.stored]
    paths = records.export(runs, args.out)
    print(f"{len(paths)} record(s) written to {records.records_dir() if not args.out else args.out}"
          + "".join(f"\n  {path.name}  {run.config.label}" for path, run in zip(paths, runs)))
    return 0


def cmd_store(args) -> int:
    from fmnist_helpers.store import records
    from fmnist_helpers.store.runs import RunStore
    from fmnist_helpers.store.store_check import check_store, remove_problems

    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    problems = check_store(store.root)
    damaged = records.check_records()
    for line in damaged:
        print(f"record   damaged  {line}")
    if not problems:
        print(f"run store {store.root}: every entry is complete and valid.")
        return 1 if damaged else 0
    print(f"run store {store.root}:")
    for problem in problems:
        print(f"  {problem.kind:9s} {problem.path.name}  ({problem.detail})")
    kinds = tuple(args.remove.split(",")) if args.remove else ()
    if kinds:
        removed = remove_problems(problems, kinds)
        print(f"removed {len(removed)} item(s) of kind {', '.join(kinds)}.")
    else:
        print("remove them with --remove broken,invalid,temporary,obsolete (and partial, which "
              "throws away interrupted training that would resume).")
    return 0


def make_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``fmnist-report``."""
    _quiet_tensorflow()
    from fmnist_helpers.core.choices import PRECISIONS
    from fmnist_helpers.core.config import field_names
    from fmnist_helpers.core.profiles import PROFILES
    from fmnist_helpers.store.records import OTHER_MACHINE_TOLERANCE
    from fmnist_helpers.study.models import MODEL_NAMES

    parser = argparse.ArgumentParser(
        prog="fmnist-report",
        description="Re-run the Fashion-MNIST CNN study: data, models, training runs, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="find and verify the Fashion-MNIST files")
    p.add_argument("--data-dir", help="directory holding the four .gz files")
    p.add_argument("--no-download", action="store_true",
                   help="do not try keras.datasets when the files are not found")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("params", help="print a model's parameter table")
    p.add_argument("model", choices=MODEL_NAMES)
    p.add_argument("--width", type=float, default=1.0, help="width multiplier (default 1.0)")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("train", help="train a model (or reuse the stored run)")
    p.add_argument("model", choices=MODEL_NAMES)
    p.add_argument("--profile", choices=list(PROFILES), default="quick")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change a run config field, e.g. --set epochs=2 "
                        "--set augment=flip,translate --set precision=mixed_bfloat16 "
                        f"(precision: {' or '.join(PRECISIONS)}; bfloat16 needs a CPU with "
                        "avx512_bf16 or amx_bf16). Fields: " + ", ".join(field_names()))
    p.add_argument("--runs-dir", help="run store directory (default: $FMNIST_RUNS_DIR or runs/)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("build", help="execute the section notebooks and render the report")
    p.add_argument("--profile", choices=list(PROFILES), default="quick")
    p.add_argument("--sections", help="comma-separated section names (default: all)")
    p.add_argument("--out", default="reports", help="output directory (default reports/)")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing section")
    p.add_argument("--force", nargs="?", const="all", metavar="SECTIONS",
                   help="execute even the sections whose fingerprint did not change: all, or "
                        "those named (comma-separated)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="processes that train the missing runs before the notebooks execute "
                        "(default: one per core, at most 4; 1 trains in this process)")
    p.add_argument("--address", default=None,
                   help="train on the Ray cluster at HOST:PORT (or 'auto'), one task per run "
                        "(default: $RAY_ADDRESS; unset: local workers)")
    p.set_defaults(func=cmd_build)

    for name, text, func in (
            ("plan", "list the runs a build needs: stored or missing, and their cost", cmd_plan),
            ("runs", "train the missing runs of the plan (local workers or a Ray cluster)",
             cmd_runs)):
        p = sub.add_parser(name, help=text)
        p.add_argument("--profile", choices=list(PROFILES), default="quick")
        p.add_argument("--sections", help="comma-separated section names, and/or 'accuracy' "
                                          "(the full-scale rows); default: every section")
        p.add_argument("--runs-dir", help="run store directory (default: $FMNIST_RUNS_DIR or "
                                          "runs/)")
        if name == "plan":
            p.add_argument("--json", action="store_true", help="print a JSON list")
        else:
            p.add_argument("--workers", type=_positive_int, default=None,
                           help="worker processes (default: one per core, at most 4; 1 trains "
                                "in this process)")
            p.add_argument("--address", default=None,
                           help="train on the Ray cluster at HOST:PORT (or 'auto'), one task "
                                "per run (default: $RAY_ADDRESS; unset: local workers)")
        p.set_defaults(func=func)

    p = sub.add_parser("records", help="export stored runs as committed records, retrain one "
                                       "and compare, commit a profile's ledger, or check every "
                                       "record's numbers")
    p.add_argument("action", choices=["export", "verify", "ledger", "check"])
    p.add_argument("keys", nargs="*", metavar="KEY",
                   help="export: these runs (default: the stored runs of the profile's plan); "
                        "verify: the record's key")
    p.add_argument("--profile", choices=list(PROFILES), default="quick")
    p.add_argument("--sections", help="export: the plan's sections, and/or 'accuracy'")
    p.add_argument("--runs-dir", help="run store directory (default: $FMNIST_RUNS_DIR or runs/)")
    p.add_argument("--out", help="records directory (default: $FMNIST_RECORDS_DIR or records/; "
                                 "ledger: records/ledgers)")
    p.add_argument("--epochs", type=int, default=None,
                   help="verify: retrain only the first K epochs (default: all)")
    p.add_argument("--tolerance", type=_tolerance, default=None,
                   help="verify: largest difference allowed (default: 0 where the record was "
                        "trained on this CPU with these versions, else "
                        f"{OTHER_MACHINE_TOLERANCE:g})")
    p.add_argument("--check", action="store_true",
                   help="ledger: judge the profile again from its runs (stored, else recorded) "
                        "and compare with its committed ledger instead of writing it; exit 1 on "
                        "a mismatch")
    p.set_defaults(func=cmd_records)

    p = sub.add_parser("store", help="check the run store (and clean it up on request)")
    p.add_argument("action", choices=["check"])
    p.add_argument("--runs-dir", help="run store directory (default: $FMNIST_RUNS_DIR or runs/)")
    p.add_argument("--remove", metavar="KINDS",
                   help="comma-separated kinds to delete: broken, invalid, temporary, obsolete, "
                        "partial")
    p.set_defaults(func=cmd_store)
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true",
                             help="show the traceback of an error instead of one line")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``fmnist-report``; returns the exit status.

    Errors end here as one line naming what failed (``--debug`` re-raises them): 1 for a failure
    (a file, the disk, a damaged entry), 2 for a bad argument, 130 for Ctrl-C.
    """
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted: finished epochs are kept and the same command resumes.",
              file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {_describe(error)}", file=sys.stderr)
        from fmnist_helpers.store.records import DamagedRecord

        # 2 is for bad arguments only: a damaged file is not one (its message gives the fix).
        return 2 if isinstance(error, ValueError) and not isinstance(error, DamagedRecord) else 1


def _describe(error: Exception) -> str:
    """One line for an error: the message, and for a file error the path and a hint."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
        if error.filename and str(error.filename) not in text:
            text += f": {error.filename}"
    else:
        text = str(error) or type(error).__name__
    if isinstance(error, OSError):
        hints = {errno.ENOSPC: "free some disk space, or set FMNIST_RUNS_DIR / --out to "
                               "another disk",
                 errno.EACCES: "check the permissions, or choose another directory",
                 errno.EROFS: "the file system is read-only: choose another directory",
                 errno.ENOTDIR: "a file stands where a directory is needed: choose another "
                                "path"}
        hint = hints.get(error.errno) if error.filename else None  # system errors only
        if hint and hint not in text:
            text += f" ({hint})"
    elif not isinstance(error, ValueError):
        text = f"{type(error).__name__}: {text}"
    return text


if __name__ == "__main__":
    sys.exit(main())
