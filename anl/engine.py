"""Internal: the training engine the classification, batched and segmentation trainers share: device and
precision, seeding, the shuffled training epoch and SGD step, batched prediction, checkpoints and
progress bars, the run loop (:func:`train_loop`: resume, then per epoch set the learning rate,
train, evaluate, checkpoint) over one small :class:`Task`, the claim-to-record path of a task
(:func:`train_task`), the record and its provenance, and the sweep that trains every run not yet
recorded while holding a claim on it.

A task says what a run is (anl.train.ClassificationRun, anl.segmentation.SegmentationRun, or R
runs in lockstep, anl.batched.BatchedRuns): its data, model and optimiser, how an epoch trains,
how it is evaluated and what its record holds. Everything that is the same for every kind of run
is here, once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from anl import losses, run_claims
from anl.atomic import atomic_write_bytes
from anl.results import ResultsStore, code_version, package_versions

PRECISIONS = ("fp32", "bf16")  # of the model's forward and backward; objective and weights stay float32
#: The precision of a config (or record) that names none: a resolved config names its precision
#: only when it is another, so every run keeps the key it had before precision was a field.
DEFAULT_PRECISION = "fp32"
SUBSET_SEED = 0  # the training subset, same for every run
TRAIN_EVAL_SEED = 0  # the sample of training images scored every epoch, same for every run

class Config(Protocol):
    """A run config: its ``key`` is the hash of its resolved fields."""

    @property
    def key(self) -> str: ...


# ----------------------------------------------------------------------------- device and precision
def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' or None: CUDA when available, else CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device; use --device cpu")
    return device


def device_name(device: torch.device) -> str:
    """The GPU's name, or 'cpu' (provenance.device_name)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively: a CUDA GPU that supports it, or a CPU whose
    flags in /proc/cpuinfo include avx512_bf16 or amx_bf16 (elsewhere, e.g. macOS, False: oneDNN
    would emulate bf16, which is no faster than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        flags = {flag for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
                 for flag in line.partition(":")[2].split()}
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, device: str | torch.device | None) -> str:
    """'auto': "bf16" where :func:`native_bf16` says so for the resolved device, else "fp32";
    "fp32" and "bf16" as given."""
    if precision == "auto":
        return "bf16" if native_bf16(resolve_device(device)) else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of auto, {', '.join(PRECISIONS)}")
    return precision


