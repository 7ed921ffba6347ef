"""Internal: the book's pages, one frozen dataclass per notebook of notebooks/: its fields are the
notebook's parameters (type, default and kind, each written once, here), building it checks them
(a bad value stops the page with one line, "parameter NAME: what is wrong; the valid choices"),
and ``runs()`` gives the page's sections of runs by name; an entry is a config, or a (varied
setting, config) pair in the ablation sections of :func:`anl.experiments.ablation_configs`, or a
(grid name, config) pair for runs taken from named grids.

A notebook's cell tagged ``parameters`` names the fields a reader may set, each ``...`` (unset):
papermill injects the values given below it, and the notebook's first code cell builds its page
with :meth:`Page.from_parameters` and prints the values it runs with.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import pandas as pd
import torch

from anl import engine, experiments, losses, report, train
from anl.experiments import (
    ExperimentConfig, ablation_configs, anl_ce_hparams, entropy_regulariser_configs, product, run_config,
)
from anl.mask_noise import parse_mask_noise
from anl.noise import NOISE_KINDS, parse_noise
from anl.segmentation import LOSS_PRESET as SEGMENTATION_LOSS_PRESET, SegmentationConfig
from anl.train import RunConfig


# ----------------------------------------------------------------------------- kinds of parameters
@dataclass(frozen=True)
class Kind:
    """What a notebook parameter may hold: ``check(value, parameters)`` raises ValueError with one
    line saying why ``value`` is not ``describe`` ("a positive integer"; ``plural`` names the items
    of a list of them). ``parameters`` are the page's others, for kinds that depend on them (the
    losses trainable on the page's ``dataset``)."""

    describe: str
    plural: str
    check: Callable[[Any, Mapping[str, Any]], None]


def _shown(value: Any) -> Any:
    """``value`` with its tuples as lists, as a reader writes a parameter."""
    return [_shown(item) for item in value] if isinstance(value, (list, tuple)) else value


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _accepting(describe: str, plural: str, accepts: Callable[[Any], bool]) -> Kind:
    """The kind of the values ``accepts`` is true for."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not accepts(value):
            raise ValueError(f"{_shown(value)!r} is not {describe}")
    return Kind(describe, plural, check)


def integer(low: int = 1) -> Kind:
    """An integer >= ``low`` (bools are not integers here)."""
    describe, plural = ("a positive integer", "positive integers") if low == 1 else (
        f"an integer >= {low}", f"integers >= {low}")
    return _accepting(describe, plural, lambda value: _is_integer(value) and value >= low)


def number(low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False) -> Kind:
    """A finite real number in the interval from ``low`` to ``high``, ends open or closed."""
    if high == math.inf:
        bounds = f"{'>' if low_open else '>='} {low:g}"
    else:
        bounds = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    return _accepting(f"a number {bounds}", f"numbers {bounds}", lambda value: _is_number(value) and (
        low < value if low_open else low <= value) and (value < high if high_open else value <= high))


def optional(kind: Kind) -> Kind:
    """``kind`` or None."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if value is not None:
            try:
                kind.check(value, parameters)
            except ValueError as error:
                raise ValueError(f"{error} (or None)") from None
    return Kind(f"{kind.describe} or None", f"{kind.plural} or None", check)


def listed(item: Kind, *, required: bool | str = True) -> Kind:
    """A list (or tuple) of ``item``: not empty when ``required`` is True, or when it names a
    parameter whose value is not empty or None (the runs that one asks for need these)."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{_shown(value)!r} is not a list of {item.plural}")
        if not value and required is True:
            raise ValueError(f"the list is empty; give one or more {item.plural}")
        if not value and isinstance(required, str) and parameters[required]:
            raise ValueError(f"empty while {required} = {_shown(parameters[required])!r}; give one or more {item.plural}")
        for element in value:
            item.check(element, parameters)
    return Kind(f"a list of {item.plural}", f"lists of {item.plural}", check)


@functools.cache
def _losses_with_presets(dataset: str, pixel: bool) -> tuple[str, ...]:
    """The registry's losses that build with ``dataset``'s presets (for every noise type, where a
    preset depends on it), the per-pixel ones if ``pixel``."""
    def builds(name: str) -> bool:
        try:
            for noise_type in losses.NOISE_TYPES:
                losses.build(name, dataset, noise_type)
        except ValueError:
            return False
        return True

    return tuple(name for name in losses.LOSSES + (losses.PIXEL_LOSSES if pixel else ()) if builds(name))


def loss_key(*, segmentation: bool = False) -> Kind:
    """The registry key of a loss the page can train: a classification loss with a published
    preset for the page's ``dataset``, or for segmentation any loss with a preset of
    :data:`anl.segmentation.LOSS_PRESET`. Other spellings of a key are refused: pages compare the
    names with the runs' records."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        dataset = SEGMENTATION_LOSS_PRESET if segmentation else parameters["dataset"]
        choices = _losses_with_presets(dataset, segmentation)
        try:
            key = losses.canonical_name(value)
        except ValueError:
            raise ValueError(f"unknown loss {_shown(value)!r}; choose from {', '.join(choices)}") from None
        if key in choices and key != value:
            raise ValueError(f"loss {_shown(value)!r} is spelled {key!r} here; choose from {', '.join(choices)}")
        if key not in choices:
            reason = ("is a segmentation loss" if key in losses.PIXEL_LOSSES
                      else f"has no published preset for {dataset}")
            raise ValueError(f"loss {key!r} {reason}; choose from {', '.join(choices)}")
    return Kind("a loss name", "loss names", check)


def _noise_spec(value: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{_shown(value)!r} is not a noise spec; kinds: {', '.join(NOISE_KINDS)} "
                         f"(e.g. clean, sym:0.4, cifar10n:worst)")
    parse_noise(value)


def mask_noise(*, canonical: bool = True) -> Kind:
    """A mask-noise spec of :func:`anl.mask_noise.parse_mask_noise`; in its canonical spelling where
    ``canonical``, for pages that compare it with the runs' records."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        spelling = parse_mask_noise(value).spec
        if canonical and spelling != value:
            raise ValueError(f"mask noise {_shown(value)!r} is spelled {spelling!r} here (as in the runs' records)")
    return Kind("a mask-noise spec", "mask-noise specs", check)


def noise_rate(*kinds: str) -> Kind:
    """A rate that makes a valid noise spec KIND:RATE for each of ``kinds``, as the page spells it."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not _is_number(value):
            raise ValueError(f"{_shown(value)!r} is not a noise rate (a number)")
        for kind in kinds:
            parse_noise(f"{kind}:{value:g}")
    return Kind("a noise rate", "noise rates", check)


def _cifar10n_set(value: Any, parameters: Mapping[str, Any]) -> None:
    parse_noise(f"cifar10n:{value}")


