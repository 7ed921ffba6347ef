"""Internal: ``python -m anl bench``: training and evaluation throughput on real data, printed as numbers,
for each model in each precision (fp32, and bf16 autocast; channels_last throughout).

- steps: images/s of bare training steps (forward, float32 objective, backward, clip, SGD) on
  batches already normalised on the device; warm-up excluded; median of ``repeats`` timings.
- eval: images/s of no-grad forward passes at batch 1000.
- epoch: one full training epoch through the trainer's data path (uint8 on the device, shuffled,
  augmented, normalised per batch): its seconds, its images/s, and its time over the same number
  of bare steps (the data-path overhead).
- baseline: the authors' style pipeline for the same model and batch: per-image PIL transforms in a
  torch DataLoader feeding the same training step.
- batched (``--runs 1,4,16``): aggregate training images/s of R runs trained in lockstep
  (anl.batched), 128 images per run and step, through the whole batched step: gather from uint8
  on the device, per-run augmentation, normalisation, grouped forward, per-run objectives
  (the benchmark losses in turn), backward, per-run clipping and SGD.
- step paths (``--steps eager,compiled,graphed``; all three by default on CUDA, none on CPU):
  training images/s of one run through the trainer's whole data path (the batch gathered from
  uint8 on the device, augmented, normalised, trained) by each step path of anl.compiled side by
  side; compilation excluded (warm-up).
- processes (``--processes 1,4,8``; by default on CUDA): aggregate training images/s of that many
  processes, each training one run by the fastest step path, timed over the same seconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from anl import compiled, losses
from anl.data import ImageDataset, load_dataset
from anl.models import build_model
from anl.engine import PRECISIONS, native_bf16, normalise, resolve_device, run_precision, train_step
from anl.train import (PROTOCOLS, RunConfig, TrainData, apply_augmentation, augment_batch, draw_augmentation, predict,
                       prepare_data, train_epoch)

#: Each protocol model -> the first data set whose protocol trains it (the data its benchmark reads).
MODEL_DATASETS = {model: next(name for name, protocol in PROTOCOLS.items() if protocol.model == model)
                  for model in dict.fromkeys(protocol.model for protocol in PROTOCOLS.values())}


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_rate(work: Callable[[], int], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median over ``repeats`` of images / second, where ``work()`` returns the images it processed."""
    for _ in range(warmup):
        work()
    rates = []
    for _ in range(repeats):
        synchronise(device)
        tick = time.perf_counter()
        images = work()
        synchronise(device)
        rates.append(images / (time.perf_counter() - tick))
    return statistics.median(rates)


def setup(model_name: str, dataset: ImageDataset, device: torch.device, precision: str):
    """Model, objective (CE), optimizer and the run config for the benchmark."""
    protocol = PROTOCOLS[dataset.name]
    config = RunConfig(dataset=dataset.name, loss="ce", model=model_name, train_eval_size=1,
                       precision=precision).resolved()
    torch.manual_seed(0)
    model = build_model(model_name, dataset.num_classes, dataset.image_shape[0])
    model = model.to(device=device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=protocol.lr, momentum=0.9,
                                weight_decay=protocol.weight_decay)
    return model, losses.build("ce"), optimizer, config


