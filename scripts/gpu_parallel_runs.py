"""Train the first runs of named grids side by side on a lent GPU, one process per slot, inside one
device call: every process runs the one sweep (anl.train.train_sweep: claims, checkpoints, a
deadline) over the same queue, so the claims hand each run to one of them and a process that ends a
run takes the next unclaimed one. Run it through ``scripts/gpu_grid.sh parallel``, which sets the
device's data, cache and code-version environment and packs the records that finish into
$OUT/records.tar.gz.

Why processes and not one batch (anl.batched): a batched CIFAR-10 step cost about 15 ms of Python
and kernel launches whatever the batch (H200: 15.7 ms at 4 runs, 30 ms at 24, measured before the
flat per-run rows of anl.batched cut its non-view ops by 40 %: measure again), so 120 epochs of
391 steps outlasted a 10-minute call; a single run's step launches a third as many kernels.

Measured on an H200 (16 cores; bf16, two threads a process): with three processes no run slows
another (NCE+RCE 3.0 s an epoch beside two others, 3.2 s alone; CE 2.8 s; ANL-CE 4.2 s, its L1 term
adds kernels), so three processes make about 0.9 epochs a second; eight shared the GPU at about
0.75 in all. Stopping a run does not speed up the others, so none is stopped before the deadline.

The sweep's deadline is FINISH_SECONDS before the budget: no run starts and no epoch begins that
would end after it (an epoch takes as long as the run's last one). At the budget the driver stops
any process still running. A stopped run's per-epoch checkpoint stays on the machine's disk
(ANL_CHECKPOINTS, /tmp/anl-checkpoints under gpu_grid.sh) while the machine stays warm (the device
tool hands it back after about 30 s idle): fetch the records, then call again at once with the same
--first and the runs resume where they stopped. While the processes train, the driver logs every
run in training from its checkpoint and claim (anl.engine.run_progress).

Usage, with the data staged by ``scripts/gpu_grid.sh stage GRID...``:

    bash scripts/gpu_grid.sh parallel --grids cifar10-table,cifar10-idn --processes 3 --budget 560 [--first KEY,...]

``--first``: keys moved to the front of the queue (grid order otherwise); ``--limit N``: only the
first N unrecorded runs; ``--epochs``, ``--train-subset``, ``--batch-size``, ``--train-eval-size``:
every run shrunk to that (other keys: a dry run, e.g. on CPU). At the end the checkpoints of the
queue's unfinished runs (anl.engine.checkpoint_dir of the results store) are packed into
$OUT/checkpoints.tar.gz. Fetch the records (and those checkpoints) here with
``scripts/gpu_grid.sh fetch <files_at>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

from anl.data import load_dataset
from anl import run_claims
from anl.engine import RunProgress, checkpoint_dir, checkpoint_path, run_progress
from anl.experiments import grid
from anl.results import ResultsStore
from anl.train import RunConfig, train_sweep

# the driver's start, inherited by its workers, so that their deadline is the driver's
STARTED = float(os.environ.setdefault("ANL_GPU_RUNS_STARTED", str(time.time())))

WATCH_SECONDS = 10
FINISH_SECONDS = 15  # after a run's last epoch: final predictions and its record


def log(message: str) -> None:
    print(f"[{time.time() - STARTED:6.1f} s] {message}", flush=True)


def comma_list(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


SHRINKABLE = ("epochs", "train_subset", "batch_size", "train_eval_size")  # the fields a dry run may shrink


def queue_of(grids: list[str], first: list[str], store: ResultsStore, shrink: dict[str, int] | None = None,
             limit: int | None = None) -> list[RunConfig]:
    """The unrecorded runs of ``grids`` in grid order, ``first`` keys at the front, each with the
    fields of ``shrink`` replaced; the first ``limit`` of them (None: all)."""
    configs: dict[str, RunConfig] = {}
    for name in grids:
        for config in grid(name):
            config = dataclasses.replace(config, **(shrink or {}))
            configs.setdefault(config.key, config)
    unknown = [key for key in first if key not in configs]
    if unknown:
        raise SystemExit(f"keys not in grids {', '.join(grids)}: {', '.join(unknown)}")
    ordered = [*first, *[key for key in configs if key not in first]]
    return [configs[key] for key in ordered if not store.has(key)][:limit]


def pack_checkpoints(queue: list[RunConfig], store: ResultsStore, archive: Path) -> list[str]:
    """Pack the checkpoints of the runs of ``queue`` that have one and no record in ``store`` into
    the tar.gz ``archive`` (not written when there is none); return their keys."""
    paths = [checkpoint_path(store, config.key) for config in queue if not store.has(config.key)]
    paths = [path for path in paths if path.is_file()]
    if paths:
        with tarfile.open(archive, "w:gz") as packed:
            for path in paths:
                packed.add(path, arcname=path.name)
    return [path.stem for path in paths]


def work(queue: list[RunConfig], store: ResultsStore, device: str, threads: int, budget: float) -> None:
    """One process's share of the queue: the sweep over all of it, with the deadline
    FINISH_SECONDS before ``budget`` (seconds from STARTED)."""
    torch.set_num_threads(threads)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    left = STARTED + budget - FINISH_SECONDS - time.time()
    if left <= 0:
        return
    records = train_sweep(queue, store, device=device, progress=False, time_budget=left)
    print(f"done: {len(records)} of {len(queue)} runs recorded", flush=True)


def progress_line(key: str, progress: RunProgress, now: float) -> str:
    """``key done/epochs -> projected end`` (s from STARTED; '?' before an epoch of this run is timed)."""
    left = progress.seconds_left
    end = "?" if left is None else f"{now + left + FINISH_SECONDS:.0f} s"
    return f"{key[:6]} {progress.epochs_done}/{progress.epochs} -> {end}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", required=True, help="comma-separated grid names, in priority order")
    parser.add_argument("--budget", type=float, required=True, help="seconds from the start of this script")
    parser.add_argument("--processes", type=int, required=True, help="runs trained side by side")
    parser.add_argument("--first", default="", help="comma-separated keys trained first")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process")
    parser.add_argument("--results", default=None, help="results folder (default: the repository's results/)")
    parser.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu-out"))
    parser.add_argument("--limit", type=int, default=None, help="train only the first N unrecorded runs")
    for name in SHRINKABLE:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                            help="every run with this value instead (a dry run)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a process of the sweep
    args = parser.parse_args()
    store = ResultsStore(args.results)
    shrink = {name: getattr(args, name) for name in SHRINKABLE if getattr(args, name) is not None}
    queue = queue_of(comma_list(args.grids), comma_list(args.first), store, shrink, args.limit)
    if args.worker:
        work(queue, store, args.device, args.threads, args.budget)
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="anl-gpu-runs-"))
    if args.device == "cuda":
        log(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    log(f"queue: {len(queue)} unrecorded runs")
    if not queue:
        return
    log(f"data: {load_dataset(queue[0].dataset).source}")  # decoded once, into the cache the workers read
    epochs = {config.key: config.resolved()["epochs"] for config in queue}
    folder = checkpoint_dir(store)
    workers: list[tuple[subprocess.Popen, Path]] = []
    for number in range(min(args.processes, len(queue))):
        log_path = logs / f"worker-{number}.log"
        with log_path.open("w") as output:  # the worker holds its own copy of the file
            command = [sys.executable, __file__, *sys.argv[1:], "--worker"]
            workers.append((subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT), log_path))
    log(f"started {len(workers)} processes")
    try:
        while any(process.poll() is None for process, _ in workers):
            now = time.time() - STARTED
            if now > args.budget:
                log("the budget is spent: the processes still running stop; their checkpoints stay on this machine")
                break
            held = [key for key in epochs if run_claims.holder(folder, key)]  # read only their checkpoints
            line = "  ".join(progress_line(key, run_progress(key, epochs[key], store), now) for key in held)
            if line:
                log(line)
            time.sleep(WATCH_SECONDS)
    finally:  # whatever stopped the watch, no worker outlives it and its logs come back
        for process, _ in workers:
            process.kill()
            process.wait()
        with tarfile.open(out / "worker-logs.tar.gz", "w:gz") as archive:  # a device call returns at most 8 files
            archive.add(logs, arcname="worker-logs")
        packed = pack_checkpoints(queue, store, out / "checkpoints.tar.gz")
        log(f"packed the checkpoints of {len(packed)} unfinished runs into $OUT/checkpoints.tar.gz")
    for process, log_path in workers:
        lines = log_path.read_text().splitlines()
        log(f"{log_path.stem}: {lines[-1] if lines else '(no output)'}")


if __name__ == "__main__":
    main()
