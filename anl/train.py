"""Internal: image classification on the engine (anl.engine): the paper's protocol per data set, data
resident on the device as uint8, augmentation batched on the device, per-epoch clean/mislabelled
metrics, and the run's record in the results store.

Protocol (anl-method.md section 3): SGD with momentum 0.9, cosine schedule per epoch, gradient
norm clipped to 5, batch 128; L2 weight decay for baselines, and for the ANL family weight decay 0
with the L1 term (delta) inside the objective. The model runs in channels_last (faster on CPU
too), under bf16 autocast when the run's precision is "bf16"; the loss is always computed in float32.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from anl import compiled, detection, engine, losses, noise
from anl.data import DATASETS, ImageDataset, load_dataset, stratified_subset
from anl.engine import (DEFAULT_PRECISION, PRECISIONS, SUBSET_SEED, TRAIN_EVAL_SEED, eval_logits, fixed_sample,
                        normalise, resolve_device, run_precision, seed_everything)
from anl.models import MODELS, build_model
from anl.results import ResultsStore, config_key

AUGMENTATIONS = ("none", "crop_flip", "crop_flip_rotate")
#: The labels of a held-out validation split: the true ones, or the run's noisy ones (what a
#: practitioner has).
VALIDATION_LABELS = ("clean", "noisy")
VALIDATION_SEED = 42  # the split's default seed, the generator seed of the ANL authors' code
HOLDOUT_SEED = 0  # the default seed of the folds of the scored sample (anl.detection.stratified_folds)


@dataclass(frozen=True)
class Protocol:
    """A data set's training protocol (anl-method.md section 3)."""

    model: str
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    grad_clip: float
    augment: str


#: The training protocol of each data set of anl.data.DATASETS (anl-method.md section 3).
PROTOCOLS: dict[str, Protocol] = dict(zip(DATASETS, (
    Protocol("cnn4", 50, 128, 0.01, 1e-3, 5.0, "none"),  # mnist
    Protocol("cnn4", 50, 128, 0.01, 1e-3, 5.0, "none"),  # fashion_mnist
    Protocol("cnn8", 120, 128, 0.01, 1e-4, 5.0, "crop_flip"),  # cifar10
    Protocol("resnet34", 200, 128, 0.1, 1e-5, 5.0, "crop_flip_rotate"),  # cifar100
), strict=True))


