"""Internal: command line: ``python -m anl run | sweep | tune | study | grids | progress | bench | check-results | readme |
segment``. Bad arguments give a one-line error. The top of the package: imported by
``anl.__main__`` only."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from anl import losses, mask_noise, segmentation
from anl.atomic import atomic_write_bytes
from anl.data import SEGMENTATION_DATASETS, DataNotFoundError, load_segmentation
from anl.engine import DEFAULT_PRECISION, PRECISIONS, checkpoint_dir, resolve_precision, run_progress
from anl.experiments import GRIDS, SEGMENTATION_PROTOCOLS, STUDIES, grid, run_study, train_configs
from anl.models import MODELS
from anl.pages import DEVICE, book_grids
from anl.report.readme import refresh_readme
from anl.results import RESULTS_VARIABLE, ResultsStore, check_records, source_checkout
from anl.run_claims import LOG_NAME
from anl.tune import tune
from anl.train import AUGMENTATIONS, PROTOCOLS, VALIDATION_LABELS, VALIDATION_SEED, RunConfig, train_run

RESULTS_HELP = f"results folder (default: ${RESULTS_VARIABLE} where set, else results/ of the source checkout)"


def parse_overrides(pairs: Sequence[str]) -> dict[str, float]:
    """["delta=0", "lam=2"] -> {"delta": 0.0, "lam": 2.0}."""
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            overrides[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise ValueError(f"loss override {pair!r} is not NAME=NUMBER (e.g. delta=0, lam=2)")
    return overrides


def device_option(text: str) -> str:
    """--device, checked before anything is loaded: auto, cpu, cuda or cuda:N."""
    try:
        DEVICE.check(text, {})
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def writable_store(results: str | None) -> ResultsStore:
    """The store of --results, ValueError unless a record can be written there (before any training)."""
    store = ResultsStore(results)
    store.check_writable()
    return store


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_run_options(parser: argparse.ArgumentParser, dataset_required: bool = True) -> None:
    """Options shared by ``run`` and ``sweep``: everything of RunConfig but loss, noise and seed."""
    parser.add_argument("--dataset", required=dataset_required, choices=sorted(PROTOCOLS))
    parser.add_argument("--epochs", type=int, help="default: the data set's protocol")
    parser.add_argument("--train-subset", type=int, help="stratified training subset size (same for every run)")
    parser.add_argument("--model", choices=sorted(MODELS))
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--weight-decay", type=float, help="default: protocol L2 for baselines, 0 for ANL")
    parser.add_argument("--augment", choices=AUGMENTATIONS)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="loss hyperparameter override, e.g. --set delta=0 --set lam=2")
    parser.add_argument("--train-eval-size", type=int, default=10_000,
                        help="training images scored per epoch (0 = all)")
    parser.add_argument("--holdout-folds", type=int, metavar="K",
                        help="split the scored images into K stratified folds and hold fold --holdout-fold out of "
                             "training; its probabilities at the last epoch go into the record (out-of-sample "
                             "confident learning)")
    parser.add_argument("--holdout-fold", type=int, default=0, metavar="F", help="the fold held out, 0..K-1 (default 0)")
    parser.add_argument("--device", default="auto", type=device_option, help="cpu, cuda, cuda:1 or auto (default)")
    parser.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS),
                        help="of the model's forward/backward (the loss stays float32); auto (default): bf16 on "
                             "CUDA and on CPUs with native bf16 (AVX512-BF16 or AMX), else fp32; part of the run's key")
    parser.add_argument("--results", default=None, help=RESULTS_HELP)
    parser.add_argument("--no-progress", action="store_true")


def make_config(args: argparse.Namespace, loss: str, noise: str, seed: int) -> RunConfig:
    return RunConfig(dataset=args.dataset, loss=loss, noise=noise, seed=seed, epochs=args.epochs,
                     train_subset=args.train_subset, model=args.model, batch_size=args.batch_size, lr=args.lr,
                     weight_decay=args.weight_decay, augment=args.augment,
                     loss_overrides=parse_overrides(args.overrides), train_eval_size=args.train_eval_size,
                     holdout_folds=args.holdout_folds, holdout_fold=args.holdout_fold,
                     precision=resolve_precision(args.precision, args.device))


def command_run(args: argparse.Namespace) -> None:
    config = make_config(args, args.loss, args.noise, args.seed)
    store = writable_store(args.results)
    record = train_run(config, store, device=args.device, progress=not args.no_progress)
    summary = {k: v for k, v in record["summary"].items() if k != "test_confusion"}
    print(json.dumps({"key": record["key"], "noise_rate": record["noise"]["rate"], **summary,
                      "record": str(store.path(record["key"]))}))


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Options of a sweep that runs as a submitit job array (anl.cluster)."""
    parser.add_argument("--executor", default="inprocess", choices=("inprocess", "local", "slurm"),
                        help="inprocess (default): train here, now; slurm: submit the missing runs as a SLURM job "
                             "array through submitit; local: the same array as processes on this machine, waited for")
    parser.add_argument("--runs-per-job", type=int, default=1, help="runs trained one after another by each job")
    parser.add_argument("--partition", help="SLURM partition")
    parser.add_argument("--gpus-per-job", type=int, help="default: 1 with slurm, 0 with local")
    parser.add_argument("--cpus-per-job", type=int, default=1, help="CPU cores per job (its torch threads)")
    parser.add_argument("--timeout-min", type=int, default=240,
                        help="a job's time limit; a job stopped at it (or preempted) is requeued and resumes")
    parser.add_argument("--jobs-folder", help="submitit logs and job files (default: jobs/ beside the results folder)")


