"""Internal: every experiment defined once: run configs built from losses x noise settings x seeds, the named
protocols, the ablation set, the named grids of both tasks that ``python -m anl sweep --grid
NAME`` and ``make results`` train, and :func:`train_configs`, which trains configs of either task.

Every grid is a list of configs in the order it is worth computing (most informative first), so
a sweep cut short still leaves the most useful records; :data:`GRIDS` lists the grids in the order
``make results`` trains those the book's pages read (:func:`anl.pages.book_grids`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from anl import losses, tune
from anl.data import SEGMENTATION_DATASETS, load_dataset
from anl.results import ResultsStore
from anl.segmentation import SegmentationConfig, train_segmentation_sweep
from anl.train import RunConfig, train_sweep

#: A run config of either task (image classification or segmentation).
ExperimentConfig = RunConfig | SegmentationConfig

#: Classification on a CPU: a stratified 10,000-image subset for 30 epochs, stated on every page using it.
REDUCED_CLASSIFICATION = {"train_subset": 10_000, "epochs": 30}
BENCHMARK_LOSSES = ("ce", "gce", "sce", "nce_mae", "nce_rce", "nce_agce", "anl_ce", "anl_fl")
DYNAMICS_LOSSES = ("ce", "gce", "nce_mae", "nce_rce", "anl_ce", "anl_fl")
REDUCED_SEEDS = (1, 2)  # the seeds of the reduced grids
MNIST_FULL_LOSSES = ("ce", "gce", "nce_mae", "nce_rce", "nce_agce", "anl_ce", "anl_fl")  # the paper's protocol on MNIST
MNIST_FULL_NOISES = ("sym:0.8", "asym:0.4")
MNIST_FULL_SEEDS = (1, 2, 3)
MNIST_PROTOCOL_CORNERS = ((None, 5), (10_000, 150))  # (train_subset, epochs) beside the reduced and the paper's
ER_LAMBDA_FOR_MNIST = 2.0  # no published MNIST preset: CIFAR-10's lambda, stated where shown
ER_NOISES = ("asym:0.2", "asym:0.4")  # where ANL-CE-ER runs beside ANL-CE on the reduced protocol
#: The ablations of the grid ``mnist-ablations`` (:func:`ablation_sections`), and the ablations page's defaults.
ABLATION_SEEDS = (1,)
ABLATION_SETTINGS: dict[str, Any] = {
    "high_noise": "sym:0.8", "l2_weight_decays": (1e-3, 1e-4), "deltas": (0.0, 1e-6, 1e-5, 1e-4),
    "sensitivity_noise": "sym:0.6", "alphas": (0.5, 1.0, 2.0), "betas": (0.5, 1.0, 2.0), "er_noise": "asym:0.4",
    "lambdas": (0.0, 0.5, 2.0, 8.0)}
CIFAR10_FIRST_LOSSES = ("anl_ce", "nce_rce")  # ANL-CE and the best baseline: the runs computed first
CIFAR10_OTHER_LOSSES = ("ce", "anl_fl")
CIFAR10_HEADLINE_LOSSES = (*CIFAR10_FIRST_LOSSES, *CIFAR10_OTHER_LOSSES)
CIFAR10_HEADLINE_NOISE = "sym:0.8"
CIFAR10_SHORT_EPOCHS = 40  # the shorter CIFAR-10 protocol under test: everything else as the paper's
NEWEST_LOSSES = ("jal_ce", "ce_eps_mae")  # JAL-CE (ICCV 2025) and CEε+MAE (NeurIPS 2024)
NEWEST_NOISE = ("sym:0.8", "asym:0.4")

#: The named segmentation protocols: "full" is SegmentationConfig's defaults (256x192, GPU),
#: "reduced" the CPU protocol (64x48), "half" the CPU protocol at twice its resolution.
_SEGMENTATION_DEFAULTS = SegmentationConfig.__dataclass_fields__
SEGMENTATION_PROTOCOLS: dict[str, dict[str, Any]] = {
    "full": {name: _SEGMENTATION_DEFAULTS[name].default for name in ("size", "base_width", "epochs")},
    "half": {"size": (128, 96), "base_width": 8, "epochs": 20},
    "reduced": {"size": (64, 48), "base_width": 8, "epochs": 20},
}
SEGMENTATION_GRID_LOSSES = ("ce", "dice", "gce", "nce_rce", "anl_ce")
SEGMENTATION_NOISE = ("boundary:1:8-16", "clean", "shift:1:8-16", "boundary:0.5:8-16", "shift:0.5:8-16")
RESOLUTION_LOSSES = ("ce", "dice", "anl_ce")  # the half-resolution check: two baselines and ANL-CE
RESOLUTION_NOISE = ("clean", "boundary:1:8-16", "shift:1:8-16")  # clean and the two heaviest settings


def segmentation_protocol(name: str) -> dict[str, Any]:
    """The size, base width and epochs of a named segmentation protocol."""
    if name not in SEGMENTATION_PROTOCOLS:
        raise ValueError(f"unknown segmentation protocol {name!r}; choose one of {', '.join(SEGMENTATION_PROTOCOLS)}")
    return dict(SEGMENTATION_PROTOCOLS[name])


def run_config(dataset: str, loss: str, noise: str = "clean", seed: int = 1, **fields: Any) -> ExperimentConfig:
    """The config of one run: a SegmentationConfig for a segmentation data set, else a RunConfig.
    ``loss_overrides`` are taken as floats, with "lambda" spelled "lam"."""
    overrides = {name: float(value) for name, value in losses.hparam_names(fields.pop("loss_overrides", {})).items()}
    loss = losses.canonical_name(loss)
    if dataset in SEGMENTATION_DATASETS:
        return SegmentationConfig(loss, noise=noise, seed=int(seed), dataset=dataset, loss_overrides=overrides,
                                  **fields)
    return RunConfig(dataset, loss, noise=noise, seed=int(seed), loss_overrides=overrides, **fields)


def at_protocol(config: RunConfig, epochs: int | None = None, train_subset: int | None = None) -> bool:
    """Whether ``config`` is the run :func:`run_config` makes for its data set, loss, noise, seed
    and precision on the protocol of ``epochs`` and ``train_subset`` (None, None: the paper's for
    the data set) with no other setting changed (learning rate, weight decay, loss hyperparameters...)."""
    key = config.key  # a bad config raises here, not below
    try:
        default = run_config(config.dataset, config.loss, config.noise, config.seed, epochs=epochs,
                             train_subset=train_subset, precision=config.precision)
        return key == default.key
    except ValueError:  # the loss has no preset on this data set: every run of it sets its own
        return False


def at_protocol_own_loss_settings(config: RunConfig, epochs: int | None = None, train_subset: int | None = None) -> bool:
    """:func:`at_protocol` with the run's own loss hyperparameters and weight decay allowed: for a loss
    with no published preset on the data set, whose runs set their own."""
    return at_protocol(replace(config, loss="ce", loss_overrides={}, weight_decay=None), epochs, train_subset)


def train_configs(configs: Sequence[ExperimentConfig], store: ResultsStore, *, device: str | None = None,
                  progress: bool = True) -> list[dict[str, Any]]:
    """Train the configs not yet in ``store`` by their task's sweep (:func:`anl.train.train_sweep`,
    or :func:`anl.segmentation.train_segmentation_sweep` for SegmentationConfigs) and return the
    records in ``store`` at the end, in order. ValueError for classification and segmentation
    runs at once."""
    kinds = {isinstance(config, SegmentationConfig) for config in configs}
    if len(kinds) > 1:
        raise ValueError("a sweep takes classification or segmentation runs, not both at once")
    sweep = train_segmentation_sweep if kinds == {True} else train_sweep
    return sweep(configs, store, device=device, progress=progress)


def product(dataset: str, loss_names: Iterable[str], noises: Iterable[str], seeds: Iterable[int],
            **fields: Any) -> list[ExperimentConfig]:
    """Every loss x noise x seed of ``dataset`` with ``fields``: seeds outermost, then noise, then
    loss, so that one complete seed comes before the next."""
    loss_names, noises = list(loss_names), list(noises)
    return [run_config(dataset, loss, noise, seed, **fields) for seed in seeds for noise in noises
            for loss in loss_names]


def anl_ce_hparams(dataset: str) -> dict[str, float]:
    """ANL-CE's published alpha, beta, delta on ``dataset``: the point the ablations vary, and
    ANL-CE-ER's, with a lambda of one's choice, where no ANL-CE-ER preset is published ((Fashion-)MNIST)."""
    return {name: value for name, value in losses.preset("anl_ce", dataset).items() if name in ("alpha", "beta", "delta")}


def entropy_regulariser_configs(dataset: str, noises: Sequence[str], seeds: Sequence[int], lam: float,
                                **fields: Any) -> list[RunConfig]:
    """ANL-CE, then ANL-CE-ER with ANL-CE's alpha, beta, delta and lambda ``lam``, for every noise
    and seed: the regulariser added to ANL-CE and nothing else changed."""
    return [config for noise in noises for seed in seeds for config in (
        run_config(dataset, "anl_ce", noise, seed, **fields),
        run_config(dataset, "anl_ce_er", noise, seed, **fields,
                   loss_overrides={**anl_ce_hparams(dataset), "lam": lam}))]


def ablation_configs(dataset: str, seeds: Sequence[int], *, epochs: int | None, train_subset: int | None,
                     high_noise: str, l2_weight_decays: Sequence[float], deltas: Sequence[float] = (),
                     sensitivity_noise: str | None = None, alphas: Sequence[float] = (), betas: Sequence[float] = (),
                     er_noise: str | None = None,
                     lambdas: Sequence[float] = ()) -> dict[str, list[tuple[Any, RunConfig]]]:
    """The ANL-CE ablations by section, as (varied setting, config) for every setting and seed,
    around the data set's ANL-CE preset (alpha, beta, delta):

    - "regulariser" at ``high_noise``: "L1" (preset delta, no weight decay), "L2 <wd>" (delta 0,
      each weight decay), "neither" (delta 0, no weight decay);
    - "alpha_beta" at ``sensitivity_noise``: every (alpha, beta) pair;
    - "delta" at ``high_noise``: every delta;
    - "lambda" at ``er_noise``: ANL-CE-ER with the ANL-CE preset and every lambda.

    A section whose values are left empty is empty; its noise setting is needed only with values.
    """
    if alphas and betas and sensitivity_noise is None:
        raise ValueError("the alpha/beta grid needs sensitivity_noise")
    if lambdas and er_noise is None:
        raise ValueError("the lambda sweep needs er_noise")
    base = anl_ce_hparams(dataset)

    def anl_ce(setting: Any, noise: str, loss: str = "anl_ce", weight_decay: float = 0.0,
               **changes: float) -> list[tuple[Any, RunConfig]]:
        return [(setting, run_config(dataset, loss, noise, seed, epochs=epochs, train_subset=train_subset,
                                     weight_decay=weight_decay, loss_overrides={**base, **changes}))
                for seed in seeds]

    regularisers = [*anl_ce(f"L1, delta {base['delta']:g}", high_noise)]
    for decay in l2_weight_decays:
        regularisers += anl_ce(f"L2, weight decay {decay:g}", high_noise, weight_decay=decay, delta=0.0)
    regularisers += anl_ce("neither", high_noise, delta=0.0)
    return {
        "regulariser": regularisers,
        "alpha_beta": [entry for alpha in alphas for beta in betas
                       for entry in anl_ce((alpha, beta), sensitivity_noise, alpha=alpha, beta=beta)],
        "delta": [entry for delta in deltas for entry in anl_ce(delta, high_noise, delta=delta)],
        "lambda": [entry for lam in lambdas for entry in anl_ce(lam, er_noise, "anl_ce_er", lam=lam)],
    }


# ----------------------------------------------------------------------------- named grids
def reduced_benchmark(dataset: str) -> list[ExperimentConfig]:
    """The benchmark losses over the benchmark noise settings, 2 seeds, plus ANL-CE-ER at
    asymmetric noise, on the reduced protocol; the hardest settings first."""
    noises = ("sym:0.8", "asym:0.4", "sym:0.4", "asym:0.2", "clean")
    runs = product(dataset, DYNAMICS_LOSSES, noises, (1,), **REDUCED_CLASSIFICATION)
    runs += product(dataset, ("sce", "nce_agce"), noises, (1,), **REDUCED_CLASSIFICATION)
    runs += product(dataset, BENCHMARK_LOSSES, noises, (2,), **REDUCED_CLASSIFICATION)
    runs += product(dataset, ("anl_ce_er",), ER_NOISES, REDUCED_SEEDS, **REDUCED_CLASSIFICATION,
                    loss_overrides={**anl_ce_hparams(dataset), "lam": ER_LAMBDA_FOR_MNIST})
    return runs


def ablation_sections(dataset: str = "mnist") -> dict[str, list[tuple[Any, RunConfig]]]:
    """The sections of :func:`ablation_configs` the grid ``mnist-ablations`` runs, on the reduced
    protocol, seed 1: ANL-CE at sym 0.8 with L2 weight decay 1e-3 / 1e-4 instead of L1
    ("regulariser") and with delta in {0 (neither), 1e-6 (preset), 1e-5, 1e-4} ("delta"); ANL-CE-ER's
    lambda in {0, 0.5, 2, 8} at asym 0.4 ("lambda"); a 3x3 alpha/beta grid at sym 0.6 ("alpha_beta")."""
    return ablation_configs(dataset, ABLATION_SEEDS, **REDUCED_CLASSIFICATION, **ABLATION_SETTINGS)


def ablations(dataset: str = "mnist") -> list[RunConfig]:
    """The runs of :func:`ablation_sections`, each once, sections in the order regulariser, delta,
    lambda, alpha_beta."""
    sections = ablation_sections(dataset)
    runs = {config.key: config for name in ("regulariser", "delta", "lambda", "alpha_beta")
            for _, config in sections[name]}
    return list(runs.values())


def mnist_full_protocol() -> list[ExperimentConfig]:
    """The paper's MNIST protocol (60,000 images, 50 epochs, fp32 like the first records), seeds 1-3:
    CE, NCE+RCE, ANL-CE and ANL-FL, NCE+MAE for the paper's claim that MAE-style passive losses
    converge slowly, and GCE and NCE+AGCE, the paper's own baselines."""
    return product("mnist", MNIST_FULL_LOSSES, MNIST_FULL_NOISES, MNIST_FULL_SEEDS)


