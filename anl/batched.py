"""Internal: batched runs on the engine (anl.engine): R runs of one grid trained in lockstep as one grouped model, so that one
GPU step does the work of R runs; every run still gets its own record, as from ``train_run``.

Grouped model: run r owns channel block r of every convolution (``groups = R``) and BatchNorm2d,
slice r of every linear layer's (R, out, in) weights and block r of BatchNorm1d's R * hidden
features. Input (b, R*C, H, W) holds run r's batch in channels r*C .. (r+1)*C - 1; output logits are
(R, b, K). Runs share no parameter and no statistic, so the gradient of the sum of their objectives
is, slice by slice, each run's own gradient.

Per run, as ``train_run`` does it: initial weights (its single model, built after seeding with its
seed, copied in), training order and augmentation draws from its own seeded generator, its noisy
labels, objective (loss, hyperparameters, L1 delta, ER lambda), weight decay, gradient-norm clip
(the norm over that run's slices of all parameters), SGD with momentum 0.9 and its cosine learning
rate. Shared within a batch (``SHARED_FIELDS``): data set, model, epochs, batch size, training
subset, augmentation, the scored training sample and the precision. A record differs from ``train_run``'s only by
float summation order, ``provenance.batched_runs`` = R, and its wall and epoch times, which are the
batch's (per-run cost = time / R).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from anl import detection, engine, losses, run_claims
from anl.data import ImageDataset, load_dataset
from anl.engine import (EpochCallback, checkpoint_dir, checkpoint_path, cosine_lr, device_name, normalise,
                        resolve_device, run_precision, seed_everything)
from anl.models import build_model
from anl.results import ResultsStore, config_key
from anl.train import RunConfig, apply_augmentation, draw_augmentation, make_record, predict, prepare_data, scores

BATCHED_MODELS = ("cnn4", "cnn8")  # plain nn.Sequential stacks of the layers _grouped_layer knows
SHARED_FIELDS = ("dataset", "model", "epochs", "batch_size", "train_subset", "augment", "train_eval_size",
                 "precision")
MOMENTUM = 0.9
CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), at most 1
ESTIMATE_MARGIN = 1.1  # a batch starts only if 1.1 x its estimated time fits in the time budget


def per_run(tensor: Tensor, runs: int) -> Tensor:
    """View of a grouped tensor with the run as a new leading dimension: (R * a, ...) -> (R, a, ...);
    layout-agnostic (also for channels_last weights)."""
    return tensor.unflatten(0, (runs, -1))


def flat_runs(tensors: Sequence[Tensor], runs: int) -> Tensor:
    """(R, P): run r's slices of every tensor in row r, side by side in the order given (a copy,
    differentiable). One flat row per run lets a per-run norm, sum or update be one kernel rather
    than one per parameter: a GPU step of a batch costs launches more than arithmetic."""
    return torch.cat([per_run(tensor, runs).reshape(runs, -1) for tensor in tensors], dim=1)


def unflat_runs(flat: Tensor, like: Sequence[Tensor], runs: int) -> list[Tensor]:
    """Views of the (R, P) ``flat`` shaped as ``per_run`` of each tensor of ``like`` (flat_runs' inverse)."""
    shapes = [per_run(tensor, runs).shape for tensor in like]
    return [chunk.view(shape) for chunk, shape in
            zip(flat.split([math.prod(shape[1:]) for shape in shapes], dim=1), shapes)]


# ----------------------------------------------------------------------------- grouped model
class BatchedLinear(nn.Module):
    """y[r] = x[r] @ weight[r]^T + bias[r]: x (R, b, in), weight (R, out, in), bias (R, out)."""

    def __init__(self, runs: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(runs, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(runs, out_features))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


class RunBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d over R * features channels, applied to (R, b, features)."""

    def forward(self, x: Tensor) -> Tensor:
        runs, batch, features = x.shape
        y = super().forward(x.transpose(0, 1).reshape(batch, runs * features))
        return y.view(batch, runs, features).transpose(0, 1)


class RunFlatten(nn.Module):
    """(b, R*C, H, W) -> (R, b, C*H*W), each run's features in torch.flatten's (c, h, w) order."""

    def __init__(self, runs: int) -> None:
        super().__init__()
        self.runs = runs

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], self.runs, -1).transpose(0, 1)


def _grouped_layer(layer: nn.Module, runs: int) -> nn.Module:
    """The R-run counterpart of one layer of a single model (weights left uninitialised)."""
    if isinstance(layer, nn.Conv2d) and layer.padding_mode == "zeros":
        return nn.Conv2d(runs * layer.in_channels, runs * layer.out_channels, layer.kernel_size, layer.stride,
                         layer.padding, layer.dilation, groups=runs * layer.groups, bias=layer.bias is not None)
    if isinstance(layer, nn.BatchNorm2d) and layer.affine and layer.track_running_stats:
        return nn.BatchNorm2d(runs * layer.num_features, layer.eps, layer.momentum)
    if isinstance(layer, nn.BatchNorm1d) and layer.affine and layer.track_running_stats:
        return RunBatchNorm1d(runs * layer.num_features, layer.eps, layer.momentum)
    if isinstance(layer, nn.Linear) and layer.bias is not None:
        return BatchedLinear(runs, layer.in_features, layer.out_features)
    if isinstance(layer, nn.Flatten) and layer.start_dim == 1 and layer.end_dim == -1:
        return RunFlatten(runs)
    if isinstance(layer, (nn.ReLU, nn.MaxPool2d)):
        return layer
    raise ValueError(f"batched training cannot group layer {layer!r}; batched models: {', '.join(BATCHED_MODELS)}")


def _meta_model(model_name: str, num_classes: int, in_channels: int) -> nn.Module:
    with torch.device("meta"):
        return build_model(model_name, num_classes, in_channels)


class GroupedModel(nn.Sequential):
    """R runs of a registered CNN as one module: (b, R*C, H, W) -> (R, b, K).

    Built with uninitialised weights: use :meth:`from_models` or load a state dict."""

    def __init__(self, model_name: str, runs: int, num_classes: int, in_channels: int) -> None:
        if model_name not in BATCHED_MODELS:
            raise ValueError(f"model {model_name!r} cannot be batched; batched models: {', '.join(BATCHED_MODELS)}")
        if runs < 1:
            raise ValueError(f"runs must be >= 1, got {runs}")
        template = _meta_model(model_name, num_classes, in_channels)
        with torch.device("meta"):
            layers = [_grouped_layer(layer, runs) for layer in template]
        super().__init__(*layers)
        self.to_empty(device="cpu")
        self.model_name, self.runs, self.num_classes, self.in_channels = model_name, runs, num_classes, in_channels

    @classmethod
    def from_models(cls, model_name: str, models: Sequence[nn.Module]) -> GroupedModel:
        """The grouped model whose run r has exactly the weights and buffers of ``models[r]``."""
        first = models[0]
        grouped = cls(model_name, len(models), first[-1].out_features, first[0].in_channels)
        for run, model in enumerate(models):
            grouped.load_run(run, model.state_dict())
        return grouped

    def load_run(self, run: int, state: dict[str, Tensor]) -> None:
        """Copy a single model's state dict into run ``run``'s slices."""
        own = self.state_dict()
        for name, value in state.items():
            target = own[name] if name.endswith("num_batches_tracked") else per_run(own[name], self.runs)[run]
            target.copy_(value.reshape(target.shape))

    def run_state(self, run: int) -> dict[str, Tensor]:
        """Run ``run``'s slices as a single model's state dict (copies, on the model's device)."""
        shapes = _meta_model(self.model_name, self.num_classes, self.in_channels).state_dict()
        return {name: (value if name.endswith("num_batches_tracked") else per_run(value, self.runs)[run])
                .reshape(shapes[name].shape).clone() for name, value in self.state_dict().items()}

    def run_model(self, run: int) -> nn.Module:
        """Run ``run`` as a plain single model (on the CPU, standard layout, train mode)."""
        model = _meta_model(self.model_name, self.num_classes, self.in_channels).to_empty(device="cpu")
        model.load_state_dict({name: value.cpu() for name, value in self.run_state(run).items()})
        return model


class _EveryRun(nn.Module):
    """Feeds one (b, C, H, W) batch to every run: (b, C, H, W) -> (b, R, K) logits."""

    def __init__(self, model: GroupedModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        repeated = x.repeat(1, self.model.runs, 1, 1).contiguous(memory_format=torch.channels_last)
        return self.model(repeated).transpose(0, 1)


# ----------------------------------------------------------------------------- training
def shared_value(config: dict[str, Any], name: str) -> Any:
    """A field of SHARED_FIELDS in a resolved config (precision: "fp32" where the config names none)."""
    return run_precision(config) if name == "precision" else config[name]


def check_batchable(configs: Sequence[dict[str, Any]]) -> None:
    """ValueError unless the resolved configs share SHARED_FIELDS and a batched model, and none
    holds out a validation split (a batch scores no validation accuracy) or a fold of the scored sample."""
    first = configs[0]
    if first["model"] not in BATCHED_MODELS:
        raise ValueError(f"model {first['model']!r} cannot be batched; batched models: {', '.join(BATCHED_MODELS)} "
                         f"(train it with sweep without --batched)")
    split = [config for config in configs if config.get("validation_fraction") is not None]
    if split:
        raise ValueError(f"a run with a validation split (validation_fraction {split[0]['validation_fraction']}) "
                         "cannot be batched: train it with sweep or tune without --batched")
    if any(config.get("holdout_folds") is not None for config in configs):
        raise ValueError("a run with a held-out fold (holdout_folds) cannot be batched (a batch records no held-out "
                         "probabilities): train it with sweep without --batched")
    for config in configs[1:]:
        differing = [name for name in SHARED_FIELDS if shared_value(config, name) != shared_value(first, name)]
        if differing:
            raise ValueError(f"runs of one batch must share {', '.join(SHARED_FIELDS)}; "
                             f"they differ in {', '.join(differing)}")


def _objective_key(objective: losses.Objective) -> tuple:
    """Equal keys: equal per-sample data terms (their logits can be scored in one call)."""
    return objective.name, tuple(sorted(objective.data_term.hparams().items()))


class BatchedRuns:
    """R compatible runs as one grouped model on one device, a task of anl.engine.train_loop;
    everything but the images is per run.

    Runs are held sorted by (data term, key), so runs with the same data term are one contiguous
    slice of the logits, scored in one call."""

    headline = None

    def __init__(self, configs: Sequence[RunConfig], dataset: ImageDataset, device: torch.device) -> None:
        resolved = [config.resolved() for config in configs]
        check_batchable(resolved)
        if dataset.name != resolved[0]["dataset"]:
            raise ValueError(f"dataset {dataset.name!r} given for {resolved[0]['dataset']!r} runs")
        objectives = [losses.build(c["loss"], dataset=c["dataset"], noise_type=losses.noise_type_of(c["noise"]),
                                   **c["loss_overrides"]) for c in resolved]
        order = sorted(range(len(resolved)), key=lambda i: (_objective_key(objectives[i]), config_key(resolved[i])))
        self.configs = [resolved[i] for i in order]
        self.keys = [config_key(config) for config in self.configs]
        self.objectives = [objectives[i] for i in order]
        self.runs = runs = len(self.configs)
        self.name = batch_checkpoint_name(self.keys)
        self.label = f"{runs} {self.configs[0]['dataset']} runs ({self.configs[0]['model']})"
        self.epochs = self.configs[0]["epochs"]
        self.device = device
        self.amp = run_precision(self.configs[0]) == "bf16"
        first = prepare_data(self.configs[0], dataset, device)
        self.data = [first] + [prepare_data(config, dataset, device, images_from=first) for config in self.configs[1:]]
        models = []
        for config in self.configs:  # each run's initial weights as train_run draws them
            seed_everything(config["seed"])
            models.append(build_model(config["model"], first.num_classes, dataset.image_shape[0]))
        self.model = GroupedModel.from_models(self.configs[0]["model"], models).to(
            device=device, memory_format=torch.channels_last)
        self.parameters = list(self.model.parameters())
        self.generators = [torch.Generator(device=device).manual_seed(config["seed"]) for config in self.configs]
        self.labels = torch.stack([data.labels for data in self.data])  # (R, N)
        self.mean = first.mean.repeat(1, runs, 1, 1)
        self.std = first.std.repeat(1, runs, 1, 1)

        def vector(values: list[float]) -> Tensor:
            return torch.tensor(values, dtype=torch.float32, device=device)

        self.grad_clip = vector([config["grad_clip"] for config in self.configs])
        self.weight_decay = vector([config["weight_decay"] for config in self.configs])
        self.l1 = vector([objective.l1 for objective in self.objectives])
        self.lr = vector([config["lr"] for config in self.configs])
        self.any_weight_decay = any(config["weight_decay"] for config in self.configs)
        self.any_l1 = any(objective.l1 for objective in self.objectives)
        self.loss_groups: list[tuple[int, int, losses.Objective]] = []  # (start, stop, objective of the slice)
        for _, members in itertools.groupby(self.objectives, key=_objective_key):
            start = self.loss_groups[-1][1] if self.loss_groups else 0
            self.loss_groups.append((start, start + len(list(members)), self.objectives[start]))
        self.entropy_runs = [(run, objective) for run, objective in enumerate(self.objectives) if objective.entropy]
        self.entropy_index = torch.tensor([run for run, _ in self.entropy_runs], dtype=torch.long, device=device)
        self.momentum: Tensor | None = None  # (R, P), flat_runs of the parameters

    @property
    def train_size(self) -> int:
        return len(self.data[0].images)

    def set_lr(self, epoch: int) -> list[float]:
        """Every run's cosine learning rate for 0-based ``epoch``."""
        rates = [cosine_lr(config["lr"], epoch, config["epochs"]) for config in self.configs]
        self.lr.copy_(torch.tensor(rates, dtype=torch.float32))
        return rates

    def stack_runs(self, images: Tensor) -> Tensor:
        """(R, b, C, H, W) uint8 (or float in [0, 255]) -> normalised (b, R*C, H, W), channels_last."""
        runs, batch, channels, height, width = images.shape
        x = images.permute(1, 3, 4, 0, 2).reshape(batch, height, width, runs * channels).permute(0, 3, 1, 2)
        return normalise(x, self.mean, self.std).contiguous(memory_format=torch.channels_last)

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Every run's augmented, normalised images (b, R*C, H, W) and labels (R, b) for ``index`` (R, b)."""
        runs, size = index.shape
        images = self.data[0].images[index.reshape(-1)]
        kind = self.configs[0]["augment"]
        draws = [draw_augmentation(size, kind, generator, self.device) for generator in self.generators]
        if kind != "none":
            offsets, flips, angles = zip(*draws)
            images = apply_augmentation(images, (torch.cat(offsets, 1), torch.cat(flips),
                                                 None if angles[0] is None else torch.cat(angles)))
        return self.stack_runs(images.view(runs, size, *images.shape[1:])), self.labels.gather(1, index)

    def objective_values(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Every run's objective (R,): ``mean data term + lambda ER(batch) + delta sum |theta_r|``
        (anl.losses.Objective, with the L1 sum over run r's slices)."""
        runs, size, classes = logits.shape
        parts = [objective.data_term(logits[start:stop].reshape(-1, classes), labels[start:stop].reshape(-1))
                 .view(stop - start, size).mean(1) for start, stop, objective in self.loss_groups]
        values = torch.cat(parts)
        if self.entropy_runs:
            terms = [objective.entropy * losses.entropy_regulariser(logits[run], objective.p_min)
                     for run, objective in self.entropy_runs]
            values = values.index_add(0, self.entropy_index, torch.stack(terms))
        if self.any_l1:
            values = values + self.l1 * flat_runs(self.parameters, runs).abs().sum(1)
        return values

    @torch.no_grad()
    def clip_and_update(self) -> None:
        """Per run: clip the gradient to norm grad_clip (``clip_grad_norm_``), then torch.optim.SGD's
        update: ``d = g + wd p``; ``buf = d`` at the first step, else ``0.9 buf + d``; ``p -= lr buf``."""
        runs = self.runs
        step = flat_runs([p.grad for p in self.parameters], runs)
        coefficient = (self.grad_clip / (torch.linalg.vector_norm(step, dim=1) + CLIP_EPS)).clamp(max=1.0)
        step.mul_(coefficient[:, None])
        flat_parameters = flat_runs(self.parameters, runs)
        if self.any_weight_decay:
            step.add_(self.weight_decay[:, None] * flat_parameters)
        if self.momentum is None:
            self.momentum = step
        else:
            self.momentum.mul_(MOMENTUM).add_(step)
        flat_parameters.sub_(self.lr[:, None] * self.momentum)
        for parameter, updated in zip(self.parameters, unflat_runs(flat_parameters, self.parameters, runs)):
            per_run(parameter, runs).copy_(updated)

    def step(self, index: Tensor) -> Tensor:
        """One SGD step of every run on its batch ``index`` (R, b) of training-image positions;
        returns every run's objective (R,), detached."""
        x, labels = self.batch(index)
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.model(x)
        values = self.objective_values(logits, labels)
        self.model.zero_grad(set_to_none=True)
        values.sum().backward()
        self.clip_and_update()
        return values.detach()

    def train_epoch(self) -> list[float]:
        """One pass of every run over the training images in its own seeded order; mean objectives."""
        self.model.train()
        count = self.train_size
        orders = torch.stack([torch.randperm(count, device=self.device, generator=generator)
                              for generator in self.generators])
        total = torch.zeros(self.runs, device=self.device)
        for start in range(0, count, self.configs[0]["batch_size"]):
            index = orders[:, start:start + self.configs[0]["batch_size"]]
            total += self.step(index) * index.shape[1]
        return [value / count for value in total.tolist()]

    def logits(self, images: Tensor) -> Tensor:
        """float32 logits (N, R, K) of uint8 ``images``, every run in eval mode."""
        return predict(_EveryRun(self.model), images, self.data[0], amp=self.amp)

    def evaluate(self) -> list[dict[str, Any]]:
        """anl.train.evaluate's metrics for every run."""
        first = self.data[0]
        test, train = self.logits(first.test_images), self.logits(first.images[first.eval_index])
        return [scores(test[:, run], train[:, run], data, objective)
                for run, (data, objective) in enumerate(zip(self.data, self.objectives))]

    def confident_learning(self) -> list[dict[str, Any] | None]:
        """anl.detection.confident_learning of every run on its in-sample probabilities of the
        scored training sample."""
        first = self.data[0]
        train = self.logits(first.images[first.eval_index])
        return [detection.confident_learning(train[:, run], data.labels[data.eval_index],
                                             data.labels[data.eval_index] != data.true_labels[data.eval_index])
                for run, data in enumerate(self.data)]

    def checkpoint(self, history: list[list[dict[str, Any]]]) -> dict[str, Any]:
        """The grouped model, the momentum, every run's generator state and epochs so far."""
        return {"keys": self.keys, "model": self.model.state_dict(), "momentum": self.momentum,
                "generators": [generator.get_state() for generator in self.generators], "epochs": history}

    def resume(self, saved: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Restore what :meth:`checkpoint` saved; its epochs of every run."""
        if saved["keys"] != self.keys:
            raise ValueError("checkpoint holds a different batch of runs")
        self.model.load_state_dict(saved["model"])
        self.momentum = None if saved["momentum"] is None else saved["momentum"].to(self.device)
        for generator, generator_state in zip(self.generators, saved["generators"]):
            generator.set_state(generator_state)
        return saved["epochs"]

    def records(self, trained: engine.TrainedEpochs) -> list[dict[str, Any]]:
        """Every run's record, as train_run makes it, with ``provenance.batched_runs`` = R."""
        predictions = self.logits(self.data[0].test_images).argmax(2).cpu()
        confident = self.confident_learning()
        return [make_record(key, self.configs[run], self.data[run], self.objectives[run], trained.epochs[run],
                            predictions[:, run], {**engine.provenance(self.device, self.amp, self.data[run].source,
                                                                      trained), "batched_runs": self.runs},
                            confident[run])
                for run, key in enumerate(self.keys)]


def batch_checkpoint_name(keys: Sequence[str]) -> str:
    """The name of the checkpoint of the batch of runs ``keys`` (one name whatever their order)."""
    return "batch-" + config_key({"batched_runs": sorted(keys)})


def batch_checkpoint_path(store: ResultsStore, keys: Sequence[str]) -> Path:
    """The checkpoint of the batch of runs ``keys`` of ``store``."""
    return checkpoint_path(store, batch_checkpoint_name(keys))


def train_batched(configs: Sequence[RunConfig], store: ResultsStore | None = None, *,
                  dataset: ImageDataset | None = None, device: str | torch.device | None = None,
                  progress: bool = True, on_epoch_end: EpochCallback | None = None,
                  deadline: float | None = None, epoch_estimate: float | None = None) -> list[dict[str, Any]] | None:
    """Train compatible runs as one batch (:class:`BatchedRuns`, through anl.engine.train_task),
    checkpointing every epoch in ``store``'s checkpoint folder; return (and store) their records in
    the order given, or None when stopped for ``deadline``.

    Runs already in ``store`` are not trained; this worker claims the others while training them
    (anl.engine.claim_runs: RunClaimedError if another worker holds one); without a store nothing
    is claimed or checkpointed. A batch with a checkpoint resumes after its last completed epoch.
    ``deadline`` (a time.perf_counter() value): before each epoch, stop (the checkpoint stays) if
    the epoch would end after it; an epoch takes as long as the batch's last one, or
    ``epoch_estimate`` seconds before the first (None: unknown, go on).
    ``on_epoch_end(epoch, metrics of every run, in batch order)`` follows each checkpoint. A NaN or
    infinite objective of any run stops the batch unrecorded.
    """
    keys = [config.key for config in configs]
    if store is not None and all(store.has(key) for key in keys):
        return [store.read(key) for key in keys]
    pending = [config for config, key in zip(configs, keys) if store is None or not store.has(key)]
    device = resolve_device(device)
    dataset = dataset if dataset is not None else load_dataset(pending[0].resolved()["dataset"])
    runs = BatchedRuns(pending, dataset, device)
    trained = engine.train_task(runs, store, progress=progress, on_epoch_end=on_epoch_end, deadline=deadline,
                                epoch_estimate=epoch_estimate)
    if trained is None:
        return None
    records = {record["key"]: record for record in trained}
    return [records[key] if key in records else store.read(key) for key in keys]


# ----------------------------------------------------------------------------- sweeps
def plan_batches(configs: Sequence[RunConfig], runs_per_batch: int) -> list[list[RunConfig]]:
    """Compatible runs (equal SHARED_FIELDS) in batches of at most ``runs_per_batch``, as even in
    size as possible, each batch in the given order, batches ordered by their first run."""
    if runs_per_batch < 1:
        raise ValueError(f"runs per batch must be >= 1, got {runs_per_batch}")
    groups: dict[tuple, list[tuple[int, RunConfig]]] = {}
    for position, config in enumerate(configs):
        resolved = config.resolved()
        check_batchable([resolved])
        groups.setdefault(tuple(shared_value(resolved, name) for name in SHARED_FIELDS), []).append((position, config))
    batches = []
    for members in groups.values():
        count = math.ceil(len(members) / runs_per_batch)
        bounds = [round(i * len(members) / count) for i in range(count + 1)]
        batches += [members[start:stop] for start, stop in zip(bounds, bounds[1:])]
    batches.sort(key=lambda batch: batch[0][0])
    return [[config for _, config in batch] for batch in batches]


def recorded_seconds_per_unit(store: ResultsStore, dataset: str, model: str, device: torch.device) -> float | None:
    """Seconds per (run x training image x epoch), epoch train + eval time, of the latest batched
    record in ``store`` of this data set and model on this kind of device; None if there is none."""
    latest = None
    for record in store.records():
        provenance, config = record["provenance"], record["config"]
        if (provenance.get("batched_runs") and provenance["device_name"] == device_name(device)
                and (config["dataset"], config["model"]) == (dataset, model)
                and (latest is None or provenance["finished"] > latest["provenance"]["finished"])):
            latest = record
    if latest is None:
        return None
    seconds = sum(epoch["train_time_s"] + epoch["eval_time_s"] for epoch in latest["epochs"])
    units = latest["provenance"]["batched_runs"] * latest["noise"]["train_size"] * len(latest["epochs"])
    return seconds / units


def train_sweep_batched(configs: Sequence[RunConfig], store: ResultsStore, runs_per_batch: int, *,
                        device: str | torch.device | None = None, progress: bool = True,
                        time_budget: float | None = None) -> list[dict[str, Any]]:
    """Train every config not yet in ``store`` in batches (plan_batches of the runs no other worker
    holds a claim on) through :func:`anl.engine.sweep`; return the records of the configs recorded
    at the end, in the order given.

    ``time_budget`` (seconds from the call): a batch starts only if 1.1 x its estimated time fits
    in what is left, and a running batch stops before an epoch that would overrun, leaving its
    checkpoint for the next call. Estimates use the seconds per run, image and epoch of the latest
    epoch in this call, else of the latest batched record in ``store`` (same data set, model and
    device); with neither, a batch starts."""
    deadline = engine.deadline_after(time_budget)
    keys = [config.key for config in configs]  # validates every config before any training
    folder = checkpoint_dir(store)
    held = [key for key in keys if not store.has(key) and run_claims.holder(folder, key) is not None]
    if held:
        print(f"{len(held)} runs are being trained by other workers (claims in {folder}): left to them", flush=True)
    batches = plan_batches([config for config, key in zip(configs, keys) if not store.has(key) and key not in held],
                           runs_per_batch)
    device = resolve_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest grouped kernels
    datasets: dict[str, ImageDataset] = {}
    seconds_per_unit: dict[tuple[str, str], float | None] = {}  # per (data set, model): run x image x epoch

    def train(batch: list[RunConfig], deadline: float | None) -> bool:
        first = batch[0].resolved()
        kind = first["dataset"], first["model"]
        if first["dataset"] not in datasets:
            datasets[first["dataset"]] = load_dataset(first["dataset"])
        dataset = datasets[first["dataset"]]
        if kind not in seconds_per_unit:
            seconds_per_unit[kind] = None if deadline is None else recorded_seconds_per_unit(store, *kind, device)
        units = len(batch) * (first["train_subset"] or len(dataset.train_labels))
        epoch_estimate = None if seconds_per_unit[kind] is None else seconds_per_unit[kind] * units
        if (deadline is not None and epoch_estimate is not None
                and time.perf_counter() + ESTIMATE_MARGIN * epoch_estimate * first["epochs"] > deadline):
            return False

        def measure(epoch: int, metrics: list[dict[str, Any]]) -> None:
            seconds_per_unit[kind] = (metrics[0]["train_time_s"] + metrics[0]["eval_time_s"]) / units

        return train_batched(batch, store, dataset=dataset, device=device, progress=progress, on_epoch_end=measure,
                             deadline=deadline, epoch_estimate=epoch_estimate) is not None

    engine.sweep(batches, store, train, deadline=deadline, label="batched sweep", progress=progress)
    return [store.read(key) for key in keys if store.has(key)]
