"""Internal: robust losses for lesion segmentation with noisy masks (ISIC 2017 Part 1) on the engine
(anl.engine): the trainer, the metrics and run records in the shared results store (its named protocols and grids are
in anl.experiments, its command line ``python -m anl segment`` in anl.cli).

Protocol (what a run does; every number below is in its config and hence in its key):

- Data: the official splits (2,000 train / 150 validation / 600 test) at 256x192. Mask noise
  (anl.mask_noise specs, seeded by the run's seed) is applied to the 256x192 training masks, so a
  spec's pixel amounts are 256x192 pixels at every training size; then images (bilinear) and masks
  (nearest) are brought to the training size. An optional training subset is drawn after the noise.
- Model: U-Net with ``levels`` 2x2 max-poolings, ``base_width`` channels doubling per level, two
  3x3 conv-BN-ReLU per block, 2x2 transposed convolutions up, a 1x1 head with K = 2 classes
  (background, lesion). channels_last; the config's precision, fp32 unless it names bf16 (bf16
  autocast, the loss in float32), on every device.
- Training: Adam (0.9, 0.999), lr 1e-3 with a cosine schedule per epoch, batch 16, gradient norm
  clipped to 5, random horizontal and vertical flips (each p = 1/2, per image, on the device).
  Every registry loss is applied per pixel (mean over the batch's pixels; Dice: mean over images).
  As in classification, baselines use L2 weight decay (1e-4, CIFAR-10's) and the ANL family weight
  decay 0 with its L1 term (delta) in the objective. Loss hyperparameters: the CIFAR-10 presets of
  anl.losses (no published ISIC values; not tuned here), overridable.
- Evaluation after every epoch: logits upsampled (bilinear) to 256x192, argmax, against the clean
  test and validation masks: per-image Dice, Jaccard (IoU) and thresholded Jaccard (Jaccard set
  to 0 below 0.65, the ISIC 2018 rule), averaged over images. Memorisation: on a fixed sample of
  the noisy training images, at the training size, the Dice of the prediction with the noisy
  (given) mask and with the clean mask, and over the pixels where the two differ the fraction
  predicted as in the noisy mask. Records give last-epoch test scores, and the test scores at the
  epoch of best validation Dice.
- Named protocols (anl.experiments.SEGMENTATION_PROTOCOLS): full = 256x192, base width 16, 30
  epochs (GPU; the config's defaults); reduced = 64x48, base width 8, 20 epochs (CPU: about 20 s an
  epoch on one core, 7 min a run); half = 128x96, otherwise as reduced (70 s an epoch).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from anl import engine, losses
from anl.data import (
    ISIC2017_SIZE, SEGMENTATION_DATASETS, SegmentationDataset, load_segmentation, resize_masks,
)
from anl.mask_noise import NoisyMasks, apply_mask_noise, parse_mask_noise
from anl.models import UNet
from anl.results import ResultsStore, config_key
from anl.engine import (DEFAULT_PRECISION, PRECISIONS, SUBSET_SEED, TRAIN_EVAL_SEED, eval_logits,
                        fixed_sample, normalise, resolve_device, run_precision, seed_everything)

NUM_CLASSES = 2  # background, lesion
#: The data set whose presets of anl.losses segmentation uses (none are published for ISIC).
LOSS_PRESET = "cifar10"
BASELINE_WEIGHT_DECAY = 1e-4  # L2 for non-ANL losses (CIFAR-10's); the ANL family uses its L1 term
THRESHOLD_JACCARD = 0.65  # ISIC 2018 thresholded Jaccard: per-image Jaccard below this counts 0
EXAMPLE_COUNT = 4  # test images whose final predictions the record keeps, for the book
EXAMPLE_SIZE = (128, 96)  # (width, height) of the stored example predictions
SEGMENTATION_LOSSES = ("ce", "dice", "gce", "sce", "nce_rce", "anl_ce", "anl_fl")


# ----------------------------------------------------------------------------- metrics
def mask_scores(predictions: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image scores of boolean (N, H, W) predictions against targets: ``dice = 2|P & T| / (|P| + |T|)``,
    ``jaccard = |P & T| / |P | T|`` (both 1 when P and T are empty), thresholded_jaccard = jaccard if
    jaccard >= 0.65 else 0. float64 tensors of shape (N,)."""
    if predictions.shape != targets.shape or predictions.dim() != 3:
        raise ValueError(f"predictions and targets must both be (N, H, W), got {tuple(predictions.shape)} "
                         f"and {tuple(targets.shape)}")
    predictions, targets = predictions.bool().flatten(1), targets.bool().flatten(1)
    overlap = (predictions & targets).sum(1, dtype=torch.float64)
    union = (predictions | targets).sum(1, dtype=torch.float64)
    total = predictions.sum(1, dtype=torch.float64) + targets.sum(1, dtype=torch.float64)
    ones = torch.ones_like(overlap)
    dice = torch.where(total > 0, 2 * overlap / total.clamp(min=1), ones)
    jaccard = torch.where(union > 0, overlap / union.clamp(min=1), ones)
    thresholded = torch.where(jaccard >= THRESHOLD_JACCARD, jaccard, torch.zeros_like(jaccard))
    return {"dice": dice, "jaccard": jaccard, "thresholded_jaccard": thresholded}