def submit_or_train(args: argparse.Namespace, configs: list, train) -> list[dict] | None:
    """Train ``configs`` with ``train`` (a sweep function, e.g. anl.experiments.train_configs) in this
    process, or submit them as a job array when --executor is local or slurm; local waits for the
    jobs and returns the records."""
    store = writable_store(args.results)
    if args.executor == "inprocess":
        return train(configs, store, device=args.device, progress=not args.no_progress)
    from anl.cluster import submit_sweep, wait_for

    gpus = args.gpus_per_job if args.gpus_per_job is not None else int(args.executor == "slurm")
    jobs = submit_sweep(train, configs, store, executor=args.executor, runs_per_job=args.runs_per_job,
                        folder=args.jobs_folder, timeout_min=args.timeout_min, cpus_per_job=args.cpus_per_job,
                        gpus_per_job=gpus, partition=args.partition, device=args.device)
    if not jobs:
        print("every run is recorded: nothing to submit")
        return [store.read(config.key) for config in configs]
    folder = jobs[0].paths.folder
    print(f"submitted {len(jobs)} jobs ({args.executor}), array {jobs[0].job_id.split('_')[0]}; logs in {folder}; "
          f"claims and progress: {checkpoint_dir(store) / LOG_NAME}", flush=True)
    if args.executor == "slurm":
        return None
    wait_for(jobs)
    return [store.read(config.key) for config in configs if store.has(config.key)]


def command_sweep(args: argparse.Namespace) -> None:
    if args.grid:
        configs = grid(args.grid)
    elif args.dataset and args.losses:
        configs = [make_config(args, loss, noise, seed) for loss in comma_list(args.losses)
                   for noise in comma_list(args.noise) for seed in [int(s) for s in comma_list(args.seeds)]]
    else:
        raise ValueError(f"give --grid (one of {', '.join(GRIDS)}) or --dataset with --losses")
    store = writable_store(args.results)
    if args.executor != "inprocess" and args.batched is not None:
        raise ValueError(f"--batched trains in this process; it cannot be combined with --executor {args.executor}")
    if args.batched is not None:
        from anl.batched import train_sweep_batched

        records = train_sweep_batched(configs, store, args.batched, device=args.device,
                                      progress=not args.no_progress, time_budget=args.time_budget)
    elif args.time_budget is not None:
        raise ValueError("--time-budget needs --batched R (batched sweeps stop cleanly between epochs)")
    else:
        records = submit_or_train(args, configs, train_configs)
        if records is None:
            return
    for record in records:
        if record["config"]["dataset"] in SEGMENTATION_DATASETS:
            print_segment_record(record)
            continue
        config = record["config"]
        print(f"{config['dataset']} {config['loss']:>10} {config['noise']:>12} seed {config['seed']}: "
              f"final {record['summary']['final_test_acc']:.4f} best {record['summary']['best_test_acc']:.4f}")
    print(f"{len(records)} of {len(configs)} runs recorded in {store.runs}")