@dataclass(frozen=True)
class RunConfig:
    """What decides a run's numbers. ``None`` fields take the data set's protocol value;
    ``weight_decay=None`` means the protocol's L2 for baselines and 0 for the ANL family."""

    dataset: str
    loss: str
    noise: str = "clean"
    seed: int = 1
    epochs: int | None = None
    train_subset: int | None = None
    model: str | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    grad_clip: float | None = None
    augment: str | None = None
    loss_overrides: dict[str, float] = field(default_factory=dict)
    train_eval_size: int = 10_000
    precision: str = DEFAULT_PRECISION
    #: A fraction in (0, 1) of the training images held out (stratified, seeded by
    #: ``validation_seed``) and scored every epoch as ``val_acc`` against their ``validation``
    #: labels ("clean" or "noisy"); the run trains on the rest. None: no split.
    validation_fraction: float | None = None
    validation: str = "none"
    validation_seed: int = VALIDATION_SEED
    #: k >= 2: the scored training sample (``train_eval_size`` images) is split into k folds
    #: (anl.detection.stratified_folds by the given labels, seeded by ``holdout_seed``), fold
    #: ``holdout_fold`` is held out of training and its softmax probabilities at the last epoch are
    #: recorded (the record's ``held_out``): the runs of folds 0 .. k − 1 together give out-of-sample
    #: probabilities of the whole sample. The per-epoch metrics score the sample's other folds. None: no fold.
    holdout_folds: int | None = None
    holdout_fold: int = 0
    holdout_seed: int = HOLDOUT_SEED

    def resolved(self) -> dict[str, Any]:
        """Every field filled in and checked; the dict that is hashed into the run's key.
        ``precision`` is in it only when not DEFAULT_PRECISION, the validation fields only with a
        validation split and the holdout fields only with folds, so a run keeps the key it had before
        these were fields."""
        if self.dataset not in PROTOCOLS:
            raise ValueError(f"unknown dataset {self.dataset!r} for training; choose one of {', '.join(PROTOCOLS)}")
        protocol = PROTOCOLS[self.dataset]
        noise.parse_noise(self.noise)
        config = dataclasses.asdict(self)
        config["loss"] = losses.canonical_name(self.loss)
        if config["loss"] in losses.PIXEL_LOSSES:
            raise ValueError(f"{config['loss']} is a segmentation loss; classification losses: {', '.join(losses.LOSSES)}")
        config["loss_overrides"] = canonical_overrides(config["loss"], self.dataset, self.loss_overrides,
                                                       losses.noise_type_of(self.noise))
        if config["weight_decay"] is None:
            config["weight_decay"] = losses.default_weight_decay(config["loss"], protocol.weight_decay)
        for name, value in dataclasses.asdict(protocol).items():
            if config[name] is None:
                config[name] = value
        for name in ("lr", "weight_decay", "grad_clip"):  # 0 and 0.0 are one run: one key
            config[name] = float(config[name])
        checks = {
            "model": (config["model"] in MODELS, f"choose one of {', '.join(MODELS)}"),
            "augment": (config["augment"] in AUGMENTATIONS, f"choose one of {', '.join(AUGMENTATIONS)}"),
            "epochs": (config["epochs"] >= 1, "must be >= 1"),
            "batch_size": (config["batch_size"] >= 1, "must be >= 1"),
            "lr": (config["lr"] > 0, "must be > 0"),
            "weight_decay": (config["weight_decay"] >= 0, "must be >= 0"),
            "grad_clip": (config["grad_clip"] > 0, "must be > 0"),
            "train_subset": (config["train_subset"] is None or config["train_subset"] >= 1, "must be >= 1"),
            "train_eval_size": (config["train_eval_size"] >= 0, "must be >= 0 (0 scores every image)"),
        }
        checks["precision"] = (config["precision"] in PRECISIONS, f"choose one of {', '.join(PRECISIONS)}")
        held_out = config["validation_fraction"] is not None
        if held_out:
            checks["validation_fraction"] = (0 < config["validation_fraction"] < 1, "must lie in (0, 1)")
            checks["validation"] = (config["validation"] in VALIDATION_LABELS,
                                    f"choose one of {', '.join(VALIDATION_LABELS)}")
        else:
            checks["validation"] = (config["validation"] == "none", "needs a validation_fraction in (0, 1)")
        folds = config["holdout_folds"]
        if folds is not None:
            checks["holdout_folds"] = (folds >= 2, "must be >= 2")
            checks["holdout_fold"] = (0 <= config["holdout_fold"] < folds, f"must lie in 0..{folds - 1}")
        else:
            checks["holdout_fold"] = (config["holdout_fold"] == 0, "needs holdout_folds >= 2")
        for name, (ok, rule) in checks.items():
            if not ok:
                raise ValueError(f"invalid {name}={config[name]!r}: {rule}")
        if config["precision"] == DEFAULT_PRECISION:
            del config["precision"]
        if held_out:
            config["validation_fraction"] = float(config["validation_fraction"])
        else:
            for name in ("validation_fraction", "validation", "validation_seed"):
                del config[name]
        if folds is None:
            for name in ("holdout_folds", "holdout_fold", "holdout_seed"):
                del config[name]
        return config

    @property
    def key(self) -> str:
        return config_key(self.resolved())