def mnist_protocols() -> list[ExperimentConfig]:
    """Which half of the reduced protocol (10,000 images x 30 epochs, about 2,350 optimiser steps)
    holds ANL back on MNIST: the full training set for 5 epochs (as many steps, 6x the images),
    then the subset for 150 epochs (5x the steps, the same images); ANL-CE and NCE+RCE as a
    baseline at asym 0.4 and sym 0.8, seed 1. The other two corners are in mnist-reduced and
    mnist-full."""
    return [config for train_subset, epochs in MNIST_PROTOCOL_CORNERS
            for config in product("mnist", ("anl_ce", "nce_rce"), ("asym:0.4", "sym:0.8"), (1,),
                                  train_subset=train_subset, epochs=epochs)]


def mnist_bf16() -> list[ExperimentConfig]:
    """CE and ANL-CE at sym 0.8 and asym 0.4, MNIST reduced protocol, seed 1, in bf16: beside the
    fp32 records of mnist-reduced, whether bf16 changes what the runs say."""
    return product("mnist", ("ce", "anl_ce"), ("sym:0.8", "asym:0.4"), (1,), **REDUCED_CLASSIFICATION,
                   precision="bf16")


def cifar10_preset_for_mnist(loss: str, noise: str) -> dict[str, float]:
    """The hyperparameters a MNIST run of a loss without a published MNIST preset (JAL-CE,
    CEε+MAE) takes: its CIFAR-10 preset (same K = 10; for ε-softmax the one of the run's noise
    type), the values that preset sets, stated where shown."""
    values = losses.preset(loss, "cifar10", losses.noise_type_of(noise))
    return {name: value for name, value in values.items()  # the objective's defaults left out
            if name not in ("lam", "p_min") and not (name == "delta" and value == 0)}