def bench_model(model_name: str, dataset: ImageDataset, device: torch.device, precision: str, repeats: int,
                epoch: bool, baseline: bool) -> dict[str, float]:
    """The numbers for one model in one precision on its protocol's real data set."""
    model, objective, optimizer, config = setup(model_name, dataset, device, precision)
    amp = run_precision(config) == "bf16"
    data = prepare_data(config, dataset, device)
    batch = config["batch_size"]
    steps = 30 if device.type == "cpu" else 200
    batches = [normalise(data.images[i * batch:(i + 1) * batch], data.mean, data.std)
               .contiguous(memory_format=torch.channels_last) for i in range(8)]
    labels = [data.labels[i * batch:(i + 1) * batch] for i in range(8)]

    def bare_steps() -> int:
        for step in range(steps):
            train_step(model, objective, optimizer, batches[step % 8], labels[step % 8], config["grad_clip"], amp)
        return steps * batch

    results = {"train_img_s": median_rate(bare_steps, device, repeats)}
    results["eval_img_s"] = median_rate(
        lambda: len(predict(model, data.test_images, data, amp=amp)), device, repeats)
    if epoch:
        generator = torch.Generator(device=device).manual_seed(0)
        tick = time.perf_counter()
        train_epoch(model, objective, optimizer, data, config, generator, amp)
        synchronise(device)
        epoch_time = time.perf_counter() - tick
        results["epoch_s"] = epoch_time
        results["epoch_img_s"] = len(data.labels) / epoch_time
        results["epoch_over_bare_steps"] = epoch_time / (len(data.labels) / results["train_img_s"])
    if baseline:
        results["baseline_img_s"] = bench_baseline(model, objective, optimizer, dataset, config, device, repeats, amp)
        results["speedup_over_baseline"] = results["train_img_s"] / results["baseline_img_s"]
    return results


