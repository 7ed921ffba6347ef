"""Internal: the runs each book page reads, from its parameters: one function per notebook of notebooks/,
called by the notebook itself and by the tests that check every page's runs are trained by a grid,
so the two cannot disagree. Each returns the page's sections of runs by name; an entry is a config,
or a (varied setting, config) pair in the ablation sections of :func:`anl.experiments.ablation_configs`.
:func:`check_parameters` is what every notebook calls first: it stops a page at a bad parameter
with one line naming it and its valid choices, before anything reads data or trains.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from anl import engine, experiments, losses, report, train
from anl.experiments import (
    ExperimentConfig, ablation_configs, anl_ce_hparams, entropy_regulariser_configs, product, run_config,
)
from anl.mask_noise import parse_mask_noise
from anl.noise import NOISE_KINDS, parse_noise
from anl.segmentation import LOSS_PRESET as SEGMENTATION_LOSS_PRESET, SegmentationConfig
from anl.train import RunConfig


def benchmark(*, dataset: str, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int],
              epochs: int | None, train_subset: int | None, paper_loss_names: Sequence[str],
              paper_noises: Sequence[str], paper_seeds: Sequence[int], newest_grid: str | None,
              er_noises: Sequence[str], er_lambda: float, protocol_losses: Sequence[str],
              protocol_noises: Sequence[str], protocols: Sequence[Sequence[int | None]],
              protocol_seeds: Sequence[int]) -> dict[str, list[RunConfig]]:
    """"runs": every loss x noise x seed on the page's protocol; "paper": every paper loss x paper
    noise x paper seed on the paper's protocol (full training set, the data set's epochs); "newest":
    the runs of the grid ``newest_grid`` on ``dataset`` (empty for None; ValueError for a grid with
    none); "er":
    ANL-CE and ANL-CE-ER (ANL-CE's alpha, beta, delta and lambda ``er_lambda``) x ER noise x seed
    on the page's protocol; "protocols": every protocol loss x protocol noise x (training subset or
    None for all images, epochs) of ``protocols`` x protocol seed, in that nesting order."""
    return {"runs": product(dataset, loss_names, noises, seeds, epochs=epochs, train_subset=train_subset),
            "paper": product(dataset, paper_loss_names, paper_noises, paper_seeds),
            "newest": _grid_runs_on(newest_grid, dataset) if newest_grid else [],
            "er": entropy_regulariser_configs(dataset, er_noises, seeds, er_lambda, epochs=epochs,
                                              train_subset=train_subset),
            "protocols": [run_config(dataset, loss, noise, seed, epochs=length, train_subset=subset)
                          for loss in protocol_losses for noise in protocol_noises
                          for subset, length in protocols for seed in protocol_seeds]}


def _grid_runs_on(name: str, dataset: str) -> list[RunConfig]:
    """The classification runs of the grid ``name`` on ``dataset``; ValueError if it has none."""
    runs = [config for config in experiments.grid(name) if isinstance(config, RunConfig) and config.dataset == dataset]
    if not runs:
        raise ValueError(f"grid {name!r} has no run on {dataset}")
    return runs


def dynamics(*, dataset: str, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int],
             epochs: int | None, train_subset: int | None) -> dict[str, list[RunConfig]]:
    """"runs": every loss x noise x seed on the page's protocol."""
    return {"runs": product(dataset, loss_names, noises, seeds, epochs=epochs, train_subset=train_subset)}


def ablations(*, dataset: str, seeds: Sequence[int], epochs: int | None, train_subset: int | None,
              high_noise: str, l2_weight_decays: Sequence[float], deltas: Sequence[float], sensitivity_noise: str,
              alphas: Sequence[float], betas: Sequence[float], er_noise: str,
              lambdas: Sequence[float]) -> dict[str, list[tuple[Any, RunConfig]]]:
    """The sections of :func:`anl.experiments.ablation_configs`: "regulariser", "alpha_beta", "delta", "lambda"."""
    return ablation_configs(dataset, seeds, epochs=epochs, train_subset=train_subset, high_noise=high_noise,
                                   l2_weight_decays=l2_weight_decays, deltas=deltas,
                                   sensitivity_noise=sensitivity_noise, alphas=alphas, betas=betas,
                                   er_noise=er_noise, lambdas=lambdas)