def mean_scores(predictions: torch.Tensor, targets: torch.Tensor, prefix: str) -> dict[str, float]:
    """{prefix}_dice, {prefix}_jaccard, {prefix}_thresholded_jaccard: means of mask_scores."""
    return {f"{prefix}_{name}": values.mean().item() for name, values in mask_scores(predictions, targets).items()}


def memorisation_scores(predictions: torch.Tensor, given: torch.Tensor, true: torch.Tensor) -> dict[str, float | None]:
    """Fit of predictions to noisy (given) against clean (true) masks: mean per-image Dice with
    each, and over the pixels where given != true the fraction predicted as given (None if none)."""
    if len(predictions) == 0:
        return {"noisy_dice_given": None, "noisy_dice_true": None, "flipped_fit_given": None}
    flipped = given != true
    count = flipped.sum().item()
    fit = ((predictions == given) & flipped).sum().item() / count if count else None
    return {"noisy_dice_given": mask_scores(predictions, given)["dice"].mean().item(),
            "noisy_dice_true": mask_scores(predictions, true)["dice"].mean().item(), "flipped_fit_given": fit}


# ----------------------------------------------------------------------------- configuration
def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class SegmentationConfig:
    """What decides a segmentation run's numbers; ``weight_decay=None`` means 1e-4 (L2) for
    baselines and 0 for the ANL family (which has its L1 term). ``size`` is (width, height)."""

    loss: str
    noise: str = "clean"
    seed: int = 1
    epochs: int = 30  # the defaults are the full protocol (anl.experiments.SEGMENTATION_PROTOCOLS)
    size: tuple[int, int] = ISIC2017_SIZE
    base_width: int = 16
    levels: int = 4
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float | None = None
    grad_clip: float = 5.0
    train_subset: int | None = None
    train_eval_size: int = 256
    loss_overrides: dict[str, float] = field(default_factory=dict)
    dataset: str = "isic2017"
    precision: str = DEFAULT_PRECISION  # in the resolved config only when not DEFAULT_PRECISION

    def resolved(self) -> dict[str, Any]:
        """Every field checked and filled in (JSON types); the dict hashed into the run's key."""
        if self.dataset not in SEGMENTATION_DATASETS:
            raise ValueError(f"unknown segmentation dataset {self.dataset!r}; choose one of "
                             f"{', '.join(SEGMENTATION_DATASETS)}")
        losses.build(self.loss, dataset=LOSS_PRESET, **self.loss_overrides)  # validates name and overrides
        config = dataclasses.asdict(self)
        config["loss"] = losses.canonical_name(self.loss)
        config["noise"] = parse_mask_noise(self.noise).spec
        if config["weight_decay"] is None:
            config["weight_decay"] = losses.default_weight_decay(config["loss"], BASELINE_WEIGHT_DECAY)
        size = config["size"]
        multiple = 2 ** self.levels if _positive_int(self.levels) else 1
        checks = {
            "size": (isinstance(size, (tuple, list)) and len(size) == 2 and all(_positive_int(s) for s in size)
                     and not size[0] % multiple and not size[1] % multiple,
                     f"must be (width, height), both multiples of 2**levels = {multiple}"),
            "levels": (_positive_int(self.levels), "must be an integer >= 1"),
            "base_width": (_positive_int(self.base_width), "must be an integer >= 1"),
            "epochs": (_positive_int(self.epochs), "must be an integer >= 1"),
            "batch_size": (_positive_int(self.batch_size), "must be an integer >= 1"),
            "lr": (self.lr > 0, "must be > 0"),
            "weight_decay": (config["weight_decay"] >= 0, "must be >= 0"),
            "grad_clip": (self.grad_clip > 0, "must be > 0"),
            "train_subset": (self.train_subset is None or _positive_int(self.train_subset), "must be >= 1"),
            "train_eval_size": (isinstance(self.train_eval_size, int) and self.train_eval_size >= 0,
                                "must be >= 0 (0 scores every noisy image)"),
            "precision": (self.precision in PRECISIONS, f"choose one of {', '.join(PRECISIONS)}"),
        }
        for name, (ok, rule) in checks.items():
            if not ok:
                raise ValueError(f"invalid {name}={config[name]!r}: {rule}")
        if config["precision"] == DEFAULT_PRECISION:
            del config["precision"]
        config["size"] = [int(size[0]), int(size[1])]
        config.update(model="unet", optimizer="adam", augment="flip", loss_preset=LOSS_PRESET)
        return config

    @property
    def key(self) -> str:
        return config_key(self.resolved())