def mnist_newest() -> list[ExperimentConfig]:
    """JAL-CE and CEε+MAE on MNIST, the paper's protocol (fp32, like mnist-full), seeds 1-3, at
    sym 0.8 and asym 0.4: beside mnist-full's losses, with their CIFAR-10 presets
    (:func:`cifar10_preset_for_mnist`)."""
    return [run_config("mnist", loss, noise, seed, loss_overrides=cifar10_preset_for_mnist(loss, noise))
            for seed in (1, 2, 3) for noise in NEWEST_NOISE for loss in NEWEST_LOSSES]


def cifar10_runs(loss_names: Sequence[str], noises: Sequence[str], **fields: Any) -> list[ExperimentConfig]:
    """CIFAR-10 runs of the CIFAR-10 grids: ``loss_names`` x ``noises``, seed 1, bf16, the paper's
    protocol but for ``fields``."""
    return product("cifar10", loss_names, noises, (1,), precision="bf16", **fields)


def cifar10_headline(epochs: int | None = None) -> list[ExperimentConfig]:
    """CE, NCE+RCE, ANL-CE and ANL-FL on CIFAR-10 at symmetric 0.8, seed 1, the paper's protocol
    (8-layer CNN, 120 epochs, cifar10 presets) in bf16, or the same with ``epochs`` (cosine over them)."""
    return cifar10_runs(CIFAR10_HEADLINE_LOSSES, (CIFAR10_HEADLINE_NOISE,), epochs=epochs)