def claims(*, dataset: str, anl_losses: Sequence[str], baseline_losses: Sequence[str],
           slow_losses: Sequence[str], noises: Sequence[str], seeds: Sequence[int], epochs: int | None,
           train_subset: int | None, precision: str, grids: Sequence[str], newest_grids: Sequence[str],
           ablation_seeds: Sequence[int],
           ablation_epochs: int | None, ablation_train_subset: int | None, high_noise: str,
           l2_weight_decays: Sequence[float], er_noises: Sequence[str], er_seeds: Sequence[int], er_lambda: float,
           segmentation_candidates: Sequence[str], segmentation_baselines: Sequence[str],
           segmentation_reference: Sequence[str], segmentation_noises: Sequence[str],
           segmentation_seeds: Sequence[int], segmentation_protocol: str) -> dict[str, list[Any]]:
    """"paper": the ANL, baseline and slow losses x noise x seed in ``precision``; "grids": (grid name,
    config) of the runs of the named ``grids`` with one of those losses on ``dataset`` and the same
    protocol and precision at a noise setting other than ``noises`` and clean (ValueError for a grid
    with none); "newest": (grid name, config) of the runs of ``newest_grids`` on ``dataset`` with
    this page's protocol and precision (their own loss settings allowed) of a loss that is not one of
    the page's, at any noise setting (ValueError for a grid with none); on the ablation protocol, "regulariser" (the ablation section: L1, L2 at each weight
    decay, neither, at ``high_noise``; empty without weight decays) and "er"
    (:func:`anl.experiments.entropy_regulariser_configs` at ``er_noises`` x ``er_seeds``); "masks":
    the segmentation losses x mask noise x seed on the named segmentation protocol (empty without
    candidates)."""
    ablation = {"epochs": ablation_epochs, "train_subset": ablation_train_subset}
    regularisers = ablation_configs(dataset, ablation_seeds, **ablation, high_noise=high_noise,
                                           l2_weight_decays=l2_weight_decays)["regulariser"]
    mask_losses = [*segmentation_candidates, *segmentation_baselines, *segmentation_reference]
    claim_losses = [*anl_losses, *baseline_losses, *slow_losses]
    grid_runs = []
    for name in grids:
        runs = [(name, config) for config in experiments.grid(name)
                if config.dataset == dataset and config.precision == precision
                and experiments.at_protocol(config, epochs, train_subset)
                and config.loss in claim_losses and config.noise not in (*noises, "clean")]
        if not runs:
            raise ValueError(f"grid {name!r} has no run of {', '.join(claim_losses)} on {dataset} with this page's "
                             f"protocol and precision at a noise setting other than {', '.join(noises)} and clean")
        grid_runs += runs
    newest_runs = []
    for name in newest_grids:
        runs = [(name, config) for config in experiments.grid(name)
                if isinstance(config, RunConfig) and config.dataset == dataset and config.precision == precision
                and experiments.at_protocol_own_loss_settings(config, epochs, train_subset)
                and config.loss not in claim_losses]
        if not runs:
            raise ValueError(f"grid {name!r} has no run on {dataset} with this page's protocol and precision "
                             f"of a loss other than {', '.join(claim_losses)}")
        newest_runs += runs
    return {"paper": product(dataset, claim_losses, noises, seeds,
                             epochs=epochs, train_subset=train_subset, precision=precision),
            "grids": grid_runs, "newest": newest_runs,
            "regulariser": regularisers if l2_weight_decays else [],
            "er": entropy_regulariser_configs(dataset, er_noises, er_seeds, er_lambda, **ablation),
            "masks": experiments.segmentation_grid(segmentation_protocol, mask_losses, segmentation_noises,
                                                   segmentation_seeds) if segmentation_candidates else []}