def bench_baseline(model: torch.nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
                   dataset: ImageDataset, config: dict, device: torch.device, repeats: int, amp: bool) -> float:
    """Images/s of the same training step fed by PIL transforms in a DataLoader (the authors' style)."""
    from PIL import Image

    from anl._torchvision import import_torchvision

    transforms = import_torchvision().transforms
    augment = [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()] \
        if config["augment"] != "none" else []
    pipeline = transforms.Compose([*augment, transforms.ToTensor(), transforms.Normalize(dataset.mean, dataset.std)])
    mode = "L" if dataset.image_shape[0] == 1 else "RGB"
    images = dataset.train_images.permute(0, 2, 3, 1).squeeze(-1).numpy()
    labels = dataset.train_labels

    class PilDataset(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(labels)

        def __getitem__(self, i: int):
            return pipeline(Image.fromarray(images[i], mode=mode)), labels[i]

    workers = 0 if device.type == "cpu" else min(8, os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(PilDataset(), batch_size=config["batch_size"], shuffle=True,
                                         num_workers=workers, pin_memory=device.type == "cuda", drop_last=True,
                                         persistent_workers=workers > 0)
    steps = 20 if device.type == "cpu" else 150

    def loader_steps() -> int:
        count = 0
        for step, (x, y) in enumerate(loader):
            if step == steps:
                break
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            train_step(model, objective, optimizer, x, y.to(device, non_blocking=True), config["grad_clip"], amp)
            count += len(y)
        return count

    return median_rate(loader_steps, device, repeats)


def bench_batched(model_name: str, dataset: ImageDataset, device: torch.device, precision: str,
                  runs_per_batch: list[int], repeats: int) -> dict[int, float]:
    """Aggregate training images/s of ``R`` runs in lockstep, for each R in ``runs_per_batch``."""
    from anl.batched import BatchedRuns
    from anl.experiments import BENCHMARK_LOSSES

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    steps = 2 if device.type == "cpu" else 50
    rates = {}
    for runs_count in runs_per_batch:
        configs = [RunConfig(dataset.name, BENCHMARK_LOSSES[run % len(BENCHMARK_LOSSES)], noise="sym:0.4",
                             seed=run + 1, model=model_name, train_eval_size=1, precision=precision)
                   for run in range(runs_count)]
        runs = BatchedRuns(configs, dataset, device)
        runs.set_lr(0)
        runs.model.train()
        batch = runs.configs[0]["batch_size"]
        orders = torch.stack([torch.randperm(runs.train_size, device=device, generator=generator)
                              for generator in runs.generators])

        def batched_steps() -> int:
            for step in range(steps):
                runs.step(orders[:, step * batch:(step + 1) * batch])
            return steps * batch * runs_count

        rates[runs_count] = median_rate(batched_steps, device, repeats)
    return rates


def default_step_paths(device: torch.device) -> list[str]:
    """The step paths timed side by side unless asked: all of anl.compiled.STEPS on CUDA, none on
    a CPU (compiling cnn8 there takes minutes)."""
    return list(compiled.STEPS) if device.type == "cuda" else []


def step_path_trainer(path: str, model: torch.nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
                      data: TrainData, config: dict, amp: bool, generator: torch.Generator) -> Callable[[torch.Tensor], None]:
    """``train(index)``: one training step on the samples ``index`` through the trainer's data path
    by step ``path`` (anl.compiled.STEPS)."""
    device = data.images.device
    if path == "eager":
        def train(index: torch.Tensor) -> None:
            x = normalise(augment_batch(data.images[index], config["augment"], generator), data.mean, data.std)
            train_step(model, objective, optimizer, x.contiguous(memory_format=torch.channels_last), data.labels[index],
                       config["grad_clip"], amp)
        return train
    step = compiled.CompiledStep(model, objective, optimizer, data, apply_augmentation, config["grad_clip"], amp, path)
    step.start_epoch()
    return lambda index: step(index, draw_augmentation(len(index), config["augment"], generator, device))


def step_path_run(model_name: str, dataset: ImageDataset, device: torch.device, precision: str,
                  path: str) -> tuple[Callable[[torch.Tensor], None], torch.Tensor, int]:
    """A fresh run of ``model_name`` on ``dataset`` in train mode, trained by step ``path``:
    (``train(index)``, a seeded order of its training samples, its batch size)."""
    model, objective, optimizer, config = setup(model_name, dataset, device, precision)
    data = prepare_data(config, dataset, device)
    generator = torch.Generator(device=device).manual_seed(0)
    order = torch.randperm(len(data.labels), device=device, generator=generator)
    train = step_path_trainer(path, model, objective, optimizer, data, config, run_precision(config) == "bf16",
                              generator)
    model.train()
    return train, order, config["batch_size"]


def bench_step_paths(model_name: str, dataset: ImageDataset, device: torch.device, precision: str, paths: list[str],
                     repeats: int) -> dict[str, float]:
    """Training images/s of one run by each step path in ``paths``, every path from the same
    initial weights on the same batches; two warm-up rounds (compilation, graph capture) excluded."""
    steps = 5 if device.type == "cpu" else 100
    rates = {}
    for path in paths:
        train, order, batch = step_path_run(model_name, dataset, device, precision, path)

        def timed_steps() -> int:
            for step in range(steps):
                train(order[step * batch:(step + 1) * batch])
            return steps * batch

        rates[f"{path}_img_s"] = median_rate(timed_steps, device, repeats, warmup=2)
    return rates


def process_rate(model_name: str, precision: str, path: str, device: str, seconds: float, barrier: str,
                 processes: int) -> None:
    """One of ``processes`` benchmark processes: warm up one run's ``path`` step, wait until all
    have (a file each in the folder ``barrier``), then train for ``seconds`` and print its images/s."""
    device = resolve_device(device)
    train, order, batch = step_path_run(model_name, load_dataset(MODEL_DATASETS[model_name]), device, precision, path)
    chunks = (len(order) // batch) // 10  # a chunk of 10 steps between the clock's looks

    def ten_steps(chunk: int) -> None:
        for step in range(10 * (chunk % chunks), 10 * (chunk % chunks) + 10):
            train(order[step * batch:(step + 1) * batch])
        synchronise(device)

    for chunk in range(2):
        ten_steps(chunk)
    Path(barrier, str(os.getpid())).touch()
    while len(list(Path(barrier).iterdir())) < processes:
        time.sleep(0.05)
    tick, chunk = time.perf_counter(), 0
    while time.perf_counter() - tick < seconds:
        ten_steps(chunk)
        chunk += 1
    print(chunk * 10 * batch / (time.perf_counter() - tick), flush=True)


def bench_processes(model_name: str, device: torch.device, precision: str, path: str, counts: list[int],
                    seconds: float = 10.0) -> dict[int, float]:
    """Aggregate training images/s of P processes at once (each :func:`process_rate`), for each P in ``counts``."""
    rates = {}
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="anl-bench-") as barrier:
            code = (f"from anl.bench import process_rate; process_rate({model_name!r}, {precision!r}, {path!r}, "
                    f"{str(device)!r}, {seconds}, {barrier!r}, {count})")
            workers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
                       for _ in range(count)]
            outputs = [worker.communicate()[0] for worker in workers]
        failed = [worker.returncode for worker in workers if worker.returncode]
        if failed:
            raise RuntimeError(f"{len(failed)} of {count} benchmark processes failed (exit {failed[0]})")
        rates[count] = sum(float(output.split()[-1]) for output in outputs)
    return rates


def run_benchmarks(models: list[str], device: str | None, repeats: int, baseline: bool, epoch: bool,
                   runs: list[int] | None = None, precisions: list[str] | None = None,
                   steps: list[str] | None = None, processes: list[int] | None = None) -> None:
    """Print one line of numbers per model and precision (default: fp32 then bf16); with ``runs``
    one line of batched rates; one line of the step paths ``steps`` side by side (None:
    :func:`default_step_paths`); and one of aggregate rates for each number of ``processes``
    (None: 1, 4, 8 on CUDA, none on a CPU), by the last of the step paths."""
    if runs and min(runs) < 1:
        raise ValueError(f"runs per batch must be >= 1, got {', '.join(map(str, runs))}")
    if processes and min(processes) < 1:
        raise ValueError(f"processes must be >= 1, got {', '.join(map(str, processes))}")
    for path in steps or ():
        if path not in compiled.STEPS:
            raise ValueError(f"unknown step path {path!r}; choose from {', '.join(compiled.STEPS)}")
    precisions = list(PRECISIONS) if precisions is None else precisions
    for precision in precisions:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    for model_name in models:
        if model_name not in MODEL_DATASETS:
            raise ValueError(f"no benchmark data set for model {model_name!r}; choose from {', '.join(MODEL_DATASETS)}")
    device = resolve_device(device)
    steps = default_step_paths(device) if steps is None else steps
    if "graphed" in steps and device.type != "cuda":
        raise ValueError(f"the graphed step captures CUDA graphs; on {device.type} choose eager or compiled")
    processes = ([1, 4, 8] if device.type == "cuda" else []) if processes is None else processes
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"device: {name}; batch 128; channels_last; median of {repeats} repeats, warm-up excluded; "
          f"native bf16: {native_bf16(device)}")
    for model_name in models:
        dataset = load_dataset(MODEL_DATASETS[model_name])
        for precision in precisions:
            results = bench_model(model_name, dataset, device, precision, repeats, epoch, baseline)
            print(f"{model_name} ({MODEL_DATASETS[model_name]}) {precision}: " + ", ".join(
                f"{key} {value:,.2f}" if value < 100 else f"{key} {value:,.0f}" for key, value in results.items()),
                flush=True)
            if runs:
                rates = bench_batched(model_name, dataset, device, precision, runs, repeats)
                label = "baseline_img_s" if baseline else "train_img_s"
                print(f"{model_name} {precision} batched, aggregate train img/s (x {label}): " + ", ".join(
                    f"R={count} {rate:,.0f} (x{rate / results[label]:.1f})" for count, rate in rates.items()),
                    flush=True)
            if steps:
                rates = bench_step_paths(model_name, dataset, device, precision, steps, repeats)
                print(f"{model_name} {precision} step paths, train img/s through the data path: " + ", ".join(
                    f"{key} {value:,.0f}" for key, value in rates.items()), flush=True)
            if processes:
                path = steps[-1] if steps else "eager"
                rates = bench_processes(model_name, device, precision, path, processes)
                print(f"{model_name} {precision} {path}, aggregate train img/s of P processes: " + ", ".join(
                    f"P={count} {rate:,.0f}" for count, rate in rates.items()), flush=True)