def command_tune(args: argparse.Namespace) -> None:
    """Search the loss's hyperparameters on a validation split (anl.tune); print one line per trial,
    then the best setting with its validation accuracy as JSON."""
    config = dataclasses.replace(make_config(args, args.loss, args.noise, args.seed),
                                 validation_fraction=args.fraction, validation=args.validation,
                                 validation_seed=args.split_seed)
    store = writable_store(args.results)
    try:
        result = tune(config, store, args.trials, device=args.device, progress=not args.no_progress)
    except ModuleNotFoundError as error:
        if error.name != "optuna":
            raise
        raise ValueError(str(error)) from None
    print(json.dumps({"study": str(result.study), "finished_trials": result.finished, "trained": result.trained,
                      "best": result.best_params, "val_acc": result.best_val_acc, "key": result.best_key,
                      "validation": args.validation, "validation_fraction": args.fraction,
                      "validation_seed": args.split_seed}))


def add_tune_parser(commands: argparse._SubParsersAction) -> None:
    tuning = commands.add_parser("tune", help="search a loss's hyperparameters on a validation split held out of "
                                            "the training set (Optuna; each trial a recorded run)")
    add_run_options(tuning)
    tuning.add_argument("--loss", required=True, help=f"one of {', '.join(losses.TUNABLE_LOSSES)}")
    tuning.add_argument("--noise", default="clean", help="clean, sym:R, asym:R, pairflip:R, idn:R, cifar10n:NAME")
    tuning.add_argument("--validation", required=True, choices=VALIDATION_LABELS,
                      help="labels of the held-out split: clean (true) or noisy (what a practitioner has)")
    tuning.add_argument("--fraction", type=float, default=0.1, help="of the training set held out (default 0.1)")
    tuning.add_argument("--split-seed", type=int, default=VALIDATION_SEED,
                      help=f"seed of the stratified split (default {VALIDATION_SEED}, as in the ANL authors' code)")
    tuning.add_argument("--trials", type=int, required=True,
                      help="finished trials the study should have; a rerun resumes it and trains only the missing")
    tuning.add_argument("--seed", type=int, default=1, help="the runs' seed (noise, training) and the sampler's")
    tuning.set_defaults(handler=command_tune)


def command_study(args: argparse.Namespace) -> None:
    """Run a named tuning study (anl.experiments.run_study): its searches, then the chosen settings
    at the paper's protocol; print one line per trial, per search and per run."""
    store = writable_store(args.results)
    try:
        records = run_study(args.name, store, device=args.device, progress=not args.no_progress)
    except ModuleNotFoundError as error:
        if error.name != "optuna":
            raise
        raise ValueError(str(error)) from None
    for record in records:
        config = record["config"]
        print(f"{config['dataset']} {config['loss']:>10} {config['noise']:>12} seed {config['seed']} "
              f"{config['loss_overrides']}: final {record['summary']['final_test_acc']:.4f}")
    print(f"{args.name}: {len(records)} runs of the chosen settings recorded in {store.runs}")


def command_bench(args: argparse.Namespace) -> None:
    from anl.bench import run_benchmarks

    runs = [int(count) for count in comma_list(args.runs)] if args.runs else []
    run_benchmarks(models=comma_list(args.models), device=args.device, repeats=args.repeats,
                   baseline=args.baseline, epoch=not args.no_epoch, runs=runs,
                   precisions=comma_list(args.precisions), steps=comma_list(args.steps) if args.steps else None,
                   processes=[int(count) for count in comma_list(args.processes)] if args.processes else None)


def command_check_results(args: argparse.Namespace) -> None:
    """Print each damaged record (file: problem) and exit 1, else print one OK line."""
    damaged = check_records(args.results)
    store = ResultsStore(args.results)
    for error in damaged:
        print(error)
    if damaged:
        print(f"check-results: {len(damaged)} damaged record(s) in {store.runs}", file=sys.stderr)
        sys.exit(1)
    print(f"check-results: OK, {len(store.paths())} records in {store.runs}")