def dataset_name(*, class_names_for: str | None = None) -> Kind:
    """A data set the trainer has a protocol for (:data:`anl.train.PROTOCOLS`); one with class
    names (:func:`anl.report.labels.class_names`) where the list parameter ``class_names_for`` is not
    empty, for the page's figure that labels classes."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not (isinstance(value, str) and value in train.PROTOCOLS):
            raise ValueError(f"unknown data set {_shown(value)!r}; choose from {', '.join(train.PROTOCOLS)}")
        if class_names_for and parameters[class_names_for]:
            try:
                report.class_names(value)
            except ValueError as error:
                raise ValueError(f"{error} (needed while {class_names_for} is not empty)") from None
    return Kind("a data set", "data sets", check)


def _preset_dataset(value: Any, parameters: Mapping[str, Any]) -> None:
    choices = [name for name in losses.DATASETS if _losses_with_presets(name, False) == losses.LOSSES]
    if not (isinstance(value, str) and _losses_with_presets(value, False) == losses.LOSSES):
        raise ValueError(f"{_shown(value)!r} is not a data set with a preset for every loss; choose from {', '.join(choices)}")


def _noise_type(value: Any, parameters: Mapping[str, Any]) -> None:
    if value not in losses.NOISE_TYPES:
        raise ValueError(f"unknown noise type {_shown(value)!r}; choose from {', '.join(losses.NOISE_TYPES)}")


def hyperparameter(loss: str, name: str) -> Kind:
    """A value of the hyperparameter ``name`` that the registry accepts for ``loss`` set at ANL-CE's
    preset on the page's ``dataset`` (the point :func:`anl.experiments.ablation_configs` varies)."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not _is_number(value):
            raise ValueError(f"{_shown(value)!r} is not a number")
        dataset = parameters["dataset"]
        losses.build(loss, dataset, **{**anl_ce_hparams(dataset), name: value})
    return Kind(f"a value of {name}", f"values of {name}", check)


def _segmentation_protocol(value: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{_shown(value)!r} is not a segmentation protocol; choose one of "
                         f"{', '.join(experiments.SEGMENTATION_PROTOCOLS)}")
    experiments.segmentation_protocol(value)


def _device(value: Any) -> bool:
    if value == "auto":
        return True
    try:
        return isinstance(value, str) and torch.device(value).type in ("cpu", "cuda")
    except (RuntimeError, ValueError):
        return False