def canonical_overrides(loss: str, dataset: str, overrides: dict[str, float],
                        noise_type: str | None = None) -> dict[str, float]:
    """The overrides that change the objective, as floats, so that runs computing the same thing
    share one key: a value equal to the preset's (or default's) is dropped, "lambda" becomes "lam".
    Raises ValueError (from the registry) for an unknown hyperparameter or a missing preset."""
    overrides = {name: float(value) for name, value in losses.hparam_names(overrides).items()}
    losses.build(loss, dataset=dataset, noise_type=noise_type, **overrides)  # validates names and values
    try:
        baseline = losses.build(loss, dataset=dataset, noise_type=noise_type).hparams()
    except ValueError:  # no published preset: every override is needed
        baseline = {}
    hparam_name = {"lam": "lambda"}  # Objective.hparams() spells lam as lambda
    return {name: value for name, value in sorted(overrides.items())
            if baseline.get(hparam_name.get(name, name)) != value}


@dataclass
class HeldOutFold:
    """The fold of the scored training sample held out of training: its images' positions in the
    sample (of ``sample_size`` images), the images and their given and true labels."""

    positions: np.ndarray
    sample_size: int
    images: torch.Tensor
    given: np.ndarray
    true: np.ndarray


@dataclass
class TrainData:
    """One run's tensors on the device: uint8 images, given (noisy) and true labels."""

    images: torch.Tensor
    labels: torch.Tensor
    true_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    eval_index: torch.Tensor  # training images scored every epoch
    mean: torch.Tensor
    std: torch.Tensor
    noisy: noise.NoisyLabels
    source: str
    val_images: torch.Tensor | None = None  # the held-out validation split, if the run has one
    val_labels: torch.Tensor | None = None
    held_out: HeldOutFold | None = None  # the fold of the scored sample held out, if the run has one

    @property
    def num_classes(self) -> int:
        return len(self.noisy.transition)


def validation_split(labels: torch.Tensor, fraction: float, seed: int) -> np.ndarray:
    """Sorted positions in ``labels`` of a held-out split of round(fraction * N) items,
    stratified by ``labels`` and deterministic in ``seed`` (anl.data.stratified_subset); ValueError
    unless both parts keep at least one item."""
    size = round(fraction * len(labels))
    if not 1 <= size < len(labels):
        raise ValueError(f"validation_fraction={fraction!r} of {len(labels)} training images holds out {size}; "
                         f"both the validation split and the training part need at least one image")
    return stratified_subset(labels, size, seed=seed).numpy()


def prepare_data(config: dict[str, Any], dataset: ImageDataset, device: torch.device,
                 images_from: TrainData | None = None) -> TrainData:
    """Noise on the full training set (seeded by the run's seed), then the stratified subset, then
    the validation split held out of it (:func:`validation_split`, stratified by the true labels,
    so it is the same for every noise setting), labelled with the true or the noisy labels; then
    the scored sample, and its held-out fold taken out of the training images (:func:`hold_out_fold`).
    ``images_from``: a TrainData of the same data set, subset and device whose image tensors are
    shared instead of copied (batched runs hold one copy of the images)."""
    noisy_full = noise.apply_noise(
        config["noise"], dataset.train_labels.numpy(), dataset=dataset.name,
        num_classes=dataset.num_classes, seed=config["seed"],
        images=dataset.train_images)
    if config["train_subset"] is None:
        index = np.arange(len(dataset.train_labels))
    else:
        index = stratified_subset(dataset.train_labels, config["train_subset"], seed=SUBSET_SEED).numpy()
    val_images = val_labels = None
    if config.get("validation_fraction") is not None:
        held_out = validation_split(dataset.train_labels[index], config["validation_fraction"],
                                    config["validation_seed"])
        val_index, index = index[held_out], np.delete(index, held_out)
        given = noisy_full.clean if config["validation"] == "clean" else noisy_full.noisy
        val_images = dataset.train_images[torch.from_numpy(val_index)].to(device)
        val_labels = torch.from_numpy(given[val_index]).to(device)
    noisy = noisy_full.subset(index) if len(index) < len(noisy_full.clean) else noisy_full
    count = len(index)
    eval_size = count if config["train_eval_size"] in (0, None) else min(count, config["train_eval_size"])
    eval_index = fixed_sample(count, eval_size, TRAIN_EVAL_SEED)
    held_out = None
    if config.get("holdout_folds") is not None:
        index, noisy, eval_index, held_out = hold_out_fold(config, dataset, device, index, noisy, eval_index)
        count = len(index)
    channels = dataset.train_images.shape[1]
    if images_from is None:
        images = dataset.train_images[torch.from_numpy(index)].to(device)
        test_images, test_labels = dataset.test_images.to(device), dataset.test_labels.to(device)
    elif len(images_from.images) != count:
        raise ValueError(f"images_from holds {len(images_from.images)} training images, this run needs {count}")
    else:
        images, test_images, test_labels = images_from.images, images_from.test_images, images_from.test_labels
    return TrainData(
        images=images,
        labels=torch.from_numpy(noisy.noisy).to(device),
        true_labels=torch.from_numpy(noisy.clean).to(device),
        test_images=test_images,
        test_labels=test_labels,
        eval_index=torch.from_numpy(eval_index).to(device),
        mean=torch.tensor(dataset.mean, device=device).view(1, channels, 1, 1),
        std=torch.tensor(dataset.std, device=device).view(1, channels, 1, 1),
        noisy=noisy,
        source=dataset.source,
        val_images=val_images,
        val_labels=val_labels,
        held_out=held_out,
    )