def command_readme(args: argparse.Namespace) -> None:
    """Rewrite the README's results tables from the records (anl.report.readme); with --check,
    change nothing and exit 1 if any differs."""
    checkout = source_checkout()
    if args.file is None and checkout is None:
        raise ValueError("readme: anl runs as an installed package, not from a source checkout; "
                         "pass --file PATH of a Markdown file with results blocks")
    path = Path(args.file) if args.file is not None else checkout / "README.md"
    if not path.is_file():
        raise ValueError(f"no README at {path}; pass --file PATH of a Markdown file with results blocks")
    text = path.read_text(encoding="utf-8")
    fresh = refresh_readme(text, args.results)
    if fresh == text:
        print(f"readme: the results tables of {path} match the records")
    elif args.check:
        print(f"readme: the results tables of {path} differ from the records; run python -m anl readme",
              file=sys.stderr)
        sys.exit(1)
    else:
        atomic_write_bytes(path, fresh.encode("utf-8"))
        print(f"readme: rewrote the results tables of {path} from the records")


def mask_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 128x96, got {text!r}")
    return int(width), int(height)


def add_segment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", choices=sorted(SEGMENTATION_PROTOCOLS), default="reduced",
                        help="size, base width and epochs: " + "; ".join(
                            f"{name} {p['size'][0]}x{p['size'][1]}, {p['base_width']}, {p['epochs']}"
                            for name, p in SEGMENTATION_PROTOCOLS.items()) + " (--size, --base-width, --epochs override)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--size", type=mask_size, help="training size WIDTHxHEIGHT, e.g. 128x96")
    parser.add_argument("--base-width", type=int)
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, help="default: 1e-4 for baselines, 0 for ANL")
    parser.add_argument("--train-subset", type=int)
    parser.add_argument("--train-eval-size", type=int, default=256, help="noisy training images scored (0 = all)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="loss hyperparameter override, e.g. --set delta=0")
    parser.add_argument("--device", default="auto", type=device_option, help="cpu, cuda, cuda:1 or auto (default)")
    parser.add_argument("--precision", default=DEFAULT_PRECISION, choices=PRECISIONS,
                        help=f"of the model's forward/backward (the loss stays float32; default {DEFAULT_PRECISION} "
                             "on every device); part of the run's key when not the default")
    parser.add_argument("--threads", type=int, help="torch intra-op CPU threads (1 is fastest on a busy machine)")
    parser.add_argument("--results", default=None, help=RESULTS_HELP)
    parser.add_argument("--no-progress", action="store_true")


def set_threads(args: argparse.Namespace) -> None:
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)


def segment_config(args: argparse.Namespace, loss: str, spec: str, seed: int) -> segmentation.SegmentationConfig:
    chosen = {name: getattr(args, name) for name in ("size", "base_width", "epochs")}
    protocol = {**SEGMENTATION_PROTOCOLS[args.protocol],
                **{name: value for name, value in chosen.items() if value is not None}}
    return segmentation.SegmentationConfig(
        loss, noise=spec, seed=seed, **protocol, levels=args.levels, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, train_subset=args.train_subset, train_eval_size=args.train_eval_size,
        loss_overrides=parse_overrides(args.overrides), precision=args.precision)


def print_segment_record(record: dict[str, Any]) -> None:
    config, summary = record["config"], record["summary"]
    print(f"isic2017 {config['loss']:>8} {config['noise']:>18} seed {config['seed']}: test Dice "
          f"{summary['final_test_dice']:.4f} Jaccard {summary['final_test_jaccard']:.4f} thresholded "
          f"{summary['final_test_thresholded_jaccard']:.4f} (best-val epoch {summary['best_val_epoch']}: Dice "
          f"{summary['best_val_test_dice']:.4f})")


def command_segment_run(args: argparse.Namespace) -> None:
    set_threads(args)
    store = writable_store(args.results)
    record = segmentation.train_segmentation(segment_config(args, args.loss, args.noise, args.seed), store,
                                             device=args.device, progress=not args.no_progress)
    print_segment_record(record)


def command_segment_sweep(args: argparse.Namespace) -> None:
    if args.grid:
        configs = grid(args.grid)
    elif args.losses:
        configs = [segment_config(args, loss, spec, int(seed)) for seed in comma_list(args.seeds)
                   for spec in comma_list(args.noise) for loss in comma_list(args.losses)]
    else:
        raise ValueError(f"give --grid (one of {', '.join(GRIDS)}) or --losses")
    set_threads(args)
    if not all(isinstance(config, segmentation.SegmentationConfig) for config in configs):
        raise ValueError(f"grid {args.grid!r} is a classification grid; train it with python -m anl sweep")
    for record in submit_or_train(args, configs, train_configs) or []:
        print_segment_record(record)


