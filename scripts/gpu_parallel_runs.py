"""Train the first runs of named grids side by side on a lent GPU, one process per run
(anl.train.train_run), inside one device call. Run it through ``scripts/gpu_grid.sh parallel``,
which sets the device's data, cache and code-version environment and packs the records that finish
into $OUT/records.tar.gz.

Why processes and not one batch (anl.batched): a batched CIFAR-10 step cost about 15 ms of Python
and kernel launches whatever the batch (H200: 15.7 ms at 4 runs, 30 ms at 24, measured before the
flat per-run rows of anl.batched cut its non-view ops by 40 %: measure again), so 120 epochs of
391 steps outlasted a 10-minute call; a single run's step launches a third as many kernels.

Measured on an H200 (16 cores; bf16, two threads a process): with three processes no run slows
another (NCE+RCE 3.0 s an epoch beside two others, 3.2 s alone; CE 2.8 s; ANL-CE 4.2 s, its L1 term
adds kernels), so three processes make about 0.9 epochs a second; eight shared the GPU at about
0.75 in all. Stopping a run does not speed up the others, so none is stopped before the deadline.
When a run ends, the next run in the queue takes its place.

At the deadline every run still training is stopped. Its per-epoch checkpoint stays on the
machine's disk (ANL_CHECKPOINTS, /tmp/anl-checkpoints under gpu_grid.sh) while the machine stays
warm (the device tool hands it back after about 30 s idle): fetch the records, then call again at
once with the same --first and the runs resume where they stopped. A run cut short in a session's
last call is lost (its checkpoint is too large to bring back).

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
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

from anl.data import load_dataset
from anl.engine import checkpoint_path
from anl.experiments import grid
from anl.results import ResultsStore
from anl.train import RunConfig, train_run

# the driver's start, inherited by its workers, so that their epoch times share its clock
STARTED = float(os.environ.setdefault("ANL_GPU_RUNS_STARTED", str(time.time())))

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+) at ([\d.]+) s: test ([\d.]+)")
WATCH_SECONDS = 10
FINISH_SECONDS = 15  # after a run's last epoch: final predictions and its record
PROJECT_AFTER = 5  # epochs


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


def work(config: RunConfig, store: ResultsStore, device: str, threads: int) -> None:
    """Train one run, printing one EPOCH_LINE per epoch."""
    torch.set_num_threads(threads)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    epochs = config.resolved()["epochs"]

    def report(epoch: int, metrics: dict) -> None:
        print(f"epoch {epoch}/{epochs} at {time.time() - STARTED:.1f} s: test {100 * metrics['test_acc']:.2f}",
              flush=True)

    record = train_run(config, store, device=device, progress=False, on_epoch_end=report)
    summary = record["summary"]
    print(f"done: {100 * summary['final_test_acc']:.2f} % at the last epoch, best {100 * summary['best_test_acc']:.2f} %"
          f" (epoch {summary['best_epoch']})", flush=True)


def projected_end(lines: list[str]) -> tuple[int, int, float | None]:
    """From a worker's output lines: (epochs done, epochs, projected finishing time in s from
    STARTED at the pace of its last three epochs). None before PROJECT_AFTER epochs in this call:
    their pace carries the worker's start (cuDNN's kernel choice, data onto the device, a resumed checkpoint)."""
    matches = [match for match in map(EPOCH_LINE.match, lines) if match]
    if not matches:
        return 0, 0, None
    done, epochs, at = int(matches[-1][1]), int(matches[-1][2]), float(matches[-1][3])
    if len(matches) < PROJECT_AFTER:
        return done, epochs, None
    recent = [float(match[3]) for match in matches[-4:]]
    per_epoch = (recent[-1] - recent[0]) / 3
    return done, epochs, at + (epochs - done) * per_epoch + FINISH_SECONDS


def next_actions(running: list[str], waiting: int, processes: int, now: float, budget: float) -> tuple[list[str], int]:
    """What the watch does now: (runs to stop, how many queued runs to start). Past the budget every
    running run stops and none starts; before it none stops (a run stopped early frees no time for
    the others) and free slots take queued runs."""
    if now > budget:
        return list(running), 0
    return [], max(0, min(processes - len(running), waiting))


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
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # the key of the run this process trains
    args = parser.parse_args()
    store = ResultsStore(args.results)
    shrink = {name: getattr(args, name) for name in SHRINKABLE if getattr(args, name) is not None}
    queue = queue_of(comma_list(args.grids), comma_list(args.first), store, shrink, args.limit)
    if args.worker:
        config = next((config for config in queue if config.key == args.worker), None)
        if config is None:
            raise SystemExit(f"run {args.worker} is recorded already or not in grids {args.grids}")
        work(config, store, args.device, args.threads)
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
    waiting = list(queue)
    workers: dict[str, tuple[subprocess.Popen, Path]] = {}

    def start_next() -> None:
        config = waiting.pop(0)
        log_path = logs / f"{config.key}.log"
        command = [sys.executable, __file__, *sys.argv[1:], "--worker", config.key]
        with log_path.open("w") as output:  # the worker holds its own copy of the file
            workers[config.key] = (subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT), log_path)
        log(f"started {config.key}: {config.loss} {config.noise}")

    try:
        while True:
            now = time.time() - STARTED
            running = [key for key, (process, _) in workers.items() if process.poll() is None]
            if running:
                status = {key: projected_end(workers[key][1].read_text().splitlines()) for key in running}
                log("  ".join(f"{key[:6]} {done}/{epochs} -> {'?' if end is None else f'{end:.0f} s'}"
                              for key, (done, epochs, end) in status.items()))
            stop, start = next_actions(running, len(waiting), args.processes, now, args.budget)
            for key in stop:
                workers[key][0].kill()
                log(f"stopped {key} at the deadline: its checkpoint stays on this machine")
            for _ in range(start):
                start_next()
            if stop or not (running or start):  # the deadline, or every run ended and none is left to start
                break
            time.sleep(WATCH_SECONDS)
    finally:  # whatever stopped the watch, no worker outlives it and its logs come back
        for process, _ in workers.values():
            process.kill()
            process.wait()
        with tarfile.open(out / "worker-logs.tar.gz", "w:gz") as archive:  # a device call returns at most 8 files
            archive.add(logs, arcname="worker-logs")
        packed = pack_checkpoints(queue, store, out / "checkpoints.tar.gz")
        log(f"packed the checkpoints of {len(packed)} unfinished runs into $OUT/checkpoints.tar.gz")
    for key in workers:
        lines = workers[key][1].read_text().splitlines()
        log(f"{key}: {lines[-1] if lines else '(no output)'}")


if __name__ == "__main__":
    main()