def run_precision(config: dict[str, Any]) -> str:
    """The precision of a resolved config (or a record's config): DEFAULT_PRECISION where it names none."""
    return config.get("precision", DEFAULT_PRECISION)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (a model's initial weights)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fixed_sample(candidates: int | np.ndarray, size: int, seed: int) -> np.ndarray:
    """The first ``size`` of np.random.default_rng(seed).permutation(candidates), sorted: a sample
    of training images that is the same for every run (``seed``: SUBSET_SEED or TRAIN_EVAL_SEED)."""
    return np.sort(np.random.default_rng(seed).permutation(candidates)[:size])


# ----------------------------------------------------------------------------- steps and prediction
def normalise(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 (x / 255 - mean) / std."""
    return (images.float().div_(255) - mean).div_(std)


def cosine_lr(base_lr: float, epoch: int, epochs: int) -> float:
    """lr for 0-based ``epoch``: base * (1 + cos(pi * epoch / epochs)) / 2 (CosineAnnealingLR, eta_min 0)."""
    return base_lr * (1 + math.cos(math.pi * epoch / epochs)) / 2


def set_cosine_lr(optimizer: torch.optim.Optimizer, config: dict[str, Any], epoch: int) -> float:
    """Set every parameter group's lr to :func:`cosine_lr` of config["lr"] over config["epochs"]; return it."""
    lr = cosine_lr(config["lr"], epoch, config["epochs"])
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def train_step(model: nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
               x: torch.Tensor, labels: torch.Tensor, grad_clip: float, amp: bool) -> torch.Tensor:
    """One step on a normalised batch: forward (bf16 autocast if ``amp``), float32 objective with
    the L1 term, backward, gradient-norm clipping, update. Returns the detached objective."""
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    loss = objective(logits, labels, parameters)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
    optimizer.step()
    return loss.detach()


def train_shuffled_epoch(model: nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
                         count: int, device: torch.device, config: dict[str, Any], generator: torch.Generator,
                         amp: bool, batch: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> float:
    """One pass over ``count`` training samples held on ``device`` in a seeded random order
    (torch.randperm with ``generator``), batches of config["batch_size"]; ``batch(index)`` gives the normalised
    channels_last inputs and the targets of those samples. Returns the mean objective."""
    model.train()
    total = torch.zeros((), device=device)
    order = torch.randperm(count, device=device, generator=generator)
    for start in range(0, count, config["batch_size"]):
        index = order[start:start + config["batch_size"]]
        x, targets = batch(index)
        total += train_step(model, objective, optimizer, x, targets, config["grad_clip"], amp) * len(index)
    return total.item() / count


@torch.no_grad()
def eval_logits(model: nn.Module, images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                batch_size: int, amp: bool) -> Iterator[torch.Tensor]:
    """float32 logits of uint8 ``images``, batch by batch, in eval mode: normalised, channels_last,
    under bf16 autocast if ``amp``."""
    model.eval()
    for start in range(0, len(images), batch_size):
        x = normalise(images[start:start + batch_size], mean, std)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(x.contiguous(memory_format=torch.channels_last)).float()
        yield logits


# ----------------------------------------------------------------------------- checkpoints and progress
class NonFiniteObjectiveError(ValueError):
    """A run whose training objective became NaN or infinite: it stops, unrecorded."""


class RunClaimedError(ValueError):
    """A run that another worker is training (it holds the claim on it)."""


def checkpoint_dir(store: ResultsStore) -> Path:
    """The folder of ``store``'s checkpoints and of the claims on its runs: ``<store>/checkpoints``;
    or, when $ANL_CHECKPOINTS names a folder (a fast local disk), its subfolder named by a hash of
    the store's absolute path. Either way two stores never share a checkpoint or a claim, so a run
    trained into one store can neither resume from nor delete the checkpoint of the same config in
    another."""
    base = os.environ.get("ANL_CHECKPOINTS")
    if not base:
        return store.root / "checkpoints"
    return Path(base) / hashlib.sha256(str(store.root.resolve()).encode()).hexdigest()[:16]


def checkpoint_path(store: ResultsStore, key: str) -> Path:
    """The checkpoint of run ``key`` of ``store``."""
    return checkpoint_dir(store) / f"{key}.pt"


@contextlib.contextmanager
def claim_runs(store: ResultsStore | None, keys: Sequence[str]) -> Iterator[None]:
    """Hold this worker's claims (anl.run_claims) on runs ``keys`` of ``store`` while the block trains
    them; RunClaimedError naming the holder if another worker holds one. No store: no claims."""
    with contextlib.ExitStack() as stack:
        folder = checkpoint_dir(store) if store is not None else None
        for key in keys if folder is not None else ():
            if not stack.enter_context(run_claims.claimed(folder, key)):
                owner = run_claims.holder(folder, key) or {}
                raise RunClaimedError(f"run {key} is being trained by another worker "
                                      f"({owner.get('host', '?')}:{owner.get('pid', '?')}, claim "
                                      f"{run_claims.claim_path(folder, key)}); wait for it to finish")
        yield


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """torch.save ``state`` to ``path`` atomically (a run killed mid-save keeps its last checkpoint)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state :func:`save_checkpoint` wrote to ``path``, on the CPU."""
    return torch.load(path, map_location="cpu", weights_only=False)


#: The code version of the epochs of a checkpoint written before checkpoints stored one.
UNKNOWN_CODE_VERSION = {"git_sha": "unknown", "git_dirty": None,
                        "code_version_source": "checkpoint written without its code version"}


def is_current_code(span: dict[str, Any]) -> bool:
    """Whether the code version of ``span`` (a code_versions entry) is this process's code."""
    current = code_version()
    return {name: span.get(name) for name in current} == current


def extend_code_versions(versions: list[dict[str, Any]], epoch: int) -> list[dict[str, Any]]:
    """``versions`` (the code versions that trained epochs 1..epoch-1, each with its first_epoch
    and last_epoch) with 1-based ``epoch`` added as trained by this process's code."""
    current = code_version()
    if versions and is_current_code(versions[-1]):
        return [*versions[:-1], {**versions[-1], "last_epoch": epoch}]
    return [*versions, {**current, "first_epoch": epoch, "last_epoch": epoch}]


@dataclass(frozen=True)
class RunProgress:
    """Where one run stands: ``state`` "recorded", "training" (a worker holds a live claim on it),
    "stopped" (a checkpoint, no live claim: the next sweep resumes it) or "waiting"; its
    ``epochs_done`` of ``epochs``, the ``worker`` ("host:pid") holding it, and the metrics of its
    last completed epoch (:func:`epoch_metrics`; None before the first)."""

    state: Literal["recorded", "training", "stopped", "waiting"]
    epochs_done: int
    epochs: int
    worker: str = ""
    last_epoch: dict[str, Any] | None = None

    @property
    def seconds_left(self) -> float | None:
        """The epochs still to train times the last epoch's training and evaluation time; None
        for a recorded run or one without a timed epoch."""
        if self.state == "recorded" or not self.last_epoch or "train_time_s" not in self.last_epoch:
            return None
        return (self.epochs - self.epochs_done) * (self.last_epoch["train_time_s"] + self.last_epoch["eval_time_s"])


def run_progress(key: str, epochs: int, store: ResultsStore) -> RunProgress:
    """The :class:`RunProgress` of the run ``key`` of ``epochs`` epochs, from its record in
    ``store``, else its checkpoint and claim in :func:`checkpoint_dir` of ``store``."""
    if store.has(key):
        history = store.read(key)["epochs"]
        return RunProgress("recorded", len(history), epochs, last_epoch=history[-1])
    path = checkpoint_path(store, key)
    history = load_checkpoint(path)["epochs"] if path.is_file() else []
    owner = run_claims.holder(checkpoint_dir(store), key)
    state = "training" if owner else "stopped" if history else "waiting"
    return RunProgress(state, len(history), epochs, f"{owner['host']}:{owner['pid']}" if owner else "",
                       history[-1] if history else None)


@contextlib.contextmanager
def progress_bar(label: str, total: int, done: int, enabled: bool, unit: str = "epoch") -> Iterator[Any]:
    """A tqdm bar for the block, closed when it ends; None when disabled or tqdm is not installed."""
    bar = None
    if enabled:
        try:
            from tqdm.auto import tqdm  # optional: a run trains the same without it
        except ImportError:
            pass
        else:
            bar = tqdm(total=total, initial=done, desc=label, unit=unit, leave=False)
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()


def epoch_metrics(epoch: int, lr: float, train_objective: float, epoch_scores: dict[str, Any],
                  train_time: float, eval_time: float) -> dict[str, Any]:
    """One entry of a record's ``epochs`` (1-based ``epoch``)."""
    return {"epoch": epoch, "lr": lr, "train_objective": train_objective, **epoch_scores,
            "train_time_s": train_time, "eval_time_s": eval_time}


def training_state(model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> dict[str, Any]:
    """A single run's checkpoint state (beside the loop's torch_rng, epochs and elapsed)."""
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "generator": generator.get_state()}


def load_training_state(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
                        generator: torch.Generator) -> None:
    """Restore what :func:`training_state` saved."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])


# ----------------------------------------------------------------------------- the run loop
@dataclass(frozen=True)
class TrainedEpochs:
    """What :func:`train_loop` trained: ``epochs``, one list of :func:`epoch_metrics` per run of the
    task; ``wall_time`` in seconds including time before a resume; ``code_versions``, the code
    versions that trained the epochs, each with its first_epoch and last_epoch (several when the run
    was resumed after a code change)."""

    epochs: list[list[dict[str, Any]]]
    wall_time: float
    code_versions: list[dict[str, Any]] = field(default_factory=list)


class Task(Protocol):
    """What :func:`train_loop` trains: one run, or R runs in lockstep (anl.batched), each method
    answering for every run of ``keys``, in that order.

    ``name`` names its checkpoint (:func:`checkpoint_path`); ``label`` its progress bar and errors;
    ``headline`` the metric its bar shows (None: none); ``epochs`` how many it trains.
    ``checkpoint(history)`` is its state with its per-run epochs so far, ``resume(saved)`` restores
    that state and returns those epochs; ``records(trained)`` are its runs' records."""

    keys: list[str]
    name: str
    label: str
    headline: str | None
    epochs: int

    def set_lr(self, epoch: int) -> list[float]: ...

    def train_epoch(self) -> list[float]: ...

    def evaluate(self) -> list[dict[str, Any]]: ...

    def checkpoint(self, history: list[list[dict[str, Any]]]) -> dict[str, Any]: ...

    def resume(self, saved: dict[str, Any]) -> list[list[dict[str, Any]]]: ...

    def records(self, trained: TrainedEpochs) -> list[dict[str, Any]]: ...


#: ``on_epoch_end(epoch, metrics)``, called after each epoch's checkpoint is written (1-based epoch;
#: one epoch's metrics per run of the task).
EpochCallback = Callable[[int, list[dict[str, Any]]], None]


def train_loop(task: Task, path: Path | None, *, progress: bool, on_epoch_end: EpochCallback | None = None,
               deadline: float | None = None, epoch_estimate: float | None = None) -> TrainedEpochs | None:
    """Train ``task`` epoch by epoch: resume from the checkpoint at ``path`` if there is one, then
    per 0-based epoch set the learning rate, train, evaluate, write the checkpoint (the task's, with
    "torch_rng", "elapsed" and "code_versions") and call ``on_epoch_end``. ``path`` None: no
    checkpoint is read or written.

    A training objective that is NaN or infinite raises NonFiniteObjectiveError before that
    epoch's checkpoint is written (a record holds finite numbers only).

    ``deadline`` (a time.perf_counter() value): before each epoch, return None (the checkpoint
    stays) if the epoch would end after it; an epoch takes as long as the last one, or
    ``epoch_estimate`` seconds before the first (None: unknown, go on).
    """
    code_version()  # read now, before any epoch trains: the version of the code this run imported
    history: list[list[dict[str, Any]]] = [[] for _ in task.keys]
    elapsed, versions = 0.0, []
    if path is not None and path.is_file():
        saved = load_checkpoint(path)
        history = task.resume(saved)
        torch.set_rng_state(saved["torch_rng"])
        elapsed = saved["elapsed"]
        versions = saved.get("code_versions") or [
            {**UNKNOWN_CODE_VERSION, "first_epoch": 1, "last_epoch": len(history[0])}]
    started = time.perf_counter() - elapsed
    estimate = epoch_estimate
    with progress_bar(task.label, task.epochs, len(history[0]), progress) as bar:
        for epoch in range(len(history[0]), task.epochs):
            tick = time.perf_counter()
            if deadline is not None and estimate is not None and tick + estimate > deadline:
                return None
            rates = task.set_lr(epoch)
            objectives = task.train_epoch()
            if not all(math.isfinite(value) for value in objectives):
                raise NonFiniteObjectiveError(
                    f"{task.label}: the training objective is {', '.join(map(str, objectives))} in epoch {epoch + 1}; "
                    "the run stops unrecorded (its checkpoint keeps the last finite epoch): lower the learning rate "
                    "or the weight decay")
            train_time = time.perf_counter() - tick
            evaluated = time.perf_counter()
            scores = task.evaluate()
            eval_time = time.perf_counter() - evaluated
            metrics = [epoch_metrics(epoch + 1, rate, objective, scored, train_time, eval_time)
                       for rate, objective, scored in zip(rates, objectives, scores)]
            for run_history, run_metrics in zip(history, metrics):
                run_history.append(run_metrics)
            versions = extend_code_versions(versions, epoch + 1)
            if path is not None:
                save_checkpoint(path, {**task.checkpoint(history), "torch_rng": torch.get_rng_state(),
                                       "elapsed": time.perf_counter() - started, "code_versions": versions})
            estimate = time.perf_counter() - tick
            if bar is not None:
                bar.update(1)
                if task.headline is not None:
                    bar.set_postfix({task.headline: f"{metrics[0][task.headline]:.4f}"})
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, metrics)
    return TrainedEpochs(history, time.perf_counter() - started, versions)


def train_task(task: Task, store: ResultsStore | None, *, progress: bool, on_epoch_end: EpochCallback | None = None,
               deadline: float | None = None, epoch_estimate: float | None = None) -> list[dict[str, Any]] | None:
    """A task from claim to records: claim its runs in ``store`` (:func:`claim_runs`), return their
    records if other workers wrote them all meanwhile, else :func:`train_loop` it from its
    checkpoint, write its records and delete the checkpoint. Returns the records in the order of
    ``task.keys``, or None when stopped for ``deadline`` (the checkpoint stays). Without a store:
    neither claimed, checkpointed nor written."""
    path = None if store is None else checkpoint_path(store, task.name)
    with claim_runs(store, task.keys):
        if store is not None and all(store.has(key) for key in task.keys):
            return [store.read(key) for key in task.keys]
        trained = train_loop(task, path, progress=progress, on_epoch_end=on_epoch_end, deadline=deadline,
                             epoch_estimate=epoch_estimate)
        if trained is None:
            return None
        records = task.records(trained)
        if store is not None:
            for record in records:
                store.write(record)
            path.unlink(missing_ok=True)
    return records


class SingleRun:
    """The part of a :class:`Task` every single run shares: one model, optimiser and training
    generator, the cosine lr of config["lr"] over config["epochs"], and its checkpoint (the model's,
    optimiser's and generator's states, and the run's list of epochs). A trainer's run adds
    ``train_epoch``, ``evaluate`` and ``records``."""

    headline: str | None = None

    def __init__(self, key: str, config: dict[str, Any], label: str, model: nn.Module,
                 optimizer: torch.optim.Optimizer, generator: torch.Generator) -> None:
        self.keys, self.name, self.label, self.epochs = [key], key, label, config["epochs"]
        self.config, self.model, self.optimizer, self.generator = config, model, optimizer, generator

    def set_lr(self, epoch: int) -> list[float]:
        return [set_cosine_lr(self.optimizer, self.config, epoch)]

    def checkpoint(self, history: list[list[dict[str, Any]]]) -> dict[str, Any]:
        return {**training_state(self.model, self.optimizer, self.generator), "epochs": history[0]}

    def resume(self, saved: dict[str, Any]) -> list[list[dict[str, Any]]]:
        load_training_state(saved, self.model, self.optimizer, self.generator)
        return [saved["epochs"]]


def single_run_callback(on_epoch_end: Callable[[int, dict[str, Any]], None] | None) -> EpochCallback | None:
    """A single run's ``on_epoch_end(epoch, metrics)`` as an :data:`EpochCallback` (its one run's metrics)."""
    if on_epoch_end is None:
        return None
    return lambda epoch, metrics: on_epoch_end(epoch, metrics[0])


# ----------------------------------------------------------------------------- records
def provenance(device: torch.device, amp: bool, data_source: str, trained: TrainedEpochs) -> dict[str, Any]:
    """Where and how a run was computed: code version, packages, device, threads, bf16 autocast,
    the data's source, wall time and the finishing time (UTC); and ``code_versions``, the code
    version of each span of epochs, when some epochs were trained by other code than the record's
    (a run resumed after a code change)."""
    spans = ({"code_versions": trained.code_versions}
             if not all(is_current_code(span) for span in trained.code_versions) else {})
    return {**code_version(), **spans, "packages": package_versions(), "device": device.type,
            "device_name": device_name(device), "threads": torch.get_num_threads(), "amp_bf16": amp,
            "data_source": data_source, "wall_time_s": trained.wall_time,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def make_record(key: str, config: dict[str, Any], objective: losses.Objective, noise: dict[str, Any],
                epochs: list[dict[str, Any]], summary: dict[str, Any], provenance: dict[str, Any],
                **extra: Any) -> dict[str, Any]:
    """The JSON record of a finished run (the anl.results schema), with a trainer's ``extra`` fields."""
    return {"key": key, "config": config, "loss_hparams": objective.hparams(), "noise": noise, "epochs": epochs,
            "summary": summary, **extra, "provenance": provenance}


# ----------------------------------------------------------------------------- sweeps
def deadline_after(time_budget: float | None) -> float | None:
    """The time.perf_counter() value ``time_budget`` seconds from now (None: no deadline)."""
    if time_budget is None:
        return None
    if time_budget <= 0:
        raise ValueError(f"time budget must be > 0 seconds, got {time_budget}")
    return time.perf_counter() + time_budget


@contextlib.contextmanager
def claimed_task(store: ResultsStore, keys: Sequence[str]) -> Iterator[bool]:
    """``with claimed_task(store, keys) as mine:`` hold this worker's claims on the runs ``keys``
    not yet in ``store`` (anl.run_claims, in :func:`checkpoint_dir`); ``mine`` is False, and none is
    held, when another worker holds one of them or none is left to train."""
    folder = checkpoint_dir(store)
    with contextlib.ExitStack() as stack:
        claims = [stack.enter_context(run_claims.claimed(folder, key, needed=lambda key=key: not store.has(key)))
                  for key in keys if not store.has(key)]
        mine = bool(claims) and all(claims)
        if not mine:
            stack.close()
        yield mine


def sweep(tasks: Sequence[Sequence[Config]], store: ResultsStore, train: Callable[[list[Any], float | None], bool],
          *, deadline: float | None = None, label: str = "sweep", progress: bool = True) -> list[dict[str, Any]]:
    """The one scheduler of runs: for each task of ``tasks`` (the configs of runs trained as one: a
    single run, or a batch), in order, that has a run not yet in ``store``, hold this worker's
    claims on its runs (:func:`claimed_task`) and call ``train(configs, deadline)``, which returns
    False when it stopped, or did not start, for ``deadline`` (its checkpoint stays for the next
    sweep). A task of which another worker holds a run is left to it; from ``deadline`` (a
    time.perf_counter() value) on, no task starts. Workers sharing ``store`` can run this on the
    same tasks at once: each run is trained by one of them. Every config is validated before any
    training. Returns the records in ``store`` at the end, in the order given (a run left to another
    worker or to the next sweep is missing)."""
    keys = [[config.key for config in task] for task in tasks]
    pending = [index for index, task_keys in enumerate(keys) if not all(store.has(key) for key in task_keys)]
    total = sum(len(keys[index]) for index in pending)
    later: list[int] = []  # tasks left for the next sweep by the deadline
    with progress_bar(f"{label} ({sum(map(len, keys)) - total} of {sum(map(len, keys))} done)", total, 0,
                      progress and bool(pending), unit="run") as bar:
        for index in pending:
            if deadline is not None and time.perf_counter() >= deadline:
                later.append(index)
                continue
            with claimed_task(store, keys[index]) as mine:
                if mine and not train(list(tasks[index]), deadline):
                    later.append(index)
            if bar is not None:
                bar.update(len(keys[index]))
    if later:
        print(f"deadline: {sum(len(keys[index]) for index in later)} runs in {len(later)} tasks left for the next "
              "sweep", flush=True)
    flat = [key for task_keys in keys for key in task_keys]
    held = [key for index in pending if index not in later for key in keys[index] if not store.has(key)]
    if held:
        print(f"{len(held)} runs are being trained by other workers (claims in {checkpoint_dir(store)})", flush=True)
    return [store.read(key) for key in flat if store.has(key)]