def command_segment_noise(args: argparse.Namespace) -> None:
    mask_noise.parse_mask_noise(args.noise)
    masks = load_segmentation().train_masks.numpy()
    noisy = mask_noise.apply_mask_noise(args.noise, masks, seed=args.seed)
    print(json.dumps(noisy.summary()))


def build_segment_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m anl segment", description="ISIC 2017 lesion segmentation "
                                     "with noisy masks (anl.segmentation)")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train one run and record it")
    add_segment_options(run)
    run.add_argument("--loss", required=True, help=f"one of {', '.join(losses.LOSSES + losses.PIXEL_LOSSES)}")
    run.add_argument("--noise", default="clean", help="clean, boundary:F:R, coarse:F:polygon|ellipse, shift:F:R")
    run.add_argument("--seed", type=int, default=1)
    run.set_defaults(handler=command_segment_run)
    sweep = commands.add_parser("sweep", help="train a named grid, or losses x noise x seeds, skipping recorded runs")
    sweep.add_argument("--grid", help=f"a named grid: {', '.join(GRIDS)} (other run options are then ignored)")
    add_segment_options(sweep)
    sweep.add_argument("--losses", help="comma-separated loss names")
    sweep.add_argument("--noise", default="clean", help="comma-separated mask-noise specs")
    sweep.add_argument("--seeds", default="1", help="comma-separated seeds")
    add_executor_options(sweep)
    sweep.set_defaults(handler=command_segment_sweep)
    show = commands.add_parser("noise", help="realised amounts of a mask-noise spec on the training masks")
    show.add_argument("--noise", required=True)
    show.add_argument("--seed", type=int, default=1)
    show.set_defaults(handler=command_segment_noise)
    return parser


def command_progress(args: argparse.Namespace) -> None:
    """Per named grid, how many runs are recorded, then one line per run: key, loss, noise, seed,
    state (anl.engine.RunProgress), epochs done, the last epoch's test score (accuracy, or Dice for
    segmentation), the worker holding it and the time left at the last epoch's pace."""
    store = ResultsStore(args.results)
    for name in args.grid or book_grids():
        configs = grid(name)
        rows = [(config, run_progress(config.key, config.resolved()["epochs"], store)) for config in configs]
        print(f"{name}: {sum(row.state == 'recorded' for _, row in rows)} of {len(rows)} runs recorded")
        for config, row in rows:
            scores = "".join(f"  {metric.replace('_', ' ')} {100 * value:.2f} %" for metric, value in
                             (row.last_epoch or {}).items() if metric in ("test_acc", "test_dice"))
            worker = f"  by {row.worker}" if row.worker else ""
            left = "" if row.seconds_left is None else f"  ~{row.seconds_left / 3600:.1f} h left"
            print(f"  {config.key}  {config.loss:<10} {config.noise:<16} seed {config.seed}  {row.state:<8} "
                  f"{row.epochs_done:>3}/{row.epochs}{scores}{worker}{left}")