# ----------------------------------------------------------------------------- data
@dataclass
class SegmentationData:
    """One run's tensors on the device: uint8 images at the training size, given (noisy) and
    clean training masks, and validation/test masks at 256x192 (bool)."""

    images: torch.Tensor
    masks: torch.Tensor  # uint8 0/1, what the loss sees
    clean_masks: torch.Tensor
    eval_index: torch.Tensor  # noisy training images scored every epoch
    validation_images: torch.Tensor
    validation_masks: torch.Tensor
    test_images: torch.Tensor
    test_masks: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    noisy: NoisyMasks  # at the training size
    noisy_native: NoisyMasks  # at 256x192, as the spec defines the noise
    source: str


def load_run_data(size: Sequence[int]) -> tuple[SegmentationDataset, SegmentationDataset]:
    """(the 256x192 set, the set at ``size``) from the data root; both decoded once and cached."""
    return load_segmentation(), load_segmentation(size=tuple(size))


def prepare_data(config: dict[str, Any], native: SegmentationDataset, sized: SegmentationDataset,
                 device: torch.device) -> SegmentationData:
    """Mask noise on the full 256x192 training set (seeded by the run's seed), the training
    subset, then the masks resized to the training size (nearest, like the images' loader)."""
    size = tuple(config["size"])
    if native.size != ISIC2017_SIZE or sized.size != size or len(native.train_masks) != len(sized.train_masks):
        raise ValueError(f"datasets at {native.size} and {sized.size} given for a run at {size} "
                         f"(the first must be at {ISIC2017_SIZE})")
    noisy_native = apply_mask_noise(config["noise"], native.train_masks.numpy(), seed=config["seed"])
    count = len(native.train_masks)
    if config["train_subset"] is None:
        index = np.arange(count)
    else:
        index = fixed_sample(count, config["train_subset"], SUBSET_SEED)
        noisy_native = noisy_native.subset(index)
    noisy = NoisyMasks(clean=resize_masks(noisy_native.clean, size).numpy(),
                             noisy=resize_masks(noisy_native.noisy, size).numpy(),
                             is_noisy=noisy_native.is_noisy, spec=noisy_native.spec)
    noisy_images = np.flatnonzero(noisy.is_noisy)
    eval_size = len(noisy_images) if config["train_eval_size"] == 0 else config["train_eval_size"]
    eval_index = fixed_sample(noisy_images, eval_size, TRAIN_EVAL_SEED)
    view = (1, len(native.mean), 1, 1)
    return SegmentationData(
        images=sized.train_images[torch.from_numpy(index)].to(device),
        masks=torch.from_numpy(noisy.noisy).to(device=device, dtype=torch.uint8),
        clean_masks=torch.from_numpy(noisy.clean).to(device),
        eval_index=torch.from_numpy(eval_index).to(device),
        validation_images=sized.validation_images.to(device), validation_masks=native.validation_masks.to(device),
        test_images=sized.test_images.to(device), test_masks=native.test_masks.to(device),
        mean=torch.tensor(native.mean, device=device).view(view),
        std=torch.tensor(native.std, device=device).view(view),
        noisy=noisy, noisy_native=noisy_native, source=sized.source)