def cifar10_table() -> list[ExperimentConfig]:
    """The published CIFAR-10 table beyond symmetric 0.8 (recorded by cifar10-paper), paper
    protocol, bf16, seed 1: ANL-CE and NCE+RCE at asymmetric 0.4 and symmetric 0.4 first, then CE
    and ANL-FL there, the four at asymmetric 0.2, ANL-CE-ER (its cifar10 preset, lambda 2) at
    asymmetric 0.4, and clean CE and ANL-CE (the protocol's ceiling)."""
    return [*cifar10_runs(CIFAR10_FIRST_LOSSES, ("asym:0.4", "sym:0.4")),
            *cifar10_runs(CIFAR10_OTHER_LOSSES, ("asym:0.4", "sym:0.4")),
            *cifar10_runs(CIFAR10_HEADLINE_LOSSES, ("asym:0.2",)),
            *cifar10_runs(("anl_ce_er",), ("asym:0.4",)),
            *cifar10_runs(("ce", "anl_ce"), ("clean",))]


def cifar10_instance_dependent() -> list[ExperimentConfig]:
    """Instance-dependent noise on CIFAR-10, paper protocol, bf16, seed 1: ANL-CE and NCE+RCE on
    the fixed labels at 0.4 (``idn-file:0.4``, those of the published IDN numbers) first; then the
    part-dependent generator on raw pixels (``idn``): ANL-CE and NCE+RCE at rate 0.4, then CE; then
    ANL-CE and NCE+RCE on the fixed labels at 0.6."""
    return [*cifar10_runs(CIFAR10_FIRST_LOSSES, ("idn-file:0.4",)),
            *cifar10_runs((*CIFAR10_FIRST_LOSSES, "ce"), ("idn:0.4",)),
            *cifar10_runs(CIFAR10_FIRST_LOSSES, ("idn-file:0.6",))]