def hold_out_fold(config: dict[str, Any], dataset: ImageDataset, device: torch.device, index: np.ndarray,
                  noisy: noise.NoisyLabels, eval_index: np.ndarray
                  ) -> tuple[np.ndarray, noise.NoisyLabels, np.ndarray, HeldOutFold]:
    """The training images at ``index`` (labels ``noisy``, scored sample at positions ``eval_index``)
    without fold ``holdout_fold`` of the scored sample's ``holdout_folds`` folds (stratified by the
    given labels, seeded by ``holdout_seed``): the remaining index, their labels, the remaining
    sample's positions among them, and the fold."""
    folds = detection.stratified_folds(noisy.noisy[eval_index], config["holdout_folds"], config["holdout_seed"])
    held = folds == config["holdout_fold"]
    out = eval_index[held]
    fold = HeldOutFold(positions=np.flatnonzero(held), sample_size=len(eval_index),
                       images=dataset.train_images[torch.from_numpy(index[out])].to(device),
                       given=noisy.noisy[out], true=noisy.clean[out])
    keep = np.ones(len(index), dtype=bool)
    keep[out] = False
    position_after = np.cumsum(keep) - 1
    return index[keep], noisy.subset(np.flatnonzero(keep)), position_after[eval_index[~held]], fold


AugmentationDraws = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


def draw_augmentation(count: int, kind: str, generator: torch.Generator,
                      device: torch.device) -> AugmentationDraws | None:
    """The random draws of :func:`augment_batch` for ``count`` images, in its order: crop offsets
    (2, count, 1) in [0, 8], flips (count,), then rotation angles in radians (count,) or None."""
    if kind == "none":
        return None
    offsets = torch.randint(0, 9, (2, count, 1), device=device, generator=generator)
    flip = torch.rand(count, device=device, generator=generator) < 0.5
    if kind == "crop_flip":
        return offsets, flip, None
    angles = (torch.rand(count, device=device, generator=generator) * 40 - 20) * (math.pi / 180)
    return offsets, flip, angles


