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
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch

from anl import losses
from anl.data import ImageDataset, load_dataset
from anl.models import build_model
from anl.engine import PRECISIONS, native_bf16, normalise, resolve_device, run_precision, train_step
from anl.train import PROTOCOLS, RunConfig, predict, prepare_data, train_epoch

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
        runs.set_epoch_lr(0)
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


def run_benchmarks(models: list[str], device: str | None, repeats: int, baseline: bool, epoch: bool,
                   runs: list[int] | None = None, precisions: list[str] | None = None) -> None:
    """Print one line of numbers per model and precision (default: fp32 then bf16), and with
    ``runs`` one line of batched rates."""
    if runs and min(runs) < 1:
        raise ValueError(f"runs per batch must be >= 1, got {', '.join(map(str, runs))}")
    precisions = list(PRECISIONS) if precisions is None else precisions
    for precision in precisions:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    for model_name in models:
        if model_name not in MODEL_DATASETS:
            raise ValueError(f"no benchmark data set for model {model_name!r}; choose from {', '.join(MODEL_DATASETS)}")
    device = resolve_device(device)
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