def _grid(value: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{_shown(value)!r} is not a grid name")
    experiments.grid(value)


def _study(value: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{_shown(value)!r} is not a study name")
    experiments.study(value)


NOISE = Kind("a noise spec", "noise specs", _noise_spec)
PRECISION = _accepting(f"a precision: {' or '.join(engine.PRECISIONS)}", "precisions",
                       lambda value: value in engine.PRECISIONS)
GRID = Kind("a named grid of anl.experiments", "grid names", _grid)
STUDY = Kind("a named tuning study of anl.experiments", "study names", _study)
CIFAR10N_SET = Kind("a CIFAR-10N label set", "CIFAR-10N label sets", _cifar10n_set)
SEGMENTATION_PROTOCOL = Kind("a segmentation protocol", "segmentation protocols", _segmentation_protocol)
PRESET_DATASET = Kind("a data set with a preset for every loss", "data sets", _preset_dataset)
NOISE_TYPE = Kind("a noise type", "noise types", _noise_type)
SEED = integer(1)
EPOCHS = optional(integer(1))  # None: the protocol's
TRAIN_SUBSET = optional(integer(1))  # None: the full training set
FRACTION = number(0.0, 1.0, low_open=True)
FLAG = _accepting("True or False", "flags", lambda value: isinstance(value, bool))
FOLDER = _accepting("a folder path or None", "folder paths",
                    lambda value: value is None or isinstance(value, (str, os.PathLike)))
DEVICE = _accepting("a device: auto, cpu, cuda or cuda:N", "devices", _device)
SUBSET_AND_EPOCHS = _accepting(
    "[training subset, epochs], each a positive integer or None", "[training subset, epochs] pairs",
    lambda value: isinstance(value, (list, tuple)) and len(value) == 2
    and all(part is None or (_is_integer(part) and part >= 1) for part in value))

# ----------------------------------------------------------------------------- pages
def parameter(default: Any, kind: Kind) -> Any:
    """A page's field: its ``default`` and the :class:`Kind` its values must be of."""
    return field(default=default, metadata={"kind": kind})


def _frozen(value: Any) -> Any:
    """``value`` with its lists as tuples, so that a page's values cannot change under it."""
    return tuple(_frozen(item) for item in value) if isinstance(value, (list, tuple)) else value


@dataclass(frozen=True)
class Page:
    """A book page: subclasses are frozen dataclasses whose fields, made by :func:`parameter`, are
    the parameters of the notebook ``notebook``; building one checks every field, in order, and
    raises ValueError with one line, "parameter NAME: what is wrong; the valid choices"."""

    notebook: ClassVar[str]

    def __post_init__(self) -> None:
        values = self.parameters()
        for item in fields(self):
            try:
                item.metadata["kind"].check(values[item.name], values)
            except ValueError as error:
                raise ValueError(f"parameter {item.name}: {error}") from None

    @classmethod
    def from_parameters(cls, namespace: Mapping[str, Any]) -> Page:
        """The page with the values in ``namespace`` of its fields, lists as tuples; a field absent
        or ``...`` (a notebook's unset parameter) keeps its default, other names are ignored, so a
        notebook passes its ``globals()``."""
        names = {item.name for item in fields(cls)}
        return cls(**{name: _frozen(value) for name, value in namespace.items() if name in names and value is not ...})

    def parameters(self) -> dict[str, Any]:
        """The page's parameters by name, in the order of its fields."""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def overrides(self) -> dict[str, Any]:
        """The parameters whose values are not the defaults, tuples as lists: what papermill injects."""
        return {item.name: _shown(getattr(self, item.name)) for item in fields(self)
                if getattr(self, item.name) != item.default}

    def parameters_line(self) -> str:
        """"**Parameters:** `name = value`, ...": the values the page runs with, in Markdown."""
        return "**Parameters:** " + ", ".join(f"`{name} = {_shown(value)!r}`" for name, value in self.parameters().items())


_RESULTS_DIR = parameter(None, FOLDER)  # results folder, None for results/ of the repository
_TRAIN_MISSING = parameter(True, FLAG)  # train runs missing from the store, else stop and list them
_DEVICE = parameter("auto", DEVICE)


@dataclass(frozen=True)
class Benchmark(Page):
    """notebooks/benchmark.py: every loss x noise x seed on a protocol, the paper's protocol, the
    newest robust losses, the entropy regulariser and protocols side by side."""

    notebook: ClassVar[str] = "benchmark"
    dataset: str = parameter("mnist", dataset_name())
    loss_names: tuple[str, ...] = parameter(experiments.BENCHMARK_LOSSES, listed(loss_key()))
    noises: tuple[str, ...] = parameter(("clean", "sym:0.4", "sym:0.8", "asym:0.2", "asym:0.4"), listed(NOISE))
    seeds: tuple[int, ...] = parameter(experiments.REDUCED_SEEDS, listed(SEED))
    epochs: int | None = parameter(experiments.REDUCED_CLASSIFICATION["epochs"], EPOCHS)
    train_subset: int | None = parameter(experiments.REDUCED_CLASSIFICATION["train_subset"], TRAIN_SUBSET)
    results_dir: str | None = _RESULTS_DIR
    train_missing: bool = _TRAIN_MISSING
    device: str = _DEVICE
    #: also trained on the paper's protocol (all training images, its epochs); () to skip
    paper_loss_names: tuple[str, ...] = parameter(experiments.MNIST_FULL_LOSSES, listed(loss_key(), required=False))
    paper_noises: tuple[str, ...] = parameter(experiments.MNIST_FULL_NOISES, listed(NOISE, required="paper_loss_names"))
    paper_seeds: tuple[int, ...] = parameter(experiments.MNIST_FULL_SEEDS, listed(SEED, required="paper_loss_names"))
    #: the newest robust losses at the paper's protocol beside ANL; None to skip
    newest_grid: str | None = parameter("mnist-newest", optional(GRID))
    #: where ANL-CE-ER runs beside ANL-CE (page protocol and seeds); () to skip
    er_noises: tuple[str, ...] = parameter(experiments.ER_NOISES, listed(NOISE, required=False))
    #: lambda of ANL-CE-ER, with ANL-CE's alpha, beta, delta
    er_lambda: float = parameter(experiments.ER_LAMBDA_FOR_MNIST, hyperparameter("anl_ce_er", "lam"))
    #: also trained under each of ``protocols``; () to skip
    protocol_losses: tuple[str, ...] = parameter(("anl_ce", "nce_rce"), listed(loss_key(), required=False))
    protocol_noises: tuple[str, ...] = parameter(("sym:0.8", "asym:0.4"), listed(NOISE, required="protocol_losses"))
    #: (training subset or None for all images, epochs); the first is the reference
    protocols: tuple[tuple[int | None, int], ...] = parameter(
        ((10_000, 30), *experiments.MNIST_PROTOCOL_CORNERS, (None, 50)),
        listed(SUBSET_AND_EPOCHS, required="protocol_losses"))
    protocol_seeds: tuple[int, ...] = parameter((1,), listed(SEED, required="protocol_losses"))

    def runs(self) -> dict[str, list[RunConfig]]:
        """"runs": every loss x noise x seed on the page's protocol; "paper": every paper loss x paper
        noise x paper seed on the paper's protocol (full training set, the data set's epochs); "newest":
        the runs of the grid ``newest_grid`` on ``dataset`` (empty for None; ValueError for a grid with
        none); "er": ANL-CE and ANL-CE-ER (ANL-CE's alpha, beta, delta and lambda ``er_lambda``) x ER
        noise x seed on the page's protocol; "protocols": every protocol loss x protocol noise x
        (training subset or None for all images, epochs) of ``protocols`` x protocol seed, in that
        nesting order."""
        protocol = {"epochs": self.epochs, "train_subset": self.train_subset}
        return {"runs": product(self.dataset, self.loss_names, self.noises, self.seeds, **protocol),
                "paper": product(self.dataset, self.paper_loss_names, self.paper_noises, self.paper_seeds),
                "newest": _grid_runs_on(self.newest_grid, self.dataset) if self.newest_grid else [],
                "er": entropy_regulariser_configs(self.dataset, self.er_noises, self.seeds, self.er_lambda, **protocol),
                "protocols": [run_config(self.dataset, loss, noise, seed, epochs=length, train_subset=subset)
                              for loss in self.protocol_losses for noise in self.protocol_noises
                              for subset, length in self.protocols for seed in self.protocol_seeds]}


def _grid_runs_on(name: str, dataset: str) -> list[RunConfig]:
    """The classification runs of the grid ``name`` on ``dataset``; ValueError if it has none."""
    runs = [config for config in experiments.grid(name) if isinstance(config, RunConfig) and config.dataset == dataset]
    if not runs:
        raise ValueError(f"grid {name!r} has no run on {dataset}")
    return runs


@dataclass(frozen=True)
class Dynamics(Page):
    """notebooks/dynamics.py: how fast each loss learns and when it starts to memorise."""

    notebook: ClassVar[str] = "dynamics"
    dataset: str = parameter("mnist", dataset_name())
    loss_names: tuple[str, ...] = parameter(experiments.DYNAMICS_LOSSES, listed(loss_key()))
    noises: tuple[str, ...] = parameter(experiments.MNIST_FULL_NOISES, listed(NOISE))
    seeds: tuple[int, ...] = parameter(experiments.REDUCED_SEEDS, listed(SEED))
    epochs: int | None = parameter(experiments.REDUCED_CLASSIFICATION["epochs"], EPOCHS)
    train_subset: int | None = parameter(experiments.REDUCED_CLASSIFICATION["train_subset"], TRAIN_SUBSET)
    results_dir: str | None = _RESULTS_DIR
    train_missing: bool = _TRAIN_MISSING
    device: str = _DEVICE
    #: the convergence bar: this fraction of the best loss's last-epoch test accuracy
    convergence_fraction: float = parameter(0.95, FRACTION)
    #: test accuracy after these epochs; () to skip
    early_epochs: tuple[int, ...] = parameter((5, 10), listed(integer(1), required=False))

    def runs(self) -> dict[str, list[RunConfig]]:
        """"runs": every loss x noise x seed on the page's protocol."""
        return {"runs": product(self.dataset, self.loss_names, self.noises, self.seeds, epochs=self.epochs,
                                train_subset=self.train_subset)}


_ABLATION = experiments.ABLATION_SETTINGS


@dataclass(frozen=True)
class Ablations(Page):
    """notebooks/ablations.py: ANL-CE's regulariser and hyperparameters varied around its preset;
    the defaults are the grid ``mnist-ablations``'s (``anl.experiments.ABLATION_SETTINGS``)."""

    notebook: ClassVar[str] = "ablations"
    dataset: str = parameter("mnist", dataset_name(class_names_for="lambdas"))
    seeds: tuple[int, ...] = parameter(experiments.ABLATION_SEEDS, listed(SEED))
    epochs: int | None = parameter(experiments.REDUCED_CLASSIFICATION["epochs"], EPOCHS)
    train_subset: int | None = parameter(experiments.REDUCED_CLASSIFICATION["train_subset"], TRAIN_SUBSET)
    results_dir: str | None = _RESULTS_DIR
    train_missing: bool = _TRAIN_MISSING
    device: str = _DEVICE
    #: noise of the L1/L2 and delta sweeps
    high_noise: str = parameter(_ABLATION["high_noise"], NOISE)
    #: L2 strengths tried instead of L1
    l2_weight_decays: tuple[float, ...] = parameter(_ABLATION["l2_weight_decays"],
                                                    listed(number(0.0, low_open=True), required=False))
    deltas: tuple[float, ...] = parameter(_ABLATION["deltas"], listed(hyperparameter("anl_ce", "delta"), required=False))
    #: noise of the alpha/beta grid
    sensitivity_noise: str = parameter(_ABLATION["sensitivity_noise"], NOISE)
    alphas: tuple[float, ...] = parameter(_ABLATION["alphas"], listed(hyperparameter("anl_ce", "alpha"), required=False))
    betas: tuple[float, ...] = parameter(_ABLATION["betas"], listed(hyperparameter("anl_ce", "beta"), required=False))
    er_noise: str = parameter(_ABLATION["er_noise"], NOISE)
    lambdas: tuple[float, ...] = parameter(_ABLATION["lambdas"],
                                           listed(hyperparameter("anl_ce_er", "lam"), required=False))

    def runs(self) -> dict[str, list[tuple[Any, RunConfig]]]:
        """The sections of :func:`anl.experiments.ablation_configs`: "regulariser", "alpha_beta", "delta", "lambda"."""
        return ablation_configs(self.dataset, self.seeds, epochs=self.epochs, train_subset=self.train_subset,
                                high_noise=self.high_noise, l2_weight_decays=self.l2_weight_decays,
                                deltas=self.deltas, sensitivity_noise=self.sensitivity_noise, alphas=self.alphas,
                                betas=self.betas, er_noise=self.er_noise, lambdas=self.lambdas)


@dataclass(frozen=True)
class ClaimRuns:
    """The runs of a :class:`Claims` page's sections: None where a section asks for none (or, for
    the runs taken from named grids, none is recorded); ``newest_missing`` the newest losses' runs not
    recorded yet."""

    paper: report.RunSet
    grids: report.RunSet | None
    newest: report.RunSet | None
    newest_missing: list[RunConfig]
    regulariser: report.RunSet | None
    entropy: report.RunSet | None
    masks: report.RunSet | None


#: The row of the claims page that is not the paper's: ANL against the losses that came after it.
NEWEST_CLAIM = "beats the newest robust losses"


@dataclass(frozen=True)
class Claims(Page):
    """notebooks/claims.py: each claim of the ANL papers as a verdict on the recorded runs."""

    notebook: ClassVar[str] = "claims"
    dataset: str = parameter("mnist", dataset_name())
    #: the candidates: ANL with CE and with FL as the active loss
    anl_losses: tuple[str, ...] = parameter(("anl_ce", "anl_fl"), listed(loss_key()))
    #: the paper's baselines
    baseline_losses: tuple[str, ...] = parameter(("ce", "gce", "nce_mae", "nce_rce", "nce_agce"), listed(loss_key()))
    #: APL with MAE, which the paper says converges slowly; () to skip
    slow_losses: tuple[str, ...] = parameter(("nce_mae",), listed(loss_key(), required=False))
    noises: tuple[str, ...] = parameter(experiments.MNIST_FULL_NOISES, listed(NOISE))
    seeds: tuple[int, ...] = parameter(experiments.MNIST_FULL_SEEDS, listed(SEED))
    #: None (with train_subset None): the paper's protocol for the data set
    epochs: int | None = parameter(None, EPOCHS)
    train_subset: int | None = parameter(None, TRAIN_SUBSET)
    #: of these runs' forward and backward (the loss is float32): part of each run's key
    precision: str = parameter("fp32", PRECISION)
    #: named grids whose recorded runs (this protocol, other noise settings) test the claims too
    grids: tuple[str, ...] = parameter((), listed(GRID, required=False))
    #: grids of the newest robust losses (JAL, ε-softmax): ANL against their recorded runs
    newest_grids: tuple[str, ...] = parameter(("mnist-newest",), listed(GRID, required=False))
    #: the convergence bar: this fraction of the best loss's last-epoch test accuracy
    convergence_fraction: float = parameter(0.95, FRACTION)
    #: convergence also as the test accuracy after these epochs; () to skip
    early_epochs: tuple[int, ...] = parameter((5, 10), listed(integer(1), required=False))
    #: the absolute bar: ANL fits fewer than this share of the wrong labels at the last epoch
    memorisation_bar: float = parameter(0.10, FRACTION)
    #: of the L1 against L2 runs, on the ablations' (reduced) protocol
    ablation_seeds: tuple[int, ...] = parameter(experiments.ABLATION_SEEDS, listed(SEED, required="l2_weight_decays"))
    ablation_epochs: int | None = parameter(experiments.REDUCED_CLASSIFICATION["epochs"], EPOCHS)
    ablation_train_subset: int | None = parameter(experiments.REDUCED_CLASSIFICATION["train_subset"], TRAIN_SUBSET)
    #: noise of the L1 against L2 comparison
    high_noise: str = parameter(_ABLATION["high_noise"], NOISE)
    l2_weight_decays: tuple[float, ...] = parameter(_ABLATION["l2_weight_decays"],
                                                    listed(number(0.0, low_open=True), required=False))
    #: where ANL-CE-ER is compared with ANL-CE (ablation protocol)
    er_noises: tuple[str, ...] = parameter(experiments.ER_NOISES, listed(NOISE, required=False))
    er_seeds: tuple[int, ...] = parameter(experiments.REDUCED_SEEDS, listed(SEED, required="er_noises"))
    #: lambda of ANL-CE-ER, with ANL-CE's alpha, beta, delta
    er_lambda: float = parameter(experiments.ER_LAMBDA_FOR_MNIST, hyperparameter("anl_ce_er", "lam"))
    segmentation_candidates: tuple[str, ...] = parameter(("anl_ce",), listed(loss_key(segmentation=True),
                                                                             required=False))
    #: per-pixel losses
    segmentation_baselines: tuple[str, ...] = parameter(
        ("ce", "gce", "nce_rce"), listed(loss_key(segmentation=True), required="segmentation_candidates"))
    #: the segmentation loss users expect, compared separately; () to skip
    segmentation_reference: tuple[str, ...] = parameter(("dice",), listed(loss_key(segmentation=True), required=False))
    segmentation_noises: tuple[str, ...] = parameter(("boundary:1:8-16", "shift:1:8-16"),
                                                     listed(mask_noise(), required="segmentation_candidates"))
    segmentation_seeds: tuple[int, ...] = parameter((1, 2), listed(SEED, required="segmentation_candidates"))
    #: see anl.experiments.SEGMENTATION_PROTOCOLS
    segmentation_protocol: str = parameter("reduced", SEGMENTATION_PROTOCOL)
    results_dir: str | None = _RESULTS_DIR
    train_missing: bool = _TRAIN_MISSING
    device: str = _DEVICE

    @property
    def claim_losses(self) -> list[str]:
        return [*self.anl_losses, *self.baseline_losses, *self.slow_losses]

    def runs(self) -> dict[str, list[Any]]:
        """"paper": the ANL, baseline and slow losses x noise x seed in ``precision``; "grids": (grid
        name, config) of the runs of the named ``grids`` with one of those losses on ``dataset`` and the
        same protocol and precision at a noise setting other than ``noises`` and clean (ValueError for
        a grid with none); "newest": (grid name, config) of the runs of ``newest_grids`` on ``dataset``
        with this page's protocol and precision (their own loss settings allowed) of a loss that is not
        one of the page's, at any noise setting (ValueError for a grid with none); on the ablation
        protocol, "regulariser" (the ablation section: L1, L2 at each weight decay, neither, at
        ``high_noise``; empty without weight decays) and "er"
        (:func:`anl.experiments.entropy_regulariser_configs` at ``er_noises`` x ``er_seeds``); "masks":
        the segmentation losses x mask noise x seed on the named segmentation protocol (empty without
        candidates)."""
        ablation = {"epochs": self.ablation_epochs, "train_subset": self.ablation_train_subset}
        regularisers = ablation_configs(self.dataset, self.ablation_seeds, **ablation, high_noise=self.high_noise,
                                        l2_weight_decays=self.l2_weight_decays)["regulariser"]
        mask_losses = [*self.segmentation_candidates, *self.segmentation_baselines, *self.segmentation_reference]
        claim_losses = self.claim_losses
        grid_runs = []
        for name in self.grids:
            runs = [(name, config) for config in experiments.grid(name)
                    if config.dataset == self.dataset and config.precision == self.precision
                    and experiments.at_protocol(config, self.epochs, self.train_subset)
                    and config.loss in claim_losses and config.noise not in (*self.noises, "clean")]
            if not runs:
                raise ValueError(f"grid {name!r} has no run of {', '.join(claim_losses)} on {self.dataset} with this "
                                 f"page's protocol and precision at a noise setting other than "
                                 f"{', '.join(self.noises)} and clean")
            grid_runs += runs
        newest_runs = []
        for name in self.newest_grids:
            runs = [(name, config) for config in experiments.grid(name)
                    if isinstance(config, RunConfig) and config.dataset == self.dataset
                    and config.precision == self.precision
                    and experiments.at_protocol_own_loss_settings(config, self.epochs, self.train_subset)
                    and config.loss not in claim_losses]
            if not runs:
                raise ValueError(f"grid {name!r} has no run on {self.dataset} with this page's protocol and "
                                 f"precision of a loss other than {', '.join(claim_losses)}")
            newest_runs += runs
        return {"paper": product(self.dataset, claim_losses, self.noises, self.seeds, epochs=self.epochs,
                                 train_subset=self.train_subset, precision=self.precision),
                "grids": grid_runs, "newest": newest_runs,
                "regulariser": regularisers if self.l2_weight_decays else [],
                "er": entropy_regulariser_configs(self.dataset, self.er_noises, self.er_seeds, self.er_lambda,
                                                  **ablation),
                "masks": experiments.segmentation_grid(self.segmentation_protocol, mask_losses,
                                                       self.segmentation_noises, self.segmentation_seeds)
                if self.segmentation_candidates else []}

    def load(self, sections: Mapping[str, list[Any]]) -> ClaimRuns:
        """The runs of ``sections`` (:meth:`runs`) through ``anl.report.load_runs`` (training the
        missing ones where ``train_missing``), but those taken from named grids: only the recorded."""
        def load(configs: list) -> report.RunSet | None:
            return (report.load_runs(configs, self.results_dir, train=self.train_missing, device=self.device)
                    if configs else None)

        newest, newest_missing = report.recorded_runs(configs(sections["newest"]), self.results_dir)
        return ClaimRuns(paper=load(sections["paper"]),
                         grids=report.recorded_runs(configs(sections["grids"]), self.results_dir)[0],
                         newest=newest, newest_missing=newest_missing,
                         regulariser=load(configs(sections["regulariser"])), entropy=load(sections["er"]),
                         masks=load(sections["masks"]))

    @property
    def benchmark_protocol(self) -> str:
        return report.protocol_label(self.epochs, self.train_subset)

    @property
    def ablation_protocol(self) -> str:
        return report.protocol_label(self.ablation_epochs, self.ablation_train_subset)

    @property
    def reduced_protocols(self) -> set[str]:
        """The protocols of the page's rows that are not the paper's."""
        return {self.benchmark_protocol, self.ablation_protocol} - {report.protocol_label(None, None)}

    def verdicts(self, sections: Mapping[str, list[Any]], runs: ClaimRuns) -> pd.DataFrame:
        """One row per claim and setting: "claim", "protocol", "setting", "measure" and the cells of
        ``anl.report.ClaimCheck.cells`` ("verdict", "paired difference", "interval", "seeds",
        "candidates", "baselines"), in the order robustness, memorisation and convergence at ``noises``
        then at the named grids' settings, :data:`NEWEST_CLAIM` (at each setting where every newest loss
        and a candidate ran), L1 against L2, the entropy regulariser, segmentation."""
        rows: list[dict[str, Any]] = []

        def add(claim: str, protocol: str, setting: str, measure: str, check: report.ClaimCheck, judged_on: str,
                names: Callable[[str], str] = str) -> None:
            rows.append({"claim": claim, "protocol": protocol, "setting": setting, "measure": measure,
                         **check.cells(report.measure(judged_on), names)})

        for spec in self.noises:
            self._noise_claims(add, runs.paper, spec)
        for spec in dict.fromkeys(runs.grids.summaries["noise"]) if runs.grids else ():
            self._noise_claims(add, runs.grids, spec)
        if runs.newest:
            anl_runs = pd.concat([found.summaries for found in (runs.paper, runs.grids) if found])
            newest = configs(sections["newest"])
            for spec in dict.fromkeys(config.noise for config in newest):
                rivals = list(dict.fromkeys(config.loss for config in newest if config.noise == spec))
                summaries = pd.concat([anl_runs[anl_runs["noise"] == spec],
                                       runs.newest.summaries[runs.newest.summaries["noise"] == spec]])
                candidates = [loss for loss in self.anl_losses if loss in set(summaries["loss"])]
                if candidates and set(rivals) <= set(summaries["loss"]):  # every newest loss ran there
                    add(NEWEST_CLAIM, self.benchmark_protocol, report.noise_cell(spec), "last-epoch test accuracy (%)",
                        report.claim_check(summaries, "loss", "final_test_acc", candidates, rivals), "accuracy",
                        self._loss_name)
        if sections["regulariser"]:
            regularisers = report.section_runs(runs.regulariser.summaries, sections["regulariser"], "regulariser")
            l1_setting = sections["regulariser"][0][0]  # ablation_configs lists the L1 (preset) runs first
            l2_settings = list(dict.fromkeys(setting for setting, config in sections["regulariser"]
                                             if config.weight_decay))
            add("L1 keeps ANL robust where L2 does not", self.ablation_protocol,
                f"ANL-CE, {report.noise_cell(self.high_noise)}", "last-epoch test accuracy (%)",
                report.claim_check(regularisers, "regulariser", "final_test_acc", [l1_setting], l2_settings),
                "accuracy")
        if sections["er"]:
            er = runs.entropy.summaries
            er = er.assign(divergence=er["test_confusion"].map(report.predicted_share_divergence))
            for spec in self.er_noises:
                at, label = er[er["noise"] == spec], f"λ = {self.er_lambda:g}, {report.noise_cell(spec)}"
                add("the entropy regulariser balances the predictions", self.ablation_protocol, label,
                    "KL(predicted class shares ‖ true shares) on the test set (nats)",
                    report.claim_check(at, "loss", "divergence", ["anl_ce_er"], ["anl_ce"], higher_is_better=False),
                    "divergence", self._loss_name)
                add("the entropy regulariser raises test accuracy", self.ablation_protocol, label,
                    "last-epoch test accuracy (%)",
                    report.claim_check(at, "loss", "final_test_acc", ["anl_ce_er"], ["anl_ce"]), "accuracy",
                    self._loss_name)
        if runs.masks:
            mask_protocol = f"segmentation, {self.segmentation_protocol}"
            for spec in self.segmentation_noises:
                at = runs.masks.summaries[runs.masks.summaries["noise"] == spec]
                label = f"ISIC 2017, {report.mask_noise_label(spec)}"
                add("robust to noisy masks, per pixel", mask_protocol, label, "last-epoch test Dice (%)",
                    report.claim_check(at, "loss", "final_test_dice", self.segmentation_candidates,
                                       self.segmentation_baselines), "dice", self._loss_name)
                if self.segmentation_reference:
                    add("robust to noisy masks, against the Dice loss", mask_protocol, label, "last-epoch test Dice (%)",
                        report.claim_check(at, "loss", "final_test_dice", self.segmentation_candidates,
                                           self.segmentation_reference), "dice", self._loss_name)
        return pd.DataFrame(rows)

    def _loss_name(self, loss: str) -> str:
        return report.loss_label(loss, self.dataset)

    def _noise_claims(self, add: Callable[..., None], runs: report.RunSet, spec: str) -> None:
        """The robustness, memorisation and convergence rows at noise ``spec``, each with the candidates
        and baselines that ran there."""
        summaries, label, protocol = (runs.summaries[runs.summaries["noise"] == spec], report.noise_cell(spec),
                                      self.benchmark_protocol)
        ran = set(summaries["loss"])
        candidates, baselines, slow = ([loss for loss in group if loss in ran]
                                       for group in (self.anl_losses, self.baseline_losses, self.slow_losses))
        if not candidates or not baselines:
            return
        memorisation = "wrong labels fitted, last epoch (%)"
        add("robust at high noise", protocol, label, "last-epoch test accuracy (%)",
            report.claim_check(summaries, "loss", "final_test_acc", candidates, baselines), "accuracy", self._loss_name)
        add("does not memorise wrong labels", protocol, label, memorisation,
            report.claim_check(summaries, "loss", "final_noisy_acc_given", candidates, baselines,
                               higher_is_better=False), "memorisation", self._loss_name)
        add(f"fits under {100 * self.memorisation_bar:g}\u00a0% of the wrong labels", protocol, label, memorisation,
            report.bar_check(summaries, "loss", "final_noisy_acc_given", candidates, self.memorisation_bar,
                             higher_is_better=False), "memorisation", self._loss_name)
        if not slow:
            return
        epochs_run = runs.epochs[runs.epochs["noise"] == spec]  # every loss there sets the convergence bar
        early = report.accuracy_at_epochs(epochs_run, self.early_epochs)
        for epoch in self.early_epochs:
            add(f"converges faster than APL with MAE: accuracy after epoch {epoch}", protocol, label,
                f"test accuracy after epoch {epoch} (%)",
                report.claim_check(early, "loss", f"test_acc_at_{epoch}", candidates, slow), "accuracy",
                self._loss_name)
        add("converges faster than APL with MAE: epochs to the convergence bar", protocol, label,
            f"epochs to {100 * self.convergence_fraction:g} % of the best loss's last-epoch test accuracy",
            report.claim_check(report.run_dynamics(epochs_run, self.convergence_fraction), "loss", "reached_bar",
                               candidates, slow, higher_is_better=False), "epochs", self._loss_name)

    def notes(self, table: pd.DataFrame) -> str:
        """What the protocols of ``table`` (:meth:`verdicts`) mean, and the caveat of a newest-loss row
        off CIFAR-10 (those losses' presets are CIFAR-10's)."""
        notes = ['*Protocol*: "paper" is the paper\'s protocol for the data set (all training images, its epochs).']
        if table["protocol"].isin(self.reduced_protocols).any():
            notes.append(
                '"Reduced" is this project\'s CPU protocol, on which the MNIST benchmark page finds the losses ranked '
                "differently from the paper's protocol at asymmetric noise, so read the ablation rows as tests of the "
                "regulariser or penalty on that protocol. That page's last section separates the reduced protocol's "
                "two cuts, training images and optimiser steps, and shows ANL-CE fitting the wrong labels when trained "
                "long on the 10,000-image subset: the memorisation rows hold for the protocol they name, not for any "
                "amount of data.")
        if (table["claim"] == NEWEST_CLAIM).any() and self.dataset != "cifar10":
            notes.append("The newest robust losses have no published preset for this data set: their runs take their "
                         "CIFAR-10 presets (see {doc}`benchmark`), so a row against them tests those presets here as "
                         "much as the losses.")
        return " ".join(notes)

    def runs_behind(self, sections: Mapping[str, list[Any]], runs: ClaimRuns) -> str:
        """The runs behind the verdicts in Markdown: each group of rows, with its recorded protocol."""
        behind = {"**Robustness, memorisation, convergence** (the rows at the settings of parameter `noises`):":
                  runs.paper.protocol()}
        if self.grids:
            named = [(name, config) for name in self.grids for config in experiments.grid(name)]
            behind["**The named grids' runs**, counted whole; the rows above take those at their other noise "
                   "settings (a row needs one candidate and one baseline recorded there):"] = (
                report.grid_status(named, report.recorded_runs(configs(named), self.results_dir)[1]) + "\n\n"
                + (runs.grids.protocol() if runs.grids else "*None recorded yet.*"))
        if sections["newest"]:
            behind["**The newest robust losses** (JAL-CE and CEε+MAE, ANL's runs above beside them; a row needs every "
                   "one of them recorded at its setting):"] = (
                report.grid_status(sections["newest"], runs.newest_missing) + "\n\n"
                + (runs.newest.protocol() if runs.newest else "*None recorded yet.*"))
        if runs.regulariser:
            behind["**L1 against L2** (the ablations, see {doc}`ablations`):"] = runs.regulariser.protocol()
        if runs.entropy:
            behind["**The entropy regulariser** (ANL-CE-ER beside ANL-CE from the benchmark grid; ANL-CE-ER has no "
                   "published (Fashion-)MNIST preset, see {doc}`benchmark`):"] = runs.entropy.protocol()
        if runs.masks:
            behind["**Segmentation** (a protocol of our own design, the paper's could not be obtained; see "
                   "{doc}`segmentation`):"] = runs.masks.protocol()
        return "\n\n".join(f"{heading}\n\n{protocol}" for heading, protocol in behind.items())


@dataclass(frozen=True)
class Segmentation(Page):
    """notebooks/segmentation.py: the losses per pixel on ISIC 2017 with noisy masks."""

    notebook: ClassVar[str] = "segmentation"
    loss_names: tuple[str, ...] = parameter(experiments.SEGMENTATION_GRID_LOSSES, listed(loss_key(segmentation=True)))
    #: anl.mask_noise specs, e.g. coarse:0.5:ellipse
    noises: tuple[str, ...] = parameter(("clean", "boundary:0.5:8-16", "boundary:1:8-16", "shift:0.5:8-16",
                                         "shift:1:8-16"), listed(mask_noise()))
    seeds: tuple[int, ...] = parameter((1, 2), listed(SEED))
    #: reduced (64x48, CPU) or full (256x192, GPU), see anl.experiments.SEGMENTATION_PROTOCOLS
    protocol: str = parameter("reduced", SEGMENTATION_PROTOCOL)
    #: None for the protocol's
    epochs: int | None = parameter(None, EPOCHS)
    #: the noise setting whose predictions the example figure shows
    example_noise: str = parameter("boundary:1:8-16", mask_noise(canonical=False))
    #: a second protocol set beside ``protocol`` in the last section, None for none
    resolution_protocol: str | None = parameter("half", optional(SEGMENTATION_PROTOCOL))
    resolution_losses: tuple[str, ...] = parameter(experiments.RESOLUTION_LOSSES,
                                                   listed(loss_key(segmentation=True), required=False))
    resolution_noises: tuple[str, ...] = parameter(experiments.RESOLUTION_NOISE, listed(mask_noise(), required=False))
    resolution_seeds: tuple[int, ...] = parameter((1,), listed(SEED, required=False))
    results_dir: str | None = _RESULTS_DIR
    train_missing: bool = _TRAIN_MISSING
    device: str = _DEVICE

    def runs(self) -> dict[str, list[SegmentationConfig]]:
        """"runs": every loss x mask noise x seed on the named protocol (its epochs unless ``epochs``);
        "resolution": every resolution loss x noise x seed on the protocol ``resolution_protocol``
        (empty for None), to set beside the same runs of "runs"."""
        return {"runs": experiments.segmentation_grid(self.protocol, self.loss_names, self.noises, self.seeds,
                                                      **({} if self.epochs is None else {"epochs": self.epochs})),
                "resolution": experiments.segmentation_grid(self.resolution_protocol, self.resolution_losses,
                                                            self.resolution_noises, self.resolution_seeds)
                if self.resolution_protocol else []}


@dataclass(frozen=True)
class Cifar10(Page):
    """notebooks/cifar10.py: the paper's CIFAR-10 protocol, a shorter one under test, and the named
    grids of the published table, instance-dependent and human noise, the newest losses and precision."""

    notebook: ClassVar[str] = "cifar10"
    dataset: str = parameter("cifar10", dataset_name())
    loss_names: tuple[str, ...] = parameter(("ce", "nce_rce", "anl_ce", "anl_fl"), listed(loss_key()))
    noises: tuple[str, ...] = parameter((experiments.CIFAR10_HEADLINE_NOISE,), listed(NOISE))
    seeds: tuple[int, ...] = parameter((1,), listed(SEED))
    #: of the model's forward and backward (the loss is float32): part of each run's key
    precision: str = parameter("bf16", PRECISION)
    #: the shorter protocol under test (everything else equal, cosine over its epochs); None to skip
    short_epochs: int | None = parameter(experiments.CIFAR10_SHORT_EPOCHS, EPOCHS)
    #: the rule's bound: every loss's last-epoch accuracy within this (2 points) of the paper protocol's
    tolerance: float = parameter(0.02, number(0.0, low_open=True))
    results_dir: str | None = _RESULTS_DIR
    #: True: train the missing runs first (hours each on a CPU)
    train_missing: bool = parameter(False, FLAG)
    device: str = _DEVICE
    #: the rest of the published table (sym 0.4, asym 0.2 and 0.4, clean); None to skip
    table_grid: str | None = parameter("cifar10-table", optional(GRID))
    #: instance-dependent noise; None to skip
    idn_grid: str | None = parameter("cifar10-idn", optional(GRID))
    #: real human noise (CIFAR-10N label sets); None to skip
    human_grid: str | None = parameter("cifar10n", optional(GRID))
    #: the newest robust losses (JAL-CE, CEε+MAE) and NCE+AGCE; None to skip
    newest_grid: str | None = parameter("cifar10-newest", optional(GRID))
    #: bf16 runs set beside their fp32 twins (same seed, and spread_seed); None to skip
    precision_grid: str | None = parameter("mnist-bf16", optional(GRID))
    #: the fp32 twins' second seed: how far a seed alone moves the numbers
    spread_seed: int = parameter(2, SEED)

    def runs(self) -> dict[str, list[RunConfig]]:
        """"paper": every loss x noise x seed at the data set's full protocol in ``precision``; "short":
        the same runs with ``short_epochs`` epochs, the shorter protocol under test (empty for None);
        "table", "idn", "human", "newest": the runs of the grids ``table_grid``, ``idn_grid``,
        ``human_grid``, ``newest_grid`` (empty for None); "precision": every run of the grid
        ``precision_grid`` (empty for None), each followed by its fp32 twin and the twin's run with
        ``spread_seed``."""
        def named(grid: str | None) -> list[RunConfig]:
            return experiments.grid(grid) if grid else []

        return {"paper": product(self.dataset, self.loss_names, self.noises, self.seeds, precision=self.precision),
                "short": product(self.dataset, self.loss_names, self.noises, self.seeds, epochs=self.short_epochs,
                                 precision=self.precision) if self.short_epochs else [],
                "table": named(self.table_grid), "idn": named(self.idn_grid), "human": named(self.human_grid),
                "newest": named(self.newest_grid),
                "precision": [twin for config in named(self.precision_grid)
                              for twin in (config, replace(config, precision="fp32"),
                                           replace(config, precision="fp32", seed=self.spread_seed))]}


@dataclass(frozen=True)
class Detection(Page):
    """notebooks/detection.py: how well each loss's scores find the wrong labels."""

    notebook: ClassVar[str] = "detection"
    #: noise settings shown
    settings: tuple[str, ...] = parameter(("sym:0.8", "asym:0.4", "idn-file:0.4", "cifar10n:worst"), listed(NOISE))
    #: their paper-protocol runs
    grids: tuple[str, ...] = parameter(("mnist-detection", "mnist-newest", "cifar10-idn", "cifar10n",
                                        "cifar10-detection"), listed(GRID))
    #: its held-out-fold runs: the out-of-sample reference (None: none)
    reference_grid: str | None = parameter("mnist-detection-reference", optional(GRID))
    results_dir: str | None = _RESULTS_DIR

    def runs(self) -> dict[str, list[Any]]:
        """"runs": (grid name, config) of the classification runs of the named ``grids`` at the paper's
        protocol for their data set (their own loss settings allowed) at the noise ``settings``, each
        run once, in the grids' order (ValueError for a grid with none); "reference": the
        held-out-fold runs of the grid ``reference_grid`` at the ``settings`` (empty for None)."""
        runs, seen = [], set()
        for name in self.grids:
            chosen = [(name, config) for config in experiments.grid(name)
                      if isinstance(config, RunConfig) and config.noise in self.settings
                      and experiments.at_protocol_own_loss_settings(config) and config.key not in seen]
            if not chosen:
                raise ValueError(f"grid {name!r} has no paper-protocol run at {', '.join(self.settings)}")
            seen.update(config.key for _, config in chosen)
            runs += chosen
        reference = [config for config in (experiments.grid(self.reference_grid) if self.reference_grid else [])
                     if isinstance(config, RunConfig) and config.holdout_folds is not None
                     and config.noise in self.settings]
        return {"runs": runs, "reference": reference}


@dataclass(frozen=True)
class Scorecard(Page):
    """notebooks/scorecard.py: the paper's experiments against this project's runs."""

    notebook: ClassVar[str] = "scorecard"
    #: the paper-protocol grids compared with the published numbers
    published_grids: tuple[str, ...] = parameter(("cifar10-paper", "cifar10-table", "cifar10-idn", "cifar10n",
                                                  "cifar10-newest"), listed(GRID))
    results_dir: str | None = _RESULTS_DIR


@dataclass(frozen=True)
class Tuning(Page):
    """notebooks/tuning.py: a loss's hyperparameters searched on a held-out split with clean or with
    noisy labels, and the chosen settings at the paper's protocol beside the published presets."""

    notebook: ClassVar[str] = "tuning"
    #: the named study of anl.experiments shown
    study: str = parameter("mnist-tuning", STUDY)
    results_dir: str | None = _RESULTS_DIR
    #: run the study's missing searches and runs first (many hours on a CPU, so off unless asked)
    train_missing: bool = parameter(False, FLAG)
    device: str = _DEVICE


@dataclass(frozen=True)
class Using(Page):
    """notebooks/using.py: the package as one would call it in one's own training code."""

    notebook: ClassVar[str] = "using"
    dataset: str = parameter("mnist", dataset_name())
    #: a registry key of anl.losses
    loss_name: str = parameter("anl_ce", loss_key())
    noise_spec: str = parameter("sym:0.6", NOISE)
    #: training images of the example loop
    train_subset: int = parameter(3000, integer(1))
    epochs: int = parameter(3, integer(1))
    seed: int = parameter(1, SEED)


@dataclass(frozen=True)
class Losses(Page):
    """notebooks/losses.py: the losses' properties computed numerically."""

    notebook: ClassVar[str] = "losses"
    num_classes: int = parameter(10, integer(2))
    #: random logit vectors for the symmetry table
    num_inputs: int = parameter(2000, integer(1))
    #: logits are logit_scale times standard normal draws
    logit_scale: float = parameter(3.0, number(0.0, low_open=True))
    seed: int = parameter(0, integer(0))
    #: preset of alpha, beta, a, q for the losses that need one
    preset_dataset: str = parameter("cifar10", PRESET_DATASET)
    #: and its noise type, for the losses whose preset depends on it (ε-softmax)
    preset_noise_type: str = parameter("sym", NOISE_TYPE)


@dataclass(frozen=True)
class Noise(Page):
    """notebooks/noise.py: the label-noise models, their transition matrices and realised rates."""

    notebook: ClassVar[str] = "noise"
    #: noise seed, as the seed of a run
    seed: int = parameter(1, SEED)
    #: rate of the symmetric, asymmetric and IDN heatmaps
    heatmap_rate: float = parameter(0.4, noise_rate("sym", "asym", "idn"))
    #: CIFAR-10N label sets shown as heatmaps
    cifar10n_heatmaps: tuple[str, ...] = parameter(("aggre", "worst"), listed(CIFAR10N_SET, required=False))
    sym_rates: tuple[float, ...] = parameter((0.2, 0.4, 0.6, 0.8), listed(noise_rate("sym"), required=False))
    asym_rates: tuple[float, ...] = parameter((0.1, 0.2, 0.3, 0.4), listed(noise_rate("asym"), required=False))
    idn_rates: tuple[float, ...] = parameter((0.2, 0.4, 0.6), listed(noise_rate("idn"), required=False))
    cifar10n_sets: tuple[str, ...] = parameter(("aggre", "random1", "random2", "random3", "worst"),
                                               listed(CIFAR10N_SET, required=False))


#: The page of each notebook of notebooks/, by the notebook's name.
PAGES: dict[str, type[Page]] = {page.notebook: page for page in (
    Benchmark, Dynamics, Ablations, Claims, Segmentation, Cifar10, Detection, Tuning, Scorecard, Using, Losses,
    Noise)}


#: The book's notebook pages by name (book/notebooks/NAME.ipynb of _toc.yml): every notebook with its
#: defaults, and the variants that execute one with other parameters (book/execute-notebook.sh gives
#: papermill their :meth:`Page.overrides`).
BOOK: dict[str, Page] = {
    **{name: page() for name, page in PAGES.items()},
    # Reduced protocol, seeds 1 and 2 of the fashion-mnist-reduced grid (all eight losses, five noise settings,
    # ANL-CE-ER); no paper-protocol, newest-loss or protocol-comparison section (no Fashion-MNIST runs of those).
    "benchmark-fashion-mnist": Benchmark(dataset="fashion_mnist", paper_loss_names=(), newest_grid=None,
                                         protocol_losses=()),
    # The paper's MNIST protocol (all 60,000 training images, 50 epochs): the three seeds of the mnist-full
    # grid, NCE+MAE among them for the paper's claim that APL with MAE converges slowly.
    "dynamics-paper-protocol": Dynamics(loss_names=experiments.MNIST_FULL_LOSSES, seeds=experiments.MNIST_FULL_SEEDS,
                                        epochs=None, train_subset=None),
    # Reduced protocol, seeds 1 and 2 of the fashion-mnist-reduced grid.
    "dynamics-fashion-mnist": Dynamics(dataset="fashion_mnist"),
    # Every row on the reduced protocol, seeds 1 and 2 of the fashion-mnist-reduced grid, against the page's
    # baselines (the paper's CE, GCE, NCE+MAE, NCE+RCE and NCE+AGCE): no paper-protocol runs, no newest robust
    # losses, no L1/L2 ablation and no segmentation here.
    "claims-fashion-mnist": Claims(dataset="fashion_mnist", seeds=experiments.REDUCED_SEEDS,
                                   epochs=experiments.REDUCED_CLASSIFICATION["epochs"],
                                   train_subset=experiments.REDUCED_CLASSIFICATION["train_subset"], newest_grids=(),
                                   l2_weight_decays=(), segmentation_candidates=()),
    # The paper-protocol runs of the cifar10-paper grid (bf16, seed 1, symmetric 0.8), and at the other noise
    # settings the recorded runs of the grids of the published table, instance-dependent and CIFAR-10N noise; no
    # NCE+MAE run for the convergence claim, no L1/L2 ablation, no entropy-regulariser runs and no segmentation
    # here; the newest robust losses from the cifar10-newest grid.
    "claims-cifar10": Claims(dataset="cifar10", baseline_losses=("ce", "nce_rce"), slow_losses=(),
                             noises=(experiments.CIFAR10_HEADLINE_NOISE,), seeds=(1,), precision="bf16",
                             grids=("cifar10-table", "cifar10-idn", "cifar10n"), newest_grids=("cifar10-newest",),
                             l2_weight_decays=(), er_noises=(), segmentation_candidates=(), train_missing=False),
}


def book_grids() -> list[str]:
    """The named grids that train the runs the pages of :data:`BOOK` read (``make results``): for each
    run, the first grid of ``anl.experiments.GRIDS`` holding it, in that order; ValueError naming
    a run no grid holds."""
    wanted = {config.key: config for book_page in BOOK.values() if hasattr(book_page, "runs")
              for entries in book_page.runs().values() for config in configs(entries)}
    homes = []
    for name in experiments.GRIDS:
        keys = {config.key for config in experiments.grid(name)}
        if keys & wanted.keys():
            homes.append(name)
            wanted = {key: config for key, config in wanted.items() if key not in keys}
    if wanted:
        config = next(iter(wanted.values()))
        raise ValueError(f"{len(wanted)} runs of the book's pages are in no grid of anl.experiments "
                         f"(e.g. {config.loss} {config.noise} seed {config.seed} on {config.dataset})")
    return homes


def page(notebook: str, parameters: Mapping[str, Any] | None = None) -> Page:
    """The page of notebooks/NOTEBOOK.py with ``parameters`` (:meth:`Page.from_parameters`)."""
    if notebook not in PAGES:
        raise ValueError(f"no page of a notebook {notebook!r}; the pages: {', '.join(PAGES)}")
    return PAGES[notebook].from_parameters(parameters or {})


def configs(entries: Sequence[Any]) -> list[ExperimentConfig]:
    """The configs of a section's entries, in order: (setting, config) pairs give their config."""
    return [entry[1] if isinstance(entry, tuple) else entry for entry in entries]