def cifar10_human() -> list[ExperimentConfig]:
    """Real human noise on CIFAR-10 (the CIFAR-10N label sets joined to the images), paper
    protocol, bf16, seed 1: ANL-CE and NCE+RCE on ``worst`` (40.2 % wrong), then CE and ANL-FL (the
    loss with a published number there); then ANL-CE, NCE+RCE and CE on ``aggre`` (9.0 %)."""
    return [*cifar10_runs(CIFAR10_HEADLINE_LOSSES, ("cifar10n:worst",)),
            *cifar10_runs((*CIFAR10_FIRST_LOSSES, "ce"), ("cifar10n:aggre",))]


def cifar10_newest() -> list[ExperimentConfig]:
    """CIFAR-10, paper protocol, bf16, seed 1: JAL-CE and CEε+MAE (their cifar10 presets, CEε+MAE's
    of the run's noise type) at sym 0.8 and asym 0.4, then NCE+AGCE at sym 0.8."""
    return [*cifar10_runs(NEWEST_LOSSES, NEWEST_NOISE), *cifar10_runs(("nce_agce",), ("sym:0.8",))]


DETECTION_LOSSES = ("ce", "gce", "nce_rce", "anl_ce", "anl_fl")  # the losses set side by side as mislabel detectors


def mnist_detection() -> list[ExperimentConfig]:
    """CE, GCE, NCE+RCE, ANL-CE and ANL-FL on MNIST, the paper's protocol (fp32), seeds 4 and 5 (new
    keys beside mnist-full's seeds 1-3, which ran before the detection fields existed), at sym 0.8
    and asym 0.4: every run records how well its losses find the wrong labels."""
    return product("mnist", DETECTION_LOSSES, NEWEST_NOISE, (4, 5))