def segmentation(*, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int], protocol: str,
                 epochs: int | None, resolution_protocol: str | None, resolution_losses: Sequence[str],
                 resolution_noises: Sequence[str],
                 resolution_seeds: Sequence[int]) -> dict[str, list[SegmentationConfig]]:
    """"runs": every loss x mask noise x seed on the named protocol (its epochs unless ``epochs``);
    "resolution": every resolution loss x noise x seed on the protocol ``resolution_protocol``
    (empty for None), to set beside the same runs of "runs"."""
    return {"runs": experiments.segmentation_grid(protocol, loss_names, noises, seeds,
                                                  **({} if epochs is None else {"epochs": epochs})),
            "resolution": experiments.segmentation_grid(resolution_protocol, resolution_losses, resolution_noises,
                                                        resolution_seeds) if resolution_protocol else []}


def paper_protocol(*, dataset: str, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int],
                   precision: str, short_epochs: int | None, table_grid: str | None, idn_grid: str | None,
                   human_grid: str | None, newest_grid: str | None, precision_grid: str | None,
                   spread_seed: int) -> dict[str, list[RunConfig]]:
    """"paper": every loss x noise x seed at the data set's full protocol in ``precision``; "short":
    the same runs with ``short_epochs`` epochs, the shorter protocol under test (empty for None);
    "table", "idn", "human", "newest": the runs of the grids ``table_grid``, ``idn_grid``,
    ``human_grid``, ``newest_grid`` (empty for None); "precision": every run of the grid ``precision_grid`` (empty for None), each
    followed by its fp32 twin and the twin's run with ``spread_seed``."""
    def named(grid: str | None) -> list[RunConfig]:
        return experiments.grid(grid) if grid else []

    return {"paper": product(dataset, loss_names, noises, seeds, precision=precision),
            "short": product(dataset, loss_names, noises, seeds, epochs=short_epochs, precision=precision)
            if short_epochs else [],
            "table": named(table_grid), "idn": named(idn_grid), "human": named(human_grid),
            "newest": named(newest_grid),
            "precision": [twin for config in named(precision_grid)
                          for twin in (config, replace(config, precision="fp32"),
                                       replace(config, precision="fp32", seed=spread_seed))]}


def detection(*, settings: Sequence[str], grids: Sequence[str],
              reference_grid: str | None) -> dict[str, list[Any]]:
    """"runs": (grid name, config) of the classification runs of the named ``grids`` at the paper's
    protocol for their data set (their own loss settings allowed) at the noise ``settings``, each
    run once, in the grids' order (ValueError for a grid with none); "reference": the held-out-fold
    runs of the grid ``reference_grid`` at the ``settings`` (empty for None)."""
    runs, seen = [], set()
    for name in grids:
        chosen = [(name, config) for config in experiments.grid(name)
                  if isinstance(config, RunConfig) and config.noise in settings
                  and experiments.at_protocol_own_loss_settings(config) and config.key not in seen]
        if not chosen:
            raise ValueError(f"grid {name!r} has no paper-protocol run at {', '.join(settings)}")
        seen.update(config.key for _, config in chosen)
        runs += chosen
    reference = [config for config in (experiments.grid(reference_grid) if reference_grid else [])
                 if isinstance(config, RunConfig) and config.holdout_folds is not None and config.noise in settings]
    return {"runs": runs, "reference": reference}


PAGES: dict[str, Callable[..., dict[str, list[Any]]]] = {
    "benchmark": benchmark, "dynamics": dynamics, "ablations": ablations, "claims": claims,
    "segmentation": segmentation, "cifar10": paper_protocol, "detection": detection}