def flip_batch(images: torch.Tensor, masks: torch.Tensor,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip each image with its mask horizontally with probability 1/2, then vertically with
    probability 1/2 (independent draws per image, on the batch's device)."""
    n = len(images)
    for dim in (-1, -2):
        flip = torch.rand(n, device=images.device, generator=generator) < 0.5
        images = torch.where(flip.view(n, 1, 1, 1), images.flip(dim), images)
        masks = torch.where(flip.view(n, 1, 1), masks.flip(dim), masks)
    return images, masks


# ----------------------------------------------------------------------------- training
@torch.no_grad()
def predict_masks(model: nn.Module, images: torch.Tensor, data: SegmentationData,
                  size: tuple[int, int] | None = None, batch_size: int = 64, amp: bool = False) -> torch.Tensor:
    """Boolean lesion masks (argmax) of uint8 ``images`` in eval mode, with the logits upsampled
    (bilinear) to size = (width, height) when given."""
    height, width = images.shape[-2:] if size is None else (size[1], size[0])
    outputs = [torch.zeros((0, height, width), dtype=torch.bool, device=images.device)]  # for no images
    for logits in eval_logits(model, images, data.mean, data.std, batch_size, amp):
        if tuple(logits.shape[-2:]) != (height, width):
            logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        outputs.append(logits.argmax(1) == 1)
    return torch.cat(outputs)


def evaluate(model: nn.Module, data: SegmentationData, amp: bool) -> dict[str, Any]:
    """Test and validation scores at 256x192, memorisation on the scored noisy training images."""
    test = predict_masks(model, data.test_images, data, ISIC2017_SIZE, amp=amp)
    validation = predict_masks(model, data.validation_images, data, ISIC2017_SIZE, amp=amp)
    index = data.eval_index
    train = predict_masks(model, data.images[index], data, amp=amp)
    return {**mean_scores(test, data.test_masks, "test"), **mean_scores(validation, data.validation_masks, "val"),
            **memorisation_scores(train, data.masks[index].bool(), data.clean_masks[index])}


def train_epoch(model: nn.Module, objective: losses.Objective, optimizer: torch.optim.Optimizer,
                data: SegmentationData, config: dict[str, Any], generator: torch.Generator, amp: bool) -> float:
    """One pass in a seeded random order, flipped on the device; returns the mean objective."""
    def batch(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = flip_batch(data.images[index], data.masks[index], generator)
        return normalise(images, data.mean, data.std).contiguous(memory_format=torch.channels_last), masks.long()

    return engine.train_shuffled_epoch(model, objective, optimizer, len(data.images), data.images.device, config,
                                       generator, amp, batch)


class SegmentationRun(engine.SingleRun):
    """One segmentation run as a task of anl.engine.train_loop: its data with noisy masks, its
    seeded U-Net, objective, Adam and training generator; an epoch is a shuffled, flipped pass,
    evaluation :func:`evaluate`, its record :func:`make_record`."""

    headline = "test_dice"

    def __init__(self, config: dict[str, Any], datasets: tuple[SegmentationDataset, SegmentationDataset],
                 device: torch.device) -> None:
        self.device, self.amp = device, run_precision(config) == "bf16"
        self.data = prepare_data(config, *datasets, device)
        seed_everything(config["seed"])
        self.objective = losses.build(config["loss"], dataset=LOSS_PRESET, **config["loss_overrides"])
        model = UNet(3, NUM_CLASSES, config["base_width"], config["levels"])
        model = model.to(device=device, memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
        generator = torch.Generator(device=device).manual_seed(config["seed"])
        label = f"isic2017 {config['loss']} {config['noise']} seed {config['seed']}"
        super().__init__(config_key(config), config, label, model, optimizer, generator)

    def train_epoch(self) -> list[float]:
        return [train_epoch(self.model, self.objective, self.optimizer, self.data, self.config, self.generator,
                            self.amp)]

    def evaluate(self) -> list[dict[str, Any]]:
        return [evaluate(self.model, self.data, self.amp)]

    def records(self, trained: engine.TrainedEpochs) -> list[dict[str, Any]]:
        provenance = engine.provenance(self.device, self.amp, self.data.source, trained)
        return [make_record(self.name, self.config, self.data, self.objective, trained.epochs[0], self.model,
                            self.amp, provenance)]


def train_segmentation(config: SegmentationConfig, store: ResultsStore | None = None, *,
                       datasets: tuple[SegmentationDataset, SegmentationDataset] | None = None,
                       device: str | torch.device | None = None, progress: bool = True,
                       on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
              deadline: float | None = None) -> dict[str, Any] | None:
    """Train one run (:class:`SegmentationRun`), checkpointing every epoch, and return (and store)
    its record.

    ``datasets`` = (the set at 256x192, the set at the training size), default load_run_data.
    A run already in ``store`` is not trained again; a run with a checkpoint resumes after its
    last completed epoch; ``on_epoch_end(epoch, metrics)`` follows each epoch's checkpoint.
    ``deadline``: as anl.train.train_run's (None returned when stopped for it).
    """
    resolved = config.resolved()
    if store is not None and store.has(config_key(resolved)):
        return store.read(config_key(resolved))
    device = resolve_device(device)
    run = SegmentationRun(resolved, datasets if datasets is not None else load_run_data(resolved["size"]), device)
    records = engine.train_task(run, store, progress=progress, on_epoch_end=engine.single_run_callback(on_epoch_end),
                                deadline=deadline)
    return None if records is None else records[0]


# ----------------------------------------------------------------------------- records
def example_indices(count: int) -> list[int]:
    """The EXAMPLE_COUNT test images kept in every record: evenly spaced over the test set."""
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, min(EXAMPLE_COUNT, count))})


def encode_mask(mask: torch.Tensor | np.ndarray) -> str:
    """A boolean (H, W) mask as base64 of its row-major bits (np.packbits)."""
    return base64.b64encode(np.packbits(np.asarray(mask, dtype=bool).ravel()).tobytes()).decode("ascii")


def decode_mask(text: str, size: Sequence[int]) -> np.ndarray:
    """The boolean (height, width) mask of encode_mask; size = (width, height)."""
    width, height = size
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), np.uint8), count=width * height)
    return bits.reshape(height, width).astype(bool)