REFERENCE_FOLDS = 4  # k of the out-of-sample reference: each fold's model trains on 60,000 − 2,500 images


def mnist_detection_reference() -> list[ExperimentConfig]:
    """CE on MNIST, the paper's protocol (fp32), seed 1, at sym 0.8 then asym 0.4, one run per fold
    of the scored sample's :data:`REFERENCE_FOLDS` folds, each holding its fold out of training: the
    out-of-sample reference of confident learning (anl.detection.out_of_sample_confident_learning
    joins a setting's runs) beside the in-sample one of every run."""
    return [run_config("mnist", "ce", noise, 1, holdout_folds=REFERENCE_FOLDS, holdout_fold=fold)
            for noise in NEWEST_NOISE for fold in range(REFERENCE_FOLDS)]


def cifar10_detection() -> list[ExperimentConfig]:
    """CE, NCE+RCE and ANL-CE on CIFAR-10N ``worst``, the paper's protocol (bf16), seeds 2 and 3:
    the detection fields on real human noise, beside cifar10n's seed 1."""
    return product("cifar10", ("ce", "nce_rce", "anl_ce"), ("cifar10n:worst",), (2, 3), precision="bf16")


def gpu_queue() -> list[ExperimentConfig]:
    """Every CIFAR-10 run a lent GPU trains, in priority order, each once: the fidelity runs
    (clean CE and ANL-CE, ANL-CE and NCE+RCE on ``idn-file:0.4``, ANL-FL on ``cifar10n:worst``),
    seeds 2-3 of cifar10-paper, cifar10-newest, seeds 2-3 of ANL-CE and NCE+RCE at sym 0.4 and
    asym 0.4, then the rest of the CIFAR-10 grids in :data:`GRIDS` order. Whoever trains it skips
    the runs already recorded."""
    fidelity = [*cifar10_runs(("ce", "anl_ce"), ("clean",)), *cifar10_runs(CIFAR10_FIRST_LOSSES, ("idn-file:0.4",)),
                *cifar10_runs(("anl_fl",), ("cifar10n:worst",))]
    more_seeds = [*product("cifar10", CIFAR10_HEADLINE_LOSSES, (CIFAR10_HEADLINE_NOISE,), (2, 3), precision="bf16"),
                  *cifar10_newest(),
                  *product("cifar10", CIFAR10_FIRST_LOSSES, ("sym:0.4", "asym:0.4"), (2, 3), precision="bf16")]
    book = [config for name, runs in GRIDS.items() if name != "gpu-queue" for config in runs()
            if isinstance(config, RunConfig) and config.dataset == "cifar10"]
    queue: dict[str, ExperimentConfig] = {}
    for config in [*fidelity, *more_seeds, *book]:
        queue.setdefault(config.key, config)
    return list(queue.values())


