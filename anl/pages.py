"""The runs each book page reads, from its parameters: one function per notebook of notebooks/,
called by the notebook itself and by the tests that check every page's runs are trained by a grid,
so the two cannot disagree. Each returns the page's sections of runs by name; an entry is a config,
or a (varied setting, config) pair in the ablation sections of :func:`anl.report.ablation_configs`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from anl import report, segmentation as seg
from anl.segmentation import SegmentationConfig
from anl.train import RunConfig

Config = RunConfig | SegmentationConfig


def benchmark(*, dataset: str, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int],
              epochs: int | None, train_subset: int | None, paper_loss_names: Sequence[str],
              paper_noises: Sequence[str], paper_seeds: Sequence[int], er_noises: Sequence[str],
              er_lambda: float, protocol_losses: Sequence[str], protocol_noises: Sequence[str],
              protocols: Sequence[Sequence[int | None]], protocol_seeds: Sequence[int]) -> dict[str, list[RunConfig]]:
    """"runs": every loss x noise x seed on the page's protocol; "paper": every paper loss x paper
    noise x paper seed on the paper's protocol (full training set, the data set's epochs); "er":
    ANL-CE and ANL-CE-ER (ANL-CE's alpha, beta, delta and lambda ``er_lambda``) x ER noise x seed
    on the page's protocol; "protocols": every protocol loss x protocol noise x (training subset or
    None for all images, epochs) of ``protocols`` x protocol seed, in that nesting order."""
    return {"runs": report.run_grid(dataset, loss_names, noises, seeds, epochs=epochs, train_subset=train_subset),
            "paper": report.run_grid(dataset, paper_loss_names, paper_noises, paper_seeds, epochs=None,
                                     train_subset=None),
            "er": entropy_regulariser(dataset, er_noises, seeds, er_lambda, epochs=epochs, train_subset=train_subset),
            "protocols": [report.run_config(dataset, loss, noise, seed, epochs=length, train_subset=subset)
                          for loss in protocol_losses for noise in protocol_noises
                          for subset, length in protocols for seed in protocol_seeds]}


def entropy_regulariser(dataset: str, noises: Sequence[str], seeds: Sequence[int], lam: float, *,
                        epochs: int | None, train_subset: int | None) -> list[RunConfig]:
    """ANL-CE, then ANL-CE-ER with ANL-CE's alpha, beta, delta and lambda ``lam``, for every noise
    and seed: the regulariser added to ANL-CE and nothing else changed."""
    protocol = {"epochs": epochs, "train_subset": train_subset}
    return [config for noise in noises for seed in seeds for config in (
        report.run_config(dataset, "anl_ce", noise, seed, **protocol),
        report.run_config(dataset, "anl_ce_er", noise, seed, **protocol, **report.anl_ce_hparams(dataset), lam=lam))]


def dynamics(*, dataset: str, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int],
             epochs: int | None, train_subset: int | None) -> dict[str, list[RunConfig]]:
    """"runs": every loss x noise x seed on the page's protocol."""
    return {"runs": report.run_grid(dataset, loss_names, noises, seeds, epochs=epochs, train_subset=train_subset)}


def ablations(*, dataset: str, seeds: Sequence[int], epochs: int | None, train_subset: int | None,
              high_noise: str, l2_weight_decays: Sequence[float], deltas: Sequence[float], sensitivity_noise: str,
              alphas: Sequence[float], betas: Sequence[float], er_noise: str,
              lambdas: Sequence[float]) -> dict[str, list[tuple[Any, RunConfig]]]:
    """The sections of :func:`anl.report.ablation_configs`: "regulariser", "alpha_beta", "delta", "lambda"."""
    return report.ablation_configs(dataset, seeds, epochs=epochs, train_subset=train_subset, high_noise=high_noise,
                                   l2_weight_decays=l2_weight_decays, deltas=deltas,
                                   sensitivity_noise=sensitivity_noise, alphas=alphas, betas=betas,
                                   er_noise=er_noise, lambdas=lambdas)