def command_grids(args: argparse.Namespace) -> None:
    """Print the named grids (with --book, those the book's pages read), one name a line."""
    for name in book_grids() if args.book else GRIDS:
        print(name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m anl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train one run and record it")
    add_run_options(run)
    run.add_argument("--loss", required=True, help=f"one of {', '.join(losses.LOSSES)}")
    run.add_argument("--noise", default="clean", help="clean, sym:R, asym:R, pairflip:R, idn:R, cifar10n:NAME")
    run.add_argument("--seed", type=int, default=1)
    run.set_defaults(handler=command_run)
    sweep = commands.add_parser("sweep", help="train a named grid, or losses x noise settings x seeds, "
                                              "skipping recorded runs")
    sweep.add_argument("--grid", help=f"a named grid: {', '.join(GRIDS)} (its runs name their precision; other run "
                                      "options are then ignored)")
    add_run_options(sweep, dataset_required=False)
    sweep.add_argument("--losses", help="comma-separated loss names")
    sweep.add_argument("--noise", default="clean", help="comma-separated noise settings")
    sweep.add_argument("--seeds", default="1", help="comma-separated seeds")
    sweep.add_argument("--batched", type=int, metavar="R",
                       help="train up to R compatible runs at a time as one grouped model (cnn4, cnn8)")
    sweep.add_argument("--time-budget", type=float, metavar="SECONDS",
                       help="with --batched: start no batch and no epoch that would end after this many "
                            "seconds; a rerun resumes")
    add_executor_options(sweep)
    sweep.set_defaults(handler=command_sweep)
    commands.add_parser("segment", add_help=False,
                        help="ISIC 2017 lesion segmentation with noisy masks (see: python -m anl segment --help)")
    grids = commands.add_parser("grids", help="list the named grids, one a line")
    grids.add_argument("--book", action="store_true", help="only the grids the book's pages read (make results)")
    grids.set_defaults(handler=command_grids)
    progress = commands.add_parser("progress", help="where each run of named grids stands: recorded, training, "
                                                    "stopped at a checkpoint, or waiting")
    progress.add_argument("--grid", action="append", choices=list(GRIDS), metavar="NAME",
                          help=f"a named grid, repeatable (default: those the book reads); one of {', '.join(GRIDS)}")
    progress.add_argument("--results", default=None, help=RESULTS_HELP)
    progress.set_defaults(handler=command_progress)
    add_tune_parser(commands)
    studies = commands.add_parser("study", help="run a named tuning study: its searches (each resumable), then "
                                                "the chosen settings at the paper's protocol")
    studies.add_argument("name", help=f"one of {', '.join(STUDIES)}")
    studies.add_argument("--device", default="auto", type=device_option, help="cpu, cuda, cuda:1 or auto (default)")
    studies.add_argument("--results", default=None, help=RESULTS_HELP)
    studies.add_argument("--no-progress", action="store_true")
    studies.set_defaults(handler=command_study)
    bench = commands.add_parser("bench", help="training and evaluation images/s per model and device")
    bench.add_argument("--models", default="cnn4,cnn8")
    bench.add_argument("--device", default="auto", type=device_option)
    bench.add_argument("--precisions", default=",".join(PRECISIONS), help="comma-separated, side by side")
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--baseline", action="store_true", help="also time a PIL + DataLoader pipeline")
    bench.add_argument("--no-epoch", action="store_true", help="skip the full real-data epoch timing")
    bench.add_argument("--runs", help="also time batched training at these runs per batch, e.g. 1,4,16")
    bench.add_argument("--steps", help="time these training-step paths side by side: eager, compiled, graphed "
                       "(default: all three on CUDA, none on a CPU)")
    bench.add_argument("--processes", help="aggregate img/s of this many processes at once, e.g. 1,4,8 (default on CUDA)")
    bench.set_defaults(handler=command_bench)
    check = commands.add_parser("check-results", help="list the damaged run records (exit 1 if any), "
                                                      "touching none")
    check.add_argument("--results", default=None, help=RESULTS_HELP)
    check.set_defaults(handler=command_check_results)
    readme = commands.add_parser("readme", help="rewrite the README's results tables from the records")
    readme.add_argument("--file", help="the Markdown file with results blocks (default: the source checkout's README.md)")
    readme.add_argument("--results", default=None, help=RESULTS_HELP)
    readme.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table differs")
    readme.set_defaults(handler=command_readme)
    return parser


def unreadable_torch_file(error: BaseException) -> object | None:
    """The file torch.load was reading where ``error`` was raised, or None if it was raised elsewhere."""
    file, trace = None, error.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        if code.co_name == "load" and code.co_filename == torch.serialization.__file__:
            file = trace.tb_frame.f_locals.get("f")
        trace = trace.tb_next
    return file


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and call the chosen handler; bad input, a damaged checkpoint and a failed job
    exit 2 with a one-line message."""
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        parser.exit(130, "interrupted: finished runs are recorded; a rerun resumes from the last checkpoint\n")
    except Exception as error:
        # torch.load of damaged bytes raises EOFError, KeyError, ValueError, UnpicklingError or RuntimeError
        file = unreadable_torch_file(error)
        if file is not None:
            detail = str(error).splitlines()[0] if str(error) else "no detail"
            parser.exit(2, f"{parser.prog} {args.command}: error: cannot read {file} ({type(error).__name__}: "
                           f"{detail}): a damaged checkpoint; delete it and its run trains again from epoch 0\n")
        cluster = sys.modules.get("anl.cluster")  # imported only by a job-array sweep (it needs submitit)
        if not isinstance(error, (ValueError, DataNotFoundError, *((cluster.JobFailedError,) if cluster else ()))):
            raise
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m anl run | sweep | bench``, and ``segment ...`` (anl.segmentation)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["segment"]:
        return run_cli(build_segment_parser(), argv[1:])
    return run_cli(build_parser(), argv)


