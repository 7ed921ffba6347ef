"""Named grids of runs: what ``python -m anl sweep --grid NAME`` and ``make results`` train.

Every grid is a list of RunConfig in the order it is worth computing (most informative first),
so a sweep cut short still leaves the most useful records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from anl.report import ablation_configs, anl_ce_hparams
from anl.train import RunConfig

REDUCED = {"train_subset": 10_000, "epochs": 30}  # issue 5's reduced protocol, stated on every page using it
BENCHMARK_LOSSES = ("ce", "gce", "sce", "nce_mae", "nce_rce", "nce_agce", "anl_ce", "anl_fl")
DYNAMICS_LOSSES = ("ce", "gce", "nce_mae", "nce_rce", "anl_ce", "anl_fl")
BENCHMARK_NOISE = ("clean", "sym:0.4", "sym:0.8", "asym:0.2", "asym:0.4")
MNIST_PROTOCOL_CORNERS = ((None, 5), (10_000, 150))  # (train_subset, epochs) beside REDUCED and the paper's
ER_LAMBDA_FOR_MNIST = 2.0  # no published MNIST preset: CIFAR-10's lambda, stated where shown
CIFAR10_HEADLINE_LOSSES = ("anl_ce", "nce_rce", "ce", "anl_fl")  # ANL-CE against the best baseline first
CIFAR10_HEADLINE_NOISE = "sym:0.8"
CIFAR10_SHORT_EPOCHS = 40  # the shorter CIFAR-10 protocol under test: everything else as the paper's


def product(dataset: str, losses: Iterable[str], noises: Iterable[str], seeds: Iterable[int],
            **fields) -> list[RunConfig]:
    """Seeds outermost, then noise, then loss: one complete seed before the next."""
    return [RunConfig(dataset, loss, noise=noise, seed=seed, **fields)
            for seed in seeds for noise in noises for loss in losses]


def reduced_benchmark(dataset: str) -> list[RunConfig]:
    """Issue 5, item 2: the benchmark losses over the benchmark noise settings, 2 seeds, plus
    ANL-CE-ER at asymmetric noise; the hardest settings first."""
    noises = ("sym:0.8", "asym:0.4", "sym:0.4", "asym:0.2", "clean")
    runs = product(dataset, DYNAMICS_LOSSES, noises, (1,), **REDUCED)
    runs += product(dataset, ("sce", "nce_agce"), noises, (1,), **REDUCED)
    runs += product(dataset, BENCHMARK_LOSSES, noises, (2,), **REDUCED)
    runs += product(dataset, ("anl_ce_er",), ("asym:0.2", "asym:0.4"), (1, 2), **REDUCED,
                    loss_overrides={**anl_ce_hparams(dataset), "lam": ER_LAMBDA_FOR_MNIST})
    return runs


def ablations(dataset: str = "mnist") -> list[RunConfig]:
    """Issue 5, item 3, on the reduced protocol, seed 1, as the ablations notebook defines them
    (anl.report.ablation_configs): ANL-CE at sym 0.8 with L2 weight decay 1e-3 / 1e-4 instead of L1
    and with delta in {0 (neither), 1e-6 (preset), 1e-5, 1e-4}; ANL-CE-ER's lambda in {0, 0.5, 2, 8}
    at asym 0.4; a 3x3 alpha/beta grid at sym 0.6. Each run once, in that order."""
    sections = ablation_configs(dataset, [1], **REDUCED, high_noise="sym:0.8", l2_weight_decays=[1e-3, 1e-4],
                                deltas=[0.0, 1e-6, 1e-5, 1e-4], sensitivity_noise="sym:0.6", alphas=[0.5, 1, 2],
                                betas=[0.5, 1, 2], er_noise="asym:0.4", lambdas=[0.0, 0.5, 2.0, 8.0])
    runs = {config.key: config for name in ("regulariser", "delta", "lambda", "alpha_beta")
            for _, config in sections[name]}
    return list(runs.values())


def mnist_full_protocol() -> list[RunConfig]:
    """Issue 5, item 1: the paper's MNIST protocol (60,000 images, 50 epochs), with NCE+MAE beside
    the four losses the issue names, for the paper's claim that MAE-style passive losses converge slowly."""
    return product("mnist", ("ce", "nce_mae", "nce_rce", "anl_ce", "anl_fl"), ("sym:0.8", "asym:0.4"), (1, 2, 3))


def mnist_protocols() -> list[RunConfig]:
    """Which half of the reduced protocol (10,000 images x 30 epochs, about 2,350 optimiser steps)
    holds ANL back on MNIST: the full training set for 5 epochs (as many steps, 6x the images),
    then the subset for 150 epochs (5x the steps, the same images); ANL-CE and NCE+RCE as a
    baseline at asym 0.4 and sym 0.8, seed 1. The other two corners are in mnist-reduced and
    mnist-full."""
    return [config for train_subset, epochs in MNIST_PROTOCOL_CORNERS
            for config in product("mnist", ("anl_ce", "nce_rce"), ("asym:0.4", "sym:0.8"), (1,),
                                  train_subset=train_subset, epochs=epochs)]


def mnist_bf16() -> list[RunConfig]:
    """CE and ANL-CE at sym 0.8 and asym 0.4, MNIST reduced protocol, seed 1, in bf16: beside the
    fp32 records of mnist-reduced, whether bf16 changes what the runs say."""
    return product("mnist", ("ce", "anl_ce"), ("sym:0.8", "asym:0.4"), (1,), **REDUCED, precision="bf16")


def cifar10_headline(epochs: int | None = None) -> list[RunConfig]:
    """CE, NCE+RCE, ANL-CE and ANL-FL on CIFAR-10 at symmetric 0.8, seed 1, the paper's protocol
    (8-layer CNN, 120 epochs, cifar10 presets) in bf16, or the same with ``epochs`` (cosine over them)."""
    return product("cifar10", CIFAR10_HEADLINE_LOSSES, (CIFAR10_HEADLINE_NOISE,), (1,), epochs=epochs,
                   precision="bf16")


GRIDS: dict[str, Callable[[], list[RunConfig]]] = {
    "mnist-reduced": lambda: reduced_benchmark("mnist"),
    "fashion-mnist-reduced": lambda: reduced_benchmark("fashion_mnist"),
    "mnist-ablations": ablations,
    "mnist-full": mnist_full_protocol,
    "mnist-protocols": mnist_protocols,
    "mnist-bf16": mnist_bf16,
    "cifar10-paper": cifar10_headline,
    "cifar10-short": lambda: cifar10_headline(CIFAR10_SHORT_EPOCHS),
}


def grid(name: str) -> list[RunConfig]:
    """The runs of a named grid."""
    if name not in GRIDS:
        raise ValueError(f"unknown grid {name!r}; choose one of {', '.join(GRIDS)}")
    return GRIDS[name]()