def claims(*, dataset: str, anl_losses: Sequence[str], baseline_losses: Sequence[str],
           slow_losses: Sequence[str], noises: Sequence[str], seeds: Sequence[int], epochs: int | None,
           train_subset: int | None, ablation_seeds: Sequence[int], ablation_epochs: int | None,
           ablation_train_subset: int | None, high_noise: str, l2_weight_decays: Sequence[float],
           er_noises: Sequence[str], er_seeds: Sequence[int], er_lambda: float,
           segmentation_candidates: Sequence[str], segmentation_baselines: Sequence[str],
           segmentation_reference: Sequence[str], segmentation_noises: Sequence[str],
           segmentation_seeds: Sequence[int], segmentation_protocol: str) -> dict[str, list[Any]]:
    """"paper": the ANL, baseline and slow losses x noise x seed; on the ablation protocol,
    "regulariser" (the ablation section: L1, L2 at each weight decay, neither, at ``high_noise``;
    empty without weight decays) and "er" (:func:`entropy_regulariser` at ``er_noises`` x ``er_seeds``); "masks":
    the segmentation losses x mask noise x seed on the named segmentation protocol (empty without
    candidates)."""
    ablation = {"epochs": ablation_epochs, "train_subset": ablation_train_subset}
    regularisers = report.ablation_configs(dataset, ablation_seeds, **ablation, high_noise=high_noise,
                                           l2_weight_decays=l2_weight_decays)["regulariser"]
    mask_losses = [*segmentation_candidates, *segmentation_baselines, *segmentation_reference]
    return {"paper": report.run_grid(dataset, [*anl_losses, *baseline_losses, *slow_losses], noises, seeds,
                                     epochs=epochs, train_subset=train_subset),
            "regulariser": regularisers if l2_weight_decays else [],
            "er": entropy_regulariser(dataset, er_noises, er_seeds, er_lambda, **ablation),
            "masks": seg.product(mask_losses, segmentation_noises, segmentation_seeds,
                                 **seg.protocol_settings(segmentation_protocol)) if segmentation_candidates else []}


def segmentation(*, loss_names: Sequence[str], noises: Sequence[str], seeds: Sequence[int], protocol: str,
                 epochs: int | None, resolution_protocol: str | None, resolution_losses: Sequence[str],
                 resolution_noises: Sequence[str],
                 resolution_seeds: Sequence[int]) -> dict[str, list[SegmentationConfig]]:
    """"runs": every loss x mask noise x seed on the named protocol (its epochs unless ``epochs``);
    "resolution": every resolution loss x noise x seed on the protocol ``resolution_protocol``
    (empty for None), to set beside the same runs of "runs"."""
    settings = {**seg.protocol_settings(protocol), **({} if epochs is None else {"epochs": epochs})}
    return {"runs": seg.product(loss_names, noises, seeds, **settings),
            "resolution": seg.product(resolution_losses, resolution_noises, resolution_seeds,
                                      **seg.protocol_settings(resolution_protocol)) if resolution_protocol else []}


PAGES: dict[str, Callable[..., dict[str, list[Any]]]] = {
    "benchmark": benchmark, "dynamics": dynamics, "ablations": ablations, "claims": claims,
    "segmentation": segmentation}


def page_runs(notebook: str, parameters: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The sections of runs notebooks/NOTEBOOK.py reads with these parameter values; names the
    page does not take are ignored, so a notebook passes its ``globals()``."""
    if notebook not in PAGES:
        raise ValueError(f"no notebook {notebook!r} reads runs; the ones that do: {', '.join(PAGES)}")
    function = PAGES[notebook]
    names = list(inspect.signature(function).parameters)
    missing = [name for name in names if name not in parameters]
    if missing:
        raise ValueError(f"the {notebook} page needs the parameters {', '.join(missing)}")
    return function(**{name: parameters[name] for name in names})


def configs(entries: Sequence[Any]) -> list[Config]:
    """The configs of a section's entries, in order: (setting, config) pairs give their config."""
    return [entry[1] if isinstance(entry, tuple) else entry for entry in entries]