TUNING_LOSSES = ("anl_ce", "nce_rce")  # ANL-CE and the best baseline of the paper's tables
TUNING_VALIDATIONS = ("clean", "noisy")  # a held-out split with its true labels, or the labels a practitioner has
TUNING_FRACTION = 0.1  # of the training images held out, as in the ANL authors' code
TUNING_TRIALS = 16  # finished trials of each search: the pruner's 5 start-up trials, then 11 drawn by TPE
TUNED_SEEDS = (1, 2, 3)  # of each chosen setting at the paper's protocol, as the presets' runs of mnist-full


@dataclass(frozen=True)
class TuningStudy:
    """One search of :func:`anl.tune.tune`: the run every trial varies (its validation split, the
    tuned hyperparameters at their presets) and the finished trials the search reaches."""

    base: RunConfig
    trials: int


def mnist_tuning() -> list[TuningStudy]:
    """ANL-CE, then NCE+RCE, on MNIST at sym 0.8 and asym 0.4, each searched with a clean and with a
    noisy validation split (TUNING_FRACTION of the training images, stratified, the authors' split
    seed), TUNING_TRIALS trials on the reduced protocol (10,000 images, 30 epochs: a trial costs a
    tenth of a paper-protocol run), seed 1."""
    return [TuningStudy(run_config("mnist", loss, noise, 1, validation_fraction=TUNING_FRACTION,
                                   validation=validation, **REDUCED_CLASSIFICATION), TUNING_TRIALS)
            for loss in TUNING_LOSSES for noise in NEWEST_NOISE for validation in TUNING_VALIDATIONS]


#: The named tuning studies (``python -m anl study NAME``): searches whose chosen settings are then
#: trained at the paper's protocol (:func:`tuned_configs`).
STUDIES: dict[str, Callable[[], list[TuningStudy]]] = {"mnist-tuning": mnist_tuning}


def study(name: str) -> list[TuningStudy]:
    """The searches of a named study of :data:`STUDIES`."""
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
    return STUDIES[name]()


def tuned_config(search: TuningStudy, best: dict[str, float], seed: int) -> RunConfig:
    """The best setting of ``search`` at the paper's protocol: the whole training set, no split,
    the data set's epochs, the search's loss, noise and precision, ``best`` over its presets."""
    base = search.base
    return run_config(base.dataset, base.loss, base.noise, seed, precision=base.precision,
                      loss_overrides={**base.loss_overrides, **best})


def chosen_setting(search: TuningStudy, store: ResultsStore) -> dict[str, float] | None:
    """The best setting of ``search`` in ``store`` once it has reached its trials, else None."""
    summary = tune.read_summary(search.base, store)
    if summary is None or summary["finished"] < search.trials:
        return None
    return summary["best"]["params"]