def apply_augmentation(images: torch.Tensor, draws: AugmentationDraws | None) -> torch.Tensor:
    """Crop from a 4-pixel zero padding at ``offsets``, flip where ``flip``, rotate by ``angles``
    (bilinear, zero fill, returned as float in [0, 255]) if given; None: the images unchanged."""
    if draws is None:
        return images
    offsets, flip, angles = draws
    n, channels, height, width = images.shape
    device = images.device
    padded = F.pad(images, (4, 4, 4, 4))
    rows = (offsets[0] + torch.arange(height, device=device)).view(n, 1, height, 1)
    cols = (offsets[1] + torch.arange(width, device=device)).view(n, 1, 1, width)
    cols = torch.where(flip.view(n, 1, 1, 1), cols.flip(-1), cols)
    batch_index = torch.arange(n, device=device).view(n, 1, 1, 1)
    channel_index = torch.arange(channels, device=device).view(1, channels, 1, 1)
    cropped = padded[batch_index, channel_index, rows, cols]
    if angles is None:
        return cropped
    cos, sin = torch.cos(angles), torch.sin(angles)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(cropped.shape), align_corners=False)
    return F.grid_sample(cropped.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment_batch(images: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Per-sample augmentation of a uint8 batch on its device: random crop from a 4-pixel zero
    padding and a horizontal flip with probability 1/2 ('crop_flip'), plus a random rotation in
    [-20, 20] degrees ('crop_flip_rotate', returned as float in [0, 255])."""
    return apply_augmentation(images, draw_augmentation(len(images), kind, generator, images.device))


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, data: TrainData, batch_size: int = 256,
            amp: bool = False) -> torch.Tensor:
    """float32 logits of uint8 ``images`` in eval mode."""
    return torch.cat(list(eval_logits(model, images, data.mean, data.std, batch_size, amp)))


def subset_scores(logits: torch.Tensor, labels: torch.Tensor, loss: losses.Loss,
                  mask: torch.Tensor | None = None) -> tuple[float | None, float | None]:
    """(accuracy, mean per-sample loss) of ``logits`` against ``labels`` on ``mask``; None if empty."""
    if mask is not None:
        logits, labels = logits[mask], labels[mask]
    if len(labels) == 0:
        return None, None
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return accuracy, loss(logits, labels).mean().item()


def evaluate(model: nn.Module, data: TrainData, objective: losses.Objective, amp: bool) -> dict[str, Any]:
    """Test accuracy/loss, and on the scored training sample: accuracy and loss of the correctly
    labelled images, and of the mislabelled ones against their given label (memorisation) and
    against their true label (correction); how well the loss and the margin under the given label
    rank the mislabelled images first (anl.detection); with a validation split, the accuracy
    ``val_acc`` on it against its labels."""
    test_logits = predict(model, data.test_images, data, amp=amp)
    train_logits = predict(model, data.images[data.eval_index], data, amp=amp)
    metrics = scores(test_logits, train_logits, data, objective)
    if data.val_images is not None:
        val_logits = predict(model, data.val_images, data, amp=amp)
        metrics["val_acc"] = (val_logits.argmax(1) == data.val_labels).float().mean().item()
    return metrics


def scores(test_logits: torch.Tensor, train_logits: torch.Tensor, data: TrainData,
           objective: losses.Objective) -> dict[str, Any]:
    """The metrics of :func:`evaluate` from the logits of the test images and of the scored
    training sample ``data.images[data.eval_index]``."""
    test_acc, test_loss = subset_scores(test_logits, data.test_labels, objective.data_term)
    given, true = data.labels[data.eval_index], data.true_labels[data.eval_index]
    mislabelled = given != true
    clean_acc, clean_loss = subset_scores(train_logits, given, objective.data_term, ~mislabelled)
    noisy_acc_given, noisy_loss = subset_scores(train_logits, given, objective.data_term, mislabelled)
    noisy_acc_true, _ = subset_scores(train_logits, true, objective.data_term, mislabelled)
    detected = detection.detection_scores(objective.data_term(train_logits, given), train_logits, given, mislabelled)
    return {"test_acc": test_acc, "test_loss": test_loss, "clean_acc": clean_acc, "clean_loss": clean_loss,
            "noisy_acc_given": noisy_acc_given, "noisy_acc_true": noisy_acc_true, "noisy_loss": noisy_loss,
            **detected}


def confident_learning(model: nn.Module, data: TrainData, amp: bool) -> dict[str, Any] | None:
    """anl.detection.confident_learning on the model's in-sample probabilities of the scored
    training sample, against the truth."""
    index = data.eval_index
    given = data.labels[index]
    logits = predict(model, data.images[index], data, amp=amp)
    return detection.confident_learning(logits, given, given != data.true_labels[index])


def held_out_probabilities(model: nn.Module, data: TrainData, amp: bool) -> dict[str, Any]:
    """The record's ``held_out`` field: the softmax probabilities of the held-out fold's images
    (anl.detection.encode_probabilities), their positions in the scored sample of ``sample_size``
    images, and their given and true labels."""
    fold = data.held_out
    probabilities = torch.softmax(predict(model, fold.images, data, amp=amp).double(), 1).cpu().numpy()
    return {"sample_size": fold.sample_size, "indices": fold.positions.tolist(), "given": fold.given.tolist(),
            "true": fold.true.tolist(), "probabilities": detection.encode_probabilities(probabilities)}


def train_epoch(model: nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
                data: TrainData, config: dict[str, Any], generator: torch.Generator, amp: bool) -> float:
    """One pass over the training images in a seeded random order, augmented on the device;
    returns the mean objective."""
    def batch(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = augment_batch(data.images[index], config["augment"], generator)
        return normalise(images, data.mean, data.std).contiguous(memory_format=torch.channels_last), data.labels[index]

    return engine.train_shuffled_epoch(model, objective, optimizer, len(data.labels), data.images.device, config,
                                       generator, amp, batch)


class ClassificationRun(engine.SingleRun):
    """One classification run as a task of anl.engine.train_loop: its data with noisy labels, its
    seeded model, objective, SGD and training generator; an epoch is a shuffled, augmented pass
    (eager, or the compiled step $ANL_STEP asks for), evaluation :func:`evaluate`, its record
    :func:`make_record`."""

    headline = "test_acc"

    def __init__(self, config: dict[str, Any], dataset: ImageDataset, device: torch.device) -> None:
        if dataset.name != config["dataset"]:
            raise ValueError(f"dataset {dataset.name!r} given for a {config['dataset']!r} run")
        self.device, self.amp = device, run_precision(config) == "bf16"
        self.data = data = prepare_data(config, dataset, device)
        seed_everything(config["seed"])
        self.objective = losses.build(config["loss"], dataset=config["dataset"],
                                      noise_type=losses.noise_type_of(config["noise"]), **config["loss_overrides"])
        model = build_model(config["model"], data.num_classes, dataset.image_shape[0])
        model = model.to(device=device, memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9,
                                    weight_decay=config["weight_decay"])
        generator = torch.Generator(device=device).manual_seed(config["seed"])
        super().__init__(config_key(config), config, run_label(config), model, optimizer, generator)
        self.mode = compiled.step_mode(device)  # $ANL_STEP: the eager step, or a compiled one (the GPU script's)
        self.step = None if self.mode == "eager" else compiled.CompiledStep(
            model, self.objective, optimizer, data, apply_augmentation, config["grad_clip"], self.amp, self.mode)

    def train_epoch(self) -> list[float]:
        config, generator = self.config, self.generator
        if self.step is None:
            return [train_epoch(self.model, self.objective, self.optimizer, self.data, config, generator, self.amp)]
        return [compiled.train_shuffled_epoch(
            self.step, len(self.data.labels), config["batch_size"], generator,
            lambda count: draw_augmentation(count, config["augment"], generator, self.device))]

    def evaluate(self) -> list[dict[str, Any]]:
        return [evaluate(self.model, self.data, self.objective, self.amp)]

    def records(self, trained: engine.TrainedEpochs) -> list[dict[str, Any]]:
        predictions = predict(self.model, self.data.test_images, self.data, amp=self.amp).argmax(1).cpu()
        provenance = {**engine.provenance(self.device, self.amp, self.data.source, trained),
                      **compiled.step_provenance(self.mode)}
        held_out = None if self.data.held_out is None else held_out_probabilities(self.model, self.data, self.amp)
        return [make_record(self.name, self.config, self.data, self.objective, trained.epochs[0], predictions,
                            provenance, confident_learning(self.model, self.data, self.amp), held_out)]


def train_run(config: RunConfig, store: ResultsStore | None = None, *, dataset: ImageDataset | None = None,
              device: str | torch.device | None = None, progress: bool = True,
              on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
              deadline: float | None = None) -> dict[str, Any] | None:
    """Train one run (:class:`ClassificationRun`), checkpointing every epoch in ``store``'s
    checkpoint folder, and return (and store) its record.

    A run whose record is already in ``store`` is not trained again: the stored record is returned.
    A run with a checkpoint resumes after its last completed epoch. This worker claims the run
    (anl.engine.claim_runs) while training it: RunClaimedError if another worker holds it. Without
    a store the run is neither claimed nor checkpointed. ``on_epoch_end(epoch, metrics)`` is called
    after each epoch's checkpoint is written. A NaN or infinite training objective stops the run
    unrecorded (anl.engine.NonFiniteObjectiveError). ``deadline`` (a time.perf_counter() value):
    the run stops before an epoch that would end after it (anl.engine.train_loop), its checkpoint
    kept, and None is returned.
    """
    resolved = config.resolved()
    if store is not None and store.has(config_key(resolved)):
        return store.read(config_key(resolved))
    device = resolve_device(device)
    run = ClassificationRun(resolved, dataset if dataset is not None else load_dataset(resolved["dataset"]), device)
    records = engine.train_task(run, store, progress=progress, on_epoch_end=engine.single_run_callback(on_epoch_end),
                                deadline=deadline)
    return None if records is None else records[0]


def run_label(config: dict[str, Any]) -> str:
    return f"{config['dataset']} {config['loss']} {config['noise']} seed {config['seed']}"


def make_record(key: str, config: dict[str, Any], data: TrainData, objective: losses.Objective,
                epochs: list[dict[str, Any]], predictions: torch.Tensor, provenance: dict[str, Any],
                confident: dict[str, Any] | None, held_out: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON record of a finished run (see anl.results): its noise, and a summary of final and
    best test accuracy, the test confusion matrix of ``predictions`` and the last epoch's
    ``confident`` learning scores (anl.detection.confident_learning; None without cleanlab); with
    a held-out fold, its probabilities (:func:`held_out_probabilities`) as ``held_out``."""
    accuracies = [epoch["test_acc"] for epoch in epochs]
    best = int(np.argmax(accuracies))
    k = data.num_classes
    confusion = torch.zeros(k, k, dtype=torch.int64)
    confusion.index_put_((data.test_labels.cpu(), predictions), torch.ones_like(predictions), accumulate=True)
    noisy = data.noisy
    return engine.make_record(
        key, config, objective,
        noise={"spec": noisy.spec, "rate": noisy.rate, "train_size": len(noisy.clean),
               "transition": noisy.transition.round(6).tolist(),
               "nominal": None if noisy.nominal is None else noisy.nominal.tolist()},
        epochs=epochs,
        summary={"final_test_acc": accuracies[-1], "best_test_acc": accuracies[best], "best_epoch": best + 1,
                 "final_noisy_acc_given": epochs[-1]["noisy_acc_given"], "test_confusion": confusion.tolist(),
                 "confident_learning": confident},
        provenance=provenance, **({} if held_out is None else {"held_out": held_out}))


def train_sweep(configs: list[RunConfig], store: ResultsStore, *, device: str | torch.device | None = None,
                progress: bool = True, time_budget: float | None = None) -> list[dict[str, Any]]:
    """Train every config whose record is not yet in ``store`` and that no other worker is training,
    one :class:`ClassificationRun` after another (:func:`anl.engine.sweep`; data sets loaded once).
    ``time_budget`` (seconds from the call): no run starts and no epoch begins that would end after
    it (a stopped run's checkpoint stays for the next call). Returns the records in ``store`` at the
    end, in the order given (a run left to another worker or to the next call is missing)."""
    deadline = engine.deadline_after(time_budget)
    device = resolve_device(device)
    datasets: dict[str, ImageDataset] = {}

    def train(runs: list[RunConfig], deadline: float | None) -> bool:
        [config] = runs
        if config.dataset not in datasets:
            datasets[config.dataset] = load_dataset(config.dataset)
        return train_run(config, store, dataset=datasets[config.dataset], device=device, progress=progress,
                         deadline=deadline) is not None

    return engine.sweep([[config] for config in configs], store, train, deadline=deadline, progress=progress)
