"""Train as many runs of named grids as fit in one device call, as one batch (anl.batched), on a
lent GPU; the new records are packed into $OUT/records.tar.gz.

A batched run is lost if the call ends before its last epoch (its checkpoint is too large to
bring back), so the batch is sized from a measurement made in the same call: for R in
``--candidates``, the time of a training step and of one evaluation of R runs of the queue (noise
swapped for sym:0.4, which is cheap to draw; a run's step costs the same under any noise). A batch
of N runs is then expected to take epochs x (steps per epoch x step + evaluation) x N / R with R the
largest candidate not above N (per-run cost falls as R grows, so this overestimates), times
``--margin``; the largest N that fits before the budget's end is trained.

Usage, with the data staged by ``scripts/gpu_grid.sh stage GRID...`` (it also writes the commit the
records name into .device/git-sha):

    python3 scripts/gpu_fitted_batch.py --grids cifar10-table,cifar10-idn,cifar10n --budget 530 \
        [--first KEY,...] [--last KEY,...]

``--first`` / ``--last``: keys moved to the front / the back of the queue (grid order otherwise).
Fetch the records here with ``scripts/gpu_grid.sh fetch <files_at>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tarfile
import time
from pathlib import Path

STARTED = time.perf_counter()
REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("ANL_DATA", str(REPOSITORY / ".device" / "data"))
os.environ.setdefault("ANL_CACHE", "/tmp/anl-cache")
os.environ.setdefault("ANL_CHECKPOINTS", "/tmp/anl-checkpoints")
if (REPOSITORY / ".device" / "git-sha").is_file():
    os.environ.setdefault("ANL_GIT_SHA", (REPOSITORY / ".device" / "git-sha").read_text().strip())

import torch  # noqa: E402

from anl.batched import BatchedRuns, train_batched  # noqa: E402
from anl.data import load_dataset  # noqa: E402
from anl.engine import resolve_device  # noqa: E402
from anl.experiments import grid  # noqa: E402
from anl.results import ResultsStore  # noqa: E402
from anl.train import RunConfig  # noqa: E402

TIMED_STEPS = 30


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f} s] {message}", flush=True)


def queue_of(grids: list[str], first: list[str], last: list[str], store: ResultsStore) -> list[RunConfig]:
    """The unrecorded runs of ``grids`` in grid order, ``first`` keys at the front, ``last`` at the back."""
    configs: dict[str, RunConfig] = {}
    for name in grids:
        for config in grid(name):
            configs.setdefault(config.key, config)
    unknown = [key for key in first + last if key not in configs]
    if unknown:
        raise SystemExit(f"keys not in grids {', '.join(grids)}: {', '.join(unknown)}")
    ordered = [*first, *[key for key in configs if key not in first and key not in last], *last]
    return [configs[key] for key in ordered if not store.has(key)]


def time_batch(configs: list[RunConfig], dataset, device: torch.device) -> dict[str, float]:
    """Seconds of one training step and of one evaluation of these runs as one batch."""
    runs = BatchedRuns([dataclasses.replace(config, noise="sym:0.4") for config in configs], dataset, device)
    runs.set_epoch_lr(0)
    runs.model.train()
    batch = runs.configs[0]["batch_size"]
    orders = torch.stack([torch.randperm(runs.train_size, device=device, generator=generator)
                          for generator in runs.generators])

    def steps(first: int, count: int) -> float:
        torch.cuda.synchronize(device) if device.type == "cuda" else None
        tick = time.perf_counter()
        for step in range(first, first + count):
            runs.step(orders[:, step * batch:(step + 1) * batch])
        torch.cuda.synchronize(device) if device.type == "cuda" else None
        return time.perf_counter() - tick

    steps(0, 3)  # cuDNN's kernel choice for these shapes
    step = steps(3, TIMED_STEPS) / TIMED_STEPS
    tick = time.perf_counter()
    runs.evaluate()
    evaluation = time.perf_counter() - tick
    steps_per_epoch = -(-runs.train_size // batch)
    del runs
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {"runs": len(configs), "step_s": step, "eval_s": evaluation,
            "epoch_s": step * steps_per_epoch + evaluation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", required=True, help="comma-separated grid names, in priority order")
    parser.add_argument("--budget", type=float, required=True, help="seconds from the start of this script")
    parser.add_argument("--first", default="", help="comma-separated keys trained first")
    parser.add_argument("--last", default="", help="comma-separated keys trained last")
    parser.add_argument("--candidates", default="4,8,16", help="batch sizes timed, ascending")
    parser.add_argument("--margin", type=float, default=1.3, help="factor on the estimated batch time")
    parser.add_argument("--setup", type=float, default=45.0,
                        help="seconds kept for building the batch, final predictions and packing")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--results", default=None, help="results folder (default: the repository's results/)")
    parser.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu-out"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = STARTED + args.budget
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        log(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    store = ResultsStore(args.results)
    split = (lambda text: [part for part in text.split(",") if part])
    queue = queue_of(split(args.grids), split(args.first), split(args.last), store)
    log(f"queue: {len(queue)} unrecorded runs")
    if not queue:
        return
    dataset = load_dataset(queue[0].dataset)
    log(f"data: {dataset.source}")

    timings = []
    for candidate in map(int, split(args.candidates)):
        if candidate > len(queue):
            break
        timing = time_batch(queue[:candidate], dataset, device)
        timings.append(timing)
        log(f"R={candidate}: step {timing['step_s'] * 1e3:.1f} ms, evaluation {timing['eval_s']:.2f} s, "
            f"epoch {timing['epoch_s']:.1f} s")
    epochs = queue[0].resolved()["epochs"]
    left = deadline - time.perf_counter() - args.setup
    size = 0
    for count in range(1, len(queue) + 1):
        basis = max((t for t in timings if t["runs"] <= count), key=lambda t: t["runs"])
        if epochs * basis["epoch_s"] * count / basis["runs"] * args.margin <= left:
            size = count
    plan = {"timings": timings, "seconds_left": left, "runs": size,
            "keys": [config.key for config in queue[:size]]}
    (out / "plan.json").write_text(json.dumps(plan, indent=1))
    if size == 0:
        log("no run fits in the budget")
        return
    batch = queue[:size]
    log(f"training {size} runs: " + ", ".join(f"{c.loss} {c.noise}" for c in batch))

    def report(epoch: int, metrics: list[dict]) -> None:
        if epoch == 1 or epoch % 10 == 0:
            accuracy = " ".join(f"{100 * m['test_acc']:.1f}" for m in metrics)
            log(f"epoch {epoch}/{epochs}, {metrics[0]['train_time_s'] + metrics[0]['eval_time_s']:.1f} s: {accuracy}")

    records = train_batched(batch, store, dataset=dataset, device=device, progress=False,
                            on_epoch_end=report, deadline=deadline)
    if records is None:
        log("stopped at the deadline: no record")
        return
    with tarfile.open(out / "records.tar.gz", "w:gz") as archive:
        for record in records:
            archive.add(store.path(record["key"]), arcname=f"{record['key']}.json")
    for config, record in zip(batch, records):
        summary = record["summary"]
        log(f"{config.loss} {config.noise}: {100 * summary['final_test_acc']:.2f} % at the last epoch, "
            f"best {100 * summary['best_test_acc']:.2f} % (epoch {summary['best_epoch']})")
    log(f"packed {len(records)} records into {out / 'records.tar.gz'}")


if __name__ == "__main__":
    main()