def tuned_configs(name: str, store: ResultsStore) -> list[RunConfig]:
    """The runs of the chosen settings of study ``name`` in ``store`` (:func:`chosen_setting`) at
    TUNED_SEEDS, in the study's order; a setting two searches chose (clean and noisy validation
    agreeing) is one run."""
    runs: dict[str, RunConfig] = {}
    for search in study(name):
        best = chosen_setting(search, store)
        for seed in TUNED_SEEDS if best is not None else ():
            config = tuned_config(search, best, seed)
            runs.setdefault(config.key, config)
    return list(runs.values())


def run_study(name: str, store: ResultsStore, *, device: str | None = None, progress: bool = True,
              log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every search of study ``name`` until it has its trials (resumed where it stopped), then the
    runs of the chosen settings (:func:`tuned_configs`); returns their records. ``log`` gets a
    line per trial and per search."""
    searches = study(name)
    datasets = {dataset: load_dataset(dataset) for dataset in dict.fromkeys(search.base.dataset for search in searches)}
    for search in searches:
        base = search.base
        result = tune.tune(base, store, search.trials, dataset=datasets[base.dataset], device=device,
                           progress=progress, log=log)
        setting = ", ".join(f"{hparam} {value:.4g}" for hparam, value in (result.best_params or {}).items())
        log(f"{name}: {base.loss} at {base.noise}, {base.validation} validation: best {setting or 'none'} "
            f"(val_acc {result.best_val_acc}) after {result.finished} trials")
    return train_configs(tuned_configs(name, store), store, device=device, progress=progress)


def segmentation_grid(protocol: str, loss_names: Sequence[str] = SEGMENTATION_GRID_LOSSES,
                      noises: Sequence[str] = SEGMENTATION_NOISE, seeds: Sequence[int] = (1, 2),
                      **changes: Any) -> list[ExperimentConfig]:
    """ISIC 2017 runs of ``loss_names`` x mask ``noises`` x ``seeds`` on a named segmentation
    protocol, with any of its fields replaced by ``changes`` (e.g. ``epochs=5``)."""
    dataset, = SEGMENTATION_DATASETS
    return product(dataset, loss_names, noises, seeds, **{**segmentation_protocol(protocol), **changes})


GRIDS: dict[str, Callable[[], list[ExperimentConfig]]] = {
    "mnist-reduced": lambda: reduced_benchmark("mnist"),
    "fashion-mnist-reduced": lambda: reduced_benchmark("fashion_mnist"),
    "mnist-ablations": ablations,
    "mnist-full": mnist_full_protocol,
    "mnist-protocols": mnist_protocols,
    "mnist-bf16": mnist_bf16,
    "mnist-newest": mnist_newest,
    "mnist-detection": mnist_detection,
    "mnist-detection-reference": mnist_detection_reference,
    "cifar10-paper": cifar10_headline,
    "cifar10-short": lambda: cifar10_headline(CIFAR10_SHORT_EPOCHS),
    "cifar10-table": cifar10_table,
    "cifar10-idn": cifar10_instance_dependent,
    "cifar10n": cifar10_human,
    "cifar10-newest": cifar10_newest,
    "cifar10-detection": cifar10_detection,
    "gpu-queue": gpu_queue,
    "isic-reduced": lambda: segmentation_grid("reduced"),
    "isic-full": lambda: segmentation_grid("full"),
    "isic-half": lambda: segmentation_grid("half", RESOLUTION_LOSSES, RESOLUTION_NOISE, (1,)),
}


def grid(name: str) -> list[ExperimentConfig]:
    """The runs of a named grid of :data:`GRIDS`."""
    if name not in GRIDS:
        raise ValueError(f"unknown grid {name!r}; choose one of {', '.join(GRIDS)}")
    return GRIDS[name]()