def example_predictions(record: dict[str, Any]) -> dict[int, np.ndarray]:
    """{test index: final predicted mask (height, width) at EXAMPLE_SIZE} of a record."""
    examples = record["examples"]
    return {index: decode_mask(text, examples["size"]) for index, text in zip(examples["indices"], examples["masks"])}


def _summary(epochs: list[dict[str, Any]]) -> dict[str, Any]:
    """Last-epoch scores, the test scores at the best validation Dice (first such epoch), and the
    best test Dice over epochs (an optimistic oracle, labelled as such)."""
    last = epochs[-1]
    chosen = max(range(len(epochs)), key=lambda index: (epochs[index]["val_dice"], -index))
    names = ("dice", "jaccard", "thresholded_jaccard")
    return {**{f"final_test_{name}": last[f"test_{name}"] for name in names},
            "final_val_dice": last["val_dice"], "best_val_epoch": chosen + 1,
            **{f"best_val_test_{name}": epochs[chosen][f"test_{name}"] for name in names},
            "oracle_best_test_dice": max(epoch["test_dice"] for epoch in epochs),
            **{f"final_{name}": last[name] for name in ("noisy_dice_given", "noisy_dice_true", "flipped_fit_given")}}


def make_record(key: str, config: dict[str, Any], data: SegmentationData, objective: losses.Objective,
                epochs: list[dict[str, Any]], model: nn.Module, amp: bool,
                provenance: dict[str, Any]) -> dict[str, Any]:
    """The JSON record of a finished run (the anl.results schema), plus the final per-image test
    scores and EXAMPLE_COUNT example predictions at EXAMPLE_SIZE (packed bits, base64)."""
    predictions = predict_masks(model, data.test_images, data, ISIC2017_SIZE, amp=amp).cpu()
    scores = mask_scores(predictions, data.test_masks.cpu())
    indices = example_indices(len(predictions))
    small = resize_masks(predictions[indices], EXAMPLE_SIZE)
    return engine.make_record(
        key, config, objective, noise={**data.noisy.summary(), "native_256x192": data.noisy_native.summary()},
        epochs=epochs, summary=_summary(epochs), provenance=provenance,
        per_image={name: [round(value, 5) for value in scores[name].tolist()] for name in ("dice", "jaccard")},
        examples={"indices": indices, "size": list(EXAMPLE_SIZE), "masks": [encode_mask(mask) for mask in small]})


# ----------------------------------------------------------------------------- sweeps
def train_segmentation_sweep(configs: Sequence[SegmentationConfig], store: ResultsStore, *,
                             device: str | torch.device | None = None, progress: bool = True,
                             time_budget: float | None = None) -> list[dict[str, Any]]:
    """Train every config not yet in ``store`` that no other worker is training, one
    :class:`SegmentationRun` after another (:func:`anl.engine.sweep`; data loaded once per size),
    within ``time_budget`` seconds as anl.train.train_sweep; the records in ``store`` at the end, in
    order."""
    deadline = engine.deadline_after(time_budget)
    device = resolve_device(device)
    loaded: dict[tuple[int, int], tuple[SegmentationDataset, SegmentationDataset]] = {}

    def train(runs: list[SegmentationConfig], deadline: float | None) -> bool:
        [config] = runs
        size = tuple(config.size)
        if size not in loaded:
            loaded[size] = load_run_data(size)
        return train_segmentation(config, store, datasets=loaded[size], device=device, progress=progress,
                                  deadline=deadline) is not None

    return engine.sweep([[config] for config in configs], store, train, deadline=deadline,
                        label="segmentation sweep", progress=progress)