def page_runs(notebook: str, parameters: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The sections of runs notebooks/NOTEBOOK.py reads with these parameter values; names the
    page does not take are ignored, so a notebook passes its ``globals()``."""
    if notebook not in PAGES:
        raise ValueError(f"no notebook {notebook!r} reads runs; the ones that do: {', '.join(PAGES)}")
    function = PAGES[notebook]
    names = list(inspect.signature(function).parameters)
    _require(notebook, names, parameters)
    return function(**{name: parameters[name] for name in names})


def _require(notebook: str, names: Sequence[str], parameters: Mapping[str, Any]) -> None:
    """Raise ValueError naming the ``names`` the notebook's ``parameters`` lack."""
    missing = [name for name in names if name not in parameters]
    if missing:
        raise ValueError(f"the {notebook} page needs the parameters {', '.join(missing)}")


def configs(entries: Sequence[Any]) -> list[ExperimentConfig]:
    """The configs of a section's entries, in order: (setting, config) pairs give their config."""
    return [entry[1] if isinstance(entry, tuple) else entry for entry in entries]


# ----------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Kind:
    """What a notebook parameter may hold: ``check(value, parameters)`` raises ValueError with one
    line saying why ``value`` is not ``describe`` ("a positive integer"; ``plural`` names the items
    of a list of them). ``parameters`` are the page's others, for kinds that depend on them (the
    losses trainable on the page's ``dataset``)."""

    describe: str
    plural: str
    check: Callable[[Any, Mapping[str, Any]], None]


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _accepting(describe: str, plural: str, accepts: Callable[[Any], bool]) -> Kind:
    """The kind of the values ``accepts`` is true for."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not accepts(value):
            raise ValueError(f"{value!r} is not {describe}")
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
            raise ValueError(f"{value!r} is not a list of {item.plural}")
        if not value and required is True:
            raise ValueError(f"the list is empty; give one or more {item.plural}")
        if not value and isinstance(required, str) and parameters[required]:
            raise ValueError(f"empty while {required} = {parameters[required]!r}; give one or more {item.plural}")
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


def loss_name(*, segmentation: bool = False) -> Kind:
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
            raise ValueError(f"unknown loss {value!r}; choose from {', '.join(choices)}") from None
        if key in choices and key != value:
            raise ValueError(f"loss {value!r} is spelled {key!r} here; choose from {', '.join(choices)}")
        if key not in choices:
            reason = ("is a segmentation loss" if key in losses.PIXEL_LOSSES
                      else f"has no published preset for {dataset}")
            raise ValueError(f"loss {key!r} {reason}; choose from {', '.join(choices)}")
    return Kind("a loss name", "loss names", check)


def _noise_spec(value: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a noise spec; kinds: {', '.join(NOISE_KINDS)} "
                         f"(e.g. clean, sym:0.4, cifar10n:worst)")
    parse_noise(value)


def mask_noise(*, canonical: bool = True) -> Kind:
    """A mask-noise spec of :func:`anl.mask_noise.parse_mask_noise`; in its canonical spelling where
    ``canonical``, for pages that compare it with the runs' records."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        spelling = parse_mask_noise(value).spec
        if canonical and spelling != value:
            raise ValueError(f"mask noise {value!r} is spelled {spelling!r} here (as in the runs' records)")
    return Kind("a mask-noise spec", "mask-noise specs", check)


def noise_rate(*kinds: str) -> Kind:
    """A rate that makes a valid noise spec KIND:RATE for each of ``kinds``, as the page spells it."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not _is_number(value):
            raise ValueError(f"{value!r} is not a noise rate (a number)")
        for kind in kinds:
            parse_noise(f"{kind}:{value:g}")
    return Kind("a noise rate", "noise rates", check)


def _cifar10n_set(value: Any, parameters: Mapping[str, Any]) -> None:
    parse_noise(f"cifar10n:{value}")


def dataset(*, class_names_for: str | None = None) -> Kind:
    """A data set the trainer has a protocol for (:data:`anl.train.PROTOCOLS`); one with class
    names (:func:`anl.report.labels.class_names`) where the list parameter ``class_names_for`` is not
    empty, for the page's figure that labels classes."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not (isinstance(value, str) and value in train.PROTOCOLS):
            raise ValueError(f"unknown data set {value!r}; choose from {', '.join(train.PROTOCOLS)}")
        if class_names_for and parameters[class_names_for]:
            try:
                report.class_names(value)
            except ValueError as error:
                raise ValueError(f"{error} (needed while {class_names_for} is not empty)") from None
    return Kind("a data set", "data sets", check)


def _preset_dataset(value: Any, parameters: Mapping[str, Any]) -> None:
    choices = [name for name in losses.DATASETS if _losses_with_presets(name, False) == losses.LOSSES]
    if not (isinstance(value, str) and _losses_with_presets(value, False) == losses.LOSSES):
        raise ValueError(f"{value!r} is not a data set with a preset for every loss; choose from {', '.join(choices)}")


def _noise_type(value: Any, parameters: Mapping[str, Any]) -> None:
    if value not in losses.NOISE_TYPES:
        raise ValueError(f"unknown noise type {value!r}; choose from {', '.join(losses.NOISE_TYPES)}")


def hyperparameter(loss: str, name: str) -> Kind:
    """A value of the hyperparameter ``name`` that the registry accepts for ``loss`` set at ANL-CE's
    preset on the page's ``dataset`` (the point :func:`anl.experiments.ablation_configs` varies)."""
    def check(value: Any, parameters: Mapping[str, Any]) -> None:
        if not _is_number(value):
            raise ValueError(f"{value!r} is not a number")
        dataset = parameters["dataset"]
        losses.build(loss, dataset, **{**anl_ce_hparams(dataset), name: value})
    return Kind(f"a value of {name}", f"values of {name}", check)


def _segmentation_protocol(value: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a segmentation protocol; choose one of "
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
        raise ValueError(f"{value!r} is not a grid name")
    experiments.grid(value)


NOISE = Kind("a noise spec", "noise specs", _noise_spec)
PRECISION = _accepting(f"a precision: {' or '.join(engine.PRECISIONS)}", "precisions",
                       lambda value: value in engine.PRECISIONS)
GRID = Kind("a named grid of anl.experiments", "grid names", _grid)
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
RUNS = {"results_dir": FOLDER, "train_missing": FLAG, "device": DEVICE}  # where a page's runs come from

#: The parameters of each notebook of notebooks/, in the order of its parameters cell, with their kinds.
PARAMETERS: dict[str, dict[str, Kind]] = {
    "benchmark": {
        "dataset": dataset(), "loss_names": listed(loss_name()), "noises": listed(NOISE), "seeds": listed(SEED),
        "epochs": EPOCHS, "train_subset": TRAIN_SUBSET, **RUNS,
        "paper_loss_names": listed(loss_name(), required=False),
        "paper_noises": listed(NOISE, required="paper_loss_names"),
        "paper_seeds": listed(SEED, required="paper_loss_names"), "newest_grid": optional(GRID),
        "er_noises": listed(NOISE, required=False),
        "er_lambda": hyperparameter("anl_ce_er", "lam"), "protocol_losses": listed(loss_name(), required=False),
        "protocol_noises": listed(NOISE, required="protocol_losses"),
        "protocols": listed(SUBSET_AND_EPOCHS, required="protocol_losses"),
        "protocol_seeds": listed(SEED, required="protocol_losses")},
    "dynamics": {
        "dataset": dataset(), "loss_names": listed(loss_name()), "noises": listed(NOISE), "seeds": listed(SEED),
        "epochs": EPOCHS, "train_subset": TRAIN_SUBSET, **RUNS, "convergence_fraction": FRACTION,
        "early_epochs": listed(integer(1), required=False)},
    "ablations": {
        "dataset": dataset(class_names_for="lambdas"), "seeds": listed(SEED), "epochs": EPOCHS,
        "train_subset": TRAIN_SUBSET, **RUNS, "high_noise": NOISE,
        "l2_weight_decays": listed(number(0.0, low_open=True), required=False),
        "deltas": listed(hyperparameter("anl_ce", "delta"), required=False), "sensitivity_noise": NOISE,
        "alphas": listed(hyperparameter("anl_ce", "alpha"), required=False),
        "betas": listed(hyperparameter("anl_ce", "beta"), required=False), "er_noise": NOISE,
        "lambdas": listed(hyperparameter("anl_ce_er", "lam"), required=False)},
    "claims": {
        "dataset": dataset(), "anl_losses": listed(loss_name()), "baseline_losses": listed(loss_name()),
        "slow_losses": listed(loss_name(), required=False), "noises": listed(NOISE), "seeds": listed(SEED),
        "epochs": EPOCHS, "train_subset": TRAIN_SUBSET, "precision": PRECISION, "grids": listed(GRID, required=False),
        "newest_grids": listed(GRID, required=False), "convergence_fraction": FRACTION,
        "early_epochs": listed(integer(1), required=False), "memorisation_bar": FRACTION,
        "ablation_seeds": listed(SEED, required="l2_weight_decays"), "ablation_epochs": EPOCHS,
        "ablation_train_subset": TRAIN_SUBSET, "high_noise": NOISE,
        "l2_weight_decays": listed(number(0.0, low_open=True), required=False),
        "er_noises": listed(NOISE, required=False), "er_seeds": listed(SEED, required="er_noises"),
        "er_lambda": hyperparameter("anl_ce_er", "lam"),
        "segmentation_candidates": listed(loss_name(segmentation=True), required=False),
        "segmentation_baselines": listed(loss_name(segmentation=True), required="segmentation_candidates"),
        "segmentation_reference": listed(loss_name(segmentation=True), required=False),
        "segmentation_noises": listed(mask_noise(), required="segmentation_candidates"),
        "segmentation_seeds": listed(SEED, required="segmentation_candidates"),
        "segmentation_protocol": SEGMENTATION_PROTOCOL, **RUNS},
    "segmentation": {
        "loss_names": listed(loss_name(segmentation=True)), "noises": listed(mask_noise()), "seeds": listed(SEED),
        "protocol": SEGMENTATION_PROTOCOL, "epochs": EPOCHS, "example_noise": mask_noise(canonical=False),
        "resolution_protocol": optional(SEGMENTATION_PROTOCOL),
        "resolution_losses": listed(loss_name(segmentation=True), required=False),
        "resolution_noises": listed(mask_noise(), required=False), "resolution_seeds": listed(SEED, required=False),
        **RUNS},
    "cifar10": {
        "dataset": dataset(), "loss_names": listed(loss_name()), "noises": listed(NOISE), "seeds": listed(SEED),
        "precision": PRECISION, "short_epochs": EPOCHS, "tolerance": number(0.0, low_open=True), **RUNS,
        "table_grid": optional(GRID), "idn_grid": optional(GRID), "human_grid": optional(GRID),
        "newest_grid": optional(GRID), "precision_grid": optional(GRID), "spread_seed": SEED},
    "scorecard": {"published_grids": listed(GRID), "results_dir": FOLDER},
    "detection": {"settings": listed(NOISE), "grids": listed(GRID), "reference_grid": optional(GRID),
                  "results_dir": FOLDER},
    "using": {"dataset": dataset(), "loss_name": loss_name(), "noise_spec": NOISE, "train_subset": integer(1),
              "epochs": integer(1), "seed": SEED},
    "losses": {"num_classes": integer(2), "num_inputs": integer(1), "logit_scale": number(0.0, low_open=True),
               "seed": integer(0), "preset_dataset": PRESET_DATASET, "preset_noise_type": NOISE_TYPE},
    "noise": {"seed": SEED, "heatmap_rate": noise_rate("sym", "asym", "idn"),
              "cifar10n_heatmaps": listed(CIFAR10N_SET, required=False),
              "sym_rates": listed(noise_rate("sym"), required=False),
              "asym_rates": listed(noise_rate("asym"), required=False),
              "idn_rates": listed(noise_rate("idn"), required=False),
              "cifar10n_sets": listed(CIFAR10N_SET, required=False)},
}


def check_parameters(notebook: str, parameters: Mapping[str, Any]) -> None:
    """Raise ValueError with one line, "parameter NAME: what is wrong; the valid choices", for the
    first parameter of notebooks/NOTEBOOK.py whose value in ``parameters`` is not of its kind in
    :data:`PARAMETERS`; names the page does not take are ignored, so a notebook passes its ``globals()``."""
    if notebook not in PARAMETERS:
        raise ValueError(f"no parameters known for notebook {notebook!r}; notebooks: {', '.join(PARAMETERS)}")
    kinds = PARAMETERS[notebook]
    _require(notebook, list(kinds), parameters)
    for name, kind in kinds.items():
        try:
            kind.check(parameters[name], parameters)
        except ValueError as error:
            raise ValueError(f"parameter {name}: {error}") from None
